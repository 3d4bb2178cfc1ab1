"""The cap on a store's cache, shared by every process that writes to the store.

The bytes of evictable (unpinned) blobs are counted in ``locks/cache-bytes``, read and written under an exclusive
``flock`` on that file. A writer, its blob written and synced in ``tmp/``, takes the lock, adds the blob's size to
the count (evicting least recently used blobs first, down to 90 % of the cap, if the sum would pass it), and
renames the blob into place before letting go. So whatever the number of processes, the blobs in place total at
most the cap, and the store at most the cap plus the writes still in ``tmp/`` (one chunk per writing thread).

The count errs only high (a process killed between counting and renaming, a blob pinned after it was counted, a
blob deleted by hand), which only makes an eviction come early; every eviction recounts from the disk. Pinning
takes the same lock, so an eviction never removes a blob pinned while it runs.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["CacheTally", "cached_blobs"]

_WIDTH = 20  # fixed-width decimal: a rewrite never leaves stale digits behind


def cached_blobs(root: Path) -> list[tuple[float, int, Path]]:
    """``(mtime, size, path)`` of every evictable (unpinned) blob under store ``root``."""
    pins_dir = root / "pins"
    pins = set(os.listdir(pins_dir)) if pins_dir.is_dir() else set()
    out = []
    top = root / "sha1"
    if not top.is_dir():
        return out
    for dirpath, _, files in os.walk(top):
        for name in files:
            if name in pins or len(name) != 40:
                continue
            p = Path(dirpath) / name
            try:
                st = p.lstat()
            except FileNotFoundError:
                continue
            out.append((st.st_mtime, st.st_size, p))
    return out


class CacheTally:
    """The on-disk count of a store's evictable bytes, and eviction, under one cross-process lock.

    Parameters
    ----------
    root : path-like
        The store's root.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.file = self.root / "locks" / "cache-bytes"

    @contextmanager
    def exclusive(self) -> Iterator[int]:
        """Hold the store's cache lock; yields the descriptor of the count file."""
        self.file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)

    def admit(self, size: int, cap: int | None, place: Callable[[], object]) -> bool:
        """Count ``size`` more bytes and run ``place()`` (the rename that puts them in the store) under the lock.

        Least recently used blobs are evicted first if the total would pass ``cap``. Returns True if it evicted.
        """
        with self.exclusive() as fd:
            total = _read(fd)
            if total is None:
                total = sum(s for _, s, _ in cached_blobs(self.root))
            evicted = bool(cap) and total + size > cap
            if evicted:
                total = self._evict_locked(max(0, int(cap * 0.9) - size))
            _write(fd, total + size)  # before the rename: a kill in between leaves the count high, not low
            place()
        return evicted

    def evict(self, target: int) -> int:
        """Delete least recently used unpinned blobs until they total at most ``target``; returns the total."""
        with self.exclusive() as fd:
            total = self._evict_locked(target)
            _write(fd, total)
        return total

    def total(self) -> int:
        """Bytes of evictable blobs, counted on disk (and the count corrected)."""
        with self.exclusive() as fd:
            total = sum(s for _, s, _ in cached_blobs(self.root))
            _write(fd, total)
        return total

    def _evict_locked(self, target: int) -> int:
        blobs = sorted(cached_blobs(self.root))
        total = sum(s for _, s, _ in blobs)
        for _, size, path in blobs:
            if total <= target:
                break
            try:
                os.unlink(path)  # a reader with the blob open keeps reading it (POSIX unlink)
            except FileNotFoundError:
                pass
            total -= size
        return total


def _read(fd: int) -> int | None:
    raw = os.pread(fd, 64, 0)
    if len(raw) != _WIDTH + 1 or not raw[:_WIDTH].isdigit() or raw[_WIDTH:] != b"\n":
        return None  # new, or written by a process killed mid-write: recount
    return int(raw[:_WIDTH])


def _write(fd: int, total: int) -> None:
    os.pwrite(fd, b"%0*d\n" % (_WIDTH, max(0, total)), 0)
    os.ftruncate(fd, _WIDTH + 1)
