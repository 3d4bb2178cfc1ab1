"""The shipped catalog through intake: every entry opens, describes and discovers without reading data."""

import json
import re
import subprocess
import sys
from pathlib import Path

import intake
import pytest

from intake_npx2020.errors import CatalogError
from intake.catalog.exceptions import DuplicateKeyError
from intake.utils import yaml_load

from intake_npx2020.sources import catalog as catalog_module
from intake_npx2020 import catalog_table, open_catalog
from intake_npx2020.sources.catalog import CATALOG_PATH, _load_json_body, find_entry
from intake_npx2020.apps.cli import main
from intake_npx2020.sources.drivers import DriftSource, RecordingSource, SortingSource
from intake_npx2020.store import get_store

REPO = Path(__file__).resolve().parents[1]


def _strict(obj) -> str:
    """Type- and order-sensitive fingerprint (``43 != 43.0``, key order matters)."""
    return json.dumps(obj, sort_keys=False, default=str)


def test_open_both_ways():
    """intake's own (pure-Python YAML) loader and ours see the same catalog, entry by entry."""
    a = intake.open_catalog(str(REPO / "catalogs" / "npx2020.yaml"))
    b = open_catalog()
    assert list(a) == list(b) and len(list(b)) == 14 + 31 + 2
    assert _strict(a.metadata) == _strict(b.metadata)
    for name in b:
        assert _strict(a._entries[name].describe()) == _strict(b._entries[name].describe()), name
    assert (REPO / "catalogs" / "npx2020.yaml").read_bytes() == CATALOG_PATH.read_bytes()


def test_shipped_body_is_json_that_yaml_reads_identically(monkeypatch):
    text = CATALOG_PATH.read_text(encoding="utf-8")
    body = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))
    via_json = json.loads(body)
    assert _strict(via_json) == _strict(yaml_load(text))  # intake's loader: yaml.safe_load, no duplicate keys
    assert _strict(_load_json_body(text, str(CATALOG_PATH))) == _strict(via_json)

    def no_yaml(text):
        raise AssertionError("the shipped catalog should not need the YAML parser")

    monkeypatch.setattr(catalog_module, "_load_yaml", no_yaml)
    cat = open_catalog()
    assert list(cat) == list(via_json["sources"])
    assert cat.metadata["counts"] == via_json["metadata"]["counts"]


DRIFT_ARGS = {"timestamps": "sha1://" + "1" * 40 + "/t.npy", "positions": "sha1://" + "2" * 40 + "/p.npy"}
ARGS_JSON = json.dumps(DRIFT_ARGS)
ENTRY_JSON = json.dumps({"driver": "npx_drift", "args": DRIFT_ARGS})


@pytest.mark.parametrize("dup, sources", [
    ("one", f'{{"one": {ENTRY_JSON}, "one": {ENTRY_JSON}}}'),
    ("description", f'{{"one": {{"description": "x", "description": "y", "driver": "npx_drift", "args": {ARGS_JSON}}}}}'),
], ids=["entry", "nested"])
def test_json_body_duplicate_key_raises(tmp_path, dup, sources):
    body = f'{{"metadata": {{"version": 1}}, "sources": {sources}}}\n'
    json.loads(body)  # otherwise valid JSON, so it is the JSON path that must reject it
    path = tmp_path / "dup.yaml"
    path.write_text("# comment\n" + body, encoding="utf-8")
    with pytest.raises(CatalogError, match=re.escape(f"duplicate key '{dup}' in catalog '{path}'")) as err:
        open_catalog(path)
    assert isinstance(err.value.__cause__, DuplicateKeyError)
    with pytest.raises(DuplicateKeyError):  # the same contract as intake's YAML loader
        intake.open_catalog(str(path))


PLAIN_YAML = f"""\
# a hand-written catalog

metadata:
  version: 1
  tolerance: 1e-05   # YAML 1.1 reads this as a string
  gain: 2.5
sources:
  one:
    description: first entry
    driver: npx_drift
    args: {ARGS_JSON}
"""
FLOW_YAML = ("{metadata: {version: 1, tolerance: 1e-05, gain: 2.5}, "
             f"sources: {{one: {{description: first entry, driver: npx_drift, args: {ARGS_JSON}}}}}}}\n")


