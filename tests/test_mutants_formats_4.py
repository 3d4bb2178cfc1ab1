"""Tests written to kill mutmut survivors in the HDF5 checks, SpikeGLX, Neuropixels and shared readers (issue 13).

See docs/mutation-testing.md. Each test asserts what a user sees for known input: the exact message naming the
dataset, file or field, the values read, and the boundaries of what is accepted.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from intake_npx2020.errors import InvalidObject

h5py = pytest.importorskip("h5py")


def _raises(exc, fn, *args, **kw) -> str:
    with pytest.raises(exc) as info:
        fn(*args, **kw)
    return str(info.value)


def _h5(build) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        build(f)
    return buf.getvalue()


def _read(data: bytes, path: str, size: int | None = None):
    from intake_npx2020.formats.h5 import open_h5, read_dataset

    with open_h5(data, "W") as f:
        return read_dataset(f, path, "W", len(data) if size is None else size)


def _other(tmp_path) -> str:
    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as g:
        g["d"] = np.array([7, 8, 9])
        g.create_group("grp")["3"] = np.array([7, 8, 9])
    return str(p)


def test_h5_paths_named_exactly_in_errors(tmp_path):
    def build(f):
        f["a/b/c"] = np.array([1, 2])
        f["a/n"] = np.array([3])
        f["e"] = np.array([5])
        f["a/soft"] = h5py.SoftLink("/e")
        f["a/b/soft"] = h5py.SoftLink("/a/n")
        f["a/ext"] = h5py.ExternalLink(_other(tmp_path), "grp")
        f.create_group("g/h")
    data = _h5(build)
    assert _read(data, "a/b/c").tolist() == [1, 2] and _read(data, "e").tolist() == [5]
    assert _raises(InvalidObject, _read, data, "x") == "W: the HDF5 file has no 'x'"
    assert _raises(InvalidObject, _read, data, "a/x") == "W: the HDF5 file has no 'a/x'"
    assert _raises(InvalidObject, _read, data, "a/b/x") == "W: the HDF5 file has no 'a/b/x'"
    assert _raises(InvalidObject, _read, data, "a/x/c") == "W: the HDF5 file has no 'a/x'"
    assert _raises(InvalidObject, _read, data, "a/soft") == \
        "W: 'a/soft' is a SoftLink; only objects stored in the file itself (hard links) are read"
    assert _raises(InvalidObject, _read, data, "a/b/soft") == \
        "W: 'a/b/soft' is a SoftLink; only objects stored in the file itself (hard links) are read"
    assert _raises(InvalidObject, _read, data, "a/ext/3") == \
        "W: 'a/ext' is a ExternalLink; only objects stored in the file itself (hard links) are read"
    assert _raises(InvalidObject, _read, data, "a/b") == "W: 'a/b' is a Group, not a dataset"
    assert _raises(InvalidObject, _read, data, "g/h") == "W: 'g/h' is a Group, not a dataset"


def test_h5_storage_refused_with_the_dataset_named(tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(np.array([1, 2, 3], "<i8").tobytes())
    data = _h5(lambda f: f.create_dataset("s/d", shape=(3,), dtype="<i8", external=[(str(secret), 0, 24)]))
    assert _raises(InvalidObject, _read, data, "s/d") == \
        "W: dataset 's/d' has external storage (data in other files); refused"
    other = _other(tmp_path)

    def virtual(f):
        layout = h5py.VirtualLayout(shape=(3,), dtype="<i8")
        layout[:] = h5py.VirtualSource(other, "d", shape=(3,))
        f.create_group("s").create_virtual_dataset("v", layout)
    assert _raises(InvalidObject, _read, _h5(virtual), "s/v") == \
        "W: dataset 's/v' is virtual (mapped onto other files); refused"

    def plugin(f):
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((2,))
        dcpl.set_filter(32015, h5py.h5z.FLAG_OPTIONAL, ())
        h5py.h5d.create(f.create_group("s").id, b"p", h5py.h5t.STD_I64LE, h5py.h5s.create_simple((2,)),
                        dcpl=dcpl).write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([1, 2], dtype="<i8"))
    assert _raises(InvalidObject, _read, _h5(plugin), "s/p") == \
        "W: dataset 's/p' uses filter 32015, not built into HDF5 (a plugin); refused"
    data = _h5(lambda f: f.__setitem__("t", np.array([b"a", b"b"])))
    assert _raises(InvalidObject, _read, data, "t") == "W: dataset 't' has dtype |S1; expected numbers"
    data = _h5(lambda f: f.__setitem__("t", np.array([True, False])))
    assert _raises(InvalidObject, _read, data, "t") == "W: dataset 't' has dtype bool; expected numbers"


def test_h5_builtin_filters_and_numeric_kinds_are_read():
    def build(f):
        f.create_dataset("z", data=np.arange(100, dtype="<i4"), chunks=(10,), compression="gzip", shuffle=True,
                         fletcher32=True)
        f.create_dataset("so", data=np.arange(10, dtype="<i4"), chunks=(5,), scaleoffset=0)
        f.create_dataset("n", data=np.arange(10, dtype="<i4"), chunks=(5,), compression=5)
        f["u"] = np.array([7], np.uint8)
        f["f"] = np.array([0.5], np.float32)
        f["c"] = np.array([1 + 2j])
    data = _h5(build)
    assert _read(data, "z").tolist() == list(range(100))
    assert _read(data, "so").tolist() == list(range(10)) and _read(data, "n").tolist() == list(range(10))
    assert _read(data, "u").tolist() == [7] and _read(data, "f").tolist() == [0.5]
    assert _raises(InvalidObject, _read, data, "c") == "W: dataset 'c' has dtype complex128; expected numbers"


def test_h5_dataset_size_bound():
    n = 1100 * 100 + (1 << 20)  # bytes a dataset may hold in a file of 100 bytes

    def build(f):
        for name, size in (("eq", n), ("over", n + 1)):
            f.create_dataset(name, data=np.zeros(size, np.uint8), chunks=(1 << 16,), compression="gzip")
    data = _h5(build)
    assert _read(data, "eq", 100).size == n
    assert _raises(InvalidObject, _read, data, "over", 100) == \
        f"W: dataset 'over' of shape ({n + 1},) is larger than its file can hold"
    assert _read(data, "over", 101).size == n + 1


def test_h5_not_an_hdf5_file():
    from intake_npx2020.formats.h5 import open_h5

    def opened(data):
        with open_h5(data, "W"):
            pass
    msg = _raises(InvalidObject, opened, b"not hdf5 at all")
    assert msg.startswith("W is not a valid HDF5 file: ") and len(msg) <= len("W is not a valid HDF5 file: ") + 200
    with open_h5(bytearray(_h5(lambda f: f.__setitem__("x", [1]))), "W") as f:
        assert f["x"][()].tolist() == [1]
    assert not f  # closed on leaving
