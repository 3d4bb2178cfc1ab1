"""The settings of each analysis step, as frozen dataclasses built once per call and shared by its tasks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FilterParams", "Locality", "DetectionParams", "MotionParams"]


@dataclass(frozen=True)
class FilterParams:
    """Zero-phase Butterworth band-pass (high-pass if ``freq_max`` ≥ Nyquist), then optional common median.

    Attributes
    ----------
    fs : float
        Sampling frequency (Hz).
    freq_min, freq_max : float
        Pass band (Hz).
    order : int
        Butterworth order (applied forward and backward in effect).
    cmr : bool
        Subtract the median across channels at every sample, after filtering.
    """

    fs: float
    freq_min: float = 300.0
    freq_max: float = 6000.0
    order: int = 3
    cmr: bool = False

    def label(self) -> str:
        """The filter as one line, e.g. ``"bandpass 300.0-6000.0 Hz order 3 + CMR"``."""
        return f"bandpass {self.freq_min}-{self.freq_max} Hz order {self.order}" + (" + CMR" if self.cmr else "")


@dataclass(frozen=True, eq=False)
class Locality:
    """The channels that weigh in a peak's centre of mass (compared by identity: the fields are arrays).

    Attributes
    ----------
    neighbours : numpy.ndarray
        (channels, K) int64: row ``c`` holds the channels near ``c``, padded with ``c`` itself.
    valid : numpy.ndarray
        (channels, K) float32: 1 for a row's distinct channels, 0 for its padding.
    positions : numpy.ndarray
        (channels, 2) x, y (µm).
    """

    neighbours: np.ndarray
    valid: np.ndarray
    positions: np.ndarray


@dataclass(frozen=True, eq=False)
class DetectionParams:
    """What every detection task needs besides its block and the noise (compared by identity).

    Attributes
    ----------
    filter : FilterParams
    threshold : float
        In units of the per-channel noise σ.
    neighbours : numpy.ndarray
        (channels, K) int64: the channels a peak must be the minimum of (see ``channel_neighbours``).
    sweep : int
        Temporal exclusion half-window (samples).
    channel_ids : numpy.ndarray
        Channel id of each column.
    locality : Locality, optional
        Localize the peaks in the same task with this; None: no ``x``, ``y`` columns.
    """

    filter: FilterParams
    threshold: float
    neighbours: np.ndarray
    sweep: int
    channel_ids: np.ndarray
    locality: Locality | None = None


@dataclass(frozen=True)
class MotionParams:
    """Rigid motion estimation by decentralized registration (see ``estimate_motion`` for each field)."""

    bin_s: float = 2.0
    bin_um: float = 5.0
    max_shift_um: float = 100.0
    smooth_um: float = 10.0
    min_corr: float = 0.2
    time_horizon_s: float | None = None
    weight: str = "count"
    time_range: tuple[float, float] | None = None
