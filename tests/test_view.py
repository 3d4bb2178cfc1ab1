"""The viewer's data layer, pages and server, and the intake GUI, without a browser (see test_gui.py for that)."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from urllib.parse import parse_qs
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("panel")
pytest.importorskip("holoviews")
pytest.importorskip("datashader")

from intake_npx2020 import synth  # noqa: E402
from intake_npx2020.sources.catalog import open_catalog  # noqa: E402
from intake_npx2020.errors import ContentNotFound  # noqa: E402
from intake_npx2020.formats import gather  # noqa: E402
from intake_npx2020.store import Store  # noqa: E402
from intake_npx2020.apps.viewer import data as vd  # noqa: E402
from intake_npx2020.apps.viewer import links  # noqa: E402
from intake_npx2020.apps.viewer import traces as tr  # noqa: E402

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
    orig_blocks = gather.read_blocks

    def spy(self, uri, start, out):
        reads.append((start, len(out)))
        return orig(self, uri, start, out)

    def spy_blocks(store, uri, start, end, buf):  # the one-pass gather of a channel subset reads here
        reads.append((start, end - start))
        return orig_blocks(store, uri, start, end, buf)

    monkeypatch.setattr(Store, "read_into", spy)
    monkeypatch.setattr(gather, "read_blocks", spy_blocks)
    fs, row = 30000, result.raw_num_channels * 2
    w = tr.load_window(x, 1.25, 0.1, channel_start=10, num_channels=20, center=False, to_uv=False)
    f0, f1 = int(1.25 * fs), int(1.35 * fs)
    assert w.data.shape == (f1 - f0, 20) and w.time[0] == pytest.approx(1.25)
    assert list(w.index) == list(range(10, 30)) and w.t1 == pytest.approx(1.35)
    assert reads and all(f0 * row <= a and a + n <= f1 * row for a, n in reads)
    assert sum(n for _, n in reads) == (f1 - f0) * row
    raw = np.memmap(result.raw_path, np.int16, "r").reshape(-1, result.raw_num_channels)
    cols = [int(result.bin1_object("x")["data"]["channel_map"][str(c)]) for c in x["channel"].values[10:30]]
    np.testing.assert_array_equal(w.data, raw[f0:f1, cols])
    assert w.unit == "counts"
    centred = tr.load_window(x, 1.25, 0.1, channel_start=10, num_channels=20, to_uv=False)
    assert np.abs(np.median(centred.data, axis=0)).max() <= 1.0
    in_uv = tr.load_window(x, 1.25, 0.1, channel_start=10, num_channels=20, center=False)
    assert in_uv.unit == "µV" and x.attrs["gain_to_uV"] == synth.UV_PER_BIT
    np.testing.assert_allclose(in_uv.data, w.data * np.float32(synth.UV_PER_BIT), rtol=1e-6)


def test_window_is_clipped_to_the_recording(demo):
    path, _ = demo
    x = vd.open_entry(open_catalog(path), NAME, vd.entry_storage_options(path)).to_dask()
    w = tr.load_window(x, DURATION - 0.01, 5.0, channel_start=380, num_channels=50, center=False)
    assert w.data.shape == (300, 4) and w.t1 == pytest.approx(DURATION)
    w = tr.load_window(x, -3.0, 0.001, channel_start=-5, num_channels=1)
    assert w.data.shape == (30, 1) and w.t0 == 0.0


def _noise_window(nch: int = 40, sigma: float = 10.0, seed: int = 0) -> tr.Window:
    data = np.random.default_rng(seed).normal(0, sigma, (9000, nch)).astype(np.float32)
    return tr.Window(data, np.arange(9000) / 30000, np.arange(nch) + 1000, np.zeros(nch), np.arange(nch) * 20.0,
                     np.arange(nch), 30000.0, "µV")


def test_nice_steps():
    assert [tr.nice_step(v) for v in (0.3, 1, 7, 99, 100, 101, 225)] == [0.2, 1, 5, 50, 100, 100, 200]
    assert [tr.nice_step(v, up=True) for v in (0.3, 7, 101, 225)] == [0.5, 10, 200, 500]
    assert tr.nice_step(0) == tr.nice_step(-1) == tr.nice_step(np.nan) == 1.0


def test_traces_do_not_overlap_and_have_a_scale_bar():
    w = _noise_window(sigma=10.0)
    assert 9 < tr.robust_amplitude(w.data) < 11
    panel = tr.trace_panel(w, first=4, count=8, bins=500)
    assert 100 <= panel.spacing <= 150 and panel.unit == "µV"
    assert panel.bar == tr.nice_step(panel.spacing) and panel.bar <= panel.spacing
    assert [t[1] for t in panel.ticks] == [str(c) for c in range(1004, 1012)]
    assert np.isnan(panel.v).sum() == 8 and len(panel.t) == len(panel.v) == 8 * 1001
    rows = np.split(panel.v, np.flatnonzero(np.isnan(panel.v)) + 1)[:-1]
    for low, high in zip(rows, rows[1:]):  # pure noise: no sample of a trace reaches its neighbour
        assert np.nanmax(low) < np.nanmin(high)
    spikes = w.data.copy()
    spikes[::300, :] = 2000  # rare large spikes do not widen the spacing
    assert tr.trace_spacing(spikes) == tr.trace_spacing(w.data)
    assert tr.trace_panel(w, first=39, count=32).ticks == [(0.0, "1039")]


def test_busiest_channels():
    w = _noise_window(nch=64)
    w.data[1000::700, 30:38] += 300  # spikes on channels 30–37
    assert tr.busiest_channels(w, 8) == 30
    assert tr.busiest_channels(w, 64) == 0 and tr.busiest_channels(w, 100) == 0


def test_decimation_and_clip_limit():
    data = _noise_window().data
    t = np.arange(len(data)) / 30000
    tt, vv = tr.decimate_minmax(t, data[:, 0], bins=500)
    assert vv.max() == data[:, 0].max() and vv.min() == data[:, 0].min() and len(tt) == 1000
    assert len(tr.decimate_minmax(t[:100], data[:100, 0], bins=500)[0]) == 100
    assert 20 < tr.clip_limit(data) < 40 and tr.clip_limit(np.zeros((0, 3))) == 1.0


def test_depth_range():
    lo, hi = vd.depth_range(np.array([100.0, 3700.0, np.nan, 2000.0]))
    assert lo < 100 and hi > 3700 and hi - lo < 1.1 * 3600
    assert vd.depth_range(np.array([])) == (0.0, 1.0)
    assert vd.depth_range(np.array([500.0])) == (490.0, 510.0)


def test_geometry_of_every_shipped_recording_reads_no_bytes(shipped, no_data_reads):
    t = vd.viewer_table(shipped)
    for name in t.index[t["kind"] == "recording"]:
        g = vd.channel_geometry(shipped[name])
        assert len(g) == t.loc[name, "num_channels"] and list(g.columns) == ["x", "y", "channel"]
        assert g["y"].max() > g["y"].min() and g["channel"].is_unique
    assert no_data_reads == []


def test_links_round_trip():
    params, problems = links.parse_query({"entry": [b"rec:1"], "t": [b"12.50"], "channel": [b"100"],
                                          "tab": [b"Drift"], "other": [b"x"]})
    assert params == {"tab": "drift", "entry": "rec:1", "t": 12.5, "channel": 100} and problems == []
    query = links.format_query(params)
    assert query == "?tab=drift&entry=rec%3A1&t=12.5&channel=100"
    assert links.parse_query(parse_qs(query[1:]))[0] == params
    params, problems = links.parse_query({"t": "soon", "window": "-1", "tab": "nowhere", "entry": ""})
    assert params == {} and len(problems) == 3 and "`t=soon` is not a number" in problems
    assert links.format_query({"entry": None}) == ""
    from intake_npx2020.apps.viewer.app import PAGES

    assert links.TABS == tuple(page.key for page in PAGES)


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

def test_viewer_pages_open_on_first_visit(demo):
    from intake_npx2020.apps.viewer.app import ViewerApp, ViewerContext

    path, result = demo
    ctx = ViewerContext.open(path)
    app = ViewerApp(ctx)
    assert ctx.name == path.parent.name and app.page.key == "catalog"
    assert app.recording.heat_pipe.data is None and app.sorting.spikes.data is None  # nothing read yet
    app.select("recording")  # outside a server, the first read runs at once
    rec = app.recording
    assert "MB read" in rec.status.info.object and not rec.status.alert.visible and rec.views.visible
    assert rec.heat_pipe.data.data.shape == (15000, 384) and rec.heat_pipe.data.unit == "µV"
    traces = rec.traces_pipe.data
    assert len(traces.ticks) == 32 and traces.unit == "µV" and traces.spacing > 0
    assert int(rec.channel.value) == tr.busiest_channels(rec.heat_pipe.data, 32)
    assert (rec.geometry_pipe.data["state"] == "traced").sum() == 32
    rec.scroll(+1)
    assert rec.heat_pipe.data.t0 == pytest.approx(0.5)
    rec.channel.value, rec.channels.value = 100, 16
    assert [t[1] for t in rec.traces_pipe.data.ticks] == [str(c) for c in rec.heat_pipe.data.channel[100:116]]
    assert "tab=recording" in app.link.object and "channel=100&channels=16" in app.link.object
    app.select("sorting")
    assert f"{len(result.spike_times)} spikes" in app.sorting.status.info.object and app.sorting.plots.visible
    app.select("drift")
    view = app.drift.pipe.data
    assert "peaks in 0–4 s" in app.drift.status.info.object and "imposed drift" in app.drift.status.info.object
    assert view["truth"] is not None and len(view["peaks"]) > 50 and view["xlim"] == (0.0, DURATION)
    assert view["ylim"][0] <= view["peaks"]["y"].min() and view["ylim"][1] >= view["peaks"]["y"].max()
    app.catalog.search.value_input = "ground_truth"
    assert list(app.catalog.table.value.index) == [f"{NAME}:ground_truth"]


def test_viewer_labels_name_their_units(demo):
    from intake_npx2020.apps.viewer.app import ViewerApp, ViewerContext

    app = ViewerApp(ViewerContext.open(demo[0]), {"entry": NAME})
    rec = app.recording
    heat = rec._heat(rec.heat_pipe.data)
    assert [d.pprint_label for d in heat.dimensions()] == ["time (s)", "channel", "amplitude (µV)"]
    curve = rec._traces(rec.traces_pipe.data).Curve.I
    assert curve.kdims[0].pprint_label == "time (s)" and "µV apart" in curve.vdims[0].pprint_label
    points = rec._geometry_points(rec.geometry_pipe.data)
    assert [d.pprint_label for d in points.kdims] == ["x (µm)", "y (µm)"]
    app.select("drift")
    drift = app.drift._view(app.drift.pipe.data)
    assert [d.pprint_label for d in drift.Points.I.kdims] == ["time (s)", "y on the probe (µm)"]
    app.select("sorting")
    rates = app.sorting._rates(app.sorting.units.data)
    from holoviews import Store

    opts = Store.lookup_options("bokeh", rates, "plot").kwargs
    assert opts["xlabel"] == "firing rate (Hz)"


def test_deep_links_open_the_entry_and_time(demo):
    from intake_npx2020.apps.viewer.app import ViewerApp, ViewerContext

    ctx = ViewerContext.open(demo[0])
    app = ViewerApp(ctx, {"entry": [NAME.encode()], "t": [b"1.5"], "window": [b"0.25"], "channel": [b"100"],
                          "channels": [b"16"]})
    rec = app.recording
    assert app.page is rec and rec.heat_pipe.data.t0 == pytest.approx(1.5)
    assert rec.heat_pipe.data.t1 == pytest.approx(1.75) and len(rec.traces_pipe.data.ticks) == 16
    assert int(rec.channel.value) == 100 and "t=1.5&window=0.25&channel=100&channels=16" in app.link.object
    app = ViewerApp(ctx, {"entry": f"{NAME}:drift", "t": "1", "window": "2"})
    assert app.page is app.drift and app.drift.entry.value == NAME
    assert "peaks in 1–3 s" in app.drift.status.info.object
    app = ViewerApp(ctx, {"tab": "sorting", "entry": NAME})  # a recording is shown in its own view
    assert app.page is app.recording and "shown in the Recording tab" in app.notice.object
    app = ViewerApp(ctx, {"entry": "no-such-entry", "t": "later"})
    assert app.page is app.catalog and app.notice.visible
    assert "no entry `no-such-entry`" in app.notice.object and "`t=later` is not a number" in app.notice.object
    app = ViewerApp(ctx, {"tab": "catalog", "entry": f"{NAME}:ground_truth"})
    assert app.catalog.selected == f"{NAME}:ground_truth" and "ground_truth" in app.catalog.detail.object


def test_viewer_pages_say_when_bytes_are_missing(shipped):
    from intake_npx2020.apps.viewer.app import ViewerApp, ViewerContext

    app = ViewerApp(ViewerContext.open())
    app.select("recording")
    rec = app.recording
    assert rec.status.failed and "not available here" in rec.status.alert.object and not rec.views.visible
    assert rec.heat_pipe.data is None
    geometry = rec.geometry_pipe.data  # from the catalog entry alone
    assert len(geometry) == app.ctx.table.loc[rec.entry.value, "num_channels"] == 374
    assert "(from the catalog): 62.9 min, 374 channels, 30000 Hz" in rec.status.info.object
    for name in ["cortexlab-drift-dataset1", "allen_mouse419112_probeE-ch0-7.10sec"]:
        app.open_entry(name, {"t": 5.0})
        assert f"`{name}` are not available here" in rec.status.alert.object
        assert len(rec.geometry_pipe.data) == app.ctx.table.loc[name, "num_channels"]
        assert "t=5&" in app.link.object
    for name in [n for n in shipped if shipped[n].metadata.get("kind") == "sorting"][:6]:
        app.open_entry(name)
        assert app.sorting.status.failed and name in app.sorting.status.alert.object
        assert not app.sorting.plots.visible and "(from the catalog): sorter" in app.sorting.status.info.object
    app.select("drift")
    assert app.drift.status.failed and "not available here" in app.drift.status.alert.object
    assert not app.drift.plot.visible


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
