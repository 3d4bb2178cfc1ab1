"""Synthetic Neuropixels recordings with known ground truth: spikes, unit positions and imposed drift.

:func:`generate` streams a raw ``.bin`` (int16, interleaved frames × columns, like the collection's
``bin1`` files) one chunk at a time, plus the ground truth in the collection's own formats: ``npy1``
spike times / labels and the cortexlab drift arrays (``manip.timestamps.npy``, ``manip.positions.npy``).

Every random quantity is a function of the seed and of absolute position (noise comes in fixed blocks
keyed by block index), so the bytes do not depend on ``chunk_seconds``.

Sign convention: ``positions`` (and :meth:`SynthResult.displacement`) is how far the units move along
+y in probe coordinates (y grows from the tip towards the brain surface); it equals how far the probe was
advanced into the tissue.

Modules, one job each: :mod:`.probe` (geometry, gain), :mod:`.streams` (seeded random streams),
:mod:`.drift` (imposed displacement), :mod:`.units` (units and spike trains), :mod:`.noise`, :mod:`.render`
(spikes onto channels), :mod:`.raw` (the chunked raw file), :mod:`.config` (the knobs), :mod:`.generator`
(:func:`generate`), :mod:`.result` (:class:`SynthResult` and its files), :mod:`.catalog` (store + YAML).
"""

from __future__ import annotations

from .catalog import write_catalog
from .config import SynthConfig
from .drift import drift_protocol
from .generator import generate
from .probe import UV_PER_BIT, probe_geometry
from .result import SynthResult

__all__ = ["generate", "SynthResult", "SynthConfig", "drift_protocol", "probe_geometry", "write_catalog",
           "UV_PER_BIT"]
