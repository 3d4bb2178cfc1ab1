import numpy as np
import pytest
from helpers import CX_COLS

from intake_npx2020.arrays import LazyTraces, to_xarray
from intake_npx2020.formats import Bin1Recording
from intake_npx2020.store import get_store


@pytest.fixture
def spec(recording):
    obj, raw = recording
    return Bin1Recording.from_object(obj), raw[:, CX_COLS]


def test_lazy_indexing(spec):
    s, ref = spec
    lazy = LazyTraces(s)
    assert lazy.shape == ref.shape and lazy.dtype == np.int16
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = int(rng.integers(0, ref.shape[0] - 1))
        b = int(rng.integers(a, ref.shape[0]))
        chs = np.sort(rng.choice(ref.shape[1], int(rng.integers(1, 20)), replace=False))
        np.testing.assert_array_equal(lazy[a:b, chs], ref[a:b, chs])
    np.testing.assert_array_equal(lazy[5:10], ref[5:10])
    np.testing.assert_array_equal(lazy[7], ref[7])
    np.testing.assert_array_equal(lazy[-1, 3:9], ref[-1, 3:9])
    np.testing.assert_array_equal(lazy[100:1000:7, ::3], ref[100:1000:7, ::3])
    np.testing.assert_array_equal(lazy[[4, 2, 9], 1], ref[[4, 2, 9], 1])
    with pytest.raises(IndexError):
        lazy[ref.shape[0]]


def test_xarray_contract(spec):
    s, ref = spec
    x = to_xarray(s, chunk_seconds=0.5, name="rec")
    assert x.dims == ("time", "channel") and x.dtype == np.int16 and x.shape == ref.shape
    assert x.chunks == ((15_000,) * 6, (374,))
    assert x.attrs["sampling_frequency"] == 30000.0 and x.attrs["uri"] == s.raw
    np.testing.assert_array_equal(x["channel"].values, np.arange(374))
    assert x["x"].values[0] == 43.0 and x["y"].values[-1] == 20 * (CX_COLS[-1] // 2 + 1)
    assert x["time"].values[30000] == pytest.approx(1.0)
    w = x.sel(time=slice(1.0, 1.5)).isel(channel=slice(10, 20))
    assert w.shape == (15_000, 10)
    np.testing.assert_array_equal(w.values, ref[30_000:45_000, 10:20])
    np.testing.assert_array_equal(x.isel(time=slice(100, 200)).sel(time=slice(0.004, 0.005)).values,
                                  ref[120:150])


def test_window_reads_only_its_bytes(recording, tmp_path, serve_process):
    """Through a mirror, a 0.1 s window fetches only the chunks holding those frames."""
    obj, raw = recording
    base = serve_process(tmp_path / "own-store")
    so = {"store": str(tmp_path / "cold"), "mirrors": base}
    x = to_xarray(Bin1Recording.from_object(obj), storage_options=so)
    np.testing.assert_array_equal(x[45_000:48_000, :8].values, raw[45_000:48_000, CX_COLS[:8]])
    store = get_store(so)
    m = store.manifest(obj["data"]["raw"].split("manifest=")[1])
    a, b = 45_000 * 770, 48_000 * 770
    needed = sum(c.size for c in m.chunks_for(a, b))
    assert store.stats["bytes_fetched"] - len(m.to_bytes()) == needed < len(raw.tobytes()) / 3


def test_size_mismatch_is_an_error(recording):
    from intake_npx2020.errors import IntegrityError

    obj, raw = recording
    obj["data"]["num_frames"] = 80_000
    x = to_xarray(Bin1Recording.from_object(obj))
    with pytest.raises(IntegrityError, match="80000 frames"):
        x[:10].values


@pytest.mark.parametrize("scheduler", ["threads", "processes", "sync"])
def test_schedulers(spec, scheduler):
    s, ref = spec
    x = to_xarray(s, chunk_seconds=0.7)
    np.testing.assert_array_equal(x.data.max(axis=0).compute(scheduler=scheduler), ref.max(axis=0))


@pytest.mark.parametrize("fs", [30000.0, 30000.123, 25000.5])
@pytest.mark.parametrize("start_frame", [0, 7, 270_001])
def test_recording_dataarray_time_index(fs, start_frame):
    """The one builder: exactly n lazy time labels (start_frame + row) / fs, nearest-sample selection."""
    from xarray.indexes import RangeIndex

    from intake_npx2020.arrays import recording_dataarray

    n = 1234
    data = np.arange(n * 3, dtype=np.int16).reshape(n, 3)
    x = recording_dataarray(data, fs, [4, 5, 6], [[1, 20], [2, 40], [3, 60]], start_frame=start_frame,
                            name="r", attrs={"gain_to_uV": 2.5})
    assert x.shape == (n, 3) and x.name == "r" and isinstance(x.xindexes["time"], RangeIndex)
    assert list(x.attrs) == ["sampling_frequency", "gain_to_uV", "units", "long_name", "scale_factor", "add_offset"]
    assert x.attrs["sampling_frequency"] == fs and x.attrs["scale_factor"] == 2.5 and x.attrs["units"] == "count"
    np.testing.assert_allclose(x["time"].values, (start_frame + np.arange(n)) / fs, rtol=0, atol=1e-12)
    assert x["x"].attrs["units"] == "um" and x["time"].attrs["units"] == "s"
    np.testing.assert_array_equal(x["channel"].values, [4, 5, 6])
    np.testing.assert_array_equal(x["y"].values, [20.0, 40.0, 60.0])
    t = (start_frame + 100) / fs + 0.3 / fs
    np.testing.assert_array_equal(x.sel(time=t).values, data[100])
    assert isinstance(x.isel(time=slice(10, 20)).xindexes["time"], RangeIndex)


def test_to_xarray_attrs(spec):
    s, _ = spec
    x = to_xarray(s, name="rec", attrs={"gain_to_uV": 2.34375, "probe": None})
    assert list(x.attrs) == ["sampling_frequency", "uri", "raw_num_channels", "object_sha1", "gain_to_uV", "units",
                             "long_name", "scale_factor", "add_offset"]
    assert x["time"].values[0] == 0.0 and x["time"].values[1] == 1.0 / 30000.0
