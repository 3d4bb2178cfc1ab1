"""Mirrors that lie or misbehave: every anomaly is logged, the next source is tried, the bytes are exact.

Each test puts a scripted mirror (tests/faults.py) before a good one, or alone, and checks that a read returns
exactly the file's bytes, that the anomaly was logged on ``intake_npx2020.store``, that memory follows the size
asked for rather than a header's claim, and that "nowhere" (ContentNotFound) and "broken" (FetchError) differ.
"""

from __future__ import annotations

import logging
import tracemalloc

import numpy as np
import pytest
from faults import ScriptedMirror, put_blob, put_with_manifest, sha1

from intake_npx2020.errors import ContentNotFound, FetchError
from intake_npx2020.store import get_store

BOUNDS = [0, 400_000, 1_000_001, 1_700_000, 2_500_000, 3_000_000]


@pytest.fixture
def source(tmp_path):
    """A store root with a 50 kB file without manifest and a 3 MB file with an irregular manifest."""
    rng = np.random.default_rng(5)
    small = rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes()
    big = rng.integers(0, 256, BOUNDS[-1], dtype=np.uint8).tobytes()
    root = tmp_path / "source"
    small_uri = f"sha1://{put_blob(root, small)}/manip.positions.npy"
    big_uri = put_with_manifest(root, big, BOUNDS, whole=True, chunks=False)  # chunks only as ranges
    return root, small, small_uri, big, big_uri


@pytest.fixture
def mirrors(source):
    """A scripted mirror first, a good one second."""
    root = source[0]
    bad, good = ScriptedMirror(root), ScriptedMirror(root)
    yield bad, good
    bad.close()
    good.close()


def _valid_store(root) -> None:
    for p in (root / "sha1").rglob("*"):
        if p.is_file():
            assert sha1(p.read_bytes()) == p.name, p


def _logged(caplog, text: str) -> bool:
    return any(r.name == "intake_npx2020.store" and text in r.getMessage() for r in caplog.records)


WHOLE_ANOMALIES = ["html200", "cl=10", "cl=0", "cl=abc", "cl=-5", "cl=1e3", "cl=99999999999999999999999",
                   "cl-dup=50000,50000", "cl-dup=50000,10", "claim=1000000000", "chunked-cl", "truncate", "wrong",
                   "longer", "drop", "500", "404"]


@pytest.mark.parametrize("action", WHOLE_ANOMALIES)
def test_file_without_manifest_never_sized_or_cut_by_a_liar(source, mirrors, tmp_path, caplog, action):
    """A lying first mirror cannot make a file without manifest shorter, longer or different, nor raise."""
    root, small, small_uri, *_ = source
    bad, good = mirrors
    bad.script(action)
    caplog.set_level(logging.DEBUG, logger="intake_npx2020.store")
    s = get_store({"mirrors": [bad.url, good.url], "timeout": 2, "retries": 2})
    assert s.size(small_uri) == len(small)  # learnt from verified bytes, not from a header
    assert bytes(s.read(small_uri)) == small
    assert bytes(s.read(small_uri, 49_990, 60_000)) == small[49_990:]
    assert bad.log, "the bad mirror was asked first"
    if action != "404":
        assert _logged(caplog, bad.url), [r.getMessage() for r in caplog.records]
    assert all(r.range is None for r in bad.log + good.log)
    _valid_store(tmp_path / "own-store")


RANGE_ANOMALIES = ["ignore-range", "wrong-range", "cl=10", "cl=abc", "cl=-1", "cl-dup=600001,600001",
                   "claim=1000000000", "html200", "truncate", "wrong", "longer", "chunked-cl", "drop", "503"]


@pytest.mark.parametrize("action", RANGE_ANOMALIES)
def test_chunk_never_taken_from_a_liar(source, mirrors, tmp_path, caplog, action):
    """Every request to the first mirror misbehaves: the chunk comes from the second, exact, and is logged."""
    root, _, _, big, big_uri = source
    bad, good = mirrors
    bad.script(action)
    caplog.set_level(logging.WARNING, logger="intake_npx2020.store")
    s = get_store({"mirrors": [bad.url, good.url], "timeout": 2, "retries": 2})
    a, b = 400_000, 1_000_001  # exactly chunk 1
    assert bytes(s.read(big_uri, a, b)) == big[a:b]
    assert _logged(caplog, bad.url)
    assert any(r.range for r in good.log)
    _valid_store(tmp_path / "own-store")


def test_memory_follows_the_request_not_the_claim(source, mirrors):
    """A mirror claiming 1 GB and sending 10 bytes costs no more memory than the bytes it sends."""
    root, small, small_uri, big, big_uri = source
    bad, good = mirrors
    bad.script("claim=1000000000")
    s = get_store({"mirrors": [bad.url, good.url], "timeout": 2, "retries": 1})
    tracemalloc.start()
    try:
        assert bytes(s.read(small_uri)) == small
        assert bytes(s.read(big_uri, 0, 10)) == big[:10]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, f"peak {peak / 1e6:.0f} MB"


