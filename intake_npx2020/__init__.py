"""intake_npx2020: the neuropixels-data-sep-2020 collection as an Intake catalog.

Layers, bottom to top: ``uri`` → ``store`` (``local``, ``mirror``, ``manifest``) → ``fs`` → ``formats`` →
``arrays`` / ``tables`` → ``drivers`` → ``adapters`` → ``cli``. Heavy modules are imported on first use.
"""

from __future__ import annotations

from importlib import import_module

__version__ = "0.1.0"

_LAZY = {
    "get_store": ".store",
    "Store": ".store",
    "parse_uri": ".uri",
    "format_uri": ".uri",
    "open_catalog": ".catalog",
    "catalog_table": ".catalog",
    "load_recording": ".legacy",
    "load_sorting": ".legacy",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
