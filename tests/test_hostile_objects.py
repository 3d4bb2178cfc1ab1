"""Crafted objects: impossible values and hostile encodings are refused with InvalidObject naming the field.

Manifests, directory objects, bin1 recordings, npy1/npy2/h5_v1 sortings, drift arrays and object JSON are fed
values a mirror or a catalog could carry — 1e999, deep nesting, NaN, 2**63, negative sample indices, fractional
counts, lying npy headers, HDF5 files whose datasets live in other files — and every parser must answer with the
package's own error, never RecursionError, OverflowError, KeyError, TypeError or MemoryError, and never with data.
"""

from __future__ import annotations

import copy
import io
import json

import numpy as np
import pytest
from faults import deep_json, npy_bytes, npy_with_header, put_blob, sha1

from intake_npx2020.errors import InvalidObject
from intake_npx2020.formats import Bin1Recording, read_drift, read_sorting
from intake_npx2020.formats.objects import leaves
from intake_npx2020.store import get_store
from intake_npx2020.store.manifest import MAX_CHUNK, Manifest

H = "a9993e364706816aba3e25717850c26c9cd0d89d"
F = sha1(b"0123456789")


def _m(size=10, sha=F, chunks=((0, 4, H), (4, 10, H))) -> bytes:
    return json.dumps({"size": size, "sha1": sha,
                       "chunks": [{"start": a, "end": b, "sha1": c} for a, b, c in chunks]}).encode()


MANIFESTS = [
    (b'{"size":1e999,"sha1":"' + F.encode() + b'","chunks":[]}', "size"),
    (deep_json(100_000), "JSON"),
    (b'{"size":10,"sha1":"' + F.encode() + b'","chunks":' + deep_json(50_000, "[", "]") + b"}", "JSON"),
    (b'{"size":10,"sha1":"' + F.encode() + b'","chunks":' + deep_json(50_000, '[{"a":', "}]") + b"}", "JSON"),
    (b'{"size":NaN,"sha1":"' + F.encode() + b'","chunks":[]}', "size"),
    (b'{"size":Infinity,"sha1":"' + F.encode() + b'","chunks":[]}', "size"),
    (b'{"size":1' + b"0" * 5000 + b',"sha1":"' + F.encode() + b'","chunks":[]}', "JSON"),
    (_m(size=10.0), "size"), (_m(size="10"), "size"), (_m(size=True), "size"), (_m(size=-1), "size"),
    (_m(size=2**63), "size"), (_m(chunks=((0, 4.0, H), (4, 10, H))), "chunks\\[0\\]: end"),
    (_m(chunks=((0, 4, H), (-4, 10, H))), "chunks\\[1\\]: start"),
    (_m(chunks=((0, 4, H), (5, 10, H))), "tile.*gap"), (_m(chunks=((0, 4, H), (3, 10, H))), "tile.*overlap"),
    (_m(chunks=((0, 4, H), (4, 4, H), (4, 10, H))), "tile.*empty"), (_m(chunks=((4, 10, H), (0, 4, H))), "tile"),
    (_m(chunks=((0, 4, H),)), "cover 4 bytes but size is 10"), (_m(size=9), "cover 10 bytes but size is 9"),
    (_m(chunks=((0, 4, H.upper()), (4, 10, H))), "chunks\\[0\\]: sha1"),
    (_m(chunks=((0, 4, H[:-1]), (4, 10, H))), "chunks\\[0\\]: sha1"), (_m(sha=None), "sha1"),
    (_m(sha="../" * 13 + "x"), "sha1"), (b"[1, 2]", "JSON object"), (b'"x"', "JSON object"), (b"null", "JSON object"),
    (b"\xff\xfe\x00garbage", "JSON"), (b"", "JSON"), (b'{"size":10,"sha1":"' + F.encode() + b'","chunks":{}}', "list"),
    (b'{"size":10,"sha1":"' + F.encode() + b'","chunks":[7]}', "chunks\\[0\\]"),
    (_m(size=MAX_CHUNK + 1, chunks=((0, MAX_CHUNK + 1, H),)), "more than"),
]


@pytest.mark.parametrize("data, why", MANIFESTS, ids=range(len(MANIFESTS)))
def test_hostile_manifests(data, why):
    with pytest.raises(InvalidObject, match=why):
        Manifest.from_bytes(data, "manifest M")


def test_hostile_manifest_through_a_read(tmp_path):
    own = tmp_path / "own-store"
    m = put_blob(own, _m(chunks=((0, 4, H), (5, 10, H))))
    with pytest.raises(InvalidObject, match="gap"):
        get_store().read(f"sha1://{F}/x?manifest={m}", 0, 5)


