"""Write-behind of fetched chunks: written by the thread that fetched them, made durable in the background.

A verified chunk is written to a locked entry of ``tmp/`` by the fetching thread (a copy into the page cache,
no ``fsync``), and handed to one background thread that ``fsync`` s it and renames it into place
(:meth:`OwnStore.commit`), so readers never wait for the disk. What the store promises is unchanged:

* **Atomic.** A blob appears under its name only complete and synced (``fsync``, then rename); until then it is a
  locked entry of ``tmp/``, which other processes never read and which a killed process leaves as a leftover.
* **One fetcher per chunk across processes.** The chunk's lock (``locks/<sha1>``) taken before the fetch is
  released only after the rename (or the failure), so another process waits for the blob instead of fetching it.
* **Readable meanwhile.** Until it is renamed, this process reads the chunk from its entry (:meth:`path`), so a
  window straddling two chunks never fetches one twice.
* **A full disk.** A write that fails raises :class:`StoreFullError` in the fetching thread and leaves nothing;
  an ``fsync`` or rename that fails removes the entry, and the error is raised by the store's next read, fetch
  or :meth:`flush` (the bytes already returned were verified; only the cache lost them).
* **Bounded.** At most :data:`MAX_PENDING` chunks wait for their ``fsync``; a fetch beyond that waits for a slot.
  The bytes wait in the page cache, never in this process's memory.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from .local import OwnStore

__all__ = ["WriteBehind", "MAX_PENDING", "flush_all"]

#: chunks written but not yet synced and renamed, at most (20 MB each: 1.3 GB of dirty page cache)
MAX_PENDING = 64
_ALL: weakref.WeakSet = weakref.WeakSet()


def flush_all() -> None:
    """:meth:`WriteBehind.flush` every write-behind of this process (e.g. before inspecting a store's files)."""
    for w in list(_ALL):
        w.flush()


class WriteBehind:
    """The chunks of one :class:`OwnStore` on their way to the disk."""

    def __init__(self, own: OwnStore):
        self.own = own
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending: dict[str, str] = {}  # sha1 -> path of its entry in tmp/ (verified bytes)
        self._queued = 0
        self._error: BaseException | None = None
        self._slots = threading.BoundedSemaphore(MAX_PENDING)
        self._pool: ThreadPoolExecutor | None = None
        _ALL.add(self)

    def put(self, sha1: str, data, release: Callable[[], None]) -> None:
        """Write verified ``data`` as a staged entry now; sync and rename it later, then call ``release()``.

        Raises :class:`StoreFullError` (nothing left, ``release`` called) when the write fails on a full disk.
        """
        self._slots.acquire()
        try:
            entry = self.own.stage(sha1, data)
        except BaseException:
            self._slots.release()
            release()
            raise
        with self._lock:
            self._pending[sha1] = str(entry.path)
            self._queued += 1
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="npx2020-sync")
            pool = self._pool
        pool.submit(self._commit, sha1, entry, memoryview(data).nbytes, release)

    def _commit(self, sha1: str, entry, size: int, release: Callable[[], None]) -> None:
        try:
            self.own.commit(entry, sha1, size)
        except BaseException as err:  # noqa: BLE001 - kept and raised by the store's next call
            with self._lock:
                self._error = self._error or err
        finally:
            with self._lock:
                self._pending.pop(sha1, None)
                self._queued -= 1
                self._idle.notify_all()
            release()
            self._slots.release()

    def path(self, sha1: str) -> str | None:
        """The staged entry holding chunk ``sha1`` while it waits for its rename, else ``None``."""
        with self._lock:
            return self._pending.get(sha1)

    def check(self) -> None:
        """Raise (once) the error of a sync or rename that failed since the last call."""
        with self._lock:
            err, self._error = self._error, None
        if err is not None:
            raise err

    def flush(self) -> None:
        """Wait until every staged chunk is synced and in place; raise the first error since the last check."""
        with self._lock:
            while self._queued:
                self._idle.wait()
        self.check()

    def read(self, sha1: str, size: int) -> bytearray | None:
        """The whole staged chunk ``sha1`` of ``size`` bytes, or ``None`` if it is not (or no longer) staged."""
        if self.path(sha1) is None:
            return None
        data = bytearray(size)
        return data if self.read_into(sha1, 0, memoryview(data)) else None

    def read_into(self, sha1: str, offset: int, out: memoryview) -> bool:
        """Read bytes of a staged chunk; ``False`` if it is no longer staged (renamed or dropped meanwhile)."""
        path = self.path(sha1)
        if path is None:
            return False
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            got = 0
            while got < len(out):
                k = os.preadv(fd, [out[got:]], offset + got)
                if k == 0:
                    return False
                got += k
        finally:
            os.close(fd)
        return True
