"""Tests written to kill mutants that survived the formats suite (issue 13; docs/mutation-testing.md).

Each asserts observable behaviour for known input: exact InvalidObject texts naming the field, exact values and
the boundaries of the accepted ranges, never values computed by the code under test.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
from helpers import npy_uri, put_file
from helpers import raises_text as _raises

from intake_npx2020.errors import IntegrityError, InvalidArgument, InvalidObject
from intake_npx2020.formats import Bin1Recording, read_drift, read_sorting
from intake_npx2020.formats.fields import MAX_INDEX, finite, integer, rate, sample_indices, unit_labels
from intake_npx2020.formats.npyio import npy_from_bytes, npy_from_path, npz_members
from intake_npx2020.formats.objects import leaves, load_object
from intake_npx2020.store import get_store

H = "bc5616a9fa4bfe7a4c1e0a6c9ad3e6fb2a8b0e21"


def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(arr))
    return buf.getvalue()


# -- fields ----------------------------------------------------------------------------------------------

def test_max_index_is_two_to_the_53():
    assert MAX_INDEX == 9007199254740992


def test_integer_values_and_bounds():
    assert integer(385.0, "n") == 385 and type(integer(385.0, "n")) is int
    assert integer(np.int16(7), "n") == 7 and type(integer(np.int16(7), "n")) is int
    assert integer(np.array([5]), "n") == 5
    assert integer(1, "n", 1, 3) == 1 and integer(3, "n", 1, 3) == 3
    assert _raises(InvalidObject, integer, 0, "n", 1, 3) == "n = 0 is outside [1, 3]"
    assert _raises(InvalidObject, integer, 4, "n", 1, 3) == "n = 4 is outside [1, 3]"
    assert _raises(InvalidObject, integer, -1, "n", 0) == "n = -1 is outside [0, inf]"
    assert _raises(InvalidObject, integer, 4, "n", None, 3) == "n = 4 is outside [-inf, 3]"
    assert integer(-(10**30), "n") == -(10**30)
    assert _raises(InvalidObject, integer, 385.5, "n") == "n must be an integer, got 385.5"
    assert _raises(InvalidObject, integer, float("inf"), "n") == "n must be an integer, got inf"
    assert _raises(InvalidObject, integer, float("nan"), "n") == "n must be an integer, got nan"
    assert _raises(InvalidObject, integer, True, "n") == "n must be a number, got bool True"
    assert _raises(InvalidObject, integer, np.bool_(False), "n") == "n must be a number, got bool np.False_"
    assert _raises(InvalidObject, integer, "7", "n") == "n must be a number, got str '7'"
    assert _raises(InvalidObject, integer, np.array([1, 2]), "n") == \
        "n must be one number, got an array of shape (2,)"
    assert _raises(InvalidObject, integer, np.zeros((0, 3)), "n") == \
        "n must be one number, got an array of shape (0, 3)"


def test_finite_and_rate():
    assert finite(2, "x") == 2.0 and type(finite(2, "x")) is float
    assert _raises(InvalidObject, finite, float("-inf"), "x") == "x must be finite, got -inf"
    assert _raises(InvalidObject, finite, None, "x") == "x must be a number, got NoneType None"
    assert rate(1e-9, "fs") == 1e-9
    assert _raises(InvalidObject, rate, 0, "fs") == "fs must be above zero, got 0.0"
    assert _raises(InvalidObject, rate, -30000, "fs") == "fs must be above zero, got -30000.0"
    assert _raises(InvalidObject, rate, float("nan"), "fs") == "fs must be finite, got nan"


def test_sample_indices_and_unit_labels():
    out = sample_indices(np.array([[0.0], [3.0], [float(MAX_INDEX)]]), "t")
    assert out.dtype == np.int64 and out.tolist() == [0, 3, MAX_INDEX]
    assert sample_indices(np.array([[1, 2, 3]]), "t").tolist() == [1, 2, 3]
    assert sample_indices(np.zeros(0), "t").tolist() == []
    assert sample_indices(np.array([5], np.uint8), "t").dtype == np.int64
    assert _raises(InvalidObject, sample_indices, np.zeros((2, 2)), "t") == \
        "t must be one-dimensional (or a column), got shape (2, 2)"
    assert _raises(InvalidObject, sample_indices, np.zeros((1, 1, 1)), "t") == \
        "t must be one-dimensional (or a column), got shape (1, 1, 1)"
    assert _raises(InvalidObject, sample_indices, np.array(["a"]), "t") == "t has dtype <U1; expected integers"
    assert _raises(InvalidObject, sample_indices, np.array([True]), "t") == "t has dtype bool; expected integers"
    assert _raises(InvalidObject, sample_indices, np.array([1.0, np.nan]), "t") == \
        "t holds values that are not finite (NaN or infinity)"
    assert _raises(InvalidObject, sample_indices, np.array([1.5]), "t") == \
        "t holds non-integral values; cannot use them as sample indices or unit ids"
    msg = _raises(InvalidObject, sample_indices, np.array([3, -2, 5]), "t")
    assert msg.startswith("t holds negative values (") and msg.endswith(f"-2); allowed [0, {MAX_INDEX}])")
    msg = _raises(InvalidObject, sample_indices, np.array([3, MAX_INDEX + 1]), "t")
    assert msg.startswith("t holds out of range values (") and msg.endswith(f"{MAX_INDEX + 1}); allowed [0, {MAX_INDEX}])")
    assert unit_labels(np.array([-MAX_INDEX, MAX_INDEX]), "u").tolist() == [-MAX_INDEX, MAX_INDEX]
    msg = _raises(InvalidObject, unit_labels, np.array([-MAX_INDEX - 1, 0]), "u")
    assert msg.startswith("u holds out of range values (") and msg.endswith(f"; allowed [{-MAX_INDEX}, {MAX_INDEX}])")


# -- objects ---------------------------------------------------------------------------------------------

def test_leaves_order_and_skips():
    assert list(leaves({"a": [1, None, True, "s"], "b": {"c": 2.5, "d": (3, False)}, "e": 4})) == [1, "s", 2.5, 3, 4]
    assert list(leaves(7)) == [7]
    assert list(leaves(None)) == []


def test_load_object(tmp_path):
    store = get_store()
    assert load_object({"a": 1}, store, "S") == {"a": 1}
    assert _raises(InvalidObject, load_object, 7, store, "S") == \
        "S must be a 2020 object mapping or a sha1:// URI of one, not int"
    good = put_file(tmp_path / "own-store", b'{"x": [1]}', label="o.json")
    assert load_object(good, store, "S") == {"x": [1]}
    lst = put_file(tmp_path / "own-store", b"[1, 2]", label="o.json")
    assert _raises(InvalidObject, load_object, lst, store, "S") == f"S {lst}: the JSON is a list, not an object"
    bad = put_file(tmp_path / "own-store", b"{nope", label="o.json")
    assert _raises(InvalidObject, load_object, bad, store, "S") == (
        f"S {bad}: not a JSON object (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))")


# -- bin1 ------------------------------------------------------------------------------------------------

RAW = f"sha1://{H}/raw.bin"


def _bin1(**data) -> dict:
    d = {"raw": RAW, "raw_num_channels": 4, "num_frames": 10, "samplerate": 30000, "channel_ids": [7, 3, 5],
         "channel_map": {"7": 2, "3": 0, "5": 3},
         "channel_positions": {"7": [1, 2], "3": [3.5, 4], "5": [5, -6]}}
    d.update(data)
    return {"recording_format": "bin1", "data": d}


def test_bin1_fields_and_properties():
    rec = Bin1Recording.from_object(_bin1(), "R")
    assert rec.raw == RAW and rec.raw_sha1 == H
    assert rec.raw_num_channels == 4 and rec.num_frames == 10 and rec.sampling_frequency == 30000.0
    assert rec.channel_ids.tolist() == [7, 3, 5] and rec.channel_ids.dtype == np.int64
    assert rec.columns.tolist() == [2, 0, 3]
    assert rec.locations.tolist() == [[1.0, 2.0], [3.5, 4.0], [5.0, -6.0]] and rec.locations.dtype == float
    assert rec.num_channels == 3 and rec.nbytes == 80 and rec.duration == 10 / 30000
    assert rec.obj == _bin1()
    assert rec.object_sha1 == hashlib.sha1(json.dumps(_bin1()).encode()).hexdigest()


def test_bin1_slow_paths_give_the_same_values():
    """Integral floats, numpy arrays and tuples go through the one-by-one checks and give the same arrays."""
    rec = Bin1Recording.from_object(_bin1(
        channel_ids=np.array([7, 3, 5]), channel_map={"7": 2.0, "3": 0, "5": 3},
        channel_positions={"7": (1, 2), "3": [3.5, 4], "5": [5, -6]}), "R")
    assert rec.channel_ids.tolist() == [7, 3, 5] and rec.channel_ids.dtype == np.int64
    assert rec.columns.tolist() == [2, 0, 3] and rec.columns.dtype == np.int64
    assert rec.locations.tolist() == [[1.0, 2.0], [3.5, 4.0], [5.0, -6.0]]
    rec = Bin1Recording.from_object(_bin1(channel_ids=[7.0, 3, 5]), "R")
    assert rec.channel_ids.tolist() == [7, 3, 5]
    # boundaries of the fast path: column 0 and column C - 1, ids ±MAX_INDEX
    rec = Bin1Recording.from_object(_bin1(
        channel_ids=[-MAX_INDEX, MAX_INDEX], channel_map={str(-MAX_INDEX): 0, str(MAX_INDEX): 3},
        channel_positions={str(-MAX_INDEX): [0, 0], str(MAX_INDEX): [1e300, -1e300]}), "R")
    assert rec.channel_ids.tolist() == [-MAX_INDEX, MAX_INDEX] and rec.columns.tolist() == [0, 3]
    assert rec.locations.tolist() == [[0.0, 0.0], [1e300, -1e300]]


@pytest.mark.parametrize("obj, msg", [
    ({"recording_format": "mda", "data": {}}, "R: only recording_format 'bin1' is supported, got 'mda'"),
    ({"data": {}}, "R: only recording_format 'bin1' is supported, got None"),
    ([1], "R: only recording_format 'bin1' is supported, got 'list'"),
    ({"recording_format": "bin1", "data": [1]}, "R: a bin1 object needs a 'data' object"),
    ({"recording_format": "bin1"}, "R: a bin1 object needs a 'data' object"),
    ({"recording_format": "bin1", "data": {"raw": RAW, "samplerate": 1}},
     "R: bin1 object lacks ['raw_num_channels', 'num_frames', 'channel_ids', 'channel_map', 'channel_positions']"),
    (_bin1(raw=7), "R: raw must be a sha1:// URI string, got int"),
    (_bin1(raw="sha1://xyz/raw.bin"), "R: raw: "),
    (_bin1(raw_num_channels=0), "R: raw_num_channels = 0 is outside [1, 65536]"),
    (_bin1(raw_num_channels=65537), "R: raw_num_channels = 65537 is outside [1, 65536]"),
    (_bin1(raw_num_channels=4.5), "R: raw_num_channels must be an integer, got 4.5"),
    (_bin1(num_frames=-1), "R: num_frames = -1 is outside [0, 1152921504606846975]"),
    (_bin1(num_frames=1152921504606846976), "R: num_frames = 1152921504606846976 is outside [0, 1152921504606846975]"),
    (_bin1(samplerate=0), "R: samplerate must be above zero, got 0.0"),
    (_bin1(channel_ids=[]), "R: channel_ids must be a non-empty list of integers"),
    (_bin1(channel_ids="7"), "R: channel_ids must be a non-empty list of integers"),
    (_bin1(channel_ids=[7, 3, 7]), "R: channel_ids has duplicates"),
    (_bin1(channel_ids=np.array([7, 7])), "R: channel_ids has duplicates"),
    (_bin1(channel_ids=[7, True, 5]), "R: channel_ids[1] must be a number, got bool True"),
    (_bin1(channel_ids=[7, 3, MAX_INDEX + 1]), f"R: channel_ids[2] = {MAX_INDEX + 1} is outside [{-MAX_INDEX}, {MAX_INDEX}]"),
    (_bin1(channel_ids=[7, 3, -MAX_INDEX - 1]), f"R: channel_ids[2] = {-MAX_INDEX - 1} is outside [{-MAX_INDEX}, {MAX_INDEX}]"),
    (_bin1(channel_map=[2, 0, 3]), "R: channel_map must be an object keyed by channel id, not list"),
    (_bin1(channel_map={"7": 2, "5": 3}), "R: channel '3' is missing from channel_map"),
    (_bin1(channel_positions={"7": [1, 2], "3": [3, 4]}), "R: channel '5' is missing from channel_positions"),
    (_bin1(channel_map={"7": 2, "3": 0, "5": 4}), "R: channel_map[5] = 4 points outside the 4 raw columns"),
    (_bin1(channel_map={"7": 2, "3": -1, "5": 3}), "R: channel_map[3] = -1 points outside the 4 raw columns"),
    (_bin1(channel_map={"7": 2, "3": 0.5, "5": 3}), "R: channel_map[3] must be an integer, got 0.5"),
    (_bin1(channel_positions={"7": [1, 2], "3": [3], "5": [5, 6]}), "R: channel_positions[3] must be [x, y], got [3]"),
    (_bin1(channel_positions={"7": [1, 2], "3": [3, 4], "5": "ab"}), "R: channel_positions[5] must be [x, y], got 'ab'"),
    (_bin1(channel_positions={"7": [1, 2], "3": [3, float("nan")], "5": [5, 6]}),
     "R: channel_positions[3] must be finite, got nan"),
    (_bin1(channel_positions={"7": [1, 2], "3": [3, True], "5": [5, 6]}),
     "R: channel_positions[3] must be a number, got bool True"),
])
def test_bin1_invalid_objects(obj, msg):
    got = _raises(InvalidObject, Bin1Recording.from_object, obj, "R")
    assert got == msg or (msg.endswith(": ") and got.startswith(msg) and len(got) > len(msg))


def test_bin1_num_frames_upper_bound_depends_on_channels():
    hi = (2**63 - 1) // 8
    assert Bin1Recording.from_object(_bin1(num_frames=hi), "R").num_frames == hi
    assert Bin1Recording.from_object(_bin1(raw_num_channels=65536, num_frames=0), "R").raw_num_channels == 65536
    assert Bin1Recording.from_object(_bin1(raw_num_channels=3, channel_map={"7": 2, "3": 0, "5": 1}), "R").columns.tolist() == [2, 0, 1]


def test_bin1_read_and_check_size(tmp_path):
    raw = np.arange(40, dtype="<i2").reshape(10, 4)
    uri = put_file(tmp_path / "own-store", raw.tobytes())
    store = get_store()
    obj = _bin1(raw=uri, channel_ids=[0, 1, 2, 3], channel_map={"0": 0, "1": 1, "2": 2, "3": 3},
                channel_positions={str(i): [0, i] for i in range(4)})
    rec = Bin1Recording.from_object(obj, "R")
    rec.check_size(store)
    np.testing.assert_array_equal(rec.read(store, 0, 10), raw)
    np.testing.assert_array_equal(rec.read(store, 3, 5), raw[3:5])
    np.testing.assert_array_equal(rec.read(store, 2, 4, [1, 2]), raw[2:4, 1:3])
    np.testing.assert_array_equal(rec.read(store, 2, 4, 3), raw[2:4, 3])
    assert rec.read(store, 4, 4).shape == (0, 4)
    assert rec.read(store, 0, 10, []).shape == (10, 0)
    assert rec.read(store, 10, 10).shape == (0, 4)
    assert _raises(InvalidArgument, rec.read, store, 0, 11) == \
        f"frames [0, 11) are outside recording {uri} of 10 frames"
    assert _raises(InvalidArgument, rec.read, store, -1, 2) == \
        f"frames [-1, 2) are outside recording {uri} of 10 frames"
    assert _raises(InvalidArgument, rec.read, store, 5, 4).startswith("frames [5, 4) are outside")
    short = Bin1Recording.from_object({**obj, "data": {**obj["data"], "num_frames": 9}}, "R")
    assert _raises(IntegrityError, short.check_size, store) == \
        f"{uri}: file has 80 bytes but the object says 9 frames × 4 channels × 2 = 72"
    np.testing.assert_array_equal(short.read(store, 8, 9), raw[8:9])


def test_bin1_as_slice():
    s = Bin1Recording._as_slice
    assert s(np.array([2, 3, 4])) == slice(2, 5)
    assert s(np.array([5])) == slice(5, 6)
    assert s(np.array([0, 2])) is None and s(np.array([3, 2])) is None
    assert s(np.array([], dtype=np.int64)) is None
    assert s(np.array([[0, 1]])) is None


# -- npyio -----------------------------------------------------------------------------------------------

def test_npy_from_bytes_values_and_order():
    a = np.arange(6, dtype="<i4").reshape(2, 3)
    out = npy_from_bytes(_npy(a), "W")
    np.testing.assert_array_equal(out, a)
    assert out.dtype == np.dtype("<i4") and not out.flags.writeable
    f = np.asfortranarray(a.astype(float))
    out = npy_from_bytes(bytearray(_npy(f)), "W")
    np.testing.assert_array_equal(out, f)
    assert out.flags.f_contiguous and out.flags.writeable
    np.testing.assert_array_equal(npy_from_bytes(_npy(np.zeros((0, 3), np.uint16)), "W"), np.zeros((0, 3)))
    v2 = io.BytesIO()
    np.lib.format.write_array(v2, np.array([1.5, 2.5]), version=(2, 0))
    assert npy_from_bytes(v2.getvalue(), "W").tolist() == [1.5, 2.5]


def test_npy_from_path(tmp_path):
    p = tmp_path / "a.npy"
    np.save(p, np.asfortranarray(np.arange(6.0).reshape(3, 2)))
    out = npy_from_path(str(p), "W")
    assert out.tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]] and out.flags.f_contiguous
    p.write_bytes(_npy(np.arange(3)) + b"\0")
    assert _raises(InvalidObject, npy_from_path, str(p), "W") == \
        "W: its header says shape (3,) of int64 (24 bytes) but 25 bytes of data follow"


def test_npy_headers_refused():
    good = _npy(np.arange(3, dtype="<i8"))
    assert _raises(InvalidObject, npy_from_bytes, good[:-8], "W") == \
        "W: its header says shape (3,) of int64 (24 bytes) but 16 bytes of data follow"
    v3 = b"\x93NUMPY\x03\x00" + good[8:]
    assert _raises(InvalidObject, npy_from_bytes, v3, "W") == \
        "W: npy format version (3, 0) is not supported (1.0 and 2.0 are)"
    assert _raises(InvalidObject, npy_from_bytes, b"garbage!", "W").startswith("W is not a valid .npy file: ")
    assert _raises(InvalidObject, npy_from_bytes, _npy(np.array([True])), "W") == \
        "W has dtype bool; only integer and floating-point arrays are read"
    assert _raises(InvalidObject, npy_from_bytes, _npy(np.array(["ab"])), "W") == \
        "W has dtype <U2; only integer and floating-point arrays are read"
    assert _raises(InvalidObject, npy_from_bytes, _npy(np.array([1 + 2j])), "W") == \
        "W has dtype complex128; only integer and floating-point arrays are read"


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def test_npz_members():
    z = npz_members(_npz(a=np.arange(3), b=np.ones(2)), ("a", "c"), "Z")
    assert list(z) == ["a"] and z["a"].tolist() == [0, 1, 2] and z["a"].flags.writeable
    assert _raises(InvalidObject, npz_members, b"not a zip", ("a",), "Z") == \
        "Z is not a valid .npz file: BadZipFile: File is not a zip file"
    assert _raises(InvalidObject, npz_members, _npz(a=np.array([True])), ("a",), "Z") == \
        "Z: a has dtype bool; only integer and floating-point arrays are read"
    # a member stored uncompressed may be as large as 1024 bytes more than 1100 × its compressed size
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.npy", _npy(np.arange(3)))
    assert npz_members(buf.getvalue(), ("a",), "Z")["a"].tolist() == [0, 1, 2]


def _lying_zip(file_size: int, compress_size: int) -> bytes:
    """A stored zip whose central directory claims ``file_size`` from ``compress_size``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.npy", b"x" * compress_size)
    data = bytearray(buf.getvalue())
    cd = data.rindex(b"PK\x01\x02")
    data[cd + 24:cd + 28] = file_size.to_bytes(4, "little")
    return bytes(data)


