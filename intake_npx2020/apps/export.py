"""Export a recording (or a window of it) for MATLAB/Octave (``dat``), as a zarr store (``zarr``) or NWB (``nwb``).

All write into a hidden ``.<name>.partial-*`` directory (``dat`` and ``zarr`` block by block) that is renamed
into place — or whose one NWB file is — only when complete, so an interrupted export never looks finished.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

from ..errors import InvalidArgument
from .export_nwb import write_nwb
from .export_zarr import write_zarr

__all__ = ["FORMATS", "export", "resolve_recording"]

FORMATS = ("dat", "zarr", "nwb")

# Runs in MATLAB (R2016b+: jsondecode) and GNU Octave (7+): only functions both have (no readmatrix/readtable).
_MATLAB = """% Load {name} exported by intake_npx2020 (int16, {nch} channels interleaved per frame).
% Runs in MATLAB and GNU Octave; reads the files next to this script wherever it is run from.
% Gives: info (recording.json), traces (int16, channels x frames), chans (channel_id, x_um, y_um),
% t (s, 1 x frames) and, when the gain is known, traces_uV (double, microvolts).
here = fileparts(mfilename('fullpath'));
info = jsondecode(fileread(fullfile(here, 'recording.json')));
fid = fopen(fullfile(here, 'traces.dat'), 'r', 'ieee-le');
traces = fread(fid, [info.num_channels, Inf], 'int16=>int16');   % channels x frames
fclose(fid);
fid = fopen(fullfile(here, 'channels.csv'), 'r');
cols = textscan(fid, '%f %f %f', 'Delimiter', ',', 'HeaderLines', 1);   % full precision
fclose(fid);
chans = [cols{{1}}, cols{{2}}, cols{{3}}];   % columns: channel_id, x_um, y_um
t = (0:size(traces, 2) - 1) / info.sampling_frequency + info.start_time;
if isfield(info, 'gain_to_uV') && ~isempty(info.gain_to_uV)
  traces_uV = double(traces) * info.gain_to_uV;
end
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
    format : {"dat", "zarr", "nwb"}
        ``dat``: ``traces.dat`` (int16, frames × channels interleaved) with ``channels.csv`` (id, x, y),
        ``recording.json`` (sampling rate, shape, provenance) and ``load_recording.m`` for MATLAB.
        ``zarr``: one store in spikeinterface's layout (``traces_seg0``, ``channel_ids``, ``t_starts``, gains,
        probe) with xarray coordinates (``time``, ``channel``, ``x``, ``y``, …) and CF scaling; Blosc-zstd with
        bit shuffle, 1 s chunks (see :mod:`intake_npx2020.apps.export_zarr`).
        ``nwb``: one NWB file written by neuroconv from the spikeinterface bridge (extra ``[nwb]``; see
        :mod:`intake_npx2020.apps.export_nwb`); ``path`` is the file.
    start, end : float, optional
        Window in seconds.
    channels : list of int, optional
        Channel ids to keep (default: all).

    Returns
    -------
    dict
        ``path``, ``bytes`` (uncompressed), ``stored_bytes``, ``compression_ratio``.
    """
    if format not in FORMATS:
        raise InvalidArgument(f"format must be one of {', '.join(map(repr, FORMATS))}, not {format!r}")
    src = resolve_recording(entry_or_id, catalog)
    x, f0 = _window(src.to_dask(), start, end, channels)
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; choose another path or pass overwrite=True (--overwrite)")
    tmp = path.parent / f".{path.name}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        meta = _meta(src, x, f0)
        if format == "nwb":
            _replace(write_nwb(src, x, tmp, meta, progress), path)   # one file
        else:
            (_write_dat if format == "dat" else write_zarr)(x, tmp, meta, progress)
            _replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    stored = path.stat().st_size if path.is_file() else sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    raw = meta["num_frames"] * meta["num_channels"] * 2
    return {"path": str(path), "bytes": raw, "stored_bytes": stored, "compression_ratio": raw / stored}


def _meta(src, x, f0: int) -> dict:
    fs = float(x.attrs["sampling_frequency"])
    return {"id": src.label, "source_uri": src.spec.raw, "object_sha1": src.spec.object_sha1,
            "sampling_frequency": fs, "num_frames": int(x.sizes["time"]), "num_channels": int(x.sizes["channel"]),
            "start_frame": f0, "start_time": f0 / fs, "dtype": "int16", "gain_to_uV": x.attrs.get("gain_to_uV")}


def _replace(new: Path, path: Path) -> None:
    """Put the finished ``new`` (file or directory) at ``path``, replacing what is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    os.replace(new, path)


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
