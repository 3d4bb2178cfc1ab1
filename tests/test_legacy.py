import numpy as np
import pytest
from helpers import CX_COLS, write_catalog

import intake
from intake_npx2020 import load_recording, load_sorting


@pytest.fixture
def cat(tmp_path, recording):
    obj, raw = recording
    path = write_catalog(tmp_path / "cat.yaml", {
        "rec-10s": {"driver": "npx_recording", "args": {"recording": obj},
                    "metadata": {"kind": "recording", "label": "rec (10 sec)"}}})
    return intake.open_catalog(str(path)), raw


def test_load_recording_by_id_label_json(cat):
    c, raw = cat
    for key in ["rec-10s", "rec (10 sec)", "rec-10s.json", "rec (10 sec).json"]:
        r = load_recording(key, catalog=c)
        assert r.get_num_frames() == 90_000 and r.get_sampling_frequency() == 30000.0
    assert r.get_channel_ids() == list(range(374))
    np.testing.assert_array_equal(r.get_channel_locations([0, 1])[:, 0], [43.0, 11.0])
    tr = r.get_traces(channel_ids=[3, 1], start_frame=100, end_frame=250)
    assert tr.shape == (2, 150) and tr.dtype == np.int16
    np.testing.assert_array_equal(tr, raw[100:250, [CX_COLS[3], CX_COLS[1]]].T)
    np.testing.assert_array_equal(r.get_traces()[:, :10], raw[:10, CX_COLS].T)
    assert r.to_xarray().shape == (90_000, 374)
    with pytest.raises(ValueError, match="channel id 999"):
        r.get_traces(channel_ids=[999])
    with pytest.raises(ValueError, match="outside"):
        r.get_traces(start_frame=0, end_frame=90_001)
    with pytest.raises(KeyError, match="npx2020 ls"):
        load_recording("nope", catalog=c)


def test_download_true_fetches_everything(cat, tmp_path, serve_process, monkeypatch):
    c, raw = cat
    monkeypatch.setenv("NPX2020_MIRRORS", serve_process(tmp_path / "own-store"))
    monkeypatch.setenv("NPX2020_STORE", str(tmp_path / "fresh"))
    from intake_npx2020 import store
    store.forget_stores()
    r = load_recording("rec-10s", download=True, catalog=c)
    assert store.get_store().has_local(r.spec.raw)
    monkeypatch.delenv("NPX2020_MIRRORS")
    store.forget_stores()
    np.testing.assert_array_equal(r.get_traces(start_frame=89_990, end_frame=90_000), raw[89_990:, CX_COLS].T)


def test_load_sorting(tmp_path):
    from helpers import npy_uri

    own = tmp_path / "own-store"
    times, labels = np.array([5, 9, 30, 31, 40]), np.array([8, 3, 8, 3, 8])

    obj = {"sorting_format": "npy1", "data": {"times_npy_uri": npy_uri(own, times, "t.npy"),
                                               "labels_npy_uri": npy_uri(own, labels, "l.npy"), "samplerate": 30000}}
    c = intake.open_catalog(str(write_catalog(tmp_path / "c.yaml", {
        "x:curated": {"driver": "npx_sorting", "args": {"sorting": obj}, "metadata": {"kind": "sorting"}}})))
    s = load_sorting("x:curated", catalog=c)
    assert s.get_unit_ids() == [3, 8]
    np.testing.assert_array_equal(s.get_unit_spike_train(8), [5, 30, 40])
    np.testing.assert_array_equal(s.get_unit_spike_train(unit_id=8, start_frame=6, end_frame=40), [30])


@pytest.mark.parametrize("start,end,match", [
    (250, 100, "start_frame 250 is after end_frame 100"),
    (1.5, 10, "not a whole number"),
    (0, 10.25, "not a whole number"),
    ("0", 10, "whole number"),
    (True, 10, "whole number"),
    (-1, 10, "outside"),
    (0, 90_001, "outside"),
])
def test_frame_arguments_are_checked(cat, start, end, match):
    from intake_npx2020.errors import InvalidArgument

    r = load_recording("rec-10s", catalog=cat[0])
    with pytest.raises(InvalidArgument, match=match):
        r.get_traces(channel_ids=[0], start_frame=start, end_frame=end)


def test_integral_frames_of_any_numeric_type(cat):
    c, raw = cat
    r = load_recording("rec-10s", catalog=c)
    for start, end in [(np.int64(5), np.int32(9)), (5.0, 9.0), (np.float32(5), None)]:
        tr = r.get_traces(channel_ids=[0], start_frame=start, end_frame=end)
        stop = 90_000 if end is None else int(end)
        np.testing.assert_array_equal(tr[0], raw[5:stop, CX_COLS[0]])
