"""spikeinterface's peak pipeline and motion estimators on any recording (a hybrid included), extra ``[spikeinterface]``.

Peaks: band-pass, ``detect_peaks(method="locally_exclusive")``, ``localize_peaks(method="center_of_mass")``.
Motion: ``estimate_motion`` with ``dredge_ap`` (non-rigid, needs torch) when torch is installed, else
``decentralized``. Its sign agrees with the package's (units moving along +y give a positive displacement).
"""

from __future__ import annotations

import importlib.util

import numpy as np

from ..extras import require

__all__ = ["si_peaks", "si_estimate_motion", "default_si_motion_method"]


def _recording(rec):
    if hasattr(rec, "dims"):
        from .si_recording import to_si_recording

        return to_si_recording(rec)
    return rec


def _job_kwargs(n_jobs: int) -> dict:
    # threads, not processes: the chunks' filtering and detection release the GIL, and a dask-backed
    # recording is not copied into each worker process
    return {"n_jobs": int(n_jobs), "chunk_duration": "1s", "progress_bar": False,
            **({"pool_engine": "thread"} if int(n_jobs) > 1 else {})}


def si_peaks(recording, threshold: float = 5.0, n_jobs: int = 1, freq_min: float = 300.0, freq_max: float = 6000.0):
    """Detected and localised peaks as the package's peak table (``sample_index``, ``time``, ``channel_index``,
    ``amplitude``, ``x``, ``y``); ``attrs["si"]`` keeps spikeinterface's ``(peaks, locations)`` arrays.

    ``n_jobs > 1`` runs spikeinterface's chunks in that many threads (``pool_engine="thread"``)."""
    import pandas as pd

    pre = require("spikeinterface.preprocessing", why="spikeinterface's peak pipeline")
    core = require("spikeinterface.core", why="spikeinterface's peak pipeline")
    from spikeinterface.sortingcomponents.peak_detection import detect_peaks
    from spikeinterface.sortingcomponents.peak_localization import localize_peaks

    rec = pre.bandpass_filter(_recording(recording), freq_min=freq_min, freq_max=freq_max)
    noise = core.get_noise_levels(rec, return_in_uV=False, progress_bar=False,
                                  random_slices_kwargs={"num_chunks_per_segment": 10, "chunk_size": 10000, "seed": 0})
    peaks = detect_peaks(rec, method="locally_exclusive", method_kwargs={"detect_threshold": threshold,
                                                                        "noise_levels": noise},
                         job_kwargs=_job_kwargs(n_jobs))
    locs = localize_peaks(rec, peaks, method="center_of_mass", job_kwargs=_job_kwargs(n_jobs))
    fs = rec.sampling_frequency
    out = pd.DataFrame({"sample_index": peaks["sample_index"].astype(np.int64),
                        "time": peaks["sample_index"] / fs, "channel_index": peaks["channel_index"].astype(np.int64),
                        "amplitude": peaks["amplitude"].astype(np.float32), "x": locs["x"], "y": locs["y"]})
    out.attrs["si"] = (peaks, locs)
    out.attrs["recording"] = rec
    return out


def default_si_motion_method() -> str:
    """``"dredge_ap"`` when torch is installed (spikeinterface's DREDGE needs it), else ``"decentralized"``."""
    return "dredge_ap" if importlib.util.find_spec("torch") is not None else "decentralized"


def si_estimate_motion(peaks, method: str | None = None, rigid: bool = False, bin_s: float = 2.0, **kwargs):
    """spikeinterface's ``estimate_motion`` from :func:`si_peaks`' table; a ``Motion`` object.

    ``method`` default: :func:`default_si_motion_method`. Extra keyword arguments go to ``estimate_motion``.
    """
    require("spikeinterface.core", why="spikeinterface's motion estimation")
    from spikeinterface.sortingcomponents.motion import estimate_motion

    si_peaks_arr, locs = peaks.attrs["si"]
    return estimate_motion(peaks.attrs["recording"], si_peaks_arr, locs, method=method or default_si_motion_method(),
                           rigid=rigid, bin_s=bin_s, progress_bar=False, **kwargs)
