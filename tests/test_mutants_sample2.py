"""Tests written to kill mutants that survived a second sampled mutmut run over the store and the formats.

Each test asserts observable behaviour of known input: a chunk already local is read without asking a mirror, an
error names the URI it is about, a server started not quiet logs its requests, a lookup goes to the configured
service URL. Expected values come from the inputs and the documented rules, never from the code under test.
"""

from __future__ import annotations

import pytest
import stubs
from helpers import FaultServer, put_file, random_bytes, sha1, write_blob
from helpers import raises_text as _raises

from intake_npx2020.errors import ContentNotFound


# == store: origins ========================================================================================

H1 = "1" * 40
H2 = "2" * 40


def test_hint_of_two_files_is_two_sentences_separated_by_a_space(monkeypatch):
    from intake_npx2020.store import origins

    monkeypatch.setattr(origins, "_known", {})
    origins.register(H1, "entry-one", [{"url": "http://127.0.0.1/one.bin"}])
    origins.register(H2, "entry-two", [])
    one, two = origins.hint(H1), origins.hint(H2)
    assert "entry-one" in one and "http://127.0.0.1/one.bin" in one and "entry-two" not in one
    assert "entry-two" in two and "entry-one" not in two
    assert origins.hint(f"blob {H1} of file", f"manifest of {H2}") == f"{one} {two}"
    assert origins.hint(f"{H1} and again {H1}") == one  # each file named once


# == store: engine, cache=False ==============================================================================

def test_uncached_fetch_chunk_reads_a_local_chunk_without_asking_the_mirror(tmp_path):
    from intake_npx2020.store.config import StoreConfig
    from intake_npx2020.store.engine import Store
    from intake_npx2020.store.manifest import Chunk

    data = random_bytes(300_000, seed=21)
    root = tmp_path / "other-store"
    (tmp_path / "empty").mkdir()
    a, b = 100_000, 250_000
    chunk = Chunk(a, b, write_blob(root, data[a:b]))
    srv = FaultServer(tmp_path / "empty")  # answers 404 to everything, and logs every request
    try:
        st = Store(StoreConfig(store=str(tmp_path / "own"), read_roots=(str(root),), mirrors=(srv.url,),
                               cache=False, kachery_remote=False, packed=False, retries=0, timeout=5.0))
        got = st.fetch_chunk(sha1(data), chunk, f"sha1://{sha1(data)}/raw.bin")
        assert bytes(got) == data[a:b]
        assert srv.log == []
        assert st.stats["chunk_hits"] == 1 and st.stats["chunks_fetched"] == 0 and st.stats["requests"] == 0
    finally:
        srv.close()


# == store: pack plans =======================================================================================

def test_plan_uris_copies_a_file_without_a_manifest_from_its_store(tmp_path):
    from intake_npx2020.store.config import StoreConfig
    from intake_npx2020.store.engine import Store
    from intake_npx2020.store.packplan import plan_uris

    data = random_bytes(5000, seed=22)
    root = tmp_path / "src"
    uri = put_file(root, data)
    st = Store(StoreConfig(store=str(root), cache=False, kachery_remote=False, packed=False))
    blobs, files = plan_uris([(st, uri)])
    assert files == {}
    assert list(blobs) == [sha1(data)]
    assert blobs[sha1(data)] is st


# == formats: builders =======================================================================================

def test_npy2_object_keeps_the_given_unit_ids_as_ints():
    import numpy as np

    from intake_npx2020.formats.builders import npy2_object

    obj = npy2_object("sha1://" + H1 + "/s.npz", np.array([7, 3, 11], dtype=np.int64), 25000.0)
    assert obj["data"]["unit_ids"] == [7, 3, 11]
    assert all(type(u) is int for u in obj["data"]["unit_ids"])
    assert obj["data"]["npz_uri"] == "sha1://" + H1 + "/s.npz"
    assert obj["data"]["sampling_frequency"] == 25000.0


# == store: serve ==============================================================================================

def _get(url: str) -> bytes:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as r:
        return r.read()


def test_serve_not_quiet_logs_each_request_and_quiet_logs_nothing(tmp_path, capfd):
    from intake_npx2020.store.local import blob_relpath
    from intake_npx2020.store.serve import serve_in_thread

    data = random_bytes(2000, seed=23)
    root = tmp_path / "store"
    put_file(root, data)
    path = "/" + blob_relpath(sha1(data))
    for quiet in (True, False):
        srv, base = serve_in_thread(root, quiet=quiet)
        try:
            capfd.readouterr()
            assert _get(base + path) == data
        finally:
            srv.shutdown()
            srv.server_close()
        out, err = capfd.readouterr()
        if quiet:
            assert out == "" and err == ""
        else:
            assert f"GET {path} HTTP/1.1" in err and " 200 " in err


