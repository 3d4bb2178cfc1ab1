"""The viewer app: a header and one tab per page, assembled by name, with deep links in and out.

One :class:`ViewerApp` is built per browser session over a shared, read-only
:class:`~.context.ViewerContext`. A tab is read the first time it is opened (so the session starts fast and
no tab opens empty); a link such as ``?entry=ID&t=12.5`` opens an entry's view at once (see :mod:`.links`),
and the address bar follows what is shown, so the view can be shared.
"""

from __future__ import annotations

from collections.abc import Mapping

import panel as pn

from ...errors import EntryNotFound
from .catalog_page import CatalogPage
from .context import ViewerContext
from .drift_page import DriftPage
from .links import format_query, parse_query
from .page import Page
from .plots import load_holoviews, warm_up
from .recording_page import RecordingPage
from .sorting_page import SortingPage

__all__ = ["ViewerContext", "ViewerApp", "viewer_session", "warm_up", "PAGES"]

#: The pages, in tab order (their keys are :data:`.links.TABS`).
PAGES = (CatalogPage, RecordingPage, SortingPage, DriftPage)


class ViewerApp:
    """One session's viewer: a header and the tabs of :data:`PAGES`.

    Parameters
    ----------
    ctx : ViewerContext
    query : mapping, optional
        Link parameters of the URL that opened the session (``pn.state.session_args``), see :mod:`.links`.
    """

    def __init__(self, ctx: ViewerContext, query: Mapping | None = None):
        load_holoviews()
        self.ctx = ctx
        self.pages: dict[str, Page] = {cls.key: cls(ctx) for cls in PAGES}
        self.catalog.open_entry = self.open_entry
        for page in self.pages.values():
            page.changed = self._changed
        self.tabs = pn.Tabs(*[(p.title, p.panel) for p in self.pages.values()], dynamic=True,
                            sizing_mode="stretch_width")
        self.notice = pn.pane.Alert("", alert_type="warning", visible=False, sizing_mode="stretch_width")
        self.link = pn.pane.Markdown("", css_classes=["npx-link"], margin=(18, 10, 0, 10))
        self.tabs.param.watch(self._tab_changed, "active")
        self._loaded = False  # the address bar is changed only once the page has loaded
        if query:
            self.follow(query)
        self._changed()

    catalog = property(lambda self: self.pages["catalog"], doc="The Catalog page.")
    recording = property(lambda self: self.pages["recording"], doc="The Recording page.")
    sorting = property(lambda self: self.pages["sorting"], doc="The Sorting page.")
    drift = property(lambda self: self.pages["drift"], doc="The Drift page.")

    @property
    def panel(self) -> pn.viewable.Viewable:
        gui = f" · [intake GUI]({self.ctx.intake_gui_path})" if self.ctx.intake_gui_path else ""
        header = pn.pane.Markdown(f"## {self.ctx.title}\n`{self.ctx.catalog_path}` — "
                                  f"{len(self.ctx.table)} entries{gui}", sizing_mode="stretch_width")
        return pn.Column(pn.Row(header, self.link, sizing_mode="stretch_width"), self.notice, self.tabs,
                         sizing_mode="stretch_width")

    @property
    def page(self) -> Page:
        """The page of the active tab."""
        return list(self.pages.values())[self.tabs.active]

    def select(self, key: str) -> None:
        """Open the tab of page ``key`` (``"catalog"``, ``"recording"``, …)."""
        self.tabs.active = list(self.pages).index(key)

    def open_entry(self, name: str, params: Mapping | None = None, tab: str | None = None) -> Page:
        """Show an entry in its view: a recording's traces, a sorting's raster, a drift's recording.

        Parameters
        ----------
        name : str
            Entry id.
        params : mapping, optional
            Link parameters (``t``, ``window``, ``channel``, ``channels``).
        tab : str, optional
            Show it in this tab if that page shows entries of its kind (else in its kind's view).

        Returns
        -------
        Page
            The page that shows it.
        """
        kind = self.ctx.kind(name)
        if kind is None:
            raise EntryNotFound(f"this catalog has no entry {name!r}")
        page = self.pages.get(tab or "")
        if page is None or not page.accepts(name):
            page = next(p for p in self.pages.values() if p.key != "catalog" and p.accepts(name))
        page.show(name, dict(params or {}))
        self.select(page.key)
        return page

    def follow(self, query: Mapping) -> None:
        """Open what a link names (see :mod:`.links`); what it names wrongly is said in a notice."""
        params, problems = parse_query(query)
        name, tab = params.pop("entry", None), params.pop("tab", None)
        if name is not None and self.ctx.kind(name) is None:
            problems.append(f"this catalog has no entry `{name}`")
            name = None
        if name is not None:
            page = self.open_entry(name, params, tab)
            if tab and page.key != tab:
                problems.append(f"`{name}` is a {self.ctx.kind(name)}: it is shown in the {page.title} tab")
        elif tab:
            self.select(tab)
        if problems:
            self.notice.param.update(object="The link was not followed entirely: " + "; ".join(problems) + ".",
                                     visible=True)

    def _tab_changed(self, *_) -> None:
        self.page.activate()
        self._changed()

    def _changed(self) -> None:
        """Show the link to the current view, and put it in the address bar."""
        query = format_query({"tab": self.page.key, **self.page.link()})
        self.link.object = f"[link to this view]({query or '?'})"
        location = pn.state.location if self._loaded else None
        if location is not None and location.search != query:
            location.search = query

    def page_loaded(self) -> None:
        """Called once the browser has shown the page: from now on the address bar follows the view."""
        self._loaded = True
        self._changed()


def viewer_session(ctx: ViewerContext) -> pn.viewable.Viewable:
    """The viewer for one browser session, following the link that opened it.

    Once the page has loaded, the address bar shows the link to what is shown (it can then be copied).
    """
    app = ViewerApp(ctx, pn.state.session_args)
    pn.state.onload(app.page_loaded)
    return app.panel
