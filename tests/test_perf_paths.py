"""The fast paths of issue 15 give the same bytes as the plain ones.

* A compute of a selection of ``to_dask()`` is fused into one task that reads straight into the result
  (``schedule.optimize_array``): bit-exact across chunk boundaries, channel slices, lists and gapped maps; never
  for ``persist`` or for graphs that do more than select.
* ``Bin1Recording.read`` gathers channel subsets in one pass over blocks (``formats.gather``), from a whole local
  blob, from manifest chunks only, and through a mirror.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import bin1_object, irregular_bounds, make_raw, put_file

import intake_npx2020.schedule as schedule
from intake_npx2020.arrays import to_xarray
from intake_npx2020.formats import Bin1Recording
from intake_npx2020.formats.gather import column_runs, gather_columns
from intake_npx2020.store import get_store

N, C = 60_000, 385
GAPPED = [c for c in range(C) if c % 35 != 34][:374]          # 11 raw columns dropped
SHUFFLED = list(np.random.default_rng(3).permutation(C)[:300])  # not ascending: np.take path


@pytest.fixture
def raw_store(tmp_path):
    """(raw frames, URI) of a 2 s 385-column file stored as irregular manifest chunks only (no whole blob)."""
    raw = make_raw(N, C, seed=11)
    data = raw.tobytes()
    uri = put_file(tmp_path / "own-store", data, irregular_bounds(len(data), seed=2, lo=700_001, hi=5_000_000),
                   whole=False, chunks=True)
    return raw, uri


@pytest.fixture
def fused_calls(monkeypatch):
    calls = []
    real = schedule.read_window

    def spy(reader, start, stop, channels):
        calls.append((start, stop))
        return real(reader, start, stop, channels)

    monkeypatch.setattr(schedule, "read_window", spy)
    return calls


@pytest.mark.parametrize("cols", [list(range(C)), list(range(384)), GAPPED, SHUFFLED], ids=["all", "384", "gapped",
                                                                                         "shuffled"])
def test_fused_windows_bit_exact(raw_store, fused_calls, cols):
    raw, uri = raw_store
    x = to_xarray(Bin1Recording.from_object(bin1_object(uri, C, N, cols)), chunk_seconds=0.25)
    ref = raw[:, cols]
    rng = np.random.default_rng(5)
    for _ in range(12):
        a = int(rng.integers(0, N - 1))
        b = int(rng.integers(a + 1, min(N, a + 40_000) + 1))
        fused_calls.clear()
        got = x[a:b].values
        assert fused_calls == [(a, b)]  # one task, whatever the number of chunks
        assert got.dtype == np.int16 and got.flags["C_CONTIGUOUS"]
        np.testing.assert_array_equal(got, ref[a:b])
    windows = [(x.isel(time=slice(7_400, 22_600), channel=slice(3, 250)), ref[7_400:22_600, 3:250]),
               (x[29_999:30_001, [5, 1, 200, 7]], ref[29_999:30_001][:, [5, 1, 200, 7]]),
               (x[:, 10:11], ref[:, 10:11]),
               (x.sel(time=slice(0.5, 1.25)), ref[15_000:37_500])]
    for sel, want in windows:
        np.testing.assert_array_equal(sel.values, want)
        np.testing.assert_array_equal(sel.compute().values, want)


def test_not_fused_unless_a_plain_selection(raw_store, fused_calls):
    raw, uri = raw_store
    x = to_xarray(Bin1Recording.from_object(bin1_object(uri, C, N, GAPPED)), chunk_seconds=0.25)
    ref = raw[:, GAPPED]
    np.testing.assert_array_equal((x[100:20_000] + 1).values, ref[100:20_000] + 1)
    np.testing.assert_array_equal(x[100:20_000:3].values, ref[100:20_000:3])
    np.testing.assert_array_equal(x[20_000:100:-1].values, ref[20_000:100:-1])
    np.testing.assert_array_equal(x[1234].values, ref[1234])
    assert fused_calls == []
    kept = x[5_000:40_000].data.persist()
    assert fused_calls == [] and kept.numblocks == (6, 1)  # chunks [5000, 7500), …, [37500, 40000)
    np.testing.assert_array_equal(kept.compute(), ref[5_000:40_000])
    v = x[5_000:6_000].values
    v[:] = 0  # a fused result is the caller's own array
    np.testing.assert_array_equal(x[5_000:6_000].values, ref[5_000:6_000])


def test_not_fused_under_a_user_optimisation(raw_store, fused_calls):
    import dask
    from dask.array.optimization import optimize

    raw, uri = raw_store
    x = to_xarray(Bin1Recording.from_object(bin1_object(uri, C, N, GAPPED)), chunk_seconds=0.25)
    with dask.config.set(array_optimize=optimize):
        np.testing.assert_array_equal(x[10:50_000].values, raw[10:50_000, GAPPED])
    assert fused_calls == []


@pytest.mark.parametrize("cols", [GAPPED, SHUFFLED, [0], list(range(1, C)), [384, 0, 1, 2]])
def test_gather_from_chunks_whole_blob_and_mirror(raw_store, tmp_path, serve_process, cols):
    raw, uri = raw_store
    cols = np.array(cols)
    spec = Bin1Recording.from_object(bin1_object(uri, C, N, list(cols)))
    local = get_store()
    base = serve_process(tmp_path / "own-store")
    remote = get_store({"store": str(tmp_path / "cold"), "mirrors": base})
    whole = put_file(tmp_path / "whole-store", raw.tobytes())
    whole_store = get_store({"store": str(tmp_path / "whole-store")})
    for a, b in [(0, N), (1, 2), (17_001, 47_999), (N - 700, N)]:
        for store, u in ((local, uri), (remote, uri), (whole_store, whole)):
            out = np.empty((b - a, len(cols)), np.int16)
            gather_columns(store, u, a * 2 * C, C, cols, out)
            np.testing.assert_array_equal(out, raw[a:b][:, cols])
        np.testing.assert_array_equal(spec.read(local, a, b), raw[a:b][:, cols])
    assert spec.read(local, 3, 3).shape == (0, len(cols))
    np.testing.assert_array_equal(spec.read(local, 5, 900, 0), raw[5:900, cols[0]])


def test_column_runs():
    assert column_runs(np.array([0, 1, 2, 5, 6, 4])) == [(0, 0, 3), (3, 5, 2), (5, 4, 1)]
    assert column_runs(np.arange(384)) == [(0, 0, 384)]


# -- write-behind of fetched chunks ----------------------------------------------------------------------
def _cold_store(tmp_path, serve_process, blob, **options):
    root, data, uri = blob
    return get_store({"mirrors": serve_process(root), **options}), data, uri


def _big_fsync(fail):
    """An ``os.fsync`` that calls ``fail(fd)`` for files over 100 kB (chunks), the real one for the rest."""
    import os

    real = os.fsync

    def fsync(fd):
        if os.fstat(fd).st_size > 100_000:
            fail(fd)
        return real(fd)
    return fsync


def test_write_behind_failure_raises_store_full_and_leaves_nothing(blob, tmp_path, serve_process, monkeypatch):
    import errno
    import os


    from intake_npx2020.errors import StoreFullError

    s, data, uri = _cold_store(tmp_path, serve_process, blob)
    assert bytes(s.read(uri, 0, 10)) == data[:10]  # the manifest and the first chunk, cached
    s.flush()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", _big_fsync(full))
    assert bytes(s.read(uri, 5_000_000, 5_100_000)) == data[5_000_000:5_100_000]  # verified bytes, returned
    with pytest.raises(StoreFullError, match="NPX2020_CACHE_MAX"):
        s.flush()
    own = tmp_path / "own-store"
    assert settled(s, own) == []
    names = {p.name for p in (own / "sha1").rglob("*") if p.is_file()}
    m = s.manifest(uri.split("manifest=")[1])
    assert not {c.sha1 for c in m.chunks_for(5_000_000, 5_100_000)} & names  # nothing half-made in place
    assert bytes(s.read(uri, 0, 10)) == data[:10]
    s.read(uri, 8_000_000, 8_000_100)
    with pytest.raises(StoreFullError):  # a failed commit is raised by the store's next read
        import time

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            s.read(uri, 0, 10)
            time.sleep(0.02)
    monkeypatch.undo()
    assert settled(s, own) == []


def settled(store, own, timeout: float = 10.0) -> list:
    """The store's temporary entries once read-ahead fetches still on their way have ended (bounded wait)."""
    import contextlib
    import time

    from helpers import tmp_leftovers

    from intake_npx2020.errors import StoreFullError

    deadline = time.monotonic() + timeout
    while True:  # flush first: a read-ahead still receiving has no tmp entry yet, and makes one once verified
        with contextlib.suppress(StoreFullError):
            store.flush()
        left = tmp_leftovers(own)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def test_full_disk_while_writing_behind_is_raised_by_the_next_call(blob, tmp_path, serve_process, monkeypatch):
    import errno
    import os

    from helpers import tmp_leftovers

    from intake_npx2020.errors import StoreFullError
    from intake_npx2020.store import local

    s, data, uri = _cold_store(tmp_path, serve_process, blob, parallel=1)
    assert bytes(s.read(uri, 0, 10)) == data[:10]
    s.flush()
    real = local._write

    def full(path, fd, payload):
        if len(payload) > 100_000:
            os.pwrite(fd, b"x" * 1000, 0)  # part of it went to the disk
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, fd, payload)

    monkeypatch.setattr(local, "_write", full)
    assert bytes(s.read(uri, 6_000_000, 6_000_010)) == data[6_000_000:6_000_010]  # verified, returned
    with pytest.raises(StoreFullError, match="no space left writing blob"):
        s.flush()  # the background write's failure, raised by the store's next call
    monkeypatch.undo()
    assert tmp_leftovers(tmp_path / "own-store") == []
    m = s.manifest(uri.split("manifest=")[1])
    assert not s.own.locate(m.chunks_for(6_000_000, 6_000_001)[0].sha1)  # nothing half-written in place
    s._recent.clear()
    assert bytes(s.read(uri, 6_000_000, 6_000_010)) == data[6_000_000:6_000_010]  # fetched again, now cached
    s.flush()
    assert s.own.locate(m.chunks_for(6_000_000, 6_000_001)[0].sha1)


