"""The viewer's data layer, pages and server, and the intake GUI, without a browser (see test_gui.py for that)."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("panel")
pytest.importorskip("holoviews")
pytest.importorskip("datashader")

from intake_npx2020 import synth  # noqa: E402
from intake_npx2020.sources.catalog import open_catalog  # noqa: E402
from intake_npx2020.errors import ContentNotFound  # noqa: E402
from intake_npx2020.store import Store  # noqa: E402
from intake_npx2020.apps.viewer import data as vd  # noqa: E402

NAME = "synth-view"
DURATION = 4.0


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A small synthetic drift dataset laid out as ``npx2020 demo`` does: DIR/catalog.yaml + DIR/store."""
    root = tmp_path_factory.mktemp("view-demo")
    result = synth.generate(root / "synth", duration=DURATION, num_units=16, seed=3, progress=False)
    synth.write_catalog(result, root / "store", root / "catalog.yaml", NAME)
    return root / "catalog.yaml", result


@pytest.fixture
def no_data_reads(monkeypatch):
    """Fail (and record) any read of data bytes through the store."""
    calls = []

    def forbid(name):
        def f(self, *args, **kwargs):
            calls.append((name, args))
            raise AssertionError(f"data bytes read through Store.{name}{args}")
        return f

    for name in ("read_into", "load_bytes", "fetch_chunk", "size", "fetch"):
        monkeypatch.setattr(Store, name, forbid(name))
    return calls


@pytest.fixture(scope="module")
def shipped():
    return open_catalog()


# ------------------------------------------------------------------------------------------------ table

def test_viewer_table_of_the_shipped_catalog(shipped):
    t = vd.viewer_table(shipped)
    assert len(t) == 47 and set(vd.TABLE_COLUMNS) <= set(t.columns)
    assert t["kind"].value_counts().to_dict() == {"sorting": 31, "recording": 14, "drift": 2}
    sorted_recs = set(t.loc[t["kind"] == "sorting", "recording"])
    recs = t[t["kind"] == "recording"]
    assert recs["has_sorting"].to_dict() == {r: r in sorted_recs for r in recs.index}
    drift_recs = set(t.loc[t["kind"] == "drift", "recording"])
    assert drift_recs and all(t.loc[r, "has_drift"] for r in drift_recs)
    assert not t.loc[t["recording"].isin(drift_recs) == False, "has_drift"].any()  # noqa: E712


def test_filters(shipped):
    t = vd.viewer_table(shipped)
    assert len(vd.filter_table(t)) == 47
    drift = vd.filter_table(t, drift="yes", kinds=["recording"])
    assert sorted(drift.index) == ["cortexlab-drift-dataset1", "cortexlab-drift-dataset2"]
    assert len(vd.filter_table(t, drift="no")) == 47 - len(vd.filter_table(t, drift="yes"))
    no_sorting = vd.filter_table(t, has_sorting="no")
    assert len(no_sorting) and (no_sorting["kind"] == "recording").all()
    labs = sorted(t["lab"].dropna().unique())
    one_lab = vd.filter_table(t, labs=[labs[0]])
    assert len(one_lab) and (one_lab["lab"] == labs[0]).all()
    probes = sorted(t["probe"].dropna().unique())
    assert (vd.filter_table(t, probes=[probes[0]])["probe"] == probes[0]).all()
    hits = vd.filter_table(t, search="KILOSORT2 allen")
    assert len(hits) and all("kilosort2" in r and "allen" in r for r in hits["text"])
    assert len(vd.filter_table(t, search="no-such-word-anywhere")) == 0


# ------------------------------------------------------------------------------------------------ entries

def test_store_beside_the_catalog_is_read(demo, tmp_path):
    path, _ = demo
    so = vd.entry_storage_options(path)
    assert so == {"read_roots": [str(path.parent / "store")]}
    assert vd.entry_storage_options(path, store=tmp_path) == {"read_roots": [str(tmp_path), str(path.parent / "store")]}
    assert vd.entry_storage_options(tmp_path / "elsewhere.yaml") is None
    src = vd.open_entry(open_catalog(path), NAME, so)
    assert src.storage_options["read_roots"] == [str(path.parent / "store")]
    assert src.metadata["kind"] == "recording"


