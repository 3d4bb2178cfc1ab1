"""The command line as a newcomer meets it: every mistake is one line on stderr and exit status 1, output fits."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import intake_npx2020
from intake_npx2020.apps.cli import main
from intake_npx2020.errors import CatalogError, EntryNotFound
from intake_npx2020.sources.catalog import find_entry, open_catalog

TEMPLATE = """\
sources:
  my-recording:
    driver: npx_recording
    args: {recording: {recording_format: bin1, data: {raw: "sha1://1b8592f0a5e6d1b8d7b5b4e1f0f0e1d2c3b4a596/raw.bin",
      raw_num_channels: 2, num_frames: 10, samplerate: 30000, channel_ids: [0, 1],
      channel_map: {"0": 0, "1": 1}, channel_positions: {"0": [0, 0], "1": [0, 20]}}}}
  my-recording:curated:
    driver: npx_sorting
    args: {sorting: {sorting_format: npy1, data: {times_npy_uri: "sha1://2b8592f0a5e6d1b8d7b5b4e1f0f0e1d2c3b4a596/t.npy",
      labels_npy_uri: "sha1://3b8592f0a5e6d1b8d7b5b4e1f0f0e1d2c3b4a596/l.npy", samplerate: 30000}}}
"""


def run_cli(*args: str, env: dict | None = None, shell: str | None = None) -> subprocess.CompletedProcess:
    cmd = shell if shell else [sys.executable, "-m", "intake_npx2020", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, shell=bool(shell),
                          env={**os.environ, **(env or {})})


def assert_one_line_error(out: subprocess.CompletedProcess, *words: str) -> None:
    assert out.returncode == 1, (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.mark.parametrize("args,words", [
    (("info", "x", "--catalog", "typo.yaml"), ("typo.yaml", "does not exist")),
    (("info", "cortexlab-single-phase3"), ("did you mean", "'cortexlab-single-phase-3'")),
    (("serve", "--port", "99999"), ("65535",)),
    (("serve", "--port", "http"), ("whole number",)),
    (("frobnicate",), ("invalid choice",)),
    (("info",), ("required",)),
    (("ls", "--kind", "spikes"), ("invalid choice",)),
    (("demo", "--duration", "-3"), ("positive",)),
])
def test_user_mistakes_are_one_line(args, words):
    assert_one_line_error(run_cli(*args), *words)


@pytest.mark.parametrize("var,value,word", [
    ("NPX2020_CACHE_MAX", "1e400", "NPX2020_CACHE_MAX"),
    ("NPX2020_CACHE_MAX", "lots", "NPX2020_CACHE_MAX"),
    ("NPX2020_TIMEOUT", "abc", "NPX2020_TIMEOUT"),
    ("NPX2020_TIMEOUT", "inf", "NPX2020_TIMEOUT"),
    ("NPX2020_RETRIES", "2.5", "NPX2020_RETRIES"),
    ("NPX2020_PARALLEL", "0", "NPX2020_PARALLEL"),
    ("NPX2020_MIRRORS", "ftp://x", "ftp://x"),
    ("NPX2020_CACHE", "perhaps", "NPX2020_CACHE"),
])
def test_absurd_settings_are_one_line(var, value, word):
    assert_one_line_error(run_cli("cache", env={var: value}), word)


def test_yaml_errors_and_driver_typos(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  a: [unclosed\n")
    assert_one_line_error(run_cli("ls", "--catalog", str(bad)), "bad.yaml")
    typo = tmp_path / "typo.yaml"
    typo.write_text(TEMPLATE.replace("driver: npx_recording", "driver: npx_recordng"))
    out = run_cli("ls", "--catalog", str(typo))
    assert_one_line_error(out, "npx_recordng", "did you mean 'npx_recording'", "npx_sorting")
    with pytest.raises(CatalogError, match="npx_drift"):
        open_catalog(typo)


def test_ls_no_match_template_catalog_and_width(tmp_path):
    out = run_cli("ls", "--search", "nomatch")
    assert out.returncode == 0 and "no entries match" in out.stdout and not out.stderr
    mine = tmp_path / "mine.yaml"
    mine.write_text(TEMPLATE)
    out = run_cli("ls", "--catalog", str(mine))
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line for line in out.stdout.splitlines()[2:]}
    assert "recording" in rows["my-recording"] and "sorting" in rows["my-recording:curated"]
    for width in (80, 120):
        out = run_cli("ls", env={"COLUMNS": str(width)})
        assert out.returncode == 0 and max(map(len, out.stdout.splitlines())) <= width
        assert "cortexlab-single-phase-3" in out.stdout


def test_ls_into_a_closed_pipe_is_quiet():
    out = run_cli(shell=f"{sys.executable} -m intake_npx2020 ls | head -n 2")
    assert out.returncode == 0 and len(out.stdout.splitlines()) == 2
    assert "Broken pipe" not in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_misspelt_id_suggests_closest():
    cat = open_catalog()
    with pytest.raises(EntryNotFound, match="did you mean 'allen_mouse419112_probeE'") as err:
        find_entry(cat, "allen_mouse419112_probeF")
    assert isinstance(err.value, KeyError)
    with pytest.raises(EntryNotFound, match="npx2020 ls"):
        find_entry(cat, "zzzzzzzz")


def test_dir_lists_the_public_api():
    names = dir(intake_npx2020)
    for name in ("open_catalog", "catalog_table", "load_recording", "load_sorting", "get_store", "analysis",
                 "synth", "NPXError"):
        assert name in names
    assert intake_npx2020.open_catalog is open_catalog


def test_fetch_names_only_data_uris_not_metadata(tmp_path, capsys):
    mine = tmp_path / "mine.yaml"
    mine.write_text(TEMPLATE.replace("  my-recording:curated:", "    metadata: {feed: 'sha1://4b8592f0a5e6d1b8d7b5b4e1f0f0e1d2c3b4a596/feed.json'}\n  my-recording:curated:"))
    src = open_catalog(mine)["my-recording"]
    assert src.uris() == ["sha1://1b8592f0a5e6d1b8d7b5b4e1f0f0e1d2c3b4a596/raw.bin"]
    assert main(["fetch", "my-recording", "--catalog", str(mine)]) == 1
    err = capsys.readouterr().err
    assert "1b8592f0a5e6d1b8d7b5b4e1f0f0e1d2c3b4a596" in err and "feed.json" not in err
