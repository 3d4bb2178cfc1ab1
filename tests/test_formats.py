import io
import json

import numpy as np
import pytest
from helpers import npy_uri, put_file

from intake_npx2020.formats import Bin1Recording, read_drift, read_sorting
from intake_npx2020.store import get_store


@pytest.fixture
def spikes():
    rng = np.random.default_rng(0)
    times = np.sort(rng.integers(0, 3_000_000, 5000))
    labels = rng.integers(1, 40, 5000)
    return times, labels


def test_npy1_with_float_labels_and_column_shape(tmp_path, spikes):
    times, labels = spikes
    own = tmp_path / "own-store"
    obj = {"sorting_format": "npy1", "data": {
        "times_npy_uri": npy_uri(own, times.astype(np.float64).reshape(-1, 1)),
        "labels_npy_uri": npy_uri(own, labels.astype(np.float64)),  # the curated_good defect
        "samplerate": 30000}}
    s = read_sorting(obj, get_store())
    np.testing.assert_array_equal(s.sample_index, times)
    np.testing.assert_array_equal(s.unit_id, labels)
    assert s.sample_index.dtype == np.int64 and s.unit_id.dtype == np.int64
    assert s.sampling_frequency == 30000.0 and list(s.unit_ids) == sorted(set(labels))


def test_non_integral_times_rejected(tmp_path):
    own = tmp_path / "own-store"
    obj = {"sorting_format": "npy1", "data": {"times_npy_uri": npy_uri(own, np.array([1.5, 2.0])),
                                               "labels_npy_uri": npy_uri(own, np.array([1, 2]), "l.npy"),
                                               "samplerate": 30000}}
    with pytest.raises(ValueError, match="non-integral"):
        read_sorting(obj, get_store(), "sorting X")


def test_unsorted_input_is_sorted(tmp_path, spikes):
    times, labels = spikes
    own = tmp_path / "own-store"
    order = np.random.default_rng(1).permutation(len(times))
    obj = {"sorting_format": "npy1", "data": {"times_npy_uri": npy_uri(own, times[order]),
                                               "labels_npy_uri": npy_uri(own, labels[order], "l.npy"),
                                               "samplerate": 30000}}
    s = read_sorting(obj, get_store())
    assert np.all(np.diff(s.sample_index) >= 0)
    assert sorted(zip(s.sample_index, s.unit_id)) == sorted(zip(times, labels))


def test_npy2_npz_with_shape1_rate(tmp_path, spikes):
    times, labels = spikes
    buf = io.BytesIO()
    np.savez(buf, unit_ids=np.unique(labels), spike_indexes=times, spike_labels=labels,
             sampling_frequency=np.array([30000.0]))
    uri = put_file(tmp_path / "own-store", buf.getvalue(), label="kilosort2.npz")
    s = read_sorting({"sorting_format": "npy2", "data": {"npz_uri": uri, "unit_ids": None,
                                                         "sampling_frequency": 30000.0}}, get_store())
    np.testing.assert_array_equal(s.sample_index, times)
    assert s.sampling_frequency == 30000.0


def test_h5_v1(tmp_path, spikes):
    import h5py

    times, labels = spikes
    buf = io.BytesIO()
    ids = np.unique(labels).astype(np.int32)
    with h5py.File(buf, "w") as f:
        f["unit_ids"] = ids
        f["sampling_frequency"] = np.array([30000.0])
        for u in ids:
            f[f"unit_spike_trains/{u}"] = times[labels == u].astype(np.float64)
    uri = put_file(tmp_path / "own-store", buf.getvalue(), label="sorting.h5")
    s = read_sorting({"sorting_format": "h5_v1", "data": {"h5_path": uri}}, get_store())
    assert sorted(zip(s.sample_index, s.unit_id)) == sorted(zip(times, labels))


