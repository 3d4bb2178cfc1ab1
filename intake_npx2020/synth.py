"""Synthetic Neuropixels recordings with known ground truth: spikes, unit positions and imposed drift.

:func:`generate` streams a raw ``.bin`` (int16, interleaved frames × columns, like the collection's
``bin1`` files) one chunk at a time, plus the ground truth in the collection's own formats: ``npy1``
spike times / labels and the cortexlab drift arrays (``manip.timestamps.npy``, ``manip.positions.npy``).

Every random quantity is a function of the seed and of absolute position (noise comes in fixed blocks
keyed by block index), so the bytes do not depend on ``chunk_seconds``.

Sign convention: ``positions`` (and :meth:`SynthResult.displacement`) is how far the units move along
+y in probe coordinates (y grows from the tip towards the brain surface); it equals how far the probe was
advanced into the tissue.
"""

from __future__ import annotations

import json
import time as _time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

__all__ = ["generate", "SynthResult", "drift_protocol", "probe_geometry", "write_catalog", "UV_PER_BIT"]

UV_PER_BIT = 2.34375
"""NP1.0 AP-band gain: µV per ADC count (used to express amplitudes in counts)."""

_NOISE_BLOCK = 8192          # frames per noise block; fixed, independent of chunk_seconds
_PRE_MS, _POST_MS = 0.6, 1.4  # waveform window around the trough
_SYNC_VALUE = 64              # SpikeGLX sync bit 6
# drift protocol: quiet for the first and last 20 % of the recording
_DRIFT_START, _DRIFT_END = 0.2, 0.8
# stream tags for independent random streams
_S_PROBE, _S_UNITS, _S_TRAIN, _S_NOISE, _S_SCALE = 1, 2, 3, 4, 5


