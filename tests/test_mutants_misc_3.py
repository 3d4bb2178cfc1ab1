"""Tests written to kill mutmut survivors in ``store/ingest.py``: ``fetch`` (every chunk of a remote file made
local), ``put_bytes`` and ``add_file`` (hash, manifest, copy or link, refuse a file that changes).

They assert what a user sees: the bytes fetched, the blobs and pins in the store, the URI returned, the progress
bar's name on stderr, the exact error of a refused call.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from helpers import FaultServer, put_file, random_bytes, sha1
from helpers import raises_text as _raises

from intake_npx2020.errors import ConfigError, IntegrityError
from intake_npx2020.store import Store, get_store
from intake_npx2020.store.config import StoreConfig
from intake_npx2020.store.ingest import add_file, put_bytes
from intake_npx2020.store.local import OwnStore, blob_relpath
from intake_npx2020.store.manifest import Manifest


@pytest.fixture
def mirror(tmp_path):
    srv = FaultServer(tmp_path / "source")
    yield srv
    srv.close()


def _store(tmp_path, mirror, cache=True) -> Store:
    return Store(StoreConfig(store=str(tmp_path / "own"), mirrors=(mirror.url,), cache=cache, kachery_remote=False,
                             packed=False))


# == fetch (through Store.fetch, which waits for the chunks' writes) ========================================================================================================

def test_fetch_with_cache_off_is_refused(tmp_path, mirror):
    s = _store(tmp_path, mirror, cache=False)
    assert _raises(ConfigError, s.fetch, "sha1://" + "a" * 40) == \
        "fetch() keeps bytes in the store, but this store has cache=False (NPX2020_CACHE=0)"


def test_fetch_counts_only_missing_chunks(tmp_path, mirror, capsys):
    data = random_bytes(60_000, seed=8)
    bounds = [0, 10_000, 25_000, 25_001, 60_000]
    uri = put_file(tmp_path / "source", data, bounds, whole=False, chunks=True, label="rec.bin")
    s = _store(tmp_path, mirror)
    own = tmp_path / "own"
    (own / blob_relpath(sha1(data[10_000:25_000]))).parent.mkdir(parents=True, exist_ok=True)
    (own / blob_relpath(sha1(data[10_000:25_000]))).write_bytes(data[10_000:25_000])  # one chunk there already
    assert s.fetch(uri, progress=True) == 60_000 - 15_000
    assert "fetch rec.bin" in capsys.readouterr().err
    for a, b in itertools.pairwise(bounds):
        assert (own / blob_relpath(sha1(data[a:b]))).read_bytes() == data[a:b]
    assert s.fetch(uri) == 0  # resumable: nothing left to fetch
    assert bytes(s.read(uri)) == data


def test_fetch_progress_named_by_hash_without_label(tmp_path, mirror, capsys):
    data = random_bytes(30_000, seed=9)
    uri = put_file(tmp_path / "source", data, [0, 10_000, 30_000], whole=False, chunks=True)
    h = sha1(data)
    bare = uri.replace("/raw.bin", "")
    assert _store(tmp_path, mirror).fetch(bare, progress=True) == 30_000
    assert f"fetch {h[:12]}:" in capsys.readouterr().err


def test_fetch_of_a_small_file_and_of_a_local_one(tmp_path, mirror):
    data = b"small file without a manifest"
    put_file(tmp_path / "source", data)
    s = _store(tmp_path, mirror)
    assert s.fetch(f"sha1://{sha1(data)}/small.txt") == len(data)
    assert (tmp_path / "own" / blob_relpath(sha1(data))).read_bytes() == data
    assert s.fetch(f"sha1://{sha1(data)}/small.txt") == 0


# == put_bytes ====================================================================================================

def test_put_bytes_pinned_or_not_and_never_rewritten(tmp_path):
    own = OwnStore(tmp_path / "own")
    h = put_bytes(own, b"pinned bytes")
    assert h == sha1(b"pinned bytes")
    assert own.is_pinned(h) and Path(own.locate(h)).read_bytes() == b"pinned bytes"
    ino = os.stat(own.locate(h)).st_ino
    assert put_bytes(own, b"pinned bytes") == h
    assert os.stat(own.locate(h)).st_ino == ino  # present once pinned: not written again
    u = put_bytes(own, b"cached bytes", pin=False)
    assert u == sha1(b"cached bytes") and not own.is_pinned(u)
    ino = os.stat(own.locate(u)).st_ino
    assert put_bytes(own, b"cached bytes", pin=False) == u
    assert os.stat(own.locate(u)).st_ino == ino
    assert put_bytes(own, b"cached bytes", pin=True) == u and own.is_pinned(u)


def test_put_bytes_pinned_after_an_unpinned_copy_was_evicted(tmp_path):
    own = OwnStore(tmp_path / "own")
    (own.path / "pins").mkdir(parents=True)
    h = sha1(b"again")
    (own.path / "pins" / h).touch()  # pinned before, but the blob is gone
    assert put_bytes(own, b"again") == h
    assert Path(own.locate(h)).read_bytes() == b"again"


# == add_file =====================================================================================================

def test_add_file_refuses_what_is_not_a_file(tmp_path):
    own = OwnStore(tmp_path / "own")
    assert _raises(FileNotFoundError, add_file, own, tmp_path / "nope.bin") == \
        f"cannot add {tmp_path / 'nope.bin'}: no such file"
    assert _raises(FileNotFoundError, add_file, own, tmp_path) == f"cannot add {tmp_path}: no such file"


def test_add_small_file_uri_label_and_new(tmp_path, capsys):
    own = OwnStore(tmp_path / "own")
    f = tmp_path / "notes.txt"
    f.write_bytes(b"hello")
    h = sha1(b"hello")
    seen = []
    added = add_file(own, str(f), progress=True, check=seen.append)
    assert "hash notes.txt:   0%|" in capsys.readouterr().err  # the size is known: a percentage
    assert seen == [h]
    assert added == (f"sha1://{h}/notes.txt", True) and added.uri == f"sha1://{h}/notes.txt" and added.new
    assert own.is_pinned(h) and Path(own.locate(h)).read_bytes() == b"hello"
    again = add_file(own, f, label="other name.txt")
    assert again == (f"sha1://{h}/other%20name.txt", False)


def test_add_file_refused_by_check_keeps_nothing(tmp_path):
    own = OwnStore(tmp_path / "own")
    f = tmp_path / "big.bin"
    with open(f, "wb") as out:
        out.truncate(20_000_001)

    def refuse(h):
        raise IntegrityError(f"no: {h}")

    assert _raises(IntegrityError, add_file, own, f, check=refuse).startswith("no: ")
    assert not (own.path / "sha1").exists() or not any(p.is_file() for p in (own.path / "sha1").rglob("*"))


def test_add_file_above_the_threshold_gets_a_manifest_of_20mb_chunks(tmp_path):
    own = OwnStore(tmp_path / "own")
    data = random_bytes(1000, seed=2) * 20_000 + b"!"  # 20,000,001 bytes
    f = tmp_path / "rec.bin"
    f.write_bytes(data)
    h = sha1(data)
    added = add_file(own, f)
    m_sha1 = added.uri.split("?manifest=")[1]
    assert added.uri == f"sha1://{h}/rec.bin?manifest={m_sha1}" and added.new
    m = Manifest.from_bytes(Path(own.locate(m_sha1)).read_bytes())
    assert (m.size, m.sha1) == (len(data), h)
    assert [(c.start, c.end, c.sha1) for c in m.chunks] == [(0, 20_000_000, sha1(data[:20_000_000])),
                                                           (20_000_000, 20_000_001, sha1(b"!"))]
    assert own.is_pinned(m_sha1) and own.is_pinned(h)


def test_add_file_at_the_threshold_has_no_manifest(tmp_path):
    own = OwnStore(tmp_path / "own")
    f = tmp_path / "exact.bin"
    with open(f, "wb") as out:
        out.truncate(20_000_000)
    added = add_file(own, f)
    assert "?" not in added.uri


@pytest.mark.parametrize("link", ["hard", "sym"])
def test_add_file_linked_not_copied(tmp_path, link):
    own = OwnStore(tmp_path / "own")
    f = tmp_path / "linked.bin"
    f.write_bytes(b"linked bytes")
    added = add_file(own, f, link=link)
    path = tmp_path / "own" / blob_relpath(sha1(b"linked bytes"))
    if link == "hard":
        assert path.stat().st_ino == f.stat().st_ino and not path.is_symlink()
    else:
        assert path.is_symlink() and os.readlink(path) == str(f)
    assert added.new and get_store({"store": str(tmp_path / "own")}).read(added.uri) == b"linked bytes"


def test_add_file_that_changes_while_added_keeps_nothing(tmp_path):
    f = tmp_path / "growing.bin"
    f.write_bytes(b"first bytes")

    class Writer(OwnStore):
        def put_file(self, sha1_, src, link=None):
            out = super().put_file(sha1_, src, link)
            with open(src, "ab") as g:  # another program appends meanwhile
                g.write(b" and more")
            return out

    own = Writer(tmp_path / "own")
    assert _raises(IntegrityError, add_file, own, f) == f"{f} changed while being added; nothing was kept"
    assert own.locate(sha1(b"first bytes")) is None


def test_add_file_touched_while_added_keeps_nothing(tmp_path):
    f = tmp_path / "touched.bin"
    f.write_bytes(b"same size")

    class Toucher(OwnStore):
        def put_file(self, sha1_, src, link=None):
            out = super().put_file(sha1_, src, link)
            st = os.stat(src)
            os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
            return out

    own = Toucher(tmp_path / "own")
    with pytest.raises(IntegrityError):
        add_file(own, f)
    assert own.locate(sha1(b"same size")) is None


def test_fetch_checks_the_manifest_and_names_the_uri(tmp_path, mirror, capsys):
    from intake_npx2020.errors import ContentNotFound

    data = random_bytes(30_000, seed=10)
    uri = put_file(tmp_path / "source", data, [0, 12_000, 30_000], whole=False, chunks=False, label="lost.bin")
    s = _store(tmp_path, mirror)
    m = uri.split("?manifest=")[1]
    other = sha1(b"not this file")
    assert _raises(IntegrityError, s.fetch, f"sha1://{other}/x.bin?manifest={m}") == \
        f"manifest {m} describes file {sha1(data)}, not {other}; the URI is inconsistent"
    missing = "e" * 40
    gone = f"sha1://{other}/gone.bin?manifest={missing}"
    assert f"manifest {missing} of {gone}" in _raises(ContentNotFound, s.fetch, gone)
    # the chunks are on no mirror: the error names the file's URI
    msg = _raises(ContentNotFound, s.fetch, uri, progress=True)
    assert uri in msg, msg
    assert "fetch lost.bin:   0%|" in capsys.readouterr().err  # the total is known: a percentage


def test_a_file_that_shrinks_while_hashed_is_refused(tmp_path):
    from intake_npx2020.store.ingest import hash_file

    f = tmp_path / "shrinking.bin"
    f.write_bytes(b"x" * 100)

    class Shrunk(type(f)):  # the file was 20,000,010 bytes when stat'ed, 100 when read
        def stat(self, **kw):
            st = super().stat(**kw)
            return os.stat_result((*st[:6], 20_000_010, *st[7:]))

    assert _raises(IntegrityError, hash_file, Shrunk(f)) == f"{f} changed while being read (short read at byte 0)"


def test_pinned_bytes_do_not_count_against_the_cache_cap(tmp_path):
    own = OwnStore(tmp_path / "own", cache_max=100)
    cached = put_bytes(own, b"c" * 80, pin=False)
    pinned = put_bytes(own, b"p" * 50)  # pinned: outside the cap, evicts nothing
    assert own.locate(cached) and own.locate(pinned)
    assert own.is_pinned(pinned) and not own.is_pinned(cached)
