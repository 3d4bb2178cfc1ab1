"""Issue 15, "close to the limit": each figure against the limit of the machine or the fastest peer.

(a) a 10 s window through ``RecordingSource(...).to_dask()[a:b].values`` (what ``cat[ID].to_dask()`` returns),
    384 of 385 raw columns and a gapped channel map (374 of 385: every 35th column dropped), vs the contiguous
    ``numpy.memmap`` copy of the same frames (``np.array(mm[a:b])``, all 385 columns: the limit), spikeinterface
    ``read_binary(...).get_traces`` materialised (peer) and ``LazyTraces`` read in one call (info). Goals
    ≥ 0.85 (384) and ≥ 0.5 (gapped) of the contiguous copy.
(b) a cold sequential pass over the whole file in 1 s windows (``Store.read_into``), a fresh empty store per
    repeat, default settings (``parallel=4``, sha1 on), cache on and ``cache=False``, with **nginx** serving the
    source store on 127.0.0.1 as the mirror (a temporary config; stopped after), vs the transport limit:
    ``requests`` ``stream=True`` + ``raw.readinto`` of 20 MB ranges into one preallocated buffer, no hashing.
    Goals ≥ 0.5 (cache on) and ≥ 0.7 (``cache=False``). Info rows: the same pass from ``npx2020 serve``; the
    transport with sha1 in the receiving thread; fsspec HTTP and remfile (when installed) reading the same
    windows (no hashing, no cache); the time the write-behind needs to make the last chunk durable after the pass.
(c) first sample in a fresh process: ``open_catalog(path)`` of a catalog the package writes →
    ``cat[ID].to_dask()`` → the first 1 s × 384 ch ``.values``; every import done before the clock starts, page
    cache warm, bytes in the local store. Baseline: zarr in a fresh process, ``zarr.open`` of an uncompressed
    array of the same frames (chunks 1 s × 384) → ``z[:30000]``. Goal ≤ 16 ms (zarr's figure) — judged as
    ratio ≥ 1 against zarr measured in the same run.
(d) ``npx2020 demo`` at its defaults, wall time (a subprocess; the load average is printed). Goal < 30 s.

Run alone: ``python -m benchmarks.bench_limits [--quick] [--only window|cold|first|demo]``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import FS, RAW_C, Figure, Session, interleaved, judge, log, med, run_parts, warm

ISSUE = "limits"
CHUNK = 20_000_000
GAPPED = [c for c in range(RAW_C) if c % 35 != 34][:374]


# -- nginx on 127.0.0.1 --------------------------------------------------------------------------------------
class Nginx:
    """nginx serving ``root`` on 127.0.0.1 from a temporary config (foreground master; ``stop()`` ends it)."""

    def __init__(self, root: Path, workdir: Path):
        self.dir = Path(tempfile.mkdtemp(prefix="nginx-", dir=workdir))
        self.port = _free_port()
        conf = self.dir / "nginx.conf"
        temp = "".join(f"  {k}_temp_path {self.dir}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                         "scgi"))
        conf.write_text(f"""user root;
