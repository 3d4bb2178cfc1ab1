"""The drift raster: peaks counted (or their amplitudes summed) in time bins × depth bins."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

__all__ = ["drift_raster"]


def _edges(values: np.ndarray, step: float, value_range: tuple[float, float] | None) -> np.ndarray:
    """Bin edges ``step`` apart over ``value_range``, default whole bins covering ``values``."""
    if value_range is None:
        value_range = ((np.floor(values.min() / step) * step, np.ceil((values.max() + 1e-9) / step) * step)
                       if values.size else (0.0, step))
    edges = np.arange(value_range[0], value_range[1] + step / 2, step)
    return edges if len(edges) >= 2 else np.array([value_range[0], value_range[0] + step])


def drift_raster(peaks, bin_s: float = 2.0, bin_um: float = 5.0, time_range: tuple[float, float] | None = None,
                 depth_range: tuple[float, float] | None = None, weight: str = "count"):
    """Peak counts in (time bin × depth bin): the drift raster.

    Parameters
    ----------
    peaks : pandas.DataFrame
        With ``time`` (s) and ``y`` (µm), e.g. from :func:`~intake_npx2020.analysis.detect_spikes`.
    bin_s, bin_um : float
        Bin sizes.
    time_range, depth_range : (float, float), optional
        Default: whole bins covering the peaks.
    weight : {"count", "amplitude"}
        Count peaks, or sum their ``|amplitude|``.

    Returns
    -------
    xarray.DataArray
        dims ``("time", "depth")``, coords at bin centres; ``attrs`` carry the bin edges.

    Raises
    ------
    ConfigError
        For another ``weight``.
    """
    import xarray as xr

    t = peaks["time"].to_numpy(float)
    yv = peaks["y"].to_numpy(float)
    ok = np.isfinite(t) & np.isfinite(yv)
    t, yv = t[ok], yv[ok]
    t_edges = _edges(t, bin_s, time_range)
    y_edges = _edges(yv, bin_um, depth_range)
    w = None
    if weight == "amplitude":
        w = np.abs(peaks["amplitude"].to_numpy(float)[ok])
    elif weight != "count":
        raise ConfigError(f"weight must be 'count' or 'amplitude', not {weight!r}")
    h, _, _ = np.histogram2d(t, yv, bins=[t_edges, y_edges], weights=w)
    return xr.DataArray(h, dims=("time", "depth"),
                        coords={"time": (t_edges[:-1] + t_edges[1:]) / 2, "depth": (y_edges[:-1] + y_edges[1:]) / 2},
                        attrs={"time_edges": t_edges, "depth_edges": y_edges, "bin_s": bin_s, "bin_um": bin_um},
                        name="peaks")
