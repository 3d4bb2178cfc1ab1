"""Injected units' waveforms on the probe: the synthetic unit model, or dense templates moved by interpolation.

A footprint is ``(c0, W)``: the spike's waveform on channels ``c0 … c0 + W.shape[1] - 1`` (frames × channels,
float64, ADC counts, trough at frame ``trough``; channels in between that it does not reach hold exact zeros),
for a unit displaced by ``dy`` µm along +y. It depends on the unit and ``dy`` only, never on the window being
read, which is what makes every window of a hybrid agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["UnitTemplates", "model_units", "dense_units"]


@dataclass(frozen=True, eq=False)
class UnitTemplates:
    """Waveforms of the injected units.

    Attributes
    ----------
    kind : {"model", "dense"}
        ``model``: ``waveform(t) × a0 · max(0, exp(-d/λ) - exp(-6))`` with ``d`` the distance from the (displaced)
        unit to each channel (the synthetic generator's own model); ``dense``: a (frames × channels) template
        moved along y by linear interpolation within each column of channels (equal x).
    waveforms : ndarray
        ``model``: (units, frames), trough −1; ``dense``: (units, frames, channels), trough −1 on the peak channel.
    trough : ndarray of int64
        Frame of each unit's trough in its waveform.
    amplitude : ndarray of float64
        Peak-channel trough amplitude of each unit at zero displacement (ADC counts).
    positions : ndarray
        (channels, 2) x, y of the recording's channels (µm).
    x, y, z, decay_um : ndarray of float64
        ``model`` only: unit position (µm) and decay length of its amplitude with distance.
    """

    kind: str
    waveforms: np.ndarray
    trough: np.ndarray
    amplitude: np.ndarray
    positions: np.ndarray
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    z: np.ndarray | None = None
    decay_um: np.ndarray | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_cache"}

    def __setstate__(self, state):
        self.__dict__.update(state, _cache={})

    @property
    def num_frames(self) -> int:
        """Frames of every waveform."""
        return int(self.waveforms.shape[1])

    def footprint(self, unit: int, dy: float) -> tuple[int, np.ndarray]:
        """``(c0, W)`` of unit index ``unit`` displaced by ``dy`` µm (see the module docstring)."""
        key = (int(unit), float(dy))
        hit = self._cache.get(key)
        if hit is None:
            chans, w = self._model(unit, dy) if self.kind == "model" else self._dense(unit, dy)
            hit = _contiguous(chans, w, self.num_frames)
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[key] = hit
        return hit

    def _a0(self, u: int) -> float:
        """Model scale so that the nearest channel at zero displacement has the unit's amplitude."""
        lam = self.decay_um[u]
        d0 = np.sqrt((self.positions[:, 0] - self.x[u]) ** 2 + (self.positions[:, 1] - self.y[u]) ** 2
                     + self.z[u] ** 2).min()
        return float(self.amplitude[u] / (np.exp(-d0 / lam) - np.exp(-6.0)))

    def _model(self, u: int, dy: float) -> tuple[np.ndarray, np.ndarray]:
        lam = self.decay_um[u]
        pos = self.positions
        near = np.flatnonzero(np.abs(pos[:, 1] - self.y[u] - dy) <= 6.0 * lam)
        d = np.sqrt((pos[near, 0] - self.x[u]) ** 2 + (pos[near, 1] - self.y[u] - dy) ** 2 + self.z[u] ** 2)
        amp = self._a0(u) * np.clip(np.exp(-d / lam) - np.exp(-6.0), 0.0, None)
        keep = amp > 0
        return near[keep], self.waveforms[u][:, None] * amp[keep][None, :]

    def _dense(self, u: int, dy: float) -> tuple[np.ndarray, np.ndarray]:
        t = self.waveforms[u].astype(np.float64) * self.amplitude[u]
        if dy != 0.0:
            t = shift_along_y(t, self.positions, dy)
        chans = np.flatnonzero(np.any(t != 0, axis=0))
        return chans, np.ascontiguousarray(t[:, chans])


def _contiguous(chans: np.ndarray, w: np.ndarray, frames: int) -> tuple[int, np.ndarray]:
    """``(c0, W)`` over the channel range ``chans.min() … chans.max()``, zeros where ``chans`` has none."""
    if chans.size == 0:
        return 0, np.zeros((frames, 0))
    c0 = int(chans.min())
    out = np.zeros((frames, int(chans.max()) - c0 + 1))
    out[:, chans - c0] = w
    return c0, out


def shift_along_y(template: np.ndarray, positions: np.ndarray, dy: float) -> np.ndarray:
    """``template`` (frames × channels) moved ``dy`` µm along +y: within each column of channels (equal x), the
    value at ``y`` is the template linearly interpolated at ``y - dy``; zero beyond the column's ends."""
    out = np.zeros_like(template)
    xs = np.round(positions[:, 0], 3)
    for x in np.unique(xs):
        col = np.flatnonzero(xs == x)
        col = col[np.argsort(positions[col, 1], kind="stable")]
        ys = positions[col, 1]
        src = ys - dy
        i = np.searchsorted(ys, src, side="right")
        inside = (src >= ys[0]) & (src <= ys[-1])
        hi = np.clip(i, 1, len(ys) - 1) if len(ys) > 1 else np.zeros_like(i)
        lo = np.maximum(hi - 1, 0)
        span = np.where(ys[hi] > ys[lo], ys[hi] - ys[lo], 1.0)
        f = np.where(ys[hi] > ys[lo], (src - ys[lo]) / span, 0.0)
        val = template[:, col[lo]] * (1.0 - f) + template[:, col[hi]] * f
        out[:, col] = np.where(inside[None, :], val, 0.0)
    return out


def model_units(positions: np.ndarray, fs: float, n: int, amplitudes_counts, rates, seed: int,
                depth_range: tuple[float, float] | None) -> tuple[UnitTemplates, np.ndarray]:
    """``n`` units of the synthetic generator's model (:func:`intake_npx2020.synth.units.make_units`) placed
    within ``depth_range``, with the given amplitudes (counts) and rates; returns the templates and rates."""
    from ..synth.units import make_units

    pos = np.asarray(positions, float)
    within = pos
    if depth_range is not None:
        within = pos[(pos[:, 1] >= min(depth_range)) & (pos[:, 1] <= max(depth_range))]
        if len(within) < 2:
            within = pos
    u = make_units(seed, n, within, fs, (1.0, 2.0), (1.0, 2.0))
    tmpl = UnitTemplates("model", np.asarray(u["_wf"], float), np.asarray(u["_trough"], np.int64),
                         np.asarray(amplitudes_counts, float), pos, x=u["x"], y=u["y"], z=u["z"],
                         decay_um=u["decay_um"])
    return tmpl, np.asarray(rates, float)


def dense_units(templates: np.ndarray, positions: np.ndarray, amplitudes_counts) -> UnitTemplates:
    """Dense templates (units, frames, channels), each normalised to a −1 trough on its peak channel."""
    t = np.asarray(templates, np.float64)
    troughs = t.min(axis=(1, 2))
    norm = t / -np.where(troughs < 0, troughs, -1.0)[:, None, None]
    trough = np.array([np.unravel_index(np.argmin(w), w.shape)[0] for w in norm], dtype=np.int64)
    return UnitTemplates("dense", norm.astype(np.float32), trough, np.asarray(amplitudes_counts, float),
                         np.asarray(positions, float))
