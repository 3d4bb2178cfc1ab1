"""Ground truth for what the collection is for: hybrid recordings, and sorter and drift benchmarks.

* **Hybrids**: any recording plus known units (:func:`draw_injection`, :func:`hybrid_dataarray`), lazy and
  picklable; in a catalog as an ``npx_hybrid`` entry with its ``:ground_truth`` sorting (:func:`write_hybrid`,
  ``npx2020 hybrid``). Rounding: :data:`ROUNDING_RULE`.
"""

from __future__ import annotations

from .draw import draw_injection, motion_knots
from .injection import Injection
from .params import ROUNDING_RULE, HybridParams
from .reader import HybridTraces, hybrid_dataarray
from .source import HybridSource
from .writer import write_hybrid

__all__ = ["HybridParams", "ROUNDING_RULE", "Injection", "draw_injection", "motion_knots", "HybridTraces",
           "hybrid_dataarray", "HybridSource", "write_hybrid"]