@pytest.mark.parametrize("obj", [deep_json(100_000, '{"dirs":{"a":', "}}"), deep_json(100_000), b"\xff", b"7"])
def test_hostile_directory_objects(tmp_path, obj):
    d = put_blob(tmp_path / "own-store", obj)
    with pytest.raises(InvalidObject):
        get_store().read(f"sha1dir://{d}/a/b.txt")


def test_leaves_walks_any_depth():
    obj: list = [1]
    for _ in range(100_000):
        obj = [obj, {"k": None}]
    assert list(leaves(obj)) == [1]


# -- bin1 recordings -----------------------------------------------------------------------------------
GOOD = {"recording_format": "bin1", "data": {
    "raw": f"sha1://{H}/raw.bin?manifest={F}", "raw_num_channels": 4, "num_frames": 1000, "samplerate": 30000,
    "channel_ids": [0, 1, 2], "channel_map": {"0": 2, "1": 0, "2": 3},
    "channel_positions": {"0": [0, 20], "1": [16, 20], "2": [0.5, 40.0]}}}

BIN1 = [
    ("raw_num_channels", 4.5), ("raw_num_channels", 0), ("raw_num_channels", -4), ("raw_num_channels", "4"),
    ("raw_num_channels", True), ("raw_num_channels", float("inf")), ("raw_num_channels", None),
    ("raw_num_channels", 70_000), ("num_frames", 1000.5), ("num_frames", -1), ("num_frames", "1000"),
    ("num_frames", float("nan")), ("num_frames", 2**62), ("samplerate", 0), ("samplerate", -30000),
    ("samplerate", float("inf")), ("samplerate", float("nan")), ("samplerate", "30000"), ("samplerate", True),
    ("samplerate", None), ("samplerate", [30000, 1]), ("channel_ids", []), ("channel_ids", [0, 0, 1]),
    ("channel_ids", [0, 1.5, 2]), ("channel_ids", ["a", 1, 2]), ("channel_ids", "012"), ("channel_ids", [[0], 1, 2]),
    ("channel_map", {"0": 2.5, "1": 0, "2": 3}), ("channel_map", {"0": -1, "1": 0, "2": 3}),
    ("channel_map", {"0": "2", "1": 0, "2": 3}), ("channel_map", [2, 0, 3]), ("channel_map", {"0": 2, "1": 0}),
    ("channel_map", {"0": 4, "1": 0, "2": 3}), ("channel_positions", {"0": [1], "1": [0, 0], "2": [0, 0]}),
    ("channel_positions", {"0": [1, "a"], "1": [0, 0], "2": [0, 0]}),
    ("channel_positions", {"0": [float("nan"), 1], "1": [0, 0], "2": [0, 0]}),
    ("channel_positions", {"0": "xy", "1": [0, 0], "2": [0, 0]}), ("raw", 123), ("raw", "sha1://xyz"),
    ("raw", f"sha1://{H}/../../etc/passwd"),
]


@pytest.mark.parametrize("field, value", BIN1, ids=lambda v: repr(v)[:30])
def test_bin1_impossible_values(field, value):
    obj = copy.deepcopy(GOOD)
    obj["data"][field] = value
    with pytest.raises(InvalidObject, match=field.split("_")[0] if field.startswith("channel") else field):
        Bin1Recording.from_object(obj, "recording R")


@pytest.mark.parametrize("obj", [{"recording_format": "bin1", "data": None}, {"recording_format": "bin1"},
                                 {"recording_format": "bin1", "data": [1, 2]}, [GOOD], "bin1"])
def test_bin1_malformed_objects(obj):
    with pytest.raises(InvalidObject):
        Bin1Recording.from_object(obj, "recording R")


def test_bin1_good_object_and_integral_floats():
    rec = Bin1Recording.from_object(GOOD)
    assert (rec.raw_num_channels, rec.num_frames, rec.sampling_frequency) == (4, 1000, 30000.0)
    assert rec.columns.tolist() == [2, 0, 3]
    obj = copy.deepcopy(GOOD)
    obj["data"].update(raw_num_channels=4.0, num_frames=1000.0)
    assert Bin1Recording.from_object(obj).num_frames == 1000


# -- sortings --------------------------------------------------------------------------------------------
def _npy1(own, times_npy: bytes, labels_npy: bytes, samplerate=30000) -> dict:
    return {"sorting_format": "npy1", "data": {
        "times_npy_uri": f"sha1://{put_blob(own, times_npy)}/t.npy",
        "labels_npy_uri": f"sha1://{put_blob(own, labels_npy)}/l.npy", "samplerate": samplerate}}


