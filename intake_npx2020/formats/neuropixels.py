"""Neuropixels probe models by the catalog's probe name: each channel's electrode, shank, contact id and ADC slot.

Pure arithmetic on a recording's contact positions, so the base install (no probeinterface) gives the same
``shank`` / ``contact_id`` coordinates as the spikeinterface bridge. The layouts and ids are probeinterface's
(``build_neuropixels_probe`` of the part number in :data:`MODELS`; contact ids ``e<electrode>`` or
``s<shank>e<electrode>``), checked against it in ``tests/test_conventions_probe.py``.

Positions are matched to electrodes in the frames the 2020 collection uses, tried in this order:
probeinterface's model (``x = 32 * column (+ 16 on even rows of NP1.0), y = pitch * row``); for NP1.0,
Kilosort's channel map (``x`` in {43, 11, 59, 27}, ``y = 20 * (row + 1)``: the model's x mirrored about 59 µm,
y shifted by 20 µm); and SpikeGLX's geometry map, x measured from the shank's edge (the model's x plus 11 µm on
NP1.0, 27 µm on NP2.0). Channels must sit on distinct electrodes of one frame, else the model is not applied.
NP1.0 positions in SpikeGLX's frame that skip the bottom row also fit Kilosort's frame, which wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MODELS", "ProbeModel", "channel_geometry", "find_frame", "model_for", "probe_notes"]

# the catalog's ``metadata.uncertain`` notes about the probe start with one of these fields
_PROBE_FIELDS = ("channel_ids", "channel_map", "channel_positions", "geometry", "probe_detail")
_GEOMETRY_FIELDS = _PROBE_FIELDS[:-1]


@dataclass(frozen=True)
class ProbeModel:
    """One Neuropixels part: layout of its electrodes and, where known, its ADC multiplexing."""

    part_number: str            # probeinterface / ProbeTable part number
    description: str
    num_shanks: int
    row_pitch: float            # µm
    stagger: float              # x offset of even rows (NP1.0 staggered layout), µm
    shank_pitch: float = 0.0    # µm
    electrodes_per_shank: int = 0
    adc_known: bool = False     # NP1.0-type 32 ADCs x 12 channels (readout channel = electrode % 384)
    edge: float = 0.0           # x of the left column's centre from the shank's edge (SpikeGLX's frame), µm
    note: str = ""

    @property
    def frames(self) -> tuple[tuple[float, float, float], ...]:
        """``(sign, x0, y0)`` with ``x_model = sign * (x - x0)``, ``y_model = y - y0``; model frame first."""
        kilosort = ((-1.0, 59.0, 20.0),) if self.stagger else ()
        return ((1.0, 0.0, 0.0), *kilosort, (1.0, self.edge, 0.0))


#: the catalog's ``metadata.probe`` → model (Phase 3A/3B and NP1.0 share the NP1.0 layout and multiplexing)
MODELS = {
    "NP1": ProbeModel("NP1000", "Neuropixels 1.0 (also Phase 3A/3B)", 1, 20.0, 16.0, electrodes_per_shank=960,
                      adc_known=True, edge=11.0,
                      note="Phase 3A/3B assumed to share NP1.0's 32-ADC x 12-channel sampling order"),
    "NP2": ProbeModel("NP2000", "Neuropixels 2.0 single shank", 1, 15.0, 0.0, electrodes_per_shank=1280, edge=27.0),
    "NP2 4-shank": ProbeModel("NP2010", "Neuropixels 2.0 four shanks", 4, 15.0, 0.0, shank_pitch=250.0,
                              electrodes_per_shank=1280, edge=27.0),
}

# NP1.0: 32 ADCs each sample 12 readout channels in turn, plus one LFP slot: 13 slots per 30 kHz frame
_NP1_SLOTS = 13


def model_for(probe: str | None) -> ProbeModel | None:
    """The model of a catalog ``probe`` name (``NP1``, ``NP2``, ``NP2 4-shank``), else ``None``."""
    return MODELS.get(probe) if isinstance(probe, str) else None


def _electrodes(model: ProbeModel, xy: np.ndarray, frame) -> tuple[np.ndarray, np.ndarray] | None:
    sign, x0, y0 = frame
    x, y = sign * (xy[:, 0] - x0), xy[:, 1] - y0
    shank = np.zeros(len(xy), dtype=np.int64)
    if model.num_shanks > 1:
        shank = np.floor(x / model.shank_pitch).astype(np.int64)
        x = x - shank * model.shank_pitch
    row = np.round(y / model.row_pitch)
    col_x = x - np.where(row % 2 == 0, model.stagger, 0.0)
    col = np.round(col_x / 32.0)
    ok = ((np.abs(row * model.row_pitch - y) < 0.5) & (np.abs(col * 32.0 - col_x) < 0.5) & (col >= 0) & (col <= 1)
          & (row >= 0) & (shank >= 0) & (shank < model.num_shanks))
    electrode = (2 * row + col).astype(np.int64)
    if not ok.all() or (electrode >= model.electrodes_per_shank).any():
        return None
    if len(np.unique(shank * model.electrodes_per_shank + electrode)) != len(xy):
        return None
    return shank, electrode


def find_frame(locations, probe: str | None) -> tuple[tuple[float, float, float], np.ndarray, np.ndarray] | None:
    """``(frame, shank, electrode)`` placing every position on a distinct electrode of ``probe``, else ``None``.

    ``frame`` is ``(sign, x0, y0)``: the model's position of a contact is ``(sign * (x - x0), y - y0)``.
    """
    model = model_for(probe)
    xy = np.asarray(locations, dtype=float).reshape(-1, 2)
    if model is None or len(xy) == 0:
        return None
    for frame in model.frames:
        found = _electrodes(model, xy, frame)
        if found is not None:
            return (frame, *found)
    return None


def channel_geometry(locations, probe: str | None) -> dict[str, np.ndarray] | None:
    """Per-channel probe facts of a recording whose contacts are at ``locations`` on a ``probe``.

    Parameters
    ----------
    locations : array-like, shape (channels, 2)
        ``x``, ``y`` of each channel in µm, in the probe's frame or (NP1.0) Kilosort's.
    probe : str or None
        The catalog's probe name (``NP1``, ``NP2``, ``NP2 4-shank``).

    Returns
    -------
    dict or None
        ``shank`` (int), ``electrode`` (int, per shank), ``contact_id`` (str, probeinterface's), and for
        NP1.0-type probes ``adc_group``, ``adc_sample_order`` (int) and ``inter_sample_shift`` (fraction of a
        sample, as spikeinterface's ``phase_shift`` reads it); ``None`` when the probe is unknown or a
        position is not an electrode of it.
    """
    found = find_frame(locations, probe)
    if found is None:
        return None
    model, (_, shank, electrode) = model_for(probe), found
    if model.num_shanks > 1:
        ids = [f"s{s}e{e}" for s, e in zip(shank, electrode)]
    else:
        ids = [f"e{e}" for e in electrode]
    out = {"shank": shank, "electrode": electrode, "contact_id": np.array(ids, dtype=str)}
    if model.adc_known:
        readout = electrode % 384
        out["adc_group"] = 2 * (readout // 24) + readout % 2
        out["adc_sample_order"] = (readout % 24) // 2
        out["inter_sample_shift"] = out["adc_sample_order"] / _NP1_SLOTS
    return out


def probe_notes(uncertain) -> dict[str, str]:
    """What a catalog entry's ``metadata.uncertain`` says about its probe, as string attributes.

    Returns
    -------
    dict
        ``probe_geometry``: ``"reconstructed"`` when a note concerns the channel map, positions or geometry
        (they were guessed, not published), else ``"as published"``; ``probe_uncertain``: those notes and any
        about the probe model, joined by ``"; "`` (absent when there are none).
    """
    fields = {str(u): set(str(u).split(":")[0].strip().split("/")) for u in uncertain or ()}
    notes = [u for u, f in fields.items() if f & set(_PROBE_FIELDS)]
    guessed = any(fields[u] & set(_GEOMETRY_FIELDS) for u in notes)
    out = {"probe_geometry": "reconstructed" if guessed else "as published"}
    if notes:
        out["probe_uncertain"] = "; ".join(notes)
    return out
