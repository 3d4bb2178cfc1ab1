"""Tests written to kill mutants that survived the store suite (issue 13; docs/mutation-testing.md).

Each asserts observable behaviour for known input: literal URIs, bytes, paths and error texts, never values
computed by the code under test.
"""

from __future__ import annotations

import pytest

from intake_npx2020.errors import InvalidObject, InvalidURI
from intake_npx2020.store.manifest import Chunk, Manifest
from intake_npx2020.store.uri import ContentURI, check_sha1, format_uri, parse_uri

H = "bc5616a9fa4bfe7a4c1e0a6c9ad3e6fb2a8b0e21"
M = "9dcf60e9f1a2c3b4d5e6f708192a3b4c5d6e7f80"
C = "0123456789abcdef0123456789abcdef01234567"


# -- uri -------------------------------------------------------------------------------------------------

def test_kachery2_uris_parse_and_format():
    u = parse_uri(f"kachery:lab-1.x_y:sha1:{H}:dir%2Fa%3Ab.bin")
    assert u == ContentURI("sha1", H, "dir/a:b.bin", zone="lab-1.x_y")
    assert format_uri(u) == f"kachery:lab-1.x_y:sha1:{H}:dir/a%3Ab.bin"
    e = parse_uri(f"kachery::sha1:{H}")
    assert e == ContentURI("sha1", H, "", zone="")
    assert str(e) == f"kachery::sha1:{H}"
    # a zone with a manifest is written as sha1:// (kachery 2 has no query)
    assert format_uri(ContentURI("sha1", H, "a.bin", M, zone="z")) == f"sha1://{H}/a.bin?manifest={M}"


@pytest.mark.parametrize("uri, why", [
    (f"kachery:z:md5:{H}", "expected 'kachery:<zone>:sha1:<40 hex>[:<label>]'"),
    ("kachery:z:sha1", "expected 'kachery:<zone>:sha1:<40 hex>[:<label>]'"),
    (f"kachery:a/b:sha1:{H}", "zone 'a/b' may hold only letters, digits, '.', '_' and '-'"),
    (f"kachery:a b:sha1:{H}", "zone 'a b' may hold only"),
    (f"kachery:z:sha1:{H[:39]}", "has 39 characters"),
    (f"kachery:z:sha1:{H}:..%2Fx", "'..' is not allowed in a path"),
])
def test_kachery2_uris_refused(uri, why):
    with pytest.raises(InvalidURI) as err:
        parse_uri(uri)
    assert why in str(err.value)
    assert repr(uri) in str(err.value)


def test_location_taken_verbatim_and_formatted_back():
    uri = f"sha1://{H}?label=a%20b.bin&location=/data/x y&z.bin&manifest={M}"
    u = parse_uri(uri)
    assert (u.sha1, u.label, u.manifest, u.location) == (H, "a b.bin", M, "/data/x y&z.bin")
    assert format_uri(u) == f"sha1://{H}/a%20b.bin?manifest={M}&location=/data/x y&z.bin"
    first = parse_uri(f"sha1://{H}?location=/a/b&label=c.bin")
    assert (first.location, first.label) == ("/a/b", "c.bin")
    only = parse_uri(f"sha1://{H}?location=/a&b")
    assert (only.location, only.label) == ("/a&b", "")
    # "location=" inside another key's value is not a location
    assert parse_uri(f"sha1://{H}?label=xlocation=/a").location is None
    assert parse_uri(f"sha1://{H}?label=xlocation=/a").label == "xlocation=/a"


def test_location_must_be_absolute():
    with pytest.raises(InvalidURI, match="location must be an absolute path, got 'rel/x'"):
        parse_uri(f"sha1://{H}?location=rel/x")


def test_label_query_and_path_label():
    assert parse_uri(f"sha1://{H}?label=x.bin").label == "x.bin"
    assert parse_uri(f"sha1://{H}?label=a&label=b").label == "b"
    assert parse_uri(f"sha1://{H}/p.bin?label=x.bin").label == "p.bin"
    assert parse_uri(f"sha1://{H}?manifest={C}&manifest={M}").manifest == M
    assert parse_uri(f"sha1://{H}").label == ""
    assert parse_uri(f"sha1://{H}").manifest is None and parse_uri(f"sha1://{H}").chunk_of is None


