"""Any recording DataArray (a hybrid included) as a lazy, picklable spikeinterface ``BaseRecording``."""

from __future__ import annotations

import numpy as np

from ..compat.probe import make_probe
from ..extras import require

__all__ = ["ReaderRecording", "to_si_recording"]

_si = require("spikeinterface.core", why="spikeinterface recordings of hybrids")


class _Segment(_si.BaseRecordingSegment):
    def __init__(self, reader, sampling_frequency: float):
        _si.BaseRecordingSegment.__init__(self, sampling_frequency=sampling_frequency)
        self._reader = reader

    def get_num_samples(self) -> int:
        return self._reader.shape[0]

    def get_traces(self, start_frame=None, end_frame=None, channel_indices=None) -> np.ndarray:
        a = 0 if start_frame is None else int(start_frame)
        b = self._reader.shape[0] if end_frame is None else int(end_frame)
        return self._reader[a:b, slice(None) if channel_indices is None else channel_indices]


class ReaderRecording(_si.BaseRecording):
    """Frames from a reader (``reader[a:b, channels]``), with the probe attached; pickles as its reader.

    Parameters
    ----------
    reader : LazyTraces-like
    sampling_frequency : float
    channel_ids : array-like
    locations : array-like, shape (channels, 2)
    gain_to_uV : float, optional
    probe : str, optional
        The catalog's probe name (``NP1``, ``NP2``…), for the Neuropixels model.
    """

    def __init__(self, reader, sampling_frequency: float, channel_ids, locations, gain_to_uV: float | None = None,
                 probe: str | None = None):
        _si.BaseRecording.__init__(self, float(sampling_frequency), channel_ids=np.asarray(channel_ids),
                                   dtype="int16")
        self.add_recording_segment(_Segment(reader, float(sampling_frequency)))
        self.annotate(is_filtered=False)
        self._kwargs = {"reader": reader, "sampling_frequency": float(sampling_frequency),
                        "channel_ids": np.asarray(channel_ids), "locations": np.asarray(locations, float),
                        "gain_to_uV": gain_to_uV, "probe": probe}
        if gain_to_uV:
            self.set_channel_gains(float(gain_to_uV))
            self.set_channel_offsets(0.0)
        self.set_probe(make_probe(np.asarray(locations, float), np.asarray(channel_ids), probe))  # in place (0.105)


def to_si_recording(traces) -> ReaderRecording:
    """A spikeinterface recording of a recording ``DataArray`` (read through its reader, window by window)."""
    from .reader import reader_of

    loc = np.stack([traces["x"].values, traces["y"].values], axis=1)
    return ReaderRecording(reader_of(traces), traces.attrs["sampling_frequency"], traces["channel"].values, loc,
                           traces.attrs.get("gain_to_uV"), traces.attrs.get("probe"))
