"""Issue 18: packed (compressed, hash-verified) mirrors.

(a) bytes on the wire per raw byte: synthetic NP1 recordings (``intake_npx2020.synth``, 385 columns, seed 1) at
    three noise settings are added to a store, packed with ``npx2020 pack`` (``Packer``), served by
    ``npx2020 serve``, and fetched cold by a client (``Store.fetch``); wire bytes (pack index, manifest,
    compressed chunks) / raw bytes of the file. Goal ≤ 0.4 at realistic noise. Synthetic noise is white and
    Gaussian; real recordings are not (see the caveat in ``benchmarks/README.md``).
(b) decode speed: ``pco.decode_into`` of each packed 20 MB chunk of the default set on one thread pinned to one
    core; MB/s of int16 output. Goal ≥ 230 MB/s (10× real time of a 385-column 30 kHz stream). Also decode +
    sha1 of the decoded bytes, what a client spends per chunk.
(c) a cold pass through a throttled loopback mirror (``benchmarks.throttled``, one token bucket at 100 MB/s for
    all connections, like a 1 GbE link): the same client reads the whole file from the raw mirror (the source
    store: ranged GETs of the file) and from the packed mirror, into a fresh store each repeat. Both as
    ``Store.fetch`` (all chunks at once, ``parallel=4``), as sequential 1 s windows, and as the same windows
    streamed (``cache=False``: verified, not written). Goal: packed ≥ 2× faster.
(d) should the on-disk cache keep chunks compressed? A 1 s × 385 column window (23.1 MB) read from cached raw
    chunks (``Store.read_into``) vs read + decode of the compressed chunks it touches; informational, with the
    capacity gained (1 / ratio).

Run alone: ``python -m benchmarks.bench_packed [--quick]``.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from . import FS, MB, RAW_C, Figure, Session, interleaved, judge, log, med, run_parts

ISSUE = "packed"
#: noise_range (per-channel σ, counts) and common_noise of the three synthetic data sets
NOISE = {"quiet": ((2.5, 3.5), 1.0), "default": ((5.0, 8.0), 1.5), "noisy": ((9.0, 11.0), 2.0)}
RATE_MBPS = 100.0
ROOT = Path(__file__).resolve().parents[1]


def _dataset(s: Session, name: str) -> dict:
    """Generate, add and pack one data set once per session."""
    cache = s.__dict__.setdefault("_packed_sets", {})
    if name in cache:
        return cache[name]
    from intake_npx2020 import synth
    from intake_npx2020.store.config import StoreConfig
    from intake_npx2020.store.engine import Store
    from intake_npx2020.store.pack import Packer
    from intake_npx2020.store.packplan import plan_store, reader_store

    seconds = 8 if s.quick else 20
    noise, common = NOISE[name]
    r = synth.generate(s.tmp / f"pk-{name}", duration=seconds, probe="NP1", seed=1, noise_range=noise,
                       common_noise=common, progress=False)
    src = s.tmp / f"pk-{name}-store"
    store = Store(StoreConfig.from_options({"store": str(src), "mirrors": [], "use_kachery": False,
                                            "kachery_remote": False}))
    uri = store.add_file(r.raw_path, link="hard", progress=False).uri
    dest = s.tmp / f"pk-{name}-packed"
    t0 = time.perf_counter()
    blobs, files = plan_store(reader_store(src, dest / ".npx2020-tmp" / "reader"), src)
    report = Packer(dest, progress=False).run(blobs, files)
    took = time.perf_counter() - t0
    raw = r.raw_path.read_bytes()
    std = float(np.frombuffer(raw, "<i2").reshape(-1, RAW_C)[:, :384].astype("f4").std(axis=0).mean())
    log(f"{name}: {seconds} s NP1, mean channel std {std:.2f} counts; packed {report.chunk_bytes / MB:.0f} MB into "
        f"{report.stored_bytes / MB:.1f} MB in {took:.1f} s ({report.chunk_bytes / MB / took:.0f} MB/s, 2 cores)")
    cache[name] = {"src": src, "packed": dest, "uri": uri, "size": len(raw), "report": report, "pack_s": took,
                   "std": std, "raw": raw}
    return cache[name]


def _server(cmd: list[str]) -> tuple[subprocess.Popen, str]:
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    m = re.search(r"(http://127\.0\.0\.1:\d+)", p.stdout.readline())
    if not m:
        p.terminate()
        raise RuntimeError(f"{cmd} did not start: {p.stderr.read()}")
    return p, m.group(1)


def _stop(p: subprocess.Popen) -> None:
    p.terminate()
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()


def _cold_store(s: Session, base: str, tag: str, **extra):
    from intake_npx2020.store import forget_stores, get_store

    forget_stores()
    so = {"store": str(s.fresh_store_dir(tag)), "mirrors": [base], "use_kachery": False, "kachery_remote": False,
          "packed": True}
    so.update(extra)
    return get_store(so)


def _wire_ratio(s: Session) -> list[Figure]:
    figs = []
    for name in NOISE:
        d = _dataset(s, name)
        proc, base = _server([sys.executable, "-m", "intake_npx2020", "serve", str(d["packed"]), "--port", "0"])
        try:
            st = _cold_store(s, base, f"wire-{name}")
            st.fetch(d["uri"], progress=False)
        finally:
            _stop(proc)
        wire = st.stats["bytes_fetched"]
        per = wire / d["size"]
        noise, common = NOISE[name]
        fig = Figure(ISSUE, f"bytes on the wire per raw byte, synthetic NP1 {name} (σ {noise[0]:g}–{noise[1]:g} "
                     f"counts, common {common:g}; measured std {d['std']:.2f})", None,
                     note=f"{per:.4f}: {wire / MB:.1f} MB for {d['size'] / MB:.1f} MB; "
                          f"{st.stats['packed_chunks']} chunks compressed")
        fig.goal, fig.met = "≤ 0.4", per <= 0.4
        figs.append(fig)
        r = d["report"]
        figs.append(Figure(ISSUE, f"pack {name}: {r.chunks_pco} chunks compressed, {r.chunks_raw} raw (2 jobs)",
                           d["pack_s"], nbytes=r.chunk_bytes, note="info"))
    return figs


def _pinned(fn):
    """Run ``fn()`` with this thread pinned to one CPU (restored afterwards)."""
    if not hasattr(os, "sched_setaffinity"):
        return fn()
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {max(before)})
    try:
        return fn()
    finally:
        os.sched_setaffinity(0, before)


def _decode(s: Session) -> list[Figure]:
    from intake_npx2020.store import pco

    d = _dataset(s, "default")
    blobs = [p.read_bytes() for p in sorted(d["packed"].rglob("*.pco"))]
    outs = [bytearray(_decoded_size(b)) for b in blobs]
    total = sum(len(o) for o in outs)

    def decode_all():
        for b, o in zip(blobs, outs):
            pco.decode_into(b, o)

    def decode_hash_all():
        for b, o in zip(blobs, outs):
            pco.decode_into(b, o)
            hashlib.sha1(o).hexdigest()

    t = _pinned(lambda: interleaved({"dec": decode_all, "dec_sha1": decode_hash_all}, s.repeats))
    best = total / min(t["dec"]) / MB
    return [
        judge(Figure(ISSUE, f"decode the {len(blobs)} compressed chunks of the default set (pco → int16), one core",
                     med(t["dec"]), nbytes=total, ours_all=t["dec"], note=f"best run {best:.0f} MB/s"),
              min_mbps=230),
        Figure(ISSUE, "decode + sha1 of the decoded chunks (a client's work per chunk), one core",
               med(t["dec_sha1"]), nbytes=total, ours_all=t["dec_sha1"], note="info"),
    ]


def _decoded_size(blob: bytes) -> int:
    import pcodec

    return pcodec.standalone.simple_decompress(blob).nbytes


def _cold_throttled(s: Session) -> list[Figure]:
    d = _dataset(s, "default")
    figs = []
    servers = {k: _server([sys.executable, "-m", "benchmarks.throttled", str(d[k]), str(RATE_MBPS)])
               for k in ("src", "packed")}
    try:
        for mode in ("fetch", "windows", "stream"):
            cpu: dict[str, list[float]] = {k: [] for k in servers}

            def one(k: str, mode: str = mode) -> None:
                c0 = time.process_time()
                _cold_pass(s, servers[k][1], d, mode)
                cpu[k].append(time.process_time() - c0)

            t = interleaved({k: (lambda k=k: one(k)) for k in servers}, max(2, s.repeats - 2), warmup=0)
            mode_note = {"fetch": "Store.fetch, parallel 4", "windows": "sequential 1 s windows",
                         "stream": "sequential 1 s windows, cache=False"}[mode]
            fig = judge(Figure(ISSUE, f"cold pass via a {RATE_MBPS:g} MB/s loopback link, {mode}: packed mirror",
                               med(t["packed"]), "raw mirror, same client", med(t["src"]), nbytes=d["size"],
                               ours_all=t["packed"], base_all=t["src"],
                               note=f"{mode_note}; client CPU {med(cpu['packed']):.2f} s packed, "
                                    f"{med(cpu['src']):.2f} s raw"),
                        min_ratio=2.0)
            figs.append(fig)
    finally:
        for p, _ in servers.values():
            _stop(p)
    return figs


def _cold_pass(s: Session, base: str, d: dict, mode: str) -> None:
    st = _cold_store(s, base, f"cold-{mode}", cache=mode != "stream")
    if mode == "fetch":
        st.fetch(d["uri"], progress=False)
    else:
        win = FS * RAW_C * 2
        buf = bytearray(win)
        for off in range(0, d["size"], win):
            n = min(win, d["size"] - off)
            st.read_into(d["uri"], off, memoryview(buf)[:n])


def _cache_choice(s: Session) -> list[Figure]:
    """Warm 1 s windows from cached raw chunks vs from cached compressed chunks (read + decode the touched ones)."""
    from intake_npx2020.store import pco
    from intake_npx2020.store.local import blob_relpath
    from intake_npx2020.store.manifest import Manifest

    from intake_npx2020.store.local import OwnStore
    from intake_npx2020.store.uri import parse_uri

    d = _dataset(s, "default")
    msha1 = parse_uri(d["uri"]).manifest
    mbytes = (d["src"] / blob_relpath(msha1)).read_bytes()
    m = Manifest.from_bytes(mbytes)
    cache_dir = s.fresh_store_dir("cache-choice")
    own = OwnStore(cache_dir)  # a cache as a cold pass leaves it: the manifest and every chunk, raw
    own.put(msha1, mbytes)
    for c in m.chunks:
        own.put(c.sha1, d["raw"][c.start:c.end])
    st = _cold_store(s, "http://127.0.0.1:9", "unused", mirrors=[], store=str(cache_dir))
    win = FS * RAW_C * 2
    rng = np.random.default_rng(3)
    offsets = [int(x) for x in rng.integers(0, d["size"] - win, 10)]
    buf = bytearray(win)
    pco_path = {c.sha1: d["packed"] / (blob_relpath(c.sha1) + ".pco") for c in m.chunks}
    for off in offsets:
        st.read_into(d["uri"], off, memoryview(buf))  # warm the page cache

    def raw_reads():
        for off in offsets:
            st.read_into(d["uri"], off, memoryview(buf))

    def compressed_reads():
        for off in offsets:
            for c in m.chunks_for(off, off + win):
                out = bytearray(c.size)
                pco.decode_into(pco_path[c.sha1].read_bytes(), out)
                a, b = max(off, c.start), min(off + win, c.end)
                buf[a - off:b - off] = out[a - c.start:b - c.start]

    t = _pinned(lambda: interleaved({"raw": raw_reads, "pco": compressed_reads}, s.repeats))
    per = {k: [x / len(offsets) for x in v] for k, v in t.items()}
    r = d["report"]
    return [Figure(ISSUE, "warm 1 s window: cache of compressed chunks (read + decode touched chunks)",
                   med(per["pco"]), "cache of raw chunks (read_into)", med(per["raw"]), nbytes=win,
                   ours_all=per["pco"], base_all=per["raw"],
                   note=f"info; a compressed cache would hold {1 / r.ratio:.2f}x more within the same cap")]


def run(s: Session) -> list[Figure]:
    return run_parts(s, ISSUE, [_wire_ratio, _decode, _cold_throttled, _cache_choice])


if __name__ == "__main__":
    from . import main_for

    sys.exit(main_for(sys.modules[__name__]))
