"""The 2020 package's recording and sorting objects (spikeextractors-shaped), over a spec and its spike arrays."""

from __future__ import annotations

import numpy as np

from ..arrays import to_xarray
from ..errors import InvalidArgument, UnknownUnit
from ..formats import Bin1Recording, SpikeArrays
from ..store import get_store
from ..tables import spike_trains, spikes_frame

__all__ = ["Recording", "Sorting"]


def _frame(value, default: int, name: str, label: str) -> int:
    if value is None:
        return default
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float, np.floating)):
        raise InvalidArgument(f"{name} must be a whole number of frames, got {value!r} ({label})")
    if isinstance(value, (float, np.floating)) and not float(value).is_integer():
        raise InvalidArgument(f"{name} {value!r} is not a whole number of frames; frames are refused, not rounded "
                              f"({label})")
    return int(value)


def frame_range(start_frame, end_frame, num_frames: int, label: str = "recording") -> tuple[int, int]:
    """``[start, end)`` checked against a recording of ``num_frames`` frames (``None``: its start / its end).

    Raises
    ------
    InvalidArgument
        Fractional or non-numeric frames, a start after the end, or frames outside ``[0, num_frames]``.
    """
    start = _frame(start_frame, 0, "start_frame", label)
    end = _frame(end_frame, num_frames, "end_frame", label)
    if start > end:
        raise InvalidArgument(f"start_frame {start} is after end_frame {end} ({label})")
    if start < 0 or end > num_frames:
        raise InvalidArgument(f"frames [{start}, {end}) are outside {label}, which has frames [0, {num_frames})")
    return start, end


class Recording:
    """What ``load_recording`` returned in 2020, minus the float64: traces are int16 ``(channels, frames)``.

    Parameters
    ----------
    spec : Bin1Recording
    storage_options : dict, optional
    label : str, optional
        The catalog ID, used in messages and as the DataArray name.
    attrs : dict, optional
        Extra attributes for :meth:`to_xarray` (e.g. ``gain_to_uV``).
    """

    def __init__(self, spec: Bin1Recording, storage_options: dict | None = None, label: str | None = None,
                 attrs: dict | None = None):
        self.spec = spec
        self.storage_options = storage_options or None
        self.label = label or spec.raw
        self.attrs = attrs or {}

    @classmethod
    def from_object(cls, recording: dict, storage_options: dict | None = None) -> "Recording":
        """From a 2020 ``bin1`` object mapping."""
        return cls(Bin1Recording.from_object(recording), storage_options)

    def __repr__(self) -> str:
        return f"<Recording {self.label!r}: {self.spec.num_channels} ch, {self.spec.duration:.1f} s>"

    def get_sampling_frequency(self) -> float:
        return self.spec.sampling_frequency

    def get_num_frames(self) -> int:
        return self.spec.num_frames

    def get_channel_ids(self) -> list[int]:
        return self.spec.channel_ids.tolist()

    def get_channel_locations(self, channel_ids=None) -> np.ndarray:
        return self.spec.locations[self._indices(channel_ids)]

    def _indices(self, channel_ids):
        ids = self.spec.channel_ids
        if channel_ids is None:
            return slice(None)
        lookup = {int(c): i for i, c in enumerate(ids)}
        try:
            return np.array([lookup[int(c)] for c in np.atleast_1d(channel_ids)])
        except KeyError as err:
            raise InvalidArgument(f"channel id {err} is not in {self.label}") from err

    def get_traces(self, channel_ids=None, start_frame: int | None = None, end_frame: int | None = None) -> np.ndarray:
        """Raw int16 traces, shape ``(channels, frames)`` (the 2020 orientation)."""
        start, end = frame_range(start_frame, end_frame, self.spec.num_frames, self.label)
        idx = self._indices(channel_ids)
        block = self.spec.read(get_store(self.storage_options), start, end, None if isinstance(idx, slice) else idx)
        return block.T

    def to_xarray(self):
        return to_xarray(self.spec, 1.0, self.storage_options, self.label, self.attrs)


class Sorting:
    """What ``load_sorting`` returned in 2020: unit ids and spike trains (int64 sample indices)."""

    def __init__(self, spikes: SpikeArrays, label: str | None = None):
        self.spikes = spikes
        self.label = label or "sorting"
        self._trains: dict | None = None

    def __repr__(self) -> str:
        return f"<Sorting {self.label!r}>"

    def get_unit_ids(self) -> list[int]:
        return self.spikes.unit_ids.tolist()

    def get_sampling_frequency(self) -> float:
        return self.spikes.sampling_frequency

    def get_unit_spike_train(self, unit_id: int, start_frame: int | None = None, end_frame: int | None = None) -> np.ndarray:
        if self._trains is None:
            self._trains = spike_trains(self.spikes)
        if int(unit_id) not in self._trains:
            raise UnknownUnit(f"sorting {self.label} has no unit {unit_id!r}")
        st = self._trains[int(unit_id)]
        lo = 0 if start_frame is None else np.searchsorted(st, start_frame)
        hi = len(st) if end_frame is None else np.searchsorted(st, end_frame)
        return st[lo:hi]

    def to_dataframe(self):
        return spikes_frame(self.spikes)
