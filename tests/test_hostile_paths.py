"""Hashes that come from data never become paths, lock names or URLs unless they are 40 lowercase hex digits.

A directory object (or manifest) naming a file by ``"../../secret"`` once made reads return a local file outside
every store, made ``npx2020 fetch`` create a file outside the store, and sent requests outside a mirror's base
path. Every entry point is attacked here, and the lowest levels (``blob_relpath``, locks, pins, ``put``,
``Mirror.url``) are checked to refuse on their own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import fsspec
import pytest
from faults import ScriptedMirror, dir_object, put_blob, sha1

from intake_npx2020.errors import InvalidObject, NPXError
from intake_npx2020.store import get_store
from intake_npx2020.store.local import OwnStore, blob_relpath
from intake_npx2020.store.manifest import Manifest
from intake_npx2020.store.mirror import Mirror

SECRET = b"the contents of a local file that is in no store"
ABC = "a9993e364706816aba3e25717850c26c9cd0d89d"  # sha1(b"abc")


def _old_relpath(h: str) -> str:
    """How a blob path was built before hashes were checked."""
    return f"sha1/{h[0:2]}/{h[2:4]}/{h[4:6]}/{h}"


def _traversal_to(store: Path, target: Path) -> str:
    """A "hash" that, put into the old blob path under ``store``, names ``target``."""
    for prefix in ("", "./", ".//", "././"):
        for k in range(1, 12):
            h = prefix + "../" * k + os.path.relpath(target, store.parent)
            if os.path.normpath(str(store) + "/" + _old_relpath(h)) == str(target):
                return h
    raise AssertionError("no traversal found")


def _files_outside(tmp_path: Path, store: Path) -> set[str]:
    return {str(p) for p in tmp_path.rglob("*") if not str(p).startswith(str(store))}


def _id(v) -> str:
    """A test id of ASCII letters, digits and '_' (ids with '/', '\\' or non-ASCII cannot be selected by node id,
    which mutmut does)."""
    return "".join(c if c.isascii() and c.isalnum() else "_" for c in repr(v))[:24]


BAD_HASHES = [
    None,  # replaced by a traversal to the secret file in the test
    "../../../../../../../../../../../../etc/passwd",
    ABC.upper(),
    ABC[:-1],
    ABC + "0",
    ABC[:-2] + "/.",
    "/" + ABC[1:],
    ABC[:20] + "\x00" + ABC[21:],
    "\u0660" * 40,  # Arabic-Indic digits: str.isdigit() but not hex
    1234,
    ["a" * 40],
    {"sha1": ABC},
]


@pytest.fixture
def secret(tmp_path):
    p = tmp_path / "secret.txt"
    p.write_bytes(SECRET)
    return p


@pytest.mark.parametrize("bad", BAD_HASHES, ids=_id)
@pytest.mark.parametrize("entry", ["read", "fsspec", "fetch", "size", "has_local"])
def test_directory_entry_hash_refused_everywhere(tmp_path, secret, bad, entry):
    own = tmp_path / "own-store"
    if bad is None:
        bad = _traversal_to(own, secret)
        assert os.path.normpath(str(own) + "/" + _old_relpath(bad)) == str(secret)  # the attack would reach the secret
    d = put_blob(own, dir_object({"a.txt": bad}))
    uri = f"sha1dir://{d}.x/a.txt"
    before = _files_outside(tmp_path, own)
    s = get_store()
    calls = {"read": lambda: s.read(uri), "fsspec": lambda: fsspec.open(uri, store=str(own)).open().read(),
             "fetch": lambda: s.fetch(uri), "size": lambda: s.size(uri), "has_local": lambda: s.has_local(uri)}
    with pytest.raises(InvalidObject, match="a.txt"):
        calls[entry]()
    assert _files_outside(tmp_path, own) == before
    assert secret.read_bytes() == SECRET
    for sub in ("locks", "pins", "tmp"):
        if (own / sub).is_dir():
            assert all(len(n) >= 40 for n in os.listdir(own / sub)), os.listdir(own / sub)


def test_no_request_leaves_the_mirror_base_path(tmp_path, secret):
    """The directory object comes from a mirror under /m: a traversal hash sends nothing anywhere."""
    src = tmp_path / "mirror-root"
    d = put_blob(src, dir_object({"a.txt": "../../../../../../../../../../../../secret.txt",
                                  "b.txt": sha1(b"abc")}))
    put_blob(src, b"abc")
    srv = ScriptedMirror(src, prefix="/m")
    try:
        s = get_store({"mirrors": srv.url})
        assert bytes(s.read(f"sha1dir://{d}/b.txt")) == b"abc"
        with pytest.raises(InvalidObject):
            s.read(f"sha1dir://{d}/a.txt")
        assert srv.log and all(r.path.startswith("/m/sha1/") and ".." not in r.path for r in srv.log)
    finally:
        srv.close()


def test_cli_fetch_of_traversal_entry_creates_nothing(tmp_path, secret):
    own = tmp_path / "own-store"
    d = put_blob(own, dir_object({"a.txt": "../../../../../../../../../../../../" + secret.name}))
    before = _files_outside(tmp_path, own)
    env = dict(os.environ, NPX2020_STORE=str(own), NPX2020_USE_KACHERY="0")
    p = subprocess.run([sys.executable, "-m", "intake_npx2020", "fetch", f"sha1dir://{d}/a.txt"],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert p.returncode == 1, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
    assert "a.txt" in p.stderr and "hex" in p.stderr
    assert _files_outside(tmp_path, own) == before


def test_nested_directory_objects_checked_at_every_level(tmp_path):
    own = tmp_path / "own-store"
    put_blob(own, b"abc")
    good = {"files": {}, "dirs": {"sub": {"files": {"a.txt": {"size": 3, "sha1": ABC}}, "dirs": {}}}}
    assert bytes(get_store().read(f"sha1dir://{put_blob(own, json.dumps(good).encode())}/sub/a.txt")) == b"abc"
    for obj in ({"files": {}, "dirs": {"sub": {"files": {"a.txt": {"sha1": "../" * 13 + "x"}}}}},
                {"files": {}, "dirs": {"sub": ["not", "a", "dir"]}},
                {"files": {}, "dirs": {"sub": {"files": {"a.txt": "a" * 40}}}},
                {"files": {}, "dirs": ["sub"]},
                {"files": {}, "dirs": {"sub": {"files": {"a.txt": {"size": 3}}}}},
                ["files"]):
        d = put_blob(own, json.dumps(obj).encode())
        with pytest.raises(InvalidObject):
            get_store().read(f"sha1dir://{d}/sub/a.txt")


def test_manifest_chunk_hash_refused_before_any_request(tmp_path):
    data = b"x" * 100
    m = (f'{{"size":100,"sha1":"{sha1(data)}","chunks":[{{"start":0,"end":100,'
         f'"sha1":"../../../../../../../../../../../../../etc/passwd"}}]}}').encode()
    src = tmp_path / "src"
    mh = put_blob(src, m)
    srv = ScriptedMirror(src)
    try:
        with pytest.raises(InvalidObject, match="chunks\\[0\\]: sha1"):
            get_store({"mirrors": srv.url}).read(f"sha1://{sha1(data)}/x?manifest={mh}", 0, 10)
        assert [r.path for r in srv.log] == ["/" + _old_relpath(mh)]  # only the manifest itself was asked for
    finally:
        srv.close()
    with pytest.raises(InvalidObject):
        Manifest.from_bytes(m)


@pytest.mark.parametrize("bad", BAD_HASHES[1:], ids=_id)
def test_lowest_levels_refuse_on_their_own(tmp_path, bad):
    own = OwnStore(tmp_path / "own-store")
    for call in (lambda: blob_relpath(bad), lambda: Mirror("http://127.0.0.1:9/m").url(bad),
                 lambda: own.put(bad, b"abc"), lambda: own.pin(bad), lambda: own.is_pinned(bad),
                 lambda: own.lock(bad).__enter__()):
        with pytest.raises(InvalidObject) as err:
            call()
        assert isinstance(err.value, NPXError)
    made = [p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()]
    assert all(p.parts[0] == "own-store" and p.parts[1] == "locks" and len(p.parts) == 3 for p in made), made


def test_literal_layout_of_a_known_blob(tmp_path):
    """Pinned by hand: the kachery layout of sha1("abc"), under a root and under a mirror's base path."""
    assert blob_relpath(ABC) == "sha1/a9/99/3e/a9993e364706816aba3e25717850c26c9cd0d89d"
    assert Mirror("http://host:8080/base/").url(ABC) == \
        "http://host:8080/base/sha1/a9/99/3e/a9993e364706816aba3e25717850c26c9cd0d89d"
    own = OwnStore(tmp_path / "s")
    path = own.put(ABC, b"abc")
    assert path == str(tmp_path / "s" / "sha1" / "a9" / "99" / "3e" / ABC)
    assert Path(path).read_bytes() == b"abc"
