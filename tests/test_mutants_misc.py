"""Tests written to kill mutmut survivors in the store's settings, ingest, temp area, cache cap, directory objects,
``location=`` files and block reads (``store/config.py``, ``ingest.py``, ``tmpfiles.py``, ``capacity.py``,
``dirobj.py``, ``located.py``, ``remotes.py``, ``blocks.py``).

Each test asserts what a user or a peer process can observe: the exact message of a refused setting (naming the
option or variable), the value a setting takes, which files are in the store, the bytes read. Expected values come
from the documented rules (units, ranges, the order of the kachery roots), never from the code under test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import raises_text as _raises

from intake_npx2020.errors import ConfigError
from intake_npx2020.store import config
from intake_npx2020.store.config import StoreConfig, parse_size, setting_value


# == config: sizes ============================================================================================

@pytest.mark.parametrize("text, n", [
    ("", None), (None, None), ("0", None), ("0.4", None), ("7B", 7), ("3", 3), ("1K", 1000), ("1KB", 1000),
    ("2M", 2 * 10**6), ("2MB", 2 * 10**6), ("3G", 3 * 10**9), ("3GB", 3 * 10**9), ("4T", 4 * 10**12),
    ("4TB", 4 * 10**12), ("1KiB", 1024), ("1MiB", 2**20), ("1GiB", 2**30), ("1TiB", 2**40), ("1e9", 10**9),
    (" 1.5 kb ", 1500), ("2E+3", 2000), (4096, 4096), (1.5e3, 1500)],
    ids=lambda v: repr(v).replace("/", "_"))
def test_parse_size_every_unit(text, n):
    assert parse_size(text) == n


def test_parse_size_refusals_name_the_value():
    assert _raises(ConfigError, parse_size, "1.2.3") == "cannot read size '1.2.3': '1.2.3' is not a number"
    assert _raises(ConfigError, parse_size, "-5GB") == \
        "cannot read size '-5GB': use bytes or a number with a unit, e.g. '50GB' or '512MiB'"
    assert _raises(ConfigError, parse_size, "1e400") == \
        "size '1e400' is beyond any disk; use e.g. '50GB', or 0 for no cap"
    # 2**63 bytes exactly is already too many (an int64 byte count holds at most 2**63 - 1)
    assert _raises(ConfigError, parse_size, str(2**63)).startswith(f"size '{2**63}' is beyond any disk")
    assert parse_size(str(2**62)) == 2**62


# == config: numbers and flags, through setting_value ===========================================================

def test_number_settings_accept_their_bounds():
    assert setting_value("timeout", {"timeout": "0.01"}) == 0.01
    assert setting_value("timeout", {"timeout": 3600}) == 3600.0
    assert setting_value("retries", {"retries": "1"}) == 1
    assert setting_value("retries", {"retries": "100"}) == 100
    assert setting_value("parallel", {"parallel": 256}) == 256
    r = setting_value("retries", {"retries": "3.0"})
    assert r == 3 and type(r) is int
    assert setting_value("retries", {"retries": "1e1"}) == 10
    t = setting_value("timeout", {"timeout": "2"})
    assert t == 2.0 and type(t) is float


@pytest.mark.parametrize("key, value, msg", [
    ("timeout", "0.009", "0.009' is outside 0.01–3600"),
    ("timeout", 3600.5, "3600.5 is outside 0.01–3600"),
    ("timeout", "nan", "'nan' is outside 0.01–3600"),
    ("timeout", "soon", "expected a number, got 'soon'"),
    ("timeout", [1], "expected a number, got [1]"),
    ("retries", "0", "'0' is outside 1–100"),
    ("retries", 101, "101 is outside 1–100"),
    ("retries", "2.5", "expected a whole number, got '2.5'"),
    ("retries", "inf", "expected a number, got 'inf'"),
    ("retries", None, "expected a number, got None"),
    ("parallel", 257, "257 is outside 1–256"),
], ids=lambda v: str(v).replace("/", "_").replace(".", "p"))
def test_number_settings_refused_naming_the_option(key, value, msg):
    got = _raises(ConfigError, setting_value, key, {key: value})
    assert got.startswith(f"storage option {key!r}: ") and got.endswith(msg), got


def test_number_setting_from_the_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv("NPX2020_RETRIES", "7")
    assert setting_value("retries") == 7
    assert setting_value("retries", {"retries": 2}) == 2  # the option wins over the variable
    monkeypatch.setenv("NPX2020_RETRIES", "")
    assert setting_value("retries") == 4  # empty: the default
    monkeypatch.setenv("NPX2020_PARALLEL", "0")
    assert _raises(ConfigError, setting_value, "parallel") == \
        "environment variable NPX2020_PARALLEL: '0' is outside 1–256"


@pytest.mark.parametrize("text, value", [("1", True), ("true", True), (" YES ", True), ("On", True),
                                         ("0", False), ("False", False), ("no", False), ("OFF ", False),
                                         (True, True), (False, False)])
def test_flags_in_every_spelling(text, value):
    assert setting_value("cache", {"cache": text}) is value


def test_flag_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("NPX2020_CACHE", "maybe")
    assert _raises(ConfigError, setting_value, "cache") == \
        "environment variable NPX2020_CACHE: expected 1/0, true/false or yes/no, got 'maybe'"
    assert _raises(ConfigError, setting_value, "packed", {"packed": 2}) == \
        "storage option 'packed': expected 1/0, true/false or yes/no, got 2"


def test_defaults_of_every_setting(monkeypatch):
    for var in ("NPX2020_STORE", "NPX2020_KACHERY", "NPX2020_PACKED"):
        monkeypatch.delenv(var, raising=False)
    got = {s.key: setting_value(s.key) for s in config.SETTINGS}
    assert got == {"store": None, "read_roots": (), "mirrors": (), "cache_max": None, "timeout": 10.0, "retries": 4,
                   "parallel": 4, "use_kachery": True, "cache": True, "kachery_remote": True, "packed": True}
    assert [s.env for s in config.SETTINGS] == [
        "NPX2020_STORE", None, "NPX2020_MIRRORS", "NPX2020_CACHE_MAX", "NPX2020_TIMEOUT", "NPX2020_RETRIES",
        "NPX2020_PARALLEL", "NPX2020_USE_KACHERY", "NPX2020_CACHE", "NPX2020_KACHERY", "NPX2020_PACKED"]


def test_every_setting_read_from_its_variable(monkeypatch, tmp_path):
    env = {"NPX2020_STORE": str(tmp_path / "s"), "NPX2020_MIRRORS": "http://127.0.0.1:9/m/",
           "NPX2020_CACHE_MAX": "2KiB", "NPX2020_TIMEOUT": "2.5", "NPX2020_RETRIES": "9", "NPX2020_PARALLEL": "17",
           "NPX2020_USE_KACHERY": "no", "NPX2020_CACHE": "off", "NPX2020_KACHERY": "yes", "NPX2020_PACKED": "0"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    c = StoreConfig.from_options()
    assert c == StoreConfig(store=str(tmp_path / "s"), read_roots=(), mirrors=("http://127.0.0.1:9/m",),
                            cache_max=2048, timeout=2.5, retries=9, parallel=17, cache=False, kachery_remote=True,
                            packed=False)


# == config: mirrors and roots ===================================================================================

def test_mirror_that_is_not_a_url_nor_a_path_is_refused():
    for bad in ("ftp://127.0.0.1/m", "relative/dir", "http:///x", "http:// 127.0.0.1"):
        assert _raises(ConfigError, setting_value, "mirrors", {"mirrors": bad}) == (
            f"storage option 'mirrors': mirror {bad!r} is not an http(s):// URL (nor an absolute path or file:// "
            "URL of a mirror directory)")
    assert setting_value("mirrors", {"mirrors": "https://h.example/a/, file:///m/x/ ,/abs/y,,"}) == \
        ("https://h.example/a", "file:///m/x", "/abs/y")
    assert setting_value("mirrors", {"mirrors": ["http://h:1/", Path("/abs/z/")]}) == ("http://h:1", "/abs/z")
    assert setting_value("read_roots", {"read_roots": " /a/ , /b"}) == ("/a", "/b")
    # only slashes are trimmed, whatever the last letter
    assert setting_value("read_roots", {"read_roots": "/data/X/,/data/XX"}) == ("/data/X", "/data/XX")
    assert setting_value("read_roots", {"read_roots": ["/data/X/", Path("/data/XX")]}) == ("/data/X", "/data/XX")


def test_urls_are_mirrors_and_paths_are_read_roots(tmp_path, monkeypatch):
    monkeypatch.setenv("NPX2020_USE_KACHERY", "0")
    own = tmp_path / "own"
    c = StoreConfig.from_options({
        "store": str(own), "mirrors": f"http://127.0.0.1:1/a/,file://{tmp_path}/m1, http://127.0.0.1:1/a",
        "read_roots": ["~/r1", "https://127.0.0.1:2/b", str(own), f"file://{tmp_path}/m1"]})
    assert c.mirrors == ("http://127.0.0.1:1/a", "https://127.0.0.1:2/b")
    assert c.read_roots == (f"{tmp_path}/m1", str(Path.home() / "r1"))
    assert c.store == str(own)


def test_store_path_expanded_and_default_store_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NPX2020_USE_KACHERY", "0")
    assert StoreConfig.from_options({"store": "~/mine"}).store == str(Path.home() / "mine")
    monkeypatch.setenv("NPX2020_STORE", "~/envstore")
    assert config.default_store_dir() == Path.home() / "envstore"
    assert StoreConfig.from_options().store == str(Path.home() / "envstore")
    monkeypatch.delenv("NPX2020_STORE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert config.default_store_dir() == tmp_path / "xdg" / "npx2020" / "store"
    assert StoreConfig.from_options().store == str(tmp_path / "xdg" / "npx2020" / "store")


def test_unknown_storage_option_lists_the_known_ones():
    assert _raises(ConfigError, StoreConfig.from_options, {"mirror": "x", "cache": "1"}) == (
        "unknown storage_options ['mirror']; known: store, read_roots, mirrors, cache_max, timeout, retries, "
        "parallel, use_kachery, cache, kachery_remote, packed")


def test_kachery_roots_in_documented_order(tmp_path, monkeypatch):
    home = Path.home()
    assert config.kachery_roots() == [home / ".kachery-cloud", home / ".kachery", home / "kachery-storage"]
    for i, var in enumerate(("KACHERY_STORAGE_DIR", "KACHERY_OFFLINE_STORAGE_DIR", "KACHERY_CLOUD_DIR",
                             "KACHERY_DIR")):
        monkeypatch.setenv(var, str(tmp_path / f"k{i}"))
    assert config.kachery_roots() == [tmp_path / "k0", tmp_path / "k1", tmp_path / "k2", tmp_path / "k3",
                                      home / "kachery-storage"]
    monkeypatch.setenv("KACHERY_DIR", str(tmp_path / "k0"))  # twice: listed once
    monkeypatch.setenv("KACHERY_CLOUD_DIR", "~/kc")
    assert config.kachery_roots() == [tmp_path / "k0", tmp_path / "k1", home / "kc", home / "kachery-storage"]


def test_kachery_roots_follow_use_kachery(tmp_path, monkeypatch):
    monkeypatch.setenv("KACHERY_DIR", str(tmp_path / "kd"))
    own = str(tmp_path / "own")
    on = StoreConfig.from_options({"store": own, "read_roots": str(tmp_path / "r")})
    home = Path.home()
    assert on.read_roots == (str(tmp_path / "r"), str(home / ".kachery-cloud"), str(tmp_path / "kd"),
                             str(home / "kachery-storage"))
    off = StoreConfig.from_options({"store": own, "read_roots": str(tmp_path / "r"), "use_kachery": "0"})
    assert off.read_roots == (str(tmp_path / "r"),)
    # our own store is never also a read root, even when a kachery variable names it
    monkeypatch.setenv("KACHERY_DIR", own)
    assert own not in StoreConfig.from_options({"store": own}).read_roots
    assert os.fspath(Path(own)) == StoreConfig.from_options({"store": own}).store


# == dirobj: directory objects ===================================================================================

DIR_H = "89abcdef0123456789abcdef0123456789abcdef"
DIR_URI = f"sha1dir://{DIR_H}/a/b/c/f.txt"


def test_dirobj_shape_errors_name_the_member():
    import json

    from intake_npx2020.errors import ContentNotFound, InvalidObject
    from intake_npx2020.store.dirobj import file_sha1

    what = f"directory object {DIR_H}"
    # no "files" at all is an empty directory, not a malformed one
    assert _raises(ContentNotFound, file_sha1, b"{}", DIR_H, "f.txt", DIR_URI) == \
        f"{DIR_URI}: no file 'f.txt' in {what}"
    assert _raises(ContentNotFound, file_sha1, b'{"files": {}}', DIR_H, "a/f.txt", DIR_URI) == \
        f"{DIR_URI}: no directory 'a' in {what}"
    assert _raises(InvalidObject, file_sha1, b'{"files": []}', DIR_H, "f.txt", DIR_URI) == \
        f"{DIR_URI}: {what}: 'files' is a list, not an object"
    assert _raises(InvalidObject, file_sha1, b'{"dirs": "x"}', DIR_H, "a/f.txt", DIR_URI) == \
        f"{DIR_URI}: {what}: 'dirs' is a str, not an object"
    assert _raises(InvalidObject, file_sha1, b'{"files": {"f.txt": 7}}', DIR_H, "f.txt", DIR_URI) == \
        f"{DIR_URI}: {what}: files['f.txt'] is a int, not an object"
    msg = _raises(InvalidObject, file_sha1, b"{", DIR_H, "f.txt", DIR_URI)
    assert msg == f"{DIR_URI}: {what} is not valid JSON: Expecting property name enclosed in double quotes: " \
                  "line 1 column 2 (char 1)", msg
    nested = json.dumps({"dirs": {"a": {"dirs": {"b": {"dirs": {}, "files": {}}}}}}).encode()
    assert _raises(ContentNotFound, file_sha1, nested, DIR_H, "a/b/c/f.txt", DIR_URI) == \
        f"{DIR_URI}: no directory 'c' in {what} at a/b"
    assert _raises(ContentNotFound, file_sha1, nested, DIR_H, "a/x/f.txt", DIR_URI) == \
        f"{DIR_URI}: no directory 'x' in {what} at a"
    assert _raises(InvalidObject, file_sha1, json.dumps({"dirs": {"a": {"dirs": {"b": 3}}}}).encode(), DIR_H,
                   "a/b/f.txt", DIR_URI) == f"{DIR_URI}: {what} at a: dirs['b'] is a int, not an object"


# == located: kachery-cloud location= files ======================================================================

def test_located_file_checked_once_then_served_while_unchanged(tmp_path, monkeypatch):
    from helpers import sha1

    from intake_npx2020.errors import IntegrityError, InvalidURI
    from intake_npx2020.store import located

    data = b"located bytes " * 1000
    f = tmp_path / "file.bin"
    f.write_bytes(data)
    h = sha1(data)
    lf = located.LocatedFiles()
    assert _raises(InvalidURI, lf.add, h, "rel/file.bin") == \
        f"location 'rel/file.bin' of sha1://{h} must be an absolute path"
    hashed = []
    real = located._sha1_file
    monkeypatch.setattr(located, "_sha1_file", lambda p, progress: hashed.append(p) or real(p, progress))
    assert lf.locate(h) is None
    assert lf.add(h, str(f)) == str(f)
    assert lf.locate(h) == str(f)
    assert repr(lf) == "LocatedFiles(1 files)"
    assert lf.add(h, str(f)) == str(f)
    assert hashed == [str(f)]  # an unchanged file is not hashed again
    other = tmp_path / "other.bin"
    other.write_bytes(b"something else")
    assert _raises(IntegrityError, lf.add, h, str(other)) == (
        f"the file at location {other} has sha1 {sha1(b'something else')}, not {h}: it is not the file the URI "
        "names, and was not used")
    assert lf.locate(h) == str(f)  # the refused file replaced nothing
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert lf.locate(h) is None  # touched since it was checked
    f.unlink()
    assert lf.locate(h) is None


def test_located_file_bigger_than_a_read_block(tmp_path):
    from helpers import random_bytes, sha1

    from intake_npx2020.store.located import LocatedFiles

    data = random_bytes((8 << 20) + 12345, seed=11)
    f = tmp_path / "big.bin"
    f.write_bytes(data)
    assert LocatedFiles().add(sha1(data), str(f)) == str(f)


# == remotes: what a URI says beyond its hash =====================================================================

class _ZoneRecorder:
    def __init__(self):
        self.zones = []

    def note_zone(self, sha1, zone):
        self.zones.append((sha1, zone))


def _plain_store(tmp_path):
    from intake_npx2020.store import Store

    return Store(StoreConfig(store=str(tmp_path / "own"), kachery_remote=False, packed=False))


def test_zone_of_a_kachery_uri_goes_to_every_remote_that_takes_zones(tmp_path):
    h = "0123456789abcdef0123456789abcdef01234567"
    s = _plain_store(tmp_path)
    rec, rec2 = _ZoneRecorder(), _ZoneRecorder()
    s.remotes = [rec, object(), rec2]  # a remote without note_zone is skipped
    u = s.resolve(f"kachery:lab-zone:sha1:{h}:x.bin")
    assert (u.sha1, u.label) == (h, "x.bin")
    assert rec.zones == rec2.zones == [(h, "lab-zone")]
    assert s.located.locate(h) is None


def test_location_used_only_when_the_blob_is_not_local(tmp_path):
    from helpers import sha1

    from intake_npx2020.errors import IntegrityError

    data = b"kept in our store"
    h = sha1(data)
    wrong = tmp_path / "wrong.bin"
    wrong.write_bytes(b"not those bytes")
    s = _plain_store(tmp_path)
    with pytest.raises(IntegrityError):
        s.resolve(f"sha1://{h}?label=a.bin&location={wrong}")
    s.own.put(h, data)
    assert s.resolve(f"sha1://{h}?label=a.bin&location={wrong}").sha1 == h  # ours first: location not checked
    right = tmp_path / "right.bin"
    right.write_bytes(b"on disk elsewhere")
    h2 = sha1(b"on disk elsewhere")
    s.resolve(f"sha1://{h2}?label=b.bin&location={right}")
    assert s.locate(h2) == str(right)
    assert bytes(s.read(f"sha1://{h2}/b.bin")) == b"on disk elsewhere"


# == blocks: a byte range in successive blocks ====================================================================

def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _chunked(tmp_path, whole=False, n=50_000, bounds=(0, 7_000, 20_000, 20_001, 33_000, 50_000)):
    from helpers import put_file, random_bytes

    from intake_npx2020.store import get_store

    data = random_bytes(n, seed=21)
    uri = put_file(tmp_path / "own-store", data, list(bounds), whole=whole, chunks=True)
    return get_store(), data, uri


def test_local_extents_of_a_whole_blob_and_of_chunks(tmp_path):
    from helpers import sha1

    from intake_npx2020.store.blocks import local_extents
    from intake_npx2020.store.local import blob_relpath

    s, data, uri = _chunked(tmp_path)
    own = tmp_path / "own-store"

    def path(a, b):
        return str(own / blob_relpath(sha1(data[a:b])))

    assert local_extents(s, uri, 6_000, 33_001) == [
        (path(0, 7_000), 6_000, 1_000), (path(7_000, 20_000), 0, 13_000), (path(20_000, 20_001), 0, 1),
        (path(20_001, 33_000), 0, 12_999), (path(33_000, 50_000), 0, 1)]
    assert local_extents(s, uri, 7_000, 20_000) == [(path(7_000, 20_000), 0, 13_000)]
    assert local_extents(s, uri, 0, 50_001) is None  # past the end: the store's read names the range
    assert local_extents(s, uri, 0, 50_000)[-1] == (path(33_000, 50_000), 0, 17_000)
    s.own.put(sha1(data), data)
    assert local_extents(s, uri, 10, 20) == [(str(own / blob_relpath(sha1(data))), 10, 10)]
    assert local_extents(s, f"sha1://{sha1(data)}?chunkOf={sha1(data)}~0~10", 0, 5) is None


def test_local_extents_none_unless_every_byte_is_local(tmp_path):
    from helpers import sha1

    from intake_npx2020.store.blocks import local_extents
    from intake_npx2020.store.local import blob_relpath

    s, data, uri = _chunked(tmp_path)
    (tmp_path / "own-store" / blob_relpath(sha1(data[20_001:33_000]))).unlink()
    assert local_extents(s, uri, 0, 20_001) is not None
    assert local_extents(s, uri, 0, 20_002) is None
    assert local_extents(s, f"sha1://{sha1(b'nowhere')}/x.bin", 0, 1) is None  # no manifest, no blob


def test_local_extents_mark_the_chunks_used_recent(tmp_path):
    from helpers import sha1

    from intake_npx2020.store.blocks import local_extents
    from intake_npx2020.store.local import blob_relpath

    s, data, uri = _chunked(tmp_path)
    own = tmp_path / "own-store"
    files = {(a, b): own / blob_relpath(sha1(data[a:b])) for a, b in [(0, 7_000), (7_000, 20_000), (33_000, 50_000)]}
    for f in files.values():
        os.utime(f, (1_000_000, 1_000_000))
    local_extents(s, uri, 100, 7_100)
    assert files[(0, 7_000)].stat().st_mtime > 1_000_000
    assert files[(7_000, 20_000)].stat().st_mtime > 1_000_000
    assert files[(33_000, 50_000)].stat().st_mtime == 1_000_000  # not in the range


@pytest.mark.parametrize("whole", [True, False], ids=["whole", "chunks"])
@pytest.mark.parametrize("bufsize", [1, 999, 7_000, 13_001, 60_000])
def test_read_blocks_local_bytes_in_views_of_the_buffer(tmp_path, whole, bufsize):
    import numpy as np

    from intake_npx2020.store.blocks import read_blocks

    s, data, uri = _chunked(tmp_path, whole=whole)
    buf = np.empty(bufsize, dtype=np.uint8)
    fds = _open_fds()
    for a, b in [(0, 50_000), (6_999, 33_002), (20_000, 20_001)]:
        sizes, got = [], bytearray()
        for view in read_blocks(s, uri, a, b, buf):
            assert view.obj is buf
            sizes.append(len(view))
            got += view
        assert bytes(got) == data[a:b]
        n = b - a
        assert sizes == [bufsize] * (n // bufsize) + ([n % bufsize] if n % bufsize else [])
    assert _open_fds() == fds


def test_read_blocks_closes_files_when_abandoned(tmp_path):
    from intake_npx2020.store.blocks import read_blocks

    s, data, uri = _chunked(tmp_path)
    fds = _open_fds()
    it = read_blocks(s, uri, 0, 50_000, bytearray(1000))
    assert bytes(next(it)) == data[:1000]
    assert _open_fds() == fds + 5
    it.close()
    assert _open_fds() == fds


def test_read_blocks_short_local_file_is_an_integrity_error(tmp_path):
    from helpers import sha1

    from intake_npx2020.errors import IntegrityError
    from intake_npx2020.store.blocks import read_blocks
    from intake_npx2020.store.local import blob_relpath

    s, data, uri = _chunked(tmp_path)
    f = tmp_path / "own-store" / blob_relpath(sha1(data[7_000:20_000]))
    f.write_bytes(data[7_000:12_000])  # 5,000 of its 13,000 bytes
    fds = _open_fds()
    with pytest.raises(IntegrityError) as info:
        for _ in read_blocks(s, uri, 3_000, 40_000, bytearray(4096)):
            pass
    assert str(info.value) == f"{uri}: a local file is shorter than expected (EOF at byte 5000)"
    assert _open_fds() == fds


def test_read_blocks_file_gone_between_locate_and_open_reads_through_the_store(tmp_path, monkeypatch):
    from intake_npx2020.store import blocks

    s, data, uri = _chunked(tmp_path)
    real = blocks.local_extents

    def gone_last(store, u, a, b):
        ext = real(store, u, a, b)
        return ext[:-1] + [(str(tmp_path / "evicted"), 0, ext[-1][2])]

    monkeypatch.setattr(blocks, "local_extents", gone_last)
    fds = _open_fds()
    got = b"".join(bytes(v) for v in blocks.read_blocks(s, uri, 5, 49_990, bytearray(3000)))
    assert got == data[5:49_990]
    assert _open_fds() == fds


class _SegmentStore:
    """Duck-typed store for ``read_blocks``: nothing local; records the ranges asked of ``read_into``."""

    def __init__(self, data):
        from intake_npx2020.store.uri import parse_uri

        self.data, self.calls, self._parse = data, [], parse_uri

    def resolve(self, uri):
        return self._parse(uri)

    def locate(self, sha1):
        return None

    def read_into(self, uri, start, out):
        self.calls.append((start, len(out)))
        out[:] = self.data[start:start + len(out)]


def test_read_blocks_through_the_store_in_segments(monkeypatch):
    from helpers import random_bytes

    from intake_npx2020.store import blocks

    data = random_bytes(10_000, seed=5)
    uri = "sha1://" + "a" * 40 + "/x.bin"
    monkeypatch.setattr(blocks, "SEGMENT", 1000)
    st = _SegmentStore(data)
    sizes, got = [], bytearray()
    for view in blocks.read_blocks(st, uri, 100, 2_300, bytearray(300)):
        sizes.append(len(view))
        got += view
    assert bytes(got) == data[100:2_300]
    assert st.calls == [(100, 900), (1_000, 900), (1_900, 400)]  # segments: whole buffers within SEGMENT
    assert sizes == [300, 300, 300, 300, 300, 300, 300, 100]
    st.calls.clear()
    assert b"".join(bytes(v) for v in blocks.read_blocks(st, uri, 0, 3_000, bytearray(1500))) == data[:3_000]
    assert st.calls == [(0, 1500), (1_500, 1500)]  # a buffer larger than SEGMENT: one buffer a segment
    st.calls.clear()
    assert b"".join(bytes(v) for v in blocks.read_blocks(st, uri, 0, 7, bytearray(300))) == data[:7]
    assert st.calls == [(0, 7)]


def test_read_blocks_default_segment_is_64_mib():
    from intake_npx2020.store import blocks

    st = _SegmentStore(bytes(65 << 20))
    views = blocks.read_blocks(st, "sha1://" + "b" * 40 + "/y.bin", 0, 65 << 20, bytearray(3 << 20))
    assert len(next(views)) == 3 << 20
    assert st.calls == [(0, 63 << 20)]  # 21 buffers of 3 MiB fit in 64 MiB


def test_local_extents_check_the_manifest_and_name_the_uri(tmp_path):
    from helpers import sha1

    from intake_npx2020.errors import ContentNotFound, IntegrityError
    from intake_npx2020.store.blocks import local_extents

    s, data, uri = _chunked(tmp_path)
    m = uri.split("?manifest=")[1]
    other = sha1(b"another file")
    assert _raises(IntegrityError, local_extents, s, f"sha1://{other}/raw.bin?manifest={m}", 0, 10) == \
        f"manifest {m} describes file {sha1(data)}, not {other}; the URI is inconsistent"
    missing = "f" * 40
    lost = f"sha1://{other}/lost.bin?manifest={missing}"
    assert f"manifest {missing} of {lost}" in _raises(ContentNotFound, local_extents, s, lost, 0, 10)


def test_read_blocks_takes_only_the_extent_of_a_longer_local_file(tmp_path):
    from helpers import sha1

    from intake_npx2020.store.blocks import read_blocks
    from intake_npx2020.store.local import blob_relpath

    s, data, uri = _chunked(tmp_path)
    with open(tmp_path / "own-store" / blob_relpath(sha1(data[:7_000])), "ab") as f:
        f.write(b"\xff" * 5_000)  # trailing bytes beyond the chunk's 7,000
    got = b"".join(bytes(v) for v in read_blocks(s, uri, 0, 50_000, bytearray(999)))
    assert got == data


def test_read_blocks_views_hold_unsigned_bytes(tmp_path):
    import numpy as np

    from intake_npx2020.store.blocks import read_blocks

    s, data, uri = _chunked(tmp_path)
    views = read_blocks(s, uri, 0, 50_000, np.empty(64, dtype="<i2"))  # any buffer: viewed as bytes
    first = next(views)
    assert len(first) == 128 and first.tolist() == list(data[:128])
    views.close()


def test_located_progress_bar_only_above_one_gib(tmp_path, capsys):
    from intake_npx2020.errors import IntegrityError
    from intake_npx2020.store.located import LocatedFiles

    small = tmp_path / "small.bin"
    small.write_bytes(b"s" * 1000)
    with pytest.raises(IntegrityError):
        LocatedFiles().add("0" * 40, str(small), progress=True)
    assert "check small.bin" not in capsys.readouterr().err
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate((1 << 30) + 1)  # sparse: 1 GiB + 1 byte of zeros
    with pytest.raises(IntegrityError):  # any wrong hash: the bar is shown while hashing, before the check
        LocatedFiles().add("0" * 40, str(big), progress=True)
    err = capsys.readouterr().err
    assert "check big.bin:   0%|" in err, err


def test_remote_sources_follow_kachery_remote(tmp_path):
    from intake_npx2020.store.remotes import remote_sources

    assert remote_sources(StoreConfig(store=str(tmp_path), kachery_remote=False)) == []
    (r,) = remote_sources(StoreConfig(store=str(tmp_path), kachery_remote=True, timeout=3.5))
    assert type(r).__name__ == "KacheryRemote" and r.timeout == 3.5


def test_no_source_error_lists_the_location_files_root(tmp_path):
    from intake_npx2020.errors import ContentNotFound

    s = _plain_store(tmp_path)
    msg = _raises(ContentNotFound, s.load_bytes, "d" * 40)
    assert f"local stores searched: {tmp_path / 'own'}, (files named by location=); mirrors: none configured" in msg
