"""Deep links: what a view shows, as a URL query (``?tab=recording&entry=ID&t=12.5``), and back.

Like the 2020 collection's per-recording web links, a link names an entry; here it may also name the tab and
the window, so a view can be shared. Parameters:

``tab``
    ``catalog``, ``recording``, ``sorting`` or ``drift`` (default: the view of the entry's kind).
``entry``
    An entry id (for the drift tab, a recording's or its drift entry's id).
``t``, ``window``
    Start and length of the time window, in seconds.
``channel``, ``channels``
    First channel (position on the probe, from 0) and number of channels in the traces.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

__all__ = ["TABS", "PARAMETERS", "parse_query", "format_query"]

#: Tab names, in the order the viewer shows them.
TABS = ("catalog", "recording", "sorting", "drift")

#: Every link parameter and the type of its value.
PARAMETERS = {"tab": str, "entry": str, "t": float, "window": float, "channel": int, "channels": int}


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else ""
    return value.decode() if isinstance(value, bytes) else str(value)


def parse_query(args: Mapping) -> tuple[dict, list[str]]:
    """Link parameters from a URL query (``pn.state.session_args``: lists of bytes; or plain strings).

    Parameters
    ----------
    args : mapping
        ``{name: value or [values]}``; unknown names are ignored, the last of repeated values wins.

    Returns
    -------
    params : dict
        The valid parameters, typed (see :data:`PARAMETERS`).
    problems : list of str
        One sentence per value that was not understood (and left out of ``params``).
    """
    params, problems = {}, []
    for name, kind in PARAMETERS.items():
        if name not in args:
            continue
        text = _text(args[name]).strip()
        if not text:
            continue
        try:
            value = kind(float(text)) if kind is int else kind(text)
        except ValueError:
            problems.append(f"`{name}={text}` is not a number")
            continue
        if kind is not str and not value >= 0:
            problems.append(f"`{name}={text}` must not be negative")
            continue
        if name == "tab" and value.lower() not in TABS:
            problems.append(f"`tab={text}`: the tabs are {', '.join(TABS)}")
            continue
        params[name] = value.lower() if name == "tab" else value
    return params, problems


def format_query(params: Mapping) -> str:
    """``?name=value&…`` for the given link parameters (``None`` left out, numbers without trailing zeros)."""
    items = []
    for name in PARAMETERS:
        value = params.get(name)
        if value is None or value == "":
            continue
        items.append((name, f"{value:.6g}" if isinstance(value, float) else str(value)))
    return "?" + urlencode(items) if items else ""
