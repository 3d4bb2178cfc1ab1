"""Draw an injection from a seed: units (model or a sorting's templates), spike trains, amplitude scales."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .injection import Injection
from .params import HybridParams
from .templates import dense_units, model_units

__all__ = ["draw_injection", "motion_knots"]

_STREAM = 0x48594252   # "HYBR": the hybrid's streams never coincide with a synthetic parent's of the same seed


def _gen(seed: int, tag: int) -> np.random.Generator:
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence([int(seed), _STREAM, tag])))


def motion_knots(motion) -> tuple[np.ndarray, np.ndarray] | None:
    """``(timestamps s, displacement µm)`` from a drift table (``time``, ``position``), a motion estimate
    (``time``, ``displacement``; NaN bins dropped), a ``(timestamps, positions)`` pair, or None."""
    if motion is None:
        return None
    if hasattr(motion, "columns"):
        col = "position" if "position" in motion.columns else "displacement"
        t, p = motion["time"].to_numpy(float), motion[col].to_numpy(float)
    else:
        t, p = (np.asarray(a, dtype=float).ravel() for a in motion)
    ok = np.isfinite(t) & np.isfinite(p)
    if not ok.any() or t.shape != p.shape or np.any(np.diff(t[ok]) < 0):
        raise ConfigError("motion must have finite, increasing times and as many displacements")
    return t[ok], p[ok]


def _gain(traces) -> float:
    from ..synth.probe import UV_PER_BIT

    return float(traces.attrs.get("gain_to_uV") or UV_PER_BIT)


def _templates(traces, p: HybridParams, sorting, fs: float):
    """The injected units' templates, and the count of units."""
    from .reader import reader_of

    pos = np.stack([traces["x"].values, traces["y"].values], axis=1).astype(float)
    gain = _gain(traces)
    if p.templates == "model":
        amps = np.asarray(p.per_unit("amplitudes_uv", p.num_units, _gen(p.seed, 1)), float) / gain
        return model_units(pos, fs, p.num_units, amps, np.zeros(p.num_units), p.seed, p.depth_range)[0], {}
    if sorting is None:
        raise ConfigError("templates='sorting' needs a sorting (a curated sorting of the same recording)")
    from .extract import extract_templates, pick_units

    units = pick_units(sorting, p.template_units, p.num_units)
    dense = extract_templates(reader_of(traces), sorting, units, fs, p.template_spikes, p.seed)
    measured = -dense.min(axis=(1, 2))
    if p.amplitudes_uv is None:
        amps = measured
    else:
        amps = np.asarray(p.per_unit("amplitudes_uv", len(units), _gen(p.seed, 1)), float) / gain
    tmpl = dense_units(dense, pos, amps)
    if p.y_offset_um:
        from .templates import shift_along_y

        moved = np.stack([shift_along_y(w.astype(float), pos, p.y_offset_um) for w in tmpl.waveforms])
        tmpl = dense_units(moved, pos, amps)
    return tmpl, {"source_units": units.tolist(), "measured_amplitude": measured.tolist()}


def _trains(p: HybridParams, rates: np.ndarray, n_frames: int, fs: float, trough: np.ndarray, L: int):
    from ..synth.units import spike_trains

    ids = np.arange(len(rates), dtype=np.int64)
    seed = int(np.random.SeedSequence([int(p.seed), _STREAM, 2]).generate_state(1)[0])
    times, labels = spike_trains(seed, {"unit_id": ids, "firing_rate": rates}, n_frames, fs,
                                 p.refractory_ms / 1000.0, None)
    fits = (times >= trough[labels]) & (times + (L - trough[labels]) <= n_frames)   # whole waveform inside
    return times[fits], labels[fits]


def draw_injection(traces, params: HybridParams | None = None, motion=None, sorting=None) -> Injection:
    """Draw the units and spikes to inject into a recording, deterministically from ``params.seed``.

    Parameters
    ----------
    traces : xarray.DataArray
        The parent recording (dims ``time``, ``channel``; coords ``x``, ``y``; attrs ``sampling_frequency`` and,
        if known, ``gain_to_uV`` — amplitudes in µV become counts with it, default 2.34375 µV/bit).
    params : HybridParams, optional
    motion : optional
        What the injected units move with (see :func:`motion_knots`): e.g. the drift entry's table.
    sorting : pandas.DataFrame, optional
        ``unit_id``, ``sample_index`` of a curated sorting of ``traces`` (for ``templates="sorting"``).

    Returns
    -------
    Injection
        Spike trains: Poisson with a dead time of ``refractory_ms`` (the synthetic generator's
        :func:`~intake_npx2020.synth.units.spike_trains`), spikes whose waveform would cross either end of
        the recording left out; amplitude scales ``clip(1 + jitter · N(0, 1), 0.5, 1.5)``.
    """
    p = params or HybridParams()
    fs = float(traces.attrs["sampling_frequency"])
    tmpl, extra = _templates(traces, p, sorting, fs)
    n_units = len(tmpl.amplitude)
    rates = np.asarray(p.per_unit("rates", n_units, _gen(p.seed, 3)), float)
    times, index = _trains(p, rates, traces.shape[0], fs, tmpl.trough, tmpl.num_frames)
    scales = np.clip(1.0 + p.amplitude_jitter * _gen(p.seed, 4).standard_normal(times.size), 0.5, 1.5)
    unit_ids = np.arange(n_units, dtype=np.int64) + int(p.first_unit_id)
    info = {"seed": int(p.seed), "templates": p.templates, "rates_hz": rates.tolist(),
            "amplitude_counts": np.asarray(tmpl.amplitude).tolist(), "refractory_ms": p.refractory_ms,
            "amplitude_jitter": p.amplitude_jitter, **extra}
    return Injection(tmpl, unit_ids, times.astype(np.int64), unit_ids[index], scales, fs, int(traces.shape[0]),
                     int(traces.shape[1]), motion_knots(motion), info)
