"""Issue "scale": time to first sample, worker scaling, bounded memory on long recordings, hour-long graphs.

(a) time to first sample: ``intake_npx2020.open_catalog(path)`` of a catalog file on disk → the first
    1 s × 384 ch as numpy (``cat[name].to_dask().isel(time=slice(0, 30000)).values``); everything imported
    first, one untimed warm-up call, and ``store.forget_stores()`` called before every call (each call builds its
    ``Store`` as a fresh process would). *warm*: bytes in the local store (the file itself), page cache warm;
    *cold*: an empty store directory per call (``NPX2020_STORE``) and the session's loopback mirror
    (``NPX2020_MIRRORS``), so the manifest and the first chunks travel over HTTP and are verified. Both for a
    one-entry catalog and for a catalog the size of the shipped one (its 47 ``sources`` + ours). Baselines
    (floors, informational): ``np.memmap`` of the local file, and one plain ranged ``GET`` of the same
    frames from the mirror. The note breaks the median call down: parse, entry, to_dask, read.
(b) ``LocalCluster`` with 2 worker processes vs 1 (``threads_per_worker=1``, started by
    ``intake_npx2020.apps.cluster.local_cluster``) on a CPU-bound pass: ``analysis.detect_spikes`` (noise given) over
    a synthetic NP1 recording (60 s; 10 s with --quick); cluster start-up excluded, one warm-up run on each,
    then the two clusters timed interleaved, together with the machine's ceiling on the same clusters (as many
    pure-Python tasks, and as many FFT tasks of a filter block's size, 2 workers vs 1). Informational (full
    mode): ``bandpass(x).data.std(0)``, the threads scheduler, and 1 worker started with distributed's own
    malloc environment (``MALLOC_TRIM_THRESHOLD_=65536``) vs ours.
(c) long recordings: noise_levels + detect_spikes + drift_raster over synthetic NP1 recordings of two durations,
    each in its own subprocess (``python -m benchmarks.bench_scale --child``, threads scheduler), so the peak RSS
    (``VmHWM`` of the child; see :func:`_vm` for why not ``ru_maxrss``) is per run: does the peak grow with
    duration, does wall time (and CPU time) grow linearly.
(d) graphs for an hour-long recording (the shipped ``cortexlab-single-phase-3``, 3773 s; no bytes read): tasks
    per hour and build time for ``to_dask()``, ``x.data.astype('f4').std(axis=0)`` and
    ``analysis.detect_spikes(x, noise=…, compute=False)``, and ``cloudpickle.dumps`` of that graph.

Run alone: ``python -m benchmarks.bench_scale [--quick] [--profile]``.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import FS, RAW_C, Figure, Session, interleaved, judge, log, med, warm, run_parts

ISSUE = "scale"
N_CH = 384
REPO = Path(__file__).resolve().parents[1]
HOUR_ID = "cortexlab-single-phase-3"


@dataclass
class Measured(Figure):
    """A figure whose ``ratio`` column is a given dimensionless number (not baseline time / our time)."""

    value: float | None = None

    @property
    def ratio(self) -> float | None:
        return self.value


@contextmanager
def _env(**values: str | None):
    """Set (or, with ``None``, unset) environment variables; restore them afterwards."""
    old = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _forget_stores() -> None:
    """Drop the process-wide Store instances (and their manifests, sessions and pools) as a new process would."""
    from intake_npx2020.store import forget_stores

    forget_stores()


def _ms(t: float) -> str:
    return f"{t * 1e3:.0f} ms" if t >= 0.01 else f"{t * 1e3:.1f} ms"


def _vm(field: str) -> int:
    """``VmHWM`` (peak RSS) or ``VmRSS`` of this process's address space, in bytes, from /proc/self/status.

    Not ``getrusage().ru_maxrss``: Linux carries the parent's high-water mark across fork + exec into the child's
    ``ru_maxrss``, so a child of a 2 GB benchmark process would report ≥ 2 GB whatever it does.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


# -- (a) time to first sample ---------------------------------------------------------------------------------
def _write_yaml(path: Path, sources: dict) -> None:
    """A catalog written as the shipped one is: a JSON body, which is valid YAML (see tools/build_catalog.py)."""
    path.write_text("# benchmark catalog\n" + json.dumps({"metadata": {"version": 1}, "sources": sources}, indent=1))


