"""The 2020 package's API: ``load_recording`` / ``load_sorting`` and spikeextractors-shaped objects."""

from __future__ import annotations

import numpy as np

__all__ = ["load_recording", "load_sorting", "Recording", "Sorting"]


def load_recording(id_or_label: str, download: bool = False, catalog=None, progress: bool | None = None) -> "Recording":
    """A recording by its 2020 ID or label, e.g. ``"cortexlab-single-phase-3 (ch 0-7, 10 sec)"``.

    Parameters
    ----------
    id_or_label : str
    download : bool
        Fetch the whole raw file into the store first (with a progress bar); otherwise lazy.
    catalog : intake catalog, optional
        Default: the 2020 collection.
    """
    from .catalog import find_entry, open_catalog

    cat = open_catalog() if catalog is None else catalog
    src = cat[find_entry(cat, id_or_label, "recording")]
    if download:
        src._store().fetch(src.spec.raw, progress=progress)
    return Recording(src)


def load_sorting(id_or_label: str, catalog=None) -> "Sorting":
    """A sorting by its 2020 ID or label, e.g. ``"cortexlab-single-phase-3:curated"``."""
    from .catalog import find_entry, open_catalog

    cat = open_catalog() if catalog is None else catalog
    return Sorting(cat[find_entry(cat, id_or_label, "sorting")])


class Recording:
    """What ``load_recording`` returned in 2020, minus the float64: traces are int16 ``(channels, frames)``."""

    def __init__(self, source):
        self.source = source
        self.spec = source.spec

    @classmethod
    def from_object(cls, recording: dict, storage_options: dict | None = None) -> "Recording":
        """From a 2020 ``bin1`` object mapping."""
        from .drivers import RecordingSource

        return cls(RecordingSource(recording=recording, storage_options=storage_options))

    def __repr__(self) -> str:
        return f"<Recording {self.source._label()!r}: {self.spec.num_channels} ch, {self.spec.duration:.1f} s>"

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
            raise ValueError(f"channel id {err} is not in {self.source._label()}") from err

    def get_traces(self, channel_ids=None, start_frame: int | None = None, end_frame: int | None = None) -> np.ndarray:
        """Raw int16 traces, shape ``(channels, frames)`` (the 2020 orientation)."""
        from .store import get_store

        start = 0 if start_frame is None else int(start_frame)
        end = self.spec.num_frames if end_frame is None else int(end_frame)
        idx = self._indices(channel_ids)
        block = self.spec.read(get_store(self.source.storage_options or None), start, end,
                               None if isinstance(idx, slice) else idx)
        return block.T

    def to_xarray(self):
        return self.source.to_dask()


class Sorting:
    """What ``load_sorting`` returned in 2020: unit ids and spike trains (int64 sample indices)."""

    def __init__(self, source):
        self.source = source

    def __repr__(self) -> str:
        return f"<Sorting {self.source._label()!r}>"

    def get_unit_ids(self) -> list[int]:
        return self.source.arrays.unit_ids.tolist()

    def get_sampling_frequency(self) -> float:
        return self.source.arrays.sampling_frequency

    def get_unit_spike_train(self, unit_id: int, start_frame: int | None = None, end_frame: int | None = None) -> np.ndarray:
        st = self.source.spike_train(unit_id)
        lo = 0 if start_frame is None else np.searchsorted(st, start_frame)
        hi = len(st) if end_frame is None else np.searchsorted(st, end_frame)
        return st[lo:hi]

    def to_dataframe(self):
        return self.source.read()
