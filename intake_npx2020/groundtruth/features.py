"""What drift and sorter users look at in a sorting: per-spike amplitude and depth, per-unit peak channel, depth
and amplitude — computed on request from the recording (never by default: they need the raw bytes).

The package's own dask graphs (one task per time chunk, band-passed with a margin, as in
:mod:`intake_npx2020.analysis`): a first pass over the chunks holding a seeded sample of each unit's spikes
finds its peak channel (the most negative mean filtered trough); a second pass over every spike reads the
trough on that channel (``amplitude``, filtered ADC counts, negative) and localises the spike by the centre of
mass of trough depths within ``radius_um`` of it (``x``, ``y``; ``y`` is the depth).
"""

from __future__ import annotations

import numpy as np

from ..analysis.blockwise import compute_on, margin, per_chunk
from ..analysis.filters import filter_block
from ..analysis.inputs import channel_positions, sampling_frequency, start_frame, time_chunked
from ..analysis.localization import center_of_mass, locality
from ..analysis.params import FilterParams

__all__ = ["spike_features", "unit_features"]

_W = 3   # trough search half-window (samples)


def _troughs(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(spikes, channels): min of the filtered signal over ±_W samples of each spike, on every channel."""
    tt = np.clip(t[:, None] + np.arange(-_W, _W + 1)[None, :], 0, y.shape[1] - 1)
    return y[:, tt].min(axis=2).T


def _sample_block(block, bs, s, e, sel, rel, fp):
    return sel, _troughs(filter_block(block, fp), rel[sel] - bs)


def _feature_block(block, bs, s, e, sel, rel, peak, fp, loc):
    y = filter_block(block, fp)
    t, c = rel[sel] - bs, peak[sel]
    tt = np.clip(t[:, None] + np.arange(-_W, _W + 1)[None, :], 0, y.shape[1] - 1)
    amp = y[c[:, None], tt].min(axis=1)
    return sel, np.column_stack([amp, center_of_mass(y, c, t, loc)])


def _gather(parts, n: int, width: int):
    out = np.full((n, width), np.nan)
    for sel, res in parts:
        out[sel] = res
    return out


def _chunks_of(rel: np.ndarray, keep: np.ndarray):
    """``extra`` for per_chunk: the kept spikes in each chunk, None for a chunk without."""
    idx = np.flatnonzero(keep)
    idx = idx[np.argsort(rel[idx], kind="stable")]
    srel = rel[idx]

    def extra(i, s, e):
        lo, hi = np.searchsorted(srel, [s, e])
        return (idx[lo:hi],) if hi > lo else None

    return extra


def _run(traces, name: str, func, shared: tuple, rel, keep, width: int, scheduler):
    from dask.base import tokenize
    from dask.delayed import Delayed

    data = time_chunked(traces)
    fs = sampling_frequency(traces)
    key = f"npx2020-{name}-" + tokenize(data.name, rel, keep, shared)
    graph, _, _ = per_chunk(data, margin(fs, 0.01, extra=_W + 1), func, (rel,) + shared, key,
                            extra=_chunks_of(rel, keep), combine=(_gather, len(rel), width))
    return compute_on(Delayed(key, graph), scheduler)


def _peak_channels(traces, spikes, rel, fp, sample: int, seed: int, scheduler) -> dict:
    """Each unit's peak channel index, from the mean filtered trough of a seeded sample of its spikes."""
    gen = np.random.default_rng(np.random.SeedSequence([int(seed), 0x50454B]))
    units = spikes["unit_id"].to_numpy()
    inside = (rel >= 0) & (rel < traces.shape[0])
    keep = np.zeros(len(rel), bool)
    for u in np.unique(units):
        idx = np.flatnonzero((units == u) & inside)
        keep[gen.choice(idx, size=min(sample, idx.size), replace=False) if idx.size else idx] = True
    troughs = _run(traces, "unit-troughs", _sample_block, (fp,), rel, keep, traces.shape[1], scheduler)
    out = {}
    for u in np.unique(units):
        sel = keep & (units == u)
        out[int(u)] = int(np.argmin(troughs[sel].mean(axis=0))) if sel.any() else -1
    return out


def spike_features(spikes, traces, radius_um: float = 75.0, template_spikes: int = 50, seed: int = 0, *,
                   freq_min: float = 300.0, freq_max: float = 6000.0, scheduler: str | None = None):
    """Per-spike ``amplitude``, ``x``, ``y`` (depth) and the unit's ``peak_channel``, joined to a sorting.

    Parameters
    ----------
    spikes : pandas.DataFrame
        ``unit_id`` and ``sample_index`` (frames from the recording's time zero), e.g. a sorting entry's
        ``read()``.
    traces : xarray.DataArray
        The recording (lazy; e.g. ``cat[recording_id].to_dask()``).
    radius_um : float
        Channels within this distance of the peak channel weigh in the centre of mass.
    template_spikes : int
        Spikes per unit (seeded sample) used to find its peak channel.
    seed : int
    freq_min, freq_max : float
        Band-pass before everything (zero-phase, as in :func:`~intake_npx2020.analysis.bandpass`).
    scheduler : str, optional

    Returns
    -------
    pandas.DataFrame
        A copy of ``spikes`` with ``peak_channel`` (channel id), ``amplitude`` (filtered trough on it, same units
        as the traces), ``x``, ``y`` (µm); NaN for spikes outside the recording.
    """
    fp = FilterParams(sampling_frequency(traces), freq_min, freq_max)
    rel = spikes["sample_index"].to_numpy(np.int64) - start_frame(traces, fp.fs)
    peaks = _peak_channels(traces, spikes, rel, fp, template_spikes, seed, scheduler)
    peak = np.array([peaks[int(u)] for u in spikes["unit_id"].to_numpy()], dtype=np.int64)
    keep = (rel >= 0) & (rel < traces.shape[0]) & (peak >= 0)
    loc = locality(channel_positions(traces), radius_um)
    res = _run(traces, "spike-features", _feature_block, (np.maximum(peak, 0), fp, loc), rel, keep, 3, scheduler)
    out = spikes.copy()
    ids = np.asarray(traces["channel"].values)
    out["peak_channel"] = np.where(peak >= 0, ids[np.maximum(peak, 0)], -1)
    out["amplitude"], out["x"], out["y"] = res[:, 0], res[:, 1], res[:, 2]
    return out


def unit_features(features):
    """Per unit (index ``unit_id``): ``num_spikes``, ``peak_channel``, median ``amplitude``, ``x`` and ``depth``
    (median ``y``) of a :func:`spike_features` table."""
    g = features.groupby("unit_id")
    out = g.agg(num_spikes=("sample_index", "size"), peak_channel=("peak_channel", "first"),
                amplitude=("amplitude", "median"), x=("x", "median"), depth=("y", "median"))
    return out
