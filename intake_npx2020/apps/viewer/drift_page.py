"""The Drift tab: detected peaks' depth vs time in a window of a recording, with the imposed drift overlaid.

Detection reads only the window. The depth axis spans the peaks (all of them, not the drift curves).
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
from holoviews.streams import Pipe

from . import data as vd
from .page import Page
from .plots import FIXED, PLOT, TIME, dim, later, pane

__all__ = ["DriftPage"]

DEPTH = dim("y", "y on the probe", unit="µm")


class DriftPage(Page):
    """Detected peak depth vs time in a window of a recording, with the catalog's imposed drift overlaid."""

    key = "drift"
    title = "Drift"
    kinds = ("recording", "drift")
    max_points = 200_000
    max_duration_s = 600.0

    def __init__(self, ctx):
        super().__init__(ctx, "*Detection reads only the chosen window.*")
        t = ctx.table
        recs = sorted(ctx.ids("recording"), key=lambda r: not bool(t.loc[r, "has_drift"]))
        self.entry = pn.widgets.Select(label="Recording", options=recs, value=recs[0] if recs else None,
                                       width=300)
        self.start = pn.widgets.FloatInput(label="Start (s)", value=0.0, start=0.0, width=100)
        self.duration = pn.widgets.FloatInput(label="Duration (s)", value=10.0, start=0.1,
                                              end=self.max_duration_s, width=110)
        self.threshold = pn.widgets.FloatInput(label="Threshold (σ)", value=5.0, start=2.0, width=110)
        self.detect = pn.widgets.Button(label="Detect peaks", color="primary", width=120)
        self.pipe = Pipe(data=None)
        self.detect.on_click(self.refresh)
        self.entry.param.watch(self.refresh, "value")
        self.plot = self._plot()

    @property
    def panel(self) -> pn.viewable.Viewable:
        controls = pn.Row(self.entry, self.start, self.duration, self.threshold,
                          pn.Column(pn.Spacer(height=18), self.detect))
        return pn.Column(controls, self.status.panel, self.plot, sizing_mode="stretch_width")

    def _plot(self) -> pn.viewable.Viewable:
        view = hv.DynamicMap(self._view, streams=[self.pipe]).opts(
            hv.opts.Points(color="black", alpha=0.4, size=2, height=560, **PLOT),
            hv.opts.Curve(color="#1f77b4", line_width=2.5, show_legend=False, **FIXED),
            hv.opts.Overlay(title="detected peaks: position on the probe over time", **FIXED))
        return pane(view, "drift", visible=False)

    @staticmethod
    def _view(data: dict | None) -> hv.Overlay:
        """Peaks and drift curves, with the axes spanning the window and every peak's depth."""
        data = data or {}
        peaks = data.get("peaks")
        truth = data.get("truth")
        peaks = pd.DataFrame({"time": [], "y": []}) if peaks is None else peaks
        truth = pd.DataFrame({"time": [], "y": []}) if truth is None else truth
        lims = {k: data[k] for k in ("xlim", "ylim") if k in data}
        return (hv.Points(peaks, [TIME, DEPTH]).opts(**lims) * hv.Curve(truth, TIME, DEPTH)).opts(**lims)

    def show(self, name: str, params: dict | None = None) -> None:
        """Detect peaks in recording ``name`` (or a drift entry's recording) at link parameters ``t``, ``window``."""
        params = params or {}
        if self.ctx.kind(name) == "drift":
            name = self.ctx.table.loc[name, "recording"]
        self.start.value = float(params.get("t", self.start.value))
        self.duration.value = min(float(params.get("window", self.duration.value)), self.max_duration_s)
        if self.entry.value == name:
            self.refresh()
        else:
            self.entry.value = name  # its watcher detects

    def activate(self) -> None:
        """The first time the tab opens, show it (with a loading indicator), then detect peaks."""
        if not self.loaded:
            self.loaded = True
            self.plot.loading = self.detect.loading = True
            self.status.show(f"*Detecting peaks in {self.entry.value}, {self._span_text()}…*")
            later(self.refresh)

    def link(self) -> dict:
        return {"entry": self.entry.value, "t": float(self.start.value), "window": float(self.duration.value)}

    def _span_text(self) -> str:
        t0 = float(self.start.value)
        return f"{t0:g}–{t0 + float(self.duration.value):g} s"

    def refresh(self, *_) -> None:
        """Detect peaks in the window and draw them, with the imposed drift when known."""
        self.loaded = True
        name = self.entry.value
        if not name:
            self.status.note("This catalog has no recordings.")
            return
        self.detect.loading = True
        try:
            read = self.status.attempt(name, lambda: self._detect(name), self._clear, self.ctx.summary(name))
        finally:
            self.detect.loading = self.plot.loading = False
        if read is None:
            self.changed()
            return
        peaks, t0, t1 = read
        overlay, note = self._overlay(name, peaks, t0, t1)
        shown = "" if len(peaks) <= self.max_points else f" (every {len(peaks) / self.max_points:.1f}th shown)"
        self.status.show(f"**{name}** — {len(peaks)} peaks in {t0:g}–{t1:g} s{shown}. {note}")
        self.plot.visible = True
        self.pipe.send({"peaks": vd.thin(peaks[["time", "y"]], self.max_points), "truth": overlay,
                        "xlim": (t0, t1), "ylim": vd.depth_range(peaks["y"].to_numpy())})
        self.changed()

    def _detect(self, name: str) -> tuple[pd.DataFrame, float, float]:
        x = self.ctx.source(name).to_dask()
        duration = x.sizes["time"] / float(x.attrs["sampling_frequency"])
        t0 = min(float(self.start.value), duration)
        t1 = min(t0 + float(self.duration.value), duration)
        return vd.window_peaks(x, t0, t1 - t0, float(self.threshold.value)), t0, t1

    def _overlay(self, name: str, peaks: pd.DataFrame, t0: float, t1: float) -> tuple[pd.DataFrame | None, str]:
        drift_id = self.ctx.drift_entry(name)
        if drift_id is None:
            return None, "The catalog has no imposed drift for this recording."
        try:
            drift = self.ctx.source(drift_id).read()
        except Exception as err:  # the peaks are still worth showing
            return None, f"Imposed drift `{drift_id}` not shown: {type(err).__name__}: {err}"
        curves = vd.drift_overlay(drift, peaks["y"].to_numpy(), t0, t1)
        if not curves:
            return None, "No peaks to draw the imposed drift over."
        gap = pd.DataFrame({"time": [np.nan], "y": [np.nan]})
        joined = pd.concat([part for c in curves for part in (c, gap)], ignore_index=True)
        return joined, (f"Blue: imposed drift (`{drift_id}`), drawn from the 25th and 75th percentile depths "
                        "of the peaks at the window's start.")

    def _clear(self) -> None:
        self.plot.visible = False
        self.pipe.send(None)
