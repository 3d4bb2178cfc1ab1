"""Units the way xarray (CF), pint and spikeinterface read them (issue 16)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from helpers import CX_COLS

from intake_npx2020.errors import InvalidArgument
from intake_npx2020.sources.drivers import RecordingSource

GAIN = 2.34375


@pytest.fixture
def source(recording):
    obj, raw = recording
    return RecordingSource(obj, metadata={"gain_to_uV": GAIN, "probe": "NP1"}), raw[:, CX_COLS]


def test_cf_attributes(source):
    src, _ = source
    x = src.to_dask()
    assert x.attrs["units"] == "count" and x.attrs["long_name"]
    assert x.attrs["scale_factor"] == GAIN and x.attrs["add_offset"] == 0.0
    assert type(x.attrs["scale_factor"]) is float and x.attrs["gain_to_uV"] == GAIN   # JSON-safe, old name kept
    assert x["time"].attrs["units"] == "s" and x["x"].attrs["units"] == "um"


def test_pint_parses_every_unit(source):
    pint = pytest.importorskip("pint")
    ureg = pint.UnitRegistry()
    src, _ = source
    x = src.to_dask()
    assert ureg.Unit(x.attrs["units"]) == ureg.count and ureg.Quantity(1, x.attrs["units"]).dimensionless
    assert ureg.Unit(x.npx.to_uV().attrs["units"]) == ureg.microvolt
    assert ureg.Unit(x["time"].attrs["units"]) == ureg.second and ureg.Unit(x["y"].attrs["units"]) == ureg.micrometer
    q = ureg.Quantity(float(x.attrs["scale_factor"]), f"{x.npx.to_uV().attrs['units']} / {x.attrs['units']}")
    assert q.to("V").magnitude == pytest.approx(GAIN * 1e-6)


def test_decode_cf_gives_uV_lazily(source):
    src, ref = source
    x = src.to_dask()
    ds = xr.decode_cf(x.to_dataset())
    v = ds[x.name] if x.name else ds[list(ds.data_vars)[0]]
    assert hasattr(v.data, "dask") and v.dtype == np.float64
    np.testing.assert_allclose(v.isel(time=slice(1000, 1100)).values, ref[1000:1100] * GAIN)
    assert v.encoding["scale_factor"] == GAIN and v.encoding["dtype"] == np.int16


@pytest.mark.parametrize("via", ["function", "accessor"])
def test_to_uV(source, via):
    from intake_npx2020.arrays import to_uV

    src, ref = source
    x = src.to_dask().sel(time=slice(1.0, 1.5)).isel(channel=slice(0, 40))
    u = to_uV(x) if via == "function" else x.npx.to_uV()
    assert u.dtype == np.float32 and hasattr(u.data, "dask") and u.chunks == x.chunks
    assert u.attrs["units"] == "uV" and "scale_factor" not in u.attrs and u.attrs["sampling_frequency"] == 30000.0
    assert list(u.coords) == list(x.coords) and u.name == x.name
    np.testing.assert_allclose(u.values, (ref[30_000:45_000, :40] * np.float32(GAIN)).astype(np.float32))
    assert x.npx.gain_to_uV == GAIN
    assert to_uV(u) is not u and to_uV(u).dtype == np.float32     # already in µV: only cast


def test_to_uV_without_gain(recording):
    obj, _ = recording
    x = RecordingSource(obj).to_dask()
    assert "scale_factor" not in x.attrs and x.attrs["units"] == "count"
    with pytest.raises(InvalidArgument, match="gain"):
        x.npx.to_uV()


@pytest.mark.parametrize("local", [True, False])
def test_spikeinterface_gain_and_offset(source, local):
    pytest.importorskip("spikeinterface.core")
    src, ref = source
    rec = src.to_spikeinterface(prefer_local_binary=local)
    np.testing.assert_array_equal(rec.get_channel_gains(), np.full(374, GAIN, dtype=np.float32))
    np.testing.assert_array_equal(rec.get_channel_offsets(), np.zeros(374))
    assert rec.has_scaleable_traces()
    si_uv = rec.get_traces(start_frame=100, end_frame=300, return_in_uV=True)
    ours = src.to_dask().isel(time=slice(100, 300)).npx.to_uV().values
    assert si_uv.dtype == np.float32
    np.testing.assert_allclose(si_uv, ours, rtol=1e-6)
