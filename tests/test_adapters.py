"""Bridges: spikeinterface (BaseRecording/BaseSorting) and the 2020 spikeextractors API."""

import pickle

import numpy as np
import pytest
from helpers import CX_COLS, write_catalog

import intake


@pytest.fixture
def cat(tmp_path, recording):
    from helpers import npy_uri

    obj, raw = recording
    own = tmp_path / "own-store"
    rng = np.random.default_rng(1)
    times = np.sort(rng.integers(0, 90_000, 300))
    labels = rng.integers(1, 6, 300)

    sorting = {"sorting_format": "npy1", "data": {"times_npy_uri": npy_uri(own, times, "t.npy"),
                                                   "labels_npy_uri": npy_uri(own, labels, "l.npy"), "samplerate": 30000}}
    path = write_catalog(tmp_path / "c.yaml", {
        "rec": {"driver": "npx_recording", "args": {"recording": obj},
                "metadata": {"kind": "recording", "gain_to_uV": 2.34375}},
        "rec:s": {"driver": "npx_sorting", "args": {"sorting": sorting}, "metadata": {"kind": "sorting"}}})
    return intake.open_catalog(str(path)), raw, (times, labels)


def test_spikeinterface_recording_local_and_store(cat, tmp_path):
    si = pytest.importorskip("spikeinterface.core")
    from spikeinterface.core.testing import check_recordings_equal

    c, raw, _ = cat
    local = c["rec"].to_spikeinterface()  # whole raw file is local: read_binary
    through_store = c["rec"].to_spikeinterface(prefer_local_binary=False)
    assert type(local).__name__ != type(through_store).__name__ == "NpxRecording"
    for rec in (local, through_store):
        assert rec.get_num_channels() == 374 and rec.get_dtype() == np.int16
        assert list(rec.channel_ids) == list(range(374))
        np.testing.assert_array_equal(rec.get_channel_locations()[:2], [[43.0, 20.0], [11.0, 20.0]])
        np.testing.assert_array_equal(rec.get_traces(start_frame=1000, end_frame=1500), raw[1000:1500, CX_COLS])
        assert rec.get_probe().get_contact_count() == 374
        assert rec.get_channel_gains()[0] == pytest.approx(2.34375)
    check_recordings_equal(local, through_store, return_in_uV=False)
    reloaded = pickle.loads(pickle.dumps(through_store))
    np.testing.assert_array_equal(reloaded.get_traces(start_frame=5, end_frame=9, channel_ids=[3, 4]),
                                  raw[5:9, [CX_COLS[3], CX_COLS[4]]])
    si_reloaded = si.load(through_store.to_dict()) if hasattr(si, "load") else si.load_extractor(through_store.to_dict())
    np.testing.assert_array_equal(si_reloaded.get_traces(start_frame=0, end_frame=3), raw[:3, CX_COLS])


def test_spikeinterface_preprocess_detect_and_zarr(cat, tmp_path):
    pytest.importorskip("spikeinterface.core")
    import spikeinterface.preprocessing as spre
    from spikeinterface.sortingcomponents.peak_detection import detect_peaks

    from helpers import bin1_object, put_file

    rng = np.random.default_rng(5)
    raw = rng.normal(0, 10, (30_000, 385)).astype(np.int16)
    spikes = np.arange(1_000, 29_000, 1_450)
    wave = (-300 * np.exp(-0.5 * ((np.arange(-15, 16)) / 4.0) ** 2)).astype(np.int16)
    for t in spikes:
        raw[t - 15:t + 16, CX_COLS[100]] += wave
    uri = put_file(tmp_path / "own-store", raw.tobytes(), [0, 10_000_000, raw.nbytes])
    from intake_npx2020.sources.drivers import RecordingSource

    rec = RecordingSource(bin1_object(uri, 385, 30_000, CX_COLS)).to_spikeinterface(prefer_local_binary=False)
    filt = spre.common_reference(spre.bandpass_filter(rec, freq_min=300, freq_max=6000, dtype="float32"))
    peaks = detect_peaks(filt, method="by_channel", method_kwargs=dict(detect_threshold=8),
                         job_kwargs=dict(n_jobs=1, chunk_duration="1s", progress_bar=False))
    on_channel = peaks[peaks["channel_index"] == 100]["sample_index"]
    assert len(on_channel) == len(spikes) and np.all(np.abs(on_channel - spikes) <= 3)
    assert len(peaks) < 2 * len(spikes)
    saved = rec.save(folder=tmp_path / "z.zarr", format="zarr", n_jobs=1, chunk_duration="1s", progress_bar=False)
    np.testing.assert_array_equal(saved.get_traces(start_frame=0, end_frame=30_000), raw[:, CX_COLS])
    assert saved.get_probe().get_contact_count() == 374


def test_spikeinterface_sorting(cat):
    pytest.importorskip("spikeinterface.core")
    c, _, (times, labels) = cat
    s = c["rec:s"].to_spikeinterface()
    df = c["rec:s"].read()
    assert sorted(s.unit_ids) == sorted(df["unit_id"].unique())
    for u in s.unit_ids:
        np.testing.assert_array_equal(s.get_unit_spike_train(u), df.loc[df.unit_id == u, "sample_index"].to_numpy())


def test_spikeextractors_2020_examples(cat, tmp_path):
    se = pytest.importorskip("intake_npx2020.compat.spikeextractors").se
    c, raw, (times, labels) = cat
    recording = c["rec"].to_spikeextractors()
    assert isinstance(recording, se.RecordingExtractor)
    assert recording.get_num_channels() == 374 and recording.get_sampling_frequency() == 30000.0
    np.testing.assert_array_equal(recording.get_channel_locations()[0], [43.0, 20.0])
    sub = se.SubRecordingExtractor(parent_recording=recording, channel_ids=[0, 1, 2, 3],
                                   start_frame=100, end_frame=30_100)
    np.testing.assert_array_equal(sub.get_traces(), raw[100:30_100, CX_COLS[:4]].T)
    path = tmp_path / "out.dat"
    se.BinDatRecordingExtractor.write_recording(sub, path, dtype="int16")
    np.testing.assert_array_equal(np.fromfile(path, "<i2").reshape(-1, 4), raw[100:30_100, CX_COLS[:4]])
    sorting = c["rec:s"].to_spikeextractors()
    assert isinstance(sorting, se.SortingExtractor)
    unit_ids = sorting.get_unit_ids()
    st = sorting.get_unit_spike_train(unit_id=unit_ids[1])  # np.Inf default end_frame, numpy 2
    np.testing.assert_array_equal(st, times[labels == unit_ids[1]])