def test_staged_chunk_read_back_before_its_rename(blob, tmp_path, serve_process, monkeypatch):
    """While a fetched chunk waits for its write, reads of it come from memory, never a second fetch."""
    import os
    import threading

    from helpers import tmp_leftovers

    s, data, uri = _cold_store(tmp_path, serve_process, blob, parallel=1)
    assert bytes(s.read(uri, 0, 10)) == data[:10]
    s.flush()
    gate = threading.Event()
    monkeypatch.setattr(os, "fsync", _big_fsync(lambda fd: gate.wait(20)))
    before = s.stats["chunks_fetched"]
    m = s.manifest(uri.split("manifest=")[1])
    c = m.chunks_for(4_000_000, 4_000_001)[0]
    assert bytes(s.read(uri, c.start, c.start + 100)) == data[c.start:c.start + 100]
    assert c.sha1 in s.writes and not s.own.locate(c.sha1)  # written behind, not yet in place
    assert bytes(s.read(uri, c.end - 1000, c.end)) == data[c.end - 1000:c.end]
    assert bytes(s.fetch_chunk(m.sha1, c, uri)) == data[c.start:c.end]
    assert s.stats["chunks_fetched"] == before + 1
    gate.set()
    s.flush()
    assert s.own.locate(c.sha1) and tmp_leftovers(tmp_path / "own-store") == []


