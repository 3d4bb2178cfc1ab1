"""Issue "synth": synthetic ground truth and the dask analysis chain on it.

(a) generation: ``synth.generate`` of an NP1 recording (385 columns, 40 units, triangle drift) vs real time
    (ratio = real-time factor on one core); with spikeinterface installed, also vs
    ``generate_ground_truth_recording`` + int16 binary save of the same duration (informational).
(b) analysis: ``noise_levels`` + ``detect_spikes`` (filter, detect, localize; threads over 1-s chunks) vs real
    time; quality in the note (recall on well-isolated units, precision, localization error).
(c) motion: ``estimate_motion`` (rigid, 2-s bins) vs spikeinterface's ``decentralized`` on the same peaks;
    RMS error against the imposed drift in the note.

Run alone: ``python -m benchmarks.bench_synth [--quick]``.
"""

from __future__ import annotations

import time

import numpy as np

from . import Figure, Session, judge, log

ISSUE = "synth"
TOL_SAMPLES, TOL_UM = 12, 40.0


def _recording(s: Session):
    from intake_npx2020 import synth

    seconds = 30 if s.quick else 120
    out = s.tmp / f"synth-{seconds}s"
    r = synth.generate(out, duration=seconds, probe="NP1", num_units=40, drift="triangle", seed=0, progress=False)
    log(f"generated {seconds} s synthetic NP1 in {r.elapsed:.1f} s ({r.realtime_factor:.1f}x real time)")
    return r


def _generation(s: Session, r) -> list[Figure]:
    from intake_npx2020 import synth

    seconds = 10 if s.quick else 30
    times = []
    for k in range(s.repeats):
        res = synth.generate(s.tmp / f"gen-{k}", duration=seconds, probe="NP1", num_units=40, drift="triangle",
                             seed=k, progress=False)
        times.append(res.elapsed)
        (res.raw_path).unlink()
    ours = float(np.median(times))
    figs = [judge(Figure(ISSUE, f"generate {seconds} s NP1 (385 col, 40 units)", ours, baseline="real time",
                         base_s=float(seconds), ours_all=times, nbytes=res.num_frames * 2 * 385,
                         note=f"10 min would take ~{600 * ours / seconds:.0f} s"), min_ratio=1.0)]
    try:
        import spikeinterface.full as si
    except ImportError:
        return figs
    probe = _si_probe(r)
    sec_si = 10

    def si_generate():
        rec, _ = si.generate_ground_truth_recording(
            durations=[float(sec_si)], sampling_frequency=30000.0, probe=probe, num_units=40,
            generate_sorting_kwargs=dict(firing_rates=(2.0, 15.0), refractory_period_ms=2.0),
            noise_kwargs=dict(noise_levels=np.random.default_rng(0).uniform(5, 8, 384), strategy="on_the_fly"),
            generate_templates_kwargs=dict(unit_params=dict(alpha=(100.0, 300.0))), dtype="float32", seed=42)
        rec_int = si.scale(rec, gain=1 / 2.34375, offset=0, dtype="int16")
        rec_int.save(folder=s.tmp / f"si-gen-{time.perf_counter_ns()}", format="binary", n_jobs=1, progress_bar=False)

    t0 = time.perf_counter()
    si_generate()
    base = time.perf_counter() - t0
    figs.append(Figure(ISSUE, f"generate {sec_si} s NP1, 40 units (no drift in baseline)", ours * sec_si / seconds,
                       baseline="spikeinterface generate_ground_truth_recording + save int16, n_jobs=1",
                       base_s=base, note="ours scaled from the row above"))
    return figs


def _si_probe(r):
    from probeinterface import Probe

    probe = Probe(ndim=2, si_units="um")
    probe.set_contacts(positions=r.positions_xy, shapes="square", shape_params={"width": 12})
    probe.set_device_channel_indices(np.arange(384))
    return probe


