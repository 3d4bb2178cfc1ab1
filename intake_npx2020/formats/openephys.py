"""Open Ephys binary format: ``continuous.dat`` described by the recording's ``structure.oebin``.

Layout (Open Ephys GUI ≥ 0.5 binary): ``Record Node N/settings[_E].xml``, ``…/experimentE/recordingR/
structure.oebin`` and ``…/recordingR/continuous/<stream>/continuous.dat`` (int16, interleaved). Channel count,
rate and ``bit_volts`` come from the oebin; Neuropixels geometry from ``settings.xml`` through probeinterface
(``read_openephys_neuropixels``), or from a geometry file given by hand.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ..errors import InvalidInputFile
from ..extras import require
from .foreign import RawRecording, frames_in, number_as_given
from .probegeom import load_geometry, positions_of, probe_names

__all__ = ["read_openephys", "find_stream", "settings_file"]


def _load_oebin(oebin: Path) -> dict:
    try:
        info = json.loads(oebin.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidInputFile(f"{oebin}: not a JSON structure file: {err}") from None
    if not isinstance(info, dict) or not isinstance(info.get("continuous"), list) or not info["continuous"]:
        raise InvalidInputFile(f"{oebin}: field continuous is missing or empty (no continuous streams)")
    return info


def find_stream(path: str | Path, stream: str | None = None) -> tuple[Path, Path, dict]:
    """``(continuous.dat, structure.oebin, the stream's oebin entry)`` from the ``.dat``, its folder or the recording.

    Raises
    ------
    InvalidInputFile
        No ``structure.oebin`` where the layout puts it, or no (single) stream matching ``stream``.
    """
    path = Path(path)
    if path.is_file():
        path = path.parent
    if (path / "structure.oebin").is_file():
        rec_dir, folder = path, None
    elif (path / "continuous.dat").is_file() and (path.parent.parent / "structure.oebin").is_file():
        rec_dir, folder = path.parent.parent, path.name
    else:
        raise InvalidInputFile(f"{path}: no structure.oebin here or two levels above continuous.dat; give the "
                               "recording folder of an Open Ephys binary recording, or its continuous.dat")
    oebin = rec_dir / "structure.oebin"
    streams = _load_oebin(oebin)["continuous"]
    names = [str(s.get("folder_name", "")).strip("/") for s in streams]
    want = folder or stream
    hits = [i for i, n in enumerate(names) if want is None or n == want or (folder is None and want in n)]
    if not hits:
        raise InvalidInputFile(f"{oebin}: no continuous stream {want!r} (folder_name); streams: {names}")
    if len(hits) > 1:
        raise InvalidInputFile(f"{oebin}: continuous streams {[names[i] for i in hits]}; choose one with --stream")
    entry = streams[hits[0]]
    dat = rec_dir / "continuous" / names[hits[0]] / "continuous.dat"
    if not dat.is_file():
        raise InvalidInputFile(f"{oebin}: stream {names[hits[0]]!r} has no file {dat}")
    return dat, oebin, entry


def settings_file(oebin: Path) -> Path:
    """The ``settings.xml`` of the experiment holding a recording (``settings_E.xml`` for experiment E > 1)."""
    experiment = oebin.parent.parent
    m = re.fullmatch(r"experiment(\d+)", experiment.name)
    n = int(m.group(1)) if m else 1
    return experiment.parent / ("settings.xml" if n == 1 else f"settings_{n}.xml")


def _gain(entry: dict, n: int, oebin: Path) -> float | list[float] | None:
    chans = entry.get("channels") or []
    if len(chans) < n:
        return None
    volts = []
    for i, c in enumerate(chans[:n]):
        if str(c.get("units", "uV")).lower() not in ("uv", "µv", "μv"):
            return None
        volts.append(float(number_as_given(c.get("bit_volts"), f"{oebin}: continuous channels[{i}].bit_volts")))
    return volts[0] if len(set(volts)) == 1 else volts


def _settings_geometry(settings: Path, stream_name: str, num_channels: int, oebin: Path):
    pi = require("probeinterface", "probe", "reading Open Ephys geometry")
    if not settings.is_file() or not pi.has_neuropixels_probes(settings):
        raise InvalidInputFile(f"{settings}: no Neuropixels probe in settings (NP_PROBE) to give the geometry of "
                               f"stream {stream_name!r}; pass --geometry FILE")
    try:
        probe = pi.read_openephys_neuropixels(settings, stream_name=stream_name)
    except Exception as err:  # probeinterface raises bare Exception (and assertions) on settings it cannot read
        raise InvalidInputFile(f"{settings}: probeinterface cannot read the probe of stream {stream_name!r} "
                               f"(NP_PROBE): {type(err).__name__}: {err}") from None
    n = probe.get_contact_count()
    if n > num_channels:
        raise InvalidInputFile(f"{settings}: the probe has {n} contacts but {oebin} says num_channels = "
                               f"{num_channels}")
    cols = [int(c) for c in probe.device_channel_indices]
    short, detail = probe_names(probe)
    return cols, cols, positions_of(probe), short, detail, probe.annotations.get("serial_number")


def _check_sample_numbers(dat: Path, frames: int) -> None:
    for name in ("sample_numbers.npy", "timestamps.npy"):
        f = dat.parent / name
        if f.is_file():
            try:
                n = np.load(f, mmap_mode="r", allow_pickle=False).shape[0]
            except (ValueError, OSError, IndexError):
                raise InvalidInputFile(f"{f}: not a readable .npy array") from None
            if n != frames:
                raise InvalidInputFile(f"{f}: {n} entries but {dat} has {frames} frames")
            return


def read_openephys(path: str | Path, stream: str | None = None, geometry: str | Path | None = None) -> RawRecording:
    """Read an Open Ephys binary stream; geometry from ``settings.xml`` (Neuropixels) unless ``geometry`` is given.

    Raises
    ------
    InvalidInputFile
        Naming the file and the field: ``num_channels`` that does not divide the size of ``continuous.dat``,
        ``sample_rate`` not a positive number, ``sample_numbers.npy`` of another length, no probe geometry.
    """
    dat, oebin, entry = find_stream(path, stream)
    name = str(entry.get("folder_name", "")).strip("/")
    n = entry.get("num_channels")
    if not isinstance(n, int) or isinstance(n, bool):
        raise InvalidInputFile(f"{oebin}: stream {name!r} field num_channels = {n!r} is not a whole number")
    frames = frames_in(dat, n, f"num_channels = {n} in {oebin}")
    _check_sample_numbers(dat, frames)
    rate = number_as_given(entry.get("sample_rate"), f"{oebin}: stream {name!r} sample_rate")
    settings, serial = settings_file(oebin), None
    if geometry is not None:
        ids, cols, pos, short, detail = load_geometry(geometry, n)
        side = (oebin, Path(geometry))
    else:
        ids, cols, pos, short, detail, serial = _settings_geometry(settings, name, n, oebin)
        side = (oebin, settings)
    gain = _gain(entry, n, oebin)
    if isinstance(gain, list):
        gain = [gain[c] for c in cols]
        gain = gain[0] if len(set(gain)) == 1 else gain
    extra = {k: v for k, v in (("stream", name), ("probe_serial", serial),
                               ("acquisition", f"Open Ephys {_load_oebin(oebin).get('GUI version', '')}".strip()))
             if v}
    return RawRecording(dat, n, frames, rate, ids, cols, pos, gain, "openephys", short, detail,
                        side_files=side, extra=extra)
