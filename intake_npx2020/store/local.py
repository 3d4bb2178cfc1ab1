"""Local kachery-layout stores: read-only roots, and our own writable, size-capped store.

Layout everywhere: ``<root>/sha1/ab/cd/ef/<abcdef…40 hex>``. Our store adds ``pins/<h>`` (blobs the user
added; never evicted), ``locks/<h>`` (one fetcher per blob across processes), ``locks/cache-bytes`` (the cache's
size, shared by all processes) and ``tmp/`` (writes in flight, each under a lock).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from ..errors import InvalidArgument, StoreFullError
from .capacity import CacheTally, cached_blobs
from .direct import write_direct
from .tmpfiles import Leftover, TempArea
from .uri import check_sha1

__all__ = ["OwnStore", "ReadRoot", "blob_relpath"]


def blob_relpath(sha1: str) -> str:
    """``sha1/ab/cd/ef/<sha1>``, the path of a blob under any root (``InvalidObject`` unless 40 lowercase hex)."""
    check_sha1(sha1)
    return f"sha1/{sha1[0:2]}/{sha1[2:4]}/{sha1[4:6]}/{sha1}"


def _link_target(link_file: Path) -> str | None:
    """Follow a kachery-p2p ``.link`` or kachery-cloud ``linked_files`` record if the target is unchanged."""
    try:
        rec = json.loads(link_file.read_text())
        target = rec["path"]
        st = os.stat(target)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    stat = rec.get("stat", rec)
    size, mtime = stat.get("size"), stat.get("mtime")
    if size is not None and int(size) != st.st_size:
        return None
    # kachery-p2p records milliseconds, kachery-cloud seconds
    if mtime is not None and min(abs(float(mtime) - st.st_mtime), abs(float(mtime) / 1000 - st.st_mtime)) > 1:
        return None
    return target


class ReadRoot:
    """A kachery-layout store read in place (kachery-p2p, kachery-cloud, kachery 2, or ours)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def locate(self, sha1: str) -> str | None:
        """Path of the blob's bytes under this root, or ``None``."""
        rel = blob_relpath(sha1)
        p = self.path / rel
        if p.is_file():
            return str(p)
        for link in (self.path / (rel + ".link"), self.path / "linked_files" / rel):
            if link.is_file():
                target = _link_target(link)
                if target:
                    return target
        legacy = self.path / rel[5:]  # old kachery 0.6 tree without the sha1/ level
        if legacy.is_file():
            return str(legacy)
        return None


