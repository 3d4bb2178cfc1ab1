"""probeinterface probes of a recording: the real Neuropixels model where the catalog names the probe.

:func:`make_probe` builds the part's model with probeinterface (``build_neuropixels_probe``), keeps the
recording's electrodes (found from its contact positions by :mod:`intake_npx2020.formats.neuropixels`) and
places them at the recording's own positions, so ``get_channel_locations()`` stays what the catalog says; the
contour follows into the same frame. Contact ids, shank ids, contact shapes and the model's annotations come
from probeinterface; NP1.0-type probes also carry ``adc_group`` / ``adc_sample_order`` and
``num_channels_per_adc``, which spikeinterface's ``get_neuropixels_sample_shifts_from_probe`` reads. A probe
that is unknown or does not fit the positions falls back to generic 12 µm square contacts.
"""

from __future__ import annotations

import numpy as np

from ..extras import require
from ..formats.neuropixels import channel_geometry, find_frame, model_for

__all__ = ["make_probe", "probegroup_dict", "sample_shifts"]


def _generic(locations: np.ndarray):
    Probe = require("probeinterface", why="probe models").Probe

    probe = Probe(ndim=2, si_units="um")
    probe.set_contacts(positions=locations, shapes="square", shape_params={"width": 12})
    return probe


def _model(locations: np.ndarray, probe_name: str, geometry: dict):
    pi = require("probeinterface", why="probe models")
    model = model_for(probe_name)
    full = require("probeinterface.neuropixels_tools", why="probe models").build_neuropixels_probe(model.part_number)
    index = {cid: i for i, cid in enumerate(full.contact_ids)}
    part = full.get_slice(np.array([index[c] for c in geometry["contact_id"]], dtype=np.int64))
    (sign, x0, y0), _, _ = find_frame(locations, probe_name)   # model (x, y) = (sign * (x - x0), y - y0)
    if not np.allclose((locations - [x0, y0]) * [sign, 1.0], part.contact_positions, atol=0.5):
        raise AssertionError(f"{model.part_number}: probeinterface's positions differ from the fitted electrodes")
    probe = pi.Probe(ndim=2, si_units="um", name=model.description, manufacturer="imec",
                     model_name=model.part_number)
    probe.set_contacts(positions=locations, shapes=part.contact_shapes, shape_params=part.contact_shape_params,
                       shank_ids=part.shank_ids if model.num_shanks > 1 else None)
    probe.set_contact_ids(part.contact_ids)
    if part.probe_planar_contour is not None:
        contour = np.asarray(part.probe_planar_contour, dtype=float)
        probe.set_planar_contour(np.column_stack([sign * contour[:, 0] + x0, contour[:, 1] + y0]))
    probe.annotate(**{k: v for k, v in part.annotations.items()
                      if k not in ("name", "manufacturer", "model_name", "shank_tips")})
    if "adc_group" in geometry:
        probe.annotate(num_adcs=32, num_channels_per_adc=12, adc_order_note=model.note)
        probe.annotate_contacts(adc_group=geometry["adc_group"], adc_sample_order=geometry["adc_sample_order"])
    return probe


def make_probe(locations, channel_ids=None, probe: str | None = None):
    """A 2-D probeinterface ``Probe`` wired 1:1 to the channels in order.

    Parameters
    ----------
    locations : array-like, shape (channels, 2)
        Contact positions in µm (the recording's ``x``, ``y``).
    channel_ids : sequence, optional
        Kept as the contact ids of a generic probe (a real model has its own: ``e<n>`` / ``s<k>e<n>``).
    probe : str, optional
        The catalog's probe name (``NP1``, ``NP2``, ``NP2 4-shank``): use that Neuropixels model.

    Returns
    -------
    probeinterface.Probe
    """
    locations = np.asarray(locations, dtype=float).reshape(-1, 2)
    geometry = channel_geometry(locations, probe)
    if geometry is not None:
        out = _model(locations, probe, geometry)
    else:
        out = _generic(locations)
        if channel_ids is not None:
            out.set_contact_ids([str(c) for c in channel_ids])
    out.set_device_channel_indices(np.arange(len(locations)))
    return out


def sample_shifts(locations, probe: str | None) -> np.ndarray | None:
    """Each channel's ADC sampling delay as a fraction of a sample (spikeinterface's ``inter_sample_shift``).

    ``None`` unless the probe is an NP1.0-type model whose electrodes the positions identify.
    """
    geometry = channel_geometry(locations, probe)
    return None if geometry is None or "inter_sample_shift" not in geometry else geometry["inter_sample_shift"]


def probegroup_dict(x, y, probe: str | None = None) -> dict:
    """The JSON form of a one-probe ``ProbeGroup`` (as spikeinterface stores it in zarr attributes)."""
    ProbeGroup = require("probeinterface", why="probe models").ProbeGroup

    group = ProbeGroup()
    group.add_probe(make_probe(np.column_stack([x, y]), probe=probe))
    return group.to_dict(array_as_list=True)
