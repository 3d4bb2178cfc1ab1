"""Issue "catalog": what a user of the catalog entries sees — full passes, trace windows, spike tables.

(a) full pass: per-channel mean and std (``x.astype('f4').mean('time')`` and ``.std('time')`` computed together
    with ``dask.compute``, threads scheduler) over a generated recording (385 raw columns, 384 channels mapped to
    the first 384) through ``RecordingSource(...).to_dask()``, vs the same reduction on ``numpy.memmap`` of the
    same file in 1 s blocks (one thread), and vs ``dask.array.from_array(memmap)`` wrapped the same way (threads).
(b) ``get_traces`` of a 10 s × 384 ch window via the seed-compatible ``legacy.Recording``, vs the 2020 package's
    method (re-implemented here: fetch the bytes of the whole row span, reshape, allocate float64
    (channels, frames), copy channel by channel in a Python loop) and vs spikeinterface ``read_binary``.
(c) a 10-million-spike ``npy1`` sorting into the DataFrame via ``SortingSource.read()``, vs ``np.load`` of the
    two ``.npy`` files.

Run alone: ``python -m benchmarks.bench_catalog [--quick] [--profile]``.
"""

from __future__ import annotations


import numpy as np

from . import FS, RAW_C, Figure, Session, interleaved, judge, log, med, warm, run_parts

ISSUE = "catalog"
N_CH = 384