@dataclass
class SynthResult:
    """What :func:`generate` wrote, and the ground truth to check analyses against.

    Attributes
    ----------
    out_dir, raw_path, times_path, labels_path, timestamps_path, positions_path, units_path : Path
        The files written (``raw.bin``, ``spike_times.npy``, ``spike_labels.npy``, ``manip.timestamps.npy``,
        ``manip.positions.npy``, ``units.json``; ``synth.json`` holds everything else).
    num_frames, raw_num_channels : int
        Frames in ``raw.bin`` and int16 columns per frame.
    sampling_frequency : float
    channel_ids : ndarray of int64
    channel_map : dict
        Channel id → raw column.
    channel_positions : dict
        Channel id → ``[x, y]`` in µm (probeinterface coordinates).
    spike_times, spike_labels : ndarray of int64
        Ground-truth trough sample of every spike (sorted) and its unit id.
    timestamps, positions : ndarray of float64
        Imposed displacement (µm along +y) at knots; linear interpolation between them is exact.
    units : dict of ndarray
        Per unit: ``unit_id``, ``x``, ``y``, ``z`` (µm, at zero displacement), ``amplitude`` (peak-channel
        trough, ADC counts), ``amplitude_uv``, ``firing_rate`` (Hz), ``decay_um``, ``peak_channel``.
    noise_sigma : ndarray of float64
        Per-channel standard deviation of the white noise (ADC counts, before common mode).
    """

    out_dir: Path
    num_frames: int
    raw_num_channels: int
    sampling_frequency: float
    probe: str
    drift: str | None
    seed: int
    channel_ids: np.ndarray
    channel_map: dict
    channel_positions: dict
    spike_times: np.ndarray
    spike_labels: np.ndarray
    timestamps: np.ndarray
    positions: np.ndarray
    units: dict
    noise_sigma: np.ndarray
    elapsed: float = float("nan")
    params: dict = field(default_factory=dict)

    raw_path = property(lambda self: self.out_dir / "raw.bin")
    times_path = property(lambda self: self.out_dir / "spike_times.npy")
    labels_path = property(lambda self: self.out_dir / "spike_labels.npy")
    timestamps_path = property(lambda self: self.out_dir / "manip.timestamps.npy")
    positions_path = property(lambda self: self.out_dir / "manip.positions.npy")
    units_path = property(lambda self: self.out_dir / "units.json")

    @property
    def duration(self) -> float:
        """Recording length in seconds."""
        return self.num_frames / self.sampling_frequency

    @property
    def realtime_factor(self) -> float:
        """Seconds of recording generated per second of wall time."""
        return self.duration / self.elapsed

    @property
    def positions_xy(self) -> np.ndarray:
        """Channel positions as an array of shape (channels, 2), in ``channel_ids`` order."""
        return np.array([self.channel_positions[int(c)] for c in self.channel_ids], dtype=float)

    def displacement(self, t) -> np.ndarray:
        """Imposed displacement (µm along +y) at time(s) ``t`` in seconds."""
        return np.interp(np.asarray(t, dtype=float), self.timestamps, self.positions)

    def bin1_object(self, raw_uri: str) -> dict:
        """The collection's ``bin1`` recording object for ``raw.bin`` stored at ``raw_uri``."""
        fs = self.sampling_frequency
        return {"recording_format": "bin1", "data": {
            "raw": raw_uri,
            "raw_num_channels": int(self.raw_num_channels),
            "num_frames": int(self.num_frames),
            "samplerate": int(fs) if float(fs).is_integer() else float(fs),
            "channel_ids": [int(c) for c in self.channel_ids],
            "channel_map": {str(int(c)): int(self.channel_map[int(c)]) for c in self.channel_ids},
            "channel_positions": {str(int(c)): [float(v) for v in self.channel_positions[int(c)]]
                                  for c in self.channel_ids},
        }}

    def npy1_object(self, times_uri: str, labels_uri: str) -> dict:
        """The collection's ``npy1`` sorting object for the ground-truth spike times and labels."""
        fs = self.sampling_frequency
        return {"sorting_format": "npy1", "data": {
            "times_npy_uri": times_uri, "labels_npy_uri": labels_uri,
            "samplerate": int(fs) if float(fs).is_integer() else float(fs)}}

    def to_dataarray(self, chunk_seconds: float = 1.0):
        """``raw.bin`` as a lazy, dask-backed ``xarray.DataArray`` (int16, dims ``("time", "channel")``).

        Each task reads its own frames from the file by path, so the graph pickles (processes, distributed).
        """
        import dask.array as da

        step = max(1, int(round(chunk_seconds * self.sampling_frequency)))
        cols = np.array([self.channel_map[int(c)] for c in self.channel_ids], dtype=np.int64)
        blocks = []
        for f0 in range(0, self.num_frames, step):
            f1 = min(self.num_frames, f0 + step)
            blocks.append(da.from_delayed(
                _delayed_read(str(self.raw_path), f0, f1, self.raw_num_channels, cols),
                shape=(f1 - f0, len(cols)), dtype=np.int16))
        data = da.concatenate(blocks, axis=0)
        return traces_dataarray(data, self.sampling_frequency, self.channel_ids, self.positions_xy,
                                source=str(self.raw_path))

    @classmethod
    def load(cls, out_dir: str | Path) -> "SynthResult":
        """Read back a result written by :func:`generate` (from ``synth.json`` and the ``.npy`` files)."""
        out_dir = Path(out_dir)
        meta = json.loads((out_dir / "synth.json").read_text())
        units = {k: np.asarray(v) for k, v in json.loads((out_dir / "units.json").read_text()).items()}
        return cls(
            out_dir=out_dir, num_frames=meta["num_frames"], raw_num_channels=meta["raw_num_channels"],
            sampling_frequency=meta["sampling_frequency"], probe=meta["probe"], drift=meta["drift"],
            seed=meta["seed"], channel_ids=np.asarray(meta["channel_ids"], dtype=np.int64),
            channel_map={int(k): v for k, v in meta["channel_map"].items()},
            channel_positions={int(k): v for k, v in meta["channel_positions"].items()},
            spike_times=np.load(out_dir / "spike_times.npy"), spike_labels=np.load(out_dir / "spike_labels.npy"),
            timestamps=np.load(out_dir / "manip.timestamps.npy"), positions=np.load(out_dir / "manip.positions.npy"),
            units=units, noise_sigma=np.asarray(meta["noise_sigma"]), elapsed=meta.get("elapsed", float("nan")),
            params=meta.get("params", {}))


