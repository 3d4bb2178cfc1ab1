"""The bridges under the peers' own checks (issue 16).

* spikeextractors: ``spikeextractors.testing.check_dumping`` (dump to dict, JSON and pickle; reload; compare).
* spikeinterface: the checks of its extractor test suites (``RecordingCommonTestSuite`` /
  ``SortingCommonTestSuite`` in ``src/spikeinterface/extractors/tests/common_tests.py``, not shipped in the wheel,
  so their bodies are run here on our objects) with ``spikeinterface.core.testing``'s comparisons, plus the
  serialisation round trips every extractor must survive (dict, JSON, pickle, save to binary and zarr).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from helpers import CX_COLS, npy_uri

from intake_npx2020.sources.drivers import RecordingSource, SortingSource

GAIN = 2.34375


@pytest.fixture
def entries(tmp_path, recording):
    obj, raw = recording
    rng = np.random.default_rng(1)
    times = np.sort(rng.choice(90_000, 300, replace=False))   # distinct frames: the suites require it per unit
    labels = rng.integers(1, 6, 300)
    own = tmp_path / "own-store"
    sorting = {"sorting_format": "npy1", "data": {"times_npy_uri": npy_uri(own, times, "t.npy"),
                                                   "labels_npy_uri": npy_uri(own, labels, "l.npy"),
                                                   "samplerate": 30000}}
    rec = RecordingSource(obj, metadata={"gain_to_uV": GAIN, "probe": "NP1"})
    return rec, SortingSource(sorting), raw[:, CX_COLS], (times, labels)


# -- spikeextractors ---------------------------------------------------------------------------------

def test_spikeextractors_check_dumping(entries, tmp_path, monkeypatch):
    compat = pytest.importorskip("intake_npx2020.compat.spikeextractors")
    from spikeextractors.testing import check_dumping

    monkeypatch.chdir(tmp_path)       # check_dumping writes its JSON and pickle files in the working directory
    rec_src, sort_src, ref, _ = entries
    rec, sorting = rec_src.to_spikeextractors(), sort_src.to_spikeextractors()
    assert rec.check_if_dumpable() and sorting.check_if_dumpable()
    check_dumping(rec)
    check_dumping(sorting)
    loaded = compat.se.load_extractor_from_dict(rec.dump_to_dict())
    np.testing.assert_array_equal(loaded.get_traces(start_frame=10, end_frame=20), ref[10:20].T)
    assert loaded.get_channel_gains()[0] == GAIN


def test_spikeextractors_sorting_from_arrays_is_not_dumpable(entries):
    compat = pytest.importorskip("intake_npx2020.compat.spikeextractors")
    _, sort_src, _, (times, labels) = entries
    s = compat.to_sorting_extractor(sort_src.arrays)
    assert s.check_if_dumpable() is False and s.dump_to_dict()["kwargs"] == {}
    np.testing.assert_array_equal(s.get_unit_spike_train(int(labels[0])), times[labels == labels[0]])


# -- spikeinterface ------------------------------------------------------------------------------------

def _recording_suite(rec, check_recordings_equal):
    """The body of spikeinterface's RecordingCommonTestSuite.test_open and .test_pickling."""
    num_chans, dtype = rec.get_num_channels(), rec.get_dtype()
    for segment_index in range(rec.get_num_segments()):
        num_samples = rec.get_num_samples(segment_index=segment_index)
        full = rec.get_traces(segment_index=segment_index)
        assert full.shape == (num_samples, num_chans) and full.dtype == dtype
        first = rec.get_traces(segment_index=segment_index, start_frame=0, end_frame=1)
        assert first.shape == (1, num_chans) and np.all(full[0] == first[0])
        last = rec.get_traces(segment_index=segment_index, start_frame=num_samples - 1, end_frame=num_samples)
        assert last.shape == (1, num_chans) and np.all(full[-1] == last[0])
        assert rec.get_property("gain_to_uV") is not None and rec.get_property("offset_to_uV") is not None
        assert rec.get_traces(segment_index=segment_index, return_in_uV=True, end_frame=2).dtype == "float32"
    check_recordings_equal(rec, pickle.loads(pickle.dumps(rec)))