def _quality(r, peaks) -> str:
    u = r.units
    d = np.hypot(u["x"][:, None] - u["x"][None], u["y"][:, None] - u["y"][None])
    np.fill_diagonal(d, np.inf)
    good = (u["amplitude"] >= 6 * r.noise_sigma[u["peak_channel"]]) & (d.min(axis=1) > 40.0)
    st, sl = r.spike_times, r.spike_labels
    gx, gy = u["x"][sl], u["y"][sl] + r.displacement(st / r.sampling_frequency)
    ps, px, py = (peaks[c].to_numpy() for c in ("sample_index", "x", "y"))
    lo, hi = np.searchsorted(ps, st - TOL_SAMPLES), np.searchsorted(ps, st + TOL_SAMPLES, "right")
    hit = np.zeros(st.size, bool)
    err = np.full(st.size, np.nan)
    used = np.zeros(ps.size, bool)
    for i in np.flatnonzero(hi > lo):
        j = np.arange(lo[i], hi[i])
        dist = np.hypot(px[j] - gx[i], py[j] - gy[i])
        hit[i] = dist.min() <= TOL_UM
        used[j[dist <= 2 * TOL_UM]] = True
        if hit[i]:
            err[i] = abs(py[j[np.argmin(dist)]] - gy[i])
    sel = good[sl]
    return (f"recall {hit[sel].mean():.4f} on {good.sum()} well-isolated units, {hit.mean():.4f} all; "
            f"precision {used.mean():.4f}; median |y err| {np.nanmedian(err[sel]):.1f} um")


def _analysis(s: Session, r) -> tuple[list[Figure], object]:
    from intake_npx2020 import analysis as an

    traces = r.to_dataarray(chunk_seconds=1.0)
    times, peaks = [], None
    for _ in range(max(1, s.repeats - 2)):
        t0 = time.perf_counter()
        noise = an.noise_levels(traces, scheduler="threads")
        peaks = an.detect_spikes(traces, noise=noise, scheduler="threads")
        times.append(time.perf_counter() - t0)
    ours = float(np.median(times))
    fig = judge(Figure(ISSUE, f"noise + detect + localize, {r.duration:.0f} s x 384 ch (threads)", ours,
                       baseline="real time", base_s=r.duration, ours_all=times, note=_quality(r, peaks)),
                min_ratio=1.0)
    return [fig], peaks


def _rms(r, t, d, bin_s=2.0) -> float:
    truth = np.array([r.displacement(np.linspace(x - bin_s / 2, x + bin_s / 2, 401)).mean() for x in t])
    e = np.asarray(d) - truth
    return float(np.sqrt(np.mean((e - e.mean()) ** 2)))


def _motion(s: Session, r, peaks) -> list[Figure]:
    from intake_npx2020 import analysis as an

    times = []
    for _ in range(s.repeats):
        t0 = time.perf_counter()
        mo = an.estimate_motion(peaks, bin_s=2.0)
        times.append(time.perf_counter() - t0)
    ours = float(np.median(times))
    note = f"ours RMS {_rms(r, mo['time'], mo['displacement']):.2f} um vs imposed triangle"
    base = None
    try:
        import spikeinterface.core as sc
        from spikeinterface.core.node_pipeline import base_peak_dtype
        from spikeinterface.sortingcomponents.motion import estimate_motion
    except ImportError:
        return [Figure(ISSUE, "rigid motion, 2-s bins", ours, ours_all=times, note=note)]
    rec = sc.read_binary(str(r.raw_path), sampling_frequency=r.sampling_frequency, num_channels=r.raw_num_channels,
                         dtype="int16", gain_to_uV=2.34375, offset_to_uV=0.0)
    rec = rec.select_channels(rec.channel_ids[:384])
    rec.set_probe(_si_probe(r))
    pk = np.zeros(len(peaks), dtype=base_peak_dtype)
    pk["sample_index"], pk["channel_index"], pk["amplitude"] = (peaks[c] for c in ("sample_index", "channel_index",
                                                                                   "amplitude"))
    loc = np.zeros(len(peaks), dtype=[("x", "float64"), ("y", "float64")])
    loc["x"], loc["y"] = peaks["x"], peaks["y"]
    t0 = time.perf_counter()
    m = estimate_motion(rec, pk, loc, method="decentralized", rigid=True, bin_s=2.0)
    base = time.perf_counter() - t0
    note += f"; spikeinterface RMS {_rms(r, m.temporal_bins_s[0], np.ravel(m.displacement[0])):.2f} um"
    return [Figure(ISSUE, "rigid motion, 2-s bins", ours, baseline="spikeinterface decentralized (rigid)",
                   base_s=base, ours_all=times, note=note)]


def run(s: Session) -> list[Figure]:
    r = _recording(s)
    figs = _generation(s, r)
    ana, peaks = _analysis(s, r)
    figs += ana
    figs += _motion(s, r, peaks)
    return figs


if __name__ == "__main__":
    import sys

    from . import main_for

    sys.exit(main_for(sys.modules[__name__]))
