"""The 2020 API on real ``spikeextractors`` classes (0.9.11, the last release), working on numpy 2.

spikeextractors 0.9.11 uses ``np.Inf`` (removed in numpy 2) and imports ``packaging`` without declaring it
(the extra ``[spikeextractors]`` installs it); the alias is restored before the import. Subclasses must define
``has_unscaled``, which the ABC reads but does not declare.

Both extractors dump and load with spikeextractors' own ``dump_to_dict`` / ``load_extractor_from_dict`` (and
its JSON and pickle files): their keyword arguments are the 2020 objects as JSON text, because spikeextractors
reads every dict-valued argument as a nested extractor. A sorting built from arrays alone has nothing to
reload from and says so (``is_dumpable`` false).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np

if not hasattr(np, "Inf"):
    np.Inf = np.inf  # spikeextractors 0.9.11 calls np.Inf in get_unit_spike_train's default end_frame

import spikeextractors as se  # noqa: E402

from ..formats import SpikeArrays, read_sorting  # noqa: E402
from ..store.engine import get_store  # noqa: E402
from ..tables import spike_trains  # noqa: E402

__all__ = ["NpxRecordingExtractor", "NpxSortingExtractor", "to_recording_extractor", "to_sorting_extractor"]


def _as_text(value) -> str | None:
    """A dict argument as JSON text (spikeextractors takes dict arguments for nested extractors)."""
    return json.dumps(value, sort_keys=True) if isinstance(value, Mapping) else value


def _as_object(value):
    """Back from :func:`_as_text`: JSON text of an object becomes the object; anything else is kept."""
    return json.loads(value) if isinstance(value, str) and value.lstrip().startswith("{") else value


class NpxRecordingExtractor(se.RecordingExtractor):
    """A catalog recording as a spikeextractors ``RecordingExtractor``; traces are int16 ``(channels, frames)``."""

    extractor_name = "NpxRecordingExtractor"
    has_default_locations = True
    has_unscaled = False
    installed = True
    is_writable = False

    def __init__(self, recording: dict | str, storage_options: dict | str | None = None,
                 gain_to_uV: float | None = None):
        from .seed import Recording

        se.RecordingExtractor.__init__(self)
        self._rec = Recording.from_object(_as_object(recording), _as_object(storage_options) or None)
        self.set_channel_locations(self._rec.get_channel_locations())
        if gain_to_uV:
            self.set_channel_gains(float(gain_to_uV))
            self.set_channel_offsets(0.0)
        self._kwargs = {"recording": _as_text(recording), "storage_options": _as_text(storage_options),
                        "gain_to_uV": gain_to_uV}

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
    """A catalog sorting as a spikeextractors ``SortingExtractor``.

    Parameters
    ----------
    sorting : dict or str
        The 2020 sorting object (or its JSON text, or the ``sha1://`` URI of its JSON).
    units_csv, units_filter
        As for the ``npx_sorting`` driver (``units_filter`` also as JSON text).
    storage_options : dict or str, optional
    """

    extractor_name = "NpxSortingExtractor"
    installed = True
    is_writable = False

    def __init__(self, sorting: dict | str, units_csv: str | None = None, units_filter: dict | str | None = None,
                 storage_options: dict | str | None = None):
        se.SortingExtractor.__init__(self)
        spikes = read_sorting(_as_object(sorting), get_store(_as_object(storage_options) or None), "sorting",
                              units_csv, _as_object(units_filter))
        self._set_arrays(spikes)
        self._kwargs = {"sorting": _as_text(sorting), "units_csv": units_csv, "units_filter": _as_text(units_filter),
                        "storage_options": _as_text(storage_options)}

    def _set_arrays(self, spikes: SpikeArrays) -> None:
        self._trains = spike_trains(spikes)
        self._unit_ids = [int(u) for u in spikes.unit_ids]
        self._sampling_frequency = float(spikes.sampling_frequency)

    @classmethod
    def from_arrays(cls, spikes: SpikeArrays) -> "NpxSortingExtractor":
        """From spike arrays in memory: usable, but not dumpable (nothing to reload it from)."""
        self = cls.__new__(cls)
        se.SortingExtractor.__init__(self)
        self._set_arrays(spikes)
        self.is_dumpable = False
        return self

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


def to_sorting_extractor(spikes: SpikeArrays, sorting=None, units_csv: str | None = None,
                         units_filter: dict | None = None, storage_options: dict | None = None) -> NpxSortingExtractor:
    """From :class:`~intake_npx2020.formats.SpikeArrays` already read from ``sorting`` (its object or URI).

    With ``sorting`` the extractor is dumpable (it reloads from the object); without, it is not.
    """
    out = NpxSortingExtractor.from_arrays(spikes)
    if sorting is not None:
        out.is_dumpable = True
        out._kwargs = {"sorting": _as_text(sorting), "units_csv": units_csv, "units_filter": _as_text(units_filter),
                       "storage_options": _as_text(storage_options)}
    return out