# -- (a) full pass ------------------------------------------------------------------------------------------
def _full_pass(s: Session) -> list[Figure]:
    import dask
    import dask.array as da
    import xarray as xr

    from intake_npx2020.sources.drivers import RecordingSource

    seconds = 20 if s.quick else 60
    obj, path = s.bin1_object(seconds, N_CH)
    so = s.storage_options()
    warm(path)
    n = seconds * FS
    mm = np.memmap(path, dtype="<i2", mode="r", shape=(n, RAW_C))

    def reduce_xr(x, scheduler):
        """What a user types: xarray's mean/std (skipna defaults to True for floats: nan-aware kernels)."""
        xf = x.astype("f4")
        return dask.compute(xf.mean("time"), xf.std("time"), scheduler=scheduler)

    def reduce_xr_noskip(x, scheduler):
        """The idiom with skipna=False (data converted from int16 holds no NaN)."""
        xf = x.astype("f4")
        return dask.compute(xf.mean("time", skipna=False), xf.std("time", skipna=False), scheduler=scheduler)

    def reduce_sums(x, scheduler):
        """The same algorithm as the numpy loop: per-channel sum and sum of squares, float64 accumulators."""
        xf = x.data.astype(np.float32)
        s1, s2 = dask.compute(xf.sum(axis=0, dtype=np.float64), (xf * xf).sum(axis=0, dtype=np.float64),
                              scheduler=scheduler)
        mean = s1 / n
        return mean, np.sqrt(np.maximum(s2 / n - mean ** 2, 0))

    def ours_x():
        return RecordingSource(recording=obj, chunk_seconds=1.0, storage_options=so).to_dask()

    def memmap_x():
        return xr.DataArray(da.from_array(mm, chunks=(FS, RAW_C))[:, :N_CH], dims=("time", "channel"))

    def numpy_blocks():
        s1 = np.zeros(N_CH)
        s2 = np.zeros(N_CH)
        for a in range(0, n, FS):
            b = mm[a:a + FS, :N_CH].astype(np.float32)
            s1 += b.sum(axis=0, dtype=np.float64)
            s2 += np.square(b).sum(axis=0, dtype=np.float64)
        mean = s1 / n
        return mean, np.sqrt(np.maximum(s2 / n - mean ** 2, 0))

    runs = {
        "ours": lambda: reduce_sums(ours_x(), "threads"),
        "np": numpy_blocks,
        "dmm": lambda: reduce_sums(memmap_x(), "threads"),
        "ours_sync": lambda: reduce_sums(ours_x(), "sync"),
        "ours_xr": lambda: reduce_xr(ours_x(), "threads"),
        "dmm_xr": lambda: reduce_xr(memmap_x(), "threads"),
        "ours_xr_ns": lambda: reduce_xr_noskip(ours_x(), "threads"),
    }
    # correctness: all agree
    ref = numpy_blocks()
    for k, fn in runs.items():
        m, sd = fn()
        assert np.allclose(np.asarray(m), ref[0], rtol=1e-3, atol=1e-3), f"full pass {k}: means disagree"
        assert np.allclose(np.asarray(sd), ref[1], rtol=1e-3, atol=1e-3), f"full pass {k}: stds disagree"

    fast = {k: runs[k] for k in ("ours", "np", "dmm", "ours_sync")}
    t = interleaved(fast, s.repeats, warmup=0)
    slow = {k: runs[k] for k in ("ours_xr", "dmm_xr", "ours_xr_ns")}
    t.update(interleaved(slow, max(2, s.repeats - 2), warmup=0))
    nbytes = n * RAW_C * 2
    note = f"{seconds} s × 385 raw / 384 ch, {nbytes / 1e9:.2f} GB, sum+sumsq in f8"
    prof_sums = lambda: reduce_sums(ours_x(), "sync")  # noqa: E731  (cProfile sees only the calling thread)
    prof_xr = lambda: reduce_xr(ours_x(), "sync")  # noqa: E731
    return [
        judge(Figure(ISSUE, "full pass mean+std, to_dask() threads", med(t["ours"]),
                     "numpy memmap 1 s blocks, 1 thread", med(t["np"]), nbytes=nbytes, note=note,
                     ours_all=t["ours"], base_all=t["np"], profile=prof_sums), min_ratio=0.8),
        judge(Figure(ISSUE, "full pass mean+std, to_dask() threads", med(t["ours"]),
                     "dask.from_array(memmap) threads", med(t["dmm"]), nbytes=nbytes, note="same graph, same reduction",
                     ours_all=t["ours"], base_all=t["dmm"], profile=prof_sums), min_ratio=0.8),
        Figure(ISSUE, "full pass mean+std, to_dask() sync scheduler (1 thread)", med(t["ours_sync"]),
               "numpy memmap 1 s blocks, 1 thread", med(t["np"]), nbytes=nbytes, note="info",
               ours_all=t["ours_sync"], base_all=t["np"]),
        judge(Figure(ISSUE, "full pass xarray idiom .astype('f4').mean('time')/.std('time'), threads",
                     med(t["ours_xr"]), "numpy memmap 1 s blocks, 1 thread", med(t["np"]), nbytes=nbytes,
                     note="nan-aware dask kernels (skipna)", ours_all=t["ours_xr"], base_all=t["np"],
                     profile=prof_xr), min_ratio=0.8),
        Figure(ISSUE, "full pass xarray idiom .mean/.std, threads", med(t["ours_xr"]),
               "same idiom on dask.from_array(memmap)", med(t["dmm_xr"]), nbytes=nbytes, note="info",
               ours_all=t["ours_xr"], base_all=t["dmm_xr"]),
        Figure(ISSUE, "full pass xarray idiom with skipna=False, threads", med(t["ours_xr_ns"]),
               "numpy memmap 1 s blocks, 1 thread", med(t["np"]), nbytes=nbytes, note="info",
               ours_all=t["ours_xr_ns"], base_all=t["np"]),
    ]


# -- (b) get_traces -----------------------------------------------------------------------------------------
def get_traces_2020(path, raw_num_channels: int, channel_map: dict, channel_ids, start_frame: int, end_frame: int):
    """The 2020 ``Bin1RecordingExtractor.get_traces``: whole row span, float64, per-channel Python loop."""
    C = raw_num_channels
    i1, i2 = start_frame * 2 * C, end_frame * 2 * C
    with open(path, "rb") as f:          # kachery's load_bytes(uri, start=i1, end=i2) from the local store
        f.seek(i1)
        buf = f.read(i2 - i1)
    X = np.frombuffer(buf, dtype=np.int16).reshape((end_frame - start_frame, C))
    ret = np.zeros((len(channel_ids), end_frame - start_frame))
    for ii, ch in enumerate(channel_ids):
        ret[ii, :] = X[:, channel_map[str(ch)]]
    return ret