class OwnStore(ReadRoot):
    """Our writable store: atomic writes, pins, cross-process locks and LRU eviction above a cap.

    The cap holds across processes (see :mod:`.capacity`); writes in flight live in ``tmp/`` under a lock, so
    those of killed processes are found and reclaimed (see :mod:`.tmpfiles`).

    Parameters
    ----------
    path : path-like
        Root directory (created on first write).
    cache_max : int or None
        Cap in bytes on blobs that are not pinned; ``None`` for no cap.
    """

    def __init__(self, path: str | os.PathLike, cache_max: int | None = None):
        super().__init__(path)
        self.cache_max = cache_max
        self.tally = CacheTally(self.path)
        self.tmp = TempArea(self.path / "tmp")
        self._reclaimed = False

    def locate(self, sha1: str) -> str | None:
        p = self.path / blob_relpath(sha1)
        return str(p) if p.is_file() else None

    def touch(self, sha1: str) -> None:
        """Mark a blob recently used (its mtime is the LRU clock; a linked file's own mtime is left alone)."""
        try:
            os.utime(self.path / blob_relpath(sha1), follow_symlinks=False)
        except OSError:
            pass

    def is_pinned(self, sha1: str) -> bool:
        """True when the blob is exempt from eviction."""
        return (self.path / "pins" / check_sha1(sha1)).exists()

    def pin(self, sha1: str) -> bool:
        """Exempt a blob from eviction (for files the user added explicitly).

        Returns True when the blob is present once pinned; False means it was not there (or was evicted just
        before) and the caller must put it again, pinned.
        """
        d = self.path / "pins"
        d.mkdir(parents=True, exist_ok=True)
        with self.tally.exclusive():  # no eviction runs between the pin and the check
            (d / check_sha1(sha1)).touch()
            return os.path.isfile(self.path / blob_relpath(sha1))

    @contextmanager
    def lock(self, sha1: str):
        """Exclusive, cross-process lock on fetching one blob (``flock`` on ``locks/<sha1>``)."""
        release = self.acquire(sha1)
        try:
            yield
        finally:
            release()

    def acquire(self, sha1: str) -> Callable[[], None]:
        """Take the lock of :meth:`lock` (blocking); returns the function that lets go of it (from any thread)."""
        d = self.path / "locks"
        d.mkdir(parents=True, exist_ok=True)
        fd = os.open(d / check_sha1(sha1), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        held = [fd]

        def release() -> None:  # idempotent: a descriptor number is never closed twice
            if held:
                os.close(held.pop())
        return release

    def _full(self, err: OSError, sha1: str) -> StoreFullError | None:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            return StoreFullError(
                f"no space left writing blob {sha1} into store {self.path}: nothing was kept. Free disk "
                f"space, lower NPX2020_CACHE_MAX, or point NPX2020_STORE at a larger disk")
        return None

    def _reclaim_once(self) -> None:
        if not self._reclaimed:  # once per process: what killed writers left behind
            self._reclaimed = True
            self.tmp.reclaim()

    @contextmanager
    def _tmpfile(self, sha1: str):
        self._reclaim_once()
        try:
            with self.tmp.entry(check_sha1(sha1)) as entry:
                yield entry
        except OSError as err:
            full = self._full(err, sha1)
            if full is not None:
                raise full from err
            raise

    def _publish(self, tmp: Path, sha1: str, size: int, pin: bool) -> str:
        dest = self.path / blob_relpath(sha1)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if pin:
            self.pin(sha1)
            os.replace(tmp, dest)
        elif self.tally.admit(size, self.cache_max, lambda: os.replace(tmp, dest)):
            self.tmp.reclaim()
        return str(dest)

    def put(self, sha1: str, data, pin: bool = False) -> str:
        """Write verified bytes as blob ``sha1``: tmp file, fsync, rename. Returns the blob's path."""
        with self._tmpfile(sha1) as entry:
            fd = entry.create()
            _write(entry.path, fd, data)
            os.fsync(fd)
            return self._publish(entry.path, sha1, memoryview(data).nbytes, pin)

    def put_file(self, sha1: str, src: str | os.PathLike, link: str | None = None) -> str:
        """Place an existing file as blob ``sha1`` (pinned): ``link`` is ``None`` (copy), ``"hard"`` or ``"sym"``."""
        if link not in (None, "hard", "sym"):
            raise InvalidArgument(f"link must be None, 'hard' or 'sym', not {link!r}")
        with self._tmpfile(sha1) as entry:
            if link == "hard":
                os.link(src, entry.path)
                entry.hold()
            elif link == "sym":
                os.symlink(os.path.abspath(src), entry.path)
                entry.hold()
            else:
                fd = entry.create()
                shutil.copyfile(src, entry.path)  # the same inode: the lock taken on create stays
                os.fsync(fd)
            return self._publish(entry.path, sha1, 0, pin=True)

    # -- size cap ---------------------------------------------------------------------------------
    def cached_blobs(self) -> list[tuple[float, int, Path]]:
        """``(mtime, size, path)`` of every evictable (unpinned) blob."""
        return cached_blobs(self.path)

    def evict(self, target: int) -> int:
        """Delete least-recently-used unpinned blobs until they total at most ``target`` bytes.

        Returns the remaining total. Readers holding a blob open keep reading it (POSIX unlink)."""
        return self.tally.evict(target)

    def clear(self) -> tuple[int, list[Leftover]]:
        """Evict every cached blob and reclaim leftovers; returns the bytes left and the leftovers removed."""
        return self.evict(0), self.tmp.reclaim()


def _write(path: Path, fd: int, data) -> None:
    """All of ``data`` into the new file ``path`` (open as ``fd``): around the page cache where possible."""
    if not write_direct(path, fd, data):
        with os.fdopen(fd, "wb", closefd=False) as f:
            f.write(data)
