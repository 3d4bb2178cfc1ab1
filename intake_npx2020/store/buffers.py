"""Memory for response bodies: page-aligned numpy memory, reused once nothing refers to it any more.

A cold pass receives every byte into a buffer (the buffer is kept: it is the verified chunk that readers slice and
the write-behind writes). A fresh buffer costs its page faults: the kernel zeroes every page on first touch, and on a VM
whose host takes freed memory back (as on the 2-core VM of the benchmarks) that runs at about 0.5 GB/s, a quarter of
the CPU of a streamed pass when a fifth of its chunks land in fresh memory. So the buffers of chunks that have left
the store's memory (:meth:`BufferPool.retire`) are handed out again, but only once nothing refers to them: the numpy array is the base of every view and memoryview ever made of it, so its reference count
says whether any reader, future or pending write still holds a byte of it (CPython's reference counts; where there
are none, every buffer is fresh). Buffers are page-aligned so that :mod:`.direct` writes them without a copy.

When no retired buffer fits, the pool first asks the holders registered with :func:`on_shortage` (the recent chunks
of stores nobody has read from for a while: :mod:`.recent`) to let theirs go, so a pass of a new store reuses the
memory of a store whose pass has ended instead of faulting in its own.
"""

from __future__ import annotations

import sys
import threading
from collections import deque

import numpy as np

__all__ = ["receive_buffer", "retire", "copy_into", "on_shortage", "BufferPool", "LARGE", "ALIGN", "KEEP"]

LARGE = 1 << 20  # bytes from which a body gets numpy memory
ALIGN = 4096  # buffer addresses are multiples of this (O_DIRECT writes need it)
#: retired buffers kept for reuse, at most: what a pass of one store holds at once (recent chunks, fetches under
#: way, chunks waiting for their write), so a steady pass allocates nothing
KEEP = 16


def _aligned(n: int) -> np.ndarray:
    raw = np.empty(n + ALIGN, dtype=np.uint8)
    skip = -raw.ctypes.data % ALIGN
    return raw[skip:skip + n]


def _counts(retired: deque, n: int) -> list[tuple[int, int]]:
    """``(position, reference count)`` of the arrays of ``n`` bytes in ``retired``."""
    return [(i, sys.getrefcount(arr)) for i, arr in enumerate(retired) if arr.size == n]


def _unreferenced_count() -> int | None:
    """What :func:`_counts` says of an array that only the deque refers to (``None``: no reference counts here)."""
    if not hasattr(sys, "getrefcount"):
        return None
    return _counts(deque([np.empty(1, dtype=np.uint8)]), 1)[0][1]


class BufferPool:
    """Buffers of large bodies; at most ``keep`` retired ones wait for reuse (the oldest are let go first).

    ``shortage`` is called (without arguments) when no retired buffer fits, before a fresh one is made: it may
    :meth:`retire` buffers, which are then taken.
    """

    def __init__(self, keep: int = KEEP, shortage=None):
        self._retired: deque[np.ndarray] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._free_count = _unreferenced_count()
        self._shortage = shortage
        self.reused = 0

    def get(self, n: int) -> memoryview:
        """A page-aligned writable buffer of ``n`` bytes (format ``"B"``), contents undefined."""
        arr = self._take(n)
        if arr is None and self._shortage is not None:
            self._shortage()
            arr = self._take(n)
        return memoryview(arr if arr is not None else _aligned(n))

    def _take(self, n: int) -> np.ndarray | None:
        if self._free_count is None:
            return None
        with self._lock:
            for i, count in _counts(self._retired, n):
                if count == self._free_count:
                    arr = self._retired[i]
                    del self._retired[i]  # by position: deque.remove would compare arrays with ==
                    self.reused += 1
                    return arr
        return None

    def retire(self, buf) -> None:
        """Offer back a buffer from :meth:`get` whose chunk the store no longer keeps; anything else is ignored."""
        arr = buf.obj if isinstance(buf, memoryview) else None
        if (isinstance(arr, np.ndarray) and arr.base is not None and arr.ndim == 1 and arr.dtype == np.uint8
                and arr.ctypes.data % ALIGN == 0):
            with self._lock:
                self._retired.append(arr)


_HOLDERS: list = []  # callables that let go of memory on a shortage (see on_shortage)


def _release_held() -> None:
    for release in list(_HOLDERS):
        release()


_POOL = BufferPool(shortage=_release_held)


def on_shortage(release) -> None:
    """Call ``release()`` when the pool has no buffer to reuse: it may :func:`retire` buffers it holds.

    ``release`` is kept for the life of the process (pass a function holding only weak references).
    """
    _HOLDERS.append(release)


def receive_buffer(n: int) -> bytearray | memoryview:
    """A writable buffer of ``n`` bytes (format ``"B"``): a ``bytearray`` when small, else from the pool.

    Its contents are undefined until written; use it as a bytes-like object (``memoryview``, ``bytes()``,
    ``len``), not as a ``bytearray``.
    """
    if n < LARGE:
        return bytearray(n)
    return _POOL.get(n)


def retire(buf) -> None:
    """Tell the pool that the store let go of ``buf`` (a body from :func:`receive_buffer`): see the module doc."""
    _POOL.retire(buf)


def copy_into(out: memoryview, src) -> None:
    """``out[:] = src`` for bytes-likes of the same length; large copies let other threads run meanwhile.

    A ``memoryview`` assignment holds the GIL for the whole copy (about 4 ms per 20 MB), stalling the fetch threads
    that only need it between socket reads; numpy's copy releases it.
    """
    if len(out) < LARGE:
        out[:] = src
        return
    np.copyto(np.frombuffer(out, dtype=np.uint8), np.frombuffer(src, dtype=np.uint8))
