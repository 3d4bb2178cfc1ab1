"""SpikeGLX ``.ap.bin`` + ``.meta``: channel count, rate, saved channels (sync included), geometry and gain.

Geometry and the IMRO table are read by probeinterface (``read_spikeglx``, ``parse_spikeglx_meta``); this module
checks the meta against the file (``fileSizeBytes``, ``nSavedChans``, ``snsSaveChanSubset``, ``snsApLfSy``) and
returns a :class:`~.foreign.RawRecording`. The file's ``fileSHA1`` is checked while it is hashed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InvalidInputFile
from ..extras import require
from .foreign import RawRecording, frames_in, number_as_given
from .probegeom import positions_of, probe_names

__all__ = ["read_spikeglx", "spikeglx_pair", "saved_channels", "gains_to_uV"]

# probe types whose ADC is 10-bit with a per-channel IMRO gain (NP1.0 family); SpikeGLX's imMaxInt is 512 there
_NP1_TYPES = {"0", "1015", "1016", "1022", "1030", "1031", "1032", "1100", "1120", "1121", "1122", "1123", "1200",
              "1300"}


def spikeglx_pair(path: str | Path) -> tuple[Path, Path]:
    """``(bin, meta)`` from either file's path."""
    path = Path(path)
    bin_path, meta_path = (path.with_suffix(".bin"), path) if path.suffix == ".meta" else \
        (path, path.with_suffix(".meta"))
    for p, role in ((bin_path, "data file"), (meta_path, "metadata file")):
        if not p.is_file():
            raise InvalidInputFile(f"SpikeGLX {role} {p}: no such file (a .bin needs its .meta beside it)")
    return bin_path, meta_path


def _field(meta: dict, key: str, meta_path: Path) -> str:
    if key not in meta or str(meta[key]).strip() == "":
        raise InvalidInputFile(f"{meta_path}: field {key} is missing")
    return str(meta[key]).strip()


def _int_field(meta: dict, key: str, meta_path: Path, sep: str | None = None) -> list[int]:
    text = _field(meta, key, meta_path)
    try:
        return [int(v) for v in (text.split(sep) if sep else [text])]
    except ValueError:
        raise InvalidInputFile(f"{meta_path}: {key} = {text!r} is not made of whole numbers") from None


def saved_channels(meta: dict, meta_path: Path) -> tuple[list[int], int | None, int]:
    """``(AP channel ids, sync column or None, nSavedChans)`` of an imec ``.ap`` file, checked against each other."""
    n_saved = _int_field(meta, "nSavedChans", meta_path)[0]
    counts = _int_field(meta, "snsApLfSy", meta_path, ",")
    if len(counts) != 3 or sum(counts) != n_saved:
        raise InvalidInputFile(f"{meta_path}: snsApLfSy = {meta.get('snsApLfSy')!r} does not add up to "
                               f"nSavedChans = {n_saved}")
    n_ap, n_lf, n_sy = counts
    text = _field(meta, "snsSaveChanSubset", meta_path)
    if text == "all":
        ids = list(range(n_ap))
    else:
        pi = require("probeinterface", "probe", "reading SpikeGLX metadata")
        try:
            saved = pi.get_saved_channel_indices_from_spikeglx_meta(meta_path).tolist()
        except ValueError:
            raise InvalidInputFile(f"{meta_path}: snsSaveChanSubset = {text!r} cannot be read") from None
        if len(saved) != n_saved:
            raise InvalidInputFile(f"{meta_path}: snsSaveChanSubset = {text!r} lists {len(saved)} channels but "
                                   f"nSavedChans = {n_saved}")
        ids = saved[:n_ap]
    sync = n_ap + n_lf if n_sy else None
    return ids, sync, n_saved


