"""Catalogs inside catalogs: a lab's catalog beside the 2020 collection, or several labs' catalogs in one.

intake opens an entry whose driver is a catalog class as a nested catalog (``top["lab"]["rec1"]``,
``top.lab.rec1``). The entries written here use :class:`~.catalog.NPXCatalog` (an intake ``YAMLFileCatalog``
that reads JSON-bodied catalogs fast) by its dotted path, so no registration is needed.
"""

from __future__ import annotations

import os
from pathlib import Path

from .catalog import CATALOG_PATH, NPXCatalog

__all__ = ["Collection2020", "COLLECTION_2020", "CATALOG_DRIVERS", "nested_entry", "is_catalog_entry"]

#: the name ``npx2020 include`` understands as "the 2020 collection shipped with the package"
COLLECTION_2020 = "npx2020"
_NPX = "intake_npx2020.sources.catalog.NPXCatalog"
_COLLECTION = "intake_npx2020.sources.nested.Collection2020"
#: drivers that make an entry a nested catalog
CATALOG_DRIVERS = ("yaml_file_cat", "intake.catalog.local.YAMLFileCatalog", _NPX, _COLLECTION)


class Collection2020(NPXCatalog):
    """The 2020 collection as installed with the package, as an entry of another catalog (``args: {}``)."""

    def __init__(self, path: str | None = None, **kwargs):
        super().__init__(str(path or CATALOG_PATH), **kwargs)


def is_catalog_entry(entry: dict) -> bool:
    """Whether a catalog document's entry is a nested catalog."""
    driver = entry.get("driver")
    driver = driver.get("class") if isinstance(driver, dict) else driver
    return driver in CATALOG_DRIVERS


def nested_entry(target: str, catalog: str | Path, description: str | None = None) -> dict:
    """An entry that includes another catalog in ``catalog``.

    Parameters
    ----------
    target : str
        ``"npx2020"`` (the shipped 2020 collection, wherever the package is installed), an ``http(s)://`` URL of
        a catalog, or a local catalog path (stored relative to ``catalog``, as ``{{ CATALOG_DIR }}/…``).
    catalog : path-like
        The including catalog file.
    """
    if target == COLLECTION_2020:
        return {"description": description or "The neuropixels-data-sep-2020 collection (shipped with "
                "intake_npx2020)", "driver": _COLLECTION, "args": {}, "metadata": {"kind": "catalog"}}
    if "://" in target:
        path = target
    else:
        rel = os.path.relpath(Path(target).resolve(), Path(catalog).resolve().parent)
        path = "{{ CATALOG_DIR }}/" + Path(rel).as_posix()
    return {"description": description or f"catalog {Path(target).name}", "driver": _NPX, "args": {"path": path},
            "metadata": {"kind": "catalog"}}
