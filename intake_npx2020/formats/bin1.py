"""The ``bin1`` recording object: raw interleaved int16 (frames × raw_num_channels), no header."""

from __future__ import annotations

import hashlib
import json
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import IntegrityError, InvalidArgument, InvalidObject
from ..store.engine import Store
from ..store.uri import parse_uri
from .fields import MAX_INDEX, content_uri, finite, integer, rate
from .gather import gather_columns

_KEYS = ("raw", "raw_num_channels", "num_frames", "samplerate", "channel_ids", "channel_map", "channel_positions")
#: Most interleaved columns a raw file may have (Neuropixels files have 385).
MAX_RAW_CHANNELS = 65_536


def _plain(values, kinds: tuple, lo: float, hi: float) -> np.ndarray | None:
    """``values`` as an array when every one is of exactly one of ``kinds`` (no bool) and in ``[lo, hi]``, else
    ``None`` (then the caller checks one by one and names the first bad value): the fast path of the checks."""
    if not all(type(v) in kinds for v in values):
        return None
    try:
        arr = np.array(values, dtype=np.int64 if kinds == (int,) else float)
    except (OverflowError, ValueError):
        return None
    ok = arr.size == len(values) and np.all(np.isfinite(arr)) and np.all((arr >= lo) & (arr <= hi))
    return arr if ok else None


def _channel_ids(v, name: str) -> np.ndarray:
    if not isinstance(v, (list, tuple, np.ndarray)) or len(v) == 0:
        raise InvalidObject(f"{name}: channel_ids must be a non-empty list of integers")
    ids = _plain(v, (int,), -MAX_INDEX, MAX_INDEX) if not isinstance(v, np.ndarray) else None
    if ids is None:
        ids = np.array([integer(c, f"{name}: channel_ids[{i}]", -MAX_INDEX, MAX_INDEX) for i, c in enumerate(v)],
                       dtype=np.int64)
    if len(np.unique(ids)) != len(ids):
        raise InvalidObject(f"{name}: channel_ids has duplicates")
    return ids


def _per_channel(d: Mapping, key: str, ids: np.ndarray, name: str) -> list:
    table = d[key]
    if not isinstance(table, Mapping):
        raise InvalidObject(f"{name}: {key} must be an object keyed by channel id, not {type(table).__name__}")
    try:
        return [table[str(i)] for i in ids.tolist()]  # str() of a Python int, not of a numpy scalar
    except KeyError as err:
        raise InvalidObject(f"{name}: channel {err} is missing from {key}") from None


def _columns(d: Mapping, ids: np.ndarray, C: int, name: str) -> np.ndarray:
    values = _per_channel(d, "channel_map", ids, name)
    fast = _plain(values, (int,), 0, C - 1)
    if fast is not None:
        return fast
    cols = [integer(v, f"{name}: channel_map[{i}]") for i, v in zip(ids, values)]
    bad = [(int(i), c) for i, c in zip(ids, cols) if not 0 <= c < C]
    if bad:
        raise InvalidObject(f"{name}: channel_map[{bad[0][0]}] = {bad[0][1]} points outside the {C} raw columns")
    return np.array(cols, dtype=np.int64)


def _locations(d: Mapping, ids: np.ndarray, name: str) -> np.ndarray:
    pairs = _per_channel(d, "channel_positions", ids, name)
    if all(type(p) is list and len(p) == 2 for p in pairs):
        fast = _plain([v for p in pairs for v in p], (float, int), -np.inf, np.inf)
        if fast is not None:
            return fast.reshape(len(ids), 2)
    out = []
    for i, p in zip(ids, pairs):
        if not isinstance(p, (list, tuple)) or len(p) != 2:
            raise InvalidObject(f"{name}: channel_positions[{i}] must be [x, y], got {reprlib.repr(p)}")
        out.append([finite(v, f"{name}: channel_positions[{i}]") for v in p])
    return np.array(out, dtype=float).reshape(len(ids), 2)