@pytest.mark.parametrize("uri, why", [
    (f"sha1://{H}/a\x00b", "path contains a NUL or backslash"),
    (f"sha1://{H}/a\\b", "path contains a NUL or backslash"),
    (f"sha1://{H}?manifest", "malformed query 'manifest'"),
    (f"sha1://{H}?a=1&b=2&manifest={M}", "unknown query key(s) ['a', 'b']"),
    (f"sha1://{H}?chunkOf={M}~0~2147483649", "a chunk of 2147483649 bytes is more than the 2147483648 allowed"),
    (f"sha1://{H}?chunkOf={M}~5~5", "chunkOf end 5 must be greater than start 5"),
    (f"sha1://{H}?chunkOf={M}~1~2~3", "chunkOf must be '<40 hex>~<start>~<end>' with offsets below 2**63"),
    (f"sha1://{H}?chunkOf={M[:39]}~1~2", "chunkOf parent in URI"),
    (f"sha1dir://{H}/a?manifest={M}", "sha1dir URIs take no query"),
    (f"sha1dir://{H}/a?location=/x", "sha1dir URIs take no query"),
    (f"sha1dir://{H}", "a sha1dir URI needs a path after the hash"),
    (f"sha1:/{H}", "expected 'sha1://<40 hex>…' or 'sha1dir://<40 hex>…'"),
    (f"ftp://{H}", "unknown scheme 'ftp://'; expected 'sha1://' or 'sha1dir://'"),
])
def test_uri_refusals_say_why(uri, why):
    with pytest.raises(InvalidURI) as err:
        parse_uri(uri)
    assert why in str(err.value)
    assert repr(uri) in str(err.value)


def test_chunk_of_largest_chunk_accepted():
    assert parse_uri(f"sha1://{H}?chunkOf={M}~0~2147483648").chunk_of == (M, 0, 2**31)
    assert parse_uri(f"sha1://{H}?chunkOf={M}~999999999999999998~999999999999999999").chunk_of[1] == 10**18 - 2


def test_non_string_uri_message():
    with pytest.raises(InvalidURI, match=r"^a content URI must be a string, got int 42$"):
        parse_uri(42)
    u = ContentURI("sha1", H)
    assert parse_uri(u) is u


def test_check_sha1_messages_exact():
    with pytest.raises(InvalidObject) as err:
        check_sha1("abc", "the hash")
    assert str(err.value) == "the hash 'abc' has 3 characters; a sha1 has exactly 40 hex digits"
    with pytest.raises(InvalidObject) as err:
        check_sha1(H.upper())
    assert str(err.value) == f"sha1 {H.upper()!r} is not lowercase hexadecimal (0-9, a-f)"
    with pytest.raises(InvalidObject) as err:
        check_sha1(7)
    assert str(err.value) == "sha1 must be a string of 40 hex digits, got int 7"
    with pytest.raises(InvalidURI):
        check_sha1(7, error=InvalidURI)


def test_check_sha1_shortens_long_values():
    long = "z" * 200
    with pytest.raises(InvalidObject) as err:
        check_sha1(long)
    shown = repr(long)[:97] + "..."
    assert str(err.value) == f"sha1 {shown} has 200 characters; a sha1 has exactly 40 hex digits"
    v = "z" * 98  # repr is exactly 100 characters: shown whole
    with pytest.raises(InvalidObject) as err:
        check_sha1(v)
    assert repr(v) in str(err.value)