def test_npz_member_ratio_boundary():
    assert _raises(InvalidObject, npz_members, _lying_zip(1100 * 10 + 1025, 10), ("a",), "Z") == \
        "Z: member a claims 12025 bytes from 10 compressed; deflate cannot produce that"
    # at the limit the size is believed and the member is read (then found not to be an npy)
    msg = _raises(InvalidObject, npz_members, _lying_zip(1100 * 10 + 1024, 10), ("a",), "Z")
    assert "deflate cannot produce" not in msg


# -- sortings --------------------------------------------------------------------------------------------

def _npy1(own, times, labels, fs=30000) -> dict:
    return {"sorting_format": "npy1", "data": {"times_npy_uri": npy_uri(own, np.asarray(times)),
                                               "labels_npy_uri": npy_uri(own, np.asarray(labels), "l.npy"),
                                               "samplerate": fs}}


def test_npy1_exact_arrays_and_sorting(tmp_path):
    own = tmp_path / "own-store"
    s = read_sorting(_npy1(own, [5, 3, 3, 9], [2, 4, 1, 2]), get_store(), "S")
    assert s.sample_index.tolist() == [3, 3, 5, 9] and s.unit_id.tolist() == [1, 4, 2, 2]
    assert s.unit_ids.tolist() == [1, 2, 4] and s.sampling_frequency == 30000.0
    s = read_sorting(_npy1(own, [7], [0]), get_store(), "S")
    assert s.sample_index.tolist() == [7] and s.unit_ids.tolist() == [0]
    s = read_sorting(_npy1(own, [1, 2, 3], [-5, 3000000, 2]), get_store(), "S")
    assert s.unit_ids.tolist() == [-5, 2, 3000000] and s.unit_id.tolist() == [-5, 3000000, 2]
    s = read_sorting(_npy1(own, [1, 2], [1004, 1003]), get_store(), "S")  # just below the bincount limit
    assert s.unit_ids.tolist() == [1003, 1004] and s.unit_ids.dtype == np.int64
    s = read_sorting(_npy1(own, [1, 2], [1008, 0]), get_store(), "S")  # at the limit: np.unique
    assert s.unit_ids.tolist() == [0, 1008]
    s = read_sorting(_npy1(own, np.zeros(0, np.int64), np.zeros(0, np.int64)), get_store(), "S")
    assert s.sample_index.tolist() == [] and s.unit_ids.tolist() == []


