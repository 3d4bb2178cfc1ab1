"""The Catalog tab: the entry table with a search box and filters, and the chosen entry's description."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import panel as pn

from . import data as vd
from .page import Page
from .plots import FIELD_W

__all__ = ["CatalogPage"]


class CatalogPage(Page):
    """The entry table with a search box and filters, and the selected entry's description and metadata."""

    key = "catalog"
    title = "Catalog"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.loaded = True  # the table needs no read
        self.open_entry: Callable[[str], None] = lambda name: None
        t = ctx.table
        self.search = pn.widgets.TextInput(label="Search", placeholder="words in id, description, metadata",
                                           width=260)
        self.kinds = pn.widgets.MultiChoice(label="Kind", options=_options(t["kind"]), width=FIELD_W + 60)
        self.labs = pn.widgets.MultiChoice(label="Lab", options=_options(t["lab"]), width=FIELD_W + 60)
        self.probes = pn.widgets.MultiChoice(label="Probe", options=_options(t["probe"]), width=FIELD_W + 60)
        self.drift = pn.widgets.RadioButtonGroup(options=[vd.ANY, "yes", "no"], value=vd.ANY)
        self.sorted = pn.widgets.RadioButtonGroup(options=[vd.ANY, "yes", "no"], value=vd.ANY)
        self.count = pn.pane.Markdown("")
        self.table = pn.widgets.Tabulator(self._rows(), selectable=1, disabled=True, show_index=True,
                                          sizing_mode="stretch_width", height=min(480, 60 + 30 * len(t)),
                                          layout="fit_data_table")
        self.detail = pn.pane.Markdown("*Select a row to see its description and metadata.*",
                                       sizing_mode="stretch_width")
        self.open_button = pn.widgets.Button(label="Open", color="primary", visible=False, width=260)
        self.search.param.watch(self._filter, "value_input")
        for w in (self.kinds, self.labs, self.probes, self.drift, self.sorted):
            w.param.watch(self._filter, "value")
        self.table.param.watch(self._selected, "selection")
        self.open_button.on_click(self._open)
        self.selected: str | None = None
        self._filter()

    @property
    def panel(self) -> pn.viewable.Viewable:
        filters = pn.Row(self.search, self.kinds, self.labs, self.probes,
                         pn.Column(pn.pane.Markdown("Drift", margin=(0, 5)), self.drift),
                         pn.Column(pn.pane.Markdown("Has sorting", margin=(0, 5)), self.sorted))
        return pn.Column(filters, self.count, self.table, pn.Row(self.open_button), self.detail,
                         sizing_mode="stretch_width")

    def accepts(self, name: str) -> bool:
        return name in self.ctx.table.index

    def show(self, name: str, params: dict | None = None) -> None:
        """Select entry ``name`` in the table (clearing filters that hide it) and show its description."""
        if name not in self.table.value.index:
            self.search.param.update(value="", value_input="")
            for w in (self.kinds, self.labs, self.probes):
                w.value = []
            self.drift.value = self.sorted.value = vd.ANY
        self.table.selection = [list(self.table.value.index).index(name)]

    def refresh(self, *_) -> None:
        self._filter()

    def link(self) -> dict:
        return {"entry": self.selected}

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
            self.selected = None
            self.changed()
            return
        name = str(self.table.value.index[event.new[0]])
        self.selected = name
        self.detail.object = _detail_markdown(vd.entry_details(self.ctx.catalog, name))
        kind = self.ctx.kind(name)
        self.open_button.param.update(label=f"Open {name} in the {kind} view", visible=True)
        self.changed()

    def _open(self, *_) -> None:
        if self.selected:
            self.open_entry(self.selected)


def _options(series: pd.Series) -> list[str]:
    return sorted({str(v) for v in series.dropna() if str(v)})


def _detail_markdown(d: dict) -> str:
    import yaml

    meta = yaml.safe_dump(d["metadata"], sort_keys=False, allow_unicode=True, width=100)
    return f"### {d['id']}\n\n{d['description']}\n\n```yaml\n{meta}```"
