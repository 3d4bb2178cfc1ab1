"""Channel geometry from probeinterface: short probe names, positions, and geometry files given by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InvalidInputFile
from ..extras import require

__all__ = ["probe_names", "positions_of", "load_geometry", "Geometry"]

Geometry = tuple[list[int], list[int], list[list[float]], str | None, str | None]


def probe_names(probe) -> tuple[str | None, str | None]:
    """``(probe, probe_detail)``: ``NP1``/``NP2``/``NP2 4-shank`` as in the 2020 catalog, and "part: description"."""
    ann = probe.annotations
    part = ann.get("part_number") or ann.get("model_name") or probe.model_name or None
    desc = ann.get("description") or ""
    shanks = probe.get_shank_count()
    if "1.0" in desc:
        short = "NP1"
    elif "2.0" in desc:
        short = "NP2 4-shank" if shanks == 4 else "NP2"
    else:
        short = part
    detail = ": ".join(x for x in (part, desc) if x) or None
    return short, detail


def positions_of(probe) -> list[list[float]]:
    """Contact positions ``[x, y]`` in µm as Python floats, in contact order."""
    pos = np.asarray(probe.contact_positions, dtype=float)
    return [[float(x), float(y)] for x, y in pos[:, :2]]


def _from_probe(probe, num_channels: int, path: Path) -> Geometry:
    wired = np.asarray(probe.device_channel_indices if probe.device_channel_indices is not None else [], int)
    if wired.size != probe.get_contact_count():
        raise InvalidInputFile(f"{path}: device_channel_indices is not set; the geometry must say which raw "
                               "column each contact is in")
    keep = np.flatnonzero(wired >= 0)
    order = keep[np.argsort(wired[keep], kind="stable")]
    cols = wired[order].tolist()
    if cols and cols[-1] >= num_channels:
        raise InvalidInputFile(f"{path}: device_channel_indices holds column {cols[-1]}, but the file has "
                               f"{num_channels} channels")
    if len(set(cols)) != len(cols):
        raise InvalidInputFile(f"{path}: device_channel_indices wires two contacts to one column")
    pos = positions_of(probe)
    short, detail = probe_names(probe)
    return cols, cols, [pos[i] for i in order], short, detail


def _from_table(path: Path, num_channels: int) -> Geometry:
    if path.suffix == ".npy":
        table = np.load(path, allow_pickle=False)
    else:
        text = path.read_text()
        delim = "," if "," in text else ("\t" if "\t" in text else None)
        try:
            table = np.loadtxt(path, delimiter=delim, ndmin=2)
        except ValueError as err:
            raise InvalidInputFile(f"{path}: not a table of x, y positions (one row per channel): {err}") from None
    if table.ndim != 2 or table.shape[1] != 2 or not len(table):
        raise InvalidInputFile(f"{path}: positions must be a table of n rows of x, y (µm), got shape {table.shape}")
    if len(table) > num_channels:
        raise InvalidInputFile(f"{path}: {len(table)} positions for a file of {num_channels} channels")
    if not np.all(np.isfinite(table)):
        raise InvalidInputFile(f"{path}: positions hold values that are not finite")
    ids = list(range(len(table)))
    return ids, ids, [[float(x), float(y)] for x, y in table], None, None


def load_geometry(path: str | Path, num_channels: int) -> Geometry:
    """Geometry of a file of ``num_channels`` columns from a probeinterface ``.json``, a ``.prb``, or a table.

    A table (``.csv``/``.tsv``/``.txt``/``.npy``) has one ``x, y`` row per channel, row ``i`` being raw column ``i``.
    A probeinterface file must wire its contacts (``device_channel_indices``); channel ids are the columns.

    Returns
    -------
    tuple
        ``(channel_ids, columns, positions, probe, probe_detail)``.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputFile(f"geometry {path}: no such file")
    if path.suffix in (".json", ".prb"):
        pi = require("probeinterface", "probe", "reading a probe geometry file")
        group = pi.read_probeinterface(path) if path.suffix == ".json" else pi.read_prb(path)
        if len(group.probes) != 1:
            raise InvalidInputFile(f"{path}: holds {len(group.probes)} probes; give a file with one probe")
        return _from_probe(group.probes[0], num_channels, path)
    return _from_table(path, num_channels)