@dataclass(frozen=True, eq=False)
class Bin1Recording:
    """A validated ``bin1`` recording object.

    Attributes
    ----------
    raw : str
        ``sha1://`` URI of the raw file.
    raw_num_channels : int
        Columns per frame in the raw file.
    num_frames : int
    sampling_frequency : float
    channel_ids : numpy.ndarray
        Channel ids, in object order.
    columns : numpy.ndarray
        Raw column of each channel (``channel_map``).
    locations : numpy.ndarray
        ``(n_channels, 2)`` x, y in µm.
    obj : dict
        The object as given (for provenance and hashing).
    """

    raw: str
    raw_num_channels: int
    num_frames: int
    sampling_frequency: float
    channel_ids: np.ndarray
    columns: np.ndarray
    locations: np.ndarray
    obj: dict

    @classmethod
    def from_object(cls, obj: Mapping, name: str = "recording") -> "Bin1Recording":
        """Validate a 2020 ``{"recording_format": "bin1", "data": {…}}`` mapping.

        Raises
        ------
        InvalidObject
            Naming the field: a missing key; a raw URI that does not parse; ``raw_num_channels`` not an
            integer in ``[1, MAX_RAW_CHANNELS]``; ``num_frames`` not a non-negative integer (or a file of 2**63
            bytes or more); a sampling rate not finite and positive; channel ids not distinct integers; a
            channel map entry not an integer column of the raw file; a position not two finite numbers.
        """
        if not isinstance(obj, Mapping) or obj.get("recording_format") != "bin1":
            fmt = obj.get("recording_format") if isinstance(obj, Mapping) else type(obj).__name__
            raise InvalidObject(f"{name}: only recording_format 'bin1' is supported, got {fmt!r}")
        d = obj.get("data")
        if not isinstance(d, Mapping):
            raise InvalidObject(f"{name}: a bin1 object needs a 'data' object")
        missing = [k for k in _KEYS if k not in d]
        if missing:
            raise InvalidObject(f"{name}: bin1 object lacks {missing}")
        raw = content_uri(d["raw"], name, "raw")
        C = integer(d["raw_num_channels"], f"{name}: raw_num_channels", 1, MAX_RAW_CHANNELS)
        N = integer(d["num_frames"], f"{name}: num_frames", 0, (2**63 - 1) // (2 * C))
        fs = rate(d["samplerate"], f"{name}: samplerate")
        ids = _channel_ids(d["channel_ids"], name)
        return cls(raw, C, N, fs, ids, _columns(d, ids, C, name), _locations(d, ids, name), dict(obj))

    @property
    def raw_sha1(self) -> str:
        return parse_uri(self.raw).sha1

    @property
    def num_channels(self) -> int:
        return len(self.channel_ids)

    @property
    def duration(self) -> float:
        return self.num_frames / self.sampling_frequency

    @property
    def nbytes(self) -> int:
        """Size of the raw file in bytes."""
        return self.num_frames * 2 * self.raw_num_channels

    @cached_property
    def object_sha1(self) -> str:
        """sha1 of ``json.dumps(obj)``: the 2020 ``recordingPath`` hash."""
        return hashlib.sha1(json.dumps(self.obj).encode()).hexdigest()

    @staticmethod
    def _as_slice(cols: np.ndarray) -> slice | None:
        """``cols`` as a slice when it is a contiguous ascending run (then a view replaces a gather)."""
        if cols.ndim == 1 and cols.size and np.all(np.diff(cols) == 1):
            return slice(int(cols[0]), int(cols[-1]) + 1)
        return None

    def check_size(self, store: Store) -> None:
        """Raise :class:`IntegrityError` if the raw file's size disagrees with the object."""
        size = store.size(self.raw)
        if size != self.nbytes:
            raise IntegrityError(f"{self.raw}: file has {size} bytes but the object says {self.num_frames} frames × "
                                 f"{self.raw_num_channels} channels × 2 = {self.nbytes}")

    def read(self, store: Store, start: int, stop: int, channels=None) -> np.ndarray:
        """Frames ``[start, stop)`` as int16 ``(frames, channels)``; ``channels`` indexes ``channel_ids``.

        A new C-contiguous array: all raw columns are read straight into it; a subset is gathered from the raw
        frames in one pass (:func:`.gather.gather_columns`).
        """
        if not (0 <= start <= stop <= self.num_frames):
            raise InvalidArgument(f"frames [{start}, {stop}) are outside recording {self.raw} of {self.num_frames} frames")
        cols = self.columns if channels is None else self.columns[channels]
        single = not isinstance(cols, np.ndarray)  # a single channel
        cols = np.atleast_1d(cols)
        out = np.empty((stop - start, len(cols)), dtype="<i2")
        offset = start * 2 * self.raw_num_channels
        if stop == start or not len(cols):
            pass
        elif self._as_slice(cols) == slice(0, self.raw_num_channels):
            store.read_into(self.raw, offset, memoryview(out).cast("B"))
        else:
            gather_columns(store, self.raw, offset, self.raw_num_channels, cols, out)
        return out[:, 0] if single else out
