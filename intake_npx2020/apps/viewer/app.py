"""The viewer's pages (panel + HoloViews + datashader): catalog table, recording, sorting and drift views.

One :class:`ViewerApp` is built per browser session over a shared, read-only :class:`ViewerContext`
(the catalog and its table are read once per server). Plots are ``DynamicMap``\\ s fed by ``Pipe`` streams:
loading a new window sends it down the pipe, and datashader re-aggregates on zoom and pan, so the figure is
updated in place and never holds more than the window that was read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
from holoviews.operation.datashader import rasterize
from holoviews.streams import Pipe, RangeX, RangeXY, RangeY

from . import data as vd

__all__ = ["ViewerContext", "ViewerApp", "warm_up", "CatalogPage", "RecordingPage", "SortingPage", "DriftPage"]

hv.extension("bokeh", logo=False)

# Canvas rather than WebGL: what is drawn is already reduced to the screen (datashader, min/max decimation),
# and WebGL without a GPU (a headless browser, a remote desktop) is several times slower.
_CANVAS = {"backend_opts": {"plot.output_backend": "canvas"}}
_FIXED = {"framewise": True, **_CANVAS}
_PLOT = {"responsive": True, "active_tools": ["box_zoom"], "axiswise": True, **_FIXED}
_FIELD_W = 150


@dataclass
class ViewerContext:
    """What every session shares: the catalog, its table and the extra storage options."""

    catalog: object
    catalog_path: str
    table: pd.DataFrame
    storage_options: dict | None = None
    title: str = "npx2020 viewer"
    intake_gui_path: str | None = "/intake"

    @classmethod
    def open(cls, catalog_path: str | Path | None = None, store: str | Path | None = None) -> "ViewerContext":
        """Open a catalog (default: the shipped 2020 collection) and tabulate it (no data bytes read)."""
        from ...sources.catalog import CATALOG_PATH, open_catalog

        path = Path(catalog_path).expanduser().resolve() if catalog_path else CATALOG_PATH
        cat = open_catalog(path)
        return cls(cat, str(path), vd.viewer_table(cat), vd.entry_storage_options(path, store))

    @property
    def name(self) -> str:
        """A short name for the catalog (its file name, or its folder's when the file is ``catalog.yaml``)."""
        path = Path(self.catalog_path)
        return path.parent.name if path.stem == "catalog" and path.parent.name else path.stem

    def ids(self, kind: str) -> list[str]:
        """Entry ids of one kind, in catalog order."""
        return [str(i) for i in self.table.index[self.table["kind"] == kind]]

    def source(self, name: str):
        """The entry's data source (with the viewer's read roots)."""
        return vd.open_entry(self.catalog, name, self.storage_options)


def _alert() -> pn.pane.Alert:
    return pn.pane.Alert("", alert_type="warning", visible=False, sizing_mode="stretch_width")


def _show(alert: pn.pane.Alert, text: str | None, kind: str = "warning") -> None:
    alert.param.update(object=text or "", alert_type=kind, visible=bool(text))


def _send(pipe: Pipe, data, *rasterized: hv.DynamicMap) -> None:
    """Send new data down a pipe, first forgetting the zoom of the rasterized plots it feeds.

    Otherwise datashader would aggregate the new data over the previous window's ranges (empty when the
    window moved); with the ranges reset, it uses the new data's extent and the (framewise) axes follow.
    """
    for dmap in rasterized:
        for stream in dmap.streams:
            if isinstance(stream, (RangeXY, RangeX, RangeY)):
                stream.reset()
    pipe.send(data)


def _pane(obj, name: str, width: int | None = None) -> pn.pane.HoloViews:
    """A HoloViews pane with CSS class ``npx-<name>`` (stretching unless given a width)."""
    size = {"width": width} if width else {"sizing_mode": "stretch_width"}
    return pn.pane.HoloViews(obj, name=name, css_classes=[f"npx-{name}"], **size)


def _empty_image() -> hv.Image:
    return hv.Image(np.zeros((2, 2), np.float32), kdims=["time", "channel"], vdims=["amplitude"],
                    bounds=(0, 0, 1, 1))


# ------------------------------------------------------------------------------------------------ catalog

class CatalogPage:
    """The entry table with a search box and filters, and the selected entry's description and metadata."""

    def __init__(self, ctx: ViewerContext, open_entry):
        self.ctx = ctx
        self._open_entry = open_entry
        t = ctx.table
        self.search = pn.widgets.TextInput(label="Search", placeholder="words in id, description, metadata",
                                           width=260)
        self.kinds = pn.widgets.MultiChoice(label="Kind", options=_options(t["kind"]), width=_FIELD_W + 60)
        self.labs = pn.widgets.MultiChoice(label="Lab", options=_options(t["lab"]), width=_FIELD_W + 60)
        self.probes = pn.widgets.MultiChoice(label="Probe", options=_options(t["probe"]), width=_FIELD_W + 60)
        self.drift = pn.widgets.RadioButtonGroup(label="Drift", options=[vd.ANY, "yes", "no"], value=vd.ANY)
        self.sorted = pn.widgets.RadioButtonGroup(label="Has sorting", options=[vd.ANY, "yes", "no"],
                                                  value=vd.ANY)
        self.count = pn.pane.Markdown("")
        self.table = pn.widgets.Tabulator(self._rows(), selectable=1, disabled=True, show_index=True,
                                          sizing_mode="stretch_width", height=min(480, 60 + 30 * len(t)),
                                          layout="fit_data_table")
        self.detail = pn.pane.Markdown("*Select a row to see its description and metadata.*",
                                       sizing_mode="stretch_width")
        self.open_button = pn.widgets.Button(label="Open", color="primary", visible=False, width=220)
        self.search.param.watch(self._filter, "value_input")
        for w in (self.kinds, self.labs, self.probes, self.drift, self.sorted):
            w.param.watch(self._filter, "value")
        self.table.param.watch(self._selected, "selection")
        self.open_button.on_click(self._open)
        self._selected_id: str | None = None
        self._filter()

    @property
    def panel(self) -> pn.viewable.Viewable:
        filters = pn.Row(self.search, self.kinds, self.labs, self.probes,
                         pn.Column(pn.pane.Markdown("Drift", margin=(0, 5)), self.drift),
                         pn.Column(pn.pane.Markdown("Has sorting", margin=(0, 5)), self.sorted))
        return pn.Column(filters, self.count, self.table, pn.Row(self.open_button), self.detail,
                         sizing_mode="stretch_width")

    def _rows(self, rows: pd.DataFrame | None = None) -> pd.DataFrame:
        rows = self.ctx.table if rows is None else rows
        out = rows[vd.TABLE_COLUMNS].copy()
        out["duration_s"] = pd.to_numeric(out["duration_s"], errors="coerce").round(1)
        out.index.name = "id"
        return out.astype(object).where(out.notna(), "")

    def _filter(self, *_) -> None:
        rows = vd.filter_table(self.ctx.table, self.search.value_input or self.search.value, self.kinds.value,
                               self.labs.value, self.probes.value, self.drift.value, self.sorted.value)
        self.table.param.update(value=self._rows(rows), selection=[])
        self.count.object = f"{len(rows)} of {len(self.ctx.table)} entries"

    def _selected(self, event) -> None:
        if not event.new:
            self.open_button.visible = False
            return
        name = str(self.table.value.index[event.new[0]])
        self._selected_id = name
        self.detail.object = _detail_markdown(vd.entry_details(self.ctx.catalog, name))
        kind = self.ctx.table.loc[name, "kind"]
        self.open_button.param.update(label=f"Open {name} in the {kind} view", visible=True)

    def _open(self, *_) -> None:
        if self._selected_id:
            self._open_entry(self._selected_id)


def _options(series: pd.Series) -> list[str]:
    return sorted({str(v) for v in series.dropna() if str(v)})


def _detail_markdown(d: dict) -> str:
    import yaml

    meta = yaml.safe_dump(d["metadata"], sort_keys=False, allow_unicode=True, width=100)
    return f"### {d['id']}\n\n{d['description']}\n\n```yaml\n{meta}```"


# ------------------------------------------------------------------------------------------------ recording

class RecordingPage:
    """Traces of one window (heat map of every channel in the range, and up to 32 traces) and the probe."""

    max_window_s = 10.0
    max_traces = 32

    def __init__(self, ctx: ViewerContext):
        self.ctx = ctx
        ids = ctx.ids("recording")
        self.entry = pn.widgets.Select(label="Recording", options=ids, value=ids[0] if ids else None, width=300)
        self.start = pn.widgets.EditableFloatSlider(label="Start (s)", start=0.0, end=1.0, step=0.1, value=0.0,
                                                    width=300)
        self.window = pn.widgets.FloatInput(label="Window (s)", value=0.5, start=0.001, end=self.max_window_s,
                                            step=0.1, width=100)
        self.channel_start = pn.widgets.IntInput(label="First channel", value=0, start=0, width=110)
        self.num_channels = pn.widgets.IntInput(label="Channels", value=384, start=1, width=100)
        self.center = pn.widgets.Checkbox(label="subtract channel median", value=True)
        self.back = pn.widgets.Button(label="◀ earlier", width=90)
        self.forward = pn.widgets.Button(label="later ▶", width=90)
        self.status = _alert()
        self.info = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._x = None
        self.pipe = Pipe(data=None)
        self.geometry_pipe = Pipe(data=None)
        self.entry.param.watch(self._entry_changed, "value")
        for w in (self.start, self.window, self.channel_start, self.num_channels, self.center):
            w.param.watch(self.refresh, "value_throttled" if w is self.start else "value")
        self.back.on_click(lambda *_: self.scroll(-1))
        self.forward.on_click(lambda *_: self.scroll(+1))
        self.plots = self._plots()
        self._entry_changed()

    @property
    def panel(self) -> pn.viewable.Viewable:
        controls = pn.Row(self.entry, self.start, self.back, self.forward, self.window, self.channel_start,
                          self.num_channels, pn.Column(pn.Spacer(height=20), self.center))
        return pn.Column(controls, self.status, self.info, self.plots, sizing_mode="stretch_width")

    # -- plots ----------------------------------------------------------------------------------------
    def _plots(self) -> pn.viewable.Viewable:
        self._rasterized = heat = rasterize(hv.DynamicMap(self._heat, streams=[self.pipe]), aggregator="mean")
        heat = heat.opts(hv.opts.Image(cmap="RdBu_r", colorbar=True, symmetric=True, height=420, tools=["hover"],
                                       title="heat map (all channels in range; colours clipped at the 99.5th "
                                             "percentile)", **_PLOT))
        traces = hv.DynamicMap(self._traces, streams=[self.pipe]).opts(
            hv.opts.Curve(color="#1f3b73", line_width=0.7, height=520, title="traces", tools=["xwheel_zoom"],
                          **_PLOT))
        probe = hv.DynamicMap(self._geometry, streams=[self.geometry_pipe]).opts(
            hv.opts.Points(color="state", cmap={"shown": "#d62728", "other": "#c8c8c8"}, size=4, width=260,
                           height=960, tools=["hover"], title="channel geometry (µm)", **_FIXED,
                           show_legend=False))
        views = pn.Column(_pane(heat, "heatmap"), _pane(traces, "traces"), sizing_mode="stretch_width")
        return pn.Row(views, _pane(probe, "geometry", width=280), sizing_mode="stretch_width")

    @staticmethod
    def _heat(data: vd.Window | None) -> hv.Image:
        if data is None or not data.data.size:
            return _empty_image()
        c0, c1 = int(data.index[0]), int(data.index[-1]) + 1
        lim = vd.clip_limit(data.data)
        return hv.Image(np.clip(data.data.T, -lim, lim), kdims=["time", "channel"], vdims=["amplitude"],
                        bounds=(data.t0, c0 - 0.5, data.t1, c1 - 0.5))

    def _traces(self, data: vd.Window | None) -> hv.Curve:
        if data is None or not data.data.size:
            return hv.Curve(([], []), "time", "offset")
        t, v, ticks = vd.traces_lines(data, self.max_traces)
        step = max(1, len(ticks) // 16)
        return hv.Curve((t, v), "time", "offset").opts(yticks=ticks[::step], ylabel="channel id")

    @staticmethod
    def _geometry(data: pd.DataFrame | None) -> hv.Points:
        if data is None or not len(data):
            return hv.Points(pd.DataFrame({"x": [], "y": [], "channel": [], "state": []}), ["x", "y"],
                             ["channel", "state"])
        return hv.Points(data, ["x", "y"], ["channel", "state"])

    # -- state ----------------------------------------------------------------------------------------
    def _entry_changed(self, *_) -> None:
        self._x = None
        name = self.entry.value
        if not name:
            _show(self.status, "This catalog has no recordings.", "info")
            return
        try:
            x = self.ctx.source(name).to_dask()
        except Exception as err:  # any failure is shown, never raised into the session
            self._fail(name, err)
            return
        fs = float(x.attrs["sampling_frequency"])
        duration = x.sizes["time"] / fs
        nch = int(x.sizes["channel"])
        # while self._x is None these updates trigger no reads; one refresh follows
        self.start.param.update(end=max(duration - min(self.window.value, duration), 1e-3), value=0.0,
                                step=max(self.window.value / 4, 1 / fs))
        self.channel_start.param.update(end=nch - 1, value=0)
        self.num_channels.param.update(end=nch, value=nch)
        self._x = x
        self.refresh()

    def scroll(self, direction: int) -> None:
        """Move the window by one window length (clipped to the recording)."""
        if self._x is None:
            return
        new = float(np.clip(self.start.value + direction * self.window.value, 0.0, self.start.end))
        self.start.value = new
        self.refresh()

    def refresh(self, *_) -> None:
        """Read the current window (only it) and send it to the plots."""
        if self._x is None:
            return
        name = self.entry.value
        duration = min(float(self.window.value or 0.5), self.max_window_s)
        try:
            w = vd.load_window(self._x, float(self.start.value), duration, int(self.channel_start.value),
                               int(self.num_channels.value), center=self.center.value)
        except Exception as err:
            self._fail(name, err)
            return
        _show(self.status, None)
        self.info.object = (f"**{name}** — {w.t0:.3f}–{w.t1:.3f} s, channels {int(w.index[0])}–"
                            f"{int(w.index[-1])} of {self._x.sizes['channel']} "
                            f"({w.data.nbytes // 2 / 1e6:.1f} MB read), {w.sampling_frequency:g} Hz, "
                            f"raw ADC counts{' minus channel median' if self.center.value else ''}")
        _send(self.pipe, w, self._rasterized)
        self.geometry_pipe.send(self._geometry_frame(w))

    def _geometry_frame(self, w: vd.Window) -> pd.DataFrame:
        x = self._x
        shown = np.zeros(x.sizes["channel"], bool)
        shown[w.index] = True
        return pd.DataFrame({"x": np.asarray(x["x"].values, float), "y": np.asarray(x["y"].values, float),
                             "channel": np.asarray(x["channel"].values),
                             "state": np.where(shown, "shown", "other")})

    def _fail(self, name: str, err: BaseException) -> None:
        _show(self.status, vd.unavailable_message(name, err), "danger")
        self.info.object = ""
        _send(self.pipe, None, self._rasterized)
        self.geometry_pipe.send(None)


# ------------------------------------------------------------------------------------------------ sorting

class SortingPage:
    """Spike raster (every spike, datashaded) and per-unit firing rates of one sorting."""

    def __init__(self, ctx: ViewerContext):
        self.ctx = ctx
        ids = ctx.ids("sorting")
        self.entry = pn.widgets.Select(label="Sorting", options=ids, value=None, width=360)
        self.load = pn.widgets.Button(label="Show", color="primary", width=80)
        self.status = _alert()
        self.info = pn.pane.Markdown("*Choose a sorting and press Show.*", sizing_mode="stretch_width")
        self.spikes = Pipe(data=None)
        self.units = Pipe(data=None)
        self.load.on_click(self.refresh)
        self.entry.param.watch(self.refresh, "value")
        self.plots = self._plots()

    @property
    def panel(self) -> pn.viewable.Viewable:
        return pn.Column(pn.Row(self.entry, pn.Column(pn.Spacer(height=18), self.load)), self.status,
                         self.info, self.plots, sizing_mode="stretch_width")

    def _plots(self) -> pn.viewable.Viewable:
        # one bin row per unit: every spike is a tick as tall as its unit's row, at any zoom
        self._rasterized = rasterize(hv.DynamicMap(self._raster, streams=[self.spikes]), aggregator="count",
                                     y_sampling=1)
        raster = self._rasterized.opts(hv.opts.Image(cmap=["#505050", "#000000"], height=520, tools=["hover"],
                                                     title="spike raster", **_PLOT))
        rates = hv.DynamicMap(self._rates, streams=[self.units]).opts(
            hv.opts.Segments(color="#1f77b4", line_width=2, width=300, height=520, tools=["hover"],
                             title="firing rate (Hz)", **_FIXED))
        return pn.Row(_pane(raster, "raster"), _pane(rates, "rates", width=320), sizing_mode="stretch_width")

    @staticmethod
    def _raster(data: pd.DataFrame | None) -> hv.Points:
        if data is None or not len(data):
            return hv.Points(pd.DataFrame({"time": [], "unit_id": []}), ["time", "unit_id"])
        units = data["unit_id"]
        return hv.Points(data, ["time", "unit_id"]).redim.range(unit_id=(units.min() - 0.5, units.max() + 0.5))

    @staticmethod
    def _rates(data: pd.DataFrame | None) -> hv.Segments:
        if data is None or not len(data):
            data = pd.DataFrame({"unit_id": [], "firing_rate": [], "num_spikes": []})
        seg = pd.DataFrame({"zero": 0.0, "unit_id": data["unit_id"], "firing_rate": data["firing_rate"],
                            "unit_end": data["unit_id"], "num_spikes": data["num_spikes"]})
        return hv.Segments(seg, ["zero", "unit_id", "firing_rate", "unit_end"], ["num_spikes"]).opts(
            xlabel="firing rate (Hz)", ylabel="unit_id")

    def refresh(self, *_) -> None:
        """Read the chosen sorting and draw it."""
        name = self.entry.value
        if not name:
            return
        try:
            spikes, units = vd.sorting_tables(self.ctx.source(name))
        except Exception as err:
            _show(self.status, vd.unavailable_message(name, err), "danger")
            self.info.object = ""
            _send(self.spikes, None, self._rasterized)
            self.units.send(None)
            return
        _show(self.status, None)
        self.info.object = (f"**{name}** — {len(units)} units, {int(units['num_spikes'].sum())} spikes"
                            + (f" (raster thinned to {len(spikes)})" if len(spikes) < units["num_spikes"].sum()
                               else ""))
        _send(self.spikes, spikes, self._rasterized)
        self.units.send(units)


# ------------------------------------------------------------------------------------------------ drift

class DriftPage:
    """Detected peak depth vs time in a window of a recording, with the catalog's imposed drift overlaid."""

    max_points = 200_000
    max_duration_s = 600.0

    def __init__(self, ctx: ViewerContext):
        self.ctx = ctx
        t = ctx.table
        recs = ctx.ids("recording")
        recs = sorted(recs, key=lambda r: not bool(t.loc[r, "has_drift"]))
        self.entry = pn.widgets.Select(label="Recording", options=recs, value=recs[0] if recs else None,
                                       width=300)
        self.start = pn.widgets.FloatInput(label="Start (s)", value=0.0, start=0.0, width=100)
        self.duration = pn.widgets.FloatInput(label="Duration (s)", value=20.0, start=0.1, end=self.max_duration_s,
                                              width=110)
        self.threshold = pn.widgets.FloatInput(label="Threshold (σ)", value=5.0, start=2.0, width=110)
        self.detect = pn.widgets.Button(label="Detect peaks", color="primary", width=120)
        self.status = _alert()
        self.info = pn.pane.Markdown("*Detection reads only the chosen window; press Detect peaks.*",
                                     sizing_mode="stretch_width")
        self.peaks = Pipe(data=None)
        self.truth = Pipe(data=None)
        self.detect.on_click(self.refresh)
        self.plot = self._plot()

    @property
    def panel(self) -> pn.viewable.Viewable:
        controls = pn.Row(self.entry, self.start, self.duration, self.threshold,
                          pn.Column(pn.Spacer(height=18), self.detect))
        return pn.Column(controls, self.status, self.info, self.plot, sizing_mode="stretch_width")

    def _plot(self) -> pn.viewable.Viewable:
        raster = hv.DynamicMap(self._points, streams=[self.peaks]).opts(
            hv.opts.Points(color="black", alpha=0.4, size=2, height=560, title="peak depth vs time", **_PLOT))
        truth = hv.DynamicMap(self._truth, streams=[self.truth]).opts(
            hv.opts.Curve(color="#1f77b4", line_width=2.5, show_legend=False, **_FIXED))
        return _pane(raster * truth, "drift")

    @staticmethod
    def _points(data: pd.DataFrame | None) -> hv.Points:
        if data is None or not len(data):
            data = pd.DataFrame({"time": [], "y": []})
        return hv.Points(data, ["time", "y"])

    @staticmethod
    def _truth(data: pd.DataFrame | None) -> hv.Curve:
        if data is None:
            data = pd.DataFrame({"time": [], "y": []})
        return hv.Curve(data, "time", "y")

    def drift_entry(self, recording: str) -> str | None:
        """The drift entry of a recording, if the catalog has one."""
        t = self.ctx.table
        hits = t.index[(t["kind"] == "drift") & (t["recording"] == recording)]
        return str(hits[0]) if len(hits) else None

    def refresh(self, *_) -> None:
        """Detect peaks in the window and draw them, with the imposed drift when known."""
        name = self.entry.value
        if not name:
            return
        self.detect.loading = True
        try:
            x = self.ctx.source(name).to_dask()
            peaks = vd.window_peaks(x, float(self.start.value), float(self.duration.value),
                                    float(self.threshold.value))
        except Exception as err:
            _show(self.status, vd.unavailable_message(name, err), "danger")
            self.info.object = ""
            self.peaks.send(None)
            self.truth.send(None)
            return
        finally:
            self.detect.loading = False
        _show(self.status, None)
        t0, t1 = float(self.start.value), float(self.start.value) + float(self.duration.value)
        overlay, note = self._overlay(name, peaks, t0, min(t1, x.sizes["time"] / x.attrs["sampling_frequency"]))
        shown = "" if len(peaks) <= self.max_points else f" (every {len(peaks) / self.max_points:.1f}th shown)"
        self.info.object = f"**{name}** — {len(peaks)} peaks in {t0:g}–{t1:g} s{shown}. {note}"
        self.peaks.send(vd.thin(peaks[["time", "y"]], self.max_points))
        self.truth.send(overlay)

    def _overlay(self, name: str, peaks: pd.DataFrame, t0: float, t1: float) -> tuple[pd.DataFrame | None, str]:
        drift_id = self.drift_entry(name)
        if drift_id is None:
            return None, "The catalog has no imposed drift for this recording."
        try:
            drift = self.ctx.source(drift_id).read()
        except Exception as err:
            return None, f"Imposed drift `{drift_id}` not shown: {type(err).__name__}: {err}"
        curves = vd.drift_overlay(drift, peaks["y"].to_numpy(), t0, t1)
        if not curves:
            return None, "No peaks to draw the imposed drift over."
        gap = pd.DataFrame({"time": [np.nan], "y": [np.nan]})
        joined = pd.concat([part for c in curves for part in (c, gap)], ignore_index=True)
        return joined, (f"Blue: imposed drift (`{drift_id}`), drawn from the 25th and 75th percentile depths "
                        "of the peaks at the window's start.")


# ------------------------------------------------------------------------------------------------ app

def warm_up() -> None:
    """Compile datashader's aggregations now (numba, a few seconds) rather than on a user's first plot."""
    image = hv.Image(np.zeros((64, 64), np.float32))
    for width, height in ((8, 8), (128, 8), (8, 128), (128, 128)):  # each axis reduced or kept
        rasterize(image, aggregator="mean", dynamic=False, width=width, height=height)
    points = hv.Points(pd.DataFrame({"time": [0.0, 1.0], "unit_id": [0, 1]}), ["time", "unit_id"])
    rasterize(points, aggregator="count", dynamic=False, width=8, height=8, y_sampling=1)


class ViewerApp:
    """One session's viewer: a header and four tabs (Catalog, Recording, Sorting, Drift)."""

    def __init__(self, ctx: ViewerContext):
        self.ctx = ctx
        self.catalog = CatalogPage(ctx, self.open_entry)
        self.recording = RecordingPage(ctx)
        self.sorting = SortingPage(ctx)
        self.drift = DriftPage(ctx)
        self.tabs = pn.Tabs(("Catalog", self.catalog.panel), ("Recording", self.recording.panel),
                            ("Sorting", self.sorting.panel), ("Drift", self.drift.panel),
                            dynamic=True, sizing_mode="stretch_width")

    @property
    def panel(self) -> pn.viewable.Viewable:
        link = (f" · [intake GUI]({self.ctx.intake_gui_path})" if self.ctx.intake_gui_path else "")
        header = pn.pane.Markdown(f"## {self.ctx.title}\n`{self.ctx.catalog_path}` — "
                                  f"{len(self.ctx.table)} entries{link}", sizing_mode="stretch_width")
        return pn.Column(header, self.tabs, sizing_mode="stretch_width")

    def open_entry(self, name: str) -> None:
        """Show an entry in its view: a recording's traces, a sorting's raster, a drift's recording."""
        kind = self.ctx.table.loc[name, "kind"]
        if kind == "recording":
            self.recording.entry.value = name
            self.tabs.active = 1
        elif kind == "sorting":
            if self.sorting.entry.value == name:
                self.sorting.refresh()
            else:
                self.sorting.entry.value = name  # its watcher reads and draws it
            self.tabs.active = 2
        elif kind == "drift":
            rec = self.ctx.table.loc[name, "recording"]
            if rec in self.drift.entry.options:
                self.drift.entry.value = rec
            self.tabs.active = 3
