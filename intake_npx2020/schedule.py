"""dask defaults for the package's arrays: a scheduler that leaves ``distributed`` alone, and window fusion.

Scheduler
    With no scheduler configured, every ``compute()`` runs ``from distributed import get_client`` to look for a
    client; in a fresh process that import alone costs ≈ 90 ms, more than reading the first second of a recording.
    No client can exist in a process that has not imported ``distributed``, so :func:`auto_get` looks for one only
    when ``distributed`` is already imported, and otherwise runs dask's threaded scheduler — the default dask would
    pick for arrays and data frames. Installed as ``dask.config["scheduler"]`` only when no scheduler is configured,
    so a ``Client`` (which sets the config), ``dask.config.set(scheduler=…)`` and ``compute(scheduler=…)`` all win.
Window fusion
    Computing a selection of a recording (``x[a:b].values``, ``x.isel(time=…, channel=slice(…))``) would read each
    1-s chunk into its own array and then have dask concatenate them into the result: every byte copied twice.
    :func:`optimize_array`, installed as ``dask.config["array_optimize"]`` when none is set, recognises a compute
    whose result is exactly a rectangular selection of one registered reader (a ``from_array`` layer named with a
    prefix given to :func:`install_default_scheduler`; slices along time, slices or integer lists along channels)
    and replaces the whole graph by one task that reads the selection straight into the result. It applies to
    ``compute`` only (the graph then ends in dask's ``finalize`` task), never to ``persist``, whose chunks must stay
    chunks. Any other graph goes to dask's own optimisation unchanged.
"""

from __future__ import annotations

import sys

__all__ = ["auto_get", "install_default_scheduler", "optimize_array"]

_FUSED_PREFIXES: set[str] = set()  # names of from_array layers whose selections are read in one task


def auto_get(dsk, keys, **kwargs):
    """Run a graph on the current distributed client if there is one, else on dask's threaded scheduler.

    A graph of one task (a fused window) runs in the calling thread: there is nothing to run beside it, and a
    hand-off to a pool thread costs a scheduling delay that, on a busy machine, can exceed the read itself.
    """
    if "distributed" in sys.modules:
        from distributed import get_client

        try:
            return get_client().get(dsk, keys, **kwargs)
        except ValueError:  # no client
            pass
    from collections.abc import Mapping

    from dask.threaded import get

    graph = dsk if isinstance(dsk, Mapping) else dsk.__dask_graph__()
    if len(graph) == 1 and not kwargs:
        from dask.local import get_sync

        return get_sync(graph, keys)
    return get(graph, keys, **kwargs)


def install_default_scheduler(fuse_prefix: str | None = None) -> None:
    """Make :func:`auto_get` the scheduler and :func:`optimize_array` the array optimisation where none is set.

    ``fuse_prefix``: computes of selections of ``from_array`` layers named ``fuse_prefix…`` are read in one task.
    Idempotent.
    """
    import dask

    if fuse_prefix:
        _FUSED_PREFIXES.add(fuse_prefix)
    if dask.config.get("scheduler", None) is None:
        dask.config.set(scheduler=auto_get)
    if dask.config.get("array_optimize", None) is None:
        dask.config.set(array_optimize=optimize_array)


def optimize_array(dsk, keys, **kwargs):
    """dask's array optimisation, after fusing a compute of a selection of a registered reader into one task."""
    from dask.array.optimization import optimize

    fused = _fuse_window(dsk, keys)
    return optimize(dsk if fused is None else fused, keys, **kwargs)


def read_window(reader, start: int, stop: int, channels):
    """The fused task: ``reader[start:stop, channels]`` (one read, straight into the result)."""
    return reader[start:stop, channels]


def _fuse_window(dsk, keys):
    """A one-task graph computing ``keys`` (a ``finalize`` of a reader's selection), or ``None``."""
    layers = getattr(dsk, "layers", None)
    if (not _FUSED_PREFIXES or not layers or len(keys) != 1 or not isinstance(keys[0], str)
            or not keys[0].startswith("finalize-")
            or not any(n.startswith("original-" + p) for n in layers for p in _FUSED_PREFIXES)):
        return None
    try:
        return _fused_graph(layers, keys[0])
    except Exception:  # noqa: BLE001 - a graph of a shape not foreseen: dask's own path computes it
        return None