def _get_traces(s: Session) -> list[Figure]:
    from intake_npx2020.sources.drivers import RecordingSource

    seconds = 20 if s.quick else 60
    obj, path = s.bin1_object(seconds, N_CH)
    so = s.storage_options()
    warm(path)
    win = 10 * FS
    starts = [int(a) for a in np.random.default_rng(11).integers(0, seconds * FS - win, size=3)]
    rec = RecordingSource(recording=obj, chunk_seconds=1.0, storage_options=so).to_recording()
    d = obj["data"]
    ids = d["channel_ids"]

    def ours():
        for a in starts:
            rec.get_traces(channel_ids=None, start_frame=a, end_frame=a + win)

    def ours_contig():
        for a in starts:
            np.ascontiguousarray(rec.get_traces(channel_ids=None, start_frame=a, end_frame=a + win))

    def old():
        for a in starts:
            get_traces_2020(path, RAW_C, d["channel_map"], ids, a, a + win)

    fns = {"ours": ours, "ours_c": ours_contig, "2020": old}
    si_rec = None
    try:
        import spikeinterface.core as si

        si_rec = si.read_binary(str(path), sampling_frequency=30000, num_channels=RAW_C, dtype="int16")
        si_ids = si_rec.channel_ids[:N_CH]

        def si_traces():  # read_binary returns a view of a memmap: np.array makes it read the bytes, as ours does
            for a in starts:
                np.array(si_rec.get_traces(start_frame=a, end_frame=a + win, channel_ids=si_ids))

        def si_view():
            for a in starts:
                si_rec.get_traces(start_frame=a, end_frame=a + win, channel_ids=si_ids)

        fns["si"] = si_traces
        fns["si_view"] = si_view
    except ImportError:
        log("spikeinterface is not installed: `pip install spikeinterface` to get that baseline")

    # correctness
    a = starts[0]
    mine = rec.get_traces(channel_ids=None, start_frame=a, end_frame=a + win)
    assert mine.dtype == np.int16 and mine.shape == (N_CH, win)
    assert np.array_equal(mine, get_traces_2020(path, RAW_C, d["channel_map"], ids, a, a + win))
    if si_rec is not None:
        assert np.array_equal(mine, si_rec.get_traces(start_frame=a, end_frame=a + win, channel_ids=si_ids).T)

    # a channel map that drops raw columns (385 raw → 374 channels, as in several 2020 recordings)
    cols374 = [c for c in range(RAW_C) if c % 35 != 34][:374]
    obj374 = {"recording_format": "bin1", "data": dict(d, channel_ids=list(range(374)),
                                                        channel_map={str(i): c for i, c in enumerate(cols374)},
                                                        channel_positions={str(i): [0.0, 20.0 * i] for i in range(374)})}
    rec374 = RecordingSource(recording=obj374, chunk_seconds=1.0, storage_options=so).to_recording()

    def ours374():
        for a in starts:
            rec374.get_traces(channel_ids=None, start_frame=a, end_frame=a + win)

    fns["ours374"] = ours374
    if si_rec is not None:
        si_ids374 = si_rec.channel_ids[cols374]

        def si374():
            for a in starts:
                np.array(si_rec.get_traces(start_frame=a, end_frame=a + win, channel_ids=si_ids374))

        fns["si374"] = si374
        assert np.array_equal(rec374.get_traces(start_frame=a, end_frame=a + win),
                              si_rec.get_traces(start_frame=a, end_frame=a + win, channel_ids=si_ids374).T)

    t = interleaved(fns, s.repeats)
    per = {k: [x / len(starts) for x in v] for k, v in t.items()}
    nbytes = win * N_CH * 2
    figs = [judge(Figure(ISSUE, "get_traces 10 s × 384 ch (int16, (ch, frames) view)", med(per["ours"]),
                         "2020 method (float64, per-channel loop)", med(per["2020"]), nbytes=nbytes,
                         ours_all=per["ours"], base_all=per["2020"], profile=ours), min_ratio=1.0)]
    if "si" in per:
        figs.append(judge(Figure(ISSUE, "get_traces 10 s × 384 ch (int16, (ch, frames) view)", med(per["ours"]),
                                 "spikeinterface read_binary().get_traces, materialised (np.array)", med(per["si"]),
                                 nbytes=nbytes, ours_all=per["ours"], base_all=per["si"], profile=ours),
                          min_ratio=1.0))
        figs.append(Figure(ISSUE, "get_traces 10 s × 384 ch (int16, (ch, frames) view)", med(per["ours"]),
                           "spikeinterface get_traces as returned (lazy memmap view)", med(per["si_view"]),
                           nbytes=nbytes, ours_all=per["ours"], base_all=per["si_view"],
                           note="info: the baseline reads no bytes"))
    if "si374" in per:
        figs.append(Figure(ISSUE, "get_traces 10 s × 374 ch (11 raw columns dropped)", med(per["ours374"]),
                           "spikeinterface get_traces(channel_ids=374), materialised", med(per["si374"]),
                           nbytes=win * 374 * 2, ours_all=per["ours374"], base_all=per["si374"], note="info"))
    figs.append(Figure(ISSUE, "get_traces 10 s × 384 ch + np.ascontiguousarray", med(per["ours_c"]),
                       "2020 method (float64, per-channel loop)", med(per["2020"]), nbytes=nbytes,
                       ours_all=per["ours_c"], base_all=per["2020"], note="info"))
    if "si" in per:
        figs.append(Figure(ISSUE, "get_traces 10 s × 384 ch + np.ascontiguousarray", med(per["ours_c"]),
                           "spikeinterface read_binary().get_traces, materialised (np.array)", med(per["si"]),
                           nbytes=nbytes, ours_all=per["ours_c"], base_all=per["si"], note="info"))
    return figs