def test_format_uri_from_parts():
    assert format_uri(sha1=H) == f"sha1://{H}"
    assert format_uri(sha1=H, label="a b/c~d+e@f:g,h.bin") == f"sha1://{H}/a%20b/c~d+e@f:g,h.bin"
    assert format_uri(sha1=H, label="q?#.bin") == f"sha1://{H}/q%3F%23.bin"
    assert format_uri(sha1=H, chunk_of=(M, 3, 9)) == f"sha1://{H}?chunkOf={M}~3~9"
    assert format_uri(sha1=H, manifest=M, chunk_of=(C, 3, 9)) == f"sha1://{H}?manifest={M}&chunkOf={C}~3~9"
    assert format_uri(f"sha1://{H}/x.bin") == f"sha1://{H}/x.bin"
    with pytest.raises(InvalidObject, match="manifest 'nope' has 4 characters"):
        format_uri(sha1=H, manifest="nope")
    with pytest.raises(InvalidObject, match="sha1 'nope' has 4"):
        format_uri(sha1="nope")
    assert format_uri(ContentURI("sha1dir", H, "a/b.txt", dirlabel="d")) == f"sha1dir://{H}.d/a/b.txt"
    assert format_uri(ContentURI("sha1dir", H, "a/b.txt")) == f"sha1dir://{H}/a/b.txt"


# -- manifest --------------------------------------------------------------------------------------------

def _m(size, bounds, sha1=H):
    return {"size": size, "sha1": sha1, "chunks": [{"start": a, "end": b, "sha1": C} for a, b in bounds]}


def test_manifest_bytes_and_hash_pinned():
    m = Manifest(10, H, (Chunk(0, 4, C), Chunk(4, 10, M)))
    want = (b'{"size":10,"sha1":"' + H.encode() + b'","chunks":[{"start":0,"end":4,"sha1":"' + C.encode() +
            b'"},{"start":4,"end":10,"sha1":"' + M.encode() + b'"}]}')
    assert m.to_bytes() == want
    import hashlib
    assert m.hash == hashlib.sha1(want).hexdigest()
    assert Manifest.from_bytes(want) == m
    assert Chunk(4, 10, M).size == 6


def test_manifest_chunks_for_boundaries():
    import json
    m = Manifest.from_bytes(json.dumps(_m(30, [(0, 10), (10, 20), (20, 30)])).encode())
    starts = lambda a, b: [c.start for c in m.chunks_for(a, b)]  # noqa: E731
    assert starts(0, 10) == [0]
    assert starts(10, 20) == [10]
    assert starts(9, 11) == [0, 10]
    assert starts(10, 11) == [10]
    assert starts(19, 20) == [10]
    assert starts(0, 30) == [0, 10, 20]
    assert starts(29, 30) == [20]
    assert starts(5, 5) == [] and starts(6, 5) == []
    assert [m.index_of(c) for c in m.chunks] == [0, 1, 2]


@pytest.mark.parametrize("obj, why", [
    (_m(10, [(0, 4), (5, 10)]), "chunks[1] Chunk(start=5, end=10, sha1='" + C + "') leaves a gap (expected start 4)"),
    (_m(10, [(0, 4), (3, 10)]), "leaves an overlap (expected start 4)"),
    (_m(10, [(0, 4), (4, 4), (4, 10)]), "chunks[1] Chunk(start=4, end=4, sha1='" + C + "') leaves an empty chunk"),
    (_m(11, [(0, 4), (4, 10)]), "manifest: chunks cover 10 bytes but size is 11"),
    (_m(2**31 + 1, [(0, 2**31 + 1)]), "manifest: chunks[0] is 2147483649 bytes, more than the 2147483648 a chunk"),
    ({"size": True, "sha1": H, "chunks": []}, "manifest: size must be an integer in [0, 2**63), got True"),
    ({"size": 1.0, "sha1": H, "chunks": []}, "size must be an integer in [0, 2**63), got 1.0"),
    ({"size": -1, "sha1": H, "chunks": []}, "got -1"),
    ({"size": 2**63, "sha1": H, "chunks": []}, "got 9223372036854775808"),
    ({"size": 0, "sha1": H, "chunks": {}}, "manifest: chunks must be a list, not dict"),
    ({"size": 0, "sha1": H}, "manifest: chunks must be a list, not NoneType"),
    ({"size": 1, "sha1": H, "chunks": [[0, 1, C]]}, "manifest: chunks[0] must be an object {start, end, sha1}, not list"),
    ({"size": 1, "sha1": H, "chunks": [{"start": 0, "end": 1, "sha1": "x"}]}, "manifest: chunks[0]: sha1 'x' has 1"),
    ({"size": 0, "sha1": "x", "chunks": []}, "manifest: sha1 'x' has 1 characters"),
    ([], "manifest: a manifest is a JSON object, not list"),
])
def test_manifest_refusals_say_why(obj, why):
    import json
    with pytest.raises(InvalidObject) as err:
        Manifest.from_bytes(json.dumps(obj).encode())
    assert why in str(err.value)


