"""The ``zarr`` export: spikeinterface's zarr recording layout plus what xarray needs, in one zarr (format 2) group.

What spikeinterface 0.105's own writer (``recording.save(format="zarr")``) writes: ``traces_seg0`` (frames x
channels, Blosc-zstd with bit shuffle), ``channel_ids``, ``t_starts`` (the window's start time, so
``read_zarr(p).get_times()[0]`` is it), ``properties/`` (``gain_to_uV``, ``offset_to_uV`` when the gain is known,
``group``, ``inter_sample_shift`` where the probe's ADC order is known), and the root attributes
``sampling_frequency``, ``num_segments``, ``annotations``, ``probegroup`` (the real probe model) and
``zarr_class_info``.

What xarray needs: ``_ARRAY_DIMENSIONS`` on every array and coordinate variables: ``time`` (int64 sample
numbers with CF ``scale_factor`` 1/fs and ``add_offset`` the start time, so it decodes to seconds and stores in
a few bytes), ``channel`` (the ids), and ``x``, ``y``, ``shank``, ``contact_id``, … on ``channel``. The traces
carry CF packing attributes (``scale_factor`` µV per count, ``add_offset``, ``units`` "uV" — the unit of the
unpacked values, as CF defines it) where the gain is known, so ``xr.open_zarr(p)`` gives lazy µV and
``xr.open_zarr(p, mask_and_scale=False)`` the raw int16 counts. No array has a fill value (xarray would read
the default 0 as missing).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..extras import require

__all__ = ["write_zarr"]

#: the class spikeinterface's ``load`` instantiates for a recording zarr
SI_CLASS = "spikeinterface.core.zarrextractors.ZarrRecordingExtractor"


def _si_version() -> str:
    try:
        from importlib.metadata import version

        return version("spikeinterface")
    except Exception:  # noqa: BLE001 - not installed: spikeinterface writes "unknown" then too
        return "unknown"


class _Writer:
    """A zarr 2 or 3 group opened for writing in zarr format 2, with one ``create`` for both APIs."""

    def __init__(self, out: Path):
        self.zarr = require("zarr", why="zarr export")
        self.numcodecs = require("numcodecs", why="zarr export")
        self.v3 = int(self.zarr.__version__.split(".")[0]) >= 3
        self.root = self.zarr.open_group(str(out), mode="w", **({"zarr_format": 2} if self.v3 else {}))

    def create(self, name: str, values=None, shape=None, dtype=None, chunks=None, dims=(), compress=False,
               filters=None, attrs=None):
        shape = values.shape if values is not None else shape
        dtype = values.dtype if values is not None else np.dtype(dtype)
        kw = {"compressors" if self.v3 else "compressor":
              self.numcodecs.Blosc("zstd", 5, self.numcodecs.Blosc.BITSHUFFLE) if compress else None}
        if filters:
            kw["filters"] = filters
        make = self.root.create_array if self.v3 else self.root.create_dataset
        arr = make(name, shape=shape, dtype=dtype, chunks=chunks or shape, fill_value=None, **kw)
        if values is not None:
            arr[...] = values
        arr.attrs.update({"_ARRAY_DIMENSIONS": list(dims), **(attrs or {})})
        return arr


def _traces(w: _Writer, x, meta: dict, progress) -> None:
    from ..progress import progress_bar

    fs, n, nch = meta["sampling_frequency"], meta["num_frames"], meta["num_channels"]
    gain = x.attrs.get("scale_factor")
    cf = {"units": "count", "long_name": x.attrs.get("long_name", "extracellular voltage (raw ADC counts)")}
    if gain is not None:   # CF packing: units are those of the unpacked values
        cf = {"units": "uV", "long_name": "extracellular voltage", "scale_factor": float(gain),
              "add_offset": float(x.attrs.get("add_offset", 0.0))}
    coords = " ".join(["channel_ids", *[c for c in x.coords if x[c].dims == ("channel",) and c != "channel"]])
    traces = w.create("traces_seg0", shape=(n, nch), dtype="<i2", chunks=(int(fs), nch), dims=("time", "channel"),
                      compress=True, attrs={**cf, "sampling_frequency": fs, "start_time": meta["start_time"],
                                            "coordinates": coords})
    with progress_bar(x.nbytes, f"export {meta['id']}", progress) as bar:
        pos = 0
        for block in x.data.rechunk({0: int(fs)}).blocks:
            arr = block.compute()
            traces[pos:pos + len(arr)] = arr
            pos += len(arr)
            bar.update(arr.nbytes)


def _coords(w: _Writer, x, meta: dict) -> None:
    fs, n = meta["sampling_frequency"], meta["num_frames"]
    w.create("time", np.arange(n, dtype="<i8"), chunks=(max(1, min(n, 64 * int(fs))),), dims=("time",),
             compress=True, filters=[w.numcodecs.Delta(dtype="<i8")],
             attrs={"units": "s", "long_name": "time", "scale_factor": 1.0 / fs, "add_offset": meta["start_time"]})
    ids = x["channel"].values.astype(np.int64)
    w.create("channel", ids, dims=("channel",), attrs={"long_name": "channel id"})
    w.create("channel_ids", ids, dims=("channel",))
    for name in (c for c in x.coords if x[c].dims == ("channel",) and c != "channel"):
        values = np.asarray(x[name].values)
        values = values.astype(f"<U{max(1, max(map(len, values)))}") if values.dtype.kind in "UO" else values
        w.create(name, values, dims=("channel",), attrs=dict(x[name].attrs))


def _spikeinterface(w: _Writer, x, meta: dict) -> None:
    from ..compat.probe import probegroup_dict

    nch = meta["num_channels"]
    w.create("t_starts", np.array([meta["start_time"]], dtype="<f8"), dims=("segment",))
    props = {"group": np.asarray(x["shank"].values if "shank" in x.coords else np.zeros(nch), dtype=np.int64)}
    if x.attrs.get("scale_factor") is not None:
        props["gain_to_uV"] = np.full(nch, float(x.attrs["scale_factor"]), dtype=np.float32)
        props["offset_to_uV"] = np.full(nch, float(x.attrs.get("add_offset", 0.0)), dtype=np.float32)
    if "inter_sample_shift" in x.coords:
        props["inter_sample_shift"] = np.asarray(x["inter_sample_shift"].values, dtype=np.float64)
    w.root.create_group("properties")
    for name, values in props.items():
        w.create(f"properties/{name}", values, dims=("channel",))
    w.root.attrs.update({
        "sampling_frequency": meta["sampling_frequency"], "num_segments": 1, "provenance": None,
        "annotations": {"is_filtered": False},
        "probegroup": probegroup_dict(x["x"].values, x["y"].values, x.attrs.get("probe")),
        "zarr_class_info": {"class": SI_CLASS, "module": "spikeinterface", "version": _si_version()},
    })


def write_zarr(x, out: Path, meta: dict, progress=None) -> None:
    """Write the window ``x`` (a recording DataArray) into the zarr group at ``out`` and consolidate it."""
    w = _Writer(out)
    _traces(w, x, meta, progress)
    _coords(w, x, meta)
    _spikeinterface(w, x, meta)
    w.root.attrs["npx2020"] = meta
    w.zarr.consolidate_metadata(str(out))
