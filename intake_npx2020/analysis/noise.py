"""Per-channel noise σ of the filtered signal, from evenly spaced windows of the recording."""

from __future__ import annotations

import numpy as np

from .blockwise import compute_on, margin
from .filters import filter_block
from .inputs import sampling_frequency, time_chunked
from .params import FilterParams

__all__ = ["noise_levels"]

_MAD_TO_SIGMA = 1 / 0.6744897501960817


def _mad_block(block, core_a: int, core_b: int, fp: FilterParams) -> np.ndarray:
    y = filter_block(block, fp)[:, core_a:core_b]
    return np.median(np.abs(y), axis=1) * _MAD_TO_SIGMA


def _median_of(parts) -> np.ndarray:
    return np.median(np.stack(parts), axis=0)


def _window_starts(n: int, win: int, num_chunks: int) -> list[int]:
    """First frames of ``num_chunks`` windows of ``win`` frames evenly spaced over ``n`` (duplicates dropped)."""
    starts = np.linspace(0, n - win, num_chunks).round().astype(int) if num_chunks > 1 else [max(0, (n - win) // 2)]
    return list(dict.fromkeys(int(v) for v in starts))


def noise_levels(traces, seconds: float = 5.0, num_chunks: int = 10, freq_min: float = 300.0,
                 freq_max: float = 6000.0, order: int = 3, cmr: bool = False, margin_s: float = 0.01,
                 scheduler: str | None = None, compute: bool = True):
    """Per-channel noise σ of the filtered signal, ``median(|x|) / 0.6745``, from evenly spaced windows.

    Parameters
    ----------
    traces : xarray.DataArray
    seconds : float
        Total duration used, split into ``num_chunks`` windows evenly spaced over the recording.
    num_chunks : int
    freq_min, freq_max, order, cmr, margin_s
        As in :func:`~intake_npx2020.analysis.bandpass` (use the same values as the detection).
    scheduler : str, optional
        Dask scheduler; ``None`` uses the active client / default.
    compute : bool
        If False, return a ``dask.delayed`` numpy array instead.

    Returns
    -------
    xarray.DataArray
        float64 over ``channel`` (with ``x``, ``y``), in the traces' units (ADC counts). The median over
        windows of each window's MAD estimate.
    """
    import dask
    import xarray as xr

    fp = FilterParams(sampling_frequency(traces), freq_min, freq_max, order, cmr)
    data = time_chunked(traces)
    n = data.shape[0]
    win = max(1, min(n // max(1, num_chunks), int(round(seconds * fp.fs / max(1, num_chunks)))))
    m = margin(fp.fs, margin_s)
    parts = []
    for s in _window_starts(n, win, num_chunks):
        a, b = max(0, s - m), min(n, s + win + m)
        parts.append(dask.delayed(_mad_block, pure=True)(data[a:b], s - a, s - a + win, fp))
    noise = dask.delayed(_median_of, pure=True)(parts)
    if not compute:
        return noise
    return xr.DataArray(compute_on(noise, scheduler), dims=("channel",),
                        coords={"channel": traces["channel"].values, "x": ("channel", traces["x"].values),
                                "y": ("channel", traces["y"].values)}, name="noise")