def test_manifest_edge_values_accepted():
    import json
    assert Manifest.from_bytes(json.dumps(_m(0, [])).encode()).chunks == ()
    big = 2**63 - 1
    m = Manifest.from_bytes(json.dumps(_m(2**31, [(0, 2**31)])).encode())
    assert m.size == 2**31
    with pytest.raises(InvalidObject, match="chunks cover 0 bytes but size is 9223372036854775807"):
        Manifest.from_bytes(json.dumps(_m(big, [])).encode())


def test_manifest_not_json_names_it():
    with pytest.raises(InvalidObject, match=r"^manifest X is not valid JSON: "):
        Manifest.from_bytes(b"{", name="manifest X")
    with pytest.raises(InvalidObject, match=r"^m: chunks cover 4 bytes but size is 5$"):
        import json
        Manifest.from_bytes(json.dumps(_m(5, [(0, 4)])).encode(), name="m")


# -- local -----------------------------------------------------------------------------------------------

def test_blob_relpath_literal():
    from intake_npx2020.store.local import blob_relpath

    assert blob_relpath(H) == f"sha1/bc/56/16/{H}"
    with pytest.raises(InvalidObject):
        blob_relpath("../" + H[3:])


def _link(path, target, **stat):
    import json
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"path": str(target), **stat}))


def test_read_root_links_checked_by_size_and_mtime(tmp_path):
    import os

    from intake_npx2020.store.local import ReadRoot

    target = tmp_path / "elsewhere.bin"
    target.write_bytes(b"12345")
    os.utime(target, (1_600_000_000, 1_600_000_000))
    root = ReadRoot(tmp_path / "root")
    assert repr(root) == f"ReadRoot({str(tmp_path / 'root')!r})"
    rec = tmp_path / "root" / "linked_files" / f"sha1/bc/56/16/{H}"
    p2p = tmp_path / "root" / f"sha1/bc/56/16/{H}.link"
    assert root.locate(H) is None
    # kachery-cloud: seconds, size at top level; within 1 s is the same file
    for mtime, size, found in [(1_600_000_000.9, 5, True), (1_599_999_999.1, 5, True), (1_600_000_001.5, 5, False),
                               (1_600_000_000, 4, False), (1_600_000_000, 6, False), (None, None, True),
                               (None, 5, True), (1_600_000_000, None, True)]:
        stat = {k: v for k, v in (("mtime", mtime), ("size", size)) if v is not None}
        _link(rec, target, **stat)
        assert (root.locate(H) == str(target)) is found, (mtime, size)
    rec.unlink()
    # kachery-p2p: milliseconds under "stat"
    for mtime_ms, found in [(1_600_000_000_900, True), (1_600_000_001_500, False), (1_599_999_998_000, False)]:
        _link(p2p, target, stat={"size": 5, "mtime": mtime_ms})
        assert (root.locate(H) == str(target)) is found, mtime_ms
    _link(p2p, tmp_path / "missing.bin", stat={"size": 5})
    assert root.locate(H) is None
    p2p.write_text("not json")
    assert root.locate(H) is None
    p2p.write_text('{"no_path": 1}')
    assert root.locate(H) is None
    p2p.write_text('["a list"]')
    assert root.locate(H) is None


def test_read_root_prefers_the_blob_then_links_then_the_legacy_tree(tmp_path):
    from intake_npx2020.store.local import ReadRoot

    base = tmp_path / "root"
    legacy = base / f"bc/56/16/{H}"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(b"old")
    root = ReadRoot(base)
    assert root.locate(H) == str(legacy)
    target = tmp_path / "t.bin"
    target.write_bytes(b"linked")
    _link(base / "linked_files" / f"sha1/bc/56/16/{H}", target)
    assert root.locate(H) == str(target)
    _link(base / f"sha1/bc/56/16/{H}.link", tmp_path / "gone.bin")  # a dead p2p link: the cloud record is next
    assert root.locate(H) == str(target)
    blob = base / f"sha1/bc/56/16/{H}"
    blob.write_bytes(b"blob")
    assert root.locate(H) == str(blob)


