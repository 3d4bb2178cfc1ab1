"""What every tab of the viewer has: a status (what is shown, or why it cannot be) and a page protocol.

:class:`Status` is the one place where failures are shown: a read that raises becomes an alert (for
missing bytes, with how to get them) and never an exception in the user's session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import panel as pn

from . import data as vd
from .plots import later, load_holoviews

__all__ = ["Status", "Page"]

T = TypeVar("T")


class Status:
    """A page's alert (hidden unless something cannot be shown) and its line saying what is shown.

    Parameters
    ----------
    hint : str
        The line shown before anything is loaded (markdown).
    """

    def __init__(self, hint: str = ""):
        self.alert = pn.pane.Alert("", alert_type="warning", visible=False, sizing_mode="stretch_width")
        self.info = pn.pane.Markdown(hint, sizing_mode="stretch_width")

    @property
    def panel(self) -> pn.viewable.Viewable:
        return pn.Column(self.alert, self.info, sizing_mode="stretch_width")

    @property
    def failed(self) -> bool:
        """True while the alert shows a failure."""
        return self.alert.visible and self.alert.alert_type == "danger"

    def show(self, info: str) -> None:
        """Hide the alert; say what is shown."""
        self.alert.param.update(object="", visible=False)
        self.info.object = info

    def note(self, text: str, kind: str = "info") -> None:
        """Show ``text`` in the alert (an ``info`` or ``warning``), keeping the info line."""
        self.alert.param.update(object=text, alert_type=kind, visible=True)

    def fail(self, name: str, err: BaseException, info: str = "") -> None:
        """Say why entry ``name`` cannot be shown (missing bytes: how to get them)."""
        self.alert.param.update(object=vd.unavailable_message(name, err), alert_type="danger", visible=True)
        self.info.object = info

    def attempt(self, name: str, read: Callable[[], T], on_fail: Callable[[], None] | None = None,
                info: str = "") -> T | None:
        """``read()``, or ``None`` after showing why it failed (then ``on_fail()`` clears the page's plots)."""
        try:
            return read()
        except Exception as err:  # any failure is shown, never raised into the session
            self.fail(name, err, info)
            if on_fail is not None:
                on_fail()
            return None


class Page:
    """One tab: its ``key`` (in links), ``title``, the entry ``kinds`` it opens, and its panel.

    Subclasses implement :meth:`show` (open an entry with link parameters), :meth:`refresh` (draw the
    current choice) and :meth:`link` (the parameters that reproduce the view). ``changed`` is called after
    the view changes, so the app can update the page's URL.
    """

    key = "page"
    title = "Page"
    kinds: tuple[str, ...] = ()

    def __init__(self, ctx, hint: str = ""):
        load_holoviews()
        self.ctx = ctx
        self.status = Status(hint)
        self.loaded = False
        self.changed: Callable[[], None] = lambda: None

    @property
    def panel(self) -> pn.viewable.Viewable:
        raise NotImplementedError

    def accepts(self, name: str) -> bool:
        """True when this page can show entry ``name``."""
        return name in self.ctx.table.index and self.ctx.table.loc[name, "kind"] in self.kinds

    def show(self, name: str, params: dict | None = None) -> None:
        """Show entry ``name``; ``params`` are link parameters (``t``, ``window``, …)."""
        raise NotImplementedError

    def refresh(self, *_) -> None:
        """Read and draw the current choice."""
        raise NotImplementedError

    def activate(self) -> None:
        """Called when the tab is opened: the first time, draw the default choice (so no tab opens empty)."""
        if not self.loaded:
            self.loaded = True
            later(self.refresh)

    def link(self) -> dict:
        """Link parameters of what is shown (see :mod:`.links`)."""
        return {}