worker_processes auto;
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
{temp}  server {{
    listen 127.0.0.1:{self.port};
    root {root};
    location / {{ }}
  }}
}}
""")
        self.proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(self.dir)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.base = f"http://127.0.0.1:{self.port}"
        _wait_http(self.base, self.proc)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(base: str, proc) -> None:
    import requests

    for _ in range(100):
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {proc.stderr.read().decode()[-500:]}")
        try:
            requests.get(base + "/", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.05)
    raise RuntimeError("nginx did not answer")


# -- (a) windows -------------------------------------------------------------------------------------------
def _windows(s: Session) -> list[Figure]:
    from intake_npx2020.arrays import lazy_traces_of
    from intake_npx2020.sources.drivers import RecordingSource

    seconds = 20 if s.quick else 60
    obj, path = s.bin1_object(seconds, 384)
    so = s.storage_options()
    warm(path)
    d = obj["data"]
    obj374 = {"recording_format": "bin1", "data": dict(
        d, channel_ids=list(range(374)), channel_map={str(i): c for i, c in enumerate(GAPPED)},
        channel_positions={str(i): [0.0, 20.0 * i] for i in range(374)})}
    x = RecordingSource(recording=obj, storage_options=so).to_dask()
    x374 = RecordingSource(recording=obj374, storage_options=so).to_dask()
    lazy, _ = lazy_traces_of(x.data)
    n = seconds * FS
    mm = np.memmap(path, dtype="<i2", mode="r", shape=(n, RAW_C))
    win = 10 * FS
    starts = [int(a) for a in np.random.default_rng(11).integers(0, n - win, size=3)]
    for a in starts:  # correctness first
        assert np.array_equal(x[a:a + win].values, mm[a:a + win, :384]), "384-channel window differs"
        assert np.array_equal(x374[a:a + win].values, mm[a:a + win][:, GAPPED]), "gapped window differs"
    fns = {"ours": lambda: [x[a:a + win].values for a in starts],
           "ours374": lambda: [x374[a:a + win].values for a in starts],
           "lazy": lambda: [lazy[a:a + win] for a in starts],
           "mm": lambda: [np.array(mm[a:a + win]) for a in starts]}
    try:
        import spikeinterface.core as si

        rec = si.read_binary(str(path), sampling_frequency=FS, num_channels=RAW_C, dtype="int16")
        ids, ids374 = rec.channel_ids[:384], rec.channel_ids[GAPPED]
        fns["si"] = lambda: [np.array(rec.get_traces(start_frame=a, end_frame=a + win, channel_ids=ids))
                             for a in starts]
        fns["si374"] = lambda: [np.array(rec.get_traces(start_frame=a, end_frame=a + win, channel_ids=ids374))
                                for a in starts]
    except ImportError:
        log("spikeinterface is not installed: its rows are skipped")
    t = interleaved(fns, max(5, s.repeats + 4))
    per = {k: [v / len(starts) for v in vs] for k, vs in t.items()}
    nb = win * RAW_C * 2
    note = f"{seconds} s file, 3 windows, load avg {os.getloadavg()[0]:.1f}"
    figs = [judge(Figure(ISSUE, "10 s × 384-of-385 window, to_dask()[a:b].values", med(per["ours"]),
                         "memmap contiguous copy np.array(mm[a:b])", med(per["mm"]), nbytes=nb, note=note,
                         ours_all=per["ours"], base_all=per["mm"], profile=fns["ours"]), min_ratio=0.85),
            judge(Figure(ISSUE, "10 s × 374-of-385 window (gapped map), to_dask()[a:b].values", med(per["ours374"]),
                         "memmap contiguous copy of the same frames", med(per["mm"]), nbytes=nb, note=note,
                         ours_all=per["ours374"], base_all=per["mm"], profile=fns["ours374"]), min_ratio=0.5),
            Figure(ISSUE, "10 s × 384 window, LazyTraces[a:b] in one call", med(per["lazy"]),
                   "memmap contiguous copy", med(per["mm"]), nbytes=nb, note="info", ours_all=per["lazy"],
                   base_all=per["mm"])]
    if "si" in per:
        figs.append(Figure(ISSUE, "10 s × 384 window, to_dask()[a:b].values", med(per["ours"]),
                           "spikeinterface read_binary get_traces, materialised", med(per["si"]), nbytes=nb,
                           note="peer, info", ours_all=per["ours"], base_all=per["si"]))
        figs.append(Figure(ISSUE, "10 s × 374 window (gapped), to_dask()[a:b].values", med(per["ours374"]),
                           "spikeinterface get_traces(channel_ids=374), materialised", med(per["si374"]), nbytes=nb,
                           note="peer, info", ours_all=per["ours374"], base_all=per["si374"]))
    return figs


# -- (b) cold pass ---------------------------------------------------------------------------------------------
def _transport(url: str, size: int, hash_it: bool = False) -> int:
    """The limit: ``requests`` ranged GETs of 20 MB, ``stream=True``, ``raw.readinto`` one preallocated buffer."""
    import requests

    buf = memoryview(bytearray(CHUNK))
    got = 0
    with requests.Session() as sess:
        for a in range(0, size, CHUNK):
            b = min(size, a + CHUNK)
            h = hashlib.sha1() if hash_it else None
            with sess.get(url, headers={"Range": f"bytes={a}-{b - 1}"}, stream=True) as r:
                k = 0
                while k < b - a:
                    m = r.raw.readinto(buf[k:min(b - a, k + (1 << 20))] if hash_it else buf[k:b - a])
                    if not m:
                        break
                    if h is not None:
                        h.update(buf[k:k + m])
                    k += m
            if r.status_code != 206 or k != b - a:
                raise RuntimeError(f"GET {url} bytes {a}-{b - 1}: HTTP {r.status_code}, {k} bytes")
            got += k
    return got


def _peer_windows(kind: str, url: str, size: int, win_bytes: int) -> None:
    """fsspec HTTP or remfile reading the same sequential 1 s windows (no hashing, no cache)."""
    if kind == "fsspec":
        import fsspec

        f = fsspec.filesystem("http").open(url, "rb", block_size=CHUNK)
    else:
        import remfile

        f = remfile.File(url)
    try:
        for off in range(0, size, win_bytes):
            f.seek(off)
            f.read(min(win_bytes, size - off))
    finally:
        f.close()


def _cold(s: Session) -> list[Figure]:
    from intake_npx2020.store import get_store
    from intake_npx2020.store.local import blob_relpath
    from intake_npx2020.store.uri import parse_uri

    seconds = 10 if s.quick else 60
    path = s.raw_file(seconds)
    uri = s.add(path)
    size = path.stat().st_size
    warm(path)
    # The stores of earlier passes are removed only at the end. The root file system of the benchmark VM is ext4
    # without a journal, whose inode allocator then steps over every inode deleted in the last seconds
    # (``recently_deleted``): with a store of 200 files removed just before, that cost 5 % of a cached pass's CPU
    # (perf), a cost of the benchmark's clean-up, not of a cold pass into a store.
    done: list[Path] = []
    ngx = Nginx(s.source_store, s.tmp)
    try:
        bases = {"nginx": ngx.base, "serve": s.mirror()}
        url = f"{ngx.base}/{blob_relpath(parse_uri(uri).sha1)}"
        win = FS * RAW_C * 2
        out = memoryview(bytearray(win))

        def ours(base: str, cache: bool) -> tuple[float, float]:
            d = s.fresh_store_dir("cold")
            st = get_store({"store": str(d), "mirrors": [base], "use_kachery": False, "cache": cache})
            t0 = time.perf_counter()
            for off in range(0, size, win):
                st.read_into(uri, off, out[:min(win, size - off)])
            t1 = time.perf_counter()
            flush = getattr(st, "flush", None)
            if flush is not None:
                flush()
            t2 = time.perf_counter()
            done.append(d)  # removed after the last pass (see above)
            return t1 - t0, t2 - t1

        drains: list[float] = []

        def run(base, cache):
            dt, drain = ours(base, cache)
            if cache and base == ngx.base:
                drains.append(drain)
            return dt

        probe = s.fresh_store_dir("check")  # correctness: a cold window equals the file
        st = get_store({"store": str(probe), "mirrors": [ngx.base], "use_kachery": False})
        with open(path, "rb") as f:
            f.seek(size // 2)
            assert bytes(st.read(uri, size // 2, size // 2 + 10_000)) == f.read(10_000)
        fns = {"transport": lambda: _transport(url, size),
               "transport_sha1": lambda: _transport(url, size, hash_it=True),
               "ours": lambda: run(ngx.base, True),
               "ours_nocache": lambda: run(ngx.base, False),
               "serve": lambda: run(bases["serve"], True),
               "serve_nocache": lambda: run(bases["serve"], False),
               "fsspec": lambda: _peer_windows("fsspec", url, size, win)}
        try:
            import remfile  # noqa: F401

            fns["remfile"] = lambda: _peer_windows("remfile", url, size, win)
        except ImportError:
            log("remfile is not installed (pip install remfile): its row is skipped")
        cpu: dict[str, list[float]] = {}

        def timed_cpu(k, fn):
            def run_one():
                c0 = os.times()
                fn()
                c1 = os.times()
                cpu.setdefault(k, []).append(c1.user - c0.user + c1.system - c0.system)
            return run_one

        t = interleaved({k: timed_cpu(k, fn) for k, fn in fns.items()}, max(3, s.repeats), warmup=1)
    finally:
        ngx.stop()
        for d in done:
            shutil.rmtree(d, ignore_errors=True)
    log("client CPU per pass (all threads of this process): " +
        ", ".join(f"{k} {med(v):.2f} s" for k, v in cpu.items()))
    load = f"load avg {os.getloadavg()[0]:.1f}"
    note = (f"{size / 1e9:.2f} GB, parallel=4, nginx mirror, {load}; client CPU: transport "
            f"{med(cpu['transport']):.2f} s, +sha1 {med(cpu['transport_sha1']):.2f} s, ours {med(cpu['ours']):.2f} s, "
            f"cache=False {med(cpu['ours_nocache']):.2f} s")
    figs = [judge(Figure(ISSUE, "cold sequential 1 s windows, sha1 + cache (default)", med(t["ours"]),
                         "requests stream + readinto 20 MB, no hash (transport limit)", med(t["transport"]),
                         nbytes=size, note=note, ours_all=t["ours"], base_all=t["transport"]), min_ratio=0.5),
            judge(Figure(ISSUE, "cold sequential 1 s windows, sha1, cache=False", med(t["ours_nocache"]),
                         "requests stream + readinto 20 MB, no hash (transport limit)", med(t["transport"]),
                         nbytes=size, note=note, ours_all=t["ours_nocache"], base_all=t["transport"]),
                  min_ratio=0.7),
            Figure(ISSUE, "transport + sha1 in the receiving thread (one connection)", med(t["transport_sha1"]),
                   "transport limit", med(t["transport"]), nbytes=size, note="info"),
            Figure(ISSUE, "cold 1 s windows, sha1 + cache, npx2020 serve as the mirror", med(t["serve"]),
                   "transport limit (nginx)", med(t["transport"]), nbytes=size, note="info"),
            Figure(ISSUE, "cold 1 s windows, cache=False, npx2020 serve as the mirror", med(t["serve_nocache"]),
                   "transport limit (nginx)", med(t["transport"]), nbytes=size, note="info"),
            Figure(ISSUE, "cold 1 s windows, sha1 + cache (default)", med(t["ours"]),
                   "fsspec HTTP, same windows, no hash/cache", med(t["fsspec"]), nbytes=size, note="peer, info")]
    if "remfile" in t:
        figs.append(Figure(ISSUE, "cold 1 s windows, sha1 + cache (default)", med(t["ours"]),
                           "remfile, same windows, no hash/cache", med(t["remfile"]), nbytes=size, note="peer, info"))
    if drains:
        figs.append(Figure(ISSUE, "write-behind: last chunk durable after the pass returned (flush)", med(drains),
                           note=f"info: {len(drains)} passes; fsync + rename of the chunks still queued"))
    return figs


# -- (c) first sample in a fresh process ------------------------------------------------------------------------
_CHILD = r"""
import importlib, json, sys, time
mode, kind, target, name, modfile = sys.argv[1:6]
if mode == "timed":
    for m in json.load(open(modfile)):  # every module the call imports, imported before the clock starts
        try:
            importlib.import_module(m)
        except Exception:
            pass
