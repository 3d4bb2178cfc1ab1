"""An injection as a JSON object plus content-addressed ``.npy`` arrays, and back.

The object is what a hybrid catalog entry holds (``args.injection``): small fields inline and human-readable
(units, parameters, the rounding rule), arrays by ``sha1://`` URI — the spikes as the 2020 ``npy1`` sorting
object, so the companion ``:ground_truth`` entry reads the very same bytes.
"""

from __future__ import annotations

import io

import numpy as np

from ..errors import InvalidObject
from ..formats.builders import npy1_object
from ..formats.npyio import npy_from_bytes
from .injection import Injection
from .params import ROUNDING_RULE
from .templates import UnitTemplates

__all__ = ["FORMAT", "save_injection", "load_injection", "put_array", "get_array"]

FORMAT = "npx_hybrid1"
_MODEL_FIELDS = ("x", "y", "z", "decay_um")


def put_array(store, array: np.ndarray, label: str) -> str:
    """Store ``array`` as ``.npy`` bytes (pinned); its ``sha1://<hash>/<label>`` URI."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return f"sha1://{store.put_bytes(buf.getvalue())}/{label}"


def get_array(store, uri: str, what: str) -> np.ndarray:
    """The ``.npy`` array at ``uri`` (verified by the store)."""
    return np.array(npy_from_bytes(store.read(uri), what))


def _samplerate(fs: float):
    return int(fs) if float(fs).is_integer() else float(fs)


def save_injection(inj: Injection, store) -> dict:
    """Put the injection's arrays in ``store``; the JSON object naming them (see the module docstring)."""
    t = inj.templates
    units = {"unit_id": inj.unit_ids.tolist(), "amplitude": t.amplitude.tolist(), "trough": t.trough.tolist()}
    if t.kind == "model":
        units.update({k: np.asarray(getattr(t, k), float).tolist() for k in _MODEL_FIELDS})
    obj = {"injection_format": FORMAT, "sampling_frequency": _samplerate(inj.sampling_frequency),
           "num_frames": int(inj.num_frames), "num_channels": int(inj.num_channels), "units": units,
           "templates": {"kind": t.kind, "waveforms_npy_uri": put_array(store, t.waveforms, "waveforms.npy")},
           "spikes": npy1_object(put_array(store, inj.times.astype(np.int64), "spike_times.npy"),
                                 put_array(store, inj.labels.astype(np.int64), "spike_labels.npy"),
                                 _samplerate(inj.sampling_frequency)),
           "scales_npy_uri": put_array(store, inj.scales.astype(np.float64), "spike_scales.npy"),
           "motion": None, "info": inj.info, "rounding": ROUNDING_RULE}
    if inj.motion is not None:
        obj["motion"] = {"timestamps": put_array(store, inj.motion[0], "motion.timestamps.npy"),
                         "positions": put_array(store, inj.motion[1], "motion.positions.npy")}
    return obj


def _field(obj: dict, key: str, name: str):
    try:
        return obj[key]
    except (KeyError, TypeError):
        raise InvalidObject(f"{name}: the injection object has no {key!r}") from None


def load_injection(obj: dict, store, positions: np.ndarray, name: str = "hybrid") -> Injection:
    """The :class:`Injection` of an object written by :func:`save_injection`, for channels at ``positions``."""
    from ..formats import read_sorting

    if _field(obj, "injection_format", name) != FORMAT:
        raise InvalidObject(f"{name}: injection_format {obj['injection_format']!r} is not {FORMAT!r}")
    units, tdesc = _field(obj, "units", name), _field(obj, "templates", name)
    wf = get_array(store, _field(tdesc, "waveforms_npy_uri", name), f"{name} waveforms")
    model = {k: np.asarray(units[k], float) for k in _MODEL_FIELDS} if tdesc.get("kind") == "model" else {}
    tmpl = UnitTemplates(_field(tdesc, "kind", name), wf, np.asarray(units["trough"], np.int64),
                         np.asarray(units["amplitude"], float), np.asarray(positions, float), **model)
    spikes = read_sorting(_field(obj, "spikes", name), store, f"{name} injected spikes")
    scales = get_array(store, _field(obj, "scales_npy_uri", name), f"{name} scales").astype(float)
    if scales.shape != spikes.sample_index.shape:
        raise InvalidObject(f"{name}: {scales.size} amplitude scales for {spikes.sample_index.size} spikes")
    motion = obj.get("motion")
    if motion:
        motion = (get_array(store, motion["timestamps"], f"{name} motion timestamps").astype(float),
                  get_array(store, motion["positions"], f"{name} motion positions").astype(float))
    return Injection(tmpl, np.asarray(units["unit_id"], np.int64), spikes.sample_index, spikes.unit_id, scales,
                     float(_field(obj, "sampling_frequency", name)), int(_field(obj, "num_frames", name)),
                     int(_field(obj, "num_channels", name)), motion or None, dict(obj.get("info") or {}))
