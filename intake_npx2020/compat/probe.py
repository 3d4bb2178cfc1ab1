"""probeinterface probes from a recording's real contact positions (no download, no catalogue lookup)."""

from __future__ import annotations

import numpy as np

from ..extras import require

__all__ = ["make_probe", "probegroup_dict"]


def make_probe(locations: np.ndarray, channel_ids=None):
    """A 2-D ``Probe`` with 12 µm square contacts at ``locations`` (µm), wired 1:1 to the channels in order."""
    Probe = require("probeinterface", why="probe models").Probe

    locations = np.asarray(locations, dtype=float)
    probe = Probe(ndim=2, si_units="um")
    probe.set_contacts(positions=locations, shapes="square", shape_params={"width": 12})
    probe.set_device_channel_indices(np.arange(len(locations)))
    if channel_ids is not None:
        probe.set_contact_ids([str(c) for c in channel_ids])
    return probe


def probegroup_dict(x, y) -> dict:
    """The JSON form of a one-probe ``ProbeGroup`` (as spikeinterface stores it in zarr attributes)."""
    ProbeGroup = require("probeinterface", why="probe models").ProbeGroup

    group = ProbeGroup()
    group.add_probe(make_probe(np.column_stack([x, y])))
    return group.to_dict(array_as_list=True)
