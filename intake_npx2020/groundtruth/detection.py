"""How many injected spikes a peak detector found: a detected peak within the time tolerance and near the unit.

Peaks carry no unit, so this is not a sorting comparison (see :func:`~.evaluate.evaluate` for those): an
injected spike counts as detected when a peak lies within ``tolerance_ms`` of its trough and within
``radius_um`` (along y) of the unit's position at that time (its drift included).
"""

from __future__ import annotations

import numpy as np

__all__ = ["unit_positions", "detection_recall"]


def unit_positions(injection) -> np.ndarray:
    """(units, 2) x, y (µm) of each injected unit at zero displacement: the model's position, or a dense
    template's peak channel."""
    t = injection.templates
    if t.kind == "model":
        return np.stack([t.x, t.y], axis=1)
    peak = np.argmax(np.abs(t.waveforms).max(axis=1), axis=1)
    return t.positions[peak]


def detection_recall(peaks, injection, tolerance_ms: float = 0.4, radius_um: float = 50.0):
    """Per injected unit: its spikes, how many a peak detector found, and the recall.

    Parameters
    ----------
    peaks : pandas.DataFrame
        ``sample_index`` and ``y`` (e.g. :func:`~intake_npx2020.analysis.detect_spikes` or :func:`si_peaks`).
    injection : Injection
    tolerance_ms, radius_um : float

    Returns
    -------
    pandas.DataFrame
        Index ``unit_id``: ``num_spikes``, ``detected``, ``recall``, ``y_um``; ``attrs["recall"]`` pools them.
    """
    import pandas as pd

    tol = int(round(tolerance_ms * injection.sampling_frequency / 1000))
    order = np.argsort(peaks["sample_index"].to_numpy(np.int64), kind="stable")
    t_det = peaks["sample_index"].to_numpy(np.int64)[order]
    y_det = peaks["y"].to_numpy(float)[order]
    ypos = unit_positions(injection)[:, 1]
    index = {int(u): k for k, u in enumerate(injection.unit_ids)}
    k_of = np.array([index[int(u)] for u in injection.labels], dtype=np.int64)
    y_true = ypos[k_of] + injection.displacement(injection.times / injection.sampling_frequency)
    lo = np.searchsorted(t_det, injection.times - tol, side="left")
    hi = np.searchsorted(t_det, injection.times + tol, side="right")
    found = np.array([bool(np.any(np.abs(y_det[a:b] - y) <= radius_um)) for a, b, y in zip(lo, hi, y_true)],
                     dtype=bool)
    n = np.bincount(k_of, minlength=len(ypos))
    d = np.bincount(k_of, weights=found, minlength=len(ypos)).astype(np.int64)
    out = pd.DataFrame({"num_spikes": n, "detected": d, "recall": np.where(n > 0, d / np.maximum(n, 1), np.nan),
                        "y_um": ypos}, index=pd.Index(injection.unit_ids, name="unit_id"))
    out.attrs["recall"] = float(d.sum() / n.sum()) if n.sum() else float("nan")
    return out
