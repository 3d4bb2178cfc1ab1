"""Recording spec → lazy, dask-backed ``xarray.DataArray`` of int16 traces (dims ``time``, ``channel``).

:func:`recording_dataarray` is the one builder of that DataArray (coords, time index, CF attributes, probe
coordinates); :func:`to_xarray` and the synthetic recordings use it. Raw values are ADC counts (``units``
``"count"``); where the gain is known the CF attributes ``scale_factor`` (µV per count) and ``add_offset`` (µV)
say how to get µV: ``xr.decode_cf(x.to_dataset())`` does so lazily, and :func:`to_uV` (also ``x.npx.to_uV()``,
registered by :mod:`intake_npx2020.accessor`... here) gives lazy float32 µV with ``units`` ``"uV"``.
"""

from __future__ import annotations

import numpy as np

from .formats.bin1 import Bin1Recording
from .schedule import install_default_scheduler
from .store.engine import get_store

__all__ = ["LazyTraces", "to_xarray", "recording_dataarray", "lazy_traces_of"]

_NAME_PREFIX = "npx2020-traces-"


class LazyTraces:
    """A lazy 2-D array over a ``bin1`` recording, in the zarr/h5py idiom (``shape``, ``dtype``, ``__getitem__``).

    Indexing reads only the frames asked for (all raw columns of those frames, as they are interleaved),
    then keeps the requested channels. It pickles as the spec and storage options, never an open handle.
    """

    ndim = 2
    dtype = np.dtype("int16")

    def __init__(self, spec: Bin1Recording, storage_options: dict | None = None):
        self.spec = spec
        self.storage_options = storage_options
        self.shape = (spec.num_frames, spec.num_channels)

    def __reduce__(self):
        return (LazyTraces, (self.spec, self.storage_options))

    def __repr__(self) -> str:
        return f"LazyTraces({self.spec.raw}, shape={self.shape})"

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        if len(key) > 2 or any(k is Ellipsis for k in key):
            key = tuple(k for k in key if k is not Ellipsis)
        tkey, ckey = (key + (slice(None),) * 2)[:2]
        store = get_store(self.storage_options)
        if not getattr(self, "_size_checked", False):
            self.spec.check_size(store)
            self._size_checked = True
        channels = None if isinstance(ckey, slice) and ckey == slice(None) else np.arange(self.shape[1])[ckey]
        if isinstance(tkey, (int, np.integer)):
            t = int(tkey) + (self.shape[0] if tkey < 0 else 0)
            if not 0 <= t < self.shape[0]:
                raise IndexError(f"frame {tkey} is outside {self.spec.raw} of {self.shape[0]} frames")
            return self.spec.read(store, t, t + 1, channels)[0]
        if not isinstance(tkey, slice):
            idx = np.arange(self.shape[0])[tkey]
            if idx.size == 0:
                return np.empty((0,) + np.empty(self.shape[1])[ckey].shape, self.dtype)
            block = self.spec.read(store, int(idx.min()), int(idx.max()) + 1, channels)
            return block[idx - idx.min()]
        start, stop, step = tkey.indices(self.shape[0])
        if step < 0:
            return self[slice(stop + 1, start + 1), ckey][::-1][::-step]
        stop = max(start, stop)
        block = self.spec.read(store, start, stop, channels)
        return block if step == 1 else block[::step]


def _time_index(n: int, fs: float, start_frame: int = 0):
    from xarray.indexes import RangeIndex

    class SampleTimeIndex(RangeIndex):
        """Time in seconds without materialising it; label selection snaps to the nearest sample."""

        def sel(self, labels, method=None, tolerance=None):
            return super().sel(labels, method=method or "nearest", tolerance=tolerance)

        def isel(self, indexers):
            out = super().isel(indexers)
            return SampleTimeIndex(out.transform) if type(out) is RangeIndex else out

    # stop half a sample early: ceil((stop - start) / step) is exactly n whatever the float round-off
    t0 = start_frame / fs
    return SampleTimeIndex.arange(t0, t0 + (n - 0.5) / fs, 1.0 / fs, dim="time", coord_name="time")