def _read_frames(path: str, f0: int, f1: int, num_columns: int, cols: np.ndarray) -> np.ndarray:
    """Frames ``[f0, f1)`` of an interleaved int16 file, columns ``cols``."""
    block = np.fromfile(path, dtype="<i2", count=(f1 - f0) * num_columns, offset=2 * f0 * num_columns)
    return np.ascontiguousarray(block.reshape(f1 - f0, num_columns)[:, cols])


def _delayed_read(*args):
    import dask

    return dask.delayed(_read_frames, pure=True)(*args)


def traces_dataarray(data, sampling_frequency: float, channel_ids, positions_xy, start_frame: int = 0,
                     source: str | None = None):
    """Wrap a (frames, channels) dask array as the project's recording ``DataArray``.

    Parameters
    ----------
    data : dask.array.Array
        int16 traces, chunked along time only.
    sampling_frequency : float
    channel_ids : array-like of int
    positions_xy : array-like, shape (channels, 2)
        ``x``, ``y`` in µm.
    start_frame : int
        Frame index of the first row (for ``time`` = frame / fs).
    source : str, optional
        Stored in ``attrs["source"]``.
    """
    import xarray as xr

    pos = np.asarray(positions_xy, dtype=float)
    n = data.shape[0]
    t = (start_frame + np.arange(n)) / float(sampling_frequency)
    attrs = {"sampling_frequency": float(sampling_frequency), "gain_to_uV": UV_PER_BIT}
    if source:
        attrs["source"] = source
    return xr.DataArray(data, dims=("time", "channel"),
                        coords={"time": t, "channel": np.asarray(channel_ids),
                                "x": ("channel", pos[:, 0]), "y": ("channel", pos[:, 1])},
                        attrs=attrs)


# --------------------------------------------------------------------------------------------- geometry

def probe_geometry(probe: str = "NP1") -> tuple[np.ndarray, int]:
    """Positions (384, 2) in µm of bank 0 of a Neuropixels probe, and the number of raw columns.

    ``"NP1"`` (part NP1000, 385 raw columns: 384 AP + sync) or ``"NP2"`` (part NP2000, 384 columns), from
    probeinterface's bundled catalogue (offline).
    """
    from probeinterface.neuropixels_tools import build_neuropixels_probe

    parts = {"NP1": ("NP1000", 385), "NP2": ("NP2000", 384)}
    if probe not in parts:
        raise ValueError(f"unknown probe {probe!r}; use one of {sorted(parts)}")
    part, ncols = parts[probe]
    pos = build_neuropixels_probe(part).get_slice(np.arange(384)).contact_positions
    return np.asarray(pos, dtype=float)[:, :2].copy(), ncols


# --------------------------------------------------------------------------------------------- drift

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
        dt = 1.0 / sampling_frequency
        ts, ps = [0.0], [0.0]
        for k, t in enumerate(t0 + (t1 - t0) * np.arange(2 * cycles) / (2 * cycles - 1)):
            t = round(t * sampling_frequency) / sampling_frequency
            ts += [t, t + dt]
            ps += [levels[k], levels[k + 1]]
        ts.append(D)
        ps.append(0.0)
    else:
        raise ValueError(f"unknown drift {kind!r}; use 'triangle', 'steps' or None")
    ts, ps = np.asarray(ts, dtype=float), np.asarray(ps, dtype=float)
    if np.any(np.diff(ts) <= 0):
        raise ValueError(f"duration {duration} s is too short for drift {kind!r}")
    return ts, ps


# --------------------------------------------------------------------------------------------- units

def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence([int(seed), *map(int, key)])))


def _waveform(rng: np.random.Generator, fs: float) -> tuple[np.ndarray, int]:
    """A biphasic extracellular spike (trough −1, then a slower positive lobe), and the trough's index."""
    pre, post = int(round(_PRE_MS * fs / 1000)), int(round(_POST_MS * fs / 1000))
    t = (np.arange(-pre, post) / fs) * 1000.0                             # ms
    s1 = rng.uniform(0.08, 0.14)
    tp, s2, r = rng.uniform(0.35, 0.5), rng.uniform(0.18, 0.3), rng.uniform(0.25, 0.45)
    w = -np.exp(-t ** 2 / (2 * s1 ** 2)) + r * np.exp(-(t - tp) ** 2 / (2 * s2 ** 2))
    taper = np.ones_like(t)
    tail = t > _POST_MS - 0.4
    taper[tail] = 0.5 * (1 + np.cos(np.pi * (t[tail] - (_POST_MS - 0.4)) / 0.4))
    head = t < -_PRE_MS + 0.2
    taper[head] = 0.5 * (1 - np.cos(np.pi * (t[head] + _PRE_MS) / 0.2))
    w *= taper
    w /= -w.min()
    return w, int(np.argmin(w))