def test_npy1_local_and_remote_paths_agree(tmp_path, monkeypatch):
    own = tmp_path / "own-store"
    obj = _npy1(own, [1, 2], [3, 4])
    store = get_store()

    def evicted(path, what):
        raise FileNotFoundError(path)

    monkeypatch.setattr("intake_npx2020.formats.sortings.npy_from_path", evicted)
    s = read_sorting(obj, store, "S")
    assert s.sample_index.tolist() == [1, 2] and s.unit_id.tolist() == [3, 4]


def test_sorting_invalid_objects(tmp_path):
    own = tmp_path / "own-store"
    store = get_store()
    obj = _npy1(own, [1, 2], [3, 4])
    d = obj["data"]
    tu, lu = d["times_npy_uri"], d["labels_npy_uri"]
    assert _raises(InvalidObject, read_sorting, {"sorting_format": "mda", "data": {}}, store, "S") == \
        "S: sorting_format 'mda' is not supported (supported: ['h5_v1', 'npy1', 'npy2'])"
    assert _raises(InvalidObject, read_sorting, {"sorting_format": ["npy1"]}, store, "S") == \
        "S: sorting_format ['npy1'] is not supported (supported: ['h5_v1', 'npy1', 'npy2'])"
    assert _raises(InvalidObject, read_sorting, {"sorting_format": "npy1", "data": 3}, store, "S") == \
        "S: npy1 object lacks a 'data' object"
    assert _raises(InvalidObject, read_sorting, {"sorting_format": "npy1", "data": {"times_npy_uri": tu}},
                   store, "S") == "S: npy1 object lacks 'labels_npy_uri'"
    assert _raises(InvalidObject, read_sorting, {"sorting_format": "npy1", "data": {**d, "samplerate": None}},
                   store, "S") == "S: samplerate must be a number, got NoneType None"
    del d["samplerate"]
    assert _raises(InvalidObject, read_sorting, obj, store, "S") == "S: npy1 object lacks 'samplerate'"
    d["samplerate"] = 1
    assert _raises(InvalidObject, read_sorting, {"sorting_format": "npy1", "data": {**d, "times_npy_uri": 5}},
                   store, "S") == "S: times_npy_uri must be a sha1:// URI string, got int"
    msg = _raises(InvalidObject, read_sorting, {"sorting_format": "npy1",
                                                "data": {**d, "labels_npy_uri": "sha1://xyz"}}, store, "S")
    assert msg.startswith("S: labels_npy_uri: ") and len(msg) > len("S: labels_npy_uri: ")
    assert _raises(InvalidObject, read_sorting, _npy1(own, [1, -2], [3, 4]), store, "S").startswith(
        f"S: times {npy_uri(own, np.array([1, -2]))} holds negative values")
    assert _raises(InvalidObject, read_sorting, _npy1(own, [1, 2], [3.5, 4]), store, "S") == \
        f"S: labels {npy_uri(own, np.array([3.5, 4]), 'l.npy')} holds non-integral values; " \
        "cannot use them as sample indices or unit ids"
    assert _raises(InvalidObject, read_sorting, _npy1(own, [1, 2, 3], [3, 4]), store, "S") == \
        "S: 3 spike times but 2 labels"
    assert _raises(InvalidObject, read_sorting, _npy1(own, [1, 2], [3, 4], 0), store, "S") == \
        "S: samplerate must be above zero, got 0.0"
    t = npy_uri(own, np.array([True]))
    assert _raises(InvalidObject, read_sorting, {"sorting_format": "npy1", "data": {**d, "times_npy_uri": t}},
                   store, "S") == f"S: times {t} has dtype bool; only integer and floating-point arrays are read"