def test_object_by_uri_and_units_filter(tmp_path, spikes):
    times, labels = spikes
    own = tmp_path / "own-store"
    obj = {"sorting_format": "npy1", "data": {"times_npy_uri": npy_uri(own, times),
                                               "labels_npy_uri": npy_uri(own, labels, "l.npy"), "samplerate": 30000}}
    obj_uri = put_file(own, json.dumps(obj).encode(), label="file.json")
    csv = "cluster_id\tgroup\n" + "".join(f"{u}\t{'good' if u % 3 == 0 else 'mua'}\n" for u in range(1, 40))
    csv_uri = put_file(own, csv.encode(), label="cluster_groups.csv")
    s = read_sorting(obj_uri, get_store(), units_csv=csv_uri, units_filter={"group": "good"})
    assert set(s.unit_ids) == {u for u in range(1, 40) if u % 3 == 0}
    assert set(np.unique(s.unit_id)) <= set(s.unit_ids)
    assert len(s.sample_index) == int(np.sum(labels % 3 == 0))


def test_unknown_format():
    with pytest.raises(ValueError, match="'mda' is not supported"):
        read_sorting({"sorting_format": "mda", "data": {}}, get_store())


def test_drift_arrays(tmp_path):
    own = tmp_path / "own-store"
    t = npy_uri(own, np.array([[0.0], [580.15], [630.15]]))
    p = npy_uri(own, np.array([0.0, 0.0, 50.0]), "p.npy")
    ts, ps = read_drift(t, p, get_store())
    assert ts.shape == (3,) and ps[-1] == 50.0


@pytest.mark.parametrize("mutate, why", [
    (lambda d: d.update(recording_format="mda"), "only recording_format 'bin1'"),
    (lambda d: d["data"].pop("channel_map"), "lacks"),
    (lambda d: d["data"]["channel_map"].update({"0": 999}), "outside the"),
    (lambda d: d["data"]["channel_positions"].pop("3"), "channel '3'"),
    (lambda d: d["data"].update(raw="sha1://xyz"), "39 characters|3 characters|hex"),
])
def test_bin1_validation(recording, mutate, why):
    obj, _ = recording
    obj = json.loads(json.dumps(obj))
    mutate(obj)
    with pytest.raises(ValueError, match=why):
        Bin1Recording.from_object(obj, "recording R")


def test_bin1_hash_of_reference_object():
    """The embedded-object hash is sha1(json.dumps(obj)) — checked on the 2020 8-channel object."""
    obj = {"recording_format": "bin1", "data": {
        "raw": "sha1://bbd7fba0f4187b23bf002cbc3d240c7467e1e6a2/raw.bin?manifest=3578300115fc5f7f7a6268b813590c2cf1172cb4",
        "raw_num_channels": 8, "num_frames": 300000, "samplerate": 30000, "channel_ids": list(range(8)),
        "channel_map": {str(i): i for i in range(8)},
        "channel_positions": {"0": [43, 20], "1": [11, 20], "2": [59, 40], "3": [27, 40], "4": [43, 60],
                              "5": [11, 60], "6": [59, 80], "7": [27, 80]}}}
    assert Bin1Recording.from_object(obj).object_sha1 == "515932f62e037278617b47ed642237d0abf02e6b"


@pytest.mark.parametrize("order", [[4, 1, 5, 0], [5, 4, 3, 2, 1, 0], [2, 0, 1]])
def test_channel_map_applied_in_the_given_order(tmp_path, order):
    """Channels come out in the object's order, whatever the raw columns (every fixture map is ascending)."""
    raw = np.random.default_rng(3).integers(-1000, 1000, (500, 6), dtype=np.int16)
    uri = put_file(tmp_path / "own-store", raw.tobytes(), [0, 1000, 6000])
    ids = [10 + i for i in range(len(order))]
    obj = {"recording_format": "bin1", "data": {
        "raw": uri, "raw_num_channels": 6, "num_frames": 500, "samplerate": 30000, "channel_ids": ids,
        "channel_map": {str(c): col for c, col in zip(ids, order)},
        "channel_positions": {str(c): [0, 20 * i] for i, c in enumerate(ids)}}}
    rec = Bin1Recording.from_object(obj)
    store = get_store()
    np.testing.assert_array_equal(rec.read(store, 0, 500), raw[:, order])
    np.testing.assert_array_equal(rec.read(store, 7, 300, [2, 0]), raw[7:300][:, [order[2], order[0]]])
    np.testing.assert_array_equal(rec.read(store, 5, 6, 1), raw[5:6, order[1]])