def _make_units(seed: int, num_units: int, pos: np.ndarray, fs: float,
                amplitude_uv: tuple[float, float], rates: tuple[float, float]) -> dict:
    rng = _rng(seed, _S_UNITS)
    ymin, ymax = pos[:, 1].min(), pos[:, 1].max()
    xmin, xmax = pos[:, 0].min(), pos[:, 0].max()
    y = np.sort(rng.uniform(ymin + 20.0, ymax - 20.0, num_units))
    x = rng.uniform(xmin - 15.0, xmax + 15.0, num_units)
    z = rng.uniform(8.0, 30.0, num_units)
    amp_uv = rng.uniform(*amplitude_uv, num_units)
    rate = rng.uniform(*rates, num_units)
    decay = rng.uniform(20.0, 30.0, num_units)
    wfs, troughs = zip(*(_waveform(rng, fs) for _ in range(num_units)))
    d = np.sqrt((pos[None, :, 0] - x[:, None]) ** 2 + (pos[None, :, 1] - y[:, None]) ** 2 + z[:, None] ** 2)
    peak = np.argmin(d, axis=1)
    return {"unit_id": np.arange(num_units, dtype=np.int64), "x": x, "y": y, "z": z,
            "amplitude_uv": amp_uv, "amplitude": amp_uv / UV_PER_BIT, "firing_rate": rate,
            "decay_um": decay, "peak_channel": peak.astype(np.int64),
            "_d0": d[np.arange(num_units), peak], "_wf": np.stack(wfs), "_trough": np.array(troughs)}


def _spike_trains(seed: int, units: dict, num_frames: int, fs: float, refractory_s: float,
                  extra_spikes: Sequence[tuple[int, int]] | None) -> tuple[np.ndarray, np.ndarray]:
    """Poisson trains with a dead time: ISI = refractory + exponential, mean rate = the unit's rate."""
    duration = num_frames / fs
    times, labels = [], []
    extra = np.asarray(extra_spikes if extra_spikes is not None else np.empty((0, 2)), dtype=np.int64)
    extra = extra.reshape(-1, 2)
    bad = (extra[:, 0] < 0) | (extra[:, 0] >= num_frames) | (extra[:, 1] < 0) | (extra[:, 1] >= units["unit_id"].size)
    if bad.any():
        raise ValueError(f"extra_spikes {extra[bad].tolist()} are outside the recording or name no unit")
    for u, rate in zip(units["unit_id"], units["firing_rate"]):
        rng = _rng(seed, _S_TRAIN, u)
        scale = 1.0 / rate - refractory_s
        n = int(duration * rate * 1.2 + 10)
        t = np.cumsum(refractory_s + rng.exponential(scale, n))
        while t[-1] < duration:
            t = np.concatenate([t, t[-1] + np.cumsum(refractory_s + rng.exponential(scale, n))])
        f = np.round(t[t < duration] * fs).astype(np.int64)
        f = f[f < num_frames]
        forced = extra[extra[:, 1] == u, 0]
        if forced.size:
            dead = int(np.ceil(refractory_s * fs))
            near = np.abs(f[:, None] - forced[None, :]).min(axis=1) < dead
            f = np.sort(np.concatenate([f[~near], forced]))
        times.append(f)
        labels.append(np.full(f.size, u, dtype=np.int64))
    times, labels = np.concatenate(times), np.concatenate(labels)
    order = np.lexsort((labels, times))
    return times[order], labels[order]


# --------------------------------------------------------------------------------------------- noise

