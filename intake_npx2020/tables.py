"""Spike arrays and drift arrays → ``pandas.DataFrame`` tables."""

from __future__ import annotations

import numpy as np

from .formats.sortings import SpikeArrays

__all__ = ["spikes_frame", "units_frame", "drift_frame", "spike_trains"]


def spikes_frame(spikes: SpikeArrays):
    """One row per spike, sorted by time: ``unit_id``, ``sample_index`` (int64) and ``time`` (s)."""
    import pandas as pd

    df = pd.DataFrame({"unit_id": spikes.unit_id, "sample_index": spikes.sample_index,
                       "time": spikes.sample_index / spikes.sampling_frequency}, copy=False)
    df.attrs["sampling_frequency"] = spikes.sampling_frequency
    return df


def units_frame(spikes: SpikeArrays, duration: float | None = None):
    """One row per unit (index ``unit_id``): ``num_spikes`` and ``firing_rate`` (Hz over ``duration`` s).

    Without ``duration`` the span up to the last spike is used.
    """
    import pandas as pd

    ids = pd.Index(np.unique(np.asarray(spikes.unit_ids, dtype=np.int64)), name="unit_id")
    n = pd.Series(spikes.unit_id).value_counts().reindex(ids, fill_value=0).to_numpy(np.int64)
    if duration is None:
        duration = (spikes.sample_index.max() + 1) / spikes.sampling_frequency if len(spikes.sample_index) else np.nan
    return pd.DataFrame({"num_spikes": n, "firing_rate": n / duration}, index=ids)


def drift_frame(timestamps: np.ndarray, positions: np.ndarray):
    """The imposed drift: ``time`` (s) and ``position`` (µm)."""
    import pandas as pd

    return pd.DataFrame({"time": timestamps, "position": positions})


def spike_trains(spikes: SpikeArrays) -> dict[int, np.ndarray]:
    """Every unit's spike train, ``{unit_id: sample indices}`` (int64, sorted); units without spikes map to empty."""
    order = np.argsort(spikes.unit_id, kind="stable")
    ids, starts = np.unique(spikes.unit_id[order], return_index=True)
    parts = np.split(spikes.sample_index[order], starts[1:])
    trains = {int(u): np.zeros(0, np.int64) for u in spikes.unit_ids}
    trains.update({int(u): p for u, p in zip(ids, parts)})
    return trains