def _sorting_suite(sorting, check_sortings_equal):
    """The body of spikeinterface's SortingCommonTestSuite.test_open and .test_pickling."""
    fs = sorting.get_sampling_frequency()
    for segment_index in range(sorting.get_num_segments()):
        for unit_id in sorting.unit_ids:
            train = sorting.get_unit_spike_train(segment_index=segment_index, unit_id=unit_id)
            assert np.all(np.diff(train) > 0)
            times = sorting.get_unit_spike_train(segment_index=segment_index, unit_id=unit_id, return_times=True)
            assert np.all(np.diff(times) >= 0.95 / fs)
    check_sortings_equal(sorting, pickle.loads(pickle.dumps(sorting)))


@pytest.mark.parametrize("local", [True, False])
def test_spikeinterface_recording_suite(entries, tmp_path, local):
    si = pytest.importorskip("spikeinterface.core")
    from spikeinterface.core.testing import (check_extractor_annotations_equal, check_extractor_properties_equal,
                                             check_recordings_equal)

    rec_src, _, ref, _ = entries
    rec = rec_src.to_spikeinterface(prefer_local_binary=local)
    _recording_suite(rec, check_recordings_equal)
    rec.dump_to_pickle(tmp_path / "rec.pkl")
    for reloaded in (si.load(rec.to_dict(include_properties=True, include_annotations=True)),
                     si.load(rec.to_dict(recursive=True, include_properties=True, include_annotations=True)),
                     si.load(tmp_path / "rec.pkl")):
        check_recordings_equal(rec, reloaded, return_in_uV=True)
        check_extractor_properties_equal(rec, reloaded)
        check_extractor_annotations_equal(rec, reloaded)
        assert reloaded.get_probe().model_name == "NP1000"
    rec.dump_to_json(tmp_path / "rec.json")   # JSON keeps spikeinterface's main properties (gain, offset, group)
    from_json = si.load(tmp_path / "rec.json")
    check_recordings_equal(rec, from_json, return_in_uV=True)
    assert from_json.get_probe().model_name == "NP1000"
    if not local:   # our own class rebuilds every property from its arguments
        check_extractor_properties_equal(rec, from_json)
    for fmt, folder in (("binary", tmp_path / "saved"), ("zarr", tmp_path / "saved.zarr")):
        saved = rec.frame_slice(0, 30_000).save(folder=folder, format=fmt, n_jobs=1, chunk_duration="1s",
                                                 progress_bar=False)
        check_recordings_equal(rec.frame_slice(0, 30_000), saved, return_in_uV=True)
        check_extractor_properties_equal(rec, saved)
        _recording_suite(si.load(folder), check_recordings_equal)
    np.testing.assert_array_equal(rec.get_traces(start_frame=500, end_frame=600), ref[500:600])


def test_spikeinterface_sorting_suite(entries, tmp_path):
    si = pytest.importorskip("spikeinterface.core")
    from spikeinterface.core.testing import check_sortings_equal

    _, sort_src, _, (times, labels) = entries
    sorting = sort_src.to_spikeinterface()
    assert type(sorting).__name__ == "NpxSorting"
    _sorting_suite(sorting, check_sortings_equal)
    check_sortings_equal(sorting, si.load(sorting.to_dict()))
    sorting.dump_to_json(tmp_path / "sorting.json")
    check_sortings_equal(sorting, si.load(tmp_path / "sorting.json"))
    saved = sorting.save(folder=tmp_path / "sorting")
    check_sortings_equal(sorting, saved)
    _sorting_suite(si.load(tmp_path / "sorting"), check_sortings_equal)
    for u in sorting.unit_ids:
        np.testing.assert_array_equal(sorting.get_unit_spike_train(u), times[labels == u])
