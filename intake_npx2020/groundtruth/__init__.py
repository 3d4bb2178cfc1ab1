"""Ground truth for what the collection is for: hybrid recordings, and sorter and drift benchmarks.

* **Hybrids**: any recording plus known units (:func:`draw_injection`, :func:`hybrid_dataarray`), lazy and
  picklable; in a catalog as an ``npx_hybrid`` entry with its ``:ground_truth`` sorting (:func:`write_hybrid`,
  ``npx2020 hybrid``). Rounding: :data:`ROUNDING_RULE`.
* **Sorter benchmark**: :func:`evaluate` compares any sorting with a ground truth or a curated sorting, through
  ``spikeinterface.comparison``; :func:`~.detection.detection_recall` scores a peak detector on a hybrid.
* **Drift benchmark**: :func:`motion_benchmark` compares a motion estimate (the package's, spikeinterface's, or
  yours) with the imposed drift of an entry.
* **Sorting features** on request: :func:`spike_features` (per-spike amplitude, x, depth, the unit's peak channel)
  and :func:`unit_features`, computed lazily from the recording.
"""

from __future__ import annotations

from .draw import draw_injection, motion_knots
from .injection import Injection
from .params import ROUNDING_RULE, HybridParams
from .reader import HybridTraces, hybrid_dataarray
from .source import HybridSource
from .evaluate import Evaluation, evaluate, to_si_sorting
from .features import spike_features, unit_features
from .motion import MotionBenchmark, motion_benchmark, motion_table
from .writer import write_hybrid

__all__ = ["HybridParams", "ROUNDING_RULE", "Injection", "draw_injection", "motion_knots", "HybridTraces",
           "hybrid_dataarray", "HybridSource", "write_hybrid", "Evaluation", "evaluate", "to_si_sorting",
           "MotionBenchmark", "motion_benchmark", "motion_table", "spike_features", "unit_features"]
