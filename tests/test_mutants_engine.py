"""store/engine.py, local.py, recent.py, buffers.py: behaviour pinned for mutmut survivors of the lead's run
(``docs/mutation-testing.md``): streaming reads from chunk blobs, the errors' wording, has_local, fetch's bar,
add_file's links, buffers retired when the recent chunks are cleared."""

import json
import os

import pytest
from helpers import FaultServer, put_file, random_bytes

from intake_npx2020.errors import ContentNotFound, FetchError, IntegrityError
from intake_npx2020.store import get_store
from intake_npx2020.store.local import blob_relpath
from intake_npx2020.store.manifest import Manifest

BOUNDS = [0, 1_300_000, 2_000_000, 2_500_000]


def _chunks_only(tmp_path, seed=1):
    """A file served by a mirror as its manifest and chunk blobs only (no whole blob), and its manifest."""
    data = random_bytes(BOUNDS[-1], seed=seed)
    root = tmp_path / "mirror"
    uri = put_file(root, data, BOUNDS, whole=False, chunks=True)
    return root, data, uri, Manifest.from_bytes((root / blob_relpath(uri.split("manifest=")[1])).read_bytes())


def test_streaming_reads_chunk_blobs_when_the_mirror_has_no_whole_file(tmp_path):
    root, data, uri, m = _chunks_only(tmp_path)
    srv = FaultServer(root)
    try:
        st = get_store({"mirrors": srv.url, "cache": False})
        assert bytes(st.read(uri, 1_000_000, 2_200_000)) == data[1_000_000:2_200_000]
        asked = {path for path, _, _ in srv.log}
        assert {"/" + blob_relpath(c.sha1) for c in m.chunks} <= asked
    finally:
        srv.close()


def test_streaming_chunk_blob_of_the_wrong_length_is_refused_with_both_lengths(tmp_path):
    root, data, uri, m = _chunks_only(tmp_path, seed=2)
    c = m.chunks[1]
    (root / blob_relpath(c.sha1)).write_bytes(data[c.start:c.end] + b"xyz")
    srv = FaultServer(root)
    try:
        st = get_store({"mirrors": srv.url, "cache": False, "retries": 1})
        with pytest.raises(FetchError) as err:
            st.read(uri, c.start, c.start + 10)
        assert f"Content-Length {c.size + 3} but {c.size} bytes were asked for" in str(err.value)
    finally:
        srv.close()


def test_streaming_fetch_error_names_the_uri_and_the_range(tmp_path):
    root, data, uri, m = _chunks_only(tmp_path, seed=3)
    c = m.chunks[0]
    srv = FaultServer(root)
    try:
        st = get_store({"mirrors": srv.url, "cache": False, "retries": 1, "timeout": 2})
        st.manifest(uri.split("manifest=")[1])  # fetched before the mirror starts failing
        srv.plan = ["500"] * 20
        with pytest.raises(FetchError) as err:
            st.read(uri, 0, 10)
        assert str(err.value).startswith(f"{uri}: could not fetch bytes {c.start}-{c.end - 1}"), str(err.value)
    finally:
        srv.close()


def test_has_local_whole_file_and_a_manifest_of_another_file(tmp_path):
    data = random_bytes(300_000, seed=4)
    other = random_bytes(300_000, seed=5)
    root = tmp_path / "local"
    uri = put_file(root, data, [0, 100_000, 300_000], whole=True)
    st = get_store({"read_roots": [str(root)], "mirrors": []})
    assert st.has_local(uri) is True
    other_uri = put_file(tmp_path / "o", other, [0, 150_000, 300_000], whole=False)
    lying = uri.split("?")[0] + "?manifest=" + other_uri.split("manifest=")[1]
    for p in (tmp_path / "o").rglob("*"):
        if p.is_file():
            dest = root / p.relative_to(tmp_path / "o")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(p.read_bytes())
    os.unlink(root / blob_relpath(uri.split("/")[2]))  # only the manifests are local now
    with pytest.raises(IntegrityError, match="describes file"):
        st.has_local(lying)


def test_content_not_found_lists_every_local_store_and_mirror(tmp_path):
    own, extra = tmp_path / "own-store", tmp_path / "extra"
    extra.mkdir()
    srv, srv2 = FaultServer(tmp_path / "empty"), FaultServer(tmp_path / "empty2")
    try:
        st = get_store({"read_roots": [str(extra)], "mirrors": [srv.url, srv2.url]})
        with pytest.raises(ContentNotFound) as err:
            st.read("sha1://" + "ab" * 20 + "/x.bin")
        msg = str(err.value)
        assert f"local stores searched: {own}, {extra}, " in msg, msg
        assert f"; mirrors: {srv.url}, {srv2.url}; live kachery lookups off (NPX2020_KACHERY=0)" in msg, msg
    finally:
        srv.close()
        srv2.close()