def _npz_obj(own, data: dict | None = None, **arrays) -> dict:
    uri = put_file(own, _npz(**arrays), label="s.npz")
    return {"sorting_format": "npy2", "data": {"npz_uri": uri, **(data or {})}}


def test_npy2(tmp_path):
    own = tmp_path / "own-store"
    store = get_store()
    obj = _npz_obj(own, {"sampling_frequency": 20000}, spike_indexes=np.array([4, 2]), spike_labels=np.array([[1], [2]]),
                   unit_ids=np.array([1, 2, 7]))
    s = read_sorting(obj, store, "S")
    assert s.sample_index.tolist() == [2, 4] and s.unit_id.tolist() == [2, 1]
    assert s.sampling_frequency == 20000.0 and s.unit_ids.tolist() == [1, 2, 7]
    obj = _npz_obj(own, {"sampling_frequency": 20000, "unit_ids": [2, 1, 9]}, spike_indexes=np.array([4, 5]),
                   spike_labels=np.array([1, 2]), sampling_frequency=np.array([30000.0]))
    s = read_sorting(obj, store, "S")
    assert s.sampling_frequency == 30000.0 and s.unit_ids.tolist() == [2, 1, 9]
    uri = obj["data"]["npz_uri"]
    obj = _npz_obj(own, {"sampling_frequency": 20000}, spike_indexes=np.array([4]), spike_labels=np.array([1]),
                   sampling_frequency=np.array([-1.0]))
    assert _raises(InvalidObject, read_sorting, obj, store, "S") == \
        f"S: sampling_frequency in {obj['data']['npz_uri']} must be above zero, got -1.0"
    obj = _npz_obj(own, {"sampling_frequency": "x"}, spike_indexes=np.array([4]), spike_labels=np.array([1]))
    assert _raises(InvalidObject, read_sorting, obj, store, "S") == \
        "S: sampling_frequency must be a number, got str 'x'"
    obj = _npz_obj(own, {}, spike_indexes=np.array([4]), spike_labels=np.array([1]))
    assert _raises(InvalidObject, read_sorting, obj, store, "S") == "S: npy2 object lacks 'sampling_frequency'"
    obj = _npz_obj(own, {"sampling_frequency": 1}, spike_labels=np.array([1]))
    assert _raises(InvalidObject, read_sorting, obj, store, "S") == \
        f"S: {obj['data']['npz_uri']} has no spike_indexes array"
    obj = _npz_obj(own, {"sampling_frequency": 1}, spike_indexes=np.array([1]))
    assert _raises(InvalidObject, read_sorting, obj, store, "S") == \
        f"S: {obj['data']['npz_uri']} has no spike_labels array"
    obj = _npz_obj(own, {"sampling_frequency": 1}, spike_indexes=np.array([1.5]), spike_labels=np.array([1]))
    assert _raises(InvalidObject, read_sorting, obj, store, "S").startswith("S: spike_indexes holds non-integral")
    obj = _npz_obj(own, {"sampling_frequency": 1}, spike_indexes=np.array([1]), spike_labels=np.array([1.5]))
    assert _raises(InvalidObject, read_sorting, obj, store, "S").startswith("S: spike_labels holds non-integral")
    obj = _npz_obj(own, {"sampling_frequency": 1}, spike_indexes=np.array([1, 2]), spike_labels=np.array([1, 1]),
                   unit_ids=np.array([1, 1]))
    assert _raises(InvalidObject, read_sorting, obj, store, "S") == "S: unit_ids has duplicates"
    obj = _npz_obj(own, {"sampling_frequency": 1}, spike_indexes=np.arange(7), spike_labels=np.arange(7),
                   unit_ids=np.array([0]))
    assert _raises(InvalidObject, read_sorting, obj, store, "S") == \
        "S: spike labels [1, 2, 3, 4, 5] are not among unit_ids"
    obj = _npz_obj(own, {"sampling_frequency": 1}, spike_indexes=np.array([1]), spike_labels=np.array([1]),
                   unit_ids=np.array([1.5]))
    assert _raises(InvalidObject, read_sorting, obj, store, "S").startswith("S: unit_ids holds non-integral")
    bad = put_file(own, b"no zip here", label="s.npz")
    assert _raises(InvalidObject, read_sorting, {"sorting_format": "npy2", "data": {"npz_uri": bad}}, store, "S") \
        == f"S: {bad} is not a valid .npz file: BadZipFile: File is not a zip file"
    assert uri


