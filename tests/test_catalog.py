"""The shipped catalog through intake: every entry opens, describes and discovers without reading data."""

import subprocess
import sys
from pathlib import Path

import intake
import pytest

from intake_npx2020 import catalog_table, open_catalog
from intake_npx2020.catalog import CATALOG_PATH, find_entry
from intake_npx2020.cli import main
from intake_npx2020.drivers import DriftSource, RecordingSource, SortingSource
from intake_npx2020.store import get_store

REPO = Path(__file__).resolve().parents[1]


def test_open_both_ways():
    a = intake.open_catalog(str(REPO / "catalogs" / "npx2020.yaml"))
    b = open_catalog()
    assert list(a) == list(b) and len(list(b)) == 14 + 31 + 2
    assert (REPO / "catalogs" / "npx2020.yaml").read_bytes() == CATALOG_PATH.read_bytes()


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
    out = subprocess.run([sys.executable, "-m", "intake_npx2020.cli", "ls", "--kind", "drift"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.count(":drift") == 2
