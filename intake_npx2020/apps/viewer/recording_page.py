"""The Recording tab: one window of a recording as a heat map of every channel, a run of traces, and the probe.

The probe is drawn from the catalog entry alone, so it is shown even when the entry's bytes are not here.
The window is read once (all channels, as the raw file interleaves them); choosing other traced channels
redraws without reading.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
from holoviews.operation.datashader import rasterize
from holoviews.streams import Pipe

from . import data as vd
from . import traces as tr
from .page import Page
from .plots import CHANNEL, FIXED, PLOT, TIME, X_UM, Y_UM, dim, pane, send

__all__ = ["RecordingPage"]

_TRACED, _OTHER = "#d62728", "#8fa8c8"


def _colorbar_unit(plot, element) -> None:
    """Title the colour bar with the current window's unit (HoloViews sets it only when the plot is made)."""
    bar = plot.handles.get("colorbar")
    if bar is not None and element.vdims:
        bar.title = element.vdims[0].pprint_label


class RecordingPage(Page):
    """Traces of one window (a heat map of every channel and a run of traces) and the channel geometry."""

    key = "recording"
    title = "Recording"
    kinds = ("recording",)
    max_window_s = 10.0
    max_traces = 64
    default_traces = 32

    def __init__(self, ctx):
        super().__init__(ctx, "*Choose a recording.*")
        ids = ctx.ids("recording")
        self.entry = pn.widgets.Select(label="Recording", options=ids, value=ids[0] if ids else None, width=300)
        self.start = pn.widgets.EditableFloatSlider(label="Start (s)", start=0.0, end=1.0, step=0.1, value=0.0,
                                                    width=300)
        self.window = pn.widgets.FloatInput(label="Window (s)", value=0.5, start=0.001, end=self.max_window_s,
                                            step=0.1, width=100)
        self.channel = pn.widgets.IntInput(label="First traced channel", value=0, start=0, width=150)
        self.channels = pn.widgets.IntInput(label="Traces", value=self.default_traces, start=1,
                                            end=self.max_traces, width=90)
        self.center = pn.widgets.Checkbox(label="subtract channel median", value=True)
        self.back = pn.widgets.Button(label="◀ earlier", width=90)
        self.forward = pn.widgets.Button(label="later ▶", width=90)
        self._x = self._w = self._geometry = None
        self._params: dict = {}
        self._auto_channel = self._quiet = False
        self.heat_pipe, self.traces_pipe, self.geometry_pipe = Pipe(data=None), Pipe(data=None), Pipe(data=None)
        self.entry.param.watch(self._entry_changed, "value")
        self.start.param.watch(self._read, "value_throttled")
        for w in (self.window, self.center):
            w.param.watch(self._read, "value")
        for w in (self.channel, self.channels):
            w.param.watch(self._redraw, "value")
        self.back.on_click(lambda *_: self.scroll(-1))
        self.forward.on_click(lambda *_: self.scroll(+1))
        self.views, self.probe = self._plots()

    @property
    def panel(self) -> pn.viewable.Viewable:
        controls = pn.Row(self.entry, self.start, self.back, self.forward, self.window, self.channel,
                          self.channels, pn.Column(pn.Spacer(height=20), self.center))
        return pn.Column(controls, self.status.panel, pn.Row(self.views, self.probe, sizing_mode="stretch_width"),
                         sizing_mode="stretch_width")

    # -- plots ----------------------------------------------------------------------------------------
    def _plots(self) -> tuple[pn.viewable.Viewable, pn.viewable.Viewable]:
        self._rasterized = rasterize(hv.DynamicMap(self._heat, streams=[self.heat_pipe]), aggregator="mean")
        heat = self._rasterized.opts(hv.opts.Image(
            cmap="RdBu_r", colorbar=True, symmetric=True, height=340, tools=["hover"], hooks=[_colorbar_unit],
            title="every channel (colours clipped at the 99.5th percentile of |amplitude|)", **PLOT))
        traces = hv.DynamicMap(self._traces, streams=[self.traces_pipe]).opts(
            hv.opts.Curve(color="#1f3b73", line_width=0.7, height=620, tools=["xwheel_zoom"], **PLOT),
            hv.opts.Path(color="black", line_width=3, **FIXED), hv.opts.Text(text_font_size="10pt", **FIXED),
            hv.opts.Overlay(title="traces (scale bar on the right)", **FIXED))
        geometry = hv.DynamicMap(self._geometry_points, streams=[self.geometry_pipe]).opts(
            hv.opts.Points(color="state", cmap={"traced": _TRACED, "other": _OTHER}, size=4, width=260,
                           height=980, tools=["hover"], title="probe (red: traces)", **FIXED,
                           show_legend=False))
        views = pn.Column(pane(heat, "heatmap"), pane(traces, "traces"), sizing_mode="stretch_width",
                          visible=False)
        return views, pane(geometry, "geometry", width=280)

    @staticmethod
    def _heat(data: tr.Window | None) -> hv.Image:
        amplitude = dim("amplitude", unit=data.unit if data is not None else tr.COUNTS)
        if data is None or not data.data.size:
            return hv.Image(np.zeros((2, 2), np.float32), kdims=[TIME, CHANNEL], vdims=[amplitude],
                            bounds=(0, 0, 1, 1))
        c0, c1 = int(data.index[0]), int(data.index[-1]) + 1
        lim = tr.clip_limit(data.data)
        return hv.Image(np.clip(data.data.T, -lim, lim), kdims=[TIME, CHANNEL], vdims=[amplitude],
                        bounds=(data.t0, c0 - 0.5, data.t1, c1 - 0.5))

    @staticmethod
    def _traces(data: tr.Traces | None) -> hv.Overlay:
        if data is None or not len(data.ticks):
            return hv.Curve(([], []), TIME, "channel") * hv.Path([]) * hv.Text(0, 0, "")
        n, s, span = len(data.ticks), data.spacing, max(data.t1 - data.t0, 1e-9)
        ylabel = f"channel (traces {s:g} {data.unit} apart)"
        curve = hv.Curve((data.t, data.v), TIME, dim("offset", ylabel)).opts(
            yticks=data.ticks[::max(1, n // 32)], ylim=(-0.9 * s, (n - 0.2) * s),
            xlim=(data.t0, data.t1 + 0.09 * span))
        x, y0 = data.t1 + 0.015 * span, -0.6 * s
        bar = hv.Path([[(x, y0), (x, y0 + data.bar)]], [TIME, dim("offset", ylabel)])
        label = hv.Text(x + 0.008 * span, y0 + data.bar / 2, f"{data.bar:g} {data.unit}", halign="left",
                        kdims=[TIME, dim("offset", ylabel)])
        return curve * bar * label

    @staticmethod
    def _geometry_points(data: pd.DataFrame | None) -> hv.Points:
        if data is None or not len(data):
            data = pd.DataFrame({"x": [], "y": [], "channel": [], "state": []})
        return hv.Points(data, [X_UM, Y_UM], ["channel", "state"])

    # -- state ----------------------------------------------------------------------------------------
    def show(self, name: str, params: dict | None = None) -> None:
        """Open recording ``name`` at link parameters ``t``, ``window``, ``channel``, ``channels``."""
        self._params = dict(params or {})
        if self.entry.value == name:
            self._entry_changed()
        else:
            self.entry.value = name  # its watcher opens it

    def refresh(self, *_) -> None:
        """Open the chosen recording if it is not open yet, else read the current window again."""
        if self._x is None:
            self._entry_changed()
        else:
            self._read()

    def link(self) -> dict:
        if not self.entry.value:
            return {}
        if self._x is None:
            return {"entry": self.entry.value}
        return {"entry": self.entry.value, "t": round(float(self.start.value), 4),
                "window": float(self.window.value), "channel": int(self.channel.value),
                "channels": int(self.channels.value)}

    def _entry_changed(self, *_) -> None:
        params, self._params = self._params, {}
        self.loaded = True
        self._open(self.entry.value, params)
        self.changed()

    def _open(self, name: str | None, params: dict) -> None:
        self._x = self._w = self._geometry = None
        if not name:
            self.status.note("This catalog has no recordings.")
            return
        about = self.ctx.summary(name)
        self._geometry = self.status.attempt(name, lambda: vd.channel_geometry(self.ctx.source(name)), info=about)
        self._send_geometry()
        x = self.status.attempt(name, lambda: self.ctx.source(name).to_dask(), self._clear, about)
        if x is None:
            return
        fs, nch = float(x.attrs["sampling_frequency"]), int(x.sizes["channel"])
        duration = x.sizes["time"] / fs
        window = min(float(params.get("window", self.window.value)), self.max_window_s, duration)
        # while self._x is None these updates read nothing; one read follows
        self.window.value = window
        end = max(duration - window, 1e-3)
        self.start.param.update(end=end, value=min(float(params.get("t", 0.0)), end), step=max(window / 4, 1 / fs))
        self.channels.param.update(end=min(nch, self.max_traces),
                                   value=min(int(params.get("channels", self.default_traces)), nch))
        self.channel.param.update(end=nch - 1, value=min(int(params.get("channel", 0)), nch - 1))
        self._auto_channel = "channel" not in params
        self._x = x
        self._read()

    def scroll(self, direction: int) -> None:
        """Move the window by one window length (clipped to the recording)."""
        if self._x is None:
            return
        self.start.value = float(np.clip(self.start.value + direction * self.window.value, 0.0, self.start.end))
        self._read()

    def _read(self, *_) -> None:
        """Read the current window (only it, every channel) and draw it."""
        if self._x is None:
            return
        name = self.entry.value
        duration = min(float(self.window.value or 0.5), self.max_window_s)
        w = self.status.attempt(name, lambda: tr.load_window(self._x, float(self.start.value), duration,
                                                            center=self.center.value), self._clear,
                                self.ctx.summary(name) + " The probe is drawn from the catalog.")
        if w is None:
            return
        self._w = w
        if self._auto_channel:  # first window of an entry: start the traces where the spikes are
            self._auto_channel, self._quiet = False, True
            try:
                self.channel.value = tr.busiest_channels(w, int(self.channels.value))
            finally:
                self._quiet = False
        self.views.visible = True
        send(self.heat_pipe, w, self._rasterized)
        self._redraw()

    def _redraw(self, *_) -> None:
        """Draw the traced channels of the window already read, and mark them on the probe."""
        if self._w is None or self._quiet:
            return
        w, c0 = self._w, int(self.channel.value)
        n = int(self.channels.value)
        self.traces_pipe.send(tr.trace_panel(w, c0, n))
        self._send_geometry()
        ids = w.channel[c0:c0 + n]
        self.status.show(
            f"**{self.entry.value}** — {w.t0:.3f}–{w.t1:.3f} s of {self._x.sizes['time'] / w.sampling_frequency:.1f}"
            f" s; heat map: all {w.data.shape[1]} channels; traces: channels {ids[0]}–{ids[-1]} "
            f"({w.data.nbytes // 2 / 1e6:.1f} MB read), {w.sampling_frequency:g} Hz, {w.unit}"
            f"{' minus the channel median' if self.center.value else ''}")
        self.changed()

    def _send_geometry(self) -> None:
        g = self._geometry
        if g is None:
            self.geometry_pipe.send(None)
            return
        traced = np.zeros(len(g), bool)
        if self._w is not None:
            traced[int(self.channel.value):int(self.channel.value) + int(self.channels.value)] = True
        self.geometry_pipe.send(g.assign(state=np.where(traced, "traced", "other")))

    def _clear(self) -> None:
        self._w = None
        self.views.visible = False
        send(self.heat_pipe, None, self._rasterized)
        self.traces_pipe.send(None)
        self._send_geometry()
