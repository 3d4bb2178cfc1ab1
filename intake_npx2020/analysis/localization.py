"""Where peaks are: centre of mass of the trough depth over nearby channels, and the channel neighbourhoods."""

from __future__ import annotations

import numpy as np

from .blockwise import compute_on, margin, per_chunk
from .filters import filter_block
from .inputs import channel_positions, sampling_frequency, start_frame, time_chunked
from .params import FilterParams, Locality

__all__ = ["channel_neighbours", "locality", "center_of_mass", "localize_peaks"]


def channel_neighbours(positions: np.ndarray, radius_um: float) -> np.ndarray:
    """For each channel, the indices of the channels within ``radius_um`` (itself included, first).

    Parameters
    ----------
    positions : numpy.ndarray
        (channels, 2) x, y (µm).
    radius_um : float

    Returns
    -------
    numpy.ndarray
        int64 (channels, K), nearest first; rows are padded with the channel's own index.
    """
    pos = np.asarray(positions, float)
    d = np.sqrt(((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1))
    rows = []
    for c in range(len(pos)):
        near = np.flatnonzero(d[c] <= radius_um)
        near = near[np.argsort(d[c, near], kind="stable")]
        rows.append(near)
    k = max(len(r) for r in rows)
    out = np.empty((len(pos), k), dtype=np.int64)
    for c, r in enumerate(rows):
        out[c, :len(r)] = r
        out[c, len(r):] = c
    return out


def locality(positions: np.ndarray, radius_um: float) -> Locality:
    """The channels within ``radius_um`` of each channel, as used by :func:`center_of_mass`."""
    nb = channel_neighbours(positions, radius_um)
    valid = np.zeros(nb.shape, dtype=np.float32)
    for c in range(len(nb)):
        valid[c, : len(np.unique(nb[c]))] = 1.0
    return Locality(nb, valid, np.asarray(positions, float))


def center_of_mass(y: np.ndarray, c: np.ndarray, t: np.ndarray, loc: Locality, w: int = 3) -> np.ndarray:
    """x, y of each peak: channel positions weighted by the trough depth (min over ±w samples, ≥ 0).

    Parameters
    ----------
    y : numpy.ndarray
        Filtered (channels, frames) block.
    c, t : numpy.ndarray
        Channel index and frame (in ``y``) of each peak.
    loc : Locality
    w : int

    Returns
    -------
    numpy.ndarray
        (peaks, 2) x, y (µm).
    """
    if c.size == 0:
        return np.empty((0, 2))
    n_t = y.shape[1]
    nb = loc.neighbours[c]
    tt = np.clip(t[:, None] + np.arange(-w, w + 1)[None, :], 0, n_t - 1)
    amp = np.maximum(0.0, -y[nb[:, None, :], tt[:, :, None]].min(axis=1)) * loc.valid[c]   # (n, K)
    tot = amp.sum(axis=1, keepdims=True)
    tot[tot == 0] = 1.0
    wts = amp / tot
    pos = loc.positions
    return np.stack([(wts * pos[nb, 0]).sum(1), (wts * pos[nb, 1]).sum(1)], axis=1)


def _localize_block(block, bs: int, s: int, e: int, sel: np.ndarray, cidx: np.ndarray, rel: np.ndarray,
                    fp: FilterParams, loc: Locality):
    y = filter_block(block, fp)
    return sel, center_of_mass(y, cidx[sel], rel[sel] - bs, loc)


def _gather_xy(parts, n: int) -> np.ndarray:
    xy = np.full((n, 2), np.nan)
    for sel, res in parts:
        xy[sel] = res
    return xy


def _channel_indices(traces, peaks) -> np.ndarray:
    """Column in ``traces`` of each peak, from ``channel_index`` or else from ``channel`` (id)."""
    if "channel_index" in peaks:
        return peaks["channel_index"].to_numpy(np.int64)
    lookup = {int(c): i for i, c in enumerate(traces["channel"].values)}
    return np.array([lookup[int(c)] for c in peaks["channel"].to_numpy()], dtype=np.int64)


def _by_chunk(rel: np.ndarray):
    """``extra`` for :func:`per_chunk`: the peaks whose frame lies in each chunk, None for a chunk without."""
    by_time = np.argsort(rel, kind="stable")
    srel = rel[by_time]

    def extra(i, s, e):
        lo, hi = np.searchsorted(srel, [s, e])
        return (by_time[lo:hi],) if hi > lo else None

    return extra


def localize_peaks(traces, peaks, radius_um: float = 75.0, *, freq_min: float = 300.0, freq_max: float = 6000.0,
                   order: int = 3, cmr: bool = False, margin_s: float = 0.01, scheduler: str | None = None):
    """Centre-of-mass ``x``, ``y`` (µm) of given peaks, re-reading the traces chunk by chunk.

    :func:`~intake_npx2020.analysis.detect_spikes` already does this inside its detection tasks
    (``localize=True``); use this for peaks from elsewhere (e.g. a sorting's spike times with their channels).

    Parameters
    ----------
    traces : xarray.DataArray
    peaks : pandas.DataFrame
        With ``sample_index`` (frames from time zero) and ``channel`` (id) or ``channel_index``.
    radius_um : float
        Channels within this distance of the peak channel contribute, weighted by their trough depth.
    freq_min, freq_max, order, cmr, margin_s
        As in :func:`~intake_npx2020.analysis.bandpass`.
    scheduler : str, optional

    Returns
    -------
    pandas.DataFrame
        A copy of ``peaks`` with ``x``, ``y`` columns.
    """
    from dask.base import tokenize
    from dask.delayed import Delayed

    fp = FilterParams(sampling_frequency(traces), freq_min, freq_max, order, cmr)
    data = time_chunked(traces)
    loc = locality(channel_positions(traces), radius_um)
    cidx = _channel_indices(traces, peaks)
    rel = peaks["sample_index"].to_numpy(np.int64) - start_frame(traces, fp.fs)
    depth = margin(fp.fs, margin_s, extra=4)
    name = "npx2020-localize-" + tokenize(data.name, rel, cidx, fp, loc, depth)
    graph, _, _ = per_chunk(data, depth, _localize_block, (cidx, rel, fp, loc), name, extra=_by_chunk(rel),
                            combine=(_gather_xy, len(peaks)))
    xy = compute_on(Delayed(name, graph), scheduler)
    out = peaks.copy()
    out["x"], out["y"] = xy[:, 0], xy[:, 1]
    return out