class _Noise:
    """Gaussian white noise per channel (σ_c) plus a common-mode term, in fixed blocks of frames.

    Normal deviates come from a 16-bit inverse-CDF table (uniform uint16 → Φ⁻¹((k+½)/65536)), which is
    about 2.5× faster than ``Generator.standard_normal`` and Gaussian to within ±4.3 σ truncation.
    Block ``k`` uses its own seed sequence, so any frame range gives the same values.
    """

    def __init__(self, seed: int, num_channels: int, sigma: np.ndarray, common_sigma: float):
        from scipy.special import ndtri

        self.seed, self.nc = seed, num_channels
        self.sigma = np.asarray(sigma, dtype=np.float32)
        self.common_sigma = np.float32(common_sigma)
        self.table = ndtri((np.arange(65536) + 0.5) / 65536).astype(np.float32)
        self._cache: tuple[int, np.ndarray] | None = None

    def _draw(self, k: int, out: np.ndarray) -> np.ndarray:
        rng = _rng(self.seed, _S_NOISE, k)
        idx = rng.integers(0, 65536, size=(_NOISE_BLOCK, self.nc), dtype=np.uint16)
        cm = np.take(self.table, rng.integers(0, 65536, size=_NOISE_BLOCK, dtype=np.uint16))
        cm *= self.common_sigma
        np.take(self.table, idx, out=out)
        out *= self.sigma
        out += cm[:, None]
        return out

    def block(self, k: int) -> np.ndarray:
        if self._cache is None or self._cache[0] != k:
            buf = self._cache[1] if self._cache is not None else np.empty((_NOISE_BLOCK, self.nc), np.float32)
            self._cache = (k, self._draw(k, buf))
        return self._cache[1]

    def fill(self, f0: int, f1: int, out: np.ndarray) -> None:
        """Write the noise of frames ``[f0, f1)`` into ``out`` (shape (f1-f0, channels), float32)."""
        f = f0
        while f < f1:
            k, off = divmod(f, _NOISE_BLOCK)
            n = min(f1 - f, _NOISE_BLOCK - off)
            if n == _NOISE_BLOCK:
                self._draw(k, out[f - f0:f - f0 + n])
            else:
                out[f - f0:f - f0 + n] = self.block(k)[off:off + n]
            f += n


# --------------------------------------------------------------------------------------------- render

class _Renderer:
    """Adds the spikes overlapping a frame range to a float32 block, spike by spike in global order."""

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


# --------------------------------------------------------------------------------------------- generate

