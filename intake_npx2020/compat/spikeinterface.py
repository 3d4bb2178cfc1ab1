"""spikeinterface bridge: catalog entries as lazy, picklable ``BaseRecording`` / ``BaseSorting``.

A recording whose raw file is whole in a local store is opened with spikeinterface's own ``read_binary``
(JSON-serialisable, memory-mapped); otherwise it reads through our store, chunk by chunk. Either way it
carries the gain (``gain_to_uV``, ``offset_to_uV`` 0) where the catalog knows it, the probe model where the
catalog names the probe (:func:`~intake_npx2020.compat.probe.make_probe`; groups by shank on 4-shank probes),
and for NP1.0-type probes the ``inter_sample_shift`` property that ``spikeinterface.preprocessing.phase_shift``
reads.

spikeinterface >= 0.105 is required (``setup.cfg``): its ``set_probe`` is in place; before, it returned a new
object and a recording that set its probe in ``__init__`` re-entered ``__init__`` without end.
"""

from __future__ import annotations

import numpy as np

from ..arrays import LazyTraces
from ..extras import require
from ..formats import Bin1Recording, SpikeArrays, read_sorting
from ..store.engine import get_store
from ..tables import spike_trains
from .probe import make_probe, sample_shifts

_si = require("spikeinterface.core", why="the spikeinterface bridge")
BaseRecording, BaseRecordingSegment, NumpySorting = _si.BaseRecording, _si.BaseRecordingSegment, _si.NumpySorting
BaseSorting, BaseSortingSegment = _si.BaseSorting, _si.BaseSortingSegment

__all__ = ["NpxRecording", "NpxSorting", "to_recording", "to_sorting"]


def _attach(rec, spec: Bin1Recording, gain_to_uV: float | None, probe: str | None = None):
    """Set the probe (in place), the gain/offset and the ADC sampling shifts on ``rec``; return ``rec``."""
    model = make_probe(spec.locations, spec.channel_ids, probe)
    rec.set_probe(model, **({"group_mode": "by_shank"} if model.get_shank_count() > 1 else {}))
    if gain_to_uV:
        rec.set_channel_gains(float(gain_to_uV))
        rec.set_channel_offsets(0.0)
    shifts = sample_shifts(spec.locations, probe)
    if shifts is not None:
        rec.set_property("inter_sample_shift", np.asarray(shifts, dtype=float))
    return rec


class _Segment(BaseRecordingSegment):
    def __init__(self, lazy: LazyTraces, sampling_frequency: float):
        BaseRecordingSegment.__init__(self, sampling_frequency=sampling_frequency)
        self._lazy = lazy

    def get_num_samples(self) -> int:
        return self._lazy.shape[0]

    def get_traces(self, start_frame=None, end_frame=None, channel_indices=None) -> np.ndarray:
        start = 0 if start_frame is None else int(start_frame)
        end = self._lazy.shape[0] if end_frame is None else int(end_frame)
        return self._lazy[start:end, slice(None) if channel_indices is None else channel_indices]


class NpxRecording(BaseRecording):
    """A ``bin1`` recording read through the content-addressed store (local roots, then mirrors).

    Parameters
    ----------
    recording : dict
        The 2020 ``bin1`` object.
    storage_options : dict, optional
    gain_to_uV : float, optional
        µV per count.
    probe : str, optional
        The catalog's probe name (``NP1``, ``NP2``, ``NP2 4-shank``) for the probe model.
    """

    def __init__(self, recording: dict, storage_options: dict | None = None, gain_to_uV: float | None = None,
                 probe: str | None = None):
        spec = Bin1Recording.from_object(recording)
        BaseRecording.__init__(self, spec.sampling_frequency, channel_ids=spec.channel_ids, dtype="int16")
        self.add_recording_segment(_Segment(LazyTraces(spec, storage_options), spec.sampling_frequency))
        self.annotate(is_filtered=False)
        self._kwargs = {"recording": recording, "storage_options": storage_options, "gain_to_uV": gain_to_uV,
                        "probe": probe}
        _attach(self, spec, gain_to_uV, probe)


def to_recording(spec: Bin1Recording, storage_options: dict | None = None, gain_to_uV: float | None = None,
                 prefer_local_binary: bool = True, probe: str | None = None) -> BaseRecording:
    """A spikeinterface recording of ``spec`` (``read_binary`` when the whole raw file is local)."""
    path = get_store(storage_options).locate(spec.raw_sha1) if prefer_local_binary else None
    if path is None:
        return NpxRecording(spec.obj, storage_options, gain_to_uV, probe)
    from spikeinterface.core import read_binary  # noqa: PLC0415 (already imported above)

    rec = read_binary(path, sampling_frequency=spec.sampling_frequency, num_channels=spec.raw_num_channels,
                      dtype="int16", time_axis=0, is_filtered=False)
    rec = rec.select_channels(rec.channel_ids[spec.columns]).rename_channels(spec.channel_ids)
    return _attach(rec, spec, gain_to_uV, probe)


class _SortingSegment(BaseSortingSegment):
    def __init__(self, trains: dict):
        BaseSortingSegment.__init__(self)
        self._trains = trains

    def get_unit_spike_train(self, unit_id, start_frame=None, end_frame=None) -> np.ndarray:
        st = self._trains[unit_id]
        lo = 0 if start_frame is None else np.searchsorted(st, start_frame, side="left")
        hi = len(st) if end_frame is None else np.searchsorted(st, end_frame, side="left")
        return st[lo:hi]


class NpxSorting(BaseSorting):
    """A catalog sorting, re-read from its 2020 object when loaded (JSON-serialisable, unlike ``NumpySorting``).

    Parameters
    ----------
    sorting : dict or str
        The 2020 sorting object, or the ``sha1://`` URI of its JSON.
    units_csv, units_filter
        As for the ``npx_sorting`` driver.
    storage_options : dict, optional
    preloaded : SpikeArrays, optional
        The arrays already read from ``sorting`` (not serialised: a reloaded copy reads them again).
    """

    def __init__(self, sorting, units_csv: str | None = None, units_filter: dict | None = None,
                 storage_options: dict | None = None, preloaded: SpikeArrays | None = None):
        spikes = preloaded if preloaded is not None else read_sorting(
            sorting, get_store(storage_options), "sorting", units_csv, units_filter)
        BaseSorting.__init__(self, spikes.sampling_frequency, unit_ids=np.asarray(spikes.unit_ids))
        self.add_sorting_segment(_SortingSegment(spike_trains(spikes)))
        self._kwargs = {"sorting": sorting, "units_csv": units_csv, "units_filter": units_filter,
                        "storage_options": storage_options}


def to_sorting(spikes: SpikeArrays, sorting=None, units_csv: str | None = None, units_filter: dict | None = None,
               storage_options: dict | None = None):
    """A spikeinterface sorting of :class:`~intake_npx2020.formats.SpikeArrays` read from ``sorting``.

    :class:`NpxSorting` when the object (or its URI) is given, so it serialises; else a ``NumpySorting``.
    """
    if sorting is not None:
        return NpxSorting(sorting, units_csv, units_filter, storage_options, preloaded=spikes)
    fs = spikes.sampling_frequency
    return NumpySorting.from_samples_and_labels([spikes.sample_index], [spikes.unit_id], fs,
                                                unit_ids=np.asarray(spikes.unit_ids))
