import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import (FaultServer, irregular_bounds, put_file, random_bytes, sha1, tmp_leftovers,
                      write_blob)

from intake_npx2020.errors import ContentNotFound, FetchError, StoreFullError
from intake_npx2020.store.local import blob_relpath
from intake_npx2020.store import Store, get_store
from intake_npx2020.store.writeback import flush_all

RANGES = [(0, 1), (0, 100_000), (99_999, 100_001), (5_000_000, 5_000_123), (1_234_567, 7_654_321),
          (11_999_000, 12_000_000), (0, 12_000_000), (6_000_000, 6_000_000)]


def assert_store_valid(root: Path) -> None:
    """Every blob in a store hashes to its name, and nothing is left in tmp/ (once the write-behind is done)."""
    flush_all()
    for p in (root / "sha1").rglob("*"):
        if p.is_file():
            assert sha1(p.read_bytes()) == p.name, p
    assert tmp_leftovers(root) == []


# -- local roots ----------------------------------------------------------------------------------
def test_local_own_store_ranges(tmp_path):
    data = random_bytes(12_000_000)
    uri = put_file(tmp_path / "own-store", data, irregular_bounds(len(data)))
    s = get_store()
    for a, b in RANGES:
        assert bytes(s.read(uri, a, b)) == data[a:b]
    assert s.size(uri) == len(data)
    assert s.stats["requests"] == 0


def test_local_chunks_only(tmp_path):
    """A file present only as its manifest's chunks (as a kachery cache holds it) reads across chunk edges."""
    data = random_bytes(5_000_000, seed=9)
    bounds = irregular_bounds(len(data), lo=10_000, hi=700_000)
    uri = put_file(tmp_path / "own-store", data, bounds, whole=False, chunks=True)
    s = get_store()
    assert s.has_local(uri)
    for a, b in [(0, len(data)), (bounds[1] - 5, bounds[1] + 5), (bounds[2], bounds[4] + 1)]:
        assert bytes(s.read(uri, a, b)) == data[a:b]


@pytest.mark.parametrize("var", ["KACHERY_STORAGE_DIR", "KACHERY_CLOUD_DIR", "KACHERY_DIR"])
def test_kachery_roots_read_only(tmp_path, monkeypatch, var):
    data = random_bytes(3_000_000, seed=4)
    root = tmp_path / "kachery"
    uri = put_file(root, data, [0, 1_000_000, 3_000_000])
    monkeypatch.setenv(var, str(root))
    s = get_store()
    assert bytes(s.read(uri, 999_990, 1_000_010)) == data[999_990:1_000_010]
    assert not (tmp_path / "own-store" / "sha1").exists()  # nothing copied into our store


def test_kachery_default_home_root(tmp_path):
    data = b"hello kachery-storage"
    put_file(Path.home() / "kachery-storage", data)
    assert get_store().load_bytes(sha1(data)) == data


def test_kachery_link_files(tmp_path, monkeypatch):
    """kachery-p2p `<blob>.link` and kachery-cloud `linked_files/` records point at files elsewhere."""
    data = random_bytes(100_000, seed=5)
    target = tmp_path / "elsewhere.bin"
    target.write_bytes(data)
    st = target.stat()
    p2p, cloud = tmp_path / "p2p", tmp_path / "cloud"
    link = p2p / (blob_relpath(sha1(data)) + ".link")
    link.parent.mkdir(parents=True)
    link.write_text(json.dumps({"path": str(target), "stat": {"size": st.st_size, "mtime": st.st_mtime * 1000}}))
    monkeypatch.setenv("KACHERY_STORAGE_DIR", str(p2p))
    assert get_store().load_bytes(sha1(data)) == data

    from intake_npx2020 import store as store_mod
    store_mod.forget_stores()
    monkeypatch.delenv("KACHERY_STORAGE_DIR")
    rec = cloud / "linked_files" / blob_relpath(sha1(data))
    rec.parent.mkdir(parents=True)
    rec.write_text(json.dumps({"path": str(target), "size": st.st_size, "mtime": st.st_mtime, "sha1": sha1(data)}))
    monkeypatch.setenv("KACHERY_CLOUD_DIR", str(cloud))
    assert get_store().load_bytes(sha1(data)) == data
    # a link whose target changed size is not trusted
    target.write_bytes(data + b"x")
    store_mod.forget_stores()
    with pytest.raises(ContentNotFound):
        get_store().load_bytes(sha1(data))


def test_2020_index_resolves(tmp_path):
    ref = Path(__file__).parent / "data" / "known_recordings-2020-08-24.json"  # byte-exact copy of the 2020 index
    data = ref.read_bytes()
    write_blob(tmp_path / "own-store", data)
    uri = "sha1://08295c224a0753457cde13e78a97cdf8465bd214/known_recordings.json"
    index = json.loads(bytes(get_store().read(uri)))
    assert len(index["recordings"]) == 7 and len(index["sortings"]) == 4


