"""The simulated probe: bank-0 contact positions, raw column count and AP-band gain of a Neuropixels probe."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..extras import require

__all__ = ["UV_PER_BIT", "probe_geometry"]

UV_PER_BIT = 2.34375
"""NP1.0 AP-band gain: µV per ADC count (used to express amplitudes in counts)."""

_PARTS = {"NP1": ("NP1000", 385), "NP2": ("NP2000", 384)}


def probe_geometry(probe: str = "NP1") -> tuple[np.ndarray, int]:
    """Positions (384, 2) in µm of bank 0 of a Neuropixels probe, and the number of raw columns.

    ``"NP1"`` (part NP1000, 385 raw columns: 384 AP + sync) or ``"NP2"`` (part NP2000, 384 columns), from
    probeinterface's bundled catalogue (offline).

    Raises
    ------
    ConfigError
        For any other ``probe``.
    """
    build_neuropixels_probe = require("probeinterface.neuropixels_tools", "synth",
                                      "synthetic probe geometry").build_neuropixels_probe

    if probe not in _PARTS:
        raise ConfigError(f"unknown probe {probe!r}; use one of {sorted(_PARTS)}")
    part, ncols = _PARTS[probe]
    pos = build_neuropixels_probe(part).get_slice(np.arange(384)).contact_positions
    return np.asarray(pos, dtype=float)[:, :2].copy(), ncols