def test_load_window_reads_only_the_window(demo, monkeypatch):
    path, result = demo
    x = vd.open_entry(open_catalog(path), NAME, vd.entry_storage_options(path)).to_dask()
    reads = []
    orig = Store.read_into

    def spy(self, uri, start, out):
        reads.append((start, len(out)))
        return orig(self, uri, start, out)

    monkeypatch.setattr(Store, "read_into", spy)
    fs, row = 30000, result.raw_num_channels * 2
    w = vd.load_window(x, 1.25, 0.1, channel_start=10, num_channels=20, center=False)
    f0, f1 = int(1.25 * fs), int(1.35 * fs)
    assert w.data.shape == (f1 - f0, 20) and w.time[0] == pytest.approx(1.25)
    assert list(w.index) == list(range(10, 30)) and w.t1 == pytest.approx(1.35)
    assert reads and all(f0 * row <= a and a + n <= f1 * row for a, n in reads)
    assert sum(n for _, n in reads) == (f1 - f0) * row
    raw = np.memmap(result.raw_path, np.int16, "r").reshape(-1, result.raw_num_channels)
    cols = [int(result.bin1_object("x")["data"]["channel_map"][str(c)]) for c in x["channel"].values[10:30]]
    np.testing.assert_array_equal(w.data, raw[f0:f1, cols])
    centred = vd.load_window(x, 1.25, 0.1, channel_start=10, num_channels=20)
    assert np.abs(np.median(centred.data, axis=0)).max() <= 1.0


def test_window_is_clipped_to_the_recording(demo):
    path, _ = demo
    x = vd.open_entry(open_catalog(path), NAME, vd.entry_storage_options(path)).to_dask()
    w = vd.load_window(x, DURATION - 0.01, 5.0, channel_start=380, num_channels=50, center=False)
    assert w.data.shape == (300, 4) and w.t1 == pytest.approx(DURATION)
    w = vd.load_window(x, -3.0, 0.001, channel_start=-5, num_channels=1)
    assert w.data.shape == (30, 1) and w.t0 == 0.0


def test_trace_helpers():
    rng = np.random.default_rng(0)
    data = rng.normal(0, 10, (9000, 40)).astype(np.float32)
    w = vd.Window(data, np.arange(9000) / 30000, np.arange(40), np.zeros(40), np.arange(40) * 20.0,
                  np.arange(40), 30000.0)
    cols, spacing = vd.traces_offsets(w, 8)
    assert len(cols) == 8 and cols[0] == 0 and cols[-1] == 39 and 40 < spacing < 80
    t, v, ticks = vd.traces_lines(w, 8, bins=500)
    assert len(ticks) == 8 and np.isnan(v).sum() == 8 and len(t) == len(v) == 8 * 1001
    tt, vv = vd.decimate_minmax(w.time, data[:, 0], bins=500)
    assert vv.max() == data[:, 0].max() and vv.min() == data[:, 0].min() and len(tt) == 1000
    short = vd.decimate_minmax(w.time[:100], data[:100, 0], bins=500)
    assert len(short[0]) == 100
    assert 20 < vd.clip_limit(data) < 40 and vd.clip_limit(np.zeros((0, 3))) == 1.0


def test_peaks_and_drift_overlay(demo):
    path, result = demo
    cat = open_catalog(path)
    so = vd.entry_storage_options(path)
    x = vd.open_entry(cat, NAME, so).to_dask()
    peaks = vd.window_peaks(x, 1.0, 2.0)
    assert len(peaks) > 50 and peaks["time"].between(1.0, 3.0).all()
    assert {"time", "y", "amplitude"} <= set(peaks.columns)
    drift = vd.open_entry(cat, f"{NAME}:drift", so).read()
    curves = vd.drift_overlay(drift, peaks["y"].to_numpy(), 1.0, 3.0)
    assert len(curves) == 2
    expected = result.displacement(curves[0]["time"].to_numpy()) - result.displacement(1.0)
    np.testing.assert_allclose(curves[0]["y"] - curves[0]["y"].iloc[0], expected, atol=1e-6)
    assert vd.drift_overlay(drift, np.array([]), 0, 1) == []


def test_sorting_tables(demo):
    path, result = demo
    src = vd.open_entry(open_catalog(path), f"{NAME}:ground_truth", vd.entry_storage_options(path))
    spikes, units = vd.sorting_tables(src)
    assert len(spikes) == len(result.spike_times) and set(units.columns) >= {"unit_id", "firing_rate"}
    thinned, _ = vd.sorting_tables(src, max_spikes=100)
    assert len(thinned) == 100 and thinned["time"].is_monotonic_increasing


def test_unavailable_message():
    msg = vd.unavailable_message("rec-1", ContentNotFound("sha1://abc: not found"))
    assert "`rec-1` are not available here" in msg and "npx2020 add FILE" in msg and "sha1://abc" in msg
    assert "cannot be shown" in vd.unavailable_message("s", ValueError("bad object"))


# ------------------------------------------------------------------------------------------------ intake GUI

