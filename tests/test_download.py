"""Fetching whole files from their original sources: ranged, parallel, resumable, verified before admission.

Loopback stubs only: an S3-like anonymous bucket (Allen), a figshare-like redirect to 10-second presigned URLs,
hosts that refuse. Also the derived extracts (both layouts) and ``npx2020 fetch`` / ``info`` on entries.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import stubs
from helpers import make_raw, random_bytes, sha1, write_blob, write_catalog

from intake_npx2020.apps.cli import main
from intake_npx2020.errors import ContentNotFound, FetchError, IntegrityError
from intake_npx2020.store import get_store
from intake_npx2020.store.download import fetch
from intake_npx2020.store.manifest import Chunk, Manifest
from intake_npx2020.store.origin import figshare_download_url

DATA = random_bytes(4_000_000, seed=21)
H = sha1(DATA)
URI = f"sha1://{H}/raw.bin"
PIECE = 200_000


@pytest.fixture
def s3(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with stubs.S3StaticStub(tmp_path / "s3") as s:
        s.put("raw-data/1/2/spike_band.dat", b"HEAD" + DATA + b"TAIL")
        yield s


def _origin(s3, **kw):
    return {"url": s3.object_url("raw-data/1/2/spike_band.dat"), "offset": 4, "size": len(DATA), **kw}


def _gets(stub):
    return [e for e in stub.requests_log if e["method"] == "GET"]


def _downloads(store):
    d = store.own.path / "tmp" / "downloads"
    return sorted(os.listdir(d)) if d.is_dir() else []


def test_fetch_from_a_ranged_source_then_reads_are_chunk_verified(s3):
    st = get_store()
    f = fetch(st, URI, [_origin(s3)], piece=PIECE, progress=False)
    assert f.nbytes == len(DATA) and st.own.locate(H) and st.own.is_pinned(H)
    assert open(st.locate(H), "rb").read() == DATA
    ranges = sorted(e["range"] for e in _gets(s3))
    assert ranges == sorted(f"bytes={4 + a}-{4 + min(a + PIECE, len(DATA)) - 1}" for a in range(0, len(DATA), PIECE))
    m = st.manifest(f.manifest, H)  # a manifest was written: later reads (and other readers) are chunk-verified
    assert m.size == len(DATA) and m.chunks[0].sha1 == sha1(DATA[:m.chunks[0].end])
    assert bytes(st.read(f"{URI}?manifest={f.manifest}", 100, 200)) == DATA[100:200]
    assert _downloads(st) == []  # the partial file and its state are gone
    assert fetch(st, URI, [_origin(s3)]).nbytes == 0


def test_dropped_connection_is_retried(s3):
    s3.truncate_next = [1000, 5000]
    st = get_store()
    assert fetch(st, URI, [_origin(s3)], piece=PIECE, progress=False).nbytes == len(DATA)
    assert st.own.locate(H)


def test_wrong_bytes_are_refused_and_nothing_admitted(s3):
    st = get_store()
    s3.put("other.dat", random_bytes(len(DATA), seed=99))
    bad = {"url": s3.object_url("other.dat"), "size": len(DATA)}
    with pytest.raises(IntegrityError, match="not the catalog's file") as err:
        fetch(st, URI, [bad], piece=PIECE, progress=False)
    assert "\n" not in str(err.value) and "kept" in str(err.value)
    assert st.locate(H) is None and f"{H}.part" in _downloads(st)
    with pytest.raises(IntegrityError, match="removed"):
        fetch(st, URI, [bad], piece=PIECE, progress=False, discard_partial=True)
    assert st.locate(H) is None and _downloads(st) == []


def test_wrong_bytes_stop_at_the_first_piece_when_the_manifest_is_known(s3, tmp_path):
    st = get_store()
    bounds = list(range(0, len(DATA), 500_000)) + [len(DATA)]
    m = Manifest(len(DATA), H, tuple(Chunk(a, b, sha1(DATA[a:b])) for a, b in zip(bounds, bounds[1:])))
    write_blob(st.own.path, m.to_bytes())
    s3.put("other.dat", random_bytes(len(DATA), seed=98))
    with pytest.raises(IntegrityError, match="manifest"):
        fetch(st, f"{URI}?manifest={m.hash}", [{"url": s3.object_url("other.dat")}], progress=False)
    assert len(_gets(s3)) == 1  # stopped at the first piece, not after 4 MB
    assert st.locate(H) is None
    s3.clear_log()
    f = fetch(st, f"{URI}?manifest={m.hash}", [_origin(s3)], progress=False)  # pieces are the manifest's chunks
    assert f.manifest == m.hash and st.own.is_pinned(m.hash)
    assert sorted(e["range"] for e in _gets(s3)) == sorted(f"bytes={4 + c.start}-{4 + c.end - 1}" for c in m.chunks)


def test_kill_during_download_then_resume_skips_verified_pieces(s3, tmp_path):
    s3.delay = 0.3
    code = ("from intake_npx2020.store import get_store\nfrom intake_npx2020.store.download import fetch\n"
            f"fetch(get_store(), {URI!r}, [{_origin(s3)!r}], piece={PIECE}, progress=False)\n")
    env = {**os.environ, "NPX2020_PARALLEL": "2"}
    p = subprocess.Popen([sys.executable, "-c", code], env=env)
    state = get_store().own.path / "tmp" / "downloads" / f"{H}.json"
    deadline = time.monotonic() + 60
    done = {}
    while time.monotonic() < deadline and len(done) < 4:
        time.sleep(0.05)
        try:
            done = json.loads(state.read_text())["done"]
        except (OSError, ValueError):
            pass
    p.kill()  # SIGKILL: no cleanup runs
    p.wait(timeout=10)
    assert 4 <= len(done) < len(DATA) // PIECE, "the download was not caught midway"
    st = get_store()
    assert st.locate(H) is None
    s3.delay = 0
    s3.clear_log()
    f = fetch(st, URI, [_origin(s3)], piece=PIECE, progress=False)
    asked = {int(e["range"][len("bytes="):].split("-")[0]) - 4 for e in _gets(s3)}
    assert asked and not asked & {int(a) for a in done}  # pieces recorded before the kill are not fetched again
    assert f.nbytes <= len(DATA) - len(done) * PIECE
    assert open(st.locate(H), "rb").read() == DATA and _downloads(st) == []


# -- figshare and hosts that refuse --------------------------------------------------------------------

@pytest.fixture
def figshare(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    clock = stubs.Clock()
    with stubs.BucketStub(tmp_path / "fs", bucket="pfigshare-u-files", clock=clock) as b, \
            stubs.FigshareStub(b, clock=clock) as fs:
        fs.add_file(26476589, "dataset1.bin", DATA)
        yield fs, b, clock


def test_figshare_redirect_is_resolved_afresh_for_every_piece(figshare):
    fs, bucket, clock = figshare
    st = get_store()
    f = fetch(st, URI, [{"url": f"{fs.url}/v2/file/download/26476589", "size": len(DATA)}], piece=PIECE,
              progress=False)
    assert f.nbytes == len(DATA) and open(st.locate(H), "rb").read() == DATA
    redirects = [e for e in fs.requests_log if e["status"] == 302]
    assert len(redirects) == len(range(0, len(DATA), PIECE))  # one 302 per piece: the Location is never kept
    assert all("X-Amz-Expires=10" in e["location"] for e in redirects)
    assert all(ua and ua.startswith("intake_npx2020") for ua in fs.user_agents)
    clock.advance(11)  # every Location handed out so far is dead now; a new fetch resolves again and works
    assert requests_status(redirects[0]["location"]) == 403
    other = random_bytes(300_000, seed=5)
    fs.add_file(7, "other.bin", other)
    assert fetch(st, f"sha1://{sha1(other)}", [{"url": f"{fs.url}/files/7", "size": len(other)}]).nbytes == len(other)


def requests_status(url: str) -> int:
    import requests

    return requests.get(url, timeout=5).status_code


@pytest.mark.parametrize("mode, what", [(None, "HTTP 202 with no file: a bot check (x-amzn-waf-action: challenge)"),
                                        ("forbidden", "HTTP 403"), ("notfound", "HTTP 404")])
def test_refusals_are_one_line_errors(figshare, mode, what):
    fs, _, _ = figshare
    fs.mode = mode
    url = f"{fs.url}/ndownloader/files/26476589"  # figshare.com's own route: the WAF challenge since 2025
    with pytest.raises(FetchError) as err:
        fetch(get_store(), URI, [{"url": url, "size": len(DATA)}], piece=PIECE, progress=False)
    text = str(err.value)
    assert "\n" not in text and "127.0.0.1 refused the download" in text and what in text
    assert "npx2020 add FILE" in text and get_store().locate(H) is None


def test_figshare_refusal_advice_names_the_api_url():
    from intake_npx2020.store.origin import _advice

    assert figshare_download_url(26476589) in _advice("https://figshare.com/ndownloader/files/26476589", 202)
    assert "moved" in _advice("https://example.org/x.bin", 404)


# -- derived extracts and entries ----------------------------------------------------------------------

def _recording(uri, raw_num_channels, num_frames, cols, metadata=None):
    from helpers import bin1_object

    return {"driver": "npx_recording", "args": {"recording": bin1_object(uri, raw_num_channels, num_frames, cols)},
            "metadata": {"kind": "recording", **(metadata or {})}}


def _extract_catalog(tmp_path, parent_uri, parent_sources, layouts):
    raw = make_raw(6000, 10, seed=8)
    cols = [0, 1, 2, 4, 5, 6, 7, 8, 9]  # parent channel i on these raw columns (column 3 unmapped)
    sel = raw[:3000][:, [cols[c] for c in (1, 3, 5)]]
    entries = {"parent": _recording(parent_uri, 10, 6000, cols, {"sources": parent_sources})}
    for layout in layouts:
        b = sel.tobytes() if layout == "frame-major" else np.ascontiguousarray(sel.T).tobytes()
        entries[f"ext-{layout}"] = _recording(f"sha1://{sha1(b)}/raw.bin", 3, 3000, [0, 1, 2],
                                              {"parent": "parent", "extract": {"frames": [0, 3000],
                                                                               "channels": [1, 3, 5]}})
    from intake_npx2020.sources.catalog import open_catalog

    return open_catalog(write_catalog(tmp_path / "cat.yaml", entries)), raw


def test_derived_extracts_found_in_either_layout(tmp_path):
    from intake_npx2020.sources.extracts import layout_of
    from intake_npx2020.sources.fetching import fetch_entry

    raw = make_raw(6000, 10, seed=8)
    st = get_store()
    write_blob(st.own.path, raw.tobytes())
    cat, _ = _extract_catalog(tmp_path, f"sha1://{sha1(raw.tobytes())}/p.bin", [], ["frame-major", "channel-major"])
    for layout in ("frame-major", "channel-major"):
        lines = fetch_entry(cat, f"ext-{layout}")
        assert f"layout {layout}" in lines[0] and "the verified parent" in lines[0]
        assert layout_of(st, cat[f"ext-{layout}"].spec.raw_sha1) == layout


def test_extract_from_the_parents_source_when_the_parent_is_not_local(s3, tmp_path):
    from intake_npx2020.sources.fetching import fetch_entry

    raw = make_raw(6000, 10, seed=8)
    s3.put("parent.bin", raw.tobytes())
    cat, _ = _extract_catalog(tmp_path, f"sha1://{sha1(raw.tobytes())}/p.bin",
                              [{"url": s3.object_url("parent.bin"), "verified": False}], ["channel-major"])
    line = fetch_entry(cat, "ext-channel-major")[0]
    assert "layout channel-major" in line and "unverified; the extract's sha1 is checked" in line
    assert [e["range"] for e in _gets(s3)] == [f"bytes=0-{3000 * 10 * 2 - 1}"]  # only the frames needed


def test_cli_fetch_and_info_show_and_use_sources(s3, tmp_path, capsys):
    entry = _recording(URI, 10, len(DATA) // 20, list(range(10)), {"sources": [_origin(s3, note="test bucket")],
                                                                     "size_bytes": len(DATA)})
    cat = write_catalog(tmp_path / "cat.yaml", {"rec": entry})
    assert main(["info", "rec", "--catalog", str(cat)]) == 0
    assert "test bucket" in capsys.readouterr().out
    with pytest.raises(ContentNotFound, match="test bucket"):  # reading names the entry's original sources
        from intake_npx2020.sources.catalog import open_catalog

        open_catalog(cat)["rec"].to_dask().values
    assert main(["fetch", "rec", "--catalog", str(cat), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"fetched {len(DATA)} bytes from {_origin(s3)['url']}" in out
    assert get_store().locate(H)


def test_cli_fetch_refusal_is_one_line(figshare, tmp_path, capsys):
    fs, _, _ = figshare
    fs.mode = "forbidden"
    entry = _recording(URI, 10, len(DATA) // 20, list(range(10)),
                       {"sources": [{"url": f"{fs.url}/files/26476589", "size": len(DATA)}]})
    cat = write_catalog(tmp_path / "cat.yaml", {"rec": entry})
    assert main(["fetch", "rec", "--catalog", str(cat), "--no-progress", "--discard-partial"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "refused the download" in err and "HTTP 403" in err


def test_a_zip_archive_is_refused_at_its_first_bytes(s3):
    s3.put("dataset1.zip", b"PK\x03\x04" + DATA[4:])
    with pytest.raises(FetchError, match="zip archive") as err:
        fetch(get_store(), URI, [{"url": s3.object_url("dataset1.zip"), "size": len(DATA)}], piece=PIECE,
              progress=False, discard_partial=True)
    assert "npx2020 add" in str(err.value) and len(_gets(s3)) == 1  # the first piece is read alone


def test_a_download_larger_than_the_free_space_is_refused_up_front(s3, monkeypatch):
    import shutil

    from intake_npx2020.errors import StoreFullError

    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(StoreFullError, match="GB free"):
        fetch(get_store(), URI, [_origin(s3)], piece=PIECE, progress=False)
    assert _gets(s3) == []


def test_a_catalog_entry_fetches_itself(s3, tmp_path):
    from intake_npx2020.sources.catalog import open_catalog

    entry = _recording(URI, 10, len(DATA) // 20, list(range(10)), {"sources": [_origin(s3)]})
    src = open_catalog(write_catalog(tmp_path / "cat.yaml", {"rec": entry}))["rec"]
    assert f"fetched {len(DATA)} bytes" in src.fetch(progress=False)[0]
    assert np.array_equal(src.to_dask().values, np.frombuffer(DATA, "<i2").reshape(-1, 10))


def test_fetch_a_small_file_without_manifest_from_a_mirror(tmp_path, serve_process):
    """`npx2020 fetch sha1://…` of a file with no manifest comes whole from a mirror, verified (no size needed)."""
    from intake_npx2020.apps.cli import main
    from intake_npx2020.errors import ContentNotFound
    from intake_npx2020.store import get_store
    from intake_npx2020.store.download import fetch

    data = bytes(range(256)) * 400
    src = get_store({"store": str(tmp_path / "src")})
    uri = src.put_bytes(data)
    base = serve_process(tmp_path / "src")
    dst = get_store({"store": str(tmp_path / "dst"), "mirrors": [base], "use_kachery": False})
    got = fetch(dst, f"sha1://{uri}/small.bin")
    assert got.nbytes == len(data) and open(dst.locate(uri), "rb").read() == data
    assert main(["fetch", f"sha1://{'c' * 40}/x", "--store", str(tmp_path / "dst")]) == 1
    with pytest.raises(ContentNotFound, match="no mirror"):
        fetch(dst, f"sha1://{'c' * 40}/x")
