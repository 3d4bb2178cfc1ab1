"""Sortings saved by spikeinterface (``sorting.save(folder=…)``), and plain ``.npy`` spike times + labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InvalidInputFile
from ..extras import require
from .fields import sample_indices, unit_labels
from .foreign import SortingInput, plain_scalar, read_index_npy

__all__ = ["is_si_folder", "read_si_folder", "read_npy_pair"]

_SI_MARKERS = ("si_folder.json", "spikeinterface_info.json", "numpysorting_info.json", "provenance.json")


def is_si_folder(path: Path) -> bool:
    return path.is_dir() and any((path / m).is_file() for m in _SI_MARKERS)


def _integer_ids(unit_ids, folder: Path) -> np.ndarray:
    try:
        ids = np.array([int(str(u)) if not isinstance(u, (int, np.integer)) else int(u) for u in unit_ids])
    except ValueError:
        raise InvalidInputFile(f"{folder}: unit_ids {list(unit_ids)[:5]} are not whole numbers; the 2020 npy1 "
                               "format labels spikes with integers (rename the units first)") from None
    return unit_labels(ids, f"{folder}: unit_ids") if ids.size else ids.astype(np.int64)


def _units(sorting, ids: np.ndarray, labels: np.ndarray) -> list[dict]:
    counts = dict(zip(*np.unique(labels, return_counts=True)))
    rows = [{"unit_id": int(u), "num_spikes": int(counts.get(u, 0))} for u in ids]
    for key in sorting.get_property_keys():
        values = sorting.get_property(key)
        if values is None or np.ndim(values) != 1:
            continue  # per-unit vectors (templates, …) are not a table column
        for row, v in zip(rows, values):
            row.setdefault(str(key), plain_scalar(v))
    return [r for r in rows if r["num_spikes"]]


def read_si_folder(folder: str | Path) -> SortingInput:
    """A spikeinterface sorting folder, loaded with ``spikeinterface.core.load`` (extra ``[spikeinterface]``).

    Raises
    ------
    InvalidInputFile
        Not a sorting spikeinterface can load, more than one segment, or unit ids that are not integers.
    """
    folder = Path(folder)
    sc = require("spikeinterface.core", "spikeinterface", "reading a spikeinterface sorting folder")
    try:
        sorting = sc.load(folder)
    except Exception as err:  # spikeinterface raises whatever its loaders raise
        raise InvalidInputFile(f"{folder}: spikeinterface cannot load it: {type(err).__name__}: {err}") from None
    if not isinstance(sorting, sc.BaseSorting):
        raise InvalidInputFile(f"{folder}: holds a {type(sorting).__name__}, not a sorting")
    if sorting.get_num_segments() != 1:
        raise InvalidInputFile(f"{folder}: num_segments = {sorting.get_num_segments()}; add one segment at a time "
                               "(sorting.select_segments([i]).save(folder=…))")
    sv = sorting.to_spike_vector()
    ids = _integer_ids(sorting.unit_ids, folder)
    labels = ids[sv["unit_index"]] if len(sv) else np.zeros(0, np.int64)
    times = sample_indices(np.asarray(sv["sample_index"]), f"{folder}: sample_index")
    order = np.lexsort((labels, times))
    return SortingInput(times[order], labels[order], "spikeinterface", "spikeinterface",
                        samplerate=float(sorting.sampling_frequency),
                        rate_field=f"{folder}: sampling_frequency", units=_units(sorting, ids, labels),
                        extra={"si_class": type(sorting).__name__})


def read_npy_pair(times: str | Path, labels: str | Path) -> SortingInput:
    """Spike times (sample indices) and unit labels as two ``.npy`` files of equal length, added verbatim."""
    tf, lf = Path(times), Path(labels)
    for p in (tf, lf):
        if not p.is_file():
            raise InvalidInputFile(f"{p}: no such file")
    t, lab = read_index_npy(tf), read_index_npy(lf, labels=True)
    if len(t) != len(lab):
        raise InvalidInputFile(f"{tf}: {len(t)} spike times but {lf} has {len(lab)} labels; they must pair "
                               "one to one")
    ids, counts = np.unique(lab, return_counts=True)
    units = [{"unit_id": int(u), "num_spikes": int(n)} for u, n in zip(ids, counts)]
    return SortingInput(t, lab, "npy", "unknown", tf, lf, units=units)
