"""Write-behind of fetched chunks: kept in memory, written, synced and renamed into place by background threads.

A verified chunk is handed over by the thread that fetched it and written by one of :data:`WRITERS` background
threads (:meth:`OwnStore.put`: a locked entry of ``tmp/``, written around the page cache by :mod:`.direct`, ``fsync``,
rename), so neither readers nor fetches wait for the disk. What the store promises is unchanged:

* **Atomic.** A blob appears under its name only complete and synced (``fsync``, then rename); until then it is
  in this process's memory or a locked entry of ``tmp/``, which other processes never read and which a killed
  process leaves as a leftover (reclaimed later).
* **One fetcher per chunk across processes.** The chunk's lock (``locks/<sha1>``) taken before the fetch is
  released only after the rename (or the failure), so another process waits for the blob instead of fetching it.
* **Readable meanwhile.** Until it is in place, this process reads the chunk from memory (:meth:`read`), so a
  window straddling two chunks never fetches one twice.
* **A full disk.** A write, ``fsync`` or rename that fails removes the entry, and the error
  (:class:`StoreFullError` for a full disk) is raised by the store's next read, fetch or :meth:`flush`. The bytes
  already returned were verified; only the cache lost them.
* **Bounded.** At most :data:`MAX_PENDING` chunks wait in memory; a fetch beyond that waits for a slot.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from .local import OwnStore

__all__ = ["WriteBehind", "MAX_PENDING", "WRITERS", "flush_all"]

#: chunks held in memory until they are written, synced and renamed, at most (20 MB each: 160 MB)
MAX_PENDING = 8
#: threads writing at once: while one waits for its fsync or the cache lock, the other keeps the disk busy
WRITERS = 2
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
        self._pending: dict[str, object] = {}  # sha1 -> its verified bytes, until they are in place
        self._queued = 0
        self._error: BaseException | None = None
        self._slots = threading.BoundedSemaphore(MAX_PENDING)
        self._pool: ThreadPoolExecutor | None = None
        _ALL.add(self)

    def put(self, sha1: str, data, release: Callable[[], None]) -> None:
        """Keep verified ``data`` until a background thread has written, synced and renamed it; then ``release()``.

        Waits while :data:`MAX_PENDING` chunks are already waiting. A failure of the write is raised later (see
        :meth:`check`), after ``release`` was called and nothing was left in the store.
        """
        self._slots.acquire()
        with self._lock:
            self._pending[sha1] = data
            self._queued += 1
            if self._pool is None:
                self._pool = ThreadPoolExecutor(WRITERS, thread_name_prefix="npx2020-write")
            pool = self._pool
        pool.submit(self._write, sha1, data, release)

    def _write(self, sha1: str, data, release: Callable[[], None]) -> None:
        try:
            self.own.put(sha1, data)
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

    def __contains__(self, sha1: str) -> bool:
        """True while chunk ``sha1`` waits in memory for its write."""
        with self._lock:
            return sha1 in self._pending

    def check(self) -> None:
        """Raise (once) the error of a write, sync or rename that failed since the last call."""
        with self._lock:
            err, self._error = self._error, None
        if err is not None:
            raise err

    def flush(self) -> None:
        """Wait until every chunk handed over is written, synced and in place; raise the first error since then."""
        with self._lock:
            while self._queued:
                self._idle.wait()
        self.check()

    def read(self, sha1: str):
        """The verified bytes of chunk ``sha1`` while it waits for its write, else ``None``."""
        with self._lock:
            return self._pending.get(sha1)
