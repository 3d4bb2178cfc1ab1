"""Issue "groundtruth": the cost of reading a hybrid recording (issue 17).

(a) full pass — per-channel sum and sum of squares in float64, dask threads, as ``bench_catalog`` (a) — over a
    hybrid (a generated 384-channel recording read through ``RecordingSource(...).to_dask()`` plus 10 injected
    units of the synthetic model at 2–10 Hz moving with a 50 µm triangle drift), vs the same pass over the
    parent alone; goal ratio ≥ 0.7. Both for 2 min and 4 min of data (``--quick``: 20 s and 40 s), with the
    peak resident memory of each pass (sampled every 20 ms) to show it does not grow with duration.
(b) the same at a heavier load (40 units at 10–30 Hz), informational.

Run alone: ``python -m benchmarks.bench_groundtruth [--quick] [--profile]``.
"""

from __future__ import annotations

import threading

import numpy as np

from . import FS, RAW_C, Figure, Session, interleaved, judge, log, med, run_parts, warm

ISSUE = "groundtruth"
N_CH = 384


def _sums(x):
    import dask

    xf = x.data.astype(np.float32)
    return dask.compute(xf.sum(axis=0, dtype=np.float64), (xf * xf).sum(axis=0, dtype=np.float64),
                        scheduler="threads")


def peak_rss_mb(fn) -> float:
    """Peak resident memory (MB) above the level before ``fn()`` runs, sampled every 20 ms."""
    import psutil

    proc = psutil.Process()
    base = proc.memory_info().rss
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            done.wait(0.02)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        fn()
    finally:
        done.set()
        t.join()
    return (peak[0] - base) / 1e6


def _pair(s: Session, seconds: int, units: int, rates: tuple[float, float]):
    from intake_npx2020.groundtruth import HybridParams, draw_injection, hybrid_dataarray
    from intake_npx2020.sources.drivers import RecordingSource
    from intake_npx2020.synth import drift_protocol

    obj, path = s.bin1_object(seconds, N_CH)
    warm(path)
    so = s.storage_options()

    def parent():
        return RecordingSource(recording=obj, chunk_seconds=1.0, storage_options=so).to_dask()

    knots = drift_protocol("triangle", float(seconds), 50.0)
    inj = draw_injection(parent(), HybridParams(num_units=units, rates=rates, seed=1), motion=knots)
    log(f"{seconds} s: {len(inj.times)} injected spikes of {units} units")
    return parent, (lambda: hybrid_dataarray(parent(), inj)), inj


def _pass(s: Session, seconds: int, units: int = 10, rates=(2.0, 10.0), goal: bool = True) -> list[Figure]:
    parent, hybrid, inj = _pair(s, seconds, units, rates)
    h1, p1 = _sums(hybrid()), _sums(parent())
    assert not np.allclose(h1[1], p1[1]), "the hybrid's pass saw no injected spike"
    t = interleaved({"hybrid": lambda: _sums(hybrid()), "parent": lambda: _sums(parent())}, s.repeats, warmup=0)
    mem_h, mem_p = peak_rss_mb(lambda: _sums(hybrid())), peak_rss_mb(lambda: _sums(parent()))
    nbytes = seconds * FS * RAW_C * 2
    note = (f"{seconds} s × 384 ch, {nbytes / 1e9:.2f} GB, {units} units, {len(inj.times)} spikes; peak RSS "
            f"+{mem_h:.0f} MB hybrid / +{mem_p:.0f} MB parent")
    fig = Figure(ISSUE, f"full pass sum+sumsq, hybrid of {seconds} s", med(t["hybrid"]), "the parent's own pass",
                 med(t["parent"]), nbytes=nbytes, note=note, ours_all=t["hybrid"], base_all=t["parent"],
                 profile=lambda: _sums(hybrid()))
    return [judge(fig, min_ratio=0.7) if goal else fig]


def _hybrid_pass(s: Session) -> list[Figure]:
    figs = []
    for seconds in ((20, 40) if s.quick else (120, 240)):
        figs += _pass(s, seconds)
    return figs


def _heavy_load(s: Session) -> list[Figure]:
    return _pass(s, 20 if s.quick else 120, units=40, rates=(10.0, 30.0), goal=False)


def run(s: Session) -> list[Figure]:
    return run_parts(s, ISSUE, (_hybrid_pass, _heavy_load))


if __name__ == "__main__":
    import sys

    from . import main_for

    sys.exit(main_for(sys.modules[__name__]))
