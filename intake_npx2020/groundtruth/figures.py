"""Summary figures: a sorting's evaluation, and a motion estimate against the imposed drift (extra ``[demo]``)."""

from __future__ import annotations

import numpy as np

from ..extras import require

__all__ = ["evaluation_figure", "motion_figure", "evaluation_axes", "motion_axes"]


def _pyplot():
    matplotlib = require("matplotlib", "demo", "ground-truth figures")
    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def evaluation_axes(ev, bars, matrix, title: str | None = None) -> None:
    """Draw an evaluation on two axes: per-unit accuracy / recall / precision, and the agreement matrix."""
    perf = ev.performance.sort_values("accuracy", ascending=False)
    k = np.arange(len(perf))
    for off, col, c in ((-0.27, "accuracy", "C0"), (0.0, "recall", "C2"), (0.27, "precision", "C1")):
        bars.bar(k + off, perf[col].to_numpy(), width=0.27, color=c, label=col)
    bars.set_xticks(k, [str(u) for u in perf.index], rotation=90 if len(k) > 20 else 0, fontsize=8)
    bars.set(ylim=(0, 1.05), xlabel="ground-truth unit", ylabel="score",
             title=title or f"mean accuracy {ev.summary['mean_accuracy']:.2f} (tolerance "
                            f"{ev.summary['tolerance_ms']:g} ms)")
    bars.legend(loc="lower left", fontsize=8)
    agr = ev.agreement.loc[perf.index]
    partners = [t for t in perf["tested_unit_id"] if t != -1 and t in agr.columns]
    others = [c for c in agr.columns if c not in partners]
    agr = agr[partners + others]
    im = matrix.imshow(agr.to_numpy(float), aspect="auto", vmin=0, vmax=1, cmap="viridis", interpolation="nearest")
    matrix.set(xlabel="tested unit (partners first)", ylabel="ground-truth unit", title="agreement")
    matrix.set_yticks(np.arange(len(agr.index)), [str(u) for u in agr.index], fontsize=7)
    matrix.figure.colorbar(im, ax=matrix, fraction=0.04)


def evaluation_figure(ev, path=None, title: str | None = None):
    """A figure of an :class:`~intake_npx2020.groundtruth.evaluate.Evaluation`; saved to ``path`` if given."""
    plt = _pyplot()
    fig, (bars, matrix) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [1.4, 1]})
    evaluation_axes(ev, bars, matrix, title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig


def motion_axes(bench, over_time, over_depth=None, label: str = "estimate", truth: bool = True) -> None:
    """Draw a motion benchmark: estimate (mean over depth) and, if ``truth``, the imposed drift over time;
    the RMS error by depth bin."""
    err = bench.errors
    t = err["time"].to_numpy(float)
    times = np.unique(t)
    est = err.groupby("time")["estimate_um"].mean().reindex(times).to_numpy()
    tru = err.groupby("time")["truth_um"].mean().reindex(times).to_numpy()
    line = over_time.plot(times, est, marker=".", ls="--", label=f"{label} (RMS {bench.summary['rms_um']:.1f} µm)")
    if truth:
        over_time.plot(times, tru, color="k", lw=1.5, label="imposed")
    over_time.set(xlabel="time (s)", ylabel="displacement (µm)", title="motion estimate vs imposed drift "
                  f"(aligned: {bench.summary['align']})")
    over_time.legend(loc="upper right", fontsize=8)
    if over_depth is not None and bench.summary["rigid"]:   # one depth: show the error over time instead
        over_depth.plot(bench.by_time.index.to_numpy(float), bench.by_time["mean_um"].to_numpy(), marker="o",
                        color=line[0].get_color(), label=label)
        over_depth.axhline(0, color="k", lw=0.5)
        over_depth.set(xlabel="time (s)", ylabel="error (µm)", title="error over time (rigid)")
        over_depth.legend(loc="upper right", fontsize=8)
    elif over_depth is not None:
        by = bench.by_depth
        depth = by.index.to_numpy(float)
        depth = np.where(np.isfinite(depth), depth, 0.0)    # a rigid estimate: one point, at depth 0
        over_depth.plot(by["rms_um"].to_numpy(), depth, marker="o", color=line[0].get_color(), label=label)
        over_depth.set(xlabel="RMS error (µm)", ylabel="depth (µm)", title="error by depth")
        over_depth.legend(loc="upper right", fontsize=8)


def motion_figure(benches: dict, path=None):
    """A figure of motion benchmarks ``{label: MotionBenchmark}``; saved to ``path`` if given."""
    plt = _pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [2, 1]})
    for k, (label, bench) in enumerate(benches.items()):
        motion_axes(bench, a, b, label, truth=k == 0)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig
