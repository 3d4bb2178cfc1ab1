"""Independent random streams: one generator per (seed, stream tag, key…), so no draw depends on another's."""

from __future__ import annotations

import numpy as np

__all__ = ["rng", "S_PROBE", "S_UNITS", "S_TRAIN", "S_NOISE", "S_SCALE"]

S_PROBE, S_UNITS, S_TRAIN, S_NOISE, S_SCALE = 1, 2, 3, 4, 5
"""Stream tags: per-channel noise σ, unit draws, spike trains (keyed by unit), noise (keyed by block),
spike amplitude jitter."""


def rng(seed: int, *key: int) -> np.random.Generator:
    """The generator of stream ``key`` (a tag, then any sub-keys) for ``seed``."""
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence([int(seed), *map(int, key)])))
