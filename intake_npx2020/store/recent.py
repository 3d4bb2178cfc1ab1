"""The last few verified chunks a store fetched, kept in memory for the reads that follow.

Sequential windows straddle chunk bounds and the read-ahead fetches ahead of the reader: without this, a chunk
fetched a moment ago would be fetched again (``cache=False``) or read back from the blob :mod:`.direct` wrote around
the page cache, i.e. from the disk. A chunk dropped from here has its buffer retired (:mod:`.buffers`).

The chunks of a store nobody has used for :data:`IDLE` seconds, with no fetch under way, are let go when the
process needs a buffer and none is free (:func:`.buffers.on_shortage`): a pass that has ended does not keep its
memory from the next one. Reading from the store again fetches what it needs.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable

from .buffers import on_shortage, retire

__all__ = ["RecentChunks", "IDLE"]

#: seconds without a read, a fetch or a new chunk after which a store's recent chunks may be let go
IDLE = 1.0
_ALL: weakref.WeakSet = weakref.WeakSet()


def _release_idle() -> None:
    now = time.monotonic()
    for recent in list(_ALL):
        recent.release_if_idle(now)


on_shortage(_release_idle)


class RecentChunks:
    """At most ``capacity`` chunks by sha1, least recently used dropped first (its buffer retired); thread-safe.

    ``busy``, when given, says whether the owner has fetches under way (its chunks are then never let go as idle).
    """

    def __init__(self, capacity: int, busy: Callable[[], bool] | None = None):
        self.capacity = max(1, int(capacity))
        self._chunks: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()
        self._busy = busy
        self._used = time.monotonic()
        _ALL.add(self)

    def get(self, sha1: str):
        """The chunk's bytes (marked as just used), or ``None``."""
        with self._lock:
            self._used = time.monotonic()
            data = self._chunks.get(sha1)
            if data is not None:
                self._chunks.move_to_end(sha1)
            return data

    def put(self, sha1: str, data) -> None:
        """Keep ``data`` (verified bytes of chunk ``sha1``), dropping the least recently used beyond capacity."""
        with self._lock:
            self._used = time.monotonic()
            self._chunks[sha1] = data
            self._chunks.move_to_end(sha1)
            while len(self._chunks) > self.capacity:
                retire(self._chunks.popitem(last=False)[1])

    def __contains__(self, sha1: str) -> bool:
        with self._lock:
            self._used = time.monotonic()
            return sha1 in self._chunks

    def __len__(self) -> int:
        with self._lock:
            return len(self._chunks)

    def clear(self) -> None:
        """Forget every chunk."""
        with self._lock:
            for data in self._chunks.values():
                retire(data)
            self._chunks.clear()

    def release_if_idle(self, now: float | None = None) -> bool:
        """Forget every chunk if none was used for :data:`IDLE` seconds and no fetch is under way; True if so."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if not self._chunks or now - self._used < IDLE or (self._busy is not None and self._busy()):
                return False
            for data in self._chunks.values():
                retire(data)
            self._chunks.clear()
            return True
