"""The Sorting tab: every spike of a sorting as a raster (datashaded), and each unit's firing rate."""

from __future__ import annotations

import holoviews as hv
import pandas as pd
import panel as pn
from holoviews.operation.datashader import rasterize
from holoviews.streams import Pipe

from . import data as vd
from .page import Page
from .plots import FIXED, PLOT, TIME, UNIT, dim, pane, send

__all__ = ["SortingPage"]

RATE = dim("firing_rate", "firing rate", unit="Hz")


class SortingPage(Page):
    """Spike raster (every spike, datashaded) and per-unit firing rates of one sorting."""

    key = "sorting"
    title = "Sorting"
    kinds = ("sorting",)

    def __init__(self, ctx):
        super().__init__(ctx, "*Choose a sorting.*")
        ids = ctx.ids("sorting")
        self.entry = pn.widgets.Select(label="Sorting", options=ids, value=ids[0] if ids else None, width=420)
        self.spikes, self.units = Pipe(data=None), Pipe(data=None)
        self.entry.param.watch(self.refresh, "value")
        self.plots = self._plots()

    @property
    def panel(self) -> pn.viewable.Viewable:
        return pn.Column(self.entry, self.status.panel, self.plots, sizing_mode="stretch_width")

    def _plots(self) -> pn.viewable.Viewable:
        # one bin row per unit: every spike is a tick as tall as its unit's row, at any zoom
        self._rasterized = rasterize(hv.DynamicMap(self._raster, streams=[self.spikes]), aggregator="count",
                                     y_sampling=1)
        raster = self._rasterized.opts(hv.opts.Image(cmap=["#505050", "#000000"], height=520, tools=["hover"],
                                                     title="spike raster (one row per unit)", **PLOT))
        rates = hv.DynamicMap(self._rates, streams=[self.units]).opts(
            hv.opts.Segments(color="#1f77b4", line_width=2, width=300, height=520, tools=["hover"],
                             title="firing rate per unit", **FIXED))
        return pn.Row(pane(raster, "raster"), pane(rates, "rates", width=320), sizing_mode="stretch_width",
                      visible=False)

    @staticmethod
    def _raster(data: pd.DataFrame | None) -> hv.Points:
        if data is None or not len(data):
            return hv.Points(pd.DataFrame({"time": [], "unit_id": []}), [TIME, UNIT])
        units = data["unit_id"]
        return hv.Points(data, [TIME, UNIT]).redim.range(unit_id=(units.min() - 0.5, units.max() + 0.5))

    @staticmethod
    def _rates(data: pd.DataFrame | None) -> hv.Segments:
        if data is None or not len(data):
            data = pd.DataFrame({"unit_id": [], "firing_rate": [], "num_spikes": []})
        rows = (data["unit_id"].min() - 0.5, data["unit_id"].max() + 0.5) if len(data) else (0.0, 1.0)
        seg = pd.DataFrame({"zero": 0.0, "unit_id": data["unit_id"], "firing_rate": data["firing_rate"],
                            "unit_end": data["unit_id"], "num_spikes": data["num_spikes"]})
        return hv.Segments(seg, ["zero", UNIT, RATE, "unit_end"], ["num_spikes"]).opts(
            xlabel=RATE.pprint_label, ylabel=UNIT.pprint_label, ylim=rows)

    def show(self, name: str, params: dict | None = None) -> None:
        """Show sorting ``name``."""
        if self.entry.value == name:
            self.refresh()
        else:
            self.entry.value = name  # its watcher reads and draws it

    def link(self) -> dict:
        return {"entry": self.entry.value}

    def refresh(self, *_) -> None:
        """Read the chosen sorting and draw it."""
        self.loaded = True
        name = self.entry.value
        if not name:
            self.status.note("This catalog has no sortings.")
            return
        read = self.status.attempt(name, lambda: vd.sorting_tables(self.ctx.source(name)), self._clear,
                                   self.ctx.summary(name))
        if read is None:
            self.changed()
            return
        spikes, units = read
        total = int(units["num_spikes"].sum())
        thinned = f" (raster thinned to {len(spikes)})" if len(spikes) < total else ""
        span = f" over {spikes['time'].max():.1f} s" if len(spikes) else ""
        self.status.show(f"**{name}** — {len(units)} units, {total} spikes{span}{thinned}")
        self.plots.visible = True
        send(self.spikes, spikes, self._rasterized)
        self.units.send(units)
        self.changed()

    def _clear(self) -> None:
        self.plots.visible = False
        send(self.spikes, None, self._rasterized)
        self.units.send(None)
