"""See the collection in a web browser: the intake GUI over our catalog, and ``npx2020 view``.

Needs the ``[gui]`` extra (panel, HoloViews, hvplot, datashader, bokeh).

The intake GUI, in a notebook or as a page::

    from intake.interface.gui import GUI; import intake_npx2020 as npx
    GUI({"npx2020": npx.open_catalog()})             # a notebook cell; .show() opens it in a browser tab

or :func:`intake_gui` (the same GUI with our catalog preselected and intake 2.0.9's missing logo replaced).
Browsing it reads no data bytes: it lists the entries and shows each one's description, arguments and
metadata.

The viewer (``npx2020 view [CATALOG] [--port N]``, or :func:`serve_viewer`) is a local web app: the catalog
table with search and filters, a recording's traces in a window (heat map and traces, with the channel
geometry), a sorting's raster and firing rates, and peak depth vs time with the imposed drift. It binds to
127.0.0.1 unless told otherwise and serves the intake GUI at ``/intake``. A link such as
``/?entry=ID&t=12.5`` opens an entry's view at a time (see :mod:`intake_npx2020.apps.viewer.links`).
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from pathlib import Path

from ..extras import require

__all__ = ["intake_gui", "serve_viewer", "ViewerServer", "check_gui_deps"]



def check_gui_deps() -> None:
    """Raise ``ImportError`` naming the ``[gui]`` extra when panel, HoloViews, hvplot or datashader is missing."""
    for mod in ("panel", "holoviews", "hvplot", "datashader", "bokeh"):
        require(mod, "gui", "the viewer")


# ------------------------------------------------------------------------------------------------ intake GUI

def intake_gui(cat=None, name: str = "npx2020", select: bool = True):
    """intake's own GUI (``intake.interface.gui.GUI``) over a catalog.

    Parameters
    ----------
    cat : intake catalog, optional
        Default: the shipped 2020 collection.
    name : str
        The catalog's name in the GUI's catalog list.
    select : bool
        Preselect the catalog, so its entries are listed at once.

    Returns
    -------
    intake.interface.gui.GUI
        Display it in a notebook, ``.show()`` it, or serve ``.main`` with panel.

    Notes
    -----
    intake 2.0.9's wheel lacks the GUI's logo PNG (a broken image and a 404); it is replaced by text.
    Selecting an entry shows its YAML (arguments, description, metadata) and reads no data bytes.
    """
    check_gui_deps()
    from intake.interface.gui import GUI

    from ..sources.catalog import open_catalog

    gui = GUI({name: open_catalog() if cat is None else cat})
    _replace_missing_logo(gui.main)
    gui.sourceinf.param.update(height=520, width=640)
    if select:
        gui.catsel.value = [name]
    return gui


def _replace_missing_logo(layout) -> None:
    import panel as pn

    for parent in layout.select(pn.layout.ListLike):
        for i, obj in enumerate(list(parent.objects)):
            if isinstance(obj, pn.pane.PNG) and isinstance(obj.object, str) and not os.path.exists(obj.object):
                parent[i] = pn.pane.Markdown("**intake**", width=50, margin=(25, 0, 0, 0))


# ------------------------------------------------------------------------------------------------ server

class ViewerServer:
    """A viewer served from a background thread (its own event loop); :meth:`stop` ends it cleanly.

    Parameters
    ----------
    pages : dict
        URL path → function returning a panel object (called once per browser session).
    port : int
        0 picks a free port.
    address : str
        Interface to bind (default loopback only).
    """

    def __init__(self, pages: dict, port: int = 0, address: str = "127.0.0.1"):
        self.address = address
        self.port = int(port) or _free_port(address)
        self.url = f"http://{_url_host(address)}:{self.port}/"
        self._pages = pages
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._server = None
        self._loop = None
        self._thread = threading.Thread(target=self._run, name=f"npx2020-view-{self.port}", daemon=True)

    def start(self, timeout: float = 30.0) -> "ViewerServer":
        """Start serving; returns once the port is bound (raises what the server raised)."""
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the viewer did not start within {timeout} s")
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        from panel.io.server import get_server
        from tornado.ioloop import IOLoop

        asyncio.set_event_loop(asyncio.new_event_loop())
        try:
            self._loop = IOLoop.current()
            self._server = get_server(self._pages, port=self.port, address=self.address, loop=self._loop,
                                      start=False, show=False, title="npx2020 viewer",
                                      websocket_origin=_origins(self.address, self.port))
            self._server.start()
        except BaseException as err:  # reported to start()
            self._error = err
            self._ready.set()
            return
        self._ready.set()
        self._loop.start()
        self._loop.close(all_fds=True)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and its thread (idempotent)."""
        if self._loop is None or not self._thread.is_alive():
            return

        def shutdown():
            self._server.stop()
            self._loop.stop()

        self._loop.add_callback(shutdown)
        self._thread.join(timeout)

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C stops it)."""
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            self.stop()

    @property
    def running(self) -> bool:
        """True while the server thread runs."""
        return self._thread.is_alive()

    @property
    def sockets(self) -> list[tuple]:
        """The ``(host, port, …)`` addresses the server listens on (empty before start or after stop)."""
        http = getattr(self._server, "_http", None)
        if http is None or not self.running:
            return []
        return [sock.getsockname() for sock in getattr(http, "_sockets", {}).values()]

    def __enter__(self) -> "ViewerServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _free_port(address: str) -> int:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def _url_host(address: str) -> str:
    if address in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{address}]" if ":" in address else address


def _origins(address: str, port: int) -> list[str]:
    hosts = {"127.0.0.1", "localhost", _url_host(address)}
    if address in ("", "0.0.0.0", "::"):
        hosts |= {socket.gethostname(), socket.getfqdn()}
    return sorted(f"{h}:{port}" for h in hosts)


def serve_viewer(catalog_path: str | Path | None = None, port: int = 0, address: str = "127.0.0.1",
                 store: str | Path | None = None, intake_gui_page: bool = True) -> tuple[ViewerServer, str]:
    """Serve the viewer (``/``) and the intake GUI (``/intake``) from a background thread.

    Parameters
    ----------
    catalog_path : path-like, optional
        An intake YAML catalog (default: the shipped 2020 collection). A ``store/`` folder beside it (as
        ``npx2020 demo`` writes) is read as an extra local store.
    port : int
        0 (default) picks a free port.
    address : str
        Interface to bind; default loopback only.
    store : path-like, optional
        Another local store root to read (read-only).
    intake_gui_page : bool
        Also serve intake's GUI at ``/intake``.

    Returns
    -------
    (ViewerServer, str)
        The running server (``.stop()`` it) and its URL.
    """
    check_gui_deps()
    from .viewer.app import ViewerContext, viewer_session, warm_up

    threading.Thread(target=warm_up, name="npx2020-view-warm-up", daemon=True).start()
    ctx = ViewerContext.open(catalog_path, store)
    if not intake_gui_page:
        ctx.intake_gui_path = None
    pages = {"/": lambda: viewer_session(ctx)}  # follows the link that opened the session
    if intake_gui_page:
        pages["/intake"] = lambda: intake_gui(ctx.catalog, name=ctx.name).main
    server = ViewerServer(pages, port=port, address=address).start()
    return server, server.url
