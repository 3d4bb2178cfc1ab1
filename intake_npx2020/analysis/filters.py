"""Zero-phase band-pass filtering by FFT, block by block and as a lazy ``DataArray``.

The response is the magnitude of a Butterworth band-pass squared (the same response as
``scipy.signal.sosfiltfilt``), applied by FFT to each chunk padded with ``margin_s`` of its neighbours.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..extras import require
from .blockwise import margin, per_chunk
from .inputs import sampling_frequency, time_chunked
from .params import FilterParams

__all__ = ["bandpass", "filter_block", "power_response"]


@lru_cache(maxsize=32)
def power_response(n: int, fs: float, freq_min: float, freq_max: float, order: int) -> np.ndarray:
    """|H(f)|² of a Butterworth band-pass (or high-pass if freq_max ≥ Nyquist) on the rfft grid of n.

    Returns
    -------
    numpy.ndarray
        float32, ``n // 2 + 1`` values.
    """
    ss = require("scipy.signal", why="band-pass filtering")

    if freq_max and freq_max < fs / 2:
        sos = ss.butter(order, [freq_min, freq_max], btype="bandpass", fs=fs, output="sos")
    else:
        sos = ss.butter(order, freq_min, btype="highpass", fs=fs, output="sos")
    freqs = np.fft.rfftfreq(n, 1.0 / fs)
    _, h = ss.sosfreqz(sos, worN=freqs, fs=fs)
    return (np.abs(h) ** 2).astype(np.float32)


def _fft_len(n: int) -> int:
    """Smallest 2^a·3^b ≥ n (pocketfft is markedly faster on these than on 5-smooth lengths)."""
    best = 1 << max(0, int(n - 1).bit_length())
    p3 = 1
    while p3 < best:
        p2 = p3
        while p2 < n:
            p2 *= 2
        best = min(best, p2)
        p3 *= 3
    return best


def _transpose_into(block: np.ndarray, out: np.ndarray, step: int = 256) -> None:
    """``out[:] = block.T`` (with a dtype cast), in cache-friendly row blocks (4-5x faster than one copy)."""
    for i in range(0, block.shape[0], step):
        out[:, i:i + step] = block[i:i + step].T


def filter_block(block: np.ndarray, fp: FilterParams, group: int = 64) -> np.ndarray:
    """Zero-phase band-pass of a (frames, channels) block; returns float32 (channels, frames).

    The block is odd-reflected by up to 5 ms at both ends (only matters at the recording's ends: inside
    the recording, callers read a margin of neighbouring frames) and zero-padded to an FFT-friendly length.
    Channels go through the FFTs ``group`` at a time, so the FFT buffers stay small (20 % faster than all
    384 at once on a 2-core EPYC, and less memory traffic shared between worker processes).
    """
    sf = require("scipy.fft", why="band-pass filtering")

    block = np.asarray(block)
    n_t, n_c = block.shape
    fs = fp.fs
    pad = min(n_t - 1, int(0.005 * fs))
    n = _fft_len(n_t + 2 * pad)
    response = power_response(n, fs, float(fp.freq_min), float(fp.freq_max), int(fp.order))
    out = np.empty((n_c, n_t), dtype=np.float32)
    x = np.zeros((min(group, n_c), n), dtype=np.float32)
    for c0 in range(0, n_c, group):
        c1 = min(n_c, c0 + group)
        xg = x[:c1 - c0]
        core = xg[:, pad:pad + n_t]
        _transpose_into(block[:, c0:c1], core)
        if pad > 0:
            xg[:, :pad] = 2 * core[:, :1] - core[:, pad:0:-1]
            xg[:, pad + n_t:2 * pad + n_t] = 2 * core[:, -1:] - core[:, -2:-pad - 2:-1]
        spec = sf.rfft(xg, axis=1)
        spec *= response
        out[c0:c1] = sf.irfft(spec, n=n, axis=1)[:, pad:pad + n_t]
    if fp.cmr:
        out -= np.median(out, axis=0)[None, :]
    return out


def _bandpass_block(block, bs: int, s: int, e: int, fp: FilterParams) -> np.ndarray:
    return filter_block(block, fp)[:, s - bs:e - bs].T


def bandpass(traces, freq_min: float = 300.0, freq_max: float = 6000.0, order: int = 3, cmr: bool = False,
             margin_s: float = 0.01):
    """Lazily band-pass filter (zero phase) and optionally common-median reference the traces.

    Parameters
    ----------
    traces : xarray.DataArray
        ``("time", "channel")`` recording.
    freq_min, freq_max : float
        Pass band in Hz (Butterworth of ``order``, applied forward and backward in effect).
    order : int
    cmr : bool
        Subtract the median across channels at every sample, after filtering.
    margin_s : float
        Seconds of neighbouring chunks read on each side of a chunk.

    Returns
    -------
    xarray.DataArray
        float32, same dims, coords and chunks; ``attrs["filter"]`` describes the filter.
    """
    import dask.array as da
    from dask.base import tokenize

    fp = FilterParams(sampling_frequency(traces), freq_min, freq_max, order, cmr)
    data = time_chunked(traces)
    depth = margin(fp.fs, margin_s)
    name = "npx2020-bandpass-" + tokenize(data.name, fp.fs, freq_min, freq_max, order, cmr, depth)
    graph, _, chunks = per_chunk(data, depth, _bandpass_block, (fp,), name)
    out = da.Array(graph, name, chunks=(chunks, (data.shape[1],)), dtype=np.float32,
                   meta=np.empty((0, 0), np.float32))
    res = traces.copy(data=out)
    res.attrs = {**traces.attrs, "filter": fp.label()}
    return res
