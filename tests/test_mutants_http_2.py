"""Tests written to kill mutmut survivors in ``store/download.py``: whole-file downloads by pieces, from mirrors,
kachery and original sources, resumable and verified.

Each test asserts what a caller or a user sees: the bytes admitted, the manifest written, which pieces are asked
for and how often, the exact text of an error, the progress shown. Sources are small in-process fakes or
loopback servers; expected values come from the inputs and the documented rules, not from the code under test.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from helpers import FaultServer, random_bytes, sha1
from helpers import raises_text as _raises

from intake_npx2020.errors import (
    ContentNotFound,
    FetchError,
    IntegrityError,
    StoreFullError,
)
from intake_npx2020.store import download as dl
from intake_npx2020.store.mirror import Body, PermanentError, TransientError
from intake_npx2020.store.partial import Partial


@pytest.fixture(autouse=True)
def loopback(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def no_backoff(monkeypatch):
    """Retries without their backoff sleeps (the number of attempts is what is tested)."""
    monkeypatch.setattr(dl, "backoff", lambda attempt: 0.0)


class _Bar:
    def __init__(self):
        self.n = 0

    def update(self, k):
        self.n += k


class _Source:
    """A piece source over ``data``: ``faults`` maps a piece start to a list of what its next reads do
    ('transient', 'none', 'wrong', or 'ok'); records every read and the thread it ran in."""

    def __init__(self, data: bytes, name: str = "fake source", faults=None):
        self.data, self.name, self.faults = data, name, {k: list(v) for k, v in (faults or {}).items()}
        self.reads: list[tuple[int, int]] = []
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def read(self, a, b):
        with self.lock:
            self.reads.append((a, b))
            self.threads.add(threading.current_thread().name)
            todo = self.faults.get(a)
            what = todo.pop(0) if todo else "ok"
        if what == "transient":
            raise TransientError(f"flaky {a}")
        if what == "none":
            return None
        data = self.data[a:b] if what == "ok" else bytes(b - a)
        return Body(bytearray(data), sha1(data))


DATA = random_bytes(10_000, seed=41)
H = sha1(DATA)
BOUNDS = [(a, min(a + 1000, len(DATA))) for a in range(0, len(DATA), 1000)]


def _part(tmp_path, bounds=BOUNDS, data=DATA) -> Partial:
    p = Partial(tmp_path, sha1(data), len(data), bounds)
    p.open()
    return p


# == one piece ====================================================================================================

def test_piece_is_retried_on_transient_failures_up_to_the_given_count(no_backoff):
    src = _Source(DATA, faults={0: ["transient", "transient"]})
    assert bytes(dl._piece(src, 0, 1000, sha1(DATA[:1000]), 3).data) == DATA[:1000]
    assert src.reads == [(0, 1000)] * 3
    src = _Source(DATA, faults={1000: ["transient"] * 5})
    assert _raises(TransientError, dl._piece, src, 1000, 2000, None, 4) == \
        "fake source: bytes 1000-1999 failed 4 times; last: flaky 1000"
    assert len(src.reads) == 4
    assert _raises(TransientError, dl._piece, src, 0, 10, None, 0) == \
        "fake source: bytes 0-9 failed 0 times; last: None"


def test_piece_missing_or_not_the_manifests_is_said_at_once():
    src = _Source(DATA, faults={0: ["none"], 2000: ["wrong"]})
    assert _raises(dl.NotHere, dl._piece, src, 0, 1000, None, 3) == "fake source does not have it"
    want = sha1(DATA[2000:3000])
    msg = _raises(IntegrityError, dl._piece, src, 2000, 3000, want, 3)
    assert msg == (f"fake source: bytes 2000-2999 hash to {sha1(bytes(1000))}, but the catalog's manifest says "
                   f"{want}: this source's bytes are not the catalog's file")
    assert src.reads == [(0, 1000), (2000, 3000)]  # neither was retried
    assert bytes(dl._piece(_Source(DATA, faults={0: ["wrong"]}), 0, 1000, None, 1).data) == bytes(1000)  # unchecked


# == pulling every piece ===========================================================================================

def test_pull_reads_every_piece_once_checks_each_and_counts_the_bytes(tmp_path):
    part = _part(tmp_path)
    src, bar = _Source(DATA), _Bar()
    expect = {a: sha1(DATA[a:b]) for a, b in BOUNDS}
    dl._pull(src, part, expect, 2, 1, bar)
    part.close()
    assert sorted(src.reads) == BOUNDS and src.reads[0] == (0, 1000)
    assert part.todo() == [] and part.path.read_bytes() == DATA and bar.n == len(DATA)
    assert part.done == expect
    assert {t.rsplit("_", 1)[0] for t in src.threads} == {"MainThread", "npx2020-download"}


@pytest.mark.parametrize("bad", [0, 2000, 6000, 9000], ids=["first", "early", "queued", "last"])
def test_pull_refuses_a_wrong_piece_wherever_it_is(tmp_path, bad):
    part = _part(tmp_path)
    src = _Source(DATA, faults={bad: ["wrong"]})
    expect = {a: sha1(DATA[a:b]) for a, b in BOUNDS}
    msg = _raises(IntegrityError, dl._pull, src, part, expect, 1, 1, _Bar())
    part.close()
    assert msg.startswith(f"fake source: bytes {bad}-{bad + 999} hash to ")
    assert bad not in part.done


def test_pull_stops_at_the_first_failure(tmp_path):
    part = _part(tmp_path)
    src = _Source(DATA, faults={1000: ["none"]})
    with pytest.raises(dl.NotHere):
        dl._pull(src, part, {}, 1, 1, _Bar())
    part.close()
    assert len(src.reads) < len(BOUNDS)  # the pieces queued after the failure were not asked for


def test_pull_with_nothing_to_do_reads_nothing(tmp_path):
    part = _part(tmp_path, bounds=[(0, len(DATA))])
    part.write(0, DATA, H)
    src = _Source(DATA)
    dl._pull(src, part, {}, 2, 1, _Bar())
    part.close()
    assert src.reads == []


# == sources in turn ===================================================================================================

def test_run_goes_through_the_sources_in_turn_and_says_which_one_finished(tmp_path, no_backoff):
    part = _part(tmp_path)
    config = SimpleNamespace(parallel=2, retries=1)
    gone = _Source(DATA, "source A", faults={0: ["none"]})
    flaky = _Source(DATA, "source B", faults={0: ["transient"] * 5})
    good, spare = _Source(DATA, "source C"), _Source(DATA, "source D")
    used, errors = dl._run(part, [gone, flaky, good, spare], {}, config, _Bar())
    part.close()
    assert used == "source C" and part.todo() == [] and spare.reads == []
    assert errors[0] == "source A: not there"
    assert isinstance(errors[1], TransientError)
    assert str(errors[1]) == "source B: bytes 0-999 failed 5 times; last: flaky 0"  # at least 5 attempts
    assert len(flaky.reads) == 5


def test_run_with_nothing_missing_says_so(tmp_path):
    part = _part(tmp_path, bounds=[(0, len(DATA))])
    part.write(0, DATA, H)
    src = _Source(DATA)
    assert dl._run(part, [src], {}, SimpleNamespace(parallel=1, retries=1), _Bar()) == \
        ("a partial download already complete", [])
    part.close()
    assert src.reads == []


# == a failed download ===================================================================================================


def _uri(h=H):
    from intake_npx2020.store.uri import parse_uri

    return parse_uri(f"sha1://{h}/raw.bin")


def test_failed_download_keeps_what_was_recorded_and_names_the_last_four_errors(tmp_path):
    part = _part(tmp_path)
    part.write(1000, DATA[1000:2000], sha1(DATA[1000:2000]))
    part.write(5000, DATA[5000:6000], sha1(DATA[5000:6000]))
    errors = ["e1: not there", TransientError("e2"), PermanentError("e3"), "e4", FetchError("e5")]
    msg = _raises(FetchError, dl._failed, part, _uri(), errors, False)
    assert msg == (f"sha1://{H}/raw.bin: could not download it: e2 | e3 | e4 | e5. 2000 of 10000 bytes are kept in "
                   f"{part.path}; run the same command again to resume")
    assert part.path.exists() and part.state_path.exists()
    errors.append(IntegrityError("e6"))
    msg = _raises(IntegrityError, dl._failed, part, _uri(), errors, True)
    assert msg == f"sha1://{H}/raw.bin: nothing was admitted: e3 | e4 | e5 | e6. the partial download was removed"
    assert not part.path.exists() and not part.state_path.exists()


def test_failed_download_with_nothing_done_or_no_source(tmp_path):
    part = _part(tmp_path)
    assert _raises(ContentNotFound, dl._failed, part, _uri(), [], False) == \
        f"sha1://{H}/raw.bin: no source to download it from; nothing was downloaded"
    assert not part.path.exists()
    part = _part(tmp_path)
    assert _raises(FetchError, dl._failed, part, _uri(), ["x: not there"], False) == \
        f"sha1://{H}/raw.bin: could not download it: x: not there. nothing was downloaded"


# == free space ====================================================================================================

def test_free_space_is_checked_on_the_nearest_existing_directory(tmp_path, monkeypatch):
    import shutil

    asked = []

    def usage(path):
        asked.append(path)
        return shutil._ntuple_diskusage(10**12, 10**12 - 650_000_000, 650_000_000)

    monkeypatch.setattr(shutil, "disk_usage", usage)
    part = Partial(tmp_path / "not" / "yet", H, 10, [(0, 10)])
    msg = _raises(StoreFullError, dl._check_space, part, 1_050_000_000, _uri())
    assert asked == [tmp_path]
    assert msg == (f"sha1://{H}/raw.bin: the download needs 1.1 GB more, and {tmp_path} has 0.7 GB free: free some "
                   "space, or point NPX2020_STORE at a larger disk")
    dl._check_space(part, 650_000_000, _uri())  # exactly the free space: fits


# == whole downloads from an original source ======================================================================

@pytest.fixture
def origin(tmp_path):
    """A loopback server of ``tmp_path/orig`` (Range honoured, every request logged)."""
    (tmp_path / "orig").mkdir()
    srv = FaultServer(tmp_path / "orig")
    yield srv
    threading.Thread(target=srv.close, daemon=True).start()  # its 0.5 s shutdown poll need not hold up the test


def _serve(srv, name: str, data: bytes) -> dict:
    (srv.root / name).write_bytes(data)
    return {"url": f"{srv.url}/{name}", "size": len(data)}


def test_download_in_small_pieces_shows_progress_and_writes_a_standard_manifest(origin, capsys):
    from intake_npx2020.store import get_store

    data = random_bytes(300_000, seed=42)
    h = sha1(data)
    st = get_store()
    src = _serve(origin, "a.bin", data)
    f = dl.fetch(st, f"sha1://{h}/raw.bin", [src], piece=100_000, progress=True)
    err = capsys.readouterr().err
    assert "download raw.bin:   0%|" in err and f"hash {h}.part:" in err  # sized bars; the file hashed once
    assert (f.uri, f.nbytes, f.source) == (f"sha1://{h}/raw.bin", len(data), src["url"])
    m = st.manifest(f.manifest, h)
    assert [(c.start, c.end, c.sha1) for c in m.chunks] == [(0, len(data), h)]  # one 20 MB chunk, not 3 pieces
    assert st.own.is_pinned(f.manifest) and st.own.is_pinned(h)
    assert sorted(r for _, r, _ in origin.log) == ["bytes=0-99999", "bytes=100000-199999", "bytes=200000-299999"]


def test_download_without_a_label_shows_the_sha1(origin, capsys):
    from intake_npx2020.store import get_store

    data = random_bytes(50_000, seed=43)
    h = sha1(data)
    dl.fetch(get_store(), f"sha1://{h}", [_serve(origin, "b.bin", data)], progress=True)
    assert f"download {h[:12]}:" in capsys.readouterr().err


def test_pieces_of_the_manifest_chunk_size_become_the_manifests_chunks(origin, monkeypatch, capsys):
    from intake_npx2020.store import get_store

    monkeypatch.setattr(dl, "CHUNK_SIZE", 100_000)  # as if the standard chunk were 100 kB
    data = random_bytes(250_000, seed=44)
    h = sha1(data)
    st = get_store()
    f = dl.fetch(st, f"sha1://{h}/raw.bin", [_serve(origin, "c.bin", data)], piece=100_000, progress=True)
    assert f"verify {h[:12]}:   0%|" in capsys.readouterr().err  # the whole file is hashed once, shown with its size
    cuts = [(0, 100_000), (100_000, 200_000), (200_000, 250_000)]
    assert [(c.start, c.end, c.sha1) for c in st.manifest(f.manifest, h).chunks] == \
        [(a, b, sha1(data[a:b])) for a, b in cuts]


def test_zip_magic_past_the_first_piece_is_just_bytes(origin):
    from intake_npx2020.store import get_store

    data = bytearray(random_bytes(200_000, seed=45))
    data[100_000:100_004] = dl.ZIP_MAGIC
    data = bytes(data)
    st = get_store()
    f = dl.fetch(st, f"sha1://{sha1(data)}/raw.bin", [_serve(origin, "d.bin", data)], piece=100_000, progress=False)
    assert f.nbytes == len(data) and st.load_bytes(sha1(data)) == data


def test_an_embedded_file_is_read_at_its_offset_and_named_with_its_range(origin):
    from intake_npx2020.store import get_store

    data = random_bytes(120_000, seed=46)
    (origin.root / "e.bin").write_bytes(b"HEAD" + data + b"TAIL")
    src = {"url": f"{origin.url}/e.bin", "offset": 4, "size": len(data)}
    f = dl.fetch(get_store(), f"sha1://{sha1(data)}/raw.bin", [src], piece=100_000, progress=False)
    assert f.source == f"{origin.url}/e.bin bytes 4-120003"
    assert sorted(r for _, r, _ in origin.log) == ["bytes=100004-120003", "bytes=4-100003"]


def test_the_size_of_the_first_source_that_states_it_is_used(origin):
    from intake_npx2020.store import get_store

    data = random_bytes(30_000, seed=47)
    (origin.root / "f.bin").write_bytes(data)
    unsized = {"url": f"{origin.url}/missing.bin"}
    sized = {"url": f"{origin.url}/f.bin", "size": len(data)}
    f = dl.fetch(get_store(), f"sha1://{sha1(data)}/raw.bin", [unsized, sized], progress=False)
    assert f.source == sized["url"] and f.nbytes == len(data)


# == mirrors and kachery as piece sources ======================================================================

class _Miss:
    """A kachery lookup service that has nothing."""

    def __init__(self):
        import stubs

        class Stub(stubs.base.StubBase):
            def _route(self, h, method, path, query, body):
                h._json(200, {"found": False})

        self.stub = Stub()


def test_piece_sources_are_named_after_the_mirror_or_kachery(tmp_path, monkeypatch):
    from intake_npx2020.store.kachery import KacheryRemote
    from intake_npx2020.store.mirror import Mirror

    m = dl._Pieces(Mirror("http://127.0.0.1:9/m/"), H)
    assert m.name == "mirror http://127.0.0.1:9/m" and m.describe() == "mirror http://127.0.0.1:9/m"
    with _Miss().stub as gw, _Miss().stub as k2:
        monkeypatch.setenv("KACHERY_GATEWAY_URL", gw.url)
        monkeypatch.setenv("KACHERY_BASE_URL", k2.url)
        k = dl._Pieces(KacheryRemote(5.0), H)
        assert k.name == "live kachery" and k.describe() == "live kachery: kachery-cloud gateway, kachery 2"
        part = _part(tmp_path)
        used, errors = dl._run(part, [k], {}, SimpleNamespace(parallel=2, retries=1), _Bar())
        part.close()
    assert (used, errors) == ("", ["live kachery: kachery-cloud gateway, kachery 2: not there"])
    assert [e["json"]["payload"]["hash"] for e in gw.requests_log] == [H]  # it asked for this file


def test_a_mirror_holding_the_whole_file_is_read_by_ranges(tmp_path):
    from helpers import put_file

    from intake_npx2020.store import get_store
    from intake_npx2020.store.uri import parse_uri

    data = random_bytes(250_000, seed=48)
    h = sha1(data)
    put_file(tmp_path / "mirror", data)
    srv = FaultServer(tmp_path / "mirror")
    try:
        st = get_store({"mirrors": [srv.url]})
        f = dl.download(st, parse_uri(f"sha1://{h}/raw.bin"), len(data), [], piece=100_000, progress=False)
    finally:
        srv.close()
    assert (f.nbytes, f.source) == (len(data), f"mirror {srv.url}")
    assert sorted(r for _, r, _ in srv.log) == ["bytes=0-99999", "bytes=100000-199999", "bytes=200000-249999"]
    assert st.load_bytes(h) == data


def test_a_download_cut_short_keeps_its_pieces_by_default(origin):
    from intake_npx2020.store import get_store
    from intake_npx2020.store.origin import Origin
    from intake_npx2020.store.uri import parse_uri

    data = random_bytes(200_000, seed=49)
    h = sha1(data)
    (origin.root / "g.bin").write_bytes(data[:100_000])  # the source has only the first half
    st = get_store()
    u = parse_uri(f"sha1://{h}/raw.bin")
    msg = _raises(FetchError, dl.download, st, u, len(data), [Origin(f"{origin.url}/g.bin")], piece=100_000,
                  progress=False)
    part = st.own.path / "tmp" / "downloads" / f"{h}.part"
    assert msg.endswith(f"100000 of 200000 bytes are kept in {part}; run the same command again to resume"), msg
    assert part.read_bytes()[:100_000] == data[:100_000]


def test_a_zip_archive_is_refused_with_what_to_do(origin):
    from intake_npx2020.store import get_store

    data = dl.ZIP_MAGIC + random_bytes(20_000, seed=50)
    h = sha1(data)
    src = _serve(origin, "h.zip", data)
    msg = _raises(FetchError, dl.fetch, get_store(), f"sha1://{h}/raw.bin", [src], progress=False)
    assert msg.startswith(f"sha1://{h}/raw.bin: could not download it: {src['url']} is a zip archive, not the raw file "
                          "itself: download it, unpack it, and run `npx2020 add` on the raw file. "), msg


def test_a_piece_is_retried_after_a_backoff():
    src = _Source(DATA, faults={0: ["transient"]})
    assert bytes(dl._piece(src, 0, 1000, None, 2).data) == DATA[:1000] and len(src.reads) == 2


def test_an_unreachable_original_source_is_named_with_the_range_asked():
    from helpers import free_port

    from intake_npx2020.store.origin import Origin, OriginReader

    url = f"http://127.0.0.1:{free_port()}/raw.bin"
    msg = _raises(TransientError, OriginReader(timeout=5).read_range, Origin(url, offset=10), 0, 100)
    assert msg.startswith(f"GET {url} bytes 10-109: ConnectionError: "), msg


def test_a_file_whose_whole_hash_is_wrong_is_not_admitted(origin):
    from intake_npx2020.store import get_store

    want = random_bytes(30_000, seed=51)
    other = random_bytes(30_000, seed=52)
    h = sha1(want)
    st = get_store()
    src = _serve(origin, "i.bin", other)
    part = st.own.path / "tmp" / "downloads" / f"{h}.part"
    assert _raises(IntegrityError, dl.fetch, st, f"sha1://{h}/raw.bin", [src], progress=False) == (
        f"the downloaded bytes hash to {sha1(other)}, not to the catalog's {h}: the source's file is not the "
        f"catalog's file. Nothing was admitted; the partial download is kept at {part} (rerun with "
        "--discard-partial to remove it)")
    assert _raises(IntegrityError, dl.fetch, st, f"sha1://{h}/raw.bin", [src], progress=False,
                   discard_partial=True).endswith("Nothing was admitted; the 30000-byte partial download was removed")
    assert st.locate(h) is None and not part.exists()


class _SlowSource(_Source):
    """A piece source whose reads take a while; records how many ran at once."""

    def __init__(self, data):
        super().__init__(data)
        self.now = self.most = 0

    def read(self, a, b):
        import time

        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.03)
        with self.lock:
            self.now -= 1
        return super().read(a, b)


def test_pull_runs_at_most_its_workers_at_once_and_counts_only_what_it_fetched(tmp_path):
    part = _part(tmp_path)
    part.write(0, DATA[:1000], sha1(DATA[:1000]))  # resumed: the first piece is there
    src, bar = _SlowSource(DATA), _Bar()
    dl._pull(src, part, {}, 2, 1, bar)
    part.close()
    assert src.most <= 2 and (0, 1000) not in src.reads and len(src.reads) == 9
    assert bar.n == len(DATA) - 1000 and part.path.read_bytes() == DATA


def test_a_failed_download_asked_to_discard_removes_its_pieces(origin):
    from intake_npx2020.store import get_store
    from intake_npx2020.store.origin import Origin
    from intake_npx2020.store.uri import parse_uri

    data = random_bytes(200_000, seed=53)
    h = sha1(data)
    (origin.root / "j.bin").write_bytes(data[:100_000])
    st = get_store()
    msg = _raises(FetchError, dl.download, st, parse_uri(f"sha1://{h}/raw.bin"), len(data),
                  [Origin(f"{origin.url}/j.bin")], piece=100_000, progress=False, discard_partial=True)
    assert msg.endswith(". the partial download was removed"), msg
    assert not (st.own.path / "tmp" / "downloads" / f"{h}.part").exists()


def test_a_stalled_original_source_is_cut_off_after_the_stores_timeout(tmp_path, no_backoff):
    import time

    from intake_npx2020.store import get_store

    data = random_bytes(2_000, seed=54)
    (tmp_path / "slow").mkdir()
    (tmp_path / "slow" / "k.bin").write_bytes(data)
    srv = FaultServer(tmp_path / "slow", stall_seconds=4.0)
    srv.plan = ["stall"]  # the first answer stalls after 10 bytes; the retry is served
    try:
        st = get_store({"timeout": 0.5, "parallel": 4})
        t = time.monotonic()
        f = dl.fetch(st, f"sha1://{sha1(data)}/raw.bin", [{"url": f"{srv.url}/k.bin", "size": len(data)}],
                     progress=False)
        took = time.monotonic() - t
    finally:
        srv.close()
    assert f.nbytes == len(data) and took < 2.5, took  # cut at ~0.5 s, not after the 4 s stall


def test_a_resumed_download_needs_only_the_space_of_its_missing_pieces(origin, monkeypatch):
    import shutil

    from intake_npx2020.store import get_store

    data = random_bytes(200_000, seed=55)
    h = sha1(data)
    st = get_store()
    part = Partial(st.own.path, h, len(data), [(0, 100_000), (100_000, 200_000)])
    part.open()
    part.write(0, data[:100_000], sha1(data[:100_000]))
    part.close()
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 100_000, 100_000))
    f = dl.fetch(st, f"sha1://{h}/raw.bin", [_serve(origin, "l.bin", data)], piece=100_000, progress=False)
    assert f.nbytes == 100_000 and st.load_bytes(h) == data


def test_a_uri_whose_manifest_cannot_be_had_gets_a_standard_manifest(origin):
    from intake_npx2020.store import get_store

    data = random_bytes(300_000, seed=56)
    h = sha1(data)
    st = get_store()
    f = dl.fetch(st, f"sha1://{h}/raw.bin?manifest={'5' * 40}", [_serve(origin, "m.bin", data)], piece=100_000,
                 progress=False)
    assert f.nbytes == len(data) and f.manifest != "5" * 40
    assert [(c.start, c.end, c.sha1) for c in st.manifest(f.manifest, h).chunks] == [(0, len(data), h)]


def test_a_manifest_of_another_file_is_refused(tmp_path):
    from helpers import put_file

    from intake_npx2020.store import get_store

    other = random_bytes(50_000, seed=57)
    uri = put_file(tmp_path / "own-store", other, [0, 20_000, 50_000], whole=False)
    manifest = uri.split("manifest=")[1]
    h = sha1(b"not that file")
    assert _raises(IntegrityError, dl.fetch, get_store(), f"sha1://{h}/x.bin?manifest={manifest}") == \
        f"manifest {manifest} describes file {sha1(other)}, not {h}; the URI is inconsistent"


def test_a_file_with_a_known_manifest_is_fetched_by_its_chunks_from_the_source(origin):
    from helpers import write_blob

    from intake_npx2020.store import get_store
    from intake_npx2020.store.manifest import Chunk, Manifest

    data = random_bytes(250_000, seed=58)
    h = sha1(data)
    cuts = [(0, 60_000), (60_000, 130_000), (130_000, 250_000)]
    m = Manifest(len(data), h, tuple(Chunk(a, b, sha1(data[a:b])) for a, b in cuts))
    st = get_store()
    write_blob(st.own.path, m.to_bytes())
    f = dl.fetch(st, f"sha1://{h}/raw.bin?manifest={m.hash}", [_serve(origin, "n.bin", data)], progress=False)
    assert (f.nbytes, f.manifest) == (len(data), m.hash) and st.load_bytes(h) == data
    assert sorted(r for _, r, _ in origin.log) == ["bytes=0-59999", "bytes=130000-249999", "bytes=60000-129999"]


def test_chunks_fetched_from_a_mirror_show_their_progress(tmp_path, capsys):
    from helpers import put_file

    from intake_npx2020.store import get_store

    data = random_bytes(200_000, seed=59)
    uri = put_file(tmp_path / "mirror", data, [0, 80_000, 200_000], whole=False, chunks=True)
    srv = FaultServer(tmp_path / "mirror")
    try:
        f = dl.fetch(get_store({"mirrors": [srv.url]}), uri, progress=True)
    finally:
        srv.close()
    assert (f.nbytes, f.source) == (len(data), "stores, mirrors and kachery")
    assert "fetch raw.bin:" in capsys.readouterr().err


def test_a_file_whose_manifest_is_missing_and_no_source_states_a_size_says_so():
    from intake_npx2020.store import get_store

    uri = f"sha1://{sha1(b'gone')}/raw.bin?manifest={'6' * 40}"
    msg = _raises(ContentNotFound, dl.fetch, get_store(), uri)
    assert msg.startswith(f"{uri}: its size is unknown (no manifest, no source states it), so it cannot be "
                          f"downloaded by ranges. manifest {'6' * 40} of {uri}: "), msg