def test_own_store_finds_only_its_own_blobs(tmp_path):
    from intake_npx2020.store.local import OwnStore

    own = OwnStore(tmp_path / "own")
    legacy = tmp_path / "own" / f"bc/56/16/{H}"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(b"old")
    target = tmp_path / "t.bin"
    target.write_bytes(b"x")
    _link(tmp_path / "own" / "linked_files" / f"sha1/bc/56/16/{H}", target)
    assert own.locate(H) is None
    assert own.put(H, b"data") == str(tmp_path / "own" / f"sha1/bc/56/16/{H}")
    assert own.locate(H) == str(tmp_path / "own" / f"sha1/bc/56/16/{H}")
    (tmp_path / "own" / f"sha1/bc/56/16/{H}").unlink()
    (tmp_path / "own" / f"sha1/bc/56/16/{H}").mkdir()
    assert own.locate(H) is None


def test_pins_and_put_file_links(tmp_path):
    import os

    from intake_npx2020.errors import InvalidArgument
    from intake_npx2020.store.local import OwnStore

    own = OwnStore(tmp_path / "own", cache_max=0)
    assert own.is_pinned(H) is False
    assert own.pin(H) is False  # not there: the caller must put it
    assert own.is_pinned(H) is True
    assert (tmp_path / "own" / "pins" / H).is_file()
    src = tmp_path / "src.bin"
    src.write_bytes(b"source bytes")
    with pytest.raises(InvalidArgument, match=r"^link must be None, 'hard' or 'sym', not 'soft'$"):
        own.put_file(M, src, link="soft")
    dest = tmp_path / "own" / f"sha1/9d/cf/60/{M}"
    assert own.put_file(M, src, link="hard") == str(dest)
    assert os.path.samefile(dest, src) and not dest.is_symlink()
    assert own.is_pinned(M) and own.pin(M) is True
    own.put_file(C, src, link="sym")
    sym = tmp_path / "own" / f"sha1/01/23/45/{C}"
    assert sym.is_symlink() and os.readlink(sym) == str(src)
    copy_sha = "f" * 40
    own.put_file(copy_sha, src)
    copied = tmp_path / "own" / f"sha1/ff/ff/ff/{copy_sha}"
    assert copied.read_bytes() == b"source bytes" and not os.path.samefile(copied, src) and not copied.is_symlink()
    # all pinned: a cap of 0 evicts none of them
    assert own.evict(0) == 0
    assert all(p.exists() for p in (dest, sym, copied))
    assert own.clear() == (0, [])


def test_put_cached_respects_the_cap_and_lock_files(tmp_path):
    from intake_npx2020.store.local import OwnStore

    own = OwnStore(tmp_path / "own", cache_max=10)
    own.put(H, b"123456")
    own.put(M, b"abcdef")  # over the cap: the least recently used goes
    assert own.locate(M) is not None and own.locate(H) is None
    assert [size for _, size, _ in own.cached_blobs()] == [6]
    with own.lock(C):
        assert (tmp_path / "own" / "locks" / C).is_file()
    with pytest.raises(InvalidObject):
        with own.lock("../x"):
            pass
    assert own.clear()[0] == 0 and own.locate(M) is None


# -- failover --------------------------------------------------------------------------------------------

class _Scripted:
    """A mirror stand-in answering ``get`` from a script: a Body, None (404), or an exception to raise."""

    def __init__(self, base, script, remembers_misses=False):
        self.base, self.script, self.calls = base, list(script), []
        if remembers_misses:
            self.remembers_misses = True

    def url(self, sha1):
        return f"{self.base}/sha1/{sha1}"

    def get(self, sha1, s=None, e=None, size=None):
        self.calls.append((sha1, s, e, size))
        step = self.script.pop(0) if self.script else None
        if isinstance(step, BaseException):
            raise step
        return step