def generate(out_dir: str | Path, duration: float = 60.0, probe: str = "NP1", num_units: int = 40,
             drift: str | None | tuple = "triangle", seed: int = 0, sampling_frequency: float = 30000.0,
             chunk_seconds: float = 1.0, progress: bool | Callable[[int, int], None] | None = None, *,
             drift_amplitude: float = 50.0, drift_cycles: int = 2, noise_range: tuple[float, float] = (5.0, 8.0),
             common_noise: float = 1.5, amplitude_uv: tuple[float, float] = (50.0, 250.0),
             firing_rates: tuple[float, float] = (2.0, 15.0), refractory_ms: float = 2.0,
             amplitude_jitter: float = 0.05, sync: bool = True,
             extra_spikes: Sequence[tuple[int, int]] | None = None) -> SynthResult:
    """Write a synthetic Neuropixels recording and its ground truth into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        Created if missing. Receives ``raw.bin``, ``spike_times.npy``, ``spike_labels.npy``,
        ``manip.timestamps.npy``, ``manip.positions.npy``, ``units.json`` and ``synth.json``.
    duration : float
        Seconds.
    probe : {"NP1", "NP2"}
        NP1: 385 raw columns (384 AP channels + a sync column); NP2: 384 columns. Bank-0 geometry from
        probeinterface's bundled catalogue.
    num_units : int
        Units spread uniformly along the probe's depth.
    drift : {"triangle", "steps", None} or (timestamps, positions)
        Imposed displacement of the units along +y; see :func:`drift_protocol`, or explicit knots.
    seed : int
        Everything (geometry draws, units, spike trains, noise) is a deterministic function of the seed.
    sampling_frequency : float
    chunk_seconds : float
        Frames generated and written at a time; has no effect on the bytes.
    progress : bool or callable, optional
        A progress bar (``None``: if stderr is a terminal) or ``progress(frames_done, num_frames)``.
    drift_amplitude, drift_cycles : float, int
        Step / triangle amplitude in µm and number of 0 → A → 0 cycles.
    noise_range : (float, float)
        Per-channel noise σ drawn uniformly from this range (ADC counts).
    common_noise : float
        σ of a common-mode component shared by all channels (ADC counts).
    amplitude_uv : (float, float)
        Peak-channel trough amplitude range (µV; divided by 2.34375 µV/bit into counts).
    firing_rates : (float, float)
        Mean rate range (Hz) of Poisson trains with a ``refractory_ms`` dead time.
    amplitude_jitter : float
        Relative σ of spike-to-spike amplitude variation.
    sync : bool
        NP1 only: a 1 Hz TTL square wave (0 / 64) in the sync column, else zeros.
    extra_spikes : sequence of (frame, unit_id), optional
        Spikes forced at given frames (spikes of that unit within the refractory period are dropped).

    Returns
    -------
    SynthResult
    """
    if firing_rates[1] * refractory_ms / 1000.0 >= 1.0:
        raise ValueError(f"firing rate {firing_rates[1]} Hz is impossible with a {refractory_ms} ms refractory period")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = _time.perf_counter()
    fs = float(sampling_frequency)
    num_frames = int(round(duration * fs))
    pos, ncols = probe_geometry(probe)
    nch = pos.shape[0]
    if isinstance(drift, tuple):
        timestamps, positions = (np.asarray(a, dtype=float) for a in drift)
        drift_name = "custom"
    else:
        timestamps, positions = drift_protocol(drift, num_frames / fs, drift_amplitude, drift_cycles, fs)
        drift_name = drift

    sigma = _rng(seed, _S_PROBE).uniform(*noise_range, nch)
    units = _make_units(seed, num_units, pos, fs, amplitude_uv, firing_rates)
    times, labels = _spike_trains(seed, units, num_frames, fs, refractory_ms / 1000.0, extra_spikes)
    scales = np.clip(1.0 + amplitude_jitter * _rng(seed, _S_SCALE).standard_normal(times.size),
                     0.5, 1.5)
    noise = _Noise(seed, nch, sigma, common_noise)
    renderer = _Renderer(units, pos, times, labels, scales, fs, timestamps, positions)

    step = max(1, int(round(chunk_seconds * fs)))
    half_period = int(round(fs / 2))
    report, bar = _progress(progress, num_frames)
    try:
        with open(out_dir / "raw.bin", "wb") as fh:
            buf_all = np.empty((min(step, num_frames), nch), dtype=np.float32)
            out_all = np.zeros((min(step, num_frames), ncols), dtype="<i2")
            for f0 in range(0, num_frames, step):
                f1 = min(num_frames, f0 + step)
                buf, out = buf_all[:f1 - f0], out_all[:f1 - f0]
                noise.fill(f0, f1, buf)
                renderer.add(f0, f1, buf)
                np.rint(buf, out=buf)
                np.clip(buf, -32768, 32767, out=buf)
                out[:, :nch] = buf
                if ncols > nch and sync:
                    out[:, nch] = _SYNC_VALUE * ((np.arange(f0, f1) // half_period) % 2)
                fh.write(memoryview(out).cast("B"))
                report(f1)
    finally:
        if bar is not None:
            bar.close()
    elapsed = _time.perf_counter() - t_start

    channel_ids = np.arange(nch, dtype=np.int64)
    result = SynthResult(
        out_dir=out_dir, num_frames=num_frames, raw_num_channels=ncols, sampling_frequency=fs, probe=probe,
        drift=drift_name, seed=int(seed), channel_ids=channel_ids,
        channel_map={int(c): int(c) for c in channel_ids},
        channel_positions={int(c): [float(pos[c, 0]), float(pos[c, 1])] for c in channel_ids},
        spike_times=times, spike_labels=labels, timestamps=timestamps, positions=positions,
        units={k: v for k, v in units.items() if not k.startswith("_")}, noise_sigma=sigma, elapsed=elapsed,
        params=dict(duration=duration, num_units=num_units, drift_amplitude=drift_amplitude,
                    drift_cycles=drift_cycles, noise_range=list(noise_range), common_noise=common_noise,
                    amplitude_uv=list(amplitude_uv), firing_rates=list(firing_rates), refractory_ms=refractory_ms,
                    amplitude_jitter=amplitude_jitter, sync=sync, uv_per_bit=UV_PER_BIT))
    _write_truth(result)
    return result


def _progress(progress, total: int):
    if callable(progress):
        return (lambda done: progress(done, total)), None
    from .progress import progress_bar

    bar = progress_bar(total, "synth", progress, unit="frames")
    state = {"done": 0}

    def report(done: int) -> None:
        bar.update(done - state["done"])
        state["done"] = done

    return report, bar


def _write_truth(r: SynthResult) -> None:
    np.save(r.times_path, r.spike_times.astype(np.int64))
    np.save(r.labels_path, r.spike_labels.astype(np.int64))
    np.save(r.timestamps_path, r.timestamps.astype(np.float64))
    np.save(r.positions_path, r.positions.astype(np.float64))
    r.units_path.write_text(json.dumps({k: np.asarray(v).tolist() for k, v in r.units.items()}))
    meta = {"num_frames": r.num_frames, "raw_num_channels": r.raw_num_channels,
            "sampling_frequency": r.sampling_frequency, "probe": r.probe, "drift": r.drift, "seed": r.seed,
            "channel_ids": r.channel_ids.tolist(), "channel_map": {str(k): v for k, v in r.channel_map.items()},
            "channel_positions": {str(k): v for k, v in r.channel_positions.items()},
            "noise_sigma": r.noise_sigma.tolist(), "elapsed": r.elapsed, "params": r.params,
            "sign_convention": "positions: displacement of the units along +y (µm) in probe coordinates"}
    (r.out_dir / "synth.json").write_text(json.dumps(meta, indent=1))


# --------------------------------------------------------------------------------------------- catalog

def write_catalog(result: SynthResult, store_dir: str | Path, catalog_path: str | Path, name: str,
                  chunk_seconds: float = 1.0, metadata: dict | None = None) -> dict:
    """Add the recording and its ground truth to a store and write an intake v1 YAML catalog.

    Parameters
    ----------
    result : SynthResult
    store_dir : path-like
        Our own store root (``storage_options={"store": store_dir}``).
    catalog_path : path-like
        YAML file to write (an existing file is replaced).
    name : str
        Recording id; entries are ``name``, ``name:ground_truth`` and ``name:drift``.
    chunk_seconds : float
        ``chunk_seconds`` argument of the recording entry.
    metadata : dict, optional
        Extra metadata for the recording entry.

    Returns
    -------
    dict
        The catalog as written.
    """
    import yaml

    from .store.engine import get_store

    store = get_store({"store": str(store_dir)})
    def add(path: Path) -> str:
        try:  # same filesystem: no copy of a multi-GB file
            return store.add_file(path, link="hard").uri
        except OSError:
            return store.add_file(path).uri

    uri = {k: add(p) for k, p in [("raw", result.raw_path), ("times", result.times_path),
                                                  ("labels", result.labels_path),
                                                  ("timestamps", result.timestamps_path),
                                                  ("positions", result.positions_path)]}
    has_drift = bool(np.any(result.positions != 0))
    meta = {"kind": "recording", "synthetic": True, "probe": result.probe, "drift": has_drift,
            "drift_protocol": result.drift, "seed": result.seed, "num_units": int(result.units["unit_id"].size),
            "duration_s": result.duration, "sampling_frequency": result.sampling_frequency,
            "gain_to_uV": UV_PER_BIT, **(metadata or {})}
    catalog = {"metadata": {"version": 1, "description": "synthetic Neuropixels recordings (intake_npx2020.synth)"},
               "sources": {
                   name: {"driver": "npx_recording",
                          "args": {"recording": result.bin1_object(uri["raw"]), "chunk_seconds": chunk_seconds},
                          "metadata": meta},
                   f"{name}:ground_truth": {"driver": "npx_sorting",
                                            "args": {"sorting": result.npy1_object(uri["times"], uri["labels"])},
                                            "metadata": {"kind": "sorting", "recording_id": name,
                                                         "ground_truth": True}},
                   f"{name}:drift": {"driver": "npx_drift",
                                     "args": {"timestamps": uri["timestamps"], "positions": uri["positions"]},
                                     "metadata": {"kind": "drift", "recording_id": name,
                                                  "units": "um", "sign": "+y displacement of units"}}}}
    catalog_path = Path(catalog_path)
    catalog_path.parent.mkdir(parents=True, exist_ok=True)
    catalog_path.write_text(yaml.safe_dump(catalog, sort_keys=False, default_flow_style=None, width=120))
    return catalog