@pytest.mark.parametrize("text", [PLAIN_YAML, FLOW_YAML], ids=["block", "flow-not-json"])
def test_yaml_catalog_still_opens(tmp_path, text):
    path = tmp_path / "plain.yaml"
    path.write_text(text, encoding="utf-8")
    cat = open_catalog(path)
    assert list(cat) == ["one"]
    assert cat.metadata["tolerance"] == "1e-05" and cat.metadata["gain"] == 2.5
    assert cat._entries["one"].describe()["description"] == "first entry"
    assert isinstance(cat["one"], DriftSource)


def test_json_body_that_yaml_reads_differently_goes_through_yaml(tmp_path):
    """``1e-05`` is a float to JSON but a string to YAML 1.1: the YAML reading (intake's) wins."""
    path = tmp_path / "exp.yaml"
    path.write_text(json.dumps({"metadata": {"version": 1, "tolerance": 1e-05, "gain": 2.5},
                                "sources": {"one": {"driver": "npx_drift", "args": DRIFT_ARGS}}}), encoding="utf-8")
    assert "1e-05" in path.read_text()
    ours, theirs = open_catalog(path), intake.open_catalog(str(path))
    assert ours.metadata["tolerance"] == theirs.metadata["tolerance"] == "1e-05"
    assert ours.metadata["gain"] == 2.5 and list(ours) == list(theirs) == ["one"]


def test_every_entry_opens_without_reading_bytes():
    cat = open_catalog()
    store = get_store()
    kinds = {RecordingSource: 0, SortingSource: 0, DriftSource: 0}
    for name in cat:
        src = cat[name]
        kinds[type(src)] += 1
        assert cat[name].describe()["metadata"]["kind"] in ("recording", "sorting", "drift")
        if isinstance(src, RecordingSource):
            d = src.discover()
            assert d["shape"][1] == src.metadata["num_channels"]
            x = src.to_dask()
            assert x.dims == ("time", "channel") and x.shape == d["shape"]
    assert kinds == {RecordingSource: 14, SortingSource: 31, DriftSource: 2}
    assert store.stats["requests"] == 0 and not (Path(store.config.store) / "sha1").exists()


def test_table_and_search():
    t = catalog_table()
    assert len(t) == 47 and {"kind", "lab", "probe", "duration_s", "drift", "recording_id"} <= set(t.columns)
    assert set(t.loc[t["drift"].fillna(False), "kind"]) == {"recording"}
    assert sorted(t.index[t["drift"].fillna(False)]) == ["cortexlab-drift-dataset1", "cortexlab-drift-dataset2"]
    assert (t["kind"] == "sorting").sum() == 31
    found = list(open_catalog().search("svoboda medulla"))
    assert "svoboda-SC035_010920_g0_tcat_imec1" in found and all("SC035_010920" in f for f in found)
    assert len(list(open_catalog().search("imposed drift"))) >= 2


def test_find_by_label():
    cat = open_catalog()
    assert find_entry(cat, "cortexlab-single-phase-3 (ch 0-7, 10 sec)") == "cortexlab-single-phase-3-ch0-7.10sec"
    assert find_entry(cat, "cortexlab-single-phase-3.json") == "cortexlab-single-phase-3"
    with pytest.raises(KeyError, match="npx2020 ls"):
        find_entry(cat, "no-such-recording")


def test_cli_ls_info(capsys):
    assert main(["ls", "--search", "allen", "--kind", "recording"]) == 0
    out = capsys.readouterr().out
    assert "allen_mouse419112_probeE-10sec" in out and "cortexlab" not in out
    assert main(["info", "cortexlab-single-phase-3"]) == 0
    out = capsys.readouterr().out
    assert "1b8592f0240603ae1019379cb47bad6475503aaf" in out and "8b222e25bc4d9c792e4490ca322b5338e0795596" in out
    assert main(["info", "nope"]) == 1
    assert "nope" in capsys.readouterr().err


def test_missing_bytes_error_is_prompt():
    import time

    from intake_npx2020.errors import ContentNotFound

    x = open_catalog()["cortexlab-single-phase-3-ch0-7.10sec"].to_dask()
    t = time.monotonic()
    with pytest.raises(ContentNotFound) as err:
        x[:100].values
    assert time.monotonic() - t < 3
    assert "bbd7fba0f4187b23bf002cbc3d240c7467e1e6a2" in str(err.value) or "3578300115fc5f7f7a6268b813590c2cf1172cb4" in str(err.value)
    assert "npx2020 add" in str(err.value)


def test_console_script_installed():
    out = subprocess.run([sys.executable, "-m", "intake_npx2020", "ls", "--kind", "drift"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.count(":drift") == 2
