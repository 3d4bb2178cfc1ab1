"""The ``sha1://`` / ``sha1dir://`` filesystem as fsspec's own code and tests use filesystems (issue 16).

fsspec's abstract ``get`` test-suite (``fsspec.tests.abstract.AbstractGetTests``) runs against
:class:`~intake_npx2020.fs.Sha1FileSystem`: its scenarios (files, nested and empty directories, same-name
prefixes, hashed names) are published as kachery directory objects in our store instead of being written with
``touch``/``makedirs`` (the filesystem is read-only), then copied to local disk by the real ``fs.get``.
"""

from __future__ import annotations

import hashlib
import json
from hashlib import md5

import fsspec
import numpy as np
import pytest
from fsspec.tests.abstract import AbstractFixtures, AbstractGetTests
from helpers import put_file, random_bytes

from intake_npx2020.fs import Sha1FileSystem
from intake_npx2020.store import get_store


def publish(tree: dict, label: str = "source") -> str:
    """Put a ``{name: bytes | dict}`` tree in the store as a kachery directory object; its ``sha1dir://`` URI."""
    store = get_store()

    def node(t: dict) -> dict:
        out = {"files": {}, "dirs": {}}
        for name, value in t.items():
            if isinstance(value, dict):
                out["dirs"][name] = node(value)
            else:
                out["files"][name] = {"size": len(value), "sha1": store.put_bytes(value)}
        return out

    h = store.put_bytes(json.dumps(node(tree)).encode())
    return f"sha1dir://{h}.{label}"


BULK = {"file1": b"", "file2": b"", "subdir": {"subfile1": b"", "subfile2": b"", "nesteddir": {"nestedfile": b""}}}


class _Published(Sha1FileSystem):
    """The read-only filesystem, where a test's ``mkdir``/``touch`` only check that the published tree has it."""

    def mkdir(self, path, create_parents=True, **kwargs):
        assert self.isdir(path), path

    def touch(self, path, truncate=True, **kwargs):
        assert self.isfile(path) and self.size(path) == 0, path


class TestSha1dirGet(AbstractFixtures, AbstractGetTests):
    """fsspec's own ``get`` tests (files, directories, globs, lists, recursion) on ``sha1dir://``."""

    @pytest.fixture
    def fs(self):
        return _Published(skip_instance_cache=True)

    @pytest.fixture
    def fs_join(self):
        return lambda *parts: "/".join(str(p).rstrip("/") for p in parts)

    @pytest.fixture
    def fs_path(self):
        return publish({"src": {"file": b""}}, "root")    # what test_get_directory_recursive writes

    @pytest.fixture
    def fs_bulk_operations_scenario_0(self):
        return publish(BULK)

    @pytest.fixture
    def fs_glob_edge_cases_files(self):
        sub = {"subfile1": b"", "subfile2": b"", "nesteddir": {"nestedfile": b""}}
        return publish({"file1": b"", "file2": b"", "subdir0": dict(sub), "subdir1": dict(sub)})

    @pytest.fixture
    def fs_dir_and_file_with_same_name_prefix(self):
        return publish({"subdir.txt": b"", "subdir": {"subfile.txt": b""}})

    @pytest.fixture
    def fs_10_files_with_hashed_names(self):
        return publish({f"{md5(str(i).encode()).hexdigest()}.txt": str(i).encode() for i in range(10)})


# -- sha1:// names are literal ----------------------------------------------------------------------------

@pytest.fixture
def raw(tmp_path):
    data = random_bytes(300_000, seed=4)
    uri = put_file(tmp_path / "own-store", data, [0, 100_000, 250_000, len(data)])
    other = put_file(tmp_path / "own-store", b"other bytes", label="other.txt")
    return data, uri, other


def test_query_is_not_a_wildcard(raw, tmp_path):
    data, uri, other = raw
    assert "?manifest=" in uri
    fs = fsspec.filesystem("sha1")
    assert fs.glob(uri) == [uri]
    assert fs.expand_path(uri) == [uri] and fs.expand_path([uri, other]) == sorted([uri, other])
    fs.get(uri, str(tmp_path / "got.bin"))
    assert (tmp_path / "got.bin").read_bytes() == data
    (tmp_path / "into").mkdir()
    fs.get(uri, str(tmp_path / "into"))
    fs.get([uri, other], str(tmp_path / "both") + "/")
    assert (tmp_path / "into" / "raw.bin").read_bytes() == data == (tmp_path / "both" / "raw.bin").read_bytes()
    assert (tmp_path / "both" / "other.txt").read_bytes() == b"other bytes"
    files = fsspec.open_files([uri, other], "rb")
    assert [f.path for f in files] == [uri, other]
    with files[0] as f:
        assert f.read() == data
    missing = "sha1://" + "0" * 40 + "/missing.bin"    # a name like any other: reading it says it is missing
    assert fs.glob(missing) == [missing] and fs.expand_path(missing) == [missing] and not fs.exists(missing)
    with pytest.raises(FileNotFoundError, match=missing[7:47]):
        fsspec.open_files([missing, other])[0].open().read()