def test_fetch_returns_with_every_chunk_in_place(blob, tmp_path, serve_process):
    from helpers import tmp_leftovers

    s, data, uri = _cold_store(tmp_path, serve_process, blob)
    s.fetch(uri)
    assert s.has_local(uri) and tmp_leftovers(tmp_path / "own-store") == []
    assert bytes(s.read(uri)) == data


@pytest.mark.parametrize("parallel", [1, 4])
def test_streaming_pass_bit_exact_each_chunk_once(blob, tmp_path, serve_process, parallel):
    s, data, uri = _cold_store(tmp_path, serve_process, blob, cache=False, parallel=parallel)
    for a in range(0, len(data), 333_333):
        assert bytes(s.read(uri, a, a + 333_333)) == data[a:a + 333_333]
    m = s.manifest(uri.split("manifest=")[1])
    assert s.stats["chunks_fetched"] == len(m.chunks)
    assert not (tmp_path / "own-store" / "tmp").exists() or not list((tmp_path / "own-store" / "tmp").iterdir())


# -- first sample: entries without templates, one-task graphs in the calling thread ---------------------------
def test_literal_args_skip_jinja_templates_still_expand(tmp_path, monkeypatch):
    import intake.catalog.utils as iu

    from intake_npx2020.sources.catalog import open_catalog, write_catalog_file
    from intake_npx2020.sources.fastentry import templated

    obj = bin1_object("sha1://" + "a" * 40 + "/raw.bin", C, N, GAPPED)
    write_catalog_file(tmp_path / "cat.yaml", {
        "rec": {"driver": "npx_recording", "args": {"recording": obj, "chunk_seconds": 0.5,
                                                    "storage_options": {"read_roots": ["{{ CATALOG_DIR }}/store"]}}},
        "nl": {"driver": "npx_recording", "args": {"recording": "sha1://" + "b" * 40 + "/o.json\n"}}})
    expanded = []
    real = iu._expand

    def spy(p, *a):
        if isinstance(p, str):
            expanded.append(p)
        return real(p, *a)

    monkeypatch.setattr(iu, "_expand", spy)
    cat = open_catalog(tmp_path / "cat.yaml")
    src = cat["rec"]
    assert src.recording == obj and src.chunk_seconds == 0.5  # handed over as written
    root = src.storage_options["read_roots"][0]
    assert root.startswith(str(tmp_path)) and root.endswith("/store")  # the template still rendered
    assert not any("bin1" in e or "sha1://" in e for e in expanded)  # the object was not walked by jinja2
    assert cat["nl"].recording == "sha1://" + "b" * 40 + "/o.json"  # jinja2's own treatment where it applies
    assert cat["rec"](chunk_seconds=2.0).chunk_seconds == 2.0  # user arguments still win
    assert templated({"a": "{{ x }}"}) and templated(["x\n"]) and templated({"a": object()})
    assert not templated({"a": {1, 2}})
    assert not templated({"a": [1, 2.5, None, "text", {"b": "c"}]})


