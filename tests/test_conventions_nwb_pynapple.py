"""The two formats analysts ask for next (issue 16): NWB (read back by pynwb and spikeinterface) and pynapple."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import CX_COLS, npy_uri

from intake_npx2020.apps.cli import main
from intake_npx2020.apps.export import export
from intake_npx2020.sources.drivers import RecordingSource, SortingSource

GAIN = 2.34375
CHANNELS = [3, 4, 5, 6]


@pytest.fixture
def source(recording):
    obj, raw = recording
    return RecordingSource(obj, metadata={"gain_to_uV": GAIN, "probe": "NP1", "lab": "cortexlab"}), raw


def test_nwb_window_read_by_pynwb_and_spikeinterface(source, tmp_path):
    pynwb = pytest.importorskip("pynwb")
    pytest.importorskip("neuroconv")
    src, raw = source
    out = export(src, tmp_path / "w.nwb", format="nwb", start=1.0, end=2.5, channels=CHANNELS)
    assert (tmp_path / "w.nwb").is_file() and out["stored_bytes"] > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []    # no partial left
    ref = raw[30_000:75_000, [CX_COLS[c] for c in CHANNELS]]
    with pynwb.NWBHDF5IO(str(tmp_path / "w.nwb"), "r") as io:
        nwb = io.read()
        (es,) = nwb.acquisition.values()
        np.testing.assert_array_equal(es.data[:], ref)
        assert es.data.dtype == np.int16 and es.rate == 30000.0 and es.starting_time == 1.0
        assert es.conversion == pytest.approx(GAIN * 1e-6) and es.offset == 0.0
        table = nwb.electrodes.to_dataframe()
        np.testing.assert_array_equal(table[["rel_x", "rel_y"]].to_numpy(), src.spec.locations[CHANNELS])
        assert list(table["electrode_name"]) == [f"e{CX_COLS[c]}" for c in CHANNELS]
        assert "not known" in nwb.session_description and nwb.lab == "cortexlab"
    se = pytest.importorskip("spikeinterface.extractors")
    rec = se.read_nwb_recording(str(tmp_path / "w.nwb"))
    assert rec.get_times()[0] == 1.0 and rec.get_num_samples() == 45_000
    np.testing.assert_array_equal(rec.get_traces(start_frame=100, end_frame=200), ref[100:200])
    np.testing.assert_allclose(rec.get_traces(end_frame=5, return_in_uV=True), ref[:5] * np.float32(GAIN))
    np.testing.assert_array_equal(rec.get_channel_locations(), src.spec.locations[CHANNELS])


def test_nwb_from_the_command_line(source, tmp_path):
    pytest.importorskip("neuroconv")
    import yaml

    src, _ = source
    cat = tmp_path / "cat.yaml"
    cat.write_text(yaml.safe_dump({"sources": {"rec": {"driver": "npx_recording", "args": {"recording": src.recording},
                                                       "metadata": {"kind": "recording", "probe": "NP1",
                                                                    "gain_to_uV": GAIN}}}}))
    assert main(["export", "rec", "--to", str(tmp_path / "r.nwb"), "--format", "nwb", "--end", "0.2",
                 "--catalog", str(cat)]) == 0
    assert (tmp_path / "r.nwb").stat().st_size > 6000 * 374 * 2 * 0.5


def test_to_pynapple(tmp_path):
    nap = pytest.importorskip("pynapple")
    own = tmp_path / "own-store"
    times = np.array([10, 20, 30_000, 40_000, 50_000, 89_999])
    labels = np.array([1, 2, 1, 1, 3, 3])
    sorting = {"sorting_format": "npy1", "data": {"times_npy_uri": npy_uri(own, times, "t.npy"),
                                                   "labels_npy_uri": npy_uri(own, labels, "l.npy"),
                                                   "samplerate": 30000}}
    src = SortingSource(sorting, metadata={"duration_s": 3.0})
    group = src.to_pynapple()
    assert isinstance(group, nap.TsGroup) and list(group.keys()) == [1, 2, 3]
    np.testing.assert_allclose(group[1].t, [10 / 30000, 1.0, 40_000 / 30000])
    np.testing.assert_allclose(group.time_support.values, [[0.0, 3.0]])
    units = src.units()
    np.testing.assert_array_equal(group.get_info("num_spikes").to_numpy(), units["num_spikes"].to_numpy())
    np.testing.assert_allclose(group.get_info("firing_rate").to_numpy(), units["firing_rate"].to_numpy())
    np.testing.assert_allclose(group.get_info("rate").to_numpy(), units["firing_rate"].to_numpy())
    short = SortingSource(sorting, metadata={"duration_s": 1.0}).to_pynapple()   # a spike beyond it: not cut
    assert short.time_support.values[0, 1] == pytest.approx(90_000 / 30000) and len(short[3]) == 2