# == store: kachery ============================================================================================

class _NotFoundStub(stubs.base.StubBase):
    """Answers every request with a findFile miss, logging its path."""

    def _route(self, h, method, path, query, body):
        h._json(200, {"found": False})


def test_find_gateway_posts_below_the_configured_url_path(monkeypatch):
    from intake_npx2020.store.kachery import find_gateway

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with _NotFoundStub() as s:
        monkeypatch.setenv("KACHERY_GATEWAY_URL", f"{s.url}/gwX/")  # a trailing slash is dropped, nothing more
        assert find_gateway(H1, timeout=5) is None
        assert [(e["method"], e["path"]) for e in s.requests_log] == [("POST", "/gwX/api/gateway")]


# == store: download ==============================================================================================

def test_download_fetch_of_a_missing_manifest_names_the_uri(tmp_path):
    from intake_npx2020.store import get_store
    from intake_npx2020.store.download import fetch

    data = random_bytes(1000, seed=24)
    manifest = "3" * 40
    uri = f"sha1://{sha1(data)}/raw.bin?manifest={manifest}"
    msg = _raises(ContentNotFound, fetch, get_store(), uri)
    assert f"manifest {manifest} of {uri}" in msg, msg


# == store: engine and failover, mirrors ==========================================================================

def test_no_mirror_message_says_none_is_configured_and_how_to_configure_one():
    from intake_npx2020.store import get_store

    msg = _raises(ContentNotFound, get_store().load_bytes, "4" * 40)
    assert "mirrors: none configured (NPX2020_MIRRORS)" in msg, msg


def test_chunk_blob_with_a_wrong_content_length_is_refused_unread_and_not_retried(tmp_path):
    from intake_npx2020.errors import FetchError
    from intake_npx2020.store import get_store
    from intake_npx2020.store.local import blob_relpath
    from intake_npx2020.store.manifest import Manifest

    data = random_bytes(200_000, seed=25)
    uri = put_file(tmp_path / "own-store", data, [0, 120_000, 200_000], whole=False)  # the manifest only
    m = Manifest.from_bytes((tmp_path / "own-store" / blob_relpath(uri.split("manifest=")[1])).read_bytes())
    c = m.chunks[0]
    mirror = tmp_path / "mirror"
    p = mirror / blob_relpath(c.sha1)
    p.parent.mkdir(parents=True)
    p.write_bytes(data[c.start:c.end] + b"12345")  # longer than the manifest says
    srv = FaultServer(mirror)
    try:
        st = get_store({"mirrors": srv.url, "retries": 3})
        msg = _raises(FetchError, st.read, uri, c.start, c.end)
        assert f"Content-Length {c.size + 5} but {c.size} bytes were asked for" in msg, msg
        assert [path for path, _, _ in srv.log].count("/" + blob_relpath(c.sha1)) == 1
    finally:
        srv.close()


class _ChunkedStub(stubs.base.StubBase):
    """Serves ``blobs`` (path -> bytes) with ``Transfer-Encoding: chunked`` (no Content-Length); 404 otherwise."""

    def __init__(self, blobs: dict[str, bytes]):
        super().__init__()
        self.blobs = blobs

    def _route(self, h, method, path, query, body):
        data = self.blobs.get(path)
        if data is None:
            return h._send(404, b"not found", "text/plain")
        h._status = h._entry["status"] = 200
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        for i in range(0, len(data), 7000):
            part = data[i:i + 7000]
            h.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
        h.wfile.write(b"0\r\n\r\n")


def test_whole_blob_from_a_mirror_without_content_length(monkeypatch):
    from intake_npx2020.store import get_store
    from intake_npx2020.store.local import blob_relpath

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    data = random_bytes(30_000, seed=26)
    h = sha1(data)
    with _ChunkedStub({"/" + blob_relpath(h): data}) as s:
        st = get_store({"mirrors": s.url, "retries": 1})
        assert st.load_bytes(h) == data
        assert [(e["path"], e["status"]) for e in s.requests_log] == [("/" + blob_relpath(h), 200)]


# == store: packed mirrors ==========================================================================================

