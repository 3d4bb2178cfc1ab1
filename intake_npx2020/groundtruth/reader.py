"""A hybrid recording read lazily: the parent's frames, plus the injected spikes that touch them.

:class:`HybridTraces` wraps the parent's reader (a :class:`~intake_npx2020.arrays.LazyTraces`, another hybrid, or
any dask array) and is itself a ``LazyTraces``, so the analysis reads each task's window straight from it, as
it does from a catalog recording. It pickles as the parent's reader and the injection (no open handle).
"""

from __future__ import annotations

import numpy as np

from ..arrays import _NAME_PREFIX, LazyTraces, lazy_traces_of
from .injection import Injection

__all__ = ["HybridTraces", "ArrayReader", "reader_of", "hybrid_dataarray"]


class ArrayReader:
    """Frames of a dask (or numpy) array, computed on demand with the synchronous scheduler (inside a task)."""

    ndim = 2
    dtype = np.dtype("int16")

    def __init__(self, data):
        self.data = data
        self.shape = tuple(data.shape)

    def __getitem__(self, key) -> np.ndarray:
        part = self.data[key]
        return np.array(part.compute(scheduler="sync") if hasattr(part, "compute") else part)  # a copy, ours


def reader_of(traces):
    """The reader behind a recording DataArray: its ``LazyTraces`` if fresh from ``to_dask()``, else the array."""
    lazy, _ = lazy_traces_of(traces.data) if hasattr(traces.data, "dask") else (None, None)
    return lazy if lazy is not None else ArrayReader(traces.data)


def _time_rows(tkey, n: int) -> tuple[int, int, object]:
    """``(lo, hi, post)``: read frames ``[lo, hi)`` then index the rows with ``post`` (None: all)."""
    if isinstance(tkey, (int, np.integer)):
        t = int(tkey) + (n if tkey < 0 else 0)
        if not 0 <= t < n:
            raise IndexError(f"frame {tkey} is outside the hybrid recording of {n} frames")
        return t, t + 1, 0
    if isinstance(tkey, slice):
        start, stop, step = tkey.indices(n)
        if step == 1:
            return start, max(start, stop), None
        rows = np.arange(start, stop, step)
    else:
        rows = np.arange(n)[tkey]
    if rows.size == 0:
        return 0, 0, slice(0, 0)
    lo = int(rows.min())
    return lo, int(rows.max()) + 1, rows - lo


class HybridTraces(LazyTraces):
    """The parent's frames with the injected spikes added (:data:`~.params.ROUNDING_RULE`); a lazy 2-D array.

    Parameters
    ----------
    parent : LazyTraces or ArrayReader
        The parent recording's reader, ``shape (frames, channels)``.
    injection : Injection
    """

    def __init__(self, parent, injection: Injection):  # noqa: super().__init__ wants a bin1 spec we do not have
        self.parent = parent
        self.injection = injection
        self.shape = tuple(parent.shape)
        self.storage_options = getattr(parent, "storage_options", None)
        self.spec = getattr(parent, "spec", None)
        if self.shape != (injection.num_frames, injection.num_channels):
            from ..errors import InvalidObject

            raise InvalidObject(f"injection made for {injection.num_frames} frames × {injection.num_channels} "
                                f"channels, parent recording is {self.shape[0]} × {self.shape[1]}")

    def __reduce__(self):
        return (HybridTraces, (self.parent, self.injection))

    def __repr__(self) -> str:
        return f"HybridTraces({self.parent!r} + {len(self.injection.times)} spikes, shape={self.shape})"

    def __getitem__(self, key) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        key = tuple(k for k in key if k is not Ellipsis)
        tkey, ckey = (key + (slice(None),) * 2)[:2]
        lo, hi, post = _time_rows(tkey, self.shape[0])
        full = isinstance(ckey, slice) and ckey == slice(None)
        channels = None if full else np.atleast_1d(np.arange(self.shape[1])[ckey])
        block = np.asarray(self.parent[lo:hi, slice(None) if full else channels])
        if not block.flags.writeable:  # readers hand out fresh buffers; a read-only one is copied
            block = block.copy()
        self.injection.add_into(block, lo, channels)
        if isinstance(ckey, (int, np.integer)):
            block = block[:, 0]
        return block if post is None else block[post]


def hybrid_dataarray(parent, injection: Injection, name: str | None = None, attrs: dict | None = None):
    """The hybrid of a recording ``DataArray`` as a lazy ``DataArray`` with the parent's chunks, coords and attrs.

    Parameters
    ----------
    parent : xarray.DataArray
        A recording (dims ``time``, ``channel``; from ``to_dask()``, another hybrid, or any dask/numpy array).
    injection : Injection
    name : str, optional
    attrs : dict, optional
        Added to the parent's attributes.
    """
    import dask.array as da
    from dask.base import tokenize

    reader = HybridTraces(reader_of(parent), injection)
    chunks = parent.data.chunks if hasattr(parent.data, "chunks") and not isinstance(parent.data, np.ndarray) \
        else (int(parent.attrs["sampling_frequency"]), parent.shape[1])
    chunks = (chunks[0], (parent.shape[1],))
    token = tokenize(getattr(parent.data, "name", None) or tokenize(parent.data), injection.token, chunks)
    data = da.from_array(reader, chunks=chunks, name=f"{_NAME_PREFIX}hybrid-{token}", asarray=False, fancy=True,
                         lock=False, meta=np.empty((0, 0), np.int16))
    out = parent.copy(deep=False, data=data)
    out.name = name or parent.name
    out.attrs.update({"hybrid": True, "injected_spikes": int(len(injection.times)), **(attrs or {})})
    return out
