"""Generation: draw the ground truth from the seed, stream the raw file, save the truth beside it."""

from __future__ import annotations

import time as _time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .config import SynthConfig
from .drift import drift_knots
from .noise import Noise
from .probe import probe_geometry
from .raw import progress_reporter, write_raw
from .render import Renderer
from .result import SynthResult
from .streams import S_PROBE, S_SCALE, rng
from .units import make_units, public_units, spike_trains

__all__ = ["generate"]


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
    noise_range, common_noise : (float, float), float
        Per-channel noise σ drawn uniformly from this range; σ of a common-mode component (ADC counts).
    amplitude_uv, firing_rates : (float, float)
        Peak-channel trough amplitude range (µV; / 2.34375 µV/bit into counts); mean rate range (Hz).
    refractory_ms, amplitude_jitter : float
        Dead time of the Poisson trains; relative σ of spike-to-spike amplitude variation.
    sync : bool
        NP1 only: a 1 Hz TTL square wave (0 / 64) in the sync column, else zeros.
    extra_spikes : sequence of (frame, unit_id), optional
        Spikes forced at given frames (spikes of that unit within the refractory period are dropped).

    Returns
    -------
    SynthResult
    """
    cfg = SynthConfig(drift_amplitude, drift_cycles, noise_range, common_noise, amplitude_uv, firing_rates,
                      refractory_ms, amplitude_jitter, sync, extra_spikes)
    return _generate(Path(out_dir), duration, probe, num_units, drift, seed, float(sampling_frequency),
                     chunk_seconds, progress, cfg)


def _generate(out_dir: Path, duration: float, probe: str, num_units: int, drift, seed: int, fs: float,
              chunk_seconds: float, progress, cfg: SynthConfig) -> SynthResult:
    """:func:`generate` once its knobs are checked."""
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = _time.perf_counter()
    num_frames = int(round(duration * fs))
    pos, ncols = probe_geometry(probe)
    nch = pos.shape[0]
    timestamps, positions, drift_name = drift_knots(drift, num_frames / fs, cfg.drift_amplitude, cfg.drift_cycles,
                                                    fs)
    sigma = rng(seed, S_PROBE).uniform(*cfg.noise_range, nch)
    units = make_units(seed, num_units, pos, fs, cfg.amplitude_uv, cfg.firing_rates)
    times, labels = spike_trains(seed, units, num_frames, fs, cfg.refractory_ms / 1000.0, cfg.extra_spikes)
    scales = np.clip(1.0 + cfg.amplitude_jitter * rng(seed, S_SCALE).standard_normal(times.size), 0.5, 1.5)
    noise = Noise(seed, nch, sigma, cfg.common_noise)
    renderer = Renderer(units, pos, times, labels, scales, fs, timestamps, positions)

    step = max(1, int(round(chunk_seconds * fs)))
    report, bar = progress_reporter(progress, num_frames)
    try:
        write_raw(out_dir / "raw.bin", noise, renderer, num_frames, ncols, nch, step, fs, cfg.sync, report)
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
        units=public_units(units), noise_sigma=sigma, elapsed=elapsed, params=cfg.params(duration, num_units))
    result.save()
    return result