def _fused_graph(layers, key: str):
    import numpy as np
    from dask._task_spec import Task
    from dask.array.core import finalize
    from dask.highlevelgraph import HighLevelGraph, MaterializedLayer

    fin = layers[key].mapping.get(key) if hasattr(layers[key], "mapping") else None
    if not isinstance(fin, Task) or fin.func is not finalize or len(fin.args) != 1 or fin.kwargs:
        return None
    grid = _key_grid(fin.args[0])
    if not isinstance(grid, list) or not grid or any(not isinstance(r, list) or len(r) != 1 for r in grid):
        return None
    memo = _reader_tasks(layers, [row[0] for row in grid])
    regions = [_region(layers, row[0], 0, memo) for row in grid]
    if any(r is None for r in regions):
        return None
    reader, start, _, cols = regions[0]
    for (r1, _, stop1, c1), (r2, start2, _, c2) in zip(regions, regions[1:]):
        if r2 is not reader or start2 != stop1 or not np.array_equal(c1, c2):
            return None
    stop = regions[-1][2]
    if stop <= start or not len(cols):
        return None
    channels = slice(None) if np.array_equal(cols, np.arange(reader.shape[1])) else cols
    task = Task(key, read_window, reader, start, stop, channels)
    return HighLevelGraph({key: MaterializedLayer({key: task})}, {key: set()})


def _key_grid(node):
    from dask._task_spec import List, TaskRef

    if isinstance(node, List):
        return [_key_grid(a) for a in node.args]
    if isinstance(node, TaskRef):
        return node.key
    raise TypeError(type(node).__name__)


def _reader_tasks(layers, keys) -> dict:
    """The tasks of the readers' ``from_array`` blocks that ``keys`` use directly, materialised in one go."""
    want: dict[str, set] = {}
    for key in keys:
        node = _node(layers, key, {})
        for dep in getattr(node, "dependencies", ()) if node is not None else ():
            name = dep[0] if isinstance(dep, tuple) else dep
            if any(name.startswith(p) for p in _FUSED_PREFIXES) and name in layers:
                want.setdefault(name, set()).add(dep)
    memo: dict = {}
    for name, deps in want.items():
        memo.update(dict(layers[name].cull(deps, ())[0]))
    return memo


def _node(layers, key, memo: dict):
    if key in memo:
        return memo[key]
    name = key[0] if isinstance(key, tuple) else key
    layer = layers.get(name)
    if layer is not None and any(name.startswith(p) for p in _FUSED_PREFIXES):  # the from_array layer
        return dict(layer.cull({key}, ())[0])[key]
    if layer is not None and hasattr(layer, "mapping") and key in layer.mapping:
        return layer.mapping[key]
    for lay in layers.values():  # a key kept in another layer (dask's fancy-index steps)
        if hasattr(lay, "mapping") and key in lay.mapping:
            return lay.mapping[key]
    return None


def _region(layers, key, depth: int, memo: dict):
    """``(reader, start, stop, channels)`` a key's task computes, or ``None`` if it is not a plain selection."""
    import numpy as np
    from dask._task_spec import Alias, DataNode, Task, TaskRef
    from dask.array.chunk import getitem
    from dask.array.core import getter

    node = _node(layers, key, memo)
    if depth > 8 or node is None:
        return None
    if isinstance(node, Alias):
        target = node.target
        return _region(layers, getattr(target, "key", target), depth + 1, memo)
    if not isinstance(node, Task) or len(node.args) < 2 or not isinstance(node.args[0], TaskRef):
        return None
    src, index = node.args[0].key, node.args[1]
    index = index.value if isinstance(index, DataNode) else index
    kwargs = dict(zip(("asarray", "lock"), node.args[2:]), **node.kwargs)
    if node.func is getter and len(node.args) <= 4 and set(kwargs) <= {"asarray", "lock"} and not kwargs.get("lock"):
        if not (isinstance(src, str) and any(src.startswith("original-" + p) for p in _FUSED_PREFIXES)):
            return None
        reader = layers[src].mapping[src]
        reader = reader.value if isinstance(reader, DataNode) else reader
        base = (reader, 0, reader.shape[0], np.arange(reader.shape[1]))
    elif node.func is getitem and len(node.args) == 2 and not kwargs:
        base = _region(layers, src, depth + 1, memo)
    else:
        return None
    return None if base is None else _compose(base, index)


def _compose(region, index):
    """``region`` indexed by ``index``: a step-1 slice along time, a slice or integer list along channels."""
    import numpy as np

    reader, start, stop, cols = region
    index = index if isinstance(index, tuple) else (index,)
    if len(index) > 2 or any(i is None or i is Ellipsis for i in index):
        return None
    t, c = index + (slice(None),) * (2 - len(index))
    if not isinstance(t, slice):
        return None
    rows = range(start, stop)[t]
    if rows.step != 1 or not len(rows):
        return None
    if isinstance(c, slice):
        cols = cols[c]
    elif isinstance(c, (list, np.ndarray)) and np.asarray(c).ndim == 1 and np.asarray(c).dtype.kind in "iu":
        cols = cols[np.asarray(c)]
    else:
        return None
    return reader, rows.start, rows.stop, cols
