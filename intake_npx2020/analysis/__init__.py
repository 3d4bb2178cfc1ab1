"""Dask-native analysis of a recording ``DataArray``: filtering, noise, spike detection, localization, motion.

Input everywhere: an ``xarray.DataArray`` with dims ``("time", "channel")`` (int16 ADC counts, dask-backed,
chunked along time only), coords ``time`` (s), ``channel``, and ``x``, ``y`` (µm) on ``channel``, and
``attrs["sampling_frequency"]``. Work is one task per time chunk (read with a margin on each side, filter,
detect in the chunk's own frames only), so a spike on a chunk boundary is found exactly once. Each operation
adds one graph layer: on traces straight from ``to_dask()`` every task reads its own window from the store
(one task per chunk, and memory does not grow with duration); on anything else (sliced, rechunked, numpy)
each task joins its chunk with the edges of its two neighbours. Graphs run on any dask scheduler:
``scheduler="threads"``, ``"processes"``, ``"synchronous"``, or ``None`` (the active ``distributed.Client``
if there is one, else dask's default).

Filtering is zero-phase: the magnitude response of a Butterworth band-pass squared (the same response as
``scipy.signal.sosfiltfilt``), applied by FFT to each chunk padded with ``margin_s`` of its neighbours.

Motion: ``displacement`` is how far the units appear to move along +y (µm, probe coordinates, y increasing
from the tip towards the surface), relative to the first time bin with an estimate (which is 0).

One module per job: ``params`` (each step's settings, frozen dataclasses), ``inputs`` (what is read from the
DataArray), ``blockwise`` (the one-layer-per-step graphs), ``filters``, ``noise``, ``localization``,
``detection``, ``raster``, ``motion``.
"""

from __future__ import annotations

from .detection import detect_spikes
from .filters import bandpass
from .localization import channel_neighbours, localize_peaks
from .motion import estimate_motion
from .noise import noise_levels
from .raster import drift_raster

__all__ = ["bandpass", "noise_levels", "detect_spikes", "localize_peaks", "drift_raster", "estimate_motion",
           "channel_neighbours"]
