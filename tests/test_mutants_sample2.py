"""Tests written to kill mutants that survived a second sampled mutmut run over the store and the formats.

Each test asserts observable behaviour of known input: a chunk already local is read without asking a mirror, an
error names the URI it is about, a server started not quiet logs its requests, a lookup goes to the configured
service URL. Expected values come from the inputs and the documented rules, never from the code under test.
"""

from __future__ import annotations

import pytest
import stubs
from helpers import FaultServer, put_file, random_bytes, sha1, write_blob

from intake_npx2020.errors import ContentNotFound


def _raises(exc, fn, *args, **kw) -> str:
    with pytest.raises(exc) as info:
        fn(*args, **kw)
    return str(info.value)


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
