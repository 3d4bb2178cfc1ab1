"""Local kachery-layout stores: read-only roots, and our own writable, size-capped store.

Layout everywhere: ``<root>/sha1/ab/cd/ef/<abcdef…40 hex>``. Our store adds ``pins/<h>`` (blobs the user
added; never evicted), ``locks/<h>`` (one fetcher per blob across processes) and ``tmp/`` (writes in flight).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

from ..errors import StoreFullError
from .uri import check_sha1

__all__ = ["blob_relpath", "ReadRoot", "OwnStore"]


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
        self._cached_bytes: int | None = None
        self._lock = threading.Lock()

    def locate(self, sha1: str) -> str | None:
        p = self.path / blob_relpath(sha1)
        return str(p) if p.is_file() else None

    def touch(self, sha1: str) -> None:
        """Mark a blob recently used (its mtime is the LRU clock)."""
        try:
            os.utime(self.path / blob_relpath(sha1))
        except OSError:
            pass

    def is_pinned(self, sha1: str) -> bool:
        return (self.path / "pins" / check_sha1(sha1)).exists()

    def pin(self, sha1: str) -> None:
        """Exempt a blob from eviction (for files the user added explicitly)."""
        d = self.path / "pins"
        d.mkdir(parents=True, exist_ok=True)
        (d / check_sha1(sha1)).touch()

    @contextmanager
    def lock(self, sha1: str):
        """Exclusive, cross-process lock on fetching one blob (``flock`` on ``locks/<sha1>``)."""
        d = self.path / "locks"
        d.mkdir(parents=True, exist_ok=True)
        fd = os.open(d / check_sha1(sha1), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    @contextmanager
    def _tmpfile(self, sha1: str):
        tmpdir = self.path / "tmp"
        tmpdir.mkdir(parents=True, exist_ok=True)
        tmp = tmpdir / f"{check_sha1(sha1)}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        try:
            yield tmp
        except OSError as err:
            _unlink(tmp)
            if err.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StoreFullError(
                    f"no space left writing blob {sha1} into store {self.path}: nothing was kept. Free disk "
                    f"space, lower NPX2020_CACHE_MAX, or point NPX2020_STORE at a larger disk") from err
            raise
        except BaseException:
            _unlink(tmp)
            raise

    def _publish(self, tmp: Path, sha1: str, size: int, pin: bool) -> str:
        dest = self.path / blob_relpath(sha1)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
        if pin:
            self.pin(sha1)
        else:
            self._account(size)
        return str(dest)

    def put(self, sha1: str, data, pin: bool = False) -> str:
        """Write verified bytes as blob ``sha1``: tmp file, fsync, rename. Returns the blob's path."""
        with self._tmpfile(sha1) as tmp:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            return self._publish(tmp, sha1, len(data), pin)

    def put_file(self, sha1: str, src: str | os.PathLike, link: str | None = None) -> str:
        """Place an existing file as blob ``sha1`` (pinned): ``link`` is ``None`` (copy), ``"hard"`` or ``"sym"``."""
        with self._tmpfile(sha1) as tmp:
            if link == "hard":
                os.link(src, tmp)
            elif link == "sym":
                os.symlink(os.path.abspath(src), tmp)
            elif link is None:
                shutil.copyfile(src, tmp)
                with open(tmp, "rb+") as f:
                    os.fsync(f.fileno())
            else:
                raise ValueError(f"link must be None, 'hard' or 'sym', not {link!r}")
            return self._publish(tmp, sha1, 0, pin=True)

    # -- size cap ---------------------------------------------------------------------------------
    def cached_blobs(self) -> list[tuple[float, int, Path]]:
        """``(mtime, size, path)`` of every evictable (unpinned) blob."""
        pins = set(os.listdir(self.path / "pins")) if (self.path / "pins").is_dir() else set()
        out = []
        root = self.path / "sha1"
        if not root.is_dir():
            return out
        for dirpath, _, files in os.walk(root):
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

    def _account(self, size: int) -> None:
        if not self.cache_max:
            return
        with self._lock:
            if self._cached_bytes is None:
                self._cached_bytes = sum(s for _, s, _ in self.cached_blobs())
            else:
                self._cached_bytes += size
            if self._cached_bytes > self.cache_max:
                self._cached_bytes = self.evict(int(self.cache_max * 0.9))

    def evict(self, target: int) -> int:
        """Delete least-recently-used unpinned blobs until they total at most ``target`` bytes.

        Returns the remaining total. Readers holding a blob open keep reading it (POSIX unlink)."""
        blobs = sorted(self.cached_blobs())
        total = sum(s for _, s, _ in blobs)
        for _, size, path in blobs:
            if total <= target:
                break
            _unlink(path)
            total -= size
        return total


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
