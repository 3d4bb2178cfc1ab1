"""The 2020 API on real ``spikeextractors`` classes (0.9.11, the last release), working on numpy 2.

spikeextractors 0.9.11 uses ``np.Inf`` (removed in numpy 2) and imports ``packaging`` without declaring it
(the extra ``[spikeextractors]`` installs it); the alias is restored before the import. Subclasses must define
``has_unscaled``, which the ABC reads but does not declare.
"""

from __future__ import annotations

import numpy as np

if not hasattr(np, "Inf"):
    np.Inf = np.inf  # spikeextractors 0.9.11 calls np.Inf in get_unit_spike_train's default end_frame

import spikeextractors as se  # noqa: E402

from ..formats import SpikeArrays  # noqa: E402
from ..tables import spike_trains  # noqa: E402

__all__ = ["NpxRecordingExtractor", "NpxSortingExtractor", "to_recording_extractor", "to_sorting_extractor"]


class NpxRecordingExtractor(se.RecordingExtractor):
    """A catalog recording as a spikeextractors ``RecordingExtractor``; traces are int16 ``(channels, frames)``."""

    extractor_name = "NpxRecordingExtractor"
    has_default_locations = True
    has_unscaled = False
    installed = True
    is_writable = False

    def __init__(self, recording: dict, storage_options: dict | None = None, gain_to_uV: float | None = None):
        from .seed import Recording

        se.RecordingExtractor.__init__(self)
        self._rec = Recording.from_object(recording, storage_options)
        self.set_channel_locations(self._rec.get_channel_locations())
        if gain_to_uV:
            self.set_channel_gains(float(gain_to_uV))
        self._kwargs = {"recording": recording, "storage_options": storage_options, "gain_to_uV": gain_to_uV}

    def get_channel_ids(self) -> list[int]:
        return self._rec.get_channel_ids()

    def get_num_frames(self) -> int:
        return self._rec.get_num_frames()

    def get_sampling_frequency(self) -> float:
        return self._rec.get_sampling_frequency()

    @se.extraction_tools.check_get_traces_args
    def get_traces(self, channel_ids=None, start_frame=None, end_frame=None, return_scaled=True) -> np.ndarray:
        return self._rec.get_traces(channel_ids, start_frame, end_frame)


class NpxSortingExtractor(se.SortingExtractor):
    """A catalog sorting as a spikeextractors ``SortingExtractor``."""

    extractor_name = "NpxSortingExtractor"
    installed = True
    is_writable = False

    def __init__(self, sample_index: np.ndarray, unit_id: np.ndarray, unit_ids, sampling_frequency: float):
        se.SortingExtractor.__init__(self)
        self._trains = spike_trains(SpikeArrays(sample_index, unit_id, float(sampling_frequency), np.asarray(unit_ids)))
        self._unit_ids = [int(u) for u in unit_ids]
        self._sampling_frequency = float(sampling_frequency)

    def get_unit_ids(self) -> list[int]:
        return list(self._unit_ids)

    @se.extraction_tools.check_get_unit_spike_train
    def get_unit_spike_train(self, unit_id, start_frame=None, end_frame=None) -> np.ndarray:
        st = self._trains[int(unit_id)]
        return st[(st >= start_frame) & (st < end_frame)]


def to_recording_extractor(spec, storage_options: dict | None = None,
                           gain_to_uV: float | None = None) -> NpxRecordingExtractor:
    """From a :class:`~intake_npx2020.formats.Bin1Recording` spec."""
    return NpxRecordingExtractor(spec.obj, storage_options, gain_to_uV)


def to_sorting_extractor(spikes) -> NpxSortingExtractor:
    """From :class:`~intake_npx2020.formats.SpikeArrays`."""
    return NpxSortingExtractor(spikes.sample_index, spikes.unit_id, spikes.unit_ids, spikes.sampling_frequency)
