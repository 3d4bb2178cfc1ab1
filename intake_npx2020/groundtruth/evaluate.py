"""Compare a sorting with a ground truth (or a curated sorting), through ``spikeinterface.comparison``.

The metrics are spikeinterface's ``compare_sorter_to_ground_truth`` (the SpikeForest definitions), not a copy:
two spikes match when their sample indices differ by at most ``int(tolerance_ms · fs / 1000)`` frames (12 at
30 kHz for the default 0.4 ms); the agreement of a pair of units is ``matches / (n_gt + n_tested − matches)``;
units are paired one to one by the Hungarian method among pairs with agreement ≥ ``match_score``; for a ground
truth unit with ``tp`` matched spikes, ``fn = n_gt − tp`` and ``fp = n_tested − tp`` of its partner:
accuracy ``tp / (tp + fn + fp)``, recall ``tp / (tp + fn)``, precision ``tp / (tp + fp)``. A unit without a
partner scores 0 everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from ..extras import require

__all__ = ["Evaluation", "evaluate", "to_si_sorting"]


def _frame(obj, catalog=None):
    """A sorting as a DataFrame (``unit_id``, ``sample_index``), or a spikeinterface sorting kept as is."""
    if isinstance(obj, str):
        if catalog is None:
            raise ConfigError(f"{obj!r} names a catalog entry: pass catalog=")
        obj = catalog[obj]
    if hasattr(obj, "truth") and callable(obj.truth):        # a hybrid entry: its injected spikes
        return obj.truth()
    if hasattr(obj, "read") and not hasattr(obj, "get_unit_ids"):
        return obj.read()
    return obj


def to_si_sorting(sorting, sampling_frequency: float | None = None, catalog=None):
    """A spikeinterface ``BaseSorting`` of a sorting entry, an entry ID (with ``catalog``), a hybrid entry (its
    ground truth), a DataFrame (``unit_id``, ``sample_index``; ``attrs["sampling_frequency"]`` or the argument),
    or a spikeinterface sorting (returned as is)."""
    si = require("spikeinterface.core", why="comparing sortings")
    obj = _frame(sorting, catalog)
    if hasattr(obj, "get_unit_ids"):
        return obj
    fs = sampling_frequency or obj.attrs.get("sampling_frequency")
    if not fs:
        raise ConfigError("the sorting's sampling frequency is unknown: pass sampling_frequency=")
    t = obj["sample_index"].to_numpy(np.int64)
    u = obj["unit_id"].to_numpy(np.int64)
    order = np.lexsort((u, t))
    return si.NumpySorting.from_samples_and_labels([t[order]], [u[order]], float(fs), unit_ids=np.unique(u))


@dataclass
class Evaluation:
    """What :func:`evaluate` found. Every table is a ``pandas.DataFrame``.

    Attributes
    ----------
    performance : DataFrame
        Per ground-truth unit (index ``gt_unit_id``): ``accuracy``, ``recall``, ``precision``,
        ``false_discovery_rate``, ``miss_rate``, ``tp``, ``fn``, ``fp``, ``num_gt``, ``num_tested``,
        ``tested_unit_id`` (its partner, -1 for none) and ``agreement`` with it.
    matching : DataFrame
        ``gt_unit_id`` → ``hungarian`` partner and ``best`` (highest agreement) tested unit, -1 for none.
    agreement : DataFrame
        Agreement score of every (ground truth × tested) pair.
    confusion : DataFrame
        Matched spike counts of the partners, with an ``FN`` column and an ``FP`` row.
    summary : dict
        Means, counts of well-detected / false-positive / redundant / over-merged units, tolerance.
    comparison : object
        spikeinterface's ``GroundTruthComparison`` (more methods there).
    """

    performance: object
    matching: object
    agreement: object
    confusion: object
    summary: dict
    comparison: object = field(repr=False, default=None)

    def figure(self, path=None, title: str | None = None):
        """The summary figure (see :func:`~intake_npx2020.groundtruth.figures.evaluation_figure`)."""
        from .figures import evaluation_figure

        return evaluation_figure(self, path, title)


def _performance(cmp) -> object:
    perf = cmp.get_performance(method="by_unit").astype(float)
    counts = cmp.count_score
    perf = perf.join(counts[["tp", "fn", "fp", "num_gt", "num_tested"]].astype(np.int64))
    partner = cmp.hungarian_match_12.reindex(perf.index).fillna(-1)
    perf["tested_unit_id"] = partner.to_numpy()
    perf["agreement"] = [float(cmp.agreement_scores.at[g, t]) if t != -1 else 0.0 for g, t in partner.items()]
    return perf


def evaluate(sorting, truth, tolerance_ms: float = 0.4, match_score: float = 0.5, well_detected_score: float = 0.8,
             catalog=None, sampling_frequency: float | None = None, exhaustive_gt: bool = False) -> Evaluation:
    """Compare ``sorting`` with ``truth``, unit by unit (extra ``[spikeinterface]``).

    Parameters
    ----------
    sorting, truth
        A sorting entry, an entry ID (with ``catalog``), a hybrid entry (its injected units), a DataFrame
        (``unit_id``, ``sample_index``) or a spikeinterface sorting; ``truth`` may be a curated sorting.
    tolerance_ms : float
        Two spikes match when ``|Δ sample| ≤ int(tolerance_ms · fs / 1000)``.
    match_score : float
        Least agreement for two units to be paired.
    well_detected_score : float
        Accuracy above which a ground-truth unit counts as well detected.
    sampling_frequency : float, optional
        For DataFrames without ``attrs["sampling_frequency"]``.
    exhaustive_gt : bool
        The truth holds every unit of the recording (synthetic data), so unmatched tested units are false
        positives (hybrids: False).

    Returns
    -------
    Evaluation
    """
    cmp_mod = require("spikeinterface.comparison", why="comparing sortings")
    gt = to_si_sorting(truth, sampling_frequency, catalog)
    tested = to_si_sorting(sorting, sampling_frequency or gt.sampling_frequency, catalog)
    if abs(gt.sampling_frequency - tested.sampling_frequency) > 1e-6:
        raise ConfigError(f"sampling frequencies differ: truth {gt.sampling_frequency} Hz, sorting "
                          f"{tested.sampling_frequency} Hz")
    cmp = cmp_mod.compare_sorter_to_ground_truth(gt, tested, delta_time=float(tolerance_ms), match_score=match_score,
                                                 well_detected_score=well_detected_score,
                                                 exhaustive_gt=exhaustive_gt)
    perf = _performance(cmp)
    import pandas as pd

    matching = pd.DataFrame({"hungarian": cmp.hungarian_match_12, "best": cmp.best_match_12}).rename_axis("gt_unit_id")
    summary = {"tolerance_ms": float(tolerance_ms), "tolerance_frames": int(cmp.delta_frames),
               "match_score": match_score, "num_gt_units": int(len(gt.unit_ids)),
               "num_tested_units": int(len(tested.unit_ids)), "matched_units": int((perf["tested_unit_id"] != -1).sum()),
               "mean_accuracy": float(perf["accuracy"].mean()), "mean_recall": float(perf["recall"].mean()),
               "mean_precision": float(perf["precision"].mean()),
               "well_detected_units": int(cmp.count_well_detected_units(well_detected_score))}
    if exhaustive_gt:   # spikeinterface defines these only when the truth holds every unit
        summary["redundant_units"] = int(cmp.count_redundant_units())
        summary["overmerged_units"] = int(cmp.count_overmerged_units())
        summary["false_positive_units"] = int(cmp.count_false_positive_units())
    return Evaluation(perf, matching, cmp.agreement_scores.copy(), cmp.get_confusion_matrix().copy(), summary, cmp)
