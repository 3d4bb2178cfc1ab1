"""Recording spec → lazy, dask-backed ``xarray.DataArray`` of int16 traces (dims ``time``, ``channel``).

:func:`recording_dataarray` is the one builder of that DataArray (coords, time index, CF attributes, probe
coordinates); :func:`to_xarray` and the synthetic recordings use it. Raw values are ADC counts (``units``
``"count"``); where the gain is known the CF attributes ``scale_factor`` (µV per count) and ``add_offset`` (µV)
say how to get µV: ``xr.decode_cf(x.to_dataset())`` does so lazily (float64), and :func:`to_uV` — also
``x.npx.to_uV()``, the ``npx`` accessor this module registers with xarray on import — gives lazy float32 µV with
``units`` ``"uV"``. Where the catalog names the probe, ``channel`` also carries ``shank`` and ``contact_id``
(probeinterface's ids) and, for NP1.0-type probes, the ADC slot (``adc_group``, ``adc_sample_order``,
``inter_sample_shift``) — see :mod:`intake_npx2020.formats.neuropixels`.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .errors import InvalidArgument
from .formats.bin1 import Bin1Recording
from .formats.neuropixels import channel_geometry, model_for
from .schedule import install_default_scheduler
from .store.engine import get_store

__all__ = ["LazyTraces", "to_xarray", "recording_dataarray", "lazy_traces_of", "to_uV", "cf_attrs", "coord_names",
           "NpxAccessor"]

#: ``long_name`` of the raw traces and of the traces in µV (CF attribute)
RAW_LONG_NAME = "extracellular voltage (raw ADC counts)"
UV_LONG_NAME = "extracellular voltage"
#: coordinates on ``channel`` that come from the probe model (when the catalog names the probe)
PROBE_COORDS = ("shank", "contact_id", "adc_group", "adc_sample_order", "inter_sample_shift")

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


def cf_attrs(gain_to_uV: float | None, offset_to_uV: float = 0.0) -> dict:
    """CF attributes of raw int16 traces: ``units`` ``"count"``, ``long_name``, and the µV scaling when known.

    Parameters
    ----------
    gain_to_uV : float or None
        µV per ADC count (CF ``scale_factor``); ``None`` when unknown (then no scaling attributes).
    offset_to_uV : float
        µV added after scaling (CF ``add_offset``).

    Returns
    -------
    dict
        ``units``, ``long_name``, and ``scale_factor`` / ``add_offset`` (Python floats) if the gain is known.
    """
    out = {"units": "count", "long_name": RAW_LONG_NAME}
    if gain_to_uV is not None:
        out.update(scale_factor=float(gain_to_uV), add_offset=float(offset_to_uV))
    return out


def _probe_coords(locations: np.ndarray, probe: str | None) -> dict:
    geometry = channel_geometry(locations, probe)
    return {k: ("channel", geometry[k]) for k in PROBE_COORDS if geometry is not None and k in geometry}


def coord_names(locations, probe: str | None = None) -> list[str]:
    """Names of the coordinates :func:`recording_dataarray` gives a recording at ``locations`` on ``probe``."""
    geometry = channel_geometry(locations, probe)
    return ["time", "channel", "x", "y", *(k for k in PROBE_COORDS if geometry is not None and k in geometry)]


def _probe_attrs(probe: str | None, fitted: bool) -> dict:
    model = model_for(probe)
    return {"probe_model": model.part_number} if model is not None and fitted else {}


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
        Attributes after ``sampling_frequency``, kept in their order. ``gain_to_uV`` (and ``offset_to_uV``)
        become CF ``scale_factor`` / ``add_offset``; ``probe`` (the catalog's name, e.g. ``NP1``) adds the
        probe model's coordinates; ``units`` and ``long_name`` are always the raw CF ones (:func:`cf_attrs`).

    Returns
    -------
    xarray.DataArray
        Dims ``("time", "channel")``; coords ``time`` (s, a lazy range index), ``channel``, ``x``, ``y`` (µm),
        and ``shank``, ``contact_id``, … where the probe is known.
    """
    fs = float(sampling_frequency)
    attrs = dict(attrs or {})
    locations = np.asarray(locations, dtype=float).reshape(-1, 2)
    probe_coords = _probe_coords(locations, attrs.get("probe"))
    coords = xr.Coordinates.from_xindex(_time_index(data.shape[0], fs, int(start_frame)))
    coords = coords.assign(channel=("channel", np.asarray(channel_ids)), x=("channel", locations[:, 0]),
                           y=("channel", locations[:, 1]), **probe_coords)
    attrs.update(_probe_attrs(attrs.get("probe"), bool(probe_coords)))
    attrs.update(cf_attrs(attrs.get("gain_to_uV"), attrs.get("offset_to_uV") or 0.0))
    arr = xr.DataArray(data, dims=("time", "channel"), coords=coords, name=name,
                       attrs={"sampling_frequency": fs, **attrs})
    arr["x"].attrs["units"] = arr["y"].attrs["units"] = "um"
    arr["time"].attrs["units"] = "s"
    if "inter_sample_shift" in arr.coords:
        arr["inter_sample_shift"].attrs["units"] = "1"   # fraction of a sample period
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
        Extra attributes (e.g. ``gain_to_uV``, ``probe``); ``None`` values are left out. See
        :func:`recording_dataarray` for what ``gain_to_uV`` and ``probe`` add.

    Returns
    -------
    xarray.DataArray
        int16 ADC counts, dims ``("time", "channel")``, coords ``time`` (s), ``channel``, ``x``, ``y`` (µm)
        (and the probe's where known); CF ``units``, ``long_name``, ``scale_factor``, ``add_offset``.
    """
    import dask.array as da
    from dask.base import tokenize

    install_default_scheduler(fuse_prefix=_NAME_PREFIX)  # a selection is read in one task
    chunk = max(1, int(round(float(chunk_seconds) * spec.sampling_frequency)))
    lazy = LazyTraces(spec, storage_options)
    token = tokenize(spec.raw, spec.raw_num_channels, spec.num_frames, spec.columns.tobytes(), chunk,
                     sorted((storage_options or {}).items(), key=str))
    data = da.from_array(lazy, chunks=(chunk, spec.num_channels), name=f"{_NAME_PREFIX}{token}", asarray=False,
                         fancy=True, lock=False, meta=np.empty((0, 0), np.int16))
    meta = {"uri": spec.raw, "raw_num_channels": spec.raw_num_channels, "object_sha1": spec.object_sha1}
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


def to_uV(x, dtype="float32"):
    """Traces in µV, lazily: ``x * scale_factor + add_offset`` as ``dtype``, ``units`` ``"uV"``.

    Parameters
    ----------
    x : xarray.DataArray
        Raw traces from :func:`to_xarray` / a catalog entry (CF ``scale_factor`` in ``attrs``, or the older
        ``gain_to_uV``). Arrays already in µV are returned as ``dtype``.
    dtype : str or numpy.dtype
        Floating dtype of the result (default ``float32``, like spikeinterface's ``return_in_uV``).

    Returns
    -------
    xarray.DataArray
        Same dims, coords and chunks; attrs without the scaling ones, ``units`` ``"uV"``.

    Raises
    ------
    InvalidArgument
        If the gain is not known (no ``scale_factor``/``gain_to_uV``) and the array is not already in µV.
    """
    dtype = np.dtype(dtype)
    if x.attrs.get("units") == "uV":
        return x.astype(dtype)
    gain = x.attrs.get("scale_factor", x.attrs.get("gain_to_uV"))
    if gain is None:
        raise InvalidArgument(f"{x.name or 'traces'}: the gain (µV per count) is not known: no scale_factor in attrs")
    offset = x.attrs.get("add_offset", x.attrs.get("offset_to_uV")) or 0.0
    out = x.astype(dtype) * dtype.type(gain)
    if offset:
        out = out + dtype.type(offset)
    keep = {k: v for k, v in x.attrs.items() if k not in ("scale_factor", "add_offset", "units", "long_name")}
    out.attrs = {**keep, "units": "uV", "long_name": UV_LONG_NAME}
    out.name = x.name
    return out


@xr.register_dataarray_accessor("npx")
class NpxAccessor:
    """``x.npx``: the package's conventions on any recording ``DataArray`` (``x.npx.to_uV()``)."""

    def __init__(self, obj):
        self._obj = obj

    def to_uV(self, dtype="float32"):
        """Lazy traces in µV (see :func:`intake_npx2020.arrays.to_uV`)."""
        return to_uV(self._obj, dtype)

    @property
    def gain_to_uV(self) -> float | None:
        """µV per count (CF ``scale_factor``), ``None`` if unknown."""
        return self._obj.attrs.get("scale_factor", self._obj.attrs.get("gain_to_uV"))
