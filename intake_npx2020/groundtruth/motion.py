"""A motion estimate against the imposed drift of an entry: error over time and depth, summary numbers.

Both sides use the package's sign: displacement of the units along +y (µm, probe coordinates). A motion
estimate is known up to a constant (the package's rigid estimate is 0 at its first bin; spikeinterface's are
centred differently), so the estimate is aligned to the truth first, per depth bin: ``align="mean"`` removes
the mean difference over the bins with an estimate, ``"first"`` the difference at the first of them,
``"none"`` nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

__all__ = ["MotionBenchmark", "motion_benchmark", "motion_table", "drift_function"]


def motion_table(estimate):
    """A motion estimate as a long table ``time``, ``depth`` (NaN when rigid), ``displacement`` (µm).

    Accepts the package's :func:`~intake_npx2020.analysis.estimate_motion` table (``time``, ``displacement``,
    optionally ``depth``), a spikeinterface ``Motion`` (first segment; rigid or not), or a tuple
    ``(times, depths or None, displacement[time, depth])``.
    """
    import pandas as pd

    if hasattr(estimate, "columns"):
        out = pd.DataFrame({"time": estimate["time"].to_numpy(float),
                            "depth": estimate["depth"].to_numpy(float) if "depth" in estimate else np.nan,
                            "displacement": estimate["displacement"].to_numpy(float)})
        return out
    if hasattr(estimate, "temporal_bins_s"):
        if getattr(estimate, "direction", "y") != "y":
            raise ConfigError(f"the motion is along {estimate.direction!r}; only y is compared")
        times, depths, disp = estimate.temporal_bins_s[0], estimate.spatial_bins_um, estimate.displacement[0]
    else:
        times, depths, disp = estimate
    disp = np.asarray(disp, float).reshape(len(times), -1)
    rigid = depths is None or disp.shape[1] == 1
    depths = np.full(disp.shape[1], np.nan) if rigid else np.asarray(depths, float)
    return pd.DataFrame({"time": np.repeat(np.asarray(times, float), disp.shape[1]),
                         "depth": np.tile(depths, len(times)), "displacement": disp.ravel()})


def drift_function(truth):
    """``f(t)``: the imposed displacement (µm along +y) of a drift table (``time``, ``position``), a drift entry,
    a ``(timestamps, positions)`` pair, or a :class:`~intake_npx2020.synth.SynthResult`."""
    if hasattr(truth, "displacement") and callable(truth.displacement):
        return truth.displacement
    if hasattr(truth, "read") and not hasattr(truth, "columns"):
        truth = truth.read()
    if hasattr(truth, "columns"):
        ts, ps = truth["time"].to_numpy(float), truth["position"].to_numpy(float)
    else:
        ts, ps = (np.asarray(a, float) for a in truth)
    return lambda t: np.interp(np.asarray(t, float), ts, ps)


@dataclass
class MotionBenchmark:
    """What :func:`motion_benchmark` found.

    Attributes
    ----------
    errors : pandas.DataFrame
        One row per (time bin, depth bin) with an estimate: ``time``, ``depth`` (NaN when rigid),
        ``estimate_um`` (aligned), ``truth_um``, ``error_um`` (estimate − truth).
    by_time, by_depth : pandas.DataFrame
        RMS and mean error per time bin / per depth bin.
    summary : dict
        ``rms_um``, ``median_abs_um``, ``max_abs_um``, ``p95_abs_um``, ``align``, ``rigid``, ``imposed_span_um``,
        bin counts.
    """

    errors: object
    by_time: object
    by_depth: object
    summary: dict

    def figure(self, path=None, label: str = "estimate"):
        """The benchmark's figure (see :func:`~intake_npx2020.groundtruth.figures.motion_figure`)."""
        from .figures import motion_figure

        return motion_figure({label: self}, path)


def _align(df, how: str):
    if how not in ("mean", "first", "none"):
        raise ConfigError(f"align must be 'mean', 'first' or 'none', not {how!r}")
    if how == "none":
        return df["displacement"].to_numpy()
    diff = df["displacement"] - df["truth_um"]
    key = df["depth"].fillna(-np.inf)
    offset = diff.groupby(key).transform("mean" if how == "mean" else "first")
    return (df["displacement"] - offset).to_numpy()


def _rms(e) -> float:
    return float(np.sqrt(np.mean(np.square(e)))) if len(e) else float("nan")


def motion_benchmark(estimate, truth, align: str = "mean", time_range: tuple[float, float] | None = None):
    """Compare a motion estimate with the imposed drift.

    Parameters
    ----------
    estimate
        See :func:`motion_table`.
    truth
        See :func:`drift_function` (rigid: the same displacement at every depth).
    align : {"mean", "first", "none"}
        How the estimate's free constant is removed, per depth bin (see the module docstring).
    time_range : (float, float), optional
        Only bins whose centre lies in this range.

    Returns
    -------
    MotionBenchmark
    """
    f = drift_function(truth)
    df = motion_table(estimate)
    df = df[np.isfinite(df["displacement"])].copy()
    if time_range is not None:
        df = df[(df["time"] >= time_range[0]) & (df["time"] <= time_range[1])]
    df["truth_um"] = f(df["time"].to_numpy(float))
    df["estimate_um"] = _align(df, align)
    df["error_um"] = df["estimate_um"] - df["truth_um"]
    errors = df[["time", "depth", "estimate_um", "truth_um", "error_um"]].reset_index(drop=True)
    agg = {"rms_um": ("error_um", lambda e: _rms(e.to_numpy())), "mean_um": ("error_um", "mean")}
    by_time = errors.groupby("time").agg(**agg)
    by_depth = errors.groupby("depth", dropna=False).agg(**agg)
    e = np.abs(errors["error_um"].to_numpy())
    imposed = errors["truth_um"].to_numpy()
    summary = {"rms_um": _rms(e), "median_abs_um": float(np.median(e)) if e.size else float("nan"),
               "p95_abs_um": float(np.percentile(e, 95)) if e.size else float("nan"),
               "max_abs_um": float(e.max()) if e.size else float("nan"), "align": align,
               "rigid": bool(errors["depth"].isna().all()), "time_bins": int(errors["time"].nunique()),
               "depth_bins": int(errors["depth"].nunique(dropna=False)),
               "imposed_span_um": float(np.ptp(imposed)) if imposed.size else 0.0}
    return MotionBenchmark(errors, by_time, by_depth, summary)