def test_h5_v1_exact(tmp_path):
    import h5py

    own = tmp_path / "own-store"
    store = get_store()
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f["unit_ids"] = np.array([4, 2, 9])
        f["sampling_frequency"] = np.array([25000.0])
        f["unit_spike_trains/4"] = np.array([10.0, 30.0])
        f["unit_spike_trains/2"] = np.array([20])
        f["unit_spike_trains/9"] = np.zeros(0)
    uri = put_file(own, buf.getvalue(), label="s.h5")
    s = read_sorting({"sorting_format": "h5_v1", "data": {"h5_path": uri}}, store, "S")
    assert s.sample_index.tolist() == [10, 20, 30] and s.unit_id.tolist() == [4, 2, 4]
    assert s.unit_ids.tolist() == [4, 2, 9] and s.sampling_frequency == 25000.0
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f["unit_ids"] = np.zeros(0, np.int64)
        f["sampling_frequency"] = 1000.0
    uri = put_file(own, buf.getvalue(), label="s.h5")
    s = read_sorting({"sorting_format": "h5_v1", "data": {"h5_path": uri}}, store, "S")
    assert s.sample_index.tolist() == [] and s.sample_index.dtype == np.int64 and s.sampling_frequency == 1000.0
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f["unit_ids"] = np.array([1])
        f["sampling_frequency"] = 1000.0
        f["unit_spike_trains/1"] = np.array([-3])
    uri = put_file(own, buf.getvalue(), label="s.h5")
    assert _raises(InvalidObject, read_sorting, {"sorting_format": "h5_v1", "data": {"h5_path": uri}}, store,
                   "S").startswith("S: unit 1 holds negative values")
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f["unit_ids"] = np.array([1])
        f["sampling_frequency"] = 0.0
    uri = put_file(own, buf.getvalue(), label="s.h5")
    assert _raises(InvalidObject, read_sorting, {"sorting_format": "h5_v1", "data": {"h5_path": uri}}, store,
                   "S") == "S: sampling_frequency must be above zero, got 0.0"
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f["unit_ids"] = np.array([1.5])
        f["sampling_frequency"] = 1.0
    uri = put_file(own, buf.getvalue(), label="s.h5")
    assert _raises(InvalidObject, read_sorting, {"sorting_format": "h5_v1", "data": {"h5_path": uri}}, store,
                   "S").startswith("S: unit_ids holds non-integral")