def _failover(mirrors, retries=2, remotes=()):
    from intake_npx2020.store.config import StoreConfig
    from intake_npx2020.store.failover import Failover

    counts = {}

    def count(k, n=1):
        counts[k] = counts.get(k, 0) + n

    return Failover(mirrors, StoreConfig(store="/nonexistent", retries=retries), count, lambda: "WHERE", remotes), counts


def _body(data: bytes):
    import hashlib

    from intake_npx2020.store.mirror import Body
    return Body(bytearray(data), hashlib.sha1(data).hexdigest())


def test_failover_counts_retries_and_backs_off(monkeypatch):
    import hashlib

    from intake_npx2020.store import failover as fo
    from intake_npx2020.store.mirror import TransientError

    slept = []
    monkeypatch.setattr(fo.time, "sleep", slept.append)
    monkeypatch.setattr(fo.random, "random", lambda: 1.0)
    data = b"right bytes"
    want = hashlib.sha1(data).hexdigest()
    m = _Scripted("http://a", [TransientError("e1"), _body(b"wrong"), _body(data)])
    f, counts = _failover([m], retries=3)
    assert f.fetch_verified(want, None, want, "URI", size=11) == bytearray(data)
    assert m.calls == [(want, None, None, 11)] * 3
    assert counts == {"requests": 3, "retries": 2, "bytes_fetched": 11}
    assert slept == [pytest.approx(0.3), pytest.approx(0.6)]  # min(2, 0.1 * 2**a) * 1.5
    assert fo.backoff(10) == pytest.approx(3.0)


def test_failover_range_then_blob_and_sizes(monkeypatch):
    import hashlib

    from intake_npx2020.store.mirror import PermanentError

    data = b"chunk bytes"
    want = hashlib.sha1(data).hexdigest()
    m = _Scripted("http://a", [PermanentError("200 to a Range"), _body(data)])
    f, counts = _failover([m], retries=3)
    assert f.fetch_verified(want, (H, 100, 111), want, "URI", size=11) == bytearray(data)
    # the parent's range first (no size: the range says it), then the chunk's own blob with its size
    assert m.calls == [(H, 100, 111, None), (want, None, None, 11)]
    assert counts["requests"] == 2 and "retries" not in counts


def test_failover_not_found_anywhere_vs_broken(monkeypatch):
    from intake_npx2020.errors import ContentNotFound, FetchError
    from intake_npx2020.store.mirror import PermanentError

    a, b = _Scripted("http://a", [None, None]), _Scripted("http://b", [None, None])
    f, _ = _failover([a, b])
    with pytest.raises(ContentNotFound) as err:
        f.fetch_verified(H, (M, 0, 10), H, "URI")
    assert str(err.value).startswith(f"URI: bytes 0-9 (chunk {H}) is in no local store and on no mirror. WHERE. ")
    # misses are remembered per mirror and hash: a second read asks nobody
    with pytest.raises(ContentNotFound, match=f"URI: blob {H} is in no local store"):
        f.fetch_verified(H, None, H, "URI")
    assert len(a.calls) == 2 and len(b.calls) == 2
    f.fetch_verified.__self__._missing.clear()
    r = _Scripted("http://r", [None, None], remembers_misses=True)
    f2, _ = _failover([], remotes=[r])
    for _ in range(2):
        with pytest.raises(ContentNotFound):
            f2.fetch_verified(H, None, H, "URI")
    assert len(r.calls) == 2  # a remote that remembers its own misses is asked again
    c = _Scripted("http://c", [PermanentError("http://c: HTTP 403")])
    f3, _ = _failover([c])
    with pytest.raises(FetchError) as err:
        f3.fetch_verified(H, None, H, "URI")
    assert str(err.value) == (f"URI: could not fetch blob {H}: http://c: HTTP 403. The data was not used or cached. "
                              "Retry later or try another mirror.")


def test_failover_no_mirror_at_all():
    from intake_npx2020.errors import ContentNotFound

    f, _ = _failover([])
    with pytest.raises(ContentNotFound) as err:
        f.fetch_verified(H, None, H, f"sha1://{H}")
    assert str(err.value).startswith(f"sha1://{H}: blob {H} is not in any local store and no mirror is configured. "
                                     "WHERE. Obtain the file")