def _first_sample(cat_path: Path, name: str):
    """One time-to-first-sample call; returns the array and (parse, entry, to_dask, read) seconds."""
    import intake_npx2020

    t0 = time.perf_counter()
    cat = intake_npx2020.open_catalog(cat_path)
    t1 = time.perf_counter()
    entry = cat[name]
    t2 = time.perf_counter()
    x = entry.to_dask()
    t3 = time.perf_counter()
    a = x.isel(time=slice(0, FS)).values
    t4 = time.perf_counter()
    return a, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)


def _time_to_first_sample(s: Session) -> list[Figure]:
    import dask.array  # noqa: F401  (imports excluded from the timing)
    import intake  # noqa: F401
    import requests
    import xarray  # noqa: F401
    import yaml

    import intake_npx2020
    import intake_npx2020.arrays  # noqa: F401
    import intake_npx2020.sources.catalog as catalog
    import intake_npx2020.sources.drivers  # noqa: F401
    from intake_npx2020.store.uri import parse_uri

    seconds = 20 if s.quick else 60
    obj, path = s.bin1_object(seconds, N_CH)
    warm(path)
    base_url = s.mirror()
    name = "scale-first-sample"
    entry = {"driver": "npx_recording", "args": {"recording": obj}, "metadata": {"kind": "recording"}}
    shipped = yaml.load(catalog.CATALOG_PATH.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    d = s.tmp / "scale"
    d.mkdir(exist_ok=True)
    cats = {"1 entry": d / "one.yaml", f"{len(shipped['sources']) + 1} entries": d / "shipped-size.yaml"}
    _write_yaml(cats["1 entry"], {name: entry})
    _write_yaml(cats[f"{len(shipped['sources']) + 1} entries"], {**shipped["sources"], name: entry})
    for k, p in cats.items():
        log(f"first sample: catalog '{k}': {p.stat().st_size / 1e3:.0f} kB "
            f"(shipped: {catalog.CATALOG_PATH.stat().st_size / 1e3:.0f} kB)")

    ref = np.array(np.memmap(path, dtype="<i2", mode="r", shape=(seconds * FS, RAW_C))[:FS, :N_CH])
    warm_env = dict(NPX2020_STORE=str(s.source_store), NPX2020_MIRRORS="", NPX2020_USE_KACHERY="0")
    stages: dict[str, list[tuple]] = {}
    first_call: dict[str, float] = {}
    cold_dirs: list[Path] = []

    def call(key: str, cat_path: Path, cold: bool):
        def fn():
            _forget_stores()
            if cold:
                cold_dirs.append(s.fresh_store_dir("first-sample"))
                env = dict(NPX2020_STORE=str(cold_dirs[-1]), NPX2020_MIRRORS=base_url, NPX2020_USE_KACHERY="0")
            else:
                env = warm_env
            with _env(**env):
                t0 = time.perf_counter()
                a, st = _first_sample(cat_path, name)
                dt = time.perf_counter() - t0
            if key not in first_call:
                first_call[key] = dt
                assert np.array_equal(a, ref), f"first sample ({key}): wrong values"
            else:
                stages.setdefault(key, []).append(st)
            while len(cold_dirs) > 1:  # keep disk use small; the newest directory may still be in use
                shutil.rmtree(cold_dirs.pop(0), ignore_errors=True)
        return fn

    fns = {}
    for k, p in cats.items():
        fns[f"warm {k}"] = call(f"warm {k}", p, cold=False)
        fns[f"cold {k}"] = call(f"cold {k}", p, cold=True)

    # floors: a memmap of the local file; one plain ranged GET of the same frames from the mirror
    def memmap_floor():
        mm = np.memmap(path, dtype="<i2", mode="r", shape=(seconds * FS, RAW_C))
        return np.array(mm[:FS, :N_CH])

    sha1 = parse_uri(obj["data"]["raw"]).sha1
    blob_url = f"{base_url}/sha1/{sha1[0:2]}/{sha1[2:4]}/{sha1[4:6]}/{sha1}"

    def get_floor():
        with requests.Session() as sess:
            r = sess.get(blob_url, headers={"Range": f"bytes=0-{FS * RAW_C * 2 - 1}"}, timeout=30)
            r.raise_for_status()
            return np.frombuffer(r.content, dtype="<i2").reshape(FS, RAW_C)[:, :N_CH].copy()

    assert np.array_equal(get_floor(), ref)
    fns["memmap"] = memmap_floor
    fns["get"] = get_floor
    try:
        t = interleaved(fns, s.repeats, warmup=1)
    finally:
        _forget_stores()
        for c in cold_dirs:
            shutil.rmtree(c, ignore_errors=True)

    figs = []
    for k, p in cats.items():
        for mode, goal, base_key, base_name in (
                ("warm", 0.15, "memmap", "floor: np.memmap of the local file, 1 s × 384 ch"),
                ("cold", 1.0, "get", "floor: one ranged GET of those frames from the mirror")):
            key = f"{mode} {k}"
            st = np.median(np.array(stages[key]), axis=0)
            note = (f"{k}, {p.stat().st_size / 1e3:.0f} kB; parse {_ms(st[0])} · entry {_ms(st[1])} · "
                    f"to_dask {_ms(st[2])} · read {_ms(st[3])}; first call in the process "
                    f"{_ms(first_call[key])}")
            if mode == "cold":
                note += "; empty store dir per call, loopback mirror"

            def profile_setup(cat_path=p, cold=(mode == "cold")):
                if cold:
                    dd = s.fresh_store_dir("first-sample-prof")
                    env = dict(NPX2020_STORE=str(dd), NPX2020_MIRRORS=base_url, NPX2020_USE_KACHERY="0")
                else:
                    dd, env = None, warm_env
                ctx = _env(**env)
                ctx.__enter__()
                _forget_stores()

                def cleanup():
                    ctx.__exit__(None, None, None)
                    _forget_stores()
                    if dd is not None:
                        shutil.rmtree(dd, ignore_errors=True)
                return (lambda: _first_sample(cat_path, name)), cleanup

            figs.append(judge(Figure(ISSUE, f"time to first sample, {mode}: open_catalog ({k}) → 1 s × 384 ch",
                                     med(t[key]), base_name, med(t[base_key]), note=note, ours_all=t[key],
                                     base_all=t[base_key], profile_setup=profile_setup), max_seconds=goal))
    return figs


# -- (b) LocalCluster: 2 workers vs 1 ----------------------------------------------------------------------
def _synth_catalog(s: Session, seconds: float, tag: str, seed: int = 0):
    from intake_npx2020 import synth

    out = s.tmp / f"scale-{tag}"
    r = synth.generate(out / "gen", duration=seconds, probe="NP1", num_units=40, drift="triangle", seed=seed,
                       progress=False)
    log(f"generated {seconds:g} s synthetic NP1 ({r.raw_path.stat().st_size / 1e9:.2f} GB) in {r.elapsed:.0f} s "
        f"({r.realtime_factor:.1f}x real time)")
    store_dir, cat_path, name = out / "store", out / "catalog.yaml", f"scale-{tag}"
    synth.write_catalog(r, store_dir, cat_path, name)
    return r, out, store_dir, cat_path, name


def _spin(n: int) -> int:
    """Pure-Python CPU work (no memory traffic): what 2 processes can get from this machine right now."""
    acc = 0
    for i in range(n):
        acc += i
    return acc


def _fft_pass(seed: int) -> float:
    """The FFT work of one ``_filter_block`` (384 × 32768 float32 rfft + irfft): the memory-bound ceiling.

    (pocketfft's cost does not depend on the values, so a filled array stands in for a random one.)
    """
    import scipy.fft as sf

    x = np.full((384, 32768), float(seed), dtype=np.float32)
    y = sf.irfft(sf.rfft(x, axis=1), n=32768, axis=1)
    return float(y[0, 0])


def _scheduler_has(key, dask_scheduler=None) -> bool:
    return key in dask_scheduler.tasks


def _compute_fresh(client, collection):
    """``client.compute(collection)``'s result, then wait until the scheduler has dropped the result key.

    Without the wait, a second compute of the same graph right after the first (interleaved rounds reverse
    their order, so A B | B A) can find the result still held and return in ~25 ms.
    """
    fut = client.compute(collection)
    result = fut.result()
    key = fut.key
    fut.release()
    del fut
    deadline = time.monotonic() + 30
    while client.run_on_scheduler(_scheduler_has, key):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the scheduler still holds {key} 30 s after its future was released")
        time.sleep(0.002)
    return result


def _cluster(s: Session) -> list[Figure]:
    import logging

    import dask
    from dask.distributed import Client, LocalCluster

    import intake_npx2020
    from intake_npx2020 import analysis
    from intake_npx2020.apps.cluster import local_cluster

    seconds = 10 if s.quick else 60
    r, out, store_dir, cat_path, name = _synth_catalog(s, seconds, "cluster", seed=3)
    warm(r.raw_path)
    reps = 2 if s.quick else 3
    # the workers inherit this environment when they start: NPX2020_STORE names the store with the file
    with _env(NPX2020_STORE=str(store_dir), NPX2020_MIRRORS="", NPX2020_USE_KACHERY="0"):
        _forget_stores()
        x = intake_npx2020.open_catalog(cat_path)[name].to_dask()
        nchunks = x.data.numblocks[0]
        noise = np.asarray(analysis.noise_levels(x, scheduler="threads"))
        detect = analysis.detect_spikes(x, noise=noise, compute=False)
        std = analysis.bandpass(x).data.std(axis=0)
        ref = analysis.detect_spikes(x, noise=noise, scheduler="threads")
        t0 = time.perf_counter()
        _spin(2_000_000)
        spin_n = int(2_000_000 * 0.25 / (time.perf_counter() - t0))  # ≈ 0.25 s per task on an idle core
        clusters, clients = {}, {}
        dlog = logging.getLogger("distributed")
        level = dlog.level
        dlog.setLevel(logging.ERROR)  # no INFO lines from the scheduler (in this process) while clusters close
        try:
            for k in (1, 2):
                t0 = time.perf_counter()
                with warnings.catch_warnings():  # "port 8787 is already in use" for the second cluster
                    warnings.simplefilter("ignore")
                    clusters[k] = local_cluster(n_workers=k, threads_per_worker=1, dashboard_address=None,
                                                silence_logs=logging.ERROR)
                clients[k] = Client(clusters[k], set_as_default=False)
                log(f"LocalCluster({k} worker(s)) started in {time.perf_counter() - t0:.1f} s (not timed)")
            got = _compute_fresh(clients[2], detect)
            assert len(got) == len(ref) and np.array_equal(got["sample_index"].to_numpy(),
                                                           ref["sample_index"].to_numpy()), "cluster peaks differ"

            def ceiling(cl, fn, arg):
                return cl.gather(cl.map(fn, [arg] * nchunks, pure=False))

            fns = {}
            for k in (1, 2):
                fns[f"detect {k}"] = lambda k=k: _compute_fresh(clients[k], detect)
                fns[f"spin {k}"] = lambda k=k: ceiling(clients[k], _spin, spin_n)
                fns[f"fft {k}"] = lambda k=k: ceiling(clients[k], _fft_pass, 0)
            for k in (1, 2):  # warm-up: imports, FFT plans, page cache, in every worker
                fns[f"detect {k}"]()
                fns[f"fft {k}"]()
            t = interleaved(fns, reps, warmup=0)
            if not s.quick:  # informational workloads, one timed run each (already warm)
                t.update(interleaved({f"std {k}": (lambda k=k: _compute_fresh(clients[k], std)) for k in (1, 2)},
                                     1, warmup=1))
                with dask.config.set(scheduler="threads"):
                    t.update(interleaved({"threads": lambda: dask.compute(detect)}, 2, warmup=0))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    clusters["default"] = LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                                       dashboard_address=None, silence_logs=logging.ERROR)
                clients["default"] = Client(clusters["default"], set_as_default=False)
                t.update(interleaved({"default 1": lambda: _compute_fresh(clients["default"], detect),
                                      "ours 1": lambda: _compute_fresh(clients[1], detect)}, 2, warmup=1))
        finally:
            for k in clients:
                clients[k].close()
                clusters[k].close()
            dlog.setLevel(level)
            _forget_stores()
    nbytes = r.num_frames * RAW_C * 2
    ceil_spin = med(t["spin 1"]) / med(t["spin 2"])
    ceil_fft = med(t["fft 1"]) / med(t["fft 2"])
    ratio = med(t["detect 1"]) / med(t["detect 2"])
    note = (f"{seconds} s × 384 ch synthetic NP1, {nchunks} chunks, {len(ref)} peaks; machine ceiling in the same "
            f"run: pure-Python tasks {ceil_spin:.2f}x, FFT tasks {ceil_fft:.2f}x; efficiency vs pure-Python ceiling "
            f"{ratio / ceil_spin:.0%}; load avg {os.getloadavg()[0]:.1f} on 2 cores")
    figs = [judge(Figure(ISSUE, "detect_spikes on LocalCluster: 2 workers vs 1 (1 thread each)", med(t["detect 2"]),
                         "1 worker", med(t["detect 1"]), nbytes=nbytes, note=note, ours_all=t["detect 2"],
                         base_all=t["detect 1"]), min_ratio=1.6)]
    figs.append(Figure(ISSUE, f"machine ceiling: {nchunks} pure-Python tasks (≈0.25 s each), 2 workers vs 1",
                       med(t["spin 2"]), "1 worker", med(t["spin 1"]), note="info: no memory traffic, no data",
                       ours_all=t["spin 2"], base_all=t["spin 1"]))
    figs.append(Figure(ISSUE, f"machine ceiling: {nchunks} FFT tasks (384 × 32768 f4 rfft+irfft), 2 workers vs 1",
                       med(t["fft 2"]), "1 worker", med(t["fft 1"]), note="info: the memory-bound core of a filter",
                       ours_all=t["fft 2"], base_all=t["fft 1"]))
    if "std 2" in t:
        figs.append(Figure(ISSUE, "bandpass(x).data.std(axis=0) on LocalCluster: 2 workers vs 1", med(t["std 2"]),
                           "1 worker", med(t["std 1"]), nbytes=nbytes, note="info (one filter task per chunk + tree reduction)",
                           ours_all=t["std 2"], base_all=t["std 1"]))
        figs.append(Figure(ISSUE, "detect_spikes on 1 worker: local_cluster's malloc environment vs distributed's "
                           "default (MALLOC_TRIM_THRESHOLD_=65536)", med(t["ours 1"]), "default LocalCluster",
                           med(t["default 1"]), nbytes=nbytes, note="info: see intake_npx2020/cluster.py",
                           ours_all=t["ours 1"], base_all=t["default 1"]))
        figs.append(Figure(ISSUE, "detect_spikes, threads scheduler (2 threads, 1 process)", med(t["threads"]),
                           "LocalCluster 1 worker", med(t["detect 1"]), nbytes=nbytes, note="info",
                           ours_all=t["threads"], base_all=t["detect 1"]))
    shutil.rmtree(out, ignore_errors=True)
    return figs