# -- (c) spike table ----------------------------------------------------------------------------------------
def _sorting(s: Session) -> list[Figure]:
    from intake_npx2020.sources.drivers import SortingSource

    n = 10_000_000
    rng = np.random.default_rng(5)
    times = np.sort(rng.integers(0, 3600 * FS, n, dtype=np.int64))
    labels = rng.integers(0, 400, n, dtype=np.int64)
    d = s.tmp / "sorting"
    d.mkdir(exist_ok=True)
    paths = {"times": d / "times.npy", "labels": d / "labels.npy", "labels_f8": d / "labels_f8.npy"}
    np.save(paths["times"], times)
    np.save(paths["labels"], labels)
    np.save(paths["labels_f8"], labels.astype(np.float64))  # like curated_good: float64 labels
    uris = {k: s.add(p) for k, p in paths.items()}
    for p in paths.values():
        warm(p)
    so = s.storage_options()
    objs = {lab: {"sorting_format": "npy1", "data": {"times_npy_uri": uris["times"], "labels_npy_uri": uris[key],
                                                      "samplerate": 30000}}
            for lab, key in (("int64", "labels"), ("float64", "labels_f8"))}

    def ours(kind="int64"):
        return SortingSource(sorting=objs[kind], storage_options=so).read()

    def base(kind="int64"):
        return np.load(paths["times"]), np.load(paths["labels" if kind == "int64" else "labels_f8"])

    df = ours()
    assert len(df) == n and list(df.columns[:3]) == ["unit_id", "sample_index", "time"]
    assert np.array_equal(df["sample_index"].to_numpy(), times) and np.array_equal(df["unit_id"].to_numpy(), labels)
    del df

    t = interleaved({"ours": ours, "base": base, "ours_f8": lambda: ours("float64"),
                     "base_f8": lambda: base("float64")}, s.repeats)
    nbytes = n * 16
    return [
        judge(Figure(ISSUE, "10 M-spike npy1 sorting → DataFrame, SortingSource.read()", med(t["ours"]),
                     "np.load of the two .npy files", med(t["base"]), nbytes=nbytes, note="int64 times+labels",
                     ours_all=t["ours"], base_all=t["base"], profile=ours), max_seconds=1.0),
        judge(Figure(ISSUE, "10 M-spike npy1 sorting → DataFrame, SortingSource.read()", med(t["ours_f8"]),
                     "np.load of the two .npy files", med(t["base_f8"]), nbytes=nbytes,
                     note="float64 labels (curated_good case)", ours_all=t["ours_f8"], base_all=t["base_f8"],
                     profile=lambda: ours("float64")), max_seconds=1.0),
    ]


def run(s: Session) -> list[Figure]:
    return run_parts(s, ISSUE, (_full_pass, _get_traces, _sorting))


if __name__ == "__main__":
    import sys

    from . import main_for

    sys.exit(main_for(sys.modules[__name__]))