# -- errors ----------------------------------------------------------------------------------------
def test_missing_names_uri_and_remedy():
    uri = "sha1://" + "a" * 40 + "/raw.bin?manifest=" + "b" * 40
    t = time.monotonic()
    with pytest.raises(ContentNotFound) as err:
        get_store().read(uri, 0, 10)
    assert time.monotonic() - t < 2
    msg = str(err.value)
    assert "b" * 40 in msg and "npx2020 add" in msg and "NPX2020_MIRRORS" in msg


def test_out_of_range(blob, tmp_path):
    root, data, uri = blob
    s = get_store({"read_roots": [str(root)]})
    with pytest.raises(ValueError, match="outside"):
        s.read(uri, len(data) + 1, len(data) + 5)
    with pytest.raises(ValueError, match="outside"):
        s.read(uri, -1, 5)
    assert bytes(s.read(uri, len(data) - 3, len(data) + 100)) == data[-3:]  # end is clipped like a file read


def test_bad_storage_options():
    with pytest.raises(ValueError, match="unknown storage_options"):
        get_store({"mirror": "http://x"})
    with pytest.raises(ValueError, match="not an http"):
        get_store({"mirrors": "ftp://x"})


# -- mirrors ---------------------------------------------------------------------------------------
def test_mirror_round_trip_process(blob, tmp_path, serve_process):
    root, data, uri = blob
    base = serve_process(root)
    s = get_store({"mirrors": base})
    for a, b in RANGES:
        assert bytes(s.read(uri, a, b)) == data[a:b]
    assert s.stats["chunks_fetched"] > 0
    own = tmp_path / "own-store"
    assert_store_valid(own)
    requests_before = s.stats["requests"]
    assert bytes(s.read(uri)) == data
    assert s.stats["requests"] == requests_before  # everything is now cached
    assert s.has_local(uri)


def test_mirror_only_chunks(tmp_path, serve_process):
    """A mirror holding only the manifest's chunk blobs (not the whole file) still serves reads."""
    data = random_bytes(4_000_000, seed=11)
    root = tmp_path / "chunks-only"
    uri = put_file(root, data, irregular_bounds(len(data), lo=50_000, hi=900_000), whole=False, chunks=True)
    s = get_store({"mirrors": serve_process(root)})
    assert bytes(s.read(uri, 123, 3_999_000)) == data[123:3_999_000]
    assert_store_valid(tmp_path / "own-store")


def test_small_file_without_manifest_fetched_whole_and_checked(tmp_path, serve_process):
    data = random_bytes(50_000, seed=12)
    root = tmp_path / "src"
    uri = put_file(root, data, None, label="manip.positions.npy")
    s = get_store({"mirrors": serve_process(root)})
    assert bytes(s.read(uri, 10, 20)) == data[10:20]
    assert (tmp_path / "own-store" / blob_relpath(sha1(data))).read_bytes() == data


def test_second_mirror_used_when_first_lacks_data(blob, tmp_path, serve_process):
    root, data, uri = blob
    (tmp_path / "empty").mkdir()
    s = get_store({"mirrors": [serve_process(tmp_path / "empty"), serve_process(root)]})
    assert bytes(s.read(uri, 0, 1000)) == data[:1000]


@pytest.mark.parametrize("fault", ["drop", "500", "503", "429", "truncate", "corrupt", "stall"])
def test_fault_then_exact_data(fault_server, tmp_path, fault):
    srv, data, uri = fault_server
    srv.stall_seconds = 3
    srv.plan = [fault, fault]
    s = get_store({"mirrors": srv.url, "timeout": 0.5, "retries": 4})
    a, b = 2_500_000, 2_600_000
    assert bytes(s.read(uri, a, b)) == data[a:b]
    assert s.stats["retries"] >= 1
    assert_store_valid(tmp_path / "own-store")


@pytest.mark.parametrize("fault", ["503", "truncate", "corrupt", "stall"])
def test_persistent_fault_clear_error(fault_server, tmp_path, fault):
    srv, data, uri = fault_server
    srv.stall_seconds = 2
    s = get_store({"mirrors": srv.url, "timeout": 0.3, "retries": 3})
    assert bytes(s.read(uri, 0, 1)) == data[:1]  # manifest and first chunk are now cached
    srv.plan = [fault] * 100
    t = time.monotonic()
    with pytest.raises(FetchError) as err:
        s.read(uri, 11_000_000, 11_100_000)
    assert time.monotonic() - t < 30
    msg = str(err.value)
    assert srv.url in msg and uri in msg and "bytes" in msg
    if fault == "corrupt":
        assert "does not match" in msg
    assert_store_valid(tmp_path / "own-store")
    assert not s.has_local(uri)