LABELS3 = npy_bytes(np.array([1, 2, 1]))
TIMES = [
    (npy_bytes(np.array([10.0, 1e20, 30.0])), "out of range"),
    (npy_bytes(np.array([10, 2**63, 30], dtype=np.uint64)), "out of range"),
    (npy_bytes(np.array([10, 2**64 - 1, 30], dtype=np.uint64)), "out of range"),
    (npy_bytes(np.array([10, -1, 30])), "negative"),
    (npy_bytes(np.array([10.0, np.nan, 30.0])), "not finite"),
    (npy_bytes(np.array([10.0, np.inf, 30.0])), "not finite"),
    (npy_bytes(np.array([10.0, 20.5, 30.0])), "non-integral"),
    (npy_bytes(np.array(["a", "b", "c"])), "dtype"),
    (npy_bytes(np.array([1 + 1j, 2, 3])), "dtype"),
    (npy_bytes(np.zeros((3, 2, 1))), "one-dimensional"),
    (npy_bytes(np.array([1, 2])), "2 spike times but 3 labels"),
    (npy_with_header((10**12,), "<i8", b"\x00" * 24), "header says"),
    (npy_with_header((3,), "<i8", b"\x00" * 23), "header says"),
    (npy_with_header((3,), "|O", b"\x00" * 24), "dtype"),
    (npy_bytes(np.array([1, 2, 3]))[:-1], "header says"),
    (b"\x93NUMPY\x03\x00" + b"\x00" * 60, "version"),
    (b"not an npy file at all", "not a valid .npy"),
    (b"\x93NUMPY\x01\x00\x10\x00" + b"{'descr': ((((((" + b"\n", "not a valid .npy"),
]


@pytest.mark.parametrize("times, why", TIMES, ids=range(len(TIMES)))
def test_npy1_impossible_times(tmp_path, times, why):
    obj = _npy1(tmp_path / "own-store", times, LABELS3)
    with pytest.raises(InvalidObject, match=why):
        read_sorting(obj, get_store(), "sorting S")


@pytest.mark.parametrize("labels, rate, why", [
    (npy_bytes(np.array([1.0, np.nan, 2.0])), 30000, "not finite"), (LABELS3, 0, "samplerate"),
    (LABELS3, -1, "samplerate"), (LABELS3, float("inf"), "samplerate"), (LABELS3, "30k", "samplerate"),
    (npy_bytes(np.array([1, 2**60, 1])), 30000, "out of range")])
def test_npy1_impossible_labels_and_rates(tmp_path, labels, rate, why):
    obj = _npy1(tmp_path / "own-store", npy_bytes(np.array([1, 2, 3])), labels, rate)
    with pytest.raises(InvalidObject, match=why):
        read_sorting(obj, get_store(), "sorting S")


def _npz(own, **arrays) -> dict:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return {"sorting_format": "npy2", "data": {"npz_uri": f"sha1://{put_blob(own, buf.getvalue())}/s.npz",
                                               "unit_ids": None, "sampling_frequency": 30000.0}}


@pytest.mark.parametrize("arrays, why", [
    (dict(spike_labels=[1, 2]), "no spike_indexes"),
    (dict(spike_indexes=[5, 9], spike_labels=[1, 2], sampling_frequency=[0.0]), "sampling_frequency"),
    (dict(spike_indexes=[5, 9], spike_labels=[1, 2], unit_ids=[1, 1]), "duplicates"),
    (dict(spike_indexes=[5, 9], spike_labels=[1, 7], unit_ids=[1, 2]), "not among unit_ids"),
    (dict(spike_indexes=[5.0, -9.0], spike_labels=[1, 2]), "negative"),
])
def test_npy2_impossible(tmp_path, arrays, why):
    obj = _npz(tmp_path / "own-store", **{k: np.asarray(v) for k, v in arrays.items()})
    with pytest.raises(InvalidObject, match=why):
        read_sorting(obj, get_store(), "sorting S")


def test_npy2_not_a_zip(tmp_path):
    obj = {"sorting_format": "npy2", "data": {"npz_uri": f"sha1://{put_blob(tmp_path, b'PK junk')}/s.npz",
                                              "sampling_frequency": 30000}}
    put_blob(tmp_path / "own-store", b"PK junk")
    with pytest.raises(InvalidObject, match="not a valid .npz"):
        read_sorting(obj, get_store(), "sorting S")