def test_bin1_fast_checks_match_the_slow_ones():
    from intake_npx2020.errors import InvalidObject

    obj = bin1_object("sha1://" + "a" * 40 + "/raw.bin", C, N, GAPPED)
    fast = Bin1Recording.from_object(obj)
    slow_obj = {"recording_format": "bin1", "data": dict(obj["data"], channel_ids=[float(i) for i in range(374)],
                channel_map={str(i): np.int64(c) for i, c in enumerate(GAPPED)},
                channel_positions={str(i): tuple(p) for i, p in obj["data"]["channel_positions"].items()})}
    slow = Bin1Recording.from_object(slow_obj)
    for a, b in [(fast.channel_ids, slow.channel_ids), (fast.columns, slow.columns), (fast.locations, slow.locations)]:
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    for key, value, match in [("channel_ids", list(range(373)) + [True], r"channel_ids\[373\]"),
                              ("channel_map", {**obj["data"]["channel_map"], "5": C}, r"channel_map\[5\] = 385"),
                              ("channel_map", {**obj["data"]["channel_map"], "7": 1.5}, r"channel_map\[7\]"),
                              ("channel_positions", {**obj["data"]["channel_positions"], "9": [0.0, float("nan")]},
                               r"channel_positions\[9\]")]:
        bad = {"recording_format": "bin1", "data": dict(obj["data"], **{key: value})}
        with pytest.raises(InvalidObject, match=match):
            Bin1Recording.from_object(bad)


def test_one_task_graph_runs_in_the_calling_thread(raw_store, monkeypatch):
    import threading

    raw, uri = raw_store
    x = to_xarray(Bin1Recording.from_object(bin1_object(uri, C, N, GAPPED)), chunk_seconds=0.25)
    threads = []
    real = schedule.read_window
    monkeypatch.setattr(schedule, "read_window", lambda *a: threads.append(threading.get_ident()) or real(*a))
    np.testing.assert_array_equal(x[100:40_000].values, raw[100:40_000][:, GAPPED])
    assert threads == [threading.get_ident()]
    np.testing.assert_array_equal(x.data.sum(axis=0).compute(), raw[:, GAPPED].sum(axis=0))  # many tasks: a pool
