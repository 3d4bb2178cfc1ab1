"""Trace windows and how they are laid out on screen, as plain numpy (no panel, no HoloViews).

A :class:`Window` is one block of a recording read through the lazy array (``isel`` then ``.values``), in
µV when the entry's gain is known and in ADC counts otherwise. :func:`trace_panel` turns a run of its
channels into one offset polyline with a spacing taken from the window's robust amplitude, so neighbouring
traces do not overlap, and a scale bar of a round length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Window", "Traces", "frames", "load_window", "clip_limit", "robust_amplitude", "nice_step",
           "trace_spacing", "busiest_channels", "trace_panel", "decimate_minmax"]

UV = "µV"
COUNTS = "counts"
_SPACINGS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)


@dataclass(frozen=True)
class Window:
    """A block of traces: ``data`` (frames × channels, float32, in ``unit``), its times and channels."""

    data: np.ndarray
    time: np.ndarray
    channel: np.ndarray
    x: np.ndarray
    y: np.ndarray
    index: np.ndarray
    sampling_frequency: float
    unit: str = COUNTS

    @property
    def t0(self) -> float:
        return float(self.time[0]) if self.time.size else 0.0

    @property
    def t1(self) -> float:
        return float(self.time[-1]) + 1.0 / self.sampling_frequency if self.time.size else 0.0


@dataclass(frozen=True)
class Traces:
    """Channels of a window drawn as one polyline: ``NaN`` between channels, each offset by ``spacing``.

    ``ticks`` pairs each trace's offset with its channel id; ``bar`` is the scale bar's length (in ``unit``).
    """

    t: np.ndarray
    v: np.ndarray
    ticks: list
    spacing: float
    bar: float
    unit: str
    t0: float
    t1: float


def frames(x, start: float, duration: float) -> tuple[int, int]:
    """Frame range ``[f0, f1)`` of ``duration`` seconds from ``start``, clipped to the recording (≥ 1 frame)."""
    fs = float(x.attrs["sampling_frequency"])
    n = int(x.sizes["time"])
    f0 = int(np.clip(round(start * fs), 0, max(0, n - 1)))
    f1 = int(np.clip(f0 + max(1, round(duration * fs)), f0 + 1, n))
    return f0, f1


def load_window(x, start: float, duration: float, channel_start: int = 0, num_channels: int | None = None,
                center: bool = True, to_uv: bool = True) -> Window:
    """Read one window of a recording, and nothing more.

    Parameters
    ----------
    x : xarray.DataArray
        ``("time", "channel")`` traces, lazy (``RecordingSource.to_dask()``).
    start, duration : float
        Seconds; clipped to the recording.
    channel_start, num_channels : int
        Channel positions (not ids) ``[channel_start, channel_start + num_channels)``, clipped.
    center : bool
        Subtract each channel's median over the window (removes DC offsets; estimated from at most ~3000
        evenly spaced frames).
    to_uv : bool
        Scale to µV when ``x.attrs["gain_to_uV"]`` is known (otherwise the window stays in ADC counts).

    Returns
    -------
    Window
    """
    f0, f1 = frames(x, start, duration)
    nch = int(x.sizes["channel"])
    c0 = int(np.clip(channel_start, 0, max(0, nch - 1)))
    c1 = nch if num_channels is None else int(np.clip(c0 + max(1, int(num_channels)), c0 + 1, nch))
    block = x.isel(time=slice(f0, f1), channel=slice(c0, c1))
    data = np.asarray(block.values, dtype=np.float32)
    if center and data.size:
        step = max(1, data.shape[0] // 3000)  # the median of ~3000 evenly spaced frames is plenty
        data -= np.median(data[::step], axis=0, keepdims=True)
    gain = x.attrs.get("gain_to_uV")
    unit = COUNTS
    if to_uv and gain:
        data *= np.float32(gain)
        unit = UV
    fs = float(x.attrs["sampling_frequency"])
    return Window(data=data, time=np.arange(f0, f1) / fs, channel=np.asarray(block["channel"].values),
                  x=np.asarray(block["x"].values, float), y=np.asarray(block["y"].values, float),
                  index=np.arange(c0, c1), sampling_frequency=fs, unit=unit)


def _sample(data: np.ndarray, max_rows: int = 20_000) -> np.ndarray:
    return data[::max(1, data.shape[0] // max_rows)]


def clip_limit(data: np.ndarray, q: float = 99.5, max_samples: int = 200_000) -> float:
    """The ``q``-th percentile of ``|data|`` (from at most ``max_samples`` evenly spaced values): a colour range
    that keeps the noise visible next to large spikes."""
    flat = data.reshape(-1)
    if not flat.size:
        return 1.0
    sample = np.abs(flat[::max(1, flat.size // max_samples)])
    return float(np.percentile(sample, q)) or float(sample.max()) or 1.0


def robust_amplitude(data: np.ndarray) -> float:
    """The window's noise level: the median over channels of each channel's σ (median of ``|data|`` / 0.6745).

    Spikes do not move it (they are a small fraction of the samples), so it says how wide each trace's
    noise band is drawn: about ±3.5 σ at the extremes of a window.
    """
    if not data.size:
        return 0.0
    return float(np.median(np.median(np.abs(_sample(data)), axis=0)) / 0.6745)


def nice_step(value: float, up: bool = False, mantissas=(1.0, 2.0, 5.0)) -> float:
    """The largest ``m`` × 10ᵏ not above ``value``, ``m`` one of ``mantissas`` (with ``up``: the smallest not
    below it). 1.0 for zero, negative or non-finite values."""
    if not value > 0 or not np.isfinite(value):
        return 1.0
    power = 10.0 ** np.floor(np.log10(value))
    steps = [m * p for p in (power / 10, power, power * 10) for m in mantissas]
    tol = value * 1e-9
    step = min(s for s in steps if s >= value - tol) if up else max(s for s in steps if s <= value + tol)
    return float(f"{step:.6g}")


def trace_spacing(data: np.ndarray, factor: float = 10.0) -> float:
    """Offset between traces: ``factor`` × :func:`robust_amplitude` (σ), rounded up to a round number.

    With the default, each trace's noise band (±3.5 σ) fills at most three quarters of its row: the noise of
    neighbouring traces does not overlap, and spikes stand out.
    """
    target = factor * robust_amplitude(data)
    if not target > 0:
        spread = float(np.ptp(data)) if data.size else 0.0
        return spread if spread > 0 else 1.0
    return nice_step(target, up=True, mantissas=_SPACINGS)


def busiest_channels(w: Window, n: int) -> int:
    """First column of the run of ``n`` neighbouring channels with the largest spikes relative to their noise.

    Each channel scores ``max |x| / σ`` (σ from the median absolute value); the run with the largest total
    wins, so the first screen of a recording shows spikes rather than a quiet stretch of the probe.
    """
    ncols = w.data.shape[1]
    if ncols <= n or not w.data.size:
        return 0
    sample = _sample(w.data)
    sigma = np.median(np.abs(sample), axis=0) / 0.6745
    score = np.abs(w.data).max(axis=0) / np.where(sigma > 0, sigma, np.inf)
    runs = np.convolve(score, np.ones(n), mode="valid")
    return int(np.argmax(runs))


def trace_panel(w: Window, first: int = 0, count: int = 32, bins: int = 2000) -> Traces:
    """Columns ``[first, first + count)`` of ``w`` as offset, min/max-decimated traces with a scale bar.

    Parameters
    ----------
    w : Window
    first, count : int
        Column positions in ``w.data`` (clipped to it).
    bins : int
        Time bins per trace (see :func:`decimate_minmax`).

    Returns
    -------
    Traces
    """
    ncols = w.data.shape[1]
    c0 = int(np.clip(first, 0, max(0, ncols - 1)))
    cols = np.arange(c0, min(ncols, c0 + max(1, int(count))))
    block = w.data[:, cols]
    spacing = trace_spacing(block)
    ts, vs, ticks = [], [], []
    for k, c in enumerate(cols):
        t, v = decimate_minmax(w.time, w.data[:, c], bins)
        ts += [t, [np.nan]]
        vs += [v + k * spacing, [np.nan]]
        ticks.append((k * spacing, str(w.channel[c])))
    t = np.concatenate(ts) if ts else np.zeros(0)
    v = np.concatenate(vs).astype(np.float32) if vs else np.zeros(0, np.float32)
    return Traces(t, v, ticks, spacing, nice_step(spacing), w.unit, w.t0, w.t1)


def decimate_minmax(t: np.ndarray, v: np.ndarray, bins: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Keep the min and max of ``v`` in each of ``bins`` time bins (a line that looks the same when drawn).

    Returns ``(t, v)`` unchanged when they are short enough.
    """
    n = v.shape[0]
    if n <= 2 * bins:
        return t, v
    edges = np.linspace(0, n, bins + 1).astype(int)
    lo = np.minimum.reduceat(v, edges[:-1])
    hi = np.maximum.reduceat(v, edges[:-1])
    tt = np.repeat(t[edges[:-1]], 2)
    vv = np.empty(2 * bins, dtype=v.dtype)
    vv[0::2], vv[1::2] = lo, hi
    return tt, vv
