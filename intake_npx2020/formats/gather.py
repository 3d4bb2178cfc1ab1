"""Columns of interleaved int16 frames gathered into a compact array in one pass over the bytes.

The raw bytes are read a block of frames at a time (:func:`~intake_npx2020.store.blocks.read_blocks`, a buffer
of :data:`BLOCK` bytes that stays in the CPU cache) and the kept columns are copied out of each block before the
next is read, so each byte crosses memory once — as in a plain copy — rather than being read into a full-width
array and gathered from it in a second pass. A run of adjacent columns is copied as one fixed-size record per
frame (a ``V<n>`` view), which numpy copies in one strided loop; maps of many short runs use ``np.take``.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..store.blocks import read_blocks

__all__ = ["gather_columns", "column_runs", "BLOCK"]

#: Bytes of raw frames read per block (fits a core's L2 cache beside the rows being written).
BLOCK = 512 << 10
#: Ranges of at least this many bytes are gathered by several threads (one part per core, at most MAX_PARTS).
SPLIT = 48 << 20
MAX_PARTS = 4
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def column_runs(cols: np.ndarray) -> list[tuple[int, int, int]]:
    """``(output column, raw column, length)`` of each run of consecutive ascending raw columns."""
    cols = np.asarray(cols, dtype=np.int64)
    breaks = np.flatnonzero(np.diff(cols) != 1) + 1
    starts = np.r_[0, breaks]
    ends = np.r_[breaks, len(cols)]
    return [(int(a), int(cols[a]), int(b - a)) for a, b in zip(starts, ends)]


def _records(buf, rows: int, row_bytes: int, runs, first: str) -> list[np.ndarray]:
    """For each run, a 1-D ``V<n>`` view over ``rows`` rows of ``buf`` (``first``: raw or output column)."""
    out = []
    for o, c, n in runs:
        col = c if first == "raw" else o
        out.append(np.ndarray((rows,), dtype=f"V{2 * n}", buffer=buf, offset=2 * col, strides=(row_bytes,)))
    return out


def gather_columns(store, uri, start: int, raw_columns: int, cols: np.ndarray, out: np.ndarray) -> None:
    """Fill ``out`` (frames × len(cols), int16, C-contiguous) with raw columns ``cols`` of the frames from byte
    ``start`` of file ``uri`` (``raw_columns`` interleaved int16 per frame).

    A range of at least :data:`SPLIT` bytes is cut in one part per core, gathered in parallel (``preadv`` and
    numpy's copies release the GIL): a long window is read at the speed of the machine, not of one thread.
    """
    row = 2 * raw_columns
    parts = min(os.cpu_count() or 1, MAX_PARTS, out.shape[0] * row // SPLIT)
    if parts < 2:
        _gather(store, uri, start, raw_columns, cols, out)
        return
    bounds = [out.shape[0] * i // parts for i in range(parts + 1)]
    futures = [_pool().submit(_gather, store, uri, start + a * row, raw_columns, cols, out[a:b])
               for a, b in zip(bounds[1:-1], bounds[2:])]
    _gather(store, uri, start, raw_columns, cols, out[:bounds[1]])
    for f in futures:
        f.result()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(MAX_PARTS - 1, thread_name_prefix="npx2020-gather")
        return _POOL


def _gather(store, uri, start: int, raw_columns: int, cols: np.ndarray, out: np.ndarray) -> None:
    frames = out.shape[0]
    row = 2 * raw_columns
    rows = max(1, min(frames, BLOCK // row))
    scratch = np.empty((rows, raw_columns), dtype="<i2")
    runs = column_runs(cols)
    by_runs = len(runs) <= max(1, len(cols) // 8)
    if by_runs:
        src_scratch = _records(scratch, rows, row, runs, "raw")
        dst = _records(out, frames, 2 * out.shape[1], runs, "out")
    r = 0
    for view in read_blocks(store, uri, start, start + frames * row, scratch):
        k = len(view) // row
        if not by_runs:
            block = np.frombuffer(view, dtype="<i2").reshape(k, raw_columns)
            np.take(block, cols, axis=1, out=out[r:r + k])
        else:
            src = src_scratch if view.obj is scratch else _records(view, k, row, runs, "raw")
            for s, d in zip(src, dst):
                d[r:r + k] = s[:k]
        r += k
