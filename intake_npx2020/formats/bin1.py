"""The ``bin1`` recording object: raw interleaved int16 (frames × raw_num_channels), no header."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import IntegrityError
from ..store.engine import Store
from ..store.uri import parse_uri

_KEYS = ("raw", "raw_num_channels", "num_frames", "samplerate", "channel_ids", "channel_map", "channel_positions")


def _scalar(v, what: str) -> float:
    arr = np.asarray(v, dtype=float).ravel()
    if arr.size != 1:
        raise ValueError(f"{what} must be a number, got {v!r}")
    return float(arr[0])


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
        """Validate a 2020 ``{"recording_format": "bin1", "data": {…}}`` mapping."""
        if not isinstance(obj, Mapping) or obj.get("recording_format") != "bin1":
            fmt = obj.get("recording_format") if isinstance(obj, Mapping) else type(obj).__name__
            raise ValueError(f"{name}: only recording_format 'bin1' is supported, got {fmt!r}")
        d = obj.get("data") or {}
        missing = [k for k in _KEYS if k not in d]
        if missing:
            raise ValueError(f"{name}: bin1 object lacks {missing}")
        parse_uri(d["raw"])
        C, N = int(d["raw_num_channels"]), int(d["num_frames"])
        ids = np.asarray(d["channel_ids"])
        if ids.dtype.kind == "f":
            if not np.all(ids == np.round(ids)):
                raise ValueError(f"{name}: channel_ids are not integers")
            ids = ids.astype(np.int64)
        try:
            cols = np.array([int(d["channel_map"][str(i)]) for i in ids], dtype=np.int64)
            locs = np.array([[float(v) for v in d["channel_positions"][str(i)]] for i in ids], dtype=float)
        except KeyError as err:
            raise ValueError(f"{name}: channel {err} is missing from channel_map or channel_positions") from err
        if C <= 0 or N < 0 or len(ids) == 0:
            raise ValueError(f"{name}: raw_num_channels={C}, num_frames={N}, {len(ids)} channels")
        if cols.min() < 0 or cols.max() >= C:
            raise ValueError(f"{name}: channel_map points outside the {C} raw columns")
        if locs.shape != (len(ids), 2):
            raise ValueError(f"{name}: channel_positions must be [x, y] per channel")
        fs = _scalar(d["samplerate"], f"{name}: samplerate")
        return cls(d["raw"], C, N, fs, ids, cols, locs, dict(obj))

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

    @cached_property
    def _all_columns(self) -> slice | None:
        return self._as_slice(self.columns)

    def check_size(self, store: Store) -> None:
        """Raise :class:`IntegrityError` if the raw file's size disagrees with the object."""
        size = store.size(self.raw)
        if size != self.nbytes:
            raise IntegrityError(f"{self.raw}: file has {size} bytes but the object says {self.num_frames} frames × "
                                 f"{self.raw_num_channels} channels × 2 = {self.nbytes}")

    def read(self, store: Store, start: int, stop: int, channels=None) -> np.ndarray:
        """Frames ``[start, stop)`` as int16 ``(frames, channels)``; ``channels`` indexes ``channel_ids``."""
        if not (0 <= start <= stop <= self.num_frames):
            raise ValueError(f"frames [{start}, {stop}) are outside recording {self.raw} of {self.num_frames} frames")
        block = np.empty((stop - start, self.raw_num_channels), dtype="<i2")
        if stop > start:
            store.read_into(self.raw, start * 2 * self.raw_num_channels, memoryview(block).cast("B"))
        cols = self.columns if channels is None else self.columns[channels]
        if not isinstance(cols, np.ndarray):  # a single channel
            return block[:, cols]
        run = self._all_columns if channels is None else self._as_slice(cols)
        if run is not None:
            return block if run == slice(0, self.raw_num_channels) else block[:, run]
        return np.take(block, cols, axis=1)
