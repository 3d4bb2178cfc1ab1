"""Writes in flight in a store's ``tmp/``: each held under a lock while written, so leftovers are told apart.

A write creates ``tmp/<sha1>.<pid>.<random>`` and holds a shared ``flock`` on it from the moment it exists until
it is renamed into place or removed. A process killed meanwhile (``kill -9``, power loss) leaves the entry behind
with no lock on it: that is a leftover. An entry is reclaimed only when nobody holds its lock **and** either the
process named in it is gone or the entry is older than :data:`GRACE_S` (the lock is taken microseconds after the
entry is created; the two conditions cover that instant, and a pid reused by an unrelated process only delays
reclaiming). Entries placed by ``add --link`` are links: their lock is on the linked file, and reclaiming one
removes the link, never its target.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

__all__ = ["GRACE_S", "Leftover", "TempArea", "TmpEntry"]

GRACE_S = 600.0


class Leftover(NamedTuple):
    """An entry of ``tmp/`` that no live write holds."""

    path: Path
    size: int


class TmpEntry:
    """One write in flight: ``path`` in ``tmp/``; the lock is held from :meth:`create` or :meth:`hold` until closed."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def create(self) -> int:
        """Create the entry as an empty regular file, locked; returns its descriptor (open for writing)."""
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        self._lock(fd)
        return fd

    def hold(self) -> None:
        """Lock an entry the caller created itself (a hard or symbolic link): the lock is on the linked file.

        Where the linked file's filesystem has no locks, the entry is protected by its pid and age alone."""
        try:
            self._lock(os.open(self.path, os.O_RDONLY | os.O_CLOEXEC))
        except OSError as err:
            if err.errno not in (errno.ENOLCK, errno.EINVAL, errno.EOPNOTSUPP):
                raise

    def _lock(self, fd: int) -> None:
        self._fd = fd
        fcntl.flock(fd, fcntl.LOCK_SH)  # shared: two writes linking one file do not wait for each other

    @property
    def fd(self) -> int | None:
        """The descriptor opened by :meth:`create` (``None`` before, or after :meth:`close`)."""
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class TempArea:
    """The ``tmp/`` directory of a store.

    Parameters
    ----------
    path : path-like
        The directory (created on first write).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def new(self, sha1: str) -> TmpEntry:
        """A new entry for blob ``sha1``, not yet created (the caller creates, publishes or :meth:`discard` s it)."""
        self.path.mkdir(parents=True, exist_ok=True)
        return TmpEntry(self.path / f"{sha1}.{os.getpid()}.{uuid.uuid4().hex[:8]}")

    @staticmethod
    def discard(e: TmpEntry) -> None:
        """Remove an entry and let go of its lock."""
        _unlink(e.path)
        e.close()

    @contextmanager
    def entry(self, sha1: str) -> Iterator[TmpEntry]:
        """A new entry for blob ``sha1``; removed on any exception, unlocked on exit (publish it inside)."""
        e = self.new(sha1)
        try:
            yield e
        except BaseException:
            _unlink(e.path)
            raise
        finally:
            e.close()

    def leftovers(self) -> list[Leftover]:
        """Entries of interrupted writes (never one a live write holds)."""
        try:
            names = os.listdir(self.path)
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            p = self.path / name
            try:
                st = p.lstat()
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode):
                continue  # not a write of ours (e.g. tmp/downloads/, resumable downloads kept on purpose)
            if _is_stale(p, name, st.st_mtime):
                out.append(Leftover(p, st.st_size))
        return out

    def in_flight(self) -> int:
        """Number of writes in ``tmp/``, leftovers included."""
        try:
            return sum(1 for e in os.scandir(self.path) if not e.is_dir(follow_symlinks=False))
        except FileNotFoundError:
            return 0

    def reclaim(self) -> list[Leftover]:
        """Remove leftovers (checked again just before each removal); returns those removed."""
        removed = []
        for left in self.leftovers():
            if _is_stale(left.path, left.path.name, _mtime(left.path)) and _unlink(left.path):
                removed.append(left)
        return removed


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except FileNotFoundError:
        return time.time()


def _is_stale(path: Path, name: str, mtime: float) -> bool:
    if _held(path):
        return False
    parts = name.split(".")
    pid = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None
    young = time.time() - mtime < GRACE_S
    return not (young and (pid is None or _alive(pid)))


def _held(path: Path) -> bool:
    """True when a live write holds the entry's lock."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False  # a dangling link or an unreadable entry: decided by pid and age
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        return err.errno in (errno.EWOULDBLOCK, errno.EAGAIN)
    finally:
        os.close(fd)
    return False


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    return True


def _unlink(path: Path) -> bool:
    try:
        os.unlink(path)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return False  # gone already, or nothing a write of ours makes
    return True