def test_fetch_with_progress_shows_a_bar_and_without_stays_quiet(tmp_path, capsys):
    root, data, uri, _ = _chunks_only(tmp_path, seed=6)
    srv = FaultServer(root)
    try:
        st = get_store({"mirrors": srv.url})
        assert st.fetch(uri, progress=True) == len(data)
        assert "fetch raw.bin" in capsys.readouterr().err
        st2 = get_store({"mirrors": srv.url, "store": str(tmp_path / "second")})
        assert st2.fetch(uri, progress=False) == len(data)
        assert "fetch raw.bin" not in capsys.readouterr().err  # (other tests' threads may still log there)
    finally:
        srv.close()


def test_add_file_links_and_labels_as_asked(tmp_path, capsys):
    src = tmp_path / "rec.bin"
    src.write_bytes(random_bytes(50_000, seed=7))
    st = get_store()
    added = st.add_file(src, link="hard", label="named.bin", progress=True)
    assert "rec.bin" in capsys.readouterr().err  # the bar asked for
    assert added.uri.split("?")[0].endswith("/named.bin")
    placed = st.locate(added.uri.split("/")[2])
    assert os.stat(placed).st_ino == src.stat().st_ino  # a hard link, not a copy


def test_cleared_recent_chunks_give_their_buffers_back():
    from intake_npx2020.store import buffers
    from intake_npx2020.store.recent import RecentChunks

    n = 5 * (1 << 20) + 12_288  # a size no other test asks for
    r = RecentChunks(4)
    r.put("a" * 40, buffers.receive_buffer(n))
    r.clear()
    before = buffers._POOL.reused
    again = buffers.receive_buffer(n)
    assert buffers._POOL.reused == before + 1 and len(again) == n


@pytest.mark.parametrize("skew, followed", [(0.0, True), (0.9, True), (1.0, True), (1.5, False)])
def test_a_link_record_is_followed_while_its_mtime_is_within_a_second(tmp_path, skew, followed):
    from intake_npx2020.store.local import _link_target

    target = tmp_path / "t.bin"
    target.write_bytes(b"abc")
    os.utime(target, (1_700_000_000.0, 1_700_000_000.0))
    rec = tmp_path / "r.link"
    rec.write_text(json.dumps({"path": str(target), "size": 3, "mtime": 1_700_000_000.0 + skew}))
    assert (_link_target(rec) == str(target)) is followed


def test_a_stalled_mirror_is_named_with_its_deadline_and_the_error_type(tmp_path):
    from faults import ScriptedMirror, put_blob

    data = random_bytes(50_000, seed=8)
    h = put_blob(tmp_path / "src", data)
    bad = ScriptedMirror(tmp_path / "src").script("stall-body")
    try:
        st = get_store({"mirrors": bad.url, "timeout": 0.4, "retries": 1})
        with pytest.raises(FetchError) as err:
            st.read(f"sha1://{h}/x.bin")
        msg = str(err.value)
        assert f"GET {bad.url}/{blob_relpath(h)}: no complete response within its 0.4 s deadline (" in msg, msg
        name = msg.split("deadline (")[1].split(")")[0]
        assert name.isidentifier() and name != "NoneType", msg  # the exception's type
    finally:
        bad.close()


def test_a_refused_connection_names_the_error_type_and_its_text(tmp_path):
    from helpers import free_port

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    st = get_store({"mirrors": url, "timeout": 1, "retries": 1})
    with pytest.raises(FetchError) as err:
        st.read("sha1://" + "cd" * 20 + "/x.bin")
    msg = str(err.value)
    assert f"GET {url}/{blob_relpath('cd' * 20)}: ConnectionError: " in msg, msg
    assert "Connection refused" in msg or "Max retries" in msg, msg


def test_clear_removes_even_a_one_byte_cached_blob(tmp_path):
    from helpers import sha1 as sha1_of

    from intake_npx2020.store.local import OwnStore

    own = OwnStore(tmp_path / "s")
    own.put(sha1_of(b"x"), b"x")
    left, leftovers = own.clear()
    assert left == 0 and leftovers == [] and not own.locate(sha1_of(b"x"))


def test_has_local_is_false_without_the_manifest_or_the_file(tmp_path):
    data = random_bytes(200_000, seed=10)
    uri = put_file(tmp_path / "elsewhere", data, [0, 100_000, 200_000], whole=False)
    st = get_store({"mirrors": []})
    assert st.has_local(uri) is False  # the manifest is nowhere: not local, and no error
    assert st.has_local(uri.split("?")[0]) is False  # no manifest named, no whole file


def test_has_local_names_the_uri_when_its_manifest_is_unreadable(tmp_path):
    from helpers import write_blob

    root = tmp_path / "local"
    bad = write_blob(root, b"this is not a manifest")
    uri = "sha1://" + "e" * 40 + f"/rec.bin?manifest={bad}"
    st = get_store({"read_roots": [str(root)], "mirrors": []})
    with pytest.raises(Exception) as err:
        st.has_local(uri)
    assert f"manifest {bad} of {uri}" in str(err.value), str(err.value)
