"""The demo's ground-truth step on a short recording: entries written, detectors and estimators scored, figure."""

from __future__ import annotations

import numpy as np
import pytest

from intake_npx2020 import synth
from intake_npx2020.groundtruth.showcase import ground_truth_step
from intake_npx2020.sources.catalog import open_catalog

pytestmark = pytest.mark.slow


def test_ground_truth_step(tmp_path):
    truth = synth.generate(tmp_path / "synth", duration=10.0, drift="triangle", seed=2, progress=False)
    synth.write_catalog(truth, tmp_path / "store", tmp_path / "catalog.yaml", "rec")
    lines = []
    s = ground_truth_step(tmp_path, "rec", truth, "threads", lines.append)
    assert {"rec-hybrid", "rec-hybrid:ground_truth", "rec-hybrid:drift"} <= set(open_catalog(tmp_path / "catalog.yaml"))
    assert s["hybrid_units"] == 8 and s["hybrid_spikes"] > 0
    assert s["hybrid_recall_package"] > 0.9 and np.isfinite(s["motion_rms_package_um"])
    assert s["motion_rms_package_um"] < 15.0                      # a 50 µm triangle, 2 s bins
    if "hybrid_recall_spikeinterface" in s:
        assert s["hybrid_recall_spikeinterface"] > 0.8 and np.isfinite(s["motion_rms_spikeinterface_um"])
    assert any("recall of injected spikes" in line for line in lines)
    assert (tmp_path / "groundtruth.png").read_bytes()[:4] == b"\x89PNG"