def test_failover_wrong_bytes_message_and_any_exception(monkeypatch):
    from intake_npx2020.errors import FetchError, InvalidObject
    from intake_npx2020.store import failover as fo

    monkeypatch.setattr(fo.time, "sleep", lambda s: None)
    bad = _body(b"nope")
    m = _Scripted("http://a", [bad, bad, bad])
    f, _ = _failover([m], retries=2)
    with pytest.raises(FetchError) as err:
        f.fetch_verified(H, (M, 5, 9), H, "URI")
    msg = str(err.value)
    assert (f"http://a/sha1/{M} bytes 5-8: sha1 {bad.sha1} does not match {H} (corrupt data discarded) (2 attempts)"
            in msg), msg
    assert f"http://a/sha1/{H}: sha1 {bad.sha1} does not match {H} (corrupt data discarded)" in msg
    z = _Scripted("http://z", [ValueError("x" * 400)])
    f, _ = _failover([z])
    with pytest.raises(FetchError) as err:
        f.fetch_verified(H, None, H, "URI")
    assert f"http://z/sha1/{H}: ValueError: {'x' * 300}." in str(err.value)
    assert "x" * 301 not in str(err.value)
    o = _Scripted("http://o", [InvalidObject("ours")])
    f, _ = _failover([o])
    with pytest.raises(InvalidObject, match="^ours$"):
        f.fetch_verified(H, None, H, "URI")


def test_failover_logs_each_failure(caplog, monkeypatch):
    import logging

    from intake_npx2020.store import failover as fo
    from intake_npx2020.store.mirror import PermanentError, TransientError

    monkeypatch.setattr(fo.time, "sleep", lambda s: None)
    m = _Scripted("http://a", [TransientError("t1"), TransientError("t2"), PermanentError("p")])
    f, _ = _failover([m], retries=2)
    with caplog.at_level(logging.WARNING, logger="intake_npx2020.store"):
        with pytest.raises(Exception):
            f.fetch_verified(H, (M, 0, 4), H, "URI")
    assert [r.getMessage() for r in caplog.records] == [
        "t1; retrying (1 of 2 attempts made)", "t2; 2 attempts made, trying the next source",
        "p; trying the next source"]


def test_uri_survivors_of_the_first_mutmut_run():
    """Four mutants of store/uri.py that the tests above let through (mutmut 3.8.1, issue 13)."""
    v = "z" * 99  # repr is 101 characters: shortened
    with pytest.raises(InvalidObject) as err:
        check_sha1(v)
    assert str(err.value).startswith(f"sha1 {repr(v)[:97]}... has 99 characters")
    assert parse_uri(f"kachery:Lab-A:sha1:{H}").zone == "Lab-A"  # upper case is a letter too
    assert parse_uri(f"kachery:z:sha1:{H}:a:b").label == "a:b"  # an unquoted ':' in the label is kept
    with pytest.raises(InvalidURI, match="a chunk of 2147483649 bytes is more than"):
        parse_uri(f"sha1://{H}?chunkOf={M}~10~2147483659")


def test_failover_backoff_doubles_and_a_missing_parent_still_tries_the_chunk(monkeypatch):
    import hashlib

    from intake_npx2020.store import failover as fo

    monkeypatch.setattr(fo.random, "random", lambda: 0.5)
    assert [fo.backoff(a) for a in (1, 2, 3, 4, 5)] == pytest.approx([0.2, 0.4, 0.8, 1.6, 2.0])
    d1, d2 = b"first chunk", b"second"
    w1, w2 = hashlib.sha1(d1).hexdigest(), hashlib.sha1(d2).hexdigest()
    m = _Scripted("http://a", [None, _body(d1), _body(d2)])
    f, _ = _failover([m])
    assert f.fetch_verified(w1, (H, 0, 11), w1, "URI") == bytearray(d1)
    # the parent is known to be absent there: its range is skipped, the chunk's own blob is still asked for
    assert f.fetch_verified(w2, (H, 11, 17), w2, "URI") == bytearray(d2)
    assert m.calls == [(H, 0, 11, None), (w1, None, None, None), (w2, None, None, None)]
