"""intake_npx2020: the neuropixels-data-sep-2020 collection as an Intake catalog.

Layers, bottom to top (each imports only those below it; ``tests/test_layout.py`` checks it):
``errors``/``progress`` → ``store`` → ``fs`` → ``formats`` → ``arrays``/``tables`` → ``compat`` → ``sources`` →
``analysis``/``synth`` → ``apps``. Everything is imported on first use, so ``import intake_npx2020`` is cheap.
"""

from __future__ import annotations

from importlib import import_module

from ._version import __version__  # noqa: F401

_LAZY = {
    "open_catalog": ".sources.catalog",
    "catalog_table": ".sources.catalog",
    "find_entry": ".sources.catalog",
    "load_recording": ".sources.seed",
    "load_sorting": ".sources.seed",
    "get_store": ".store",
    "Store": ".store",
    "parse_uri": ".store.uri",
    "format_uri": ".store.uri",
    "to_xarray": ".arrays",
    "NPXError": ".errors",
    "ContentNotFound": ".errors",
    "FetchError": ".errors",
    "IntegrityError": ".errors",
}
_SUBMODULES = ("analysis", "synth", "store", "formats", "sources", "compat", "apps", "arrays", "tables", "fs",
               "errors", "export", "cluster", "view")

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    if name in _SUBMODULES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))
