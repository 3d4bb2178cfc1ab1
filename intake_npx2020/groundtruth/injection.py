"""Known spikes to add to a recording: who fires when, how strongly, where the units are; and the adding itself.

:meth:`Injection.add_into` adds the injected spikes that touch a block of frames to that block (int16, in
place) following :data:`~.params.ROUNDING_RULE`. Spikes are grouped into runs whose waveforms overlap in time;
each run is summed in float64 in ground-truth order, rounded, then added to the parent's samples and clipped.
The value at a sample depends only on the spikes covering it, never on the window read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from .templates import UnitTemplates

__all__ = ["Injection"]


@dataclass(frozen=True, eq=False)
class Injection:
    """The injected units and spikes of a hybrid recording.

    Attributes
    ----------
    templates : UnitTemplates
    unit_ids : ndarray of int64
        Id of each injected unit (``templates`` index ``k`` is unit ``unit_ids[k]``).
    times, labels : ndarray of int64
        Trough sample of every injected spike (sorted by sample, then unit) and its unit id.
    scales : ndarray of float64
        Amplitude scale of each spike.
    sampling_frequency : float
    num_frames, num_channels : int
        Shape of the recording the spikes are injected into.
    motion : (ndarray, ndarray), optional
        Knots ``(timestamps s, displacement µm along +y)`` the units move with (linear between knots).
    info : dict
        What was drawn and how (seed, parameters, source of the templates), JSON-able.
    """

    templates: UnitTemplates
    unit_ids: np.ndarray
    times: np.ndarray
    labels: np.ndarray
    scales: np.ndarray
    sampling_frequency: float
    num_frames: int
    num_channels: int
    motion: tuple[np.ndarray, np.ndarray] | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        index = {int(u): k for k, u in enumerate(self.unit_ids)}
        object.__setattr__(self, "_index", np.array([index[int(u)] for u in self.labels], dtype=np.int64))
        starts = self.times - self.templates.trough[self._index]
        object.__setattr__(self, "_starts", starts.astype(np.int64))
        object.__setattr__(self, "_dy", self.displacement(self.times / float(self.sampling_frequency)))

    def displacement(self, t) -> np.ndarray:
        """Displacement (µm along +y) of the injected units at time(s) ``t`` in seconds (0 without motion)."""
        t = np.asarray(t, dtype=float)
        if self.motion is None:
            return np.zeros_like(t)
        return np.interp(t, self.motion[0], self.motion[1])

    def __dask_tokenize__(self) -> str:
        return self.token

    @property
    def token(self) -> str:
        """sha1 of everything that decides the injected samples."""
        tok = self.__dict__.get("_token")
        if tok is None:
            h = hashlib.sha1()
            t = self.templates
            for a in (t.waveforms, t.trough, t.amplitude, t.positions, t.x, t.y, t.z, t.decay_um, self.unit_ids,
                      self.times, self.labels, self.scales, *(self.motion or ())):
                h.update(b"-" if a is None else np.ascontiguousarray(a).tobytes())
            h.update(f"{t.kind}{self.sampling_frequency}{self.num_frames}{self.num_channels}".encode())
            tok = h.hexdigest()
            object.__setattr__(self, "_token", tok)
        return tok

    def touching(self, f0: int, f1: int) -> np.ndarray:
        """Indices of the spikes whose waveform overlaps frames ``[f0, f1)``, in ground-truth order."""
        L, tr = self.templates.num_frames, self.templates.trough
        lo = np.searchsorted(self.times, f0 - L + int(tr.min()) + 1, side="left")
        hi = np.searchsorted(self.times, f1 + int(tr.max()), side="left")
        idx = np.arange(lo, hi)
        s = self._starts[idx]
        return idx[(s < f1) & (s + L > f0)]

    def runs(self, f0: int, f1: int) -> list[tuple[int, int, np.ndarray]]:
        """Groups of spikes whose waveforms overlap within ``[f0, f1)``: ``(first, end, spike indices)``."""
        idx = self.touching(f0, f1)
        if idx.size == 0:
            return []
        L = self.templates.num_frames
        a = np.maximum(self._starts[idx], f0)
        b = np.minimum(self._starts[idx] + L, f1)
        order = np.argsort(a, kind="stable")
        out, members, lo, hi = [], [], None, None
        for k in order:
            if hi is not None and a[k] >= hi:
                out.append((lo, hi, np.sort(np.array(members))))
                members, lo, hi = [], None, None
            members.append(idx[k])
            lo = a[k] if lo is None else lo
            hi = b[k] if hi is None else max(hi, b[k])
        out.append((lo, hi, np.sort(np.array(members))))
        return out

    def run_values(self, lo: int, hi: int, spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rounded injected signal of a run over frames ``[lo, hi)``: ``(channels, int32 (frames × channels))``
        over the contiguous range of channels its spikes reach (zeros where none does)."""
        L = self.templates.num_frames
        parts = [self.templates.footprint(self._index[s], self._dy[s]) for s in spikes]
        c_lo = min(c0 for c0, _ in parts)
        c_hi = max(c0 + w.shape[1] for c0, w in parts)
        buf = np.zeros((hi - lo, max(0, c_hi - c_lo)))
        for s, (c0, w) in zip(spikes, parts):   # ground-truth order: the same sums in every window
            start = int(self._starts[s])
            a, b = max(start, lo), min(start + L, hi)
            buf[a - lo:b - lo, c0 - c_lo:c0 - c_lo + w.shape[1]] += w[a - start:b - start] * self.scales[s]
        return np.arange(c_lo, c_lo + buf.shape[1]), np.rint(buf).astype(np.int32)

    def add_into(self, block: np.ndarray, f0: int, channels: np.ndarray | None = None) -> int:
        """Add the injected spikes to ``block`` (int16, frames ``[f0, f0 + len(block))``, columns ``channels``)
        in place; returns how many samples were clipped to the int16 range."""
        f1 = f0 + block.shape[0]
        lookup = np.arange(self.num_channels) if channels is None else np.full(self.num_channels, -1)
        if channels is not None:
            lookup[np.asarray(channels, np.int64)] = np.arange(len(channels))
        clipped = 0
        for lo, hi, spikes in self.runs(f0, f1):
            chans, vals = self.run_values(lo, hi, spikes)
            cols = lookup[chans]
            keep = cols >= 0
            if not keep.any() or vals.shape[1] == 0:
                continue
            cols = cols[keep]
            if np.all(np.diff(cols) == 1):   # a run of neighbouring columns: a view, not a gather
                cols = slice(int(cols[0]), int(cols[-1]) + 1)
            sub = block[lo - f0:hi - f0, cols].astype(np.int32)
            sub += vals if keep.all() else vals[:, keep]
            out = np.clip(sub, -32768, 32767)
            clipped += int(np.count_nonzero(out != sub))
            block[lo - f0:hi - f0, cols] = out
        return clipped