if kind == "ours":
    import intake_npx2020
    t0 = time.perf_counter()
    cat = intake_npx2020.open_catalog(target)
    t1 = time.perf_counter()
    x = cat[name].to_dask()
    t2 = time.perf_counter()
    a = x.isel(time=slice(0, 30000)).values
    t3 = time.perf_counter()
    steps = {"open_catalog": t1 - t0, "to_dask": t2 - t1, "values": t3 - t2}
else:
    import zarr
    t0 = time.perf_counter()
    z = zarr.open(target, mode="r")
    a = z[:30000]
    t3 = time.perf_counter()
    steps = {}
if mode == "discover":
    json.dump(sorted(m for m in sys.modules if not m.startswith("__")), open(modfile, "w"))
print(json.dumps({"total": t3 - t0, "steps": steps, "sum": int(a.astype("i8").sum()), "shape": list(a.shape)}))
"""


def _child(kind: str, target: str, name: str, modfile: Path, mode: str = "timed") -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, mode, kind, target, name, str(modfile)], capture_output=True,
                         text=True, timeout=300, env={**os.environ, "NPX2020_KACHERY": "0"})
    if out.returncode:
        raise RuntimeError(f"first-sample child ({kind}) failed: {out.stderr[-1500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _first_sample(s: Session) -> list[Figure]:
    import zarr

    from intake_npx2020.sources.catalog import write_catalog_file

    obj, path = s.bin1_object(10 if s.quick else 60, 384)
    warm(path)
    cat = s.tmp / "first-sample" / "catalog.yaml"
    write_catalog_file(cat, {"rec": {"driver": "npx_recording", "args": {
        "recording": obj, "storage_options": {"store": str(s.source_store), "use_kachery": False}}}},
        header="benchmark catalog (issue 15)")
    n = 60 * FS if not s.quick else 10 * FS
    mm = np.memmap(path, dtype="<i2", mode="r", shape=(n, RAW_C))
    zpath = s.tmp / "first-sample" / "traces.zarr"
    z = zarr.open(str(zpath), mode="w", shape=(n, 384), chunks=(FS, 384), dtype="<i2", compressor=None)
    for a in range(0, n, FS):
        z[a:a + FS] = mm[a:a + FS, :384]
    warm_dir = [warm(p) for p in zpath.rglob("*") if p.is_file()]
    log(f"first sample: zarr copy of the frames written ({len(warm_dir)} files)")
    want = int(mm[:FS, :384].astype("i8").sum())
    mods = {k: s.tmp / "first-sample" / f"modules-{k}.json" for k in ("ours", "zarr")}
    for k, target in (("ours", str(cat)), ("zarr", str(zpath))):
        _child(k, target, "rec", mods[k], mode="discover")
    runs: dict[str, list[float]] = {"ours": [], "zarr": []}
    steps: list[dict] = []
    for r in range(max(5, 2 * s.repeats)):
        for k, target in ((("ours", str(cat)), ("zarr", str(zpath))) if r % 2 == 0 else
                          (("zarr", str(zpath)), ("ours", str(cat)))):
            got = _child(k, target, "rec", mods[k])
            assert got["sum"] == want and got["shape"] == [FS, 384], f"first sample ({k}) returned other values"
            runs[k].append(got["total"])
            if k == "ours":
                steps.append(got["steps"])
    step_med = {k: med([st[k] for st in steps]) * 1e3 for k in steps[0]}
    note = ("fresh process each, imports done first; " + " · ".join(f"{k} {v:.1f} ms" for k, v in step_med.items())
            + f"; load avg {os.getloadavg()[0]:.1f}")
    fig = judge(Figure(ISSUE, "first sample: open_catalog → to_dask → 1 s × 384 ch .values, fresh process",
                       med(runs["ours"]), "zarr.open → z[:30000] (uncompressed, chunks 1 s × 384), fresh process",
                       med(runs["zarr"]), note=note, ours_all=runs["ours"], base_all=runs["zarr"]), min_ratio=1.0)
    fig.goal += ", <= 16 ms"
    fig.met = bool(fig.met) and fig.ours_s <= 0.016
    return [fig]


# -- (d) the demo ------------------------------------------------------------------------------------------------
def _demo(s: Session) -> list[Figure]:
    out = s.tmp / "demo"
    t0 = time.perf_counter()
    cpu0 = os.times()
    proc = subprocess.run([sys.executable, "-m", "intake_npx2020", "demo", "--out", str(out)], capture_output=True,
                          text=True, timeout=900)
    dt = time.perf_counter() - t0
    cpu = os.times()
    if proc.returncode:
        raise RuntimeError(f"npx2020 demo failed: {proc.stderr[-1500:]}")
    child_cpu = (cpu.children_user - cpu0.children_user) + (cpu.children_system - cpu0.children_system)
    log("demo output tail: " + " | ".join(proc.stdout.strip().splitlines()[-4:]))
    import importlib.util

    si = importlib.util.find_spec("spikeinterface") is not None  # its peak pipeline joins the ground-truth step
    return [judge(Figure(ISSUE, "npx2020 demo at its defaults, wall time", dt, note=(
        f"CPU {child_cpu:.1f} s in its processes; load avg {os.getloadavg()[0]:.1f}; spikeinterface "
        f"{'installed (its pipeline runs too: the [demo] install does not have it)' if si else 'not installed'}")),
        max_seconds=30)]


def run(s: Session) -> list[Figure]:
    return run_parts(s, ISSUE, (_windows, _cold, _first_sample, _demo))


if __name__ == "__main__":
    from . import main_for

    sys.exit(main_for(sys.modules[__name__]))