def test_units_filter(tmp_path):
    own = tmp_path / "own-store"
    store = get_store()
    obj = _npy1(own, [1, 2, 3, 4], [1, 2, 3, 2])
    csv = put_file(own, b"cluster_id,group,n\n1,good,5\n2,mua,5\n3,good,6\n", label="c.csv")
    s = read_sorting(obj, store, "S", units_csv=csv, units_filter={"group": "good", "n": 5})
    assert s.unit_ids.tolist() == [1] and s.sample_index.tolist() == [1] and s.unit_id.tolist() == [1]
    assert s.sampling_frequency == 30000.0
    s = read_sorting(obj, store, "S", units_csv=csv)
    assert s.unit_ids.tolist() == [1, 2, 3] and s.sample_index.tolist() == [1, 2, 3, 4]
    s = read_sorting(obj, store, "S", units_csv=put_file(own, b"cluster_id\tgroup\n3\tx\n2\tx\n", label="c.csv"))
    assert s.unit_ids.tolist() == [2, 3] and s.unit_id.tolist() == [2, 3, 2]
    assert _raises(InvalidObject, read_sorting, obj, store, "S", units_csv=csv, units_filter={"KSLabel": "good"}) \
        == f"S: units table {csv} has no column 'KSLabel'"
    nocol = put_file(own, b"id,group\n1,good\n", label="c.csv")
    assert _raises(InvalidObject, read_sorting, obj, store, "S", units_csv=nocol) == \
        f"S: units table {nocol} has no 'cluster_id' column (columns: ['id', 'group'])"
    words = put_file(own, b"cluster_id,group\na,good\n", label="c.csv")
    assert _raises(InvalidObject, read_sorting, obj, store, "S", units_csv=words) == \
        f"S: units table {words}: cluster_id holds non-numbers"
    frac = put_file(own, b"cluster_id,group\n1.5,good\n", label="c.csv")
    assert _raises(InvalidObject, read_sorting, obj, store, "S", units_csv=frac).startswith(
        f"S: units table {frac}: cluster_id holds non-integral")
    empty = put_file(own, b"", label="c.csv")
    assert _raises(InvalidObject, read_sorting, obj, store, "S", units_csv=empty).startswith(
        f"S: units table {empty} is not a readable table: ")


