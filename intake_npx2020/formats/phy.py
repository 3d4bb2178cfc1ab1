"""Kilosort / phy output folders: ``spike_times.npy``, ``spike_clusters.npy`` and the ``cluster_*.tsv`` unit tables.

The arrays are added verbatim (as the 2020 collection stored phy's files), after they are read and checked. The
unit tables are merged on ``cluster_id`` into one row per unit for the catalog; curated "good" units are those of
``cluster_group.tsv`` (phy's manual labels; ``cluster_groups.csv`` in phy 1), else Kilosort's ``cluster_KSLabel.tsv``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from ..errors import InvalidInputFile
from .foreign import Curation, SortingInput, plain_scalar, read_index_npy

__all__ = ["read_phy", "is_phy_folder", "read_params", "unit_rows"]

# (file, column holding the label, curated by a person?, entry suffix)
_CURATIONS = (("cluster_group.tsv", "group", True, "curated"), ("cluster_groups.csv", "group", True, "curated"),
              ("cluster_KSLabel.tsv", "KSLabel", False, "ks_good"))


def is_phy_folder(path: Path) -> bool:
    return path.is_dir() and (path / "spike_times.npy").is_file()


def read_params(path: Path) -> dict:
    """The literal assignments of phy's ``params.py`` (never executed)."""
    try:
        tree = ast.parse(path.read_text(), str(path))
    except (SyntaxError, UnicodeDecodeError, ValueError) as err:
        raise InvalidInputFile(f"{path}: not a readable params.py: {err}") from None
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass  # not a literal (e.g. an expression): not one of the fields we read
    return out


def _table(path: Path):
    import csv

    import pandas as pd

    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            header = f.readline()
        # phy writes tabs; an older cluster_groups.csv may use commas. Never guessed from the data: a guess split
        # a one-column table on a letter of its header, and an empty file raised csv's own error
        t = pd.read_csv(path, sep="," if "," in header and "\t" not in header else "\t")
    except (ValueError, UnicodeDecodeError, csv.Error, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InvalidInputFile(f"{path}: not a readable table: {str(err)[:200]}") from None
    if "cluster_id" not in t.columns and "id" in t.columns:  # cluster_info.tsv of older phy versions
        t = t.rename(columns={"id": "cluster_id"})
    if "cluster_id" not in t.columns:
        raise InvalidInputFile(f"{path}: field cluster_id is missing (columns: {list(t.columns)[:12]})")
    ids = t["cluster_id"].to_numpy()
    if ids.dtype.kind not in "iu" or len(np.unique(ids)) != len(ids):
        raise InvalidInputFile(f"{path}: cluster_id must hold distinct whole numbers")
    return t.set_index("cluster_id")


def unit_rows(labels: np.ndarray, tables: list) -> list[dict]:
    """One dict per unit present in ``labels``: ``unit_id``, ``num_spikes``, then every column of ``tables``."""
    ids, counts = np.unique(labels, return_counts=True)
    rows = []
    for u, n in zip(ids.tolist(), counts.tolist()):
        row = {"unit_id": int(u), "num_spikes": int(n)}
        for t in tables:
            if u in t.index:
                row.update({str(k): plain_scalar(v) for k, v in t.loc[u].items() if str(k) not in row})
        rows.append(row)
    return rows


def _curation(folder: Path, labels: np.ndarray) -> Curation | None:
    present = set(np.unique(labels).tolist())
    for name, column, curated, suffix in _CURATIONS:
        path = folder / name
        if not path.is_file():
            continue
        t = _table(path)
        if column not in t.columns:
            raise InvalidInputFile(f"{path}: field {column} is missing (columns: {list(t.columns)})")
        good = sorted(int(u) for u in t.index[t[column].astype(str) == "good"] if int(u) in present)
        return Curation(path, column, "good", curated, suffix, tuple(good))
    return None


def read_phy(folder: str | Path) -> SortingInput:
    """Read a Kilosort/phy output folder.

    Raises
    ------
    InvalidInputFile
        Naming the file and the field: spike times that are negative, not integral or not a column; labels
        of another length; a unit table without ``cluster_id`` or the label column; a ``params.py`` whose
        ``sample_rate`` is not a number.
    """
    folder = Path(folder)
    times_file = folder / "spike_times.npy"
    labels_file = folder / "spike_clusters.npy"
    if not labels_file.is_file():
        labels_file = folder / "spike_templates.npy"  # Kilosort before any phy session: templates are the units
    if not times_file.is_file() or not labels_file.is_file():
        raise InvalidInputFile(f"{folder}: a phy folder needs spike_times.npy and spike_clusters.npy "
                               "(or spike_templates.npy)")
    times, labels = read_index_npy(times_file), read_index_npy(labels_file, labels=True)
    if len(times) != len(labels):
        raise InvalidInputFile(f"{times_file}: {len(times)} spike times but {labels_file} has {len(labels)} "
                               "labels; they must pair one to one")
    params = read_params(folder / "params.py") if (folder / "params.py").is_file() else {}
    rate = params.get("sample_rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0):
        raise InvalidInputFile(f"{folder / 'params.py'}: sample_rate = {rate!r} is not a rate in Hz")
    tables = [_table(p) for p in sorted(folder.glob("cluster_*.tsv"))]
    extra = {f"phy_{k}": params[k] for k in ("n_channels_dat", "dtype", "hp_filtered") if k in params}
    extra["labels_from"] = labels_file.name
    side = tuple(p for p in [folder / "params.py", *sorted(folder.glob("cluster_*.tsv"))] if p.is_file())
    return SortingInput(times, labels, "phy", "kilosort/phy", times_file, labels_file,
                        None if rate is None else float(rate), f"{folder / 'params.py'}: sample_rate",
                        unit_rows(labels, tables), _curation(folder, labels), side, extra)
