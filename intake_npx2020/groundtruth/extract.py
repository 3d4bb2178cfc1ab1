"""Templates of a curated sorting: each unit's mean waveform around its spikes, read through the lazy recording."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

__all__ = ["extract_templates", "pick_units"]

PRE_MS, POST_MS = 1.0, 2.0     # window around each spike
_TAPER_MS = 0.3                # cosine taper at both ends, so an injected copy starts and ends at 0


def pick_units(spikes, units, n: int) -> np.ndarray:
    """``units`` if given (checked against the sorting), else the ``n`` units with the most spikes."""
    counts = spikes["unit_id"].value_counts()
    if units is not None:
        missing = sorted(set(int(u) for u in units) - set(counts.index.tolist()))
        if missing:
            raise ConfigError(f"the sorting has no spikes of units {missing}")
        return np.asarray([int(u) for u in units], dtype=np.int64)
    return np.asarray(counts.sort_values(ascending=False, kind="stable").index[:n], dtype=np.int64)


def _taper(n: int, k: int) -> np.ndarray:
    w = np.ones(n)
    if k > 0:
        ramp = 0.5 * (1 - np.cos(np.pi * (np.arange(k) + 0.5) / k))
        w[:k], w[n - k:] = ramp, ramp[::-1]
    return w


def extract_templates(reader, spikes, units, fs: float, max_spikes: int, seed: int,
                      sparsity: float = 0.05) -> np.ndarray:
    """Mean waveform (units × frames × channels, float64, ADC counts) of each unit around its spikes.

    Parameters
    ----------
    reader : LazyTraces-like
        The recording's reader (``reader[a:b]`` gives frames ``[a, b)`` of every channel).
    spikes : pandas.DataFrame
        ``unit_id`` and ``sample_index``.
    units : sequence of int
    fs : float
    max_spikes : int
        Spikes averaged per unit: a random subset drawn from ``seed`` (spikes near either end are left out).
    seed : int
    sparsity : float
        Channels whose peak-to-peak is below this fraction of the unit's largest are set to 0.

    Each window is made zero-mean per channel over its first and last ``0.3`` ms, averaged, then tapered to 0
    at both ends; windows are read in time order, so reads stay local in the store.
    """
    pre, post = int(round(PRE_MS * fs / 1000)), int(round(POST_MS * fs / 1000))
    n = reader.shape[0]
    edge = max(1, int(round(_TAPER_MS * fs / 1000)))
    taper = _taper(pre + post, edge)[:, None]
    gen = np.random.default_rng(np.random.SeedSequence([int(seed), 0x54504C]))
    out = np.zeros((len(units), pre + post, reader.shape[1]))
    for k, u in enumerate(units):
        t = spikes.loc[spikes["unit_id"] == u, "sample_index"].to_numpy(np.int64)
        t = t[(t >= pre) & (t + post <= n)]
        if t.size == 0:
            raise ConfigError(f"unit {u} has no spike far enough from the recording's ends for a template")
        if t.size > max_spikes:
            t = np.sort(gen.choice(t, size=max_spikes, replace=False))
        acc = np.zeros((pre + post, reader.shape[1]))
        for s in t:
            w = np.asarray(reader[s - pre:s + post], dtype=np.float64)
            base = np.concatenate([w[:edge], w[-edge:]]).mean(axis=0)
            acc += w - base
        mean = acc / t.size * taper
        ptp = np.ptp(mean, axis=0)
        mean[:, ptp < sparsity * ptp.max()] = 0.0
        out[k] = mean
    return out
