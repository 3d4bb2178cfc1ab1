"""pynapple bridge: a sorting as a ``TsGroup`` (one ``Ts`` per unit, times in seconds) with the unit table.

The unit table (:func:`~intake_npx2020.tables.units_frame`: ``num_spikes``, ``firing_rate``) becomes the group's
metadata, indexed like the group by unit id; pynapple adds its own ``rate`` over the time support. The time
support is ``[0, duration]`` when the recording's duration is known and holds every spike, else ``[0, last
spike + 1 sample]``; ``firing_rate`` is over the same span.
"""

from __future__ import annotations

import numpy as np

from ..extras import require
from ..formats import SpikeArrays
from ..tables import spike_trains, units_frame

__all__ = ["to_tsgroup"]


def to_tsgroup(spikes: SpikeArrays, duration_s: float | None = None):
    """A ``pynapple.TsGroup`` of the sorting (extra ``[pynapple]``).

    Parameters
    ----------
    spikes : SpikeArrays
    duration_s : float, optional
        The recording's duration (s): the end of the time support and of the span of ``firing_rate``.

    Returns
    -------
    pynapple.TsGroup
        Keys: unit ids; each a ``Ts`` of spike times in seconds (sample index / sampling frequency); metadata
        ``num_spikes`` and ``firing_rate`` (Hz) from the unit table.
    """
    nap = require("pynapple", "pynapple", "the pynapple bridge")
    fs = float(spikes.sampling_frequency)
    trains = spike_trains(spikes)
    end = (max((int(st[-1]) for st in trains.values() if len(st)), default=0) + 1) / fs
    if duration_s and end <= float(duration_s):
        end = float(duration_s)
    support = nap.IntervalSet(0.0, end)
    group = nap.TsGroup({int(u): nap.Ts(t=np.asarray(st, dtype=np.float64) / fs, time_support=support)
                         for u, st in trains.items()}, time_support=support)
    group.set_info(units_frame(spikes, end).reindex(list(group.keys())))
    return group