# -- (c) long recordings in subprocesses ---------------------------------------------------------------------
def _child(argv: list[str]) -> int:
    """``--child CATALOG NAME``: one full analysis pass, threads scheduler; prints one JSON line."""
    import psutil

    cat_path, name = argv
    import dask  # noqa: F401
    import pandas  # noqa: F401
    import scipy.fft  # noqa: F401
    import scipy.signal  # noqa: F401
    import xarray  # noqa: F401

    import intake_npx2020
    import intake_npx2020.arrays  # noqa: F401
    import intake_npx2020.sources.drivers  # noqa: F401
    from intake_npx2020 import analysis

    proc = psutil.Process()
    rss_import = _vm("VmHWM")
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sampler():
        t0 = time.perf_counter()
        while not stop.wait(0.25):
            samples.append((time.perf_counter() - t0, proc.memory_info().rss))

    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    c0 = _cpu()
    t0 = time.perf_counter()
    x = intake_npx2020.open_catalog(cat_path)[name].to_dask()
    noise = analysis.noise_levels(x, scheduler="threads")
    t1 = time.perf_counter()
    peaks = analysis.detect_spikes(x, noise=noise, scheduler="threads")
    t2 = time.perf_counter()
    raster = analysis.drift_raster(peaks)
    t3 = time.perf_counter()
    cpu = _cpu() - c0
    stop.set()
    th.join()
    wall = t3 - t0
    half = [r for ts, r in samples if ts < wall / 2], [r for ts, r in samples if ts >= wall / 2]
    print(json.dumps({"duration_s": x.sizes["time"] / FS, "chunks": x.data.numblocks[0], "peaks": len(peaks),
                      "raster": list(raster.shape), "t_noise": t1 - t0, "t_detect": t2 - t1, "t_raster": t3 - t2,
                      "wall": wall, "cpu": cpu, "maxrss": _vm("VmHWM"), "rss_import": rss_import,
                      "ru_maxrss": 1024 * resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "peak_first_half": max(half[0], default=0), "peak_second_half": max(half[1], default=0),
                      "peaks_nbytes": int(peaks.memory_usage(deep=True).sum()),
                      "load": os.getloadavg()[0]}), flush=True)
    return 0


