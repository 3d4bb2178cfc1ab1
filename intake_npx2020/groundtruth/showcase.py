"""The demo's ground-truth step: a hybrid of the demo recording, detectors scored on it, motion estimators
benchmarked against the imposed drift; numbers logged, ``groundtruth.png`` drawn, a summary returned."""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import numpy as np

from .detection import detection_recall
from .motion import motion_benchmark
from .params import HybridParams
from .writer import write_hybrid

__all__ = ["ground_truth_step"]

DEMO_PARAMS = HybridParams(num_units=8, rates=(5.0, 15.0), amplitudes_uv=(60.0, 150.0), seed=17)


def _detectors(h, inj, duration: float, scheduler: str, log) -> dict:
    """Peaks, detection recall and a motion estimate of each detector/estimator pair that is installed."""
    from .. import analysis

    out = {}
    t0 = time.perf_counter()
    peaks = analysis.detect_spikes(h, threshold=5.0, scheduler=scheduler)
    motion = analysis.estimate_motion(peaks, bin_s=2.0, time_range=(0.0, duration))
    out["package"] = (peaks, detection_recall(peaks, inj), motion, time.perf_counter() - t0)
    if importlib.util.find_spec("spikeinterface") is not None:
        from .si_pipeline import default_si_motion_method, si_estimate_motion, si_peaks

        t0 = time.perf_counter()
        peaks = si_peaks(h, n_jobs=os.cpu_count() or 1)
        method = default_si_motion_method()
        motion = si_estimate_motion(peaks, method, rigid=method != "dredge_ap", bin_s=2.0)
        out[f"spikeinterface ({method})"] = (peaks, detection_recall(peaks, inj), motion, time.perf_counter() - t0)
    else:
        log("      spikeinterface is not installed: only the package's detector and motion estimate are scored")
    return out


def ground_truth_step(out: Path, name: str, truth, scheduler: str = "threads", log=print) -> dict:
    """Write ``<name>-hybrid`` into the demo's catalog, score the detectors and motion estimators on it.

    Parameters
    ----------
    out : Path
        The demo's output directory (``catalog.yaml``, ``store/``); ``groundtruth.png`` is written there.
    name : str
        The demo recording's entry ID (its ``:drift`` entry is what the injected units move with).
    truth : SynthResult
        The demo recording's ground truth (its imposed drift is the motion benchmark's answer).
    scheduler : str
        Dask scheduler for the package's detector (the demo's cluster is closed by then).

    Returns
    -------
    dict
        Numbers for the demo's ``summary.json`` (``hybrid_*``, ``motion_rms_*``, ``groundtruth_figure``).
    """
    from ..sources.catalog import open_catalog

    t0 = time.perf_counter()
    hid = f"{name}-hybrid"
    log(f"[gt] hybrid: {DEMO_PARAMS.num_units} synthetic units injected into {name}, moving with its drift "
        f"→ {hid}, {hid}:ground_truth, {hid}:drift")
    write_hybrid(out / "catalog.yaml", name, hid, DEMO_PARAMS, motion="parent", overwrite=True)
    src = open_catalog(out / "catalog.yaml")[hid]
    inj = src.injection
    results = _detectors(src.to_dask(), inj, truth.duration, scheduler, log)
    summary = {"hybrid_id": hid, "hybrid_units": int(len(inj.unit_ids)), "hybrid_spikes": int(len(inj.times))}
    benches = {}
    for label, (peaks, recall, motion, secs) in results.items():
        key = label.split()[0]
        benches[label] = motion_benchmark(motion, truth, align="mean", time_range=(0.0, truth.duration))
        summary[f"hybrid_recall_{key}"] = recall.attrs["recall"]
        summary[f"motion_rms_{key}_um"] = benches[label].summary["rms_um"]
        log(f"      {label}: {len(peaks)} peaks, recall of injected spikes {100 * recall.attrs['recall']:.1f} % "
            f"(worst unit {100 * np.nanmin(recall['recall']):.0f} %); motion RMS error "
            f"{benches[label].summary['rms_um']:.2f} µm against the imposed drift ({secs:.1f} s)")
    _figure(out / "groundtruth.png", results, benches)
    summary.update({"groundtruth_figure": str(out / "groundtruth.png"),
                    "groundtruth_s": round(time.perf_counter() - t0, 2)})
    return summary


def _figure(path: Path, results: dict, benches: dict) -> None:
    """Detection recall per injected unit for each detector; the motion benchmark of each estimator."""
    from .figures import _pyplot, motion_axes

    plt = _pyplot()
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(16, 4.5), gridspec_kw={"width_ratios": [1.2, 2, 1]})
    width = 0.8 / max(1, len(results))
    for k, (label, (_, recall, _, _)) in enumerate(results.items()):
        a.bar(np.arange(len(recall)) + k * width, recall["recall"].to_numpy(), width=width,
              label=f"{label.split()[0]} ({100 * recall.attrs['recall']:.1f} %)")
        a.set_xticks(np.arange(len(recall)) + 0.4 - width / 2, [str(u) for u in recall.index])
    a.set(ylim=(0, 1.05), xlabel="injected unit", ylabel="recall", title="hybrid: injected spikes detected")
    a.legend(loc="lower left", fontsize=8)
    for k, (label, bench) in enumerate(benches.items()):
        motion_axes(bench, b, c, label, truth=k == 0)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