@pytest.mark.parametrize("obj, why", [
    ({"sorting_format": "npy1", "data": {"times_npy_uri": 5, "labels_npy_uri": "x", "samplerate": 1}}, "times_npy_uri"),
    ({"sorting_format": "npy1", "data": {"labels_npy_uri": "x", "samplerate": 1}}, "lacks 'times_npy_uri'"),
    ({"sorting_format": "npy1", "data": [1]}, "data"), ({"sorting_format": "npy1"}, "data"),
    ({"sorting_format": ["npy1"], "data": {}}, "not supported"),
    ({"sorting_format": "h5_v1", "data": {"h5_path": "sha1://../../x"}}, "h5_path")])
def test_malformed_sorting_objects(obj, why):
    with pytest.raises(InvalidObject, match=why):
        read_sorting(obj, get_store(), "sorting S")


@pytest.mark.parametrize("payload", [deep_json(100_000), b"[1, 2]", b"\xff\xfe", b"{'single': 'quotes'}"])
def test_object_json_by_uri(tmp_path, payload):
    h = put_blob(tmp_path / "own-store", payload)
    with pytest.raises(InvalidObject):
        read_sorting(f"sha1://{h}/file.json", get_store(), "sorting S")


# -- HDF5 ------------------------------------------------------------------------------------------------
@pytest.fixture
def secret_file(tmp_path):
    p = tmp_path / "secret.bin"
    np.array([111, 222, 333], dtype="<i8").tofile(p)
    return p


def _h5(tmp_path, build) -> bytes:
    import h5py

    path = tmp_path / f"crafted-{len(list(tmp_path.glob('crafted-*')))}.h5"
    with h5py.File(path, "w") as f:
        f["unit_ids"] = np.array([3], dtype=np.int32)
        f["sampling_frequency"] = 30000.0
        build(f)
    return path.read_bytes()


def _other_file(tmp_path):
    import h5py

    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as g:
        g["d"] = np.array([7, 8, 9])
        g.create_group("grp")["3"] = np.array([7, 8, 9])
    return str(p)


def _external(tmp_path, secret):
    return lambda f: f.create_dataset("unit_spike_trains/3", shape=(3,), dtype="<i8", external=[(str(secret), 0, 24)])


def _virtual(tmp_path, secret):
    import h5py

    other = _other_file(tmp_path)

    def build(f):
        layout = h5py.VirtualLayout(shape=(3,), dtype="<i8")
        layout[:] = h5py.VirtualSource(other, "d", shape=(3,))
        f.create_group("unit_spike_trains").create_virtual_dataset("3", layout)
    return build


def _ext_link(tmp_path, secret):
    import h5py

    other = _other_file(tmp_path)
    return lambda f: f.create_group("unit_spike_trains").__setitem__("3", h5py.ExternalLink(other, "d"))


def _ext_group(tmp_path, secret):
    import h5py

    other = _other_file(tmp_path)
    return lambda f: f.__setitem__("unit_spike_trains", h5py.ExternalLink(other, "grp"))


def _soft(tmp_path, secret):
    import h5py

    def build(f):
        f["elsewhere"] = np.array([1, 2, 3])
        f.create_group("unit_spike_trains")["3"] = h5py.SoftLink("/elsewhere")
    return build


def _strings(tmp_path, secret):
    return lambda f: f.__setitem__("unit_spike_trains/3", np.array([b"a", b"b"]))


def _missing(tmp_path, secret):
    return lambda f: f.create_group("unit_spike_trains")


def _negative(tmp_path, secret):
    return lambda f: f.__setitem__("unit_spike_trains/3", np.array([5, -2]))


def _plugin(tmp_path, secret):
    import h5py

    def build(f):
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((2,))
        dcpl.set_filter(32015, h5py.h5z.FLAG_OPTIONAL, ())  # a zstd plugin id, optional so creation succeeds
        space = h5py.h5s.create_simple((2,))
        grp = f.create_group("unit_spike_trains")
        h5py.h5d.create(grp.id, b"3", h5py.h5t.STD_I64LE, space, dcpl=dcpl).write(
            h5py.h5s.ALL, h5py.h5s.ALL, np.array([1, 2], dtype="<i8"))
    return build


H5_CASES = [(_external, "external storage"), (_virtual, "virtual"), (_ext_link, "ExternalLink"),
            (_ext_group, "ExternalLink"), (_soft, "SoftLink"), (_strings, "dtype"),
            (_missing, "no 'unit_spike_trains/3'"), (_negative, "negative"), (_plugin, "filter 32015")]


