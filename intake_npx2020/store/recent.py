"""The last few verified chunks a store fetched, kept in memory for the reads that follow.

Sequential windows straddle chunk bounds and the read-ahead fetches ahead of the reader: without this, a chunk
fetched a moment ago would be fetched again (``cache=False``) or read back from the blob :mod:`.direct` wrote around
the page cache, i.e. from the disk. A chunk dropped from here has its buffer retired (:mod:`.buffers`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from .buffers import retire

__all__ = ["RecentChunks"]


class RecentChunks:
    """At most ``capacity`` chunks by sha1, least recently used dropped first (its buffer retired); thread-safe."""

    def __init__(self, capacity: int):
        self.capacity = max(1, int(capacity))
        self._chunks: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sha1: str):
        """The chunk's bytes (marked as just used), or ``None``."""
        with self._lock:
            data = self._chunks.get(sha1)
            if data is not None:
                self._chunks.move_to_end(sha1)
            return data

    def put(self, sha1: str, data) -> None:
        """Keep ``data`` (verified bytes of chunk ``sha1``), dropping the least recently used beyond capacity."""
        with self._lock:
            self._chunks[sha1] = data
            self._chunks.move_to_end(sha1)
            while len(self._chunks) > self.capacity:
                retire(self._chunks.popitem(last=False)[1])

    def __contains__(self, sha1: str) -> bool:
        with self._lock:
            return sha1 in self._chunks

    def clear(self) -> None:
        """Forget every chunk."""
        with self._lock:
            for data in self._chunks.values():
                retire(data)
            self._chunks.clear()
