"""Sorting objects (``npy1``, ``npy2``, ``h5_v1``) and drift arrays → validated numpy arrays.

Known defects of the 2020 payloads are handled here: float64 times/labels (cast after checking they are
integral), ``sampling_frequency`` of shape (1,) in npz files, label arrays of shape (n, 1).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..store.engine import Store
from .bin1 import _scalar
from .objects import load_object


@dataclass(frozen=True)
class SpikeArrays:
    """Spikes sorted by sample index: ``sample_index`` and ``unit_id`` (int64), the sampling rate and unit ids."""

    sample_index: np.ndarray
    unit_id: np.ndarray
    sampling_frequency: float
    unit_ids: np.ndarray


def _npy(store: Store, uri: str) -> np.ndarray:
    path = store.locate(store.resolve(uri).sha1)
    if path:  # whole file local: no intermediate copies of a large array
        return np.load(path, allow_pickle=False)
    return np.load(io.BytesIO(store.read(uri)), allow_pickle=False)


def _integral(a: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(a).ravel()
    if a.dtype.kind in "iu":
        return a.astype(np.int64, copy=False)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or not np.array_equal(a, np.round(a)):
            raise ValueError(f"{what} holds non-integral values; cannot use them as sample indices or unit ids")
        return a.astype(np.int64)
    raise ValueError(f"{what} has dtype {a.dtype}; expected integers")


def _unit_ids(labels: np.ndarray) -> np.ndarray:
    """Sorted distinct labels; a bincount when they are small non-negative ints (10× faster than unique)."""
    if labels.size and labels.min() >= 0 and labels.max() < 4 * labels.size + 1000:
        return np.flatnonzero(np.bincount(labels))
    return np.unique(labels)


def _sorted(times: np.ndarray, labels: np.ndarray, fs: float, unit_ids=None) -> SpikeArrays:
    if len(times) != len(labels):
        raise ValueError(f"{len(times)} spike times but {len(labels)} labels")
    if len(times) > 1 and np.any(times[1:] < times[:-1]):
        order = np.lexsort((labels, times))
        times, labels = times[order], labels[order]
    ids = _unit_ids(labels) if unit_ids is None else np.asarray(unit_ids, dtype=np.int64)
    return SpikeArrays(times, labels, fs, ids)


def _npy1(d: Mapping, store: Store, name: str) -> SpikeArrays:
    times = _integral(_npy(store, d["times_npy_uri"]), f"{name}: times {d['times_npy_uri']}")
    labels = _integral(_npy(store, d["labels_npy_uri"]), f"{name}: labels {d['labels_npy_uri']}")
    return _sorted(times, labels, _scalar(d["samplerate"], f"{name}: samplerate"))


def _npy2(d: Mapping, store: Store, name: str) -> SpikeArrays:
    with np.load(io.BytesIO(bytes(store.read(d["npz_uri"]))), allow_pickle=False) as z:
        times = _integral(z["spike_indexes"], f"{name}: spike_indexes")
        labels = _integral(z["spike_labels"], f"{name}: spike_labels")
        fs = _scalar(z["sampling_frequency"], f"{name}: sampling_frequency") if "sampling_frequency" in z else None
        ids = _integral(z["unit_ids"], f"{name}: unit_ids") if "unit_ids" in z else d.get("unit_ids")
    fs = fs or _scalar(d["sampling_frequency"], f"{name}: sampling_frequency")
    return _sorted(times, labels, fs, ids)


def _h5_v1(d: Mapping, store: Store, name: str) -> SpikeArrays:
    import h5py

    with h5py.File(io.BytesIO(bytes(store.read(d["h5_path"]))), "r") as f:
        ids = _integral(f["unit_ids"][()], f"{name}: unit_ids")
        fs = _scalar(f["sampling_frequency"][()], f"{name}: sampling_frequency")
        trains = [_integral(f["unit_spike_trains"][str(u)][()], f"{name}: unit {u}") for u in ids]
    times = np.concatenate(trains) if trains else np.zeros(0, np.int64)
    labels = np.repeat(ids, [len(t) for t in trains])
    return _sorted(times, labels, fs, ids)


_READERS = {"npy1": _npy1, "npy2": _npy2, "h5_v1": _h5_v1}


def read_sorting(sorting: Mapping | str, store: Store, name: str = "sorting",
                 units_csv: str | None = None, units_filter: Mapping | None = None) -> SpikeArrays:
    """Read a 2020 sorting object (or the ``sha1://`` URI of one) into :class:`SpikeArrays`.

    ``units_csv`` (a tab- or comma-separated table with a ``cluster_id`` column, e.g. phy's
    ``cluster_groups.csv``) and ``units_filter`` (``{column: value}``) keep only matching units.
    """
    obj = load_object(sorting, store, name)
    fmt = obj.get("sorting_format")
    if fmt not in _READERS:
        raise ValueError(f"{name}: sorting_format {fmt!r} is not supported (supported: {sorted(_READERS)})")
    try:
        spikes = _READERS[fmt](obj["data"], store, name)
    except KeyError as err:
        raise ValueError(f"{name}: {fmt} object lacks {err}") from err
    if units_csv:
        spikes = _filter_units(spikes, store, units_csv, units_filter or {}, name)
    return spikes


def _filter_units(spikes: SpikeArrays, store: Store, csv_uri: str, where: Mapping, name: str) -> SpikeArrays:
    import pandas as pd

    table = pd.read_csv(io.BytesIO(bytes(store.read(csv_uri))), sep=None, engine="python")
    if "cluster_id" not in table.columns:
        raise ValueError(f"{name}: units table {csv_uri} has no 'cluster_id' column (columns: {list(table.columns)})")
    keep = np.ones(len(table), bool)
    for col, value in where.items():
        if col not in table.columns:
            raise ValueError(f"{name}: units table {csv_uri} has no column {col!r}")
        keep &= (table[col].astype(str) == str(value)).to_numpy()
    units = np.sort(table.loc[keep, "cluster_id"].to_numpy(np.int64))
    mask = np.isin(spikes.unit_id, units)
    return SpikeArrays(spikes.sample_index[mask], spikes.unit_id[mask], spikes.sampling_frequency, units)


def read_drift(timestamps: str, positions: str, store: Store) -> tuple[np.ndarray, np.ndarray]:
    """The imposed-drift arrays (squeezed to 1-D float64): times in s, positions in µm."""
    t = np.asarray(_npy(store, timestamps), dtype=float).squeeze()
    p = np.asarray(_npy(store, positions), dtype=float).squeeze()
    if t.ndim != 1 or t.shape != p.shape:
        raise ValueError(f"drift arrays {timestamps} {t.shape} and {positions} {p.shape} must be 1-D of equal length")
    return t, p