def test_read_drift_exact(tmp_path):
    own = tmp_path / "own-store"
    store = get_store()
    t = npy_uri(own, np.array([[0], [1], [1]]))
    p = npy_uri(own, np.array([[2.5, 3.5, -1.0]]), "p.npy")
    ts, ps = read_drift(t, p, store)
    assert ts.tolist() == [0.0, 1.0, 1.0] and ts.dtype == float and ps.tolist() == [2.5, 3.5, -1.0]
    e = npy_uri(own, np.zeros(0), "e.npy")
    assert read_drift(e, e, store)[0].tolist() == []
    p2 = npy_uri(own, np.array([1.0, 2.0]), "p2.npy")
    assert _raises(InvalidObject, read_drift, t, p2, store) == \
        f"drift arrays {t} (3,) and {p2} (2,) must be 1-D of equal length"
    m = npy_uri(own, np.zeros((2, 2)), "m.npy")
    assert _raises(InvalidObject, read_drift, m, m, store) == \
        f"drift arrays {m} (2, 2) and {m} (2, 2) must be 1-D of equal length"
    d = npy_uri(own, np.array([0.0, 2.0, 1.0]), "d.npy")
    assert _raises(InvalidObject, read_drift, d, p, store) == f"drift timestamps {d} decrease"
    n = npy_uri(own, np.array([0.0, np.inf, 1.0]), "n.npy")
    assert _raises(InvalidObject, read_drift, n, p, store) == f"drift timestamps {n} must be finite, got inf"
    assert _raises(InvalidObject, read_drift, t, n, store) == f"drift positions {n} must be finite, got inf"


# -- second round: survivors of the first run --------------------------------------------------------------

def _npy_hlen(hlen: int, body: bytes) -> bytes:
    """A version 1.0 npy of 3 int64 whose header is exactly ``hlen`` bytes long."""
    header = repr({"descr": "<i8", "fortran_order": False, "shape": (3,)})
    header = (header + " " * (hlen - len(header) - 1) + "\n").encode()
    return b"\x93NUMPY\x01\x00" + hlen.to_bytes(2, "little") + header + body


def test_npy_header_size_limit():
    body = np.arange(3, dtype="<i8").tobytes()
    assert npy_from_bytes(_npy_hlen(10_000, body), "W").tolist() == [0, 1, 2]
    msg = _raises(InvalidObject, npy_from_bytes, _npy_hlen(10_001, body), "W")
    prefix = "W is not a valid .npy file: "
    assert msg.startswith(prefix + "Header info length (10001) is large")
    assert len(msg) == len(prefix) + 200  # numpy's reason, cut at 200 characters


def test_npy_one_byte_dtypes_are_read(tmp_path):
    assert npy_from_bytes(_npy(np.array([-1, 2], np.int8)), "W").tolist() == [-1, 2]
    assert npy_from_bytes(_npy(np.array([255], np.uint8)), "W").tolist() == [255]
    p = tmp_path / "c.npy"
    np.save(p, np.arange(6, dtype=np.int8).reshape(2, 3))
    out = npy_from_path(str(p), "W")
    assert out.tolist() == [[0, 1, 2], [3, 4, 5]] and out.flags.c_contiguous


def test_npy_from_path_when_the_file_changes(tmp_path, monkeypatch):
    import intake_npx2020.formats.npyio as npyio

    p = tmp_path / "a.npy"
    good = _npy(np.arange(4, dtype="<i8"))
    real = npyio.os.fstat

    class Stat:
        def __init__(self, size):
            self.st_size = size

    # the file shrank after fstat: fewer items than the header said
    p.write_bytes(good[:-8])
    monkeypatch.setattr(npyio.os, "fstat", lambda fd: Stat(real(fd).st_size + 8))
    assert _raises(InvalidObject, npy_from_path, str(p), "W") == "W changed while being read"
    # the file grew after fstat: only the items the header names are read
    p.write_bytes(good + b"\0" * 8)
    monkeypatch.setattr(npyio.os, "fstat", lambda fd: Stat(real(fd).st_size - 8))
    assert npy_from_path(str(p), "W").tolist() == [0, 1, 2, 3]