def recording_dataarray(data, sampling_frequency: float, channel_ids, locations, start_frame: int = 0,
                        name: str | None = None, attrs: dict | None = None):
    """Wrap (frames, channels) int16 traces as the project's recording ``DataArray``.

    Parameters
    ----------
    data : array-like
        Traces of shape (frames, channels), e.g. a dask array chunked along time only.
    sampling_frequency : float
    channel_ids : array-like of int
    locations : array-like, shape (channels, 2)
        ``x``, ``y`` of each channel in µm.
    start_frame : int
        Frame index of the first row: ``time`` is ``(start_frame + row) / sampling_frequency``.
    name : str, optional
        Name of the DataArray (e.g. the catalog ID).
    attrs : dict, optional
        Attributes after ``sampling_frequency``, kept in their order.

    Returns
    -------
    xarray.DataArray
        Dims ``("time", "channel")``; coords ``time`` (s, a lazy range index), ``channel``, ``x``, ``y`` (µm).
    """
    import xarray as xr

    fs = float(sampling_frequency)
    locations = np.asarray(locations, dtype=float)
    coords = xr.Coordinates.from_xindex(_time_index(data.shape[0], fs, int(start_frame)))
    coords = coords.assign(channel=("channel", np.asarray(channel_ids)), x=("channel", locations[:, 0]),
                           y=("channel", locations[:, 1]))
    arr = xr.DataArray(data, dims=("time", "channel"), coords=coords, name=name,
                       attrs={"sampling_frequency": fs, **(attrs or {})})
    arr["x"].attrs["units"] = arr["y"].attrs["units"] = "um"
    arr["time"].attrs["units"] = "s"
    return arr


def to_xarray(spec: Bin1Recording, chunk_seconds: float = 1.0, storage_options: dict | None = None,
              name: str | None = None, attrs: dict | None = None):
    """A dask-backed ``xarray.DataArray`` of a recording.

    Parameters
    ----------
    spec : Bin1Recording
    chunk_seconds : float
        Time extent of one dask chunk (all channels per chunk).
    storage_options : dict, optional
        Store/mirror options (see :class:`~intake_npx2020.config.StoreConfig`); default from the environment.
    name : str, optional
        Name of the DataArray (e.g. the catalog ID).
    attrs : dict, optional
        Extra attributes (e.g. ``gain_to_uV``); ``None`` values are left out.

    Returns
    -------
    xarray.DataArray
        int16, dims ``("time", "channel")``, coords ``time`` (s), ``channel``, ``x``, ``y`` (µm).
    """
    import dask.array as da
    from dask.base import tokenize

    install_default_scheduler()
    chunk = max(1, int(round(float(chunk_seconds) * spec.sampling_frequency)))
    lazy = LazyTraces(spec, storage_options)
    token = tokenize(spec.raw, spec.raw_num_channels, spec.num_frames, spec.columns.tobytes(), chunk,
                     sorted((storage_options or {}).items(), key=str))
    data = da.from_array(lazy, chunks=(chunk, spec.num_channels), name=f"{_NAME_PREFIX}{token}", asarray=False,
                         fancy=True, lock=False, meta=np.empty((0, 0), np.int16))
    meta = {"uri": spec.raw, "raw_num_channels": spec.raw_num_channels, "units": "ADC counts (raw int16)",
            "object_sha1": spec.object_sha1}
    meta.update({k: v for k, v in (attrs or {}).items() if v is not None})
    return recording_dataarray(data, spec.sampling_frequency, spec.channel_ids, spec.locations, name=name,
                               attrs=meta)


def lazy_traces_of(data) -> tuple[LazyTraces | None, str | None]:
    """The :class:`LazyTraces` behind a dask array made by :func:`to_xarray`, and its key in the graph.

    ``(None, None)`` for any other array (sliced, rechunked, numpy-backed…): then the caller must go through
    the array's own chunks. This reads dask's graph of a ``from_array`` (its ``original-`` layer), which is why
    it lives beside the name it recognises.
    """
    layers = getattr(data.__dask_graph__(), "layers", {})
    orig = "original-" + data.name
    if not data.name.startswith(_NAME_PREFIX) or set(layers) != {data.name, orig}:
        return None, None
    obj = layers[orig].get(orig)
    obj = getattr(obj, "value", obj)            # a DataNode in some dask versions, the object itself in others
    if isinstance(obj, LazyTraces) and obj.shape == tuple(data.shape):
        return obj, orig
    return None, None
