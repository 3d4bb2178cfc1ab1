"""Spike rendering: each unit's waveform scaled by its distance to each channel, moved by the imposed drift."""

from __future__ import annotations

import numpy as np

__all__ = ["Renderer"]


class Renderer:
    """Adds the spikes overlapping a frame range to a float32 block, spike by spike in global order.

    Parameters
    ----------
    units : dict
        From :func:`~.units.make_units` (with its private ``_wf``, ``_trough`` and ``_d0`` fields).
    pos : ndarray, shape (channels, 2)
        Channel positions (µm).
    times, labels, scales : ndarray
        Trough frame, unit id and amplitude scale of every spike, sorted by time.
    fs : float
    timestamps, positions : ndarray
        Knots of the imposed displacement along +y (s, µm).
    """

    def __init__(self, units: dict, pos: np.ndarray, times: np.ndarray, labels: np.ndarray,
                 scales: np.ndarray, fs: float, timestamps: np.ndarray, positions: np.ndarray):
        self.units, self.pos, self.times, self.labels, self.scales = units, pos, times, labels, scales
        self.wf, self.trough = units["_wf"], units["_trough"]
        self.L = self.wf.shape[1]
        self.fs, self.ts, self.ps = fs, timestamps, positions
        reach = 6.0 * units["decay_um"]                  # profile is exactly zero beyond this distance
        self.reach = reach
        max_shift = float(np.max(np.abs(positions))) if positions.size else 0.0
        self.chans = [np.flatnonzero(np.abs(pos[:, 1] - y) <= r + max_shift + 1.0)
                      for y, r in zip(units["y"], reach)]
        # amplitude scale so that the peak channel at zero displacement has the unit's amplitude
        d0 = units["_d0"]
        self.a0 = units["amplitude"] / (np.exp(-d0 / units["decay_um"]) - np.exp(-reach / units["decay_um"]))

    def add(self, f0: int, f1: int, out: np.ndarray) -> None:
        """Add the spikes that overlap frames ``[f0, f1)`` to ``out`` (shape (f1-f0, channels), float32)."""
        lo = np.searchsorted(self.times, f0 - (self.L - self.trough.min()) + 1, side="left")
        hi = np.searchsorted(self.times, f1 + self.trough.max(), side="left")
        if hi <= lo:
            return
        t = self.times[lo:hi]
        disp = np.interp(t / self.fs, self.ts, self.ps)
        u_all = self.units
        for t_s, u, dy, sc in zip(t, self.labels[lo:hi], disp, self.scales[lo:hi]):
            start = int(t_s) - int(self.trough[u])
            a, b = max(start, f0), min(start + self.L, f1)
            if b <= a:
                continue
            ch = self.chans[u]
            d = np.sqrt((self.pos[ch, 0] - u_all["x"][u]) ** 2 + (self.pos[ch, 1] - u_all["y"][u] - dy) ** 2
                        + u_all["z"][u] ** 2)
            lam, r = u_all["decay_um"][u], self.reach[u]
            amp = (self.a0[u] * sc) * np.clip(np.exp(-d / lam) - np.exp(-r / lam), 0.0, None)
            seg = self.wf[u, a - start:b - start]
            out[a - f0:b - f0, ch] += np.outer(seg, amp).astype(np.float32)
