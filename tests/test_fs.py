import pickle

import dask
import dask.array as da
import fsspec
import numpy as np
import pytest

from intake_npx2020.fs import Sha1FileSystem


def test_fsspec_open_read_seek(blob, serve_process):
    root, data, uri = blob
    base = serve_process(root)
    with fsspec.open(uri, mirrors=base) as f:
        assert f.size == len(data)
        f.seek(4_000_000)
        assert f.read(1000) == data[4_000_000:4_001_000]
    fs = fsspec.filesystem("sha1", mirrors=base)
    assert isinstance(fs, Sha1FileSystem)
    assert fs.cat_file(uri, 10, 20) == data[10:20]
    assert fs.cat_file(uri, -5) == data[-5:]
    assert fs.info(uri)["size"] == fs.size(uri) == len(data)
    assert fs.ukey(uri) == uri.split("/")[2]
    assert fs.exists(uri)


def test_read_only(blob):
    root, data, uri = blob
    fs = fsspec.filesystem("sha1", read_roots=[str(root)])
    with pytest.raises(PermissionError, match="read-only"):
        fs.open(uri, "wb")


def test_pickle_filesystem(blob):
    root, data, uri = blob
    fs = fsspec.filesystem("sha1", read_roots=[str(root)])
    fs2 = pickle.loads(pickle.dumps(fs))
    assert fs2.cat_file(uri, 100, 200) == data[100:200]


def test_sha1dir(tmp_path):
    import json

    from helpers import put_file, sha1, write_blob

    own = tmp_path / "own-store"
    a = b"abc"
    put_file(own, a)
    d = {"files": {}, "dirs": {"sub": {"files": {"a.txt": {"size": 3, "sha1": sha1(a)}}, "dirs": {}}}}
    h = write_blob(own, json.dumps(d).encode())
    assert sha1(a) == "a9993e364706816aba3e25717850c26c9cd0d89d"
    assert fsspec.open(f"sha1dir://{h}.mydir/sub/a.txt").open().read() == a
    with pytest.raises(FileNotFoundError, match="nope"):
        fsspec.open(f"sha1dir://{h}.mydir/sub/nope").open().read()


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_dask_array_over_mirror(blob, serve_process, scheduler, tmp_path):
    """A dask array whose blocks are byte ranges read through fsspec, on threads and on worker processes."""
    root, data, uri = blob
    base = serve_process(root)
    fs = fsspec.filesystem("sha1", mirrors=base, store=str(tmp_path / f"cache-{scheduler}"))
    ncols, itemsize = 100, 2
    nrows = len(data) // (ncols * itemsize)
    rows = 7_919  # not aligned with any chunk bound

    def block(i):
        a, b = i * rows, min(nrows, (i + 1) * rows)
        buf = fs.cat_file(uri, a * ncols * itemsize, b * ncols * itemsize)
        return np.frombuffer(buf, "<i2").reshape(b - a, ncols)

    blocks = [da.from_delayed(dask.delayed(block)(i), (min(nrows, (i + 1) * rows) - i * rows, ncols), "<i2")
              for i in range(-(-nrows // rows))]
    arr = da.concatenate(blocks)
    expect = np.frombuffer(data[: nrows * ncols * itemsize], "<i2").reshape(nrows, ncols)
    got = arr.compute(scheduler=scheduler)
    np.testing.assert_array_equal(got, expect)


def test_sha1dir_traversal_hash_refused_through_fsspec(tmp_path):
    """A directory object naming a file by a path-like "hash" never opens a local file (issue 13)."""
    import json

    from helpers import write_blob

    from intake_npx2020.errors import InvalidObject

    own = tmp_path / "own-store"
    (tmp_path / "secret.txt").write_bytes(b"secret")
    d = {"files": {"a.txt": {"size": 6, "sha1": "./../../../../../../secret.txt"}}, "dirs": {}}
    h = write_blob(own, json.dumps(d).encode())
    fs = fsspec.filesystem("sha1", store=str(own))
    with pytest.raises(InvalidObject, match="a.txt"):
        fs.cat_file(f"sha1dir://{h}/a.txt")
    with pytest.raises(InvalidObject):
        fsspec.open(f"sha1dir://{h}/a.txt", store=str(own)).open().read()
    with pytest.raises(InvalidObject):
        fs.info(f"sha1dir://{h}/a.txt")