def test_200_to_a_range_is_refused(tmp_path):
    """A mirror ignoring Range (whole file, 200) never has its body taken as the range, even for chunk 0."""
    big = np.random.default_rng(1).integers(0, 256, 1_000_000, dtype=np.uint8).tobytes()
    root = tmp_path / "whole-only"
    uri = put_with_manifest(root, big, [0, 300_000, 1_000_000], whole=True, chunks=False)
    srv = ScriptedMirror(root).script("ignore-range", when="range")
    try:
        s = get_store({"mirrors": srv.url, "timeout": 2, "retries": 2})
        with pytest.raises(FetchError, match="Range"):
            s.read(uri, 0, 10)
        assert [r.action for r in srv.log if r.range] == ["ignore-range"]  # refused at once, not retried
    finally:
        srv.close()


def test_nowhere_is_content_not_found_not_fetch_error(source, tmp_path):
    """Every mirror answers 404: ContentNotFound (never FetchError), naming the mirrors."""
    _, _, small_uri, _, big_uri = source
    (tmp_path / "empty").mkdir()
    a, b = ScriptedMirror(tmp_path / "empty"), ScriptedMirror(tmp_path / "empty")
    try:
        s = get_store({"mirrors": [a.url, b.url], "timeout": 2})
        for uri in (small_uri, big_uri):
            with pytest.raises(ContentNotFound) as err:
                s.read(uri, 0, 10)
            assert not isinstance(err.value, FetchError)
            assert a.url in str(err.value) and b.url in str(err.value)
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("action", ["truncate", "503", "wrong", "drop", "stall-body"])
def test_chunk_fetch_fails_then_recovers(source, tmp_path, action):
    """The ranged request of a chunk fails twice, then succeeds: exact bytes after two retries, on one mirror."""
    root, _, _, big, big_uri = source
    srv = ScriptedMirror(root).script(action, when="range", times=2)
    try:
        s = get_store({"mirrors": srv.url, "timeout": 0.5, "retries": 3})
        assert bytes(s.read(big_uri, 1_700_000, 1_700_100)) == big[1_700_000:1_700_100]
        ranged = [r for r in srv.log if r.range]
        assert [r.action for r in ranged] == [action, action, "ok"]
        assert {r.range for r in ranged} == {"bytes=1700000-2499999"}
        assert s.stats["retries"] == 2
    finally:
        srv.close()
    _valid_store(tmp_path / "own-store")


@pytest.mark.parametrize("start, end, chunks", [
    (400_000, 1_000_001, 1), (400_000, 1_700_000, 2), (0, 400_000, 1), (1_000_001, 1_000_002, 1),
    (1_000_000, 1_000_001, 1), (2_500_000, 3_000_000, 1), (399_999, 400_001, 2), (0, 3_000_000, 5),
    (1_700_000, 1_700_000, 0)])
def test_reads_on_chunk_bounds_fetch_only_their_chunks(source, tmp_path, start, end, chunks):
    """A read starting or ending exactly on a chunk boundary fetches no neighbouring chunk."""
    root, _, _, big, big_uri = source
    srv = ScriptedMirror(root)
    try:
        s = get_store({"mirrors": srv.url, "store": str(tmp_path / f"fresh-{start}-{end}")})
        assert bytes(s.read(big_uri, start, end)) == big[start:end]
        assert len([r for r in srv.log if r.range]) == chunks
        assert s.stats["chunks_fetched"] == chunks
    finally:
        srv.close()


@pytest.mark.parametrize("start, end, chunks", [(400_000, 1_000_001, 1), (0, 400_000, 1), (399_999, 400_001, 2),
                                                (1_000_001, 2_500_000, 2)])
def test_local_chunk_reads_on_bounds_touch_only_their_chunks(tmp_path, start, end, chunks):
    big = np.random.default_rng(2).integers(0, 256, BOUNDS[-1], dtype=np.uint8).tobytes()
    uri = put_with_manifest(tmp_path / "own-store", big, BOUNDS, whole=False, chunks=True)
    s = get_store()
    assert bytes(s.read(uri, start, end)) == big[start:end]
    assert s.stats["chunk_hits"] == chunks and s.stats["requests"] == 0


def test_any_failure_of_a_source_fails_over(source, mirrors, monkeypatch, caplog):
    """Whatever a source raises (here ValueError, MemoryError) is logged as its anomaly; the next one is used."""
    from intake_npx2020.store.mirror import Mirror

    root, small, small_uri, *_ = source
    bad, good = mirrors
    real = Mirror.get

    def broken(self, sha1, *args, **kwargs):
        if self.base == bad.url:
            raise ValueError("invalid literal for int() with base 10: 'abc'")
        return real(self, sha1, *args, **kwargs)

    monkeypatch.setattr(Mirror, "get", broken)
    caplog.set_level(logging.WARNING, logger="intake_npx2020.store")
    assert bytes(get_store({"mirrors": [bad.url, good.url], "retries": 2}).read(small_uri)) == small
    assert _logged(caplog, "ValueError")
