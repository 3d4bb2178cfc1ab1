"""The main job end to end at a small size: generate → serve → intake over HTTP → dask analysis → figure."""

import json
import os
import socket
import subprocess
import sys

import pytest

from intake_npx2020.apps.cli import main

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("scheduler", ["distributed"])
def test_demo_end_to_end(tmp_path, capsys, scheduler):
    out = tmp_path / "demo"
    assert main(["demo", "--duration", "20", "--out", str(out), "--scheduler", scheduler]) == 0
    printed = capsys.readouterr().out
    assert "recall of well-isolated units" in printed and str(out) in printed
    png = (out / "demo.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    import matplotlib.image

    assert matplotlib.image.imread(out / "demo.png").shape[0] > 500
    s = json.loads((out / "summary.json").read_text())
    assert s["recall_well_isolated"] >= 0.9 and s["well_isolated_units"] >= 5
    assert s["precision"] >= 0.8
    assert s["drift_rms_error_um"] <= 5.0 and s["imposed_drift_span_um"] == pytest.approx(50.0)
    # every byte of the raw file crossed HTTP once, verified, and landed in the empty cache
    assert s["bytes_fetched_over_http"] >= s["raw_bytes"]
    assert s["bytes_in_cache"] >= s["raw_bytes"]  # measured before the cache is dropped
    assert s["chunks_fetched"] >= s["raw_bytes"] // 20_000_000
    assert s["ground_truth_spikes_in_catalog"] == s["ground_truth_spikes"]
    mirror_port = int(json.loads((out / "summary.json").read_text()).get("mirror", "http://x:1").rsplit(":", 1)[1])
    with socket.socket() as sock:  # the server was stopped
        assert sock.connect_ex(("127.0.0.1", mirror_port)) != 0
    # one copy kept: the HTTP cache is gone, the store beside the catalog holds the recording once
    assert not (out / "cache").exists()
    assert s["raw_bytes"] <= s["disk_bytes"] < 1.3 * s["raw_bytes"]
    assert "reopen it from Python" in printed and s["reopen"] in printed
    reopen_with_no_environment(out, tmp_path)


def reopen_with_no_environment(out, tmp_path):
    """The demo's data opens in a fresh process with no NPX2020_* set, after the directory moved."""
    moved = tmp_path / "moved-demo"
    out.rename(moved)
    code = (f"import intake_npx2020, intake, numpy as np\n"
            f"cat = intake_npx2020.open_catalog({str(moved / 'catalog.yaml')!r})\n"
            f"x = cat['synthetic-np1-drift'].to_dask()[:30000].values\n"
            f"y = intake.open_catalog({str(moved / 'catalog.yaml')!r})['synthetic-np1-drift'].to_dask()[:30000].values\n"
            f"raw = np.fromfile({str(moved / 'synth' / 'raw.bin')!r}, np.int16, count=30000 * 385).reshape(30000, 385)\n"
            f"cols = cat['synthetic-np1-drift'].spec.columns\n"
            f"print(x.shape, bool((x == raw[:, cols]).all() and (x == y).all()))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NPX2020_", "KACHERY"))}
    env["HOME"] = str(tmp_path / "fresh-home")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "True"
    snippet = readme_analysis_snippet().replace("npx2020-demo/catalog.yaml", str(moved / "catalog.yaml"))
    snippet += "\nprint(len(peaks), int(noise.size), motion.shape[0] > 0, raster.ndim)\n"
    done = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    n_peaks, n_noise, has_motion, ndim = done.stdout.split()[-4:]
    assert int(n_peaks) > 1000 and int(n_noise) == 384 and has_motion == "True" and ndim == "2"


def readme_analysis_snippet() -> str:
    """The README's analysis snippet, as written (the first Python block that opens the demo's catalog)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    return next(b for b in blocks if "npx2020-demo/catalog.yaml" in b and "analysis." in b)


def test_demo_refuses_foreign_directory(tmp_path):
    (tmp_path / "mine.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="not a demo output"):
        from intake_npx2020.apps.demo import run_demo

        run_demo(tmp_path, duration=5)
    assert (tmp_path / "mine.txt").read_text() == "precious"
