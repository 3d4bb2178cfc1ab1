"""What the analysis reads from a recording ``DataArray``: sampling rate, first frame, positions, dask data."""

from __future__ import annotations

import numpy as np

from ..errors import InvalidObject

__all__ = ["sampling_frequency", "start_frame", "channel_positions", "time_chunked"]


def sampling_frequency(traces) -> float:
    """``traces.attrs["sampling_frequency"]`` as a float.

    Raises
    ------
    InvalidObject
        If the attribute is missing.
    """
    try:
        return float(traces.attrs["sampling_frequency"])
    except KeyError:
        raise InvalidObject("traces.attrs has no 'sampling_frequency'") from None


def start_frame(traces, fs: float) -> int:
    """Frame index (time * fs) of the first row, so sample indices refer to the recording's time zero."""
    if "time" in traces.coords and traces.sizes["time"]:
        first = np.asarray(traces["time"][:1].values)    # one label: never materialise the whole axis
        return int(round(float(first[0]) * fs))
    return 0


def channel_positions(traces) -> np.ndarray:
    """(channels, 2) float array of the ``x``, ``y`` coords (µm)."""
    return np.stack([np.asarray(traces["x"].values, float), np.asarray(traces["y"].values, float)], axis=1)


def time_chunked(traces):
    """The traces' dask array (numpy data wrapped in 1-s chunks), with all channels in one chunk."""
    import dask.array as da

    data = traces.data
    if not isinstance(data, da.Array):
        data = da.from_array(np.asarray(data), chunks=(int(sampling_frequency(traces)), -1))
    if len(data.chunks[1]) != 1:
        data = data.rechunk({1: -1})
    return data
