"""``npx2020 demo``: the whole path a user takes with the real data, on synthetic data with known answers.

1. generate a Neuropixels-like recording with imposed drift and ground truth (:mod:`.synth`), content-addressed
   in a fresh store with a catalog written like the real one;
2. serve that store over HTTP on 127.0.0.1 with ``npx2020 serve`` (a separate process);
3. open the catalog with ``intake.open_catalog`` using an empty cache and that mirror, so every byte travels
   chunk by chunk over HTTP and is verified;
4. analyse with dask (a ``LocalCluster`` of worker processes by default): noise, spike detection,
   localisation, drift raster, rigid motion;
5. compare with the ground truth, draw a figure, print and save a summary; stop the server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import NPXError
from ..extras import require
from ..groundtruth.showcase import ground_truth_step
from ..sources.catalog import open_catalog

__all__ = ["run_demo", "evaluate_detection", "drift_error"]


@contextmanager
def _serve(root: Path):
    proc = subprocess.Popen([sys.executable, "-m", "intake_npx2020", "serve", str(root), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        if "serving" not in line:
            raise NPXError(f"npx2020 serve did not start: {line}{proc.stderr.read()}")
        yield line.split(" at ")[1].split()[0]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _compute(client, scheduler, progress, *delayed):
    """Compute in one graph, with a progress bar on a terminal (dask's own bars)."""
    show = sys.stderr.isatty() if progress is None else progress
    if client is not None:
        futures = client.compute(list(delayed))
        if show:
            from dask.distributed import progress as dask_progress

            dask_progress(futures)
        return client.gather(futures)
    import dask
    from dask.diagnostics import ProgressBar

    if show:
        with ProgressBar():
            return dask.compute(*delayed, scheduler=scheduler)
    return dask.compute(*delayed, scheduler=scheduler)


def _worker_stats(options: dict) -> dict:
    from ..store import get_store

    return dict(get_store(options).stats)


def evaluate_detection(peaks, truth, tolerance_ms: float = 0.4, radius_um: float = 40.0,
                       min_snr: float = 6.0, isolation_um: float = 40.0) -> dict:
    """Recall of ground-truth spikes of well-isolated units, and the precision of all detections.

    A ground-truth spike is found when a detected peak lies within ``tolerance_ms`` of it and within
    ``radius_um`` (along y) of the unit's drifted position. Well-isolated units: trough ≥ ``min_snr`` × the
    median noise, and no other unit within ``isolation_um``.
    """
    fs = truth.sampling_frequency
    tol = int(round(tolerance_ms * fs / 1000))
    units = truth.units
    ux, uy = np.asarray(units["x"], float), np.asarray(units["y"], float)
    dist = np.hypot(ux[:, None] - ux[None], uy[:, None] - uy[None]) + np.eye(len(ux)) * 1e9
    snr = np.asarray(units["amplitude"], float) / np.median(truth.noise_sigma)
    good = set(np.asarray(units["unit_id"])[(snr >= min_snr) & (dist.min(axis=1) > isolation_um)].tolist())
    t_det = peaks["sample_index"].to_numpy(np.int64)
    y_det = peaks["y"].to_numpy(float)
    uy_of = dict(zip(np.asarray(units["unit_id"]).tolist(), uy))
    found = total = 0
    matched = np.zeros(len(t_det), bool)
    for t, u in zip(truth.spike_times, truth.spike_labels):
        lo, hi = np.searchsorted(t_det, t - tol), np.searchsorted(t_det, t + tol, side="right")
        y_true = uy_of[int(u)] + truth.displacement(t / fs)
        near = np.nonzero(np.abs(y_det[lo:hi] - y_true) <= radius_um)[0]
        if near.size:
            matched[lo + near] = True
        if int(u) in good:
            total += 1
            found += bool(near.size)
    return {"recall_well_isolated": found / total if total else float("nan"), "well_isolated_units": len(good),
            "ground_truth_spikes": int(len(truth.spike_times)), "detected": int(len(t_det)),
            "precision": float(matched.mean()) if len(t_det) else float("nan")}


def drift_error(motion, truth) -> dict:
    """RMS difference (µm) between estimated and imposed displacement, both measured from the estimate's reference.

    ``estimate_motion`` reports displacement since its first bin with an estimate (exactly 0 there); the
    imposed drift is taken relative to the same instant, so no offset is fitted.
    """
    est, imposed = _comparable(motion, truth)
    diff = est - imposed
    span = float(np.ptp(truth.positions)) if len(truth.positions) else 0.0  # the knots: exact, as drawn
    return {"drift_rms_error_um": float(np.sqrt(np.mean(diff ** 2))), "imposed_drift_span_um": span}


def _comparable(motion, truth) -> tuple[np.ndarray, np.ndarray]:
    """Estimated and imposed displacement at the estimate's bins, both 0 at the estimate's reference bin."""
    t = motion["time"].to_numpy(float)
    est = motion["displacement"].to_numpy(float)
    ok = np.isfinite(est)
    if not ok.any():
        return est[:0], est[:0]
    return est[ok], truth.displacement(t[ok]) - truth.displacement(t[ok][0])


def _figure(path: Path, x, peaks, motion, truth, noise) -> None:
    matplotlib = require("matplotlib", why="the demo figure")

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..analysis import bandpass

    fig, (a, m, b) = plt.subplots(3, 1, figsize=(11, 12), gridspec_kw={"height_ratios": [3, 1.4, 2]})
    a.scatter(peaks["time"], peaks["y"], s=1, c="k", alpha=0.15, rasterized=True, label="detected peaks")
    t = np.linspace(0, truth.duration, 1000)
    est = motion["displacement"].to_numpy()
    est = est + truth.displacement(motion["time"].to_numpy()[np.isfinite(est)][:1]).sum()  # onto the imposed scale
    for base in np.quantile(peaks["y"], [0.25, 0.75]) if len(peaks) else []:
        a.plot(t, base + truth.displacement(t), "C0", lw=2, label="imposed drift" if base else None)
        a.plot(motion["time"], base + est, "C3", lw=1.5, ls="--", label="estimated motion" if base else None)
    handles, labels = a.get_legend_handles_labels()
    a.legend(dict(zip(labels, handles)).values(), dict(zip(labels, handles)).keys(), loc="upper right", markerscale=8)
    a.set(xlabel="time (s)", ylabel="depth y (µm)", title="drift raster: detected peak depth vs time")
    m.plot(t, truth.displacement(t), "C0", lw=2, label="imposed (ground truth)")
    m.plot(motion["time"], est, "C3", marker=".", ls="--", label="estimated (rigid, from its first bin)")
    m.set(xlabel="time (s)", ylabel="displacement (µm)", title="imposed vs estimated drift")
    m.legend(loc="upper right")
    fs = truth.sampling_frequency
    unit = int(np.argmax(np.asarray(truth.units["amplitude"])))
    uid = np.asarray(truth.units["unit_id"])[unit]
    spikes = truth.spike_times[truth.spike_labels == uid]
    center = int(spikes[np.searchsorted(spikes, truth.num_frames // 2).clip(0, len(spikes) - 1)]) if len(spikes) \
        else truth.num_frames // 2
    f0 = max(0, center - int(0.02 * fs))
    f1 = min(truth.num_frames, f0 + int(0.04 * fs))
    ids = np.asarray(x["channel"].values)
    y_now = float(truth.units["y"][unit]) + float(truth.displacement(center / fs))
    near = np.argsort(np.abs(np.asarray(x["y"].values) - y_now))[:12]
    chans = np.sort(near)
    seg = bandpass(x.isel(time=slice(max(0, f0 - 3000), f1 + 3000), channel=chans)).values[f0 - max(0, f0 - 3000):][:f1 - f0]
    spacing = 8 * float(np.median(np.asarray(noise)[chans]))
    tt = np.arange(f0, f1) / fs
    for k in range(len(chans)):
        b.plot(tt, seg[:, k] + k * spacing, "k", lw=0.6)
    sel = peaks[(peaks["sample_index"] >= f0) & (peaks["sample_index"] < f1) & peaks["channel_index"].isin(chans)]
    b.plot(sel["time"], sel["amplitude"] + np.searchsorted(chans, sel["channel_index"]) * spacing, "rv", ms=7,
           label="detected spike (peak channel)")
    gt = spikes[(spikes >= f0) & (spikes < f1)]
    b.vlines(gt / fs, -spacing, len(chans) * spacing, colors="C0", alpha=0.4, label=f"ground truth, unit {uid}")
    b.set(xlabel="time (s)", ylabel="channel id", title="band-passed traces around the largest unit")
    b.set_yticks(np.arange(len(chans)) * spacing, [str(int(c)) for c in ids[chans]])
    b.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run_demo(out: str | os.PathLike = "npx2020-demo", duration: float = 60.0, probe: str = "NP1",
             seed: int = 0, scheduler: str = "distributed", workers: int = 2, progress: bool | None = None,
             log=print, packed: bool = False) -> dict:
    """Generate, serve, open over HTTP and analyse a synthetic drift dataset; return the summary.

    Parameters
    ----------
    out : path-like
        Output directory (replaced if it holds an earlier demo).
    duration : float
        Seconds of recording (384 channels at 30 kHz: 23 MB/s).
    probe : {"NP1", "NP2"}
    scheduler : {"distributed", "threads", "processes", "sync"}
        ``distributed`` runs a ``LocalCluster`` of ``workers`` processes sharing one on-disk cache.
    packed : bool
        Pack the store into a compressed mirror (``npx2020 pack``) and serve that instead: the summary's
        ``wire_bytes_per_raw_byte`` shows what compression saved on the wire.
    """
    out = _fresh_dir(Path(out).resolve())
    t_start = time.perf_counter()
    truth, name = _generate(out, duration, probe, seed, progress, log)
    t_gen = time.perf_counter() - t_start
    served = _pack(out, progress, log) if packed else out / "store"
    log(f"[2/5] serving {served} over HTTP (npx2020 serve, 127.0.0.1)")
    with _serve(served) as base:
        # every byte over HTTP into an empty cache: the catalog's own store beside it is not read here
        options = {"store": str(out / "cache"), "mirrors": [base], "read_roots": [], "use_kachery": False,
                   "cache_max": 0, "packed": packed}
        log(f"[3/5] opening {out / 'catalog.yaml'}: empty cache {out / 'cache'}, mirror {base}")
        cat = open_catalog(out / "catalog.yaml", storage_options=options)
        x = cat[name].to_dask()
        noise, peaks, motion, t_analysis, stats = _analyse(x, truth, options, scheduler, workers, progress, log)
        gt, truth_drift = cat[f"{name}:ground_truth"].read(), cat[f"{name}:drift"].read()
        log("[5/5] comparing with ground truth and drawing the figure")
        _figure(out / "demo.png", x, peaks, motion, truth, noise)
    summary = _summary(out, base, truth, x, stats, t_gen, t_analysis, gt, truth_drift, peaks, motion, scheduler)
    summary.update(ground_truth_step(out, name, truth, "threads" if scheduler == "distributed" else scheduler, log))
    summary.update({"wall_s": round(time.perf_counter() - t_start, 2), "reopen": _reopen_line(out, name)})
    shutil.rmtree(out / "packed", ignore_errors=True)  # the store beside the catalog holds every byte
    summary.update(_keep_one_copy(out))
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    peaks.to_csv(out / "peaks.csv", index=False)
    motion.to_csv(out / "motion.csv", index=False)
    return summary


def _fresh_dir(out: Path) -> Path:
    if out.exists():
        if not (out / "summary.json").exists() and any(out.iterdir()) and not (out / "synth").exists():
            raise FileExistsError(f"{out} exists and is not a demo output directory; choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    return out


def _generate(out: Path, duration: float, probe: str, seed: int, progress, log):
    from .. import synth

    log(f"[1/5] generating {duration:g} s of synthetic {probe} data with imposed drift into {out / 'synth'}")
    truth = synth.generate(out / "synth", duration=duration, probe=probe, drift="triangle", seed=seed,
                           progress=progress)
    name = f"synthetic-{probe.lower()}-drift"
    synth.write_catalog(truth, out / "store", out / "catalog.yaml", name)
    return truth, name


def _pack(out: Path, progress, log) -> Path:
    """Pack the demo's store into a compressed mirror beside it (as ``npx2020 pack`` does); its directory."""
    from ..store.pack import Packer
    from ..store.packplan import plan_store, reader_store

    dest = out / "packed"
    log(f"[2/5] packing {out / 'store'} into a compressed mirror {dest} (npx2020 pack)")
    blobs, files = plan_store(reader_store(out / "store", dest / ".npx2020-tmp" / "reader"), out / "store")
    r = Packer(dest, progress=progress).run(blobs, files)
    log(f"      {r.chunk_bytes / 1e6:.0f} MB of chunks stored in {r.stored_bytes / 1e6:.0f} MB "
        f"({r.chunks_pco} compressed, {r.chunks_raw} raw)")
    return dest


def _analyse(x, truth, options: dict, scheduler: str, workers: int, progress, log):
    """Noise, detection and motion on ``x``; the stores' statistics of every process that read."""
    from .. import analysis

    client = cluster = None
    if scheduler == "distributed":
        Client = require("dask.distributed", "analysis", "the demo's LocalCluster").Client

        from .cluster import local_cluster

        cluster = local_cluster(n_workers=workers, host="127.0.0.1", dashboard_address="127.0.0.1:0")
        client = Client(cluster)
    try:
        log(f"[4/5] analysing {x.shape[0] / x.attrs['sampling_frequency']:.0f} s × {x.shape[1]} ch with dask "
            f"({scheduler}{f', {workers} workers' if client else ''})")
        t0 = time.perf_counter()
        noise_d = analysis.noise_levels(x, compute=False)
        noise, peaks = _compute(client, None if client else scheduler, progress, noise_d,
                                analysis.detect_spikes(x, threshold=5.0, noise=noise_d, compute=False))
        motion = analysis.estimate_motion(peaks, bin_s=2.0, time_range=(0.0, truth.duration))
        t_analysis = time.perf_counter() - t0
        stats = [_worker_stats(options)] + (list(client.run(_worker_stats, options).values()) if client else [])
    finally:
        if client:
            client.close()
            cluster.close()
    return noise, peaks, motion, t_analysis, stats


def _summary(out: Path, base: str, truth, x, stats, t_gen, t_analysis, gt, truth_drift, peaks, motion,
             scheduler: str) -> dict:
    fetched = {k: sum(s[k] for s in stats) for k in stats[0]}
    raw_bytes = int(truth.num_frames * truth.raw_num_channels * 2)
    return {
        "output_dir": str(out), "figure": str(out / "demo.png"), "catalog": str(out / "catalog.yaml"),
        "mirror": base, "duration_s": truth.duration, "channels": int(x.shape[1]), "probe": truth.probe,
        "generation_s": round(t_gen, 2), "generation_realtime_factor": round(truth.duration / t_gen, 2),
        "bytes_fetched_over_http": fetched["bytes_fetched"], "chunks_fetched": fetched["chunks_fetched"],
        "http_requests": fetched["requests"], "retries": fetched["retries"], "cache_hits": fetched["chunk_hits"],
        "chunks_fetched_compressed": fetched.get("packed_chunks", 0),
        "wire_bytes_per_raw_byte": round(fetched["bytes_fetched"] / raw_bytes, 4),
        "bytes_in_cache": _tree_bytes(out / "cache"), "raw_bytes": raw_bytes, "analysis_s": round(t_analysis, 2),
        "analysis_throughput_MBps": round(raw_bytes / t_analysis / 1e6, 1),
        "analysis_realtime_factor": round(truth.duration / t_analysis, 2),
        "ground_truth_spikes_in_catalog": int(len(gt)), "drift_knots_in_catalog": int(len(truth_drift)),
        **evaluate_detection(peaks, truth), **drift_error(motion, truth), "scheduler": scheduler,
    }


def _tree_bytes(root: Path) -> int:
    """Bytes on disk under ``root``, each file counted once however many hard links it has."""
    seen, total = set(), 0
    for p in root.rglob("*") if root.exists() else ():
        st = p.lstat()
        if p.is_file() and not p.is_symlink() and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


def _keep_one_copy(out: Path) -> dict:
    """Drop the HTTP cache (the store beside the catalog holds every byte); the disk the demo keeps."""
    shutil.rmtree(out / "cache", ignore_errors=True)
    return {"disk_bytes": _tree_bytes(out)}


def _reopen_line(out: Path, name: str) -> str:
    try:
        where = out.relative_to(Path.cwd())
    except ValueError:
        where = out
    return (f'intake_npx2020.open_catalog("{(where / "catalog.yaml").as_posix()}")["{name}"]'
            f'.to_dask()[:30000].values')


def format_summary(s: dict) -> str:
    """The summary as a few human-readable lines."""
    return "\n".join([
        f"recording: {s['duration_s']:.0f} s × {s['channels']} ch ({s['probe']}), generated at "
        f"{s['generation_realtime_factor']}× real time",
        f"over HTTP: {s['bytes_fetched_over_http'] / 1e6:.1f} MB on the wire for {s['raw_bytes'] / 1e6:.1f} MB raw "
        f"({s['wire_bytes_per_raw_byte']:.2f} per raw byte; {s['chunks_fetched_compressed']} of "
        f"{s['chunks_fetched']} verified chunks came compressed), "
        f"{s['http_requests']} requests, {s['retries']} retries; cache hits {s['cache_hits']}",
        f"analysis: {s['analysis_s']} s ({s['analysis_throughput_MBps']} MB/s, {s['analysis_realtime_factor']}× real "
        f"time, {s['scheduler']})",
        f"spikes: {s['detected']} detected vs {s['ground_truth_spikes']} ground truth; recall of well-isolated units "
        f"({s['well_isolated_units']}) {100 * s['recall_well_isolated']:.1f} %, precision {100 * s['precision']:.1f} %",
        f"drift: RMS error {s['drift_rms_error_um']:.2f} µm over an imposed span of {s['imposed_drift_span_um']:.0f} µm",
        f"wall time {s['wall_s']} s; outputs in {s['output_dir']} (figure {Path(s['figure']).name}, summary.json, "
        f"catalog.yaml, peaks.csv, motion.csv): {s['disk_bytes'] / 1e9:.2f} GB on disk, one copy of the recording",
        "reopen it from Python, no environment needed:",
        f"    import intake_npx2020; x = {s['reopen']}",
    ])