@pytest.mark.parametrize("make, why", H5_CASES, ids=[m.__name__ for m, _ in H5_CASES])
def test_h5_datasets_from_outside_the_file_refused(tmp_path, secret_file, make, why):
    data = _h5(tmp_path, make(tmp_path, secret_file))
    uri = f"sha1://{put_blob(tmp_path / 'own-store', data)}/sorting.h5"
    with pytest.raises(InvalidObject, match=why) as err:
        read_sorting({"sorting_format": "h5_v1", "data": {"h5_path": uri}}, get_store(), "sorting S")
    assert "unit_spike_trains" in str(err.value) or why == "negative"


def test_h5_external_storage_would_read_the_local_file(tmp_path, secret_file):
    """The attack is real: h5py reading the crafted bytes from memory returns the local file's contents."""
    import h5py

    data = _h5(tmp_path, _external(tmp_path, secret_file))
    with h5py.File(io.BytesIO(data), "r") as f:
        assert f["unit_spike_trains/3"][()].tolist() == [111, 222, 333]


@pytest.mark.parametrize("data", [b"\x89HDF\r\n\x1a\n" + b"\x00" * 100, b"not hdf5", b""])
def test_h5_garbage(tmp_path, data):
    uri = f"sha1://{put_blob(tmp_path / 'own-store', data)}/sorting.h5"
    with pytest.raises(InvalidObject, match="HDF5"):
        read_sorting({"sorting_format": "h5_v1", "data": {"h5_path": uri}}, get_store(), "sorting S")


# -- drift and unit tables -------------------------------------------------------------------------------
@pytest.mark.parametrize("t, p, why", [
    ([0.0, np.nan, 2.0], [0.0, 0.0, 1.0], "finite"), ([0.0, 1.0, 2.0], [0.0, np.inf, 1.0], "finite"),
    ([0.0, 2.0, 1.0], [0.0, 0.0, 1.0], "decrease"), ([0.0, 1.0], [0.0, 0.0, 1.0], "1-D")])
def test_drift_impossible(tmp_path, t, p, why):
    own = tmp_path / "own-store"
    tu = f"sha1://{put_blob(own, npy_bytes(np.array(t)))}/t.npy"
    pu = f"sha1://{put_blob(own, npy_bytes(np.array(p)))}/p.npy"
    with pytest.raises(InvalidObject, match=why):
        read_drift(tu, pu, get_store())


@pytest.mark.parametrize("csv", [b"\x00\xff\x00garbage", b"cluster_id\tgroup\nabc\tgood\n", b"group\nx\n", b""])
def test_units_table_garbage(tmp_path, csv):
    own = tmp_path / "own-store"
    obj = _npy1(own, npy_bytes(np.array([1, 2, 3])), LABELS3)
    csv_uri = f"sha1://{put_blob(own, csv)}/cluster_groups.csv"
    with pytest.raises(InvalidObject):
        read_sorting(obj, get_store(), "sorting S", units_csv=csv_uri, units_filter={"group": "good"})


@pytest.mark.parametrize("body, problem", [("", "not a readable table"), ("\n\n", "not a readable table"),
                                           ("cluster_id\n1\n2\n", "field group is missing (columns: [])"),
                                           ("cluster_id\tgroup\n1\tgood\n1\tmua\n", "distinct whole numbers")])
def test_phy_curation_tables_that_are_empty_one_column_or_repeated_are_refused(tmp_path, body, problem):
    from authoring_data import write_phy

    from intake_npx2020.errors import InvalidInputFile
    from intake_npx2020.formats.phy import read_phy

    folder, _, _ = write_phy(tmp_path / "ks", 3000)
    (folder / "cluster_group.tsv").write_text(body)
    with pytest.raises(InvalidInputFile) as err:
        read_phy(folder)
    assert str(err.value).startswith(f"{folder / 'cluster_group.tsv'}: ") and problem in str(err.value), str(err.value)


@pytest.mark.parametrize("sep", ["\t", ","])
def test_phy_curation_tables_with_tabs_or_commas_are_read(tmp_path, sep):
    from authoring_data import write_phy

    from intake_npx2020.formats.phy import read_phy

    folder, _, labels = write_phy(tmp_path / "ks", 3000)
    units = sorted(set(labels.tolist()))
    (folder / "cluster_group.tsv").unlink()
    (folder / "cluster_groups.csv").write_text(f"cluster_id{sep}group\n" +
                                               "".join(f"{u}{sep}{'good' if u % 2 == 0 else 'mua'}\n" for u in units))
    assert read_phy(folder).curation.unit_ids == tuple(u for u in units if u % 2 == 0)
