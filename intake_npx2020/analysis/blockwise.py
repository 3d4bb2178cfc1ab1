"""One graph layer per analysis step: a task per time chunk, reading the chunk with a margin on each side.

On traces straight from ``to_dask()`` each task reads its own window from the reader behind the array
(:func:`intake_npx2020.arrays.lazy_traces_of`), so a chunk's bytes are dropped as soon as its task ends and
memory does not grow with duration; on any other array each task joins its chunk with the edges of its two
neighbours.
"""

from __future__ import annotations

import numpy as np

__all__ = ["margin", "per_chunk", "compute_on"]


def margin(fs: float, margin_s: float, extra: int = 0) -> int:
    """Frames read on each side of a chunk: ``ceil(margin_s * fs) + extra``."""
    return int(np.ceil(margin_s * fs)) + extra


def compute_on(obj, scheduler: str | None):
    """Compute a dask collection on ``scheduler``, or on the active client / dask's default if None."""
    import dask

    return dask.compute(obj, scheduler=scheduler)[0] if scheduler else dask.compute(obj)[0]


def _merge_small(chunks: tuple[int, ...], depth: int) -> tuple[int, ...]:
    """Merge chunks shorter than ``depth`` into a neighbour (overlap needs every chunk ≥ depth)."""
    out: list[int] = []
    for c in chunks:
        if out and out[-1] < depth:
            out[-1] += c
        else:
            out.append(c)
    if len(out) > 1 and out[-1] < depth:
        out[-2] += out.pop()
    return tuple(out)


def _read_window(lazy, a: int, b: int) -> np.ndarray:
    return lazy[a:b]


def _join_window(prev, cur, nxt, depth: int) -> np.ndarray:
    parts = ([prev[-depth:]] if prev is not None else []) + [cur] + ([nxt[:depth]] if nxt is not None else [])
    return np.concatenate(parts) if len(parts) > 1 else np.asarray(cur)


def _on_window(func, window, window_args, bs: int, s: int, e: int, extra, shared):
    return func(window(*window_args), bs, s, e, *extra, *shared)


def _source(data):
    """``(reader key or None, dependency)``: the reader alone if ``data`` is fresh from ``to_xarray``."""
    from dask.delayed import Delayed
    from dask.highlevelgraph import HighLevelGraph

    from ..arrays import lazy_traces_of

    lazy, lazy_key = lazy_traces_of(data)
    if lazy is None:
        return None, data
    # depend on the reader alone, not on the source's own per-chunk tasks
    return lazy_key, Delayed(lazy_key, HighLevelGraph({lazy_key: data.dask.layers[lazy_key]}, {lazy_key: set()}))


def per_chunk(data, depth: int, func, shared: tuple, name: str, extra=None, combine: tuple | None = None):
    """A one-layer graph with one task per time chunk.

    Each task is ``func(block, block_start, core_start, core_end, *extra(i, core_start, core_end), *shared)``
    where ``block`` holds frames ``[core_start - depth, core_end + depth)`` of ``data`` clipped to its ends.

    Parameters
    ----------
    data : dask.array.Array
        (frames, channels), one chunk along channels. Chunks shorter than ``depth`` are merged.
    depth : int
        Frames of margin on each side.
    func : callable
    shared : tuple
        Stored once in the graph; may hold dask collections (passed computed).
    name : str
        The layer's name (make it a token of everything that determines the result).
    extra : callable, optional
        ``extra(i, core_start, core_end)``: per-chunk arguments, or None to leave chunk ``i`` out.
    combine : tuple, optional
        ``(f, *args)`` adds the task ``name: f([results in time order], *args)``.

    Returns
    -------
    graph : dask.highlevelgraph.HighLevelGraph
    keys : list
        ``(name, i, 0)`` in time order, for the chunks kept.
    chunks : tuple of int
        The time chunks used.
    """
    from dask.base import is_dask_collection
    from dask.highlevelgraph import HighLevelGraph

    chunks = _merge_small(data.chunks[0], depth)
    if chunks != data.chunks[0]:
        data = data.rechunk({0: chunks})
    bounds = np.concatenate([[0], np.cumsum(chunks)]).astype(np.int64)
    n, nc, src = int(bounds[-1]), len(chunks), data.name
    lazy_key, source = _source(data)
    shared_key = name + "-shared"
    layer: dict = {shared_key: (tuple, [a.key if is_dask_collection(a) else a for a in shared])}
    keys = []
    for i in range(nc):
        s, e = int(bounds[i]), int(bounds[i + 1])
        more = () if extra is None else extra(i, s, e)
        if more is None:
            continue
        bs, be = max(0, s - depth), min(n, e + depth)
        if lazy_key is not None:
            window, wargs = _read_window, [lazy_key, bs, be]
        else:
            window = _join_window
            wargs = [(src, i - 1, 0) if i > 0 else None, (src, i, 0), (src, i + 1, 0) if i + 1 < nc else None,
                     depth]
        layer[(name, i, 0)] = (_on_window, func, window, wargs, bs, s, e, list(more), shared_key)
        keys.append((name, i, 0))
    if combine is not None:
        layer[name] = (combine[0], keys, *combine[1:])
    deps = [source] + [a for a in shared if is_dask_collection(a)]
    return HighLevelGraph.from_collections(name, layer, dependencies=deps), keys, chunks
