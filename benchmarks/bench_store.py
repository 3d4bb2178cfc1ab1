"""Issue "store": raw byte reads through the content-addressed store.

(a) warm local reads: random 1 s × 385-column windows of a file in the store, ``Store.read_into`` into a
    preallocated buffer, vs ``numpy.memmap`` of the same file (the store's blob is a hard link of it)
    copying the same window with ``np.array(mm[a:b])``.
(b) cold reads through a loopback mirror (``npx2020 serve`` in its own process on 127.0.0.1): a fresh empty
    store per repeat reads the whole file sequentially in 1 s windows (fetching 20 MB manifest chunks,
    verifying their sha1, caching them), vs a plain ``requests.Session`` ranged-GET loop over the same bytes
    in 20 MB ranges with no verification and no caching. Storage option ``parallel`` ∈ {1, 2, 4}; and
    ``Store.fetch`` (the whole file, chunks in parallel) with the same values.
(c) where the cold time goes: each stage of one chunk's cold path timed alone (GET, sha1, cache write with
    fsync, copy out of the cached chunk), so a shortfall in (b) can be attributed.

Run alone: ``python -m benchmarks.bench_store [--quick] [--profile]``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time

import numpy as np

from . import FS, MB, RAW_C, Figure, Session, interleaved, judge, log, med, warm, run_parts

ISSUE = "store"
CHUNK = 20_000_000  # the manifest chunk size add_file writes (kachery-p2p's), and the baseline's range size


def _warm_reads(s: Session) -> list[Figure]:
    seconds = 10 if s.quick else 60
    path = s.raw_file(seconds)
    uri = s.add(path)
    store = s.store()
    warm(path)
    n_frames = seconds * FS
    win = FS                              # 1 s
    nbytes = win * RAW_C * 2              # 23.1 MB
    k = 10 if s.quick else 30             # windows per timed run
    starts = np.random.default_rng(7).integers(0, n_frames - win, size=k)
    offsets = [int(a) * RAW_C * 2 for a in starts]
    buf = np.empty((win, RAW_C), "<i2")
    mv = memoryview(buf).cast("B")
    pre = np.empty((win, RAW_C), "<i2")
    mm = np.memmap(path, dtype="<i2", mode="r", shape=(n_frames, RAW_C))

    # correctness first: the same bytes
    store.read_into(uri, offsets[0], mv)
    assert np.array_equal(buf, mm[starts[0]:starts[0] + win]), "store.read_into returned different bytes"

    def ours():
        for off in offsets:
            store.read_into(uri, off, mv)

    def ours_alloc():
        for off in offsets:
            store.read(uri, off, off + nbytes)

    def memmap_copy():
        for a in starts:
            np.array(mm[a:a + win])

    def memmap_prealloc():
        for a in starts:
            np.copyto(pre, mm[a:a + win])

    t = interleaved({"ours": ours, "ours_alloc": ours_alloc, "mm": memmap_copy, "mm_pre": memmap_prealloc},
                    s.repeats)
    per = {key: [x / k for x in v] for key, v in t.items()}
    figs = [
        judge(Figure(ISSUE, "warm 1 s × 385 ch window, Store.read_into (preallocated)", med(per["ours"]),
                     "memmap np.array(mm[a:b])", med(per["mm"]), nbytes=nbytes, ours_all=per["ours"],
                     base_all=per["mm"], note=f"{seconds} s file, {k} random windows",
                     profile=ours), min_ratio=0.5, min_mbps=1000),
        Figure(ISSUE, "warm 1 s window, Store.read_into (preallocated)", med(per["ours"]),
               "memmap np.copyto(preallocated)", med(per["mm_pre"]), nbytes=nbytes, ours_all=per["ours"],
               base_all=per["mm_pre"], note="stricter baseline, info"),
        Figure(ISSUE, "warm 1 s window, Store.read (allocates a bytearray)", med(per["ours_alloc"]),
               "memmap np.array(mm[a:b])", med(per["mm"]), nbytes=nbytes, ours_all=per["ours_alloc"],
               base_all=per["mm"], note="info"),
    ]
    return figs


def _plain_get(url: str, size: int, readinto: bool = False) -> int:
    """The baseline: ranged GETs of 20 MB with one requests.Session, no verification, no caching.

    ``readinto=False``: ``r.content`` (what a plain loop does). ``readinto=True``: ``stream=True`` and
    ``r.raw.readinto`` a preallocated buffer — the transport limit of the client path the store uses.
    """
    import requests

    buf = memoryview(bytearray(CHUNK)) if readinto else None
    with requests.Session() as sess:
        sess.headers.update({"Accept-Encoding": "identity"})
        got = 0
        for a in range(0, size, CHUNK):
            b = min(size, a + CHUNK)
            if readinto:
                with sess.get(url, headers={"Range": f"bytes={a}-{b - 1}"}, stream=True) as r:
                    k = 0
                    while k < b - a:
                        m = r.raw.readinto(buf[k:b - a])
                        if not m:
                            break
                        k += m
            else:
                r = sess.get(url, headers={"Range": f"bytes={a}-{b - 1}"})
                k = len(r.content)
            if r.status_code != 206 or k != b - a:
                raise RuntimeError(f"baseline GET {url} bytes {a}-{b - 1}: HTTP {r.status_code}, {k} bytes")
            got += k
    return got


def _cold_reads(s: Session) -> list[Figure]:
    from intake_npx2020.store.local import blob_relpath
    from intake_npx2020.store import get_store
    from intake_npx2020.store.uri import parse_uri

    seconds = 10 if s.quick else 60
    path = s.raw_file(seconds)
    uri = s.add(path)
    size = path.stat().st_size
    base = s.mirror()
    warm(path)  # the server reads from the page cache, as a warm nginx would
    url = f"{base}/{blob_relpath(parse_uri(uri).sha1)}"
    win_bytes = FS * RAW_C * 2
    buf = bytearray(win_bytes)
    mv = memoryview(buf)
    repeats = max(2, s.repeats - 2) if not s.quick else 2
    parallels = (1, 2, 4)

    def read_all(st, mode: str) -> None:
        if mode in ("windows", "stream"):
            for off in range(0, size, win_bytes):
                n = min(win_bytes, size - off)
                st.read_into(uri, off, mv[:n])
        else:
            st.fetch(uri, progress=False)

    def fresh(p: int, mode: str):
        d = s.fresh_store_dir(f"{mode}-p{p}")
        return d, get_store({"store": str(d), "mirrors": [base], "use_kachery": False, "parallel": p,
                             "cache": mode != "stream"})

    def run_ours(p: int, mode: str):
        d, st = fresh(p, mode)
        t0 = time.perf_counter()
        read_all(st, mode)
        dt = time.perf_counter() - t0
        stats = dict(st.stats)
        shutil.rmtree(d, ignore_errors=True)
        return dt, stats

    # correctness: a cold window equals the file
    d = s.fresh_store_dir("check")
    st = get_store({"store": str(d), "mirrors": [base], "use_kachery": False})
    probe = size // 2
    got = bytes(st.read(uri, probe, probe + 1000))
    with open(path, "rb") as f:
        f.seek(probe)
        assert got == f.read(1000), "cold read returned different bytes"
    shutil.rmtree(d, ignore_errors=True)

    _plain_get(url, size)  # warm-up: server process, connection, page cache
    base_t: list[float] = []
    raw_t: list[float] = []
    ours_t: dict[tuple[int, str], list[float]] = {}
    last_stats: dict[tuple[int, str], dict] = {}
    for r in range(repeats):
        t0 = time.perf_counter()
        _plain_get(url, size)
        base_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _plain_get(url, size, readinto=True)
        raw_t.append(time.perf_counter() - t0)
        for mode in ("windows", "fetch", "stream"):
            for p in parallels:
                dt, stats = run_ours(p, mode)
                ours_t.setdefault((p, mode), []).append(dt)
                last_stats[(p, mode)] = stats
        log(f"cold repeat {r + 1}/{repeats}: plain GET {size / MB / base_t[-1]:.0f} MB/s (readinto "
            f"{size / MB / raw_t[-1]:.0f}); windows " +
            ", ".join(f"p={p} {size / MB / ours_t[(p, 'windows')][-1]:.0f}" for p in parallels) + " MB/s; fetch " +
            ", ".join(f"p={p} {size / MB / ours_t[(p, 'fetch')][-1]:.0f}" for p in parallels) + " MB/s; stream " +
            ", ".join(f"p={p} {size / MB / ours_t[(p, 'stream')][-1]:.0f}" for p in parallels) + " MB/s")

    def profiler(p: int, mode: str):
        def setup():  # a fresh store is made outside the profiled call; its fetch pool starts inside it
            d, st = fresh(p, mode)
            return (lambda: read_all(st, mode)), (lambda: shutil.rmtree(d, ignore_errors=True))
        return setup

    figs = []
    n_chunks = -(-size // CHUNK)
    for mode in ("windows", "fetch"):
        for p in parallels:
            key = (p, mode)
            stt = last_stats[key]
            note = (f"{size / 1e9:.2f} GB, {stt['chunks_fetched']}/{n_chunks} chunks fetched, "
                    f"{stt['requests']} requests, {stt['retries']} retries")
            name = (f"cold sequential 1 s windows via mirror, parallel={p}" if mode == "windows"
                    else f"cold Store.fetch(whole file) via mirror, parallel={p}")
            fig = Figure(ISSUE, name, med(ours_t[key]), "plain requests ranged GET 20 MB, no verify/cache",
                         med(base_t), nbytes=size, ours_all=ours_t[key], base_all=base_t, note=note,
                         profile_setup=profiler(p, mode))
            figs.append(judge(fig, min_ratio=0.5, min_mbps=100))
    for p in parallels:
        key = (p, "stream")
        figs.append(judge(Figure(ISSUE, f"cold 1 s windows via mirror, cache=False (verify, no disk), parallel={p}",
                                 med(ours_t[key]), "requests stream + readinto 20 MB, no verify", med(raw_t),
                                 nbytes=size, ours_all=ours_t[key], base_all=raw_t,
                                 note=f"{last_stats[key]['chunks_fetched']} chunks fetched",
                                 profile_setup=profiler(p, "stream")), min_ratio=0.8))
    figs.append(Figure(ISSUE, "transport limit: requests stream + raw.readinto (preallocated), 20 MB ranges",
                       med(raw_t), "plain requests ranged GET 20 MB (r.content)", med(base_t), nbytes=size,
                       ours_all=raw_t, base_all=base_t, note="info: no verify/cache on either side"))
    return figs


def _cold_stages(s: Session) -> list[Figure]:
    """Each stage of the cold path for one 20 MB chunk, timed alone (uses store internals read-only)."""
    from intake_npx2020.store.local import OwnStore
    from intake_npx2020.store.mirror import Mirror
    from intake_npx2020.store.uri import parse_uri

    seconds = 10 if s.quick else 60
    path = s.raw_file(seconds)
    uri = s.add(path)
    base = s.mirror()
    u = parse_uri(uri)
    m = s.store().manifest(u.manifest, u.sha1)
    chunk = m.chunks[1]
    mirror = Mirror(base)
    reps = max(5, s.repeats)
    data = mirror.get(u.sha1, chunk.start, chunk.end).data
    out = bytearray(chunk.size)
    d = s.fresh_store_dir("stages")
    own = OwnStore(d)

    def get():
        mirror.get(u.sha1, chunk.start, chunk.end)

    def sha1():
        hashlib.sha1(data).hexdigest()

    def put():
        os.unlink(own.put(chunk.sha1, data))

    cached = OwnStore(d / "read").put(chunk.sha1, data)

    def pread():
        with open(cached, "rb", buffering=0) as f:
            f.readinto(out)

    t = interleaved({"get": get, "sha1": sha1, "put": put, "pread": pread}, reps)
    shutil.rmtree(d, ignore_errors=True)
    total = sum(med(v) for v in t.values())
    figs = []
    labels = {"get": "Mirror.get of one chunk (loopback HTTP)", "sha1": "hashlib.sha1 of one chunk",
              "put": "OwnStore.put of one chunk (write + fsync + rename)",
              "pread": "read of the cached chunk back (page cache)"}
    for k, v in t.items():
        figs.append(Figure(ISSUE, f"cold-path stage: {labels[k]}", med(v), nbytes=chunk.size, ours_all=v,
                           note=f"{100 * med(v) / total:.0f}% of the serial sum, info"))
    return figs


def run(s: Session) -> list[Figure]:
    return run_parts(s, ISSUE, (_warm_reads, _cold_reads, _cold_stages))


if __name__ == "__main__":
    import sys

    from . import main_for

    sys.exit(main_for(sys.modules[__name__]))
