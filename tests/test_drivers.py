import time

import intake
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from helpers import CX_COLS, bin1_object, npy_uri, write_catalog

from intake_npx2020.sources.drivers import DriftSource, RecordingSource, SortingSource
from intake_npx2020.errors import ContentNotFound
from intake_npx2020.store import get_store


@pytest.fixture
def cat(tmp_path, recording):
    obj, raw = recording
    own = tmp_path / "own-store"
    subset = bin1_object(obj["data"]["raw"], 385, 90_000, [CX_COLS[i] for i in (0, 5, 17, 200, 373)])
    rng = np.random.default_rng(3)
    times = np.sort(rng.integers(0, 90_000, 2000))
    labels = rng.integers(0, 12, 2000)
    sorting = {"sorting_format": "npy1", "data": {"times_npy_uri": npy_uri(own, times, "t.npy"),
                                                   "labels_npy_uri": npy_uri(own, labels, "l.npy"), "samplerate": 30000}}
    missing = bin1_object("sha1://" + "c" * 40 + "/raw.bin?manifest=" + "d" * 40, 385, 90_000, CX_COLS)
    path = write_catalog(tmp_path / "cat.yaml", {
        "rec": {"driver": "npx_recording", "description": "385 raw columns, 374 channels",
                "args": {"recording": obj, "chunk_seconds": 0.5},
                "metadata": {"kind": "recording", "label": "rec (full)", "duration_s": 3.0, "lab": "test"}},
        "rec-subset": {"driver": "npx_recording", "args": {"recording": subset, "chunk_seconds": "1.0"},
                       "metadata": {"kind": "recording"}},
        "rec-missing": {"driver": "npx_recording", "args": {"recording": missing},
                        "metadata": {"kind": "recording"}},
        "rec:curated": {"driver": "npx_sorting", "args": {"sorting": sorting},
                        "metadata": {"kind": "sorting", "recording_id": "rec", "duration_s": 3.0}},
        "rec:unknown": {"driver": "npx_sorting", "args": {"sorting": None},
                        "metadata": {"kind": "sorting", "unavailable": "the URIs were never published"}},
        "rec:drift": {"driver": "npx_drift",
                      "args": {"timestamps": npy_uri(own, np.array([0.0, 1.0, 2.0]), "ts.npy"),
                               "positions": npy_uri(own, np.array([0.0, 50.0, 0.0]), "pos.npy")},
                      "metadata": {"kind": "drift", "recording_id": "rec"}},
    })
    return intake.open_catalog(str(path)), raw, (times, labels)


def test_recording_entry(cat):
    c, raw, _ = cat
    assert set(c) == {"rec", "rec-subset", "rec-missing", "rec:curated", "rec:unknown", "rec:drift"}
    src = c["rec"]
    assert isinstance(src, RecordingSource)
    x = src.to_dask()
    assert isinstance(x, xr.DataArray) and x.dims == ("time", "channel") and x.dtype == np.int16
    assert x.shape == (90_000, 374) and x.chunks[0][0] == 15_000 and x.name == "rec"
    ref = raw[:, CX_COLS]
    rng = np.random.default_rng(0)
    for _ in range(10):
        a = int(rng.integers(0, 89_000))
        b = int(rng.integers(a + 1, 90_000))
        chs = np.sort(rng.choice(374, 7, replace=False))
        np.testing.assert_array_equal(x[a:b, chs].values, ref[a:b, chs])
    assert src.npartitions == 6
    np.testing.assert_array_equal(src.read_partition(2).values, ref[30_000:45_000])
    np.testing.assert_array_equal(src.read().values, ref)


def test_channel_subset_entry(cat):
    c, raw, _ = cat
    x = c["rec-subset"].to_dask()
    cols = [CX_COLS[i] for i in (0, 5, 17, 200, 373)]
    assert x.shape == (90_000, 5) and x.chunks[0][0] == 30_000  # "1.0" from YAML arrives as a string
    np.testing.assert_array_equal(x.values, raw[:, cols])
    np.testing.assert_array_equal(x["y"].values, [20.0 * (col // 2 + 1) for col in cols])


def test_discover_and_describe_read_no_bytes(cat, tmp_path):
    c, _, _ = cat
    store = get_store()
    before = dict(store.stats)
    src = c["rec-missing"]
    d = src.discover()
    assert d["shape"] == (90_000, 374) and d["dtype"] == "int16" and d["npartitions"] == 3
    assert c["rec-missing"].describe()["metadata"]["kind"] == "recording"
    x = src.to_dask()  # still lazy
    assert x.shape == (90_000, 374)
    assert store.stats == before
    t = time.monotonic()
    with pytest.raises(ContentNotFound) as err:
        x[:10].values
    assert time.monotonic() - t < 3 and "c" * 40 in str(err.value) and "npx2020 add" in str(err.value)


def test_sorting_entry(cat):
    c, _, (times, labels) = cat
    src = c["rec:curated"]
    df = src.read()
    assert list(df.columns) == ["unit_id", "sample_index", "time"]
    assert df["sample_index"].is_monotonic_increasing
    np.testing.assert_array_equal(df["sample_index"].to_numpy(), times)
    np.testing.assert_allclose(df["time"].to_numpy(), times / 30000)
    units = src.units()
    assert units.loc[3, "num_spikes"] == int(np.sum(labels == 3))
    assert units.loc[3, "firing_rate"] == pytest.approx(np.sum(labels == 3) / 3.0)
    np.testing.assert_array_equal(src.spike_train(3), times[labels == 3])
    assert sum(len(v) for v in src.spike_trains().values()) == len(times)
    assert src.to_dask().compute().equals(df)


def test_unavailable_sorting_says_why(cat):
    c, _, _ = cat
    with pytest.raises(ContentNotFound, match="never published"):
        c["rec:unknown"].read()


def test_drift_entry(cat):
    c, _, _ = cat
    df = c["rec:drift"].read()
    assert isinstance(df, pd.DataFrame) and list(df.columns) == ["time", "position"]
    assert df["position"].tolist() == [0.0, 50.0, 0.0]


def test_drivers_registered():
    assert intake.registry["npx_recording"] is RecordingSource
    assert intake.registry["npx_sorting"] is SortingSource
    assert intake.registry["npx_drift"] is DriftSource


def test_sources_pickle_and_paste(cat):
    import pickle

    c, raw, _ = cat
    src = pickle.loads(pickle.dumps(c["rec"]))
    np.testing.assert_array_equal(src.to_dask()[:5].values, raw[:5, CX_COLS])
    pasted = RecordingSource(recording=c["rec"].recording, chunk_seconds=1.0)
    np.testing.assert_array_equal(pasted.to_dask()[7:9].values, raw[7:9, CX_COLS])
