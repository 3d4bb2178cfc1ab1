"""Sorting objects (``npy1``, ``npy2``, ``h5_v1``) and drift arrays → validated numpy arrays.

Known defects of the 2020 payloads are handled here: float64 times/labels (cast after checking they are
integral), ``sampling_frequency`` of shape (1,) in npz files, label arrays of shape (n, 1). Everything else
that is malformed or impossible is an :class:`~intake_npx2020.errors.InvalidObject` naming the field (see
:mod:`.fields`); payloads are parsed without trusting their headers (:mod:`.npyio`, :mod:`.h5`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidObject
from ..store.engine import Store
from .fields import content_uri, finite, rate, sample_indices, unit_labels
from .h5 import open_h5, read_dataset
from .npyio import npy_from_bytes, npy_from_path, npz_members
from .objects import load_object


@dataclass(frozen=True)
class SpikeArrays:
    """Spikes sorted by sample index: ``sample_index`` and ``unit_id`` (int64), the sampling rate and unit ids."""

    sample_index: np.ndarray
    unit_id: np.ndarray
    sampling_frequency: float
    unit_ids: np.ndarray


def _uri(d: Mapping, key: str, name: str) -> str:
    """The ``sha1://`` URI in field ``key`` of an object's data, checked."""
    if key not in d:
        raise KeyError(key)
    return content_uri(d[key], name, key)


def _npy(store: Store, uri: str, what: str) -> np.ndarray:
    path = store.locate(store.resolve(uri).sha1)
    if path:  # whole file local: no intermediate copies of a large array
        try:
            return npy_from_path(path, what)
        except FileNotFoundError:
            pass  # evicted meanwhile
    return npy_from_bytes(store.read(uri), what)


def _unit_ids(labels: np.ndarray) -> np.ndarray:
    """Sorted distinct labels; a bincount when they are small non-negative ints (10× faster than unique)."""
    if labels.size and labels.min() >= 0 and labels.max() < 4 * labels.size + 1000:
        return np.flatnonzero(np.bincount(labels))
    return np.unique(labels)


def _sorted(times: np.ndarray, labels: np.ndarray, fs: float, unit_ids, name: str) -> SpikeArrays:
    if len(times) != len(labels):
        raise InvalidObject(f"{name}: {len(times)} spike times but {len(labels)} labels")
    if unit_ids is None:
        ids = _unit_ids(labels)
    else:
        ids = unit_labels(unit_ids, f"{name}: unit_ids")
        if len(np.unique(ids)) != len(ids):
            raise InvalidObject(f"{name}: unit_ids has duplicates")
        stray = np.setdiff1d(labels, ids)
        if stray.size:
            raise InvalidObject(f"{name}: spike labels {stray[:5].tolist()} are not among unit_ids")
    if len(times) > 1 and np.any(times[1:] < times[:-1]):
        order = np.lexsort((labels, times))
        times, labels = times[order], labels[order]
    return SpikeArrays(times, labels, fs, ids)


def _npy1(d: Mapping, store: Store, name: str) -> SpikeArrays:
    tu, lu = _uri(d, "times_npy_uri", name), _uri(d, "labels_npy_uri", name)
    times = sample_indices(_npy(store, tu, f"{name}: times {tu}"), f"{name}: times {tu}")
    labels = unit_labels(_npy(store, lu, f"{name}: labels {lu}"), f"{name}: labels {lu}")
    return _sorted(times, labels, rate(d["samplerate"], f"{name}: samplerate"), None, name)


def _npy2(d: Mapping, store: Store, name: str) -> SpikeArrays:
    uri = _uri(d, "npz_uri", name)
    z = npz_members(store.read(uri), ("spike_indexes", "spike_labels", "sampling_frequency", "unit_ids"),
                    f"{name}: {uri}")
    for key in ("spike_indexes", "spike_labels"):
        if key not in z:
            raise InvalidObject(f"{name}: {uri} has no {key} array")
    times = sample_indices(z["spike_indexes"], f"{name}: spike_indexes")
    labels = unit_labels(z["spike_labels"], f"{name}: spike_labels")
    if "sampling_frequency" in z:
        fs = rate(z["sampling_frequency"], f"{name}: sampling_frequency in {uri}")
    else:
        fs = rate(d["sampling_frequency"], f"{name}: sampling_frequency")
    ids = z["unit_ids"] if "unit_ids" in z else d.get("unit_ids")
    return _sorted(times, labels, fs, ids, name)


def _h5_v1(d: Mapping, store: Store, name: str) -> SpikeArrays:
    uri = _uri(d, "h5_path", name)
    data = store.read(uri)
    what = f"{name}: {uri}"
    with open_h5(data, what) as f:
        ids = unit_labels(read_dataset(f, "unit_ids", what, len(data)), f"{name}: unit_ids")
        fs = rate(read_dataset(f, "sampling_frequency", what, len(data)), f"{name}: sampling_frequency")
        trains = [sample_indices(read_dataset(f, f"unit_spike_trains/{u}", what, len(data)), f"{name}: unit {u}")
                  for u in ids]
    times = np.concatenate(trains) if trains else np.zeros(0, np.int64)
    labels = np.repeat(ids, [len(t) for t in trains])
    return _sorted(times, labels, fs, ids, name)


