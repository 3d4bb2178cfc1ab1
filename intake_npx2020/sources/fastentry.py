"""Catalog entries whose template-free arguments skip intake's template expansion.

intake renders every string of an entry's arguments through jinja2 — a new ``Environment``, a parse and a render
per string — and rebuilds every dict and list on the way, on each ``cat[ID]``. A recording's 2020 object, with
its per-channel maps and positions, is a few thousand nodes and a handful of strings, none of them a template:
that walk was the largest cost of a first sample after the read itself. :class:`LiteralArgsEntry` hands such
arguments to the source as they are and lets intake expand the rest (anything holding ``{`` or a string that ends in a
newline, which jinja would strip), so templates such as ``{{ CATALOG_DIR }}`` and user parameters work as before.
"""

from __future__ import annotations

import json
import threading

from intake.catalog.local import LocalCatalogEntry

__all__ = ["LiteralArgsEntry", "templated"]

_SWAP = threading.Lock()


def templated(v) -> bool:
    """True when ``v`` may hold a string that intake's jinja2 rendering would change (errs on the side of yes).

    jinja2 acts on ``{{``, ``{%`` and ``{#``, and strips a final newline; the JSON text of ``v`` (one C call)
    shows all of these, in keys too. Values JSON cannot write are walked.
    """
    try:
        text = json.dumps(v)
    except (TypeError, ValueError):
        return _walk(v)
    return "{{" in text or "{%" in text or "{#" in text or '\\n"' in text


def _walk(v) -> bool:
    if isinstance(v, str):
        return "{" in v or v.endswith("\n")
    if isinstance(v, dict):
        return any(_walk(x) for x in v.values())
    if isinstance(v, (list, tuple, set)):
        return any(_walk(x) for x in v)
    return not isinstance(v, (int, float, bool, type(None)))  # anything else: let intake decide


class LiteralArgsEntry(LocalCatalogEntry):
    """A ``LocalCatalogEntry`` that passes arguments without templates straight to its source."""

    def _create_open_args(self, user_parameters):
        names = set(user_parameters) | {p.name for p in self._user_parameters}
        literal = {k: v for k, v in self._open_args.items() if k not in names and not templated(v)}
        if not literal:
            return super()._create_open_args(user_parameters)
        with _SWAP:  # the expansion sees the other arguments only
            full = self._open_args
            self._open_args = {k: v for k, v in full.items() if k not in literal}
            try:
                plugin, open_args = super()._create_open_args(user_parameters)
            finally:
                self._open_args = full
        return plugin, {**literal, **open_args}