def _long(s: Session) -> list[Figure]:
    durations = (60, 180) if s.quick else (120, 600)
    res = {}
    for i, dur in enumerate(durations):
        r, out, store_dir, cat_path, name = _synth_catalog(s, dur, f"long-{dur}", seed=10 + i)
        warm(r.raw_path)
        env = {**os.environ, "NPX2020_STORE": str(store_dir), "NPX2020_MIRRORS": "", "NPX2020_USE_KACHERY": "0",
               "PYTHONPATH": os.pathsep.join([str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
        try:
            p = subprocess.run([sys.executable, "-m", "benchmarks.bench_scale", "--child", str(cat_path), name],
                               cwd=str(REPO), env=env, capture_output=True, text=True, timeout=3600)
        finally:
            shutil.rmtree(out, ignore_errors=True)  # 10 min of NP1 is 13.9 GB
        if p.returncode != 0:
            raise RuntimeError(f"child for {dur} s failed ({p.returncode}): {p.stderr[-2000:]}")
        res[dur] = c = json.loads(p.stdout.strip().splitlines()[-1])
        log(f"{dur} s analysis in a subprocess: wall {c['wall']:.1f} s (noise {c['t_noise']:.1f}, detect "
            f"{c['t_detect']:.1f}, raster {c['t_raster']:.2f}), CPU {c['cpu']:.1f} s, peak RSS (VmHWM) "
            f"{c['maxrss'] / 1e9:.2f} GB (after imports {c['rss_import'] / 1e9:.2f} GB; ru_maxrss "
            f"{c['ru_maxrss'] / 1e9:.2f} GB), {c['peaks']} peaks, load avg {c['load']:.1f}")
    a, b = durations
    ra, rb = res[a], res[b]
    k = b / a
    gb = 1e9
    la, lb = f"{a // 60} min", f"{b // 60} min"
    bound = max(ra["maxrss"], rb["maxrss"])
    figs = []
    f = Measured(ISSUE, f"peak RSS (VmHWM) of a full analysis pass, {lb} vs {la} (ratio = {la} peak / {lb} peak)",
                 None, baseline=f"{la}: {ra['maxrss'] / gb:.2f} GB; {lb}: {rb['maxrss'] / gb:.2f} GB",
                 value=ra["maxrss"] / rb["maxrss"],
                 note=(f"peak grows ×{rb['maxrss'] / ra['maxrss']:.2f} for ×{k:g} duration; bound: ≤ "
                       f"{bound / gb:.2f} GB for both, of which {ra['rss_import'] / gb:.2f} GB after imports; "
                       f"sampled RSS peak in the 1st / 2nd half of the {lb} run: {rb['peak_first_half'] / gb:.2f} / "
                       f"{rb['peak_second_half'] / gb:.2f} GB; peaks table {ra['peaks_nbytes'] / 1e6:.0f} / "
                       f"{rb['peaks_nbytes'] / 1e6:.0f} MB; threads scheduler, 2 threads"))
    judge(f, min_ratio=1 / 1.3)
    f.goal = "peak(long) / peak(short) <= 1.3, i.e. ratio >= 0.77"
    figs.append(f)
    f = Figure(ISSUE, f"wall time of a full analysis pass (noise + detect + raster), {lb} × 384 ch", rb["wall"],
               f"{la} run × {k:g} (linear)", ra["wall"] * k, nbytes=int(b * FS * RAW_C * 2),
               note=(f"time ratio {rb['wall'] / ra['wall']:.2f} for duration ratio {k:g}; {la}: {ra['wall']:.1f} s "
                     f"({a / ra['wall']:.1f}x real time, load avg {ra['load']:.1f}), {lb}: {rb['wall']:.1f} s "
                     f"({b / rb['wall']:.1f}x real time, load avg {rb['load']:.1f}); detect alone "
                     f"×{rb['t_detect'] / ra['t_detect']:.2f}; {ra['peaks']} / {rb['peaks']} peaks"))
    judge(f, min_ratio=0.8)
    f.met = bool(f.met and f.ratio <= 1 / 0.75)
    f.goal = "time ratio within ±25 % of duration ratio (ratio 0.8–1.33)"
    figs.append(f)
    figs.append(Figure(ISSUE, f"CPU time (user + sys) of the same pass, {lb}", rb["cpu"], f"{la} run × {k:g} (linear)",
                       ra["cpu"] * k, note=(f"info: CPU ratio {rb['cpu'] / ra['cpu']:.2f} for duration ratio {k:g} "
                                            f"(less sensitive to other load than wall time); {la}: {ra['cpu']:.1f} s, "
                                            f"{lb}: {rb['cpu']:.1f} s")))
    return figs


# -- (d) graphs for an hour-long recording ---------------------------------------------------------------------
def _graphs(s: Session) -> list[Figure]:
    import cloudpickle
    import dask
    from dask.utils import ensure_dict

    import intake_npx2020
    from intake_npx2020 import analysis

    cat = intake_npx2020.open_catalog()
    x = cat[HOUR_ID].to_dask()
    dur = x.sizes["time"] / float(x.attrs["sampling_frequency"])
    chunks = x.data.numblocks[0]
    per_h = 3600.0 / dur
    noise = np.ones(x.sizes["channel"])

    def build_to_dask():
        return cat[HOUR_ID].to_dask().data

    def build_std():
        return x.data.astype("f4").std(axis=0)

    def build_detect():
        return analysis.detect_spikes(x, noise=noise, compute=False)

    figs = []
    for key, fn, label in (("to_dask", build_to_dask, "cat[id].to_dask()"),
                           ("std", build_std, "x.data.astype('f4').std(axis=0)"),
                           ("detect", build_detect, "analysis.detect_spikes(x, noise=…, compute=False)")):
        times = []
        for _ in range(1 if key == "detect" else s.repeats):  # detect: ~20 s per build, one is enough
            t0 = time.perf_counter()
            obj = fn()
            times.append(time.perf_counter() - t0)
        # ensure_dict (HighLevelGraph.to_dict), not dict(hlg): the Mapping protocol looks every key up in every
        # layer, O(keys × layers) — ~40 s for the detect graph of 1 h (3.8k delayed layers)
        t0 = time.perf_counter()
        graph = ensure_dict(obj.__dask_graph__())
        t_dict = time.perf_counter() - t0
        n = len(graph)
        (opt,) = dask.optimize(obj)
        n_opt = len(ensure_dict(opt.__dask_graph__()))
        t0 = time.perf_counter()
        blob = cloudpickle.dumps(graph)
        t_pickle = time.perf_counter() - t0
        log(f"graph {key}: {n} tasks ({n_opt} after dask.optimize), built in {med(times):.3f} s, to dict in "
            f"{t_dict:.3f} s, pickled {len(blob) / 1e6:.1f} MB in {t_pickle:.2f} s")
        f = judge(Measured(ISSUE, f"tasks per hour of recording: {label}", None,
                           baseline=f"{n * per_h:,.0f} tasks/h ({n / chunks:.2f} per 1 s chunk)", value=chunks / n,
                           note=(f"{HOUR_ID}, {dur:.0f} s, {chunks} chunks: {n} tasks; {n_opt} after dask.optimize "
                                 f"({n_opt * per_h:,.0f}/h, {n_opt / chunks:.2f} per chunk); ratio = chunks / tasks")),
                  min_ratio=0.5)
        f.goal = "≈ 1 task per chunk (≤ 2 per chunk: ratio ≥ 0.5); 1 h = 3.6k chunks"
        figs.append(f)
        figs.append(judge(Figure(ISSUE, f"graph build time, 1 h: {label}", med(times) * per_h, note=(
            f"{med(times):.3f} s for {dur:.0f} s, scaled to 1 h"), ours_all=times, profile=fn), max_seconds=1.0))
        if key in ("to_dask", "detect"):
            figs.append(judge(Figure(ISSUE, f"cloudpickle.dumps of the graph, 1 h: {label}", t_pickle * per_h,
                                     nbytes=int(len(blob) * per_h), note=(
                f"{len(blob) / 1e6:.2f} MB for {dur:.0f} s ({len(blob) / n:.0f} B per task), {t_pickle:.3f} s; "
                "scaled to 1 h"), profile=lambda graph=graph: cloudpickle.dumps(graph)), max_seconds=1.0))
    return figs


def run(s: Session) -> list[Figure]:
    return run_parts(s, ISSUE, (_time_to_first_sample, _graphs, _cluster, _long))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.exit(_child(sys.argv[2:]))
    from . import main_for

    sys.exit(main_for(sys.modules[__name__]))
