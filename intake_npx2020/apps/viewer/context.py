"""What every browser session of the viewer shares: the catalog, its table and the extra read roots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import data as vd

__all__ = ["ViewerContext"]


@dataclass
class ViewerContext:
    """The catalog, its table and the extra storage options; read once per server, read-only afterwards."""

    catalog: object
    catalog_path: str
    table: pd.DataFrame
    storage_options: dict | None = None
    title: str = "npx2020 viewer"
    intake_gui_path: str | None = "/intake"

    @classmethod
    def open(cls, catalog_path: str | Path | None = None, store: str | Path | None = None) -> "ViewerContext":
        """Open a catalog (default: the shipped 2020 collection) and tabulate it (no data bytes read).

        Parameters
        ----------
        catalog_path : path-like, optional
            An intake YAML catalog.
        store : path-like, optional
            Another local store root to read (read-only).

        Returns
        -------
        ViewerContext
        """
        from ...sources.catalog import CATALOG_PATH, open_catalog

        path = Path(catalog_path).expanduser().resolve() if catalog_path else CATALOG_PATH
        cat = open_catalog(path)
        return cls(cat, str(path), vd.viewer_table(cat), vd.entry_storage_options(path, store))

    @property
    def name(self) -> str:
        """A short name for the catalog (its file name, or its folder's when the file is ``catalog.yaml``)."""
        path = Path(self.catalog_path)
        return path.parent.name if path.stem == "catalog" and path.parent.name else path.stem

    def ids(self, kind: str) -> list[str]:
        """Entry ids of one kind, in catalog order."""
        return [str(i) for i in self.table.index[self.table["kind"] == kind]]

    def kind(self, name: str) -> str | None:
        """The kind of entry ``name`` (``None`` if the catalog has no such entry)."""
        return str(self.table.loc[name, "kind"]) if name in self.table.index else None

    def source(self, name: str):
        """The entry's data source (with the viewer's read roots)."""
        return vd.open_entry(self.catalog, name, self.storage_options)

    def summary(self, name: str) -> str:
        """What the catalog says about entry ``name`` (markdown, no data bytes read), e.g. while its bytes are
        missing: description, probe, lab, duration, channels, sampling rate, sorter and unit count."""
        if name not in self.table.index:
            return ""
        row = self.table.loc[name]
        facts = [(f"{row['duration_s'] / 60:.1f} min" if row["duration_s"] >= 120 else f"{row['duration_s']:g} s")
                 if _known(row["duration_s"]) else None,
                 f"{int(row['num_channels'])} channels" if _known(row["num_channels"]) else None,
                 f"{row['sampling_frequency']:g} Hz" if _known(row["sampling_frequency"]) else None,
                 f"probe {row['probe']}" if _known(row["probe"]) else None,
                 f"lab {row['lab']}" if _known(row["lab"]) else None,
                 f"sorter {row['sorter']}" if _known(row["sorter"]) else None,
                 f"{int(row['unit_count'])} units" if _known(row["unit_count"]) else None]
        text = ", ".join(f for f in facts if f)
        about = f"**{name}** (from the catalog): {text}." if text else f"**{name}**"
        return f"{about} {row['description']}" if _known(row["description"]) else about

    def drift_entry(self, recording: str) -> str | None:
        """The drift entry of a recording, if the catalog has one."""
        t = self.table
        hits = t.index[(t["kind"] == "drift") & (t["recording"] == recording)]
        return str(hits[0]) if len(hits) else None


def _known(value) -> bool:
    """False for a missing table value (``None``, ``NaN``, ``pd.NA``, ``""``)."""
    return not (value is None or pd.isna(value) or (isinstance(value, str) and not value))