def test_packed_chunk_transient_errors_are_named_in_the_final_error(tmp_path, monkeypatch):
    import numpy as np

    from intake_npx2020.errors import FetchError
    from intake_npx2020.store import get_store, pco
    from intake_npx2020.store.local import blob_relpath
    from intake_npx2020.store.manifest import Manifest
    from intake_npx2020.store.packindex import PackIndex, Stored

    if not pco.available():
        pytest.skip("pcodec is not installed")
    monkeypatch.setenv("NPX2020_PACKED", "1")
    data = (np.arange(100_000, dtype="<i2") % 97).tobytes()
    uri = put_file(tmp_path / "own-store", data, [0, 100_000, 200_000], whole=False)  # the manifest only
    mh = uri.split("manifest=")[1]
    m = Manifest.from_bytes((tmp_path / "own-store" / blob_relpath(mh)).read_bytes())
    mirror = tmp_path / "packed"
    stored = []
    for c in m.chunks:
        enc = pco.encode(data[c.start:c.end])
        p = mirror / (blob_relpath(c.sha1) + ".pco")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(enc)
        stored.append(Stored(c, "pco", len(enc), sha1(enc)))
    index = PackIndex(m.sha1, m.size, mh, pco.CODEC, pco.ENCODER, tuple(stored))
    p = mirror / (blob_relpath(m.sha1) + ".pco.json")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(index.to_bytes())
    srv = FaultServer(mirror)
    try:
        st = get_store({"mirrors": srv.url, "retries": 2, "packed": True})
        c = m.chunks[0]
        srv.plan = ["ok", "503", "503"]  # the index, then both attempts at the compressed chunk
        msg = _raises(FetchError, st.read, uri, c.start, c.end)
        assert f"GET {srv.url}/{blob_relpath(c.sha1)}.pco: HTTP 503" in msg, msg
        assert [f for _, _, f in srv.log][:3] == ["ok", "503", "503"]
    finally:
        srv.close()


# == store: presigned URL reuse =====================================================================================

def test_a_url_with_an_hour_left_is_reused_until_five_minutes_before_it_expires():
    import calendar

    from intake_npx2020.store.remote_http import reuse_until

    signed = calendar.timegm((2030, 5, 6, 7, 8, 9))
    url = "http://127.0.0.1/b/k?X-Amz-Date=20300506T070809Z&X-Amz-Expires=7200&X-Amz-Signature=ab"
    now = signed + 3600  # an hour of its two left
    assert reuse_until(url, now) == signed + 7200 - 5 * 60
    assert reuse_until(url, signed + 7200 - 200) == signed + 7200 - 100  # under 10 min left: half of it


# == formats: SpikeGLX ==============================================================================================

def test_spikeglx_missing_int_field_names_the_meta_file(tmp_path):
    from intake_npx2020.errors import InvalidInputFile
    from intake_npx2020.formats.spikeglx import saved_channels

    meta_path = tmp_path / "run_g0_t0.imec0.ap.meta"
    msg = _raises(InvalidInputFile, saved_channels, {"snsApLfSy": "384,0,1"}, meta_path)
    assert msg == f"{meta_path}: field nSavedChans is missing"


def test_spikeglx_geometry_without_probeinterface_names_the_probe_extra(tmp_path, monkeypatch):
    import sys

    from intake_npx2020.errors import MissingExtra
    from intake_npx2020.formats.spikeglx import _probe

    monkeypatch.setitem(sys.modules, "probeinterface", None)
    msg = _raises(MissingExtra, _probe, tmp_path / "x.ap.meta", 384)
    assert "reading SpikeGLX geometry" in msg and "pip install 'intake_npx2020[probe]'" in msg, msg


# == store: original sources ========================================================================================

def test_a_source_is_verified_unless_it_says_otherwise():
    from intake_npx2020.store.origin import Origin

    plain = Origin.parse("http://127.0.0.1/a.bin")
    mapped = Origin.parse({"url": "http://127.0.0.1/b.bin", "note": "a copy"})
    unverified = Origin.parse({"url": "http://127.0.0.1/c.bin", "verified": False})
    assert plain.verified is True and mapped.verified is True and unverified.verified is False
    assert plain.describe() == "http://127.0.0.1/a.bin"
    assert unverified.describe() == "http://127.0.0.1/c.bin (not yet verified)"


# == store: downloads from original sources =========================================================================

def test_fetch_falls_back_to_the_original_source_when_the_mirror_lacks_the_file(tmp_path):
    from intake_npx2020.store import get_store
    from intake_npx2020.store.download import fetch

    data = random_bytes(150_000, seed=27)
    h = sha1(data)
    (tmp_path / "empty").mkdir()
    (tmp_path / "orig").mkdir()
    (tmp_path / "orig" / "file.bin").write_bytes(data)
    mirror, origin = FaultServer(tmp_path / "empty"), FaultServer(tmp_path / "orig")
    try:
        st = get_store({"mirrors": mirror.url, "retries": 1})
        got = fetch(st, f"sha1://{h}/file.bin", [{"url": f"{origin.url}/file.bin"}], size=len(data), progress=False)
        assert got.source == f"{origin.url}/file.bin"
        assert st.load_bytes(h) == data
        assert any(path.endswith(h) for path, _, _ in mirror.log)  # the mirror was asked first
    finally:
        mirror.close()
        origin.close()


