import json

import numpy as np
import pytest
from helpers import CX_COLS, bin1_object, put_file

from intake_npx2020.apps.cli import main
from intake_npx2020.sources.drivers import RecordingSource
from intake_npx2020.apps.export import export


@pytest.fixture
def source(tmp_path):
    rng = np.random.default_rng(2)
    raw = (rng.normal(0, 20, (75_000, 385)) + 5 * np.sin(np.arange(75_000) / 300)[:, None]).astype(np.int16)
    uri = put_file(tmp_path / "own-store", raw.tobytes(), [0, 20_000_000, 40_000_000, raw.nbytes])
    obj = bin1_object(uri, 385, 75_000, CX_COLS)
    obj["data"]["channel_positions"]["1"] = [11.125, 20.0000001]  # full precision must survive
    return RecordingSource(obj, metadata={"gain_to_uV": 2.34375}), raw


def test_dat_window_for_matlab(source, tmp_path):
    src, raw = source
    out = export(src, tmp_path / "out", format="dat", start=0.5, end=2.0, channels=[1, 7, 300])
    traces = np.fromfile(tmp_path / "out" / "traces.dat", "<i2").reshape(-1, 3)
    np.testing.assert_array_equal(traces, raw[15_000:60_000, [CX_COLS[1], CX_COLS[7], CX_COLS[300]]])
    lines = (tmp_path / "out" / "channels.csv").read_text().splitlines()
    assert lines[0] == "channel_id,x_um,y_um" and lines[1] == "1,11.125,20.0000001"
    meta = json.loads((tmp_path / "out" / "recording.json").read_text())
    assert meta["sampling_frequency"] == 30000.0 and meta["num_frames"] == 45_000 and meta["start_frame"] == 15_000
    assert "fread" in (tmp_path / "out" / "load_recording.m").read_text()
    assert out["bytes"] == traces.nbytes
    with pytest.raises(FileExistsError, match="overwrite"):
        export(src, tmp_path / "out", format="dat")


def test_zarr_readable_by_zarr_dask_and_spikeinterface(source, tmp_path):
    import dask.array as da
    import zarr

    src, raw = source
    out = export(src, tmp_path / "z", format="zarr")
    assert out["compression_ratio"] > 1.2
    group = zarr.open_consolidated(str(tmp_path / "z"))
    assert group["traces_seg0"].attrs["_ARRAY_DIMENSIONS"] == ["time", "channel"]  # xarray's convention
    assert group["channel_ids"].attrs["_ARRAY_DIMENSIONS"] == ["channel"]
    # no fill value: xarray would otherwise decode every 0 count as NaN and the traces as float
    assert group["traces_seg0"].fill_value is None and group["traces_seg0"].dtype == np.int16
    np.testing.assert_array_equal(da.from_zarr(str(tmp_path / "z"), component="traces_seg0").compute(),
                                  raw[:, CX_COLS])
    np.testing.assert_array_equal(group["channel_ids"][:], np.arange(374))
    si = pytest.importorskip("spikeinterface.core")
    rec = si.read_zarr(tmp_path / "z")
    assert rec.get_sampling_frequency() == 30000.0 and rec.get_num_channels() == 374
    np.testing.assert_array_equal(rec.get_traces(start_frame=100, end_frame=200), raw[100:200, CX_COLS])
    np.testing.assert_allclose(rec.get_channel_locations()[1], [11.125, 20.0000001])


def test_failed_export_leaves_nothing(source, tmp_path, monkeypatch):
    import dask.array as da

    src, raw = source
    calls = {"n": 0}
    real = da.Array.compute

    def boom(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        return real(self, *a, **k)

    monkeypatch.setattr(da.Array, "compute", boom)
    with pytest.raises(OSError):
        export(src, tmp_path / "out", format="dat")
    assert list(tmp_path.glob("*out*")) == [] and list(tmp_path.glob(".out*")) == []


def test_bad_window(source, tmp_path):
    src, _ = source
    with pytest.raises(ValueError, match="outside the recording"):
        export(src, tmp_path / "x", start=1.0, end=99.0)
    with pytest.raises(ValueError, match="channel ids \\[999\\]"):
        export(src, tmp_path / "x", channels=[999])
    with pytest.raises(ValueError, match="format"):
        export(src, tmp_path / "x", format="mat")


def test_cli_export_and_fetch_by_id(source, tmp_path, capsys, serve_process, monkeypatch):
    import yaml

    src, raw = source
    cat = tmp_path / "cat.yaml"
    cat.write_text(yaml.safe_dump({"sources": {"rec": {"driver": "npx_recording",
                                                       "args": {"recording": src.recording},
                                                       "metadata": {"kind": "recording"}}}}))
    assert main(["export", "rec", "--to", str(tmp_path / "e"), "--end", "0.1", "--catalog", str(cat)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert (tmp_path / "e" / "traces.dat").stat().st_size == 3000 * 374 * 2
    monkeypatch.setenv("NPX2020_MIRRORS", serve_process(tmp_path / "own-store"))
    assert main(["fetch", "rec", "--catalog", str(cat), "--store", str(tmp_path / "fresh")]) == 0
    assert f"fetched {raw.nbytes} bytes" in capsys.readouterr().out