_READERS = {"npy1": _npy1, "npy2": _npy2, "h5_v1": _h5_v1}


def read_sorting(sorting: Mapping | str, store: Store, name: str = "sorting",
                 units_csv: str | None = None, units_filter: Mapping | None = None) -> SpikeArrays:
    """Read a 2020 sorting object (or the ``sha1://`` URI of one) into :class:`SpikeArrays`.

    ``units_csv`` (a tab- or comma-separated table with a ``cluster_id`` column, e.g. phy's
    ``cluster_groups.csv``) and ``units_filter`` (``{column: value}``) keep only matching units.

    Raises
    ------
    InvalidObject
        Naming the field, for any malformed or impossible object or array: spike times that are not finite,
        not integral, negative or beyond :data:`~.fields.MAX_INDEX`; a rate that is not finite and positive;
        labels outside ``unit_ids``; a payload that is not a valid npy, npz or HDF5 file, or an HDF5 dataset
        whose bytes would come from outside the file.
    """
    obj = load_object(sorting, store, name)
    fmt = obj.get("sorting_format")
    if not isinstance(fmt, str) or fmt not in _READERS:
        raise InvalidObject(f"{name}: sorting_format {fmt!r} is not supported (supported: {sorted(_READERS)})")
    if not isinstance(obj.get("data"), Mapping):
        raise InvalidObject(f"{name}: {fmt} object lacks a 'data' object")
    try:
        spikes = _READERS[fmt](obj["data"], store, name)
    except KeyError as err:
        raise InvalidObject(f"{name}: {fmt} object lacks {err}") from None
    if units_csv:
        spikes = _filter_units(spikes, store, units_csv, units_filter or {}, name)
    return spikes


def _units_table(store: Store, csv_uri: str, name: str):
    import pandas as pd

    try:
        table = pd.read_csv(io.BytesIO(bytes(store.read(csv_uri))), sep=None, engine="python")
    except (ValueError, TypeError, csv.Error, pd.errors.ParserError, pd.errors.EmptyDataError,
            RecursionError) as err:
        raise InvalidObject(f"{name}: units table {csv_uri} is not a readable table: {str(err)[:200]}") from None
    if "cluster_id" not in table.columns:
        raise InvalidObject(f"{name}: units table {csv_uri} has no 'cluster_id' column "
                            f"(columns: {list(table.columns)[:20]})")
    return table


def _filter_units(spikes: SpikeArrays, store: Store, csv_uri: str, where: Mapping, name: str) -> SpikeArrays:
    table = _units_table(store, csv_uri, name)
    keep = np.ones(len(table), bool)
    for col, value in where.items():
        if col not in table.columns:
            raise InvalidObject(f"{name}: units table {csv_uri} has no column {col!r}")
        keep &= (table[col].astype(str) == str(value)).to_numpy()
    ids = table.loc[keep, "cluster_id"].to_numpy()
    if ids.dtype.kind not in "iuf":
        raise InvalidObject(f"{name}: units table {csv_uri}: cluster_id holds non-numbers")
    units = np.sort(unit_labels(ids, f"{name}: units table {csv_uri}: cluster_id"))
    mask = np.isin(spikes.unit_id, units)
    return SpikeArrays(spikes.sample_index[mask], spikes.unit_id[mask], spikes.sampling_frequency, units)


def read_drift(timestamps: str, positions: str, store: Store) -> tuple[np.ndarray, np.ndarray]:
    """The imposed-drift arrays (squeezed to 1-D float64): times in s, positions in µm.

    Raises
    ------
    InvalidObject
        Arrays that are not 1-D of equal length, hold values that are not finite, or times that decrease.
    """
    t = np.asarray(_npy(store, timestamps, f"drift timestamps {timestamps}"), dtype=float).squeeze()
    p = np.asarray(_npy(store, positions, f"drift positions {positions}"), dtype=float).squeeze()
    if t.ndim != 1 or t.shape != p.shape:
        raise InvalidObject(f"drift arrays {timestamps} {t.shape} and {positions} {p.shape} must be 1-D of "
                            "equal length")
    for arr, what in ((t, f"drift timestamps {timestamps}"), (p, f"drift positions {positions}")):
        if arr.size and not np.all(np.isfinite(arr)):
            finite(arr[~np.isfinite(arr)][0], what)  # raises, naming the array
    if np.any(np.diff(t) < 0):
        raise InvalidObject(f"drift timestamps {timestamps} decrease")
    return t, p