def test_intake_gui_lists_every_entry_and_reads_no_bytes(shipped, no_data_reads):
    from intake_npx2020.apps.view import intake_gui

    gui = intake_gui(shipped)
    assert gui.catsel.value == ["npx2020"]
    assert list(gui.sourcesel.options) == list(shipped)
    assert len(gui.sourcesel.options) == 47
    for name in gui.sourcesel.options:
        gui.sourcesel.value = [name]
        text = gui.sourceinf.value
        assert text.startswith(f"{name}:") and "metadata:" in text and "driver:" in text
        description = shipped[name].describe().get("description")
        if description:
            assert description.split()[0] in text
    assert no_data_reads == []


def test_intake_gui_replaces_the_missing_logo(shipped):
    import panel as pn

    from intake_npx2020.apps.view import intake_gui

    gui = intake_gui(shipped)
    pngs = [p for p in gui.main.select(pn.pane.PNG) if isinstance(p.object, str)]
    assert all(Path(p.object).exists() for p in pngs)


# ------------------------------------------------------------------------------------------------ pages

def test_viewer_pages_on_the_demo_layout(demo):
    from intake_npx2020.apps.viewer.app import ViewerApp, ViewerContext

    path, result = demo
    ctx = ViewerContext.open(path)
    app = ViewerApp(ctx)
    assert ctx.name == path.parent.name
    assert "MB read" in app.recording.info.object and not app.recording.status.visible
    assert app.recording.pipe.data.data.shape == (15000, 384)
    app.recording.scroll(+1)
    assert app.recording.pipe.data.t0 == pytest.approx(0.5)
    app.recording.channel_start.value = 100
    app.recording.num_channels.value = 16
    assert list(app.recording.pipe.data.index) == list(range(100, 116))
    app.open_entry(f"{NAME}:ground_truth")
    assert app.tabs.active == 2 and f"{len(result.spike_times)} spikes" in app.sorting.info.object
    app.open_entry(f"{NAME}:drift")
    assert app.tabs.active == 3 and app.drift.entry.value == NAME
    app.drift.duration.value = 2.0
    app.drift.refresh()
    assert "peaks in 0–2 s" in app.drift.info.object and "imposed drift" in app.drift.info.object
    assert app.drift.truth.data is not None and len(app.drift.peaks.data) > 50
    app.catalog.search.value_input = "ground_truth"
    assert list(app.catalog.table.value.index) == [f"{NAME}:ground_truth"]


def test_viewer_pages_say_when_bytes_are_missing(shipped):
    from intake_npx2020.apps.viewer.app import ViewerApp, ViewerContext

    app = ViewerApp(ViewerContext.open())
    assert app.recording.status.visible and "not available here" in app.recording.status.object
    assert app.recording.pipe.data is None
    for name in ["cortexlab-drift-dataset1", "allen_mouse419112_probeE-ch0-7.10sec"]:
        app.open_entry(name)
        assert f"`{name}` are not available here" in app.recording.status.object
    for name in [n for n in shipped if shipped[n].metadata.get("kind") == "sorting"][:6]:
        app.open_entry(name)
        assert app.sorting.status.visible and name in app.sorting.status.object
    app.drift.refresh()
    assert app.drift.status.visible and "not available here" in app.drift.status.object


# ------------------------------------------------------------------------------------------------ server, CLI

def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.status == 200
        return r.read().decode()


def test_serve_viewer_binds_loopback_and_stops(demo):
    from intake_npx2020.apps.view import serve_viewer

    path, _ = demo
    server, url = serve_viewer(path)
    try:
        assert url == f"http://127.0.0.1:{server.port}/" and server.running
        assert server.sockets == [("127.0.0.1", server.port)]
        assert "bokeh" in _get(url).lower() and "bokeh" in _get(url + "intake").lower()
    finally:
        server.stop()
    assert not server.running
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=5)
    server.stop()  # idempotent


def test_cli_view(demo):
    from intake_npx2020.apps.cli import build_parser

    args = build_parser().parse_args(["view", "c.yaml", "--port", "8123"])
    assert (args.catalog, args.port, args.address, args.func.__name__) == ("c.yaml", 8123, "127.0.0.1", "_cmd_view")
    assert build_parser().parse_args(["view"]).catalog is None
    path, _ = demo
    p = subprocess.Popen([sys.executable, "-m", "intake_npx2020", "view", str(path)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        assert line.startswith("npx2020 viewer at http://127.0.0.1:"), p.stderr.read() if p.poll() else line
        url = line.split()[3]
        assert "bokeh" in _get(url).lower()
    finally:
        p.terminate()
        p.wait(timeout=20)