def gains_to_uV(meta: dict, probe, meta_path: Path) -> list[float]:
    """µV per bit of each AP channel: ``imAiRangeMax / imMaxInt / AP gain × 1e6`` (as SpikeGLX defines it)."""
    np1 = "imProbeOpt" in meta or meta.get("imDatPrb_type", "0") in _NP1_TYPES  # imProbeOpt: phase 3A
    max_int = float(meta.get("imMaxInt") or (512 if np1 else 2 ** (probe.annotations.get("adc_bit_depth", 14) - 1)))
    vmax = float(number_as_given(_field(meta, "imAiRangeMax", meta_path), f"{meta_path}: imAiRangeMax"))
    per_contact = probe.contact_annotations.get("ap_gains")
    gains = np.asarray(per_contact, float) if per_contact is not None and len(per_contact) else None
    if gains is None:
        g = probe.annotations.get("ap_gain")
        if g is None:
            raise InvalidInputFile(f"{meta_path}: no AP gain in imroTbl or for probe {probe.model_name}")
        gains = np.full(probe.get_contact_count(), float(g))
    if np.any(gains <= 0):
        raise InvalidInputFile(f"{meta_path}: imroTbl holds an AP gain of {gains.min()}")
    return (vmax / max_int / gains * 1e6).tolist()


def _probe(meta_path: Path, n_ap: int):
    pi = require("probeinterface", "probe", "reading SpikeGLX geometry")
    try:
        probe = pi.read_spikeglx(meta_path)
    except (AssertionError, KeyError, ValueError, IndexError) as err:
        raise InvalidInputFile(f"{meta_path}: probeinterface cannot read the probe (imDatPrb_pn, imroTbl): "
                               f"{type(err).__name__}: {err}") from None
    if probe.get_contact_count() != n_ap:
        raise InvalidInputFile(f"{meta_path}: the probe has {probe.get_contact_count()} saved contacts but "
                               f"snsApLfSy says {n_ap} AP channels")
    return probe


def read_spikeglx(path: str | Path) -> RawRecording:
    """Read a SpikeGLX imec ``.ap.bin`` and its ``.meta``; refuse a meta that disagrees with the file.

    Raises
    ------
    InvalidInputFile
        Naming the file and the field: ``fileSizeBytes`` not the file's size, a size that is not a whole
        number of ``nSavedChans`` frames, counts that disagree (``snsApLfSy``, ``snsSaveChanSubset``), a stream
        that is not imec (``typeThis``), a rate that is not a positive number (``imSampRate``).
    """
    bin_path, meta_path = spikeglx_pair(path)
    pi = require("probeinterface", "probe", "reading SpikeGLX metadata")
    meta = pi.parse_spikeglx_meta(meta_path)
    if meta.get("typeThis", "imec") != "imec":
        raise InvalidInputFile(f"{meta_path}: typeThis = {meta['typeThis']!r}; only imec probe streams are "
                               "recordings of a probe (add an NI-DAQ file with --channels/--rate/--geometry)")
    size = bin_path.stat().st_size
    stated = _int_field(meta, "fileSizeBytes", meta_path)[0]
    if stated != size:
        raise InvalidInputFile(f"{meta_path}: fileSizeBytes = {stated} but {bin_path} has {size} bytes "
                               "(truncated or not the file this meta describes)")
    ids, sync, n_saved = saved_channels(meta, meta_path)
    frames = frames_in(bin_path, n_saved, f"nSavedChans = {n_saved} in {meta_path}")
    rate = number_as_given(_field(meta, "imSampRate", meta_path), f"{meta_path}: imSampRate")
    probe = _probe(meta_path, len(ids))
    gains = gains_to_uV(meta, probe, meta_path)
    short, detail = probe_names(probe)
    sha = meta.get("fileSHA1", "").strip().lower() or None
    extra = {k: v for k, v in (("probe_serial", meta.get("imDatPrb_sn") or meta.get("imProbeSN")),
                               ("recorded_at", meta.get("fileCreateTime")),
                               ("acquisition", f"SpikeGLX {meta.get('appVersion', '')}".strip())) if v}
    return RawRecording(bin_path, n_saved, frames, rate, [int(i) for i in ids], list(range(len(ids))),
                        positions_of(probe), gains[0] if len(set(gains)) == 1 else gains, "spikeglx", short,
                        detail, sync, sha, f"{meta_path}: fileSHA1", (meta_path,), extra)
