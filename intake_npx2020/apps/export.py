"""Export a recording (or a window of it) for MATLAB (``dat``) or as a compressed zarr store (``zarr``).

Both stream chunk by chunk and write into a hidden ``.<name>.partial-*`` directory that is renamed into
place only when complete, so an interrupted export never looks finished.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

from ..errors import InvalidArgument
from ..extras import require

__all__ = ["export", "resolve_recording"]

_MATLAB = """%% Load {name} exported by intake_npx2020 (int16, {nch} channels interleaved per frame)
info = jsondecode(fileread('recording.json'));
fid = fopen('traces.dat', 'r');
traces = fread(fid, [info.num_channels, Inf], 'int16=>int16');   %% channels x frames
fclose(fid);
chans = readmatrix('channels.csv');   %% columns: channel_id, x_um, y_um (full precision)
t = (0:size(traces, 2) - 1) / info.sampling_frequency + info.start_time;
"""


def resolve_recording(entry_or_id, catalog=None):
    """A :class:`~intake_npx2020.drivers.RecordingSource` from itself, an ID/label, or a catalog entry."""
    from ..sources.drivers import RecordingSource

    if isinstance(entry_or_id, RecordingSource):
        return entry_or_id
    if isinstance(entry_or_id, str):
        from ..sources.catalog import find_entry, open_catalog

        cat = open_catalog() if catalog is None else catalog
        src = cat[find_entry(cat, entry_or_id, "recording")]
        if not isinstance(src, RecordingSource):
            raise InvalidArgument(f"{entry_or_id!r} is not a recording entry")
        return src
    raise InvalidArgument(f"expected a recording entry or its ID, not {type(entry_or_id).__name__}")


def _window(x, start: float | None, end: float | None, channels):
    fs = x.attrs["sampling_frequency"]
    n = x.sizes["time"]
    f0 = 0 if start is None else int(round(start * fs))
    f1 = n if end is None else int(round(end * fs))
    if not 0 <= f0 < f1 <= n:
        raise InvalidArgument(f"window [{start}, {end}) s is outside the recording (0 to {n / fs:.3f} s)")
    x = x.isel(time=slice(f0, f1))
    if channels is not None:
        ids = list(x["channel"].values)
        missing = [c for c in channels if c not in ids]
        if missing:
            raise InvalidArgument(f"channel ids {missing} are not in the recording (ids {ids[0]}…{ids[-1]})")
        x = x.isel(channel=[ids.index(c) for c in channels])
    return x, f0


def export(entry_or_id, path: str | os.PathLike, format: str = "dat", start: float | None = None,
           end: float | None = None, channels: list[int] | None = None, catalog=None, overwrite: bool = False,
           progress: bool | None = None) -> dict:
    """Write a recording (window) to ``path``.

    Parameters
    ----------
    entry_or_id : RecordingSource or str
        A catalog entry, or an ID/label in ``catalog`` (default: the 2020 collection).
    path : path-like
        Output directory (must not exist unless ``overwrite``).
    format : {"dat", "zarr"}
        ``dat``: ``traces.dat`` (int16, frames × channels interleaved) with ``channels.csv`` (id, x, y),
        ``recording.json`` (sampling rate, shape, provenance) and ``load_recording.m`` for MATLAB.
        ``zarr``: one store readable by ``xarray.open_zarr`` and by spikeinterface's ``read_zarr``
        (``traces_seg0``, ``channel_ids``, probe), Blosc-zstd with bit shuffle, 1 s chunks.
    start, end : float, optional
        Window in seconds.
    channels : list of int, optional
        Channel ids to keep (default: all).

    Returns
    -------
    dict
        ``path``, ``bytes`` (uncompressed), ``stored_bytes``, ``compression_ratio``.
    """
    if format not in ("dat", "zarr"):
        raise InvalidArgument(f"format must be 'dat' or 'zarr', not {format!r}")
    src = resolve_recording(entry_or_id, catalog)
    x, f0 = _window(src.to_dask(), start, end, channels)
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; choose another path or pass overwrite=True (--overwrite)")
    tmp = path.parent / f".{path.name}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        meta = {"id": src.label, "source_uri": src.spec.raw, "object_sha1": src.spec.object_sha1,
                "sampling_frequency": float(x.attrs["sampling_frequency"]), "num_frames": int(x.sizes["time"]),
                "num_channels": int(x.sizes["channel"]), "start_frame": f0,
                "start_time": f0 / float(x.attrs["sampling_frequency"]), "dtype": "int16",
                "gain_to_uV": x.attrs.get("gain_to_uV")}
        (_write_dat if format == "dat" else _write_zarr)(x, tmp, meta, progress)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    stored = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    raw = meta["num_frames"] * meta["num_channels"] * 2
    return {"path": str(path), "bytes": raw, "stored_bytes": stored, "compression_ratio": raw / stored}


def _write_dat(x, out: Path, meta: dict, progress) -> None:
    from ..progress import progress_bar

    meta["layout"] = "traces.dat: little-endian int16, frames x channels interleaved (C order), no header"
    with open(out / "traces.dat", "wb") as f, progress_bar(x.nbytes, f"export {meta['id']}", progress) as bar:
        for block in x.data.blocks:
            arr = np.ascontiguousarray(block.compute(), dtype="<i2")
            f.write(memoryview(arr).cast("B"))
            bar.update(arr.nbytes)
        f.flush()
        os.fsync(f.fileno())
    rows = [f"{int(c)},{float(a)!r},{float(b)!r}" for c, a, b in zip(x["channel"].values, x["x"].values, x["y"].values)]
    (out / "channels.csv").write_text("channel_id,x_um,y_um\n" + "\n".join(rows) + "\n")
    (out / "recording.json").write_text(json.dumps(meta, indent=2))
    (out / "load_recording.m").write_text(_MATLAB.format(name=meta["id"], nch=meta["num_channels"]))


def _write_zarr(x, out: Path, meta: dict, progress) -> None:
    """A zarr (format 2) group in spikeinterface's layout, with xarray's ``_ARRAY_DIMENSIONS`` on each array."""
    numcodecs = require("numcodecs", why="zarr export")
    zarr = require("zarr", why="zarr export")

    from ..compat.probe import probegroup_dict
    from ..progress import progress_bar

    v3 = int(zarr.__version__.split(".")[0]) >= 3
    root = zarr.open_group(str(out), mode="w", **({"zarr_format": 2} if v3 else {}))
    create = root.create_array if v3 else root.create_dataset
    comp = {"compressors" if v3 else "compressor": numcodecs.Blosc("zstd", 5, numcodecs.Blosc.BITSHUFFLE)}
    fs, n, nch = meta["sampling_frequency"], meta["num_frames"], meta["num_channels"]
    # fill_value None: otherwise xarray reads the default fill (0) as a missing value and decodes to float
    traces = create("traces_seg0", shape=(n, nch), chunks=(int(fs), nch), dtype="<i2", fill_value=None, **comp)
    with progress_bar(x.nbytes, f"export {meta['id']}", progress) as bar:
        pos = 0
        for block in x.data.rechunk({0: int(fs)}).blocks:
            arr = block.compute()
            traces[pos:pos + len(arr)] = arr
            pos += len(arr)
            bar.update(arr.nbytes)
    columns = {"channel_ids": x["channel"].values.astype(np.int64), "x": x["x"].values, "y": x["y"].values}
    for name, values in columns.items():
        arr = create(name, shape=values.shape, dtype=values.dtype, fill_value=None,
                     **({} if v3 else {"chunks": values.shape}))
        arr[:] = values
        arr.attrs["_ARRAY_DIMENSIONS"] = ["channel"]
    traces.attrs.update({"_ARRAY_DIMENSIONS": ["time", "channel"], "sampling_frequency": fs,
                         "start_time": meta["start_time"], "units": "ADC counts (raw int16)",
                         "coordinates": "x y"})
    root.attrs.update({"sampling_frequency": fs, "num_segments": 1, "annotations": {"is_filtered": False},
                       "npx2020": meta, "probegroup": probegroup_dict(columns["x"], columns["y"])})
    zarr.consolidate_metadata(str(out))