def test_every_raw_uri_of_the_catalog_expands_to_itself():
    """The 14 raw URIs of the shipped catalog (their bytes are not here: none is read or looked for)."""
    import intake_npx2020 as npx

    cat = npx.open_catalog()
    raws = [cat[n].spec.raw for n in cat if cat[n].describe()["metadata"].get("kind") == "recording"]
    assert len(raws) == 14 and all("?manifest=" in u for u in raws[:1])
    fs = Sha1FileSystem()
    for uri in raws:
        assert fs._strip_protocol(uri) == uri
        assert fs.glob(uri) == fs.expand_path(uri) == [uri]
    assert [f.path for f in fsspec.open_files(raws)] == raws


def test_checksum_depends_on_content_only(raw):
    data, uri, _ = raw
    fs = Sha1FileSystem()
    h = uri[len("sha1://"):].split("/")[0]
    relabelled = f"sha1://{h}/another-name.bin"
    assert fs.checksum(uri) == fs.checksum(relabelled) == int(hashlib.sha1(data).hexdigest(), 16)
    assert fs.ukey(uri) == fs.ukey(relabelled)
    d1, d2 = publish({"a.bin": data}, "one"), publish({"a.bin": data}, "two")
    assert fs.checksum(f"{d1}/a.bin") == fs.checksum(uri)
    assert fs.checksum(d1) == fs.checksum(d2)          # same directory object, other label
    assert fs.checksum(publish({"x": {"a.bin": data}}) + "/x") == fs.checksum(d1)


# -- sha1dir:// directories ---------------------------------------------------------------------------

def test_directory_listing(tmp_path):
    d = publish({"a.txt": b"alpha", "sub": {"b.txt": b"beta", "deeper": {"c.txt": b"gamma"}}, "empty": {}}, "tree")
    fs = Sha1FileSystem()
    assert fs.isdir(d) and fs.isdir(d + "/sub/") and not fs.isdir(d + "/a.txt") and fs.isfile(d + "/a.txt")
    assert fs.ls(d, detail=False) == [f"{d}/empty", f"{d}/sub", f"{d}/a.txt"]
    assert {e["name"]: (e["type"], e["size"]) for e in fs.ls(d + "/sub")} == {
        f"{d}/sub/deeper": ("directory", 0), f"{d}/sub/b.txt": ("file", 4)}
    assert fs.find(d) == [f"{d}/a.txt", f"{d}/sub/b.txt", f"{d}/sub/deeper/c.txt"]
    assert fs.glob(d + "/**/*.txt") == [f"{d}/a.txt", f"{d}/sub/b.txt", f"{d}/sub/deeper/c.txt"]
    assert fs.cat(d + "/sub/deeper/c.txt") == b"gamma" and fs.info(d + "/a.txt")["size"] == 5
    with pytest.raises(FileNotFoundError):
        fs.info(d + "/nope")
    with pytest.raises(IsADirectoryError):
        fs.cat_file(d + "/sub")
    fs.get(d, str(tmp_path / "copy"), recursive=True)
    assert (tmp_path / "copy" / "sub" / "deeper" / "c.txt").read_bytes() == b"gamma"
    assert (tmp_path / "copy" / "empty").is_dir()


def test_zarr_published_as_a_kachery_directory(tmp_path):
    zarr = pytest.importorskip("zarr")
    from pathlib import Path

    arr = np.arange(5000, dtype=np.int16).reshape(100, 50)
    z = zarr.open_array(str(tmp_path / "a.zarr"), mode="w", shape=arr.shape, chunks=(30, 50), dtype="i2",
                        **({"zarr_format": 2} if zarr.__version__.startswith("3") else {}))
    z[:] = arr

    def tree(p: Path) -> dict:
        return {c.name: tree(c) if c.is_dir() else c.read_bytes() for c in p.iterdir()}

    uri = publish(tree(tmp_path / "a.zarr"), "a.zarr")
    mapper = fsspec.get_mapper(uri)
    assert ".zarray" in mapper and len(list(mapper)) >= 5
    np.testing.assert_array_equal(zarr.open_array(mapper, mode="r")[:], arr)


def test_hostile_directory_objects(tmp_path):
    """Names and sizes come from data: a name that is not one path component is refused, never followed."""
    from intake_npx2020.errors import InvalidObject

    store = get_store()
    blob = store.put_bytes(b"x")
    fs = Sha1FileSystem()
    for name in ("..", ".", "", "a/../../escape", "a\\b", "nul\x00"):
        h = store.put_bytes(json.dumps({"files": {name: {"size": 1, "sha1": blob}}, "dirs": {}}).encode())
        with pytest.raises(InvalidObject, match="invalid name"):
            fs.ls(f"sha1dir://{h}")
        with pytest.raises(InvalidObject):
            fs.get(f"sha1dir://{h}", str(tmp_path / "t"), recursive=True)
    assert not (tmp_path / "escape").exists() and not list(tmp_path.rglob("escape"))
    h = store.put_bytes(json.dumps({"files": {"a": {"size": "lots", "sha1": blob}}}).encode())
    assert fs.ls(f"sha1dir://{h}")[0]["size"] is None and fs.cat(f"sha1dir://{h}/a") == b"x"