class _OneFileGateway(stubs.base.StubBase):
    """A kachery-cloud gateway that finds one sha1 only, at a URL of its own that answers 404; kachery 2 finds none."""

    def __init__(self, h: str, size: int):
        super().__init__()
        self.h, self.size = h, size

    def _route(self, h, method, path, query, body):
        j = h._entry.get("json") or {}
        if path == "/api/gateway" and (j.get("payload") or {}).get("hash") == self.h:
            return h._json(200, {"found": True, "size": self.size, "url": f"{self.url}/bucket/{self.h}"})
        if path.startswith("/api/"):
            return h._json(200, {"found": False})
        h._send(404, b"NoSuchKey", "text/plain")


def test_fetch_takes_the_size_from_kachery_when_its_copy_cannot_be_read(tmp_path, monkeypatch):
    from intake_npx2020.store import get_store
    from intake_npx2020.store.download import fetch

    data = random_bytes(120_000, seed=28)
    h = sha1(data)
    (tmp_path / "orig").mkdir()
    (tmp_path / "orig" / "file.bin").write_bytes(data)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("NPX2020_KACHERY", "1")
    with _OneFileGateway(h, len(data)) as gw:
        monkeypatch.setenv("KACHERY_GATEWAY_URL", gw.url)
        monkeypatch.setenv("KACHERY_BASE_URL", gw.url)
        origin = FaultServer(tmp_path / "orig")
        try:
            st = get_store({"retries": 1})
            got = fetch(st, f"sha1://{h}/file.bin", [{"url": f"{origin.url}/file.bin"}], progress=False)  # no size
            assert got.source == f"{origin.url}/file.bin" and got.nbytes == len(data)
            assert st.load_bytes(h) == data
            assert [r for _, r, _ in origin.log] == [f"bytes=0-{len(data) - 1}"]  # one piece: the size was known
        finally:
            origin.close()


# == store: serve, published sites and the default port ============================================================

def test_site_file_naming_only_a_mirror_serves_that_mirror(tmp_path):
    import json

    from intake_npx2020.store.local import blob_relpath
    from intake_npx2020.store.serve import SITE_FILE, serve_in_thread

    data = random_bytes(3000, seed=29)
    put_file(tmp_path / "site" / "mirror", data)
    (tmp_path / "site" / SITE_FILE).write_text(json.dumps({"mirror": "mirror"}))  # no "catalogs"
    srv, base = serve_in_thread(tmp_path / "site")
    try:
        assert _get(f"{base}/mirror/{blob_relpath(sha1(data))}") == data
    finally:
        srv.shutdown()
        srv.server_close()


def test_two_servers_with_the_default_port_each_get_a_free_port(tmp_path):
    import threading

    from intake_npx2020.store.local import blob_relpath
    from intake_npx2020.store.serve import make_server

    data = random_bytes(1000, seed=30)
    put_file(tmp_path / "store", data)
    servers = []
    try:
        for _ in range(2):
            srv = make_server(tmp_path / "store")  # port left to its default
            servers.append(srv)
            threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
        ports = [srv.server_address[1] for srv in servers]
        assert ports[0] != ports[1]
        for port in ports:
            assert _get(f"http://127.0.0.1:{port}/{blob_relpath(sha1(data))}") == data
    finally:
        for srv in servers:
            srv.shutdown()
            srv.server_close()


# == store: files named by location= ==============================================================================

def test_a_location_with_no_file_is_named_in_the_error(tmp_path):
    from intake_npx2020.store import get_store

    data = random_bytes(500, seed=31)
    gone = tmp_path / "moved away.bin"
    msg = _raises(ContentNotFound, get_store().read, f"sha1://{sha1(data)}?label=x.bin&location={gone}", 0, 10)
    assert msg.startswith(f"sha1://{sha1(data)}: no file at its location {gone} ("), msg


# == formats: objects built by the builders are read by the readers ===============================================

def test_h5_v1_object_is_read_by_read_sorting(tmp_path):
    import io

    import numpy as np

    h5py = pytest.importorskip("h5py")
    from intake_npx2020.formats.builders import h5_v1_object
    from intake_npx2020.formats.sortings import read_sorting
    from intake_npx2020.store import get_store

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f["unit_ids"] = np.array([5, 8])
        f["sampling_frequency"] = np.array([20000.0])
        f["unit_spike_trains/5"] = np.array([3.0, 40.0])
        f["unit_spike_trains/8"] = np.array([7.0])
    uri = put_file(tmp_path / "own-store", buf.getvalue(), label="s.h5")
    obj = h5_v1_object(uri)
    assert obj == {"sorting_format": "h5_v1", "data": {"h5_path": uri}}
    s = read_sorting(obj, get_store(), "S")
    assert s.sample_index.tolist() == [3, 7, 40] and s.unit_id.tolist() == [5, 8, 5]
    assert s.sampling_frequency == 20000.0