def test_sorting_messages_name_the_array(tmp_path, monkeypatch):
    own = tmp_path / "own-store"
    store = get_store()
    good = npy_uri(own, np.array([1, 2]), "g.npy")
    bad = npy_uri(own, np.array([True, False]), "b.npy")
    why = "has dtype bool; only integer and floating-point arrays are read"
    obj = {"sorting_format": "npy1", "data": {"times_npy_uri": good, "labels_npy_uri": bad, "samplerate": 1}}
    assert _raises(InvalidObject, read_sorting, obj, store, "S") == f"S: labels {bad} {why}"
    assert _raises(InvalidObject, read_drift, bad, good, store) == f"drift timestamps {bad} {why}"
    assert _raises(InvalidObject, read_drift, good, bad, store) == f"drift positions {bad} {why}"
    ts, ps = read_drift(good, good, store)
    assert ts.dtype == np.float64 and ps.dtype == np.float64 and ps.tolist() == [1.0, 2.0]

    def evicted(path, what):
        raise FileNotFoundError(path)

    monkeypatch.setattr("intake_npx2020.formats.sortings.npy_from_path", evicted)
    assert _raises(InvalidObject, read_sorting, obj, store, "S") == f"S: labels {bad} {why}"
    assert _raises(InvalidObject, read_drift, bad, good, store) == f"drift timestamps {bad} {why}"
    assert _raises(InvalidObject, read_drift, good, bad, store) == f"drift positions {bad} {why}"
    assert _raises(InvalidObject, read_sorting, {"sorting_format": "npy2", "data": {"npz_uri": 5}}, store, "S") == \
        "S: npz_uri must be a sha1:// URI string, got int"
    assert _raises(InvalidObject, read_sorting, {"sorting_format": "h5_v1", "data": {"h5_path": 5}}, store, "S") == \
        "S: h5_path must be a sha1:// URI string, got int"


def _h5(own, **datasets) -> str:
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for k, v in datasets.items():
            f[k.replace("__", "/")] = v
    return put_file(own, buf.getvalue(), label="s.h5")


def test_h5_v1_messages_name_the_file(tmp_path):
    own = tmp_path / "own-store"
    store = get_store()

    def err(uri):
        return _raises(InvalidObject, read_sorting, {"sorting_format": "h5_v1", "data": {"h5_path": uri}}, store, "S")

    noth5 = put_file(own, b"not an hdf5 file at all", label="s.h5")
    assert err(noth5).startswith(f"S: {noth5} is not a valid HDF5 file: ")
    u = _h5(own, sampling_frequency=1.0)
    assert err(u) == f"S: {u}: the HDF5 file has no 'unit_ids'"
    u = _h5(own, unit_ids=np.array([1]))
    assert err(u) == f"S: {u}: the HDF5 file has no 'sampling_frequency'"
    u = _h5(own, unit_ids=np.array([1]), sampling_frequency=1.0)
    assert err(u) == f"S: {u}: the HDF5 file has no 'unit_spike_trains'"
    u = _h5(own, unit_ids=np.array([1, 1]), sampling_frequency=1.0, unit_spike_trains__1=np.array([1]))
    assert err(u) == "S: unit_ids has duplicates"


def test_units_table_details(tmp_path):
    import warnings

    own = tmp_path / "own-store"
    store = get_store()
    obj = _npy1(own, [1, 2], [1, 2])
    csv = put_file(own, b"cluster_id;group\n1;good\n2;mua\n", label="c.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the python engine sniffs the separator without a ParserWarning
        s = read_sorting(obj, store, "S", units_csv=csv, units_filter={"group": "mua"})
    assert s.unit_ids.tolist() == [2] and s.sample_index.tolist() == [2]
    empty = put_file(own, b"", label="c.csv")
    assert _raises(InvalidObject, read_sorting, obj, store, "S", units_csv=empty) == \
        f"S: units table {empty} is not a readable table: Could not determine delimiter"
    cols = [f"c{i}" for i in range(22)]
    wide = put_file(own, (",".join(cols) + "\n" + ",".join("1" * 22) + "\n").encode(), label="c.csv")
    assert _raises(InvalidObject, read_sorting, obj, store, "S", units_csv=wide) == \
        f"S: units table {wide} has no 'cluster_id' column (columns: {cols[:20]})"


def test_integral_arrays_bad_value_and_no_copy():
    msg = _raises(InvalidObject, sample_indices, np.array([0, MAX_INDEX + 1]), "t")
    assert msg == f"t holds out of range values ({np.int64(MAX_INDEX + 1)!r}; allowed [0, {MAX_INDEX}])"
    msg = _raises(InvalidObject, unit_labels, np.array([-MAX_INDEX, MAX_INDEX + 1]), "u")
    assert msg == f"u holds out of range values ({np.int64(MAX_INDEX + 1)!r}; allowed [{-MAX_INDEX}, {MAX_INDEX}])"
    # an int64 array (a large npy of spike times) is checked in place, not copied
    a = np.arange(10, dtype=np.int64)
    assert np.shares_memory(sample_indices(a, "t"), a) and np.shares_memory(unit_labels(a, "u"), a)


def test_bin1_fast_path_edges():
    """The vectorised checks take only what the one-by-one checks accept, with the same types."""
    rec = Bin1Recording.from_object(_bin1(channel_positions={"7": [1, 2], "3": [3, 4], "5": [5, 6]}), "R")
    assert rec.locations.dtype == np.float64 and rec.locations.tolist() == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    assert rec.columns.dtype == np.int64 and rec.channel_ids.dtype == np.int64
    assert _raises(InvalidObject, Bin1Recording.from_object, _bin1(channel_map={"7": 2.0, "3": 0.5, "5": 3.0}),
                   "R") == "R: channel_map[3] must be an integer, got 0.5"
    assert _raises(InvalidObject, Bin1Recording.from_object,
                   _bin1(channel_positions={"7": [1], "3": [3], "5": [5]}), "R") == \
        "R: channel_positions[7] must be [x, y], got [1]"
    assert _raises(InvalidObject, Bin1Recording.from_object,
                   _bin1(channel_positions={"7": [1, 2, 0], "3": [3, 4, 0], "5": [5, 6, 0]}), "R") == \
        "R: channel_positions[7] must be [x, y], got [1, 2, 0]"


def test_default_names_in_messages(tmp_path):
    assert _raises(InvalidObject, Bin1Recording.from_object, _bin1(samplerate=-1)) == \
        "recording: samplerate must be above zero, got -1.0"
    assert _raises(InvalidObject, read_sorting, {"sorting_format": "x"}, get_store()) == \
        "sorting: sorting_format 'x' is not supported (supported: ['h5_v1', 'npy1', 'npy2'])"
