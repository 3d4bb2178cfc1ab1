"""A missing optional dependency names the extra that installs it, wherever it is first needed."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from intake_npx2020.errors import MissingExtra, NPXError
from intake_npx2020.extras import EXTRAS, require


def block(monkeypatch, *modules: str) -> None:
    """Make ``import X`` fail for each module, as if its package were not installed."""
    for m in modules:
        monkeypatch.setitem(sys.modules, m, None)


def test_require_names_the_extra(monkeypatch):
    block(monkeypatch, "scipy.signal")
    with pytest.raises(MissingExtra, match=r"pip install 'intake_npx2020\[analysis\]'") as err:
        require("scipy.signal", why="band-pass filtering")
    assert isinstance(err.value, ImportError) and isinstance(err.value, NPXError)
    assert "band-pass filtering" in str(err.value)
    assert require("numpy") is np


def test_every_optional_package_has_an_extra_declared_in_setup_cfg():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "setup.cfg").read_text()
    for package, extra in EXTRAS.items():
        assert f"\n{extra} =" in text, extra


def _recording_xarray():
    import dask.array as da

    from intake_npx2020.arrays import recording_dataarray

    return recording_dataarray(da.zeros((3000, 4), dtype="i2", chunks=(1000, 4)), 30000.0, [0, 1, 2, 3],
                               np.zeros((4, 2)))


def _sorting_source():
    from intake_npx2020.sources.drivers import SortingSource
    from intake_npx2020.formats import SpikeArrays

    src = SortingSource(sorting=None)
    src._arrays = SpikeArrays(np.arange(3), np.zeros(3, np.int64), 30000.0, np.array([0]))
    return src


CASES = {
    "analysis": (("scipy.signal",), lambda: __import__("intake_npx2020.analysis", fromlist=["x"]).bandpass(
        _recording_xarray()).compute()),
    "synth": (("scipy.special",), lambda: __import__("intake_npx2020.synth", fromlist=["x"]).generate(
        "/nonexistent-never-written", duration=0.1)),
    "dataframe": (("dask.dataframe",), lambda: _sorting_source().to_dask()),
    "probe": (("probeinterface",), lambda: __import__("intake_npx2020.compat.probe", fromlist=["x"]).make_probe(
        np.zeros((2, 2)), np.arange(2))),
    "h5": (("h5py",), lambda: __import__("intake_npx2020.formats.h5", fromlist=["x"]).open_h5(b"", "x").__enter__()),
    "gui": (("panel",), lambda: __import__("intake_npx2020.apps.view", fromlist=["x"]).check_gui_deps()),
    "spikeinterface": (("spikeinterface.core", "intake_npx2020.compat.spikeinterface"),
                       lambda: __import__("intake_npx2020.compat.spikeinterface", fromlist=["x"])),
}


@pytest.mark.parametrize("extra", sorted(CASES))
def test_missing_extra_at_first_use(monkeypatch, extra):
    modules, call = CASES[extra]
    block(monkeypatch, *modules[:1])
    for m in modules[1:]:  # modules that import the dependency when they are imported: import them anew
        monkeypatch.delitem(sys.modules, m, raising=False)
    with pytest.raises(MissingExtra, match=rf"pip install 'intake_npx2020\[{extra}\]'"):
        call()


def test_missing_zarr_names_the_export_extra(monkeypatch, recording, tmp_path):
    from intake_npx2020.apps.export import export
    from intake_npx2020.sources.drivers import RecordingSource

    obj, _ = recording
    block(monkeypatch, "zarr")
    with pytest.raises(MissingExtra, match=r"pip install 'intake_npx2020\[export\]'"):
        export(RecordingSource(recording=obj), tmp_path / "out.zarr", format="zarr", end=0.1)
    assert not (tmp_path / "out.zarr").exists()
