"""What the pages' plots share: HoloViews' bokeh backend, plot options, labelled dimensions, panes, pipes.

The backend is loaded by :func:`load_holoviews` when an app is built (not when this module is imported).
Plots are ``DynamicMap``\\ s fed by ``Pipe`` streams: a new window is sent down the pipe and the figure is
updated in place, holding no more than the window that was read.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
from holoviews.streams import Pipe, RangeX, RangeXY, RangeY

__all__ = ["CANVAS", "FIXED", "PLOT", "FIELD_W", "load_holoviews", "dim", "TIME", "CHANNEL", "UNIT", "X_UM",
           "Y_UM", "pane", "send", "later", "warm_up"]

# Canvas rather than WebGL: what is drawn is already reduced to the screen (datashader, min/max decimation),
# and WebGL without a GPU (a headless browser, a remote desktop) is several times slower.
CANVAS = {"backend_opts": {"plot.output_backend": "canvas"}}
FIXED = {"framewise": True, **CANVAS}
PLOT = {"responsive": True, "active_tools": ["box_zoom"], "axiswise": True, **FIXED}
FIELD_W = 150


@cache
def load_holoviews() -> None:
    """Load HoloViews' bokeh backend (once per process; options such as ``hv.opts.Image`` need it)."""
    hv.extension("bokeh", logo=False)


def dim(name: str, label: str | None = None, unit: str | None = None) -> hv.Dimension:
    """A dimension whose axis label names its unit, e.g. ``time (s)``."""
    return hv.Dimension(name, label=label or name, unit=unit)


TIME = dim("time", unit="s")
CHANNEL = dim("channel")
UNIT = dim("unit_id", "unit")
X_UM = dim("x", unit="µm")
Y_UM = dim("y", unit="µm")


def pane(obj, name: str, width: int | None = None, **kwargs) -> pn.pane.HoloViews:
    """A HoloViews pane with CSS class ``npx-<name>`` (stretching unless given a width)."""
    size = {"width": width} if width else {"sizing_mode": "stretch_width"}
    return pn.pane.HoloViews(obj, name=name, css_classes=[f"npx-{name}"], **size, **kwargs)


def send(pipe: Pipe, data, *rasterized: hv.DynamicMap) -> None:
    """Send new data down a pipe, first forgetting the zoom of the rasterized plots it feeds.

    Otherwise datashader would aggregate the new data over the previous window's ranges (empty when the
    window moved); with the ranges reset, it uses the new data's extent and the (framewise) axes follow.
    """
    for dmap in rasterized:
        for stream in dmap.streams:
            if isinstance(stream, (RangeXY, RangeX, RangeY)):
                stream.reset()
    pipe.send(data)


def later(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the current changes have reached the browser (at once outside a server).

    A page opened by a click first appears with its controls and a loading indicator; the read follows.
    """
    pn.state.execute(callback, schedule=True)


def warm_up() -> None:
    """Compile datashader's aggregations now (numba, a few seconds) rather than on a user's first plot."""
    from holoviews.operation.datashader import rasterize

    image = hv.Image(np.zeros((64, 64), np.float32))
    for width, height in ((8, 8), (128, 8), (8, 128), (128, 128)):  # each axis reduced or kept
        rasterize(image, aggregator="mean", dynamic=False, width=width, height=height)
    points = hv.Points(pd.DataFrame({"time": [0.0, 1.0], "unit_id": [0, 1]}), ["time", "unit_id"])
    rasterize(points, aggregator="count", dynamic=False, width=8, height=8, y_sampling=1)