def test_manifest_fault_names_file(fault_server):
    srv, data, uri = fault_server
    srv.plan = ["503"] * 100
    with pytest.raises(FetchError) as err:
        get_store({"mirrors": srv.url, "timeout": 0.3, "retries": 2}).read(uri, 0, 10)
    assert uri in str(err.value) and "manifest" in str(err.value) and srv.url in str(err.value)


def test_concurrent_processes_share_cache(blob, tmp_path):
    """Several processes read and cache the same chunks at once: exact data, a valid cache, one fetch per chunk."""
    root, data, uri = blob
    srv = FaultServer(root)
    try:
        code = (
            "import sys, hashlib\n"
            "from intake_npx2020.store import get_store\n"
            f"s = get_store({{'mirrors': '{srv.url}'}})\n"
            f"print(hashlib.sha1(bytes(s.read('{uri}', 1_000_000, 9_000_000))).hexdigest())\n"
        )
        env = dict(os.environ)
        procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env) for _ in range(4)]
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        srv.close()
    for (out, err), p in zip(outs, procs):
        assert p.returncode == 0, err
        assert out.strip() == sha1(data[1_000_000:9_000_000])
    assert_store_valid(tmp_path / "own-store")
    ranged = [r for _, r, _ in srv.log if r]
    assert len(ranged) == len(set(ranged)), "a chunk was fetched twice on one machine"


def test_cache_cap_and_pins(blob, tmp_path, serve_process):
    root, data, uri = blob
    base = serve_process(root)
    pinned = tmp_path / "mine.bin"
    pinned.write_bytes(random_bytes(3_000_000, seed=21))
    s = get_store({"mirrors": base, "cache_max": 4_000_000})
    added = s.add_file(pinned)
    for a in range(0, len(data), 1_000_000):
        assert bytes(s.read(uri, a, a + 1_000_000)) == data[a:a + 1_000_000]
    s.flush()
    cached = sum(size for _, size, _ in s.own.cached_blobs())
    assert cached <= 4_000_000
    assert bytes(s.read(added.uri)) == pinned.read_bytes()
    assert_store_valid(tmp_path / "own-store")


def test_full_disk_leaves_nothing(blob, tmp_path, monkeypatch, serve_process):
    root, data, uri = blob
    s = get_store({"mirrors": serve_process(root)})
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StoreFullError) as err:
        s.read(uri, 0, 10)
    assert "NPX2020_CACHE_MAX" in str(err.value) and str(tmp_path / "own-store") in str(err.value)
    monkeypatch.setattr(os, "fsync", real_fsync)
    own = tmp_path / "own-store"
    assert tmp_leftovers(own) == []
    assert not [p for p in (own / "sha1").rglob("*") if p.is_file() and p.stat().st_size > 1000] if (own / "sha1").exists() else True
    assert bytes(s.read(uri, 0, 10)) == data[:10]  # and it works once there is space


def test_store_pickles_as_config(blob):
    import pickle

    root, data, uri = blob
    s = get_store({"read_roots": [str(root)]})
    s2 = pickle.loads(pickle.dumps(s))
    assert s2 is s  # same process: the shared instance
    assert isinstance(s2, Store)


def test_sequential_reads_prefetch_next_chunks(tmp_path, serve_process):
    data = random_bytes(6_000_000, seed=31)
    bounds = list(range(0, 6_000_001, 500_000))
    root = tmp_path / "src"
    uri = put_file(root, data, bounds)
    s = get_store({"mirrors": serve_process(root), "parallel": 3})
    assert bytes(s.read(uri, 0, 400_000)) == data[:400_000]
    assert bytes(s.read(uri, 400_000, 900_000)) == data[400_000:900_000]  # continues: read ahead 3 chunks
    deadline = time.monotonic() + 10
    while s.stats["chunks_fetched"] < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert s.stats["chunks_fetched"] == 5
    before = s.stats["requests"]
    assert bytes(s.read(uri, 1_000_000, 1_900_000)) == data[1_000_000:1_900_000]
    assert s.stats["requests"] == before  # chunks 2 and 3 were already there
    assert_store_valid(tmp_path / "own-store")


def test_streaming_without_cache(blob, tmp_path, serve_process):
    root, data, uri = blob
    s = get_store({"mirrors": serve_process(root), "cache": False})
    for a in range(0, len(data), 700_000):  # a sequential pass of windows straddling chunk bounds
        assert bytes(s.read(uri, a, a + 700_000)) == data[a:a + 700_000]
    manifest = uri.split("manifest=")[1]
    blobs = [p.name for p in (tmp_path / "own-store" / "sha1").rglob("*") if p.is_file()]
    assert blobs == [manifest]  # only the small manifest is kept
    assert not s.has_local(uri)
    m = s.manifest(manifest)
    assert s.stats["chunks_fetched"] == len(m.chunks)  # each chunk fetched once, kept in memory meanwhile
    with pytest.raises(ValueError, match="cache=False"):
        s.fetch(uri)


