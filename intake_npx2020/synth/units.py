"""Ground-truth units: positions, amplitudes, rates and waveforms, and their spike trains."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import ConfigError
from .probe import UV_PER_BIT
from .streams import S_TRAIN, S_UNITS, rng

__all__ = ["make_units", "spike_trains", "public_units"]

_PRE_MS, _POST_MS = 0.6, 1.4  # waveform window around the trough


def _waveform(gen: np.random.Generator, fs: float) -> tuple[np.ndarray, int]:
    """A biphasic extracellular spike (trough −1, then a slower positive lobe), and the trough's index."""
    pre, post = int(round(_PRE_MS * fs / 1000)), int(round(_POST_MS * fs / 1000))
    t = (np.arange(-pre, post) / fs) * 1000.0                             # ms
    s1 = gen.uniform(0.08, 0.14)
    tp, s2, r = gen.uniform(0.35, 0.5), gen.uniform(0.18, 0.3), gen.uniform(0.25, 0.45)
    w = -np.exp(-t ** 2 / (2 * s1 ** 2)) + r * np.exp(-(t - tp) ** 2 / (2 * s2 ** 2))
    taper = np.ones_like(t)
    tail = t > _POST_MS - 0.4
    taper[tail] = 0.5 * (1 + np.cos(np.pi * (t[tail] - (_POST_MS - 0.4)) / 0.4))
    head = t < -_PRE_MS + 0.2
    taper[head] = 0.5 * (1 - np.cos(np.pi * (t[head] + _PRE_MS) / 0.2))
    w *= taper
    w /= -w.min()
    return w, int(np.argmin(w))


def make_units(seed: int, num_units: int, pos: np.ndarray, fs: float,
               amplitude_uv: tuple[float, float], rates: tuple[float, float]) -> dict:
    """Draw ``num_units`` units spread along the probe ``pos`` (µm).

    Returns
    -------
    dict of ndarray
        The public fields of :attr:`~.result.SynthResult.units`, plus private ``_d0`` (distance to the peak
        channel), ``_wf`` (waveforms) and ``_trough`` (trough index of each waveform).
    """
    gen = rng(seed, S_UNITS)
    ymin, ymax = pos[:, 1].min(), pos[:, 1].max()
    xmin, xmax = pos[:, 0].min(), pos[:, 0].max()
    y = np.sort(gen.uniform(ymin + 20.0, ymax - 20.0, num_units))
    x = gen.uniform(xmin - 15.0, xmax + 15.0, num_units)
    z = gen.uniform(8.0, 30.0, num_units)
    amp_uv = gen.uniform(*amplitude_uv, num_units)
    rate = gen.uniform(*rates, num_units)
    decay = gen.uniform(20.0, 30.0, num_units)
    wfs, troughs = zip(*(_waveform(gen, fs) for _ in range(num_units)))
    d = np.sqrt((pos[None, :, 0] - x[:, None]) ** 2 + (pos[None, :, 1] - y[:, None]) ** 2 + z[:, None] ** 2)
    peak = np.argmin(d, axis=1)
    return {"unit_id": np.arange(num_units, dtype=np.int64), "x": x, "y": y, "z": z,
            "amplitude_uv": amp_uv, "amplitude": amp_uv / UV_PER_BIT, "firing_rate": rate,
            "decay_um": decay, "peak_channel": peak.astype(np.int64),
            "_d0": d[np.arange(num_units), peak], "_wf": np.stack(wfs), "_trough": np.array(troughs)}


def public_units(units: dict) -> dict:
    """``units`` without the private rendering fields."""
    return {k: v for k, v in units.items() if not k.startswith("_")}


def _forced_spikes(extra_spikes: Sequence[tuple[int, int]] | None, num_frames: int, num_units: int) -> np.ndarray:
    """``extra_spikes`` as an (n, 2) int64 array of (frame, unit), checked against the recording."""
    extra = np.asarray(extra_spikes if extra_spikes is not None else np.empty((0, 2)), dtype=np.int64)
    extra = extra.reshape(-1, 2)
    bad = (extra[:, 0] < 0) | (extra[:, 0] >= num_frames) | (extra[:, 1] < 0) | (extra[:, 1] >= num_units)
    if bad.any():
        raise ConfigError(f"extra_spikes {extra[bad].tolist()} are outside the recording or name no unit")
    return extra


def _train(seed: int, unit: int, rate: float, num_frames: int, fs: float, refractory_s: float,
           forced: np.ndarray) -> np.ndarray:
    """Spike frames of one unit: a Poisson train with a dead time, plus its ``forced`` frames."""
    duration = num_frames / fs
    gen = rng(seed, S_TRAIN, unit)
    scale = 1.0 / rate - refractory_s
    n = int(duration * rate * 1.2 + 10)
    t = np.cumsum(refractory_s + gen.exponential(scale, n))
    while t[-1] < duration:
        t = np.concatenate([t, t[-1] + np.cumsum(refractory_s + gen.exponential(scale, n))])
    f = np.round(t[t < duration] * fs).astype(np.int64)
    f = f[f < num_frames]
    if forced.size:
        dead = int(np.ceil(refractory_s * fs))
        near = np.abs(f[:, None] - forced[None, :]).min(axis=1) < dead
        f = np.sort(np.concatenate([f[~near], forced]))
    return f


def spike_trains(seed: int, units: dict, num_frames: int, fs: float, refractory_s: float,
                 extra_spikes: Sequence[tuple[int, int]] | None) -> tuple[np.ndarray, np.ndarray]:
    """Poisson trains with a dead time: ISI = refractory + exponential, mean rate = the unit's rate.

    Returns the trough frames of all spikes, sorted by (frame, unit), and their unit ids. A forced spike of
    ``extra_spikes`` (frame, unit) drops that unit's spikes within the refractory period around it.
    """
    extra = _forced_spikes(extra_spikes, num_frames, units["unit_id"].size)
    times, labels = [], []
    for u, rate in zip(units["unit_id"], units["firing_rate"]):
        f = _train(seed, u, rate, num_frames, fs, refractory_s, extra[extra[:, 1] == u, 0])
        times.append(f)
        labels.append(np.full(f.size, u, dtype=np.int64))
    times, labels = np.concatenate(times), np.concatenate(labels)
    order = np.lexsort((labels, times))
    return times[order], labels[order]
