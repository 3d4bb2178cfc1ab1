"""Build the 2020 collection's objects with its exact key order, so that their sha1 reproduces.

The object hash of a recording is ``sha1(json.dumps(obj).encode())`` (the 2020 ``recordingPath``): key order and
int/float types matter, so values are kept as given (``samplerate`` ``30000`` and ``30000.0`` hash differently).
Used by the package (synth, add), the tests and ``tools/build_catalog.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import InvalidObject

__all__ = ["bin1_object", "npy1_object", "npy2_object", "h5_v1_object"]


def bin1_object(raw: str, raw_num_channels: int, num_frames: int, channel_map: Sequence[int],
                positions: Sequence[Sequence[float]], samplerate: int | float = 30000,
                channel_ids: Sequence[int] | None = None) -> dict:
    """A ``bin1`` recording object in the upstream key order.

    Parameters
    ----------
    raw : str
        ``sha1://`` URI of the raw interleaved int16 file.
    raw_num_channels : int
        Interleaved int16 columns per frame in the raw file.
    num_frames : int
        Frames (samples per channel).
    channel_map : sequence of int
        Raw column of each channel, in the order of ``channel_ids``.
    positions : sequence of [x, y]
        Position (µm) of each channel, in the order of ``channel_ids``; ints or floats, kept as given.
    samplerate : int or float
        Sampling rate as stored upstream (int ``30000`` where known).
    channel_ids : sequence of int, optional
        Channel ids (default ``0 … n-1``).

    Returns
    -------
    dict
        ``{"recording_format": "bin1", "data": {...}}``.
    """
    ids = list(range(len(channel_map))) if channel_ids is None else [int(c) for c in channel_ids]
    if not len(ids) == len(channel_map) == len(positions):
        raise InvalidObject(f"bin1 object: {len(ids)} channel ids, {len(channel_map)} map entries and "
                            f"{len(positions)} positions; they must be equal")
    return {
        "recording_format": "bin1",
        "data": {
            "raw": raw,
            "raw_num_channels": int(raw_num_channels),
            "num_frames": int(num_frames),
            "samplerate": samplerate,
            "channel_ids": ids,
            "channel_map": {str(c): int(m) for c, m in zip(ids, channel_map)},
            "channel_positions": {str(c): list(p) for c, p in zip(ids, positions)},
        },
    }


def npy1_object(times_npy_uri: str, labels_npy_uri: str, samplerate: int | float = 30000) -> dict:
    """An ``npy1`` sorting object (spike times and labels as ``.npy`` URIs) in the upstream key order."""
    return {"sorting_format": "npy1",
            "data": {"times_npy_uri": times_npy_uri, "labels_npy_uri": labels_npy_uri, "samplerate": samplerate}}


def npy2_object(npz_uri: str, unit_ids: Sequence[int] | None = None, sampling_frequency: float = 30000.0) -> dict:
    """An ``npy2`` sorting object (one ``.npz``); ``unit_ids`` ``None`` leaves them to the npz."""
    return {"sorting_format": "npy2",
            "data": {"npz_uri": npz_uri, "unit_ids": None if unit_ids is None else [int(u) for u in unit_ids],
                     "sampling_frequency": sampling_frequency}}


def h5_v1_object(h5_path: str) -> dict:
    """A historic ``h5_v1`` sorting object (one HDF5 file)."""
    return {"sorting_format": "h5_v1", "data": {"h5_path": h5_path}}