# -- pinned literals and checks that mutation testing found untested (issue 13) ----------------------------
MANIFEST_0123456789 = (b'{"size":10,"sha1":"87acec17cd9dcd20a716cc2cf67417b71c8a7016","chunks":['
                       b'{"start":0,"end":4,"sha1":"c4b5c86bd577da3d93fea7c89cba61c78b48e589"},'
                       b'{"start":4,"end":10,"sha1":"df2983700ffecb52e6649f0cb3981b66537083a4"}]}')


def test_manifest_serialisation_is_pinned():
    """The bytes (and so the hash) of every manifest `add` writes: compact JSON, keys size, sha1, chunks."""
    from faults import manifest_json

    from intake_npx2020.store.manifest import Chunk, Manifest

    d = b"0123456789"
    m = Manifest(10, sha1(d), (Chunk(0, 4, sha1(d[:4])), Chunk(4, 10, sha1(d[4:]))))
    assert m.to_bytes() == MANIFEST_0123456789 == manifest_json(d, [0, 4, 10])
    assert m.hash == "db678af1ea5aa89e17b7013e6abb94f17d629b98" == sha1(MANIFEST_0123456789)
    assert Manifest.from_bytes(MANIFEST_0123456789) == m


def test_added_file_uri_and_manifest_are_pinned(tmp_path, monkeypatch):
    """`add` of a known file above the manifest threshold writes the known manifest under the known path."""
    from intake_npx2020.store import ingest

    monkeypatch.setattr(ingest, "MANIFEST_THRESHOLD", 5)
    monkeypatch.setattr(ingest, "CHUNK_SIZE", 4)
    f = tmp_path / "digits.bin"
    f.write_bytes(b"0123456789")
    added = get_store().add_file(f, progress=False)
    m = (b'{"size":10,"sha1":"87acec17cd9dcd20a716cc2cf67417b71c8a7016","chunks":['
         b'{"start":0,"end":4,"sha1":"c4b5c86bd577da3d93fea7c89cba61c78b48e589"},'
         b'{"start":4,"end":8,"sha1":"' + sha1(b"4567").encode() + b'"},'
         b'{"start":8,"end":10,"sha1":"' + sha1(b"89").encode() + b'"}]}')
    assert added.uri == f"sha1://87acec17cd9dcd20a716cc2cf67417b71c8a7016/digits.bin?manifest={sha1(m)}"
    own = tmp_path / "own-store"
    assert (own / "sha1" / "87" / "ac" / "ec" / "87acec17cd9dcd20a716cc2cf67417b71c8a7016").read_bytes() == b"0123456789"
    h = sha1(m)
    assert (own / "sha1" / h[:2] / h[2:4] / h[4:6] / h).read_bytes() == m


def test_put_writes_the_bytes(tmp_path):
    from intake_npx2020.store.local import OwnStore

    own = OwnStore(tmp_path / "s")
    path = own.put(sha1(b"abc"), b"abc")
    assert Path(path).read_bytes() == b"abc"
    assert own.locate(sha1(b"abc")) == path
    assert get_store({"store": str(tmp_path / "s")}).load_bytes(sha1(b"abc")) == b"abc"


def test_manifest_of_another_file_is_refused(tmp_path):
    """A URI whose manifest describes a different file: IntegrityError, not the other file's bytes."""
    from intake_npx2020.errors import IntegrityError

    own = tmp_path / "own-store"
    a, b = random_bytes(3000, seed=1), random_bytes(3000, seed=2)
    ua = put_file(own, a, [0, 1000, 3000], whole=False, chunks=True)
    ub = put_file(own, b, [0, 1000, 3000], whole=False, chunks=True)
    wrong = ua.split("?")[0] + "?" + ub.split("?")[1]  # a's sha1 with b's manifest
    s = get_store()
    with pytest.raises(IntegrityError, match="describes file"):
        s.read(wrong, 0, 10)
    with pytest.raises(IntegrityError, match="describes file"):
        s.size(wrong)
    assert bytes(s.read(ua, 0, 10)) == a[:10]


def test_size_without_manifest_is_the_verified_size(tmp_path, serve_process):
    """No manifest: the size is that of the verified bytes (fetched whole and cached), not a header's claim."""
    data = random_bytes(50_000, seed=40)
    root = tmp_path / "src"
    uri = put_file(root, data, None, label="x.npy")
    s = get_store({"mirrors": serve_process(root)})
    assert s.size(uri) == 50_000
    assert (tmp_path / "own-store" / blob_relpath(sha1(data))).read_bytes() == data
