"""The shipped catalog: open it, tabulate it, find entries by ID or label."""

from __future__ import annotations

from pathlib import Path

__all__ = ["CATALOG_PATH", "open_catalog", "catalog_table", "find_entry"]

#: The catalog of the 2020 collection, installed as package data.
CATALOG_PATH = Path(__file__).parent / "catalogs" / "npx2020.yaml"

_COLUMNS = ["kind", "label", "lab", "probe", "region", "duration_s", "num_channels", "sampling_frequency",
            "size_bytes", "drift", "recording_id", "sorter", "curated", "contributed", "unit_count", "object_status"]


def open_catalog(path: str | Path | None = None, **kwargs):
    """Open a catalog (default: the 2020 collection) with ``intake.open_catalog``."""
    import intake

    return intake.open_catalog(str(path or CATALOG_PATH), **kwargs)


def catalog_table(cat=None):
    """One row per entry (index: ID) with the metadata users filter on; reads no data bytes.

    Parameters
    ----------
    cat : intake catalog, optional
        Default: the 2020 collection.

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    cat = open_catalog() if cat is None else cat
    rows = []
    for name in cat:
        d = cat._entries[name].describe()
        meta = d.get("metadata") or {}
        row = {c: meta.get(c) for c in _COLUMNS}
        row["description"] = d.get("description", "")
        row["id"] = name
        rows.append(row)
    return pd.DataFrame(rows).set_index("id")


def find_entry(cat, id_or_label: str, kind: str | None = None) -> str:
    """The entry ID matching an ID or an original label (either with ``.json`` appended), as the 2020 API did."""
    key = id_or_label[:-5] if id_or_label.endswith(".json") else id_or_label
    names = list(cat)
    if key in names:
        return key
    for name in names:
        meta = cat._entries[name].describe().get("metadata") or {}
        if meta.get("label") == key and (kind is None or meta.get("kind") == kind):
            return name
    wanted = f"{kind} " if kind else ""
    raise KeyError(f"no {wanted}entry with ID or label {id_or_label!r}; `npx2020 ls` lists them")
