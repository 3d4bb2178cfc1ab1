"""Imposed drift: knots of the displacement of the units along +y over time."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

__all__ = ["drift_protocol", "drift_knots"]

# quiet for the first and last 20 % of the recording
_DRIFT_START, _DRIFT_END = 0.2, 0.8


def drift_protocol(kind: str | None, duration: float, amplitude: float = 50.0, cycles: int = 2,
                   sampling_frequency: float = 30000.0) -> tuple[np.ndarray, np.ndarray]:
    """Knots ``(timestamps s, positions µm)`` of an imposed displacement; linear interpolation is exact.

    Quiet (0 µm) for the first and last 20 % of ``duration``; in between:

    - ``"triangle"``: ``cycles`` triangle waves 0 → ``amplitude`` → 0 with constant-speed ramps, like the
      cortexlab protocol (there: 50 µm at 1 µm/s, 100 s period) scaled to the duration;
    - ``"steps"``: ``2 * cycles`` instantaneous steps 0 → ``amplitude`` → 0 → …, evenly spaced from 20 %
      to 80 % of the duration. Each step takes one sample period and starts on a sample, so at every
      sample time the displacement is exactly 0 or ``amplitude``;
    - ``None``: no drift.

    Raises
    ------
    ConfigError
        For an unknown ``kind``, or a ``duration`` too short for its knots.
    """
    D = float(duration)
    if kind is None:
        return np.array([0.0, D]), np.array([0.0, 0.0])
    t0, t1 = _DRIFT_START * D, _DRIFT_END * D
    levels = [amplitude * (k % 2) for k in range(2 * cycles + 1)]        # 0, A, 0, A, ..., 0
    if kind == "triangle":
        knots = t0 + (t1 - t0) * np.arange(2 * cycles + 1) / (2 * cycles)
        ts, ps = [0.0, *knots, D], [0.0, *levels, 0.0]
    elif kind == "steps":
        ts, ps = _steps(t0, t1, D, levels, cycles, sampling_frequency)
    else:
        raise ConfigError(f"unknown drift {kind!r}; use 'triangle', 'steps' or None")
    ts, ps = np.asarray(ts, dtype=float), np.asarray(ps, dtype=float)
    if np.any(np.diff(ts) <= 0):
        raise ConfigError(f"duration {duration} s is too short for drift {kind!r}")
    return ts, ps


def _steps(t0: float, t1: float, D: float, levels: list, cycles: int,
           fs: float) -> tuple[list[float], list[float]]:
    """Knots of ``2 * cycles`` one-sample steps between ``t0`` and ``t1``, each starting on a sample."""
    dt = 1.0 / fs
    ts, ps = [0.0], [0.0]
    for k, t in enumerate(t0 + (t1 - t0) * np.arange(2 * cycles) / (2 * cycles - 1)):
        t = round(t * fs) / fs
        ts += [t, t + dt]
        ps += [levels[k], levels[k + 1]]
    ts.append(D)
    ps.append(0.0)
    return ts, ps


def drift_knots(drift: str | None | tuple, duration: float, amplitude: float, cycles: int,
                fs: float) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Knots ``(timestamps, positions)`` and the protocol's name for :func:`~.generator.generate`'s ``drift``.

    A ``(timestamps, positions)`` tuple is taken as given (name ``"custom"``); anything else goes to
    :func:`drift_protocol`.
    """
    if isinstance(drift, tuple):
        timestamps, positions = (np.asarray(a, dtype=float) for a in drift)
        return timestamps, positions, "custom"
    timestamps, positions = drift_protocol(drift, duration, amplitude, cycles, fs)
    return timestamps, positions, drift
