"""Evaluating sortings (numbers worked out by hand) and motion estimates against a known drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from intake_npx2020.groundtruth import evaluate, motion_benchmark

FS = 30000.0
pytest.importorskip("spikeinterface.comparison")


def frame(units: dict[int, np.ndarray]) -> pd.DataFrame:
    t = np.concatenate(list(units.values()))
    u = np.concatenate([np.full(len(v), k) for k, v in units.items()])
    df = pd.DataFrame({"unit_id": u, "sample_index": t}).sort_values("sample_index", kind="stable")
    df.attrs["sampling_frequency"] = FS
    return df.reset_index(drop=True)


@pytest.fixture
def truth():
    """Units 0, 1, 2 with 100 spikes and unit 3 with 50, 200 frames apart from one another, 1000 between spikes."""
    return {k: 1000 * np.arange(100 if k < 3 else 50) + 200 * k + 30 for k in range(4)}


def test_truth_against_itself_is_all_ones(truth):
    ev = evaluate(frame(truth), frame(truth))
    assert (ev.performance[["accuracy", "recall", "precision"]] == 1.0).all().all()
    assert ev.performance["tested_unit_id"].tolist() == [0, 1, 2, 3]
    assert np.allclose(np.diag(ev.agreement.to_numpy(float)), 1.0)
    assert ev.summary["mean_accuracy"] == 1.0 and ev.summary["well_detected_units"] == 4
    assert ev.summary["tolerance_frames"] == 12  # int(0.4 ms × 30 kHz)


def test_removed_shifted_and_merged_spikes(truth):
    """By hand — unit 0: 20 of 100 spikes removed (tested unit 10): tp 80, fn 20, fp 0 → recall 0.8, precision 1,
    accuracy 0.8. Unit 1: 30 spikes moved 20 frames (> the 12-frame tolerance; tested unit 11): tp 70, fn 30,
    fp 30 → recall = precision = 0.7, accuracy 70/130. Units 2 (100 spikes) and 3 (50) merged into tested unit 12:
    agreement 100/150 and 50/150; the Hungarian pairing gives 12 to unit 2 (tp 100, fn 0, fp 50: recall 1,
    precision = accuracy = 2/3) and unit 3 is unmatched (all 0, 50 misses)."""
    tested = {10: truth[0][20:], 11: np.concatenate([truth[1][:70], truth[1][70:] + 20]),
              12: np.sort(np.concatenate([truth[2], truth[3]]))}
    ev = evaluate(frame(tested), frame(truth))
    p = ev.performance
    assert p.loc[0, ["accuracy", "recall", "precision"]].tolist() == pytest.approx([0.8, 0.8, 1.0])
    assert p.loc[1, ["accuracy", "recall", "precision"]].tolist() == pytest.approx([70 / 130, 0.7, 0.7])
    assert p.loc[2, ["accuracy", "recall", "precision"]].tolist() == pytest.approx([2 / 3, 1.0, 2 / 3])
    assert p.loc[3, ["accuracy", "recall", "precision"]].tolist() == [0.0, 0.0, 0.0]
    assert p["tested_unit_id"].tolist() == [10, 11, 12, -1]
    assert p.loc[[0, 1, 2], ["tp", "fn", "fp"]].to_numpy().tolist() == [[80, 20, 0], [70, 30, 30], [100, 0, 50]]
    assert ev.agreement.loc[2, 12] == pytest.approx(100 / 150) and ev.agreement.loc[3, 12] == pytest.approx(50 / 150)
    assert ev.agreement.loc[1, 11] == pytest.approx(70 / 130)
    assert ev.confusion.loc[3, "FN"] == 50 and ev.confusion.loc[0, 10] == 80
    assert ev.matching.loc[3, "hungarian"] == -1 and ev.matching.loc[3, "best"] == 12
    assert ev.summary["mean_accuracy"] == pytest.approx((0.8 + 70 / 130 + 2 / 3) / 4)


def test_tolerance_is_inclusive_in_frames(truth):
    """Moved by exactly 12 frames the spikes still match; by 13 they do not (0.4 ms at 30 kHz)."""
    assert evaluate(frame({0: truth[0] + 12}), frame({0: truth[0]})).performance.loc[0, "recall"] == 1.0
    assert evaluate(frame({0: truth[0] + 13}), frame({0: truth[0]})).performance.loc[0, "recall"] == 0.0
    assert evaluate(frame({0: truth[0] + 13}), frame({0: truth[0]}), tolerance_ms=0.5).performance.loc[0, "recall"] == 1.0


def test_evaluation_figure(truth, tmp_path):
    pytest.importorskip("matplotlib")
    ev = evaluate(frame(truth), frame(truth))
    ev.figure(tmp_path / "ev.png")
    assert (tmp_path / "ev.png").read_bytes()[:4] == b"\x89PNG"


def _drift():
    return pd.DataFrame({"time": [0.0, 10.0, 20.0, 30.0], "position": [0.0, 0.0, 50.0, 0.0]})


def test_motion_benchmark_on_a_known_drift(tmp_path):
    t = np.arange(1.0, 30.0, 2.0)
    truth = np.interp(t, [0, 10, 20, 30], [0, 0, 50, 0])
    exact = pd.DataFrame({"time": t, "displacement": truth + 7.0})       # exact up to a constant
    b = motion_benchmark(exact, _drift())
    assert b.summary["rms_um"] == pytest.approx(0.0, abs=1e-9) and b.summary["rigid"]
    assert motion_benchmark(exact, _drift(), align="none").summary["rms_um"] == pytest.approx(7.0)
    first = exact.copy()
    first.loc[0, "displacement"] += 3.0       # first bin off by 3: "first" moves everything by 3
    b = motion_benchmark(first, _drift(), align="first")
    assert b.summary["max_abs_um"] == pytest.approx(3.0) and b.errors["error_um"].iloc[0] == pytest.approx(0.0)
    # non-rigid, two depth bins; the deep one is off by ±2 µm alternately: RMS 2 there, 0 in the other
    disp = np.stack([truth, truth + 2.0 * (-1) ** np.arange(len(t))], axis=1)
    b = motion_benchmark((t, np.array([100.0, 900.0]), disp), (_drift()["time"], _drift()["position"]))
    assert b.by_depth.loc[100.0, "rms_um"] == pytest.approx(0.0, abs=1e-9)
    assert b.by_depth.loc[900.0, "rms_um"] == pytest.approx(np.sqrt(np.mean((2.0 * (-1) ** np.arange(len(t)) -
                                                                               np.mean(2.0 * (-1) ** np.arange(len(t))))
                                                                              ** 2)))
    assert not b.summary["rigid"] and b.summary["depth_bins"] == 2 and b.summary["imposed_span_um"] == pytest.approx(
        np.ptp(truth))
    pytest.importorskip("matplotlib")
    b.figure(tmp_path / "m.png")
    assert (tmp_path / "m.png").stat().st_size > 10_000


def test_spikeinterface_motion_objects_are_read():
    Motion = pytest.importorskip("spikeinterface.core.motion").Motion
    t = np.arange(1.0, 30.0, 2.0)
    truth = np.interp(t, [0, 10, 20, 30], [0, 0, 50, 0])
    m = Motion(np.stack([truth, truth], axis=1), t, np.array([200.0, 600.0]))
    b = motion_benchmark(m, _drift())
    assert b.summary["rms_um"] == pytest.approx(0.0, abs=1e-9) and b.summary["depth_bins"] == 2


def test_cli_hybrid_then_evaluate(tmp_path, capsys):
    """`npx2020 hybrid` writes the entries; `npx2020 evaluate` scores the truth against itself and a parent's."""
    from intake_npx2020 import synth
    from intake_npx2020.apps.cli import main

    res = synth.generate(tmp_path / "s", duration=2.0, num_units=6, drift=None, seed=1, progress=False)
    cat = tmp_path / "catalog.yaml"
    synth.write_catalog(res, tmp_path / "store", cat, "rec")
    assert main(["hybrid", "rec", "hyb", "--catalog", str(cat), "--units", "3", "--rates", "20,30",
                 "--seed", "4"]) == 0
    assert "wrote hyb, hyb:ground_truth into" in capsys.readouterr().out      # no drift entry: nothing moves
    assert main(["evaluate", "hyb:ground_truth", "--truth", "hyb", "--catalog", str(cat), "--out",
                 str(tmp_path / "ev")]) == 0
    out = capsys.readouterr().out
    assert "3 of 3 ground-truth units matched" in out and "mean accuracy 1.000" in out
    assert (tmp_path / "ev" / "performance.csv").exists() and (tmp_path / "ev" / "evaluation.png").exists()
    assert main(["evaluate", "rec:ground_truth", "--truth", "hyb", "--catalog", str(cat)]) == 0
    assert "0 of 3 ground-truth units matched" in capsys.readouterr().out
    assert main(["hybrid", "rec", "hyb", "--catalog", str(cat)]) == 1   # exists: one line, exit 1
    assert "already has an entry" in capsys.readouterr().err
    assert main(["info", "hyb", "--catalog", str(cat)]) == 0
