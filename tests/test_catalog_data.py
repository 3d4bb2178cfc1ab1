"""Tests of the catalog data (``intake_npx2020/sources/catalogs/npx2020.yaml``) and its generator.

Fast and offline: no network, no store, and only files in this repository (the 2020 index copy is in
``tests/data``). The expected IDs, hashes and file sizes below were copied from the developers' reference
notes (``datasets.md``), independently of the generator, so a wrong edit in the generator cannot silently
change both the catalog and its expectations.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CATALOG = REPO / "intake_npx2020" / "sources" / "catalogs" / "npx2020.yaml"
CATALOG_LINK = REPO / "catalogs" / "npx2020.yaml"
BUILDER = REPO / "tools" / "build_catalog.py"
BUILDER_PACKAGE = REPO / "tools" / "catalog"
#: Byte-exact copy of the 2020-08-24 index, ``sha1://08295c22…/known_recordings.json``, committed upstream as
#: https://github.com/flatironinstitute/neuropixels-data-sep-2020/blob/5008bbc/known_recordings.json
INDEX_PATH = REPO / "tests" / "data" / "known_recordings-2020-08-24.json"

# ---------------------------------------------------------------------------------------------
# Expectations from datasets.md
# ---------------------------------------------------------------------------------------------

RECORDING_IDS = [
    "cortexlab-single-phase-3",
    "cortexlab-single-phase-3.10sec",
    "cortexlab-single-phase-3-ch0-7.10sec",
    "cortexlab-drift-dataset1",
    "cortexlab-drift-dataset2",
    "allen_mouse419112_probeE",
    "allen_mouse415148_probeE",
    "allen_mouse419112_probeE-ch0-7.10sec",
    "allen_mouse419112_probeE-10sec",
    "svoboda-SC026_080619_g0_tcat_imec0",
    "svoboda-SC022_030319_g0_tcat_imec2",
    "svoboda-SC026_080619_g0_tcat_imec2",
    "svoboda-SC035_011020_g0_tcat_imec0",
    "svoboda-SC035_010920_g0_tcat_imec1",
]
SVOBODA_IDS = [r for r in RECORDING_IDS if r.startswith("svoboda-")]
SPYKING_CIRCUS_RECORDINGS = [
    "cortexlab-single-phase-3",
    "allen_mouse419112_probeE",
    "allen_mouse415148_probeE",
    "cortexlab-drift-dataset1",
    "cortexlab-drift-dataset2",
    "svoboda-SC022_030319_g0_tcat_imec2",
]
HENNIG = {
    "allen_mouse419112_probeE": ["hdsort", "herdingspikes", "ironclust", "kilosort2", "spykingcircus"],
    "svoboda-SC026_080619_g0_tcat_imec0": ["hdsort", "herdingspikes", "ironclust", "kilosort2", "tridesclous"],
    "cortexlab-single-phase-3": ["hdsort", "herdingspikes", "ironclust", "kilosort2", "spykingcircus", "tridesclous"],
}
CURATED_IDS = [
    "cortexlab-single-phase-3:curated",
    "cortexlab-single-phase-3:curated_good",
    "allen_mouse419112_probeE:curated",
    "allen_mouse415148_probeE:curated",
    *[f"{r}:curated" for r in SVOBODA_IDS],
]
SC_IDS = [f"{r}:spyking_circus" for r in SPYKING_CIRCUS_RECORDINGS]
MH_IDS = [f"{r}:mh-{s}" for r, sorters in HENNIG.items() for s in sorters]
SORTING_IDS = CURATED_IDS + SC_IDS + MH_IDS
DRIFT_IDS = ["cortexlab-drift-dataset1:drift", "cortexlab-drift-dataset2:drift"]

#: sha1(json.dumps(obj)) of embedded objects (datasets.md §2): verified and computed values.
CHECKABLE_HASHES = {
    "cortexlab-single-phase-3": "8b222e25bc4d9c792e4490ca322b5338e0795596",
    "cortexlab-single-phase-3.10sec": "4184f3c842745e9e48b4e5aeb0a2019912837e5f",
    "cortexlab-single-phase-3-ch0-7.10sec": "515932f62e037278617b47ed642237d0abf02e6b",
    "allen_mouse419112_probeE": "b9e372c912d9ad8840da4e1f1928dda3a0dbffb6",
    "allen_mouse415148_probeE": "c85a38526c4bb6f5d6df8fa74590f9fe1c45fb68",
    "allen_mouse419112_probeE-ch0-7.10sec": "e3f764b72eafa0704cb4fef23d101e10e5404043",
    "allen_mouse419112_probeE-10sec": "ac7415d7c8a15d8b99a9ee19504fcdaeaece722a",
    "cortexlab-single-phase-3:curated": "b27b023e76354ccc50d6f7a3ce0ac026f3f911ea",
    "cortexlab-single-phase-3:curated_good": "b27b023e76354ccc50d6f7a3ce0ac026f3f911ea",
    "allen_mouse419112_probeE:curated": "e22a1a23388b95c15ac9720a1b06088c825e4512",
    "allen_mouse415148_probeE:curated": "fcb7a45de2e7ea901f13ad16cecc82a8def46ee5",
}
#: Allen full objects with their previous raw URI hash to these verified recordingPaths.
ALLEN_HISTORIC_HASHES = {
    "allen_mouse419112_probeE": "cbb77e0b79223ce5117bd36d7a7ea98ca0cd6454",
    "allen_mouse415148_probeE": "35f51666b5e91552f40eff56c3f1c9bf7258b062",
}
#: File sizes recorded upstream (datasets.md §4.1; the others are computed).
UPSTREAM_SIZES = {
    "cortexlab-single-phase-3": 87170751360,
    "cortexlab-drift-dataset1": 45205648180,
    "cortexlab-drift-dataset2": 62099840880,
    "svoboda-SC026_080619_g0_tcat_imec0": 76029609548,
    "svoboda-SC022_030319_g0_tcat_imec2": 112205135350,
    "svoboda-SC026_080619_g0_tcat_imec2": 96925126760,
    "svoboda-SC035_011020_g0_tcat_imec0": 84952919590,
    "svoboda-SC035_010920_g0_tcat_imec1": 87520507690,
}
#: Known errors of the 2020-08-24 index (datasets.md §9.1, §9.5): recordingPath != hash(recordingObject).
INDEX_PATH_BUGS = {"cortexlab-single-phase-3-ch0-7.10sec", "allen_mouse415148_probeE"}

SHA1_URI = re.compile(r"^sha1://[0-9a-f]{40}/[^?/][^?]*(\?manifest=[0-9a-f]{40})?$")
STATUSES = {"verified", "computed", "derived", "reconstructed", "by_reference", "unavailable"}


def sha1_obj(obj: Any) -> str:
    """Upstream storage hash of a JSON object (datasets.md §2)."""
    return hashlib.sha1(json.dumps(obj).encode()).hexdigest()


def uri_hash(uri: str) -> str:
    """The 40-hex hash of a ``sha1://H/...`` URI."""
    return uri.split("://", 1)[1].split("/", 1)[0]


def strict(obj: Any) -> str:
    """Type- and order-sensitive fingerprint (``43 != 43.0``, key order matters)."""
    return json.dumps(obj)


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog_text() -> str:
    return CATALOG.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def catalog(catalog_text: str) -> dict:
    # libyaml parser, safe_load semantics; the pure-Python safe_load is checked once below.
    return yaml.load(catalog_text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@pytest.fixture(scope="module")
def sources(catalog: dict) -> dict:
    return catalog["sources"]


@pytest.fixture(scope="module")
def builder() -> ModuleType:
    """The generator package ``tools/catalog``, imported under a private name (``tools/`` is not on sys.path)."""
    name = "_npx2020_catalog_tool"
    spec = importlib.util.spec_from_file_location(
        name, BUILDER_PACKAGE / "__init__.py", submodule_search_locations=[str(BUILDER_PACKAGE)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # relative imports and dataclasses resolve through sys.modules
    try:
        spec.loader.exec_module(module)
    except BaseException:
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]
        raise
    return module


@pytest.fixture(scope="module")
def index_2020() -> dict:
    """The 2020-08-24 index, from the repository's byte-exact copy (``tests/data``)."""
    raw = INDEX_PATH.read_bytes()
    assert hashlib.sha1(raw).hexdigest() == "08295c224a0753457cde13e78a97cdf8465bd214", "not the byte-exact copy"
    return json.loads(raw)


# ---------------------------------------------------------------------------------------------
# Shape and IDs
# ---------------------------------------------------------------------------------------------


def test_intake_v1_layout(catalog: dict) -> None:
    assert list(catalog) == ["metadata", "sources"]
    meta = catalog["metadata"]
    assert meta["version"] == 1  # intake raises VersionError (v2 fallback) for > 1
    assert meta["index_uri"] == "sha1://6c7fbd39a6d801922983239100fb45a77a14aedc/known_recordings.json"
    assert meta["index_uri_history"][0]["uri"] == meta["index_uri"]
    assert meta["counts"] == {"recordings": 14, "sortings": 31, "drift": 2}
    assert "neuropixels-data-sep-2020" in meta["source"]["repository"]


def test_exact_ids(sources: dict) -> None:
    by_driver: dict[str, list[str]] = {}
    for name, entry in sources.items():
        by_driver.setdefault(entry["driver"], []).append(name)
    assert by_driver["npx_recording"] == RECORDING_IDS
    assert sorted(by_driver["npx_sorting"]) == sorted(SORTING_IDS)
    assert len(by_driver["npx_sorting"]) == 31
    assert by_driver["npx_drift"] == DRIFT_IDS
    assert set(by_driver) == {"npx_recording", "npx_sorting", "npx_drift"}


@pytest.mark.parametrize("kind, driver", [("recording", "npx_recording"), ("sorting", "npx_sorting"), ("drift", "npx_drift")])
def test_kind_matches_driver(sources: dict, kind: str, driver: str) -> None:
    for name, entry in sources.items():
        assert (entry["metadata"]["kind"] == kind) == (entry["driver"] == driver), name
        assert entry["description"], name


#: Citations of the developers' reference files, which users of the catalog do not have.
REFERENCE_CITATION = re.compile(r"datasets\.md|libraries\.md|sources\.md|anchors\.md|kachery\.md|shared/|§")


def _strings(value: Any) -> list[str]:
    """Every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in [*_strings(k), *_strings(v)]]
    if isinstance(value, list):
        return [t for v in value for t in _strings(v)]
    return []


def test_text_cites_no_reference_files(catalog: dict, catalog_text: str) -> None:
    """Notes are self-contained: they state the fact or cite a public URL, never ``datasets.md`` or ``§N``."""
    cited = {name: t for name, entry in catalog["sources"].items()
             for t in _strings(entry) if REFERENCE_CITATION.search(t)}
    assert cited == {}
    assert REFERENCE_CITATION.findall(catalog_text) == []  # the header and top-level metadata too


def test_symlink_at_repo_root() -> None:
    assert CATALOG_LINK.is_symlink()
    assert os.readlink(CATALOG_LINK) == "../intake_npx2020/sources/catalogs/npx2020.yaml"
    assert CATALOG_LINK.resolve() == CATALOG.resolve()


# ---------------------------------------------------------------------------------------------
# Hashes
# ---------------------------------------------------------------------------------------------


def _embedded(entry: dict) -> Any:
    return entry["args"].get("recording", entry["args"].get("sorting"))


@pytest.mark.parametrize("entry_id, expected", sorted(CHECKABLE_HASHES.items()))
def test_checkable_hash(sources: dict, entry_id: str, expected: str) -> None:
    entry = sources[entry_id]
    assert sha1_obj(_embedded(entry)) == expected
    assert entry["metadata"]["object_sha1"] == expected
    assert entry["metadata"]["object_status"] in {"verified", "computed", "derived"}


@pytest.mark.parametrize("rec_id, expected", sorted(ALLEN_HISTORIC_HASHES.items()))
def test_allen_previous_raw_reproduces_verified_path(sources: dict, rec_id: str, expected: str) -> None:
    entry = sources[rec_id]
    obj = json.loads(json.dumps(entry["args"]["recording"]))
    obj["data"]["raw"] = entry["metadata"]["previous_raw"]
    assert sha1_obj(obj) == expected
    assert entry["metadata"]["historic_recording_path"] == f"sha1://{expected}/{rec_id}.json"


def test_metadata_hashes_and_paths_are_consistent(sources: dict) -> None:
    for name, entry in sources.items():
        meta = entry["metadata"]
        if meta["kind"] == "drift":
            continue
        obj = _embedded(entry)
        assert meta["object_status"] in STATUSES, name
        if isinstance(obj, dict):
            assert meta["object_sha1"] == sha1_obj(obj), name
        elif isinstance(obj, str):
            assert SHA1_URI.match(obj), name
            assert meta["object_sha1"] == uri_hash(obj) and meta["object_status"] == "by_reference", name
        else:
            assert obj is None and meta["object_status"] == "unavailable" and meta["unavailable"], name
        path = meta.get("recording_path") or meta.get("sorting_path")
        if path is not None:
            assert SHA1_URI.match(path), name
            assert uri_hash(path) == meta["object_sha1"], name
        if meta["object_status"] in {"verified", "computed"}:
            assert name in CHECKABLE_HASHES, f"{name}: status {meta['object_status']} but no checkable hash"
        if meta["object_status"] == "reconstructed":
            assert meta["uncertain"], f"{name}: reconstructed without saying what is guessed"


def test_ch0_7_is_the_eight_channel_object(sources: dict) -> None:
    entry = sources["cortexlab-single-phase-3-ch0-7.10sec"]
    data = entry["args"]["recording"]["data"]
    assert data["channel_ids"] == list(range(8))
    assert data["raw_num_channels"] == 8
    assert data["raw"].startswith("sha1://bbd7fba0f4187b23bf002cbc3d240c7467e1e6a2/")
    assert entry["metadata"]["num_channels"] == 8
    # the buggy upstream recordingPath (374-channel object) is documented, never used as the path
    assert entry["metadata"]["recording_path"] is None
    assert uri_hash(entry["metadata"]["upstream_recording_path"]) == CHECKABLE_HASHES["cortexlab-single-phase-3.10sec"]


# ---------------------------------------------------------------------------------------------
# bin1 consistency
# ---------------------------------------------------------------------------------------------


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@pytest.mark.parametrize("rec_id", RECORDING_IDS)
def test_bin1_object_is_consistent(sources: dict, rec_id: str) -> None:
    entry = sources[rec_id]
    obj = entry["args"]["recording"]
    assert list(obj) == ["recording_format", "data"] and obj["recording_format"] == "bin1"
    data = obj["data"]
    assert list(data) == [
        "raw", "raw_num_channels", "num_frames", "samplerate", "channel_ids", "channel_map", "channel_positions"
    ]
    assert SHA1_URI.match(data["raw"]) and "?manifest=" in data["raw"]
    keys = [str(c) for c in data["channel_ids"]]
    assert len(set(keys)) == len(keys)
    assert list(data["channel_map"]) == keys
    assert list(data["channel_positions"]) == keys
    columns = list(data["channel_map"].values())
    assert all(isinstance(c, int) and 0 <= c < data["raw_num_channels"] for c in columns)
    assert len(set(columns)) == len(columns)
    for pos in data["channel_positions"].values():
        assert len(pos) == 2 and all(_is_number(v) for v in pos)
    meta = entry["metadata"]
    assert meta["num_channels"] == len(keys)
    assert meta["raw_num_channels"] == data["raw_num_channels"]
    assert meta["num_frames"] == data["num_frames"]
    assert meta["sampling_frequency"] == data["samplerate"]
    assert meta["size_bytes"] == data["num_frames"] * 2 * data["raw_num_channels"]
    assert meta["duration_s"] == pytest.approx(data["num_frames"] / data["samplerate"], abs=1e-3)
    assert meta["probe"] in {"NP1", "NP2", "NP2 4-shank"}
    assert meta["lab"] in {"cortexlab", "allen", "svoboda"}
    chunk = entry["args"]["chunk_seconds"]
    assert isinstance(chunk, float) and chunk > 0


@pytest.mark.parametrize("rec_id, size", sorted(UPSTREAM_SIZES.items()))
def test_recorded_file_sizes(sources: dict, rec_id: str, size: int) -> None:
    data = sources[rec_id]["args"]["recording"]["data"]
    assert data["num_frames"] * 2 * data["raw_num_channels"] == size
    assert sources[rec_id]["metadata"]["size_source"] == "upstream"


@pytest.mark.parametrize(
    "child, parent, n",
    [
        ("cortexlab-single-phase-3.10sec", "cortexlab-single-phase-3", 374),
        ("cortexlab-single-phase-3-ch0-7.10sec", "cortexlab-single-phase-3", 8),
        ("allen_mouse419112_probeE-10sec", "allen_mouse419112_probeE", 384),
        ("allen_mouse419112_probeE-ch0-7.10sec", "allen_mouse419112_probeE", 8),
    ],
)
def test_extracts_match_parent_geometry(sources: dict, child: str, parent: str, n: int) -> None:
    c = sources[child]["args"]["recording"]["data"]
    p = sources[parent]["args"]["recording"]["data"]
    assert sources[child]["metadata"]["parent"] == parent
    assert c["num_frames"] == 300000 and c["raw_num_channels"] == n
    parent_positions = list(p["channel_positions"].values())[:n]
    assert list(c["channel_positions"].values()) == parent_positions  # numerically (ints vs floats)
    assert all(isinstance(v, int) for pos in c["channel_positions"].values() for v in pos)  # extracts store ints
    assert all(isinstance(v, float) for pos in p["channel_positions"].values() for v in pos)  # full store floats


def test_reconstructed_recordings(sources: dict) -> None:
    for rec_id in ["cortexlab-drift-dataset1", "cortexlab-drift-dataset2", *SVOBODA_IDS]:
        meta = sources[rec_id]["metadata"]
        assert meta["object_status"] == "reconstructed", rec_id
        assert meta["recording_path"] is None, rec_id
        assert len(meta["uncertain"]) >= 2, rec_id
    for rec_id in ["cortexlab-drift-dataset1", "cortexlab-drift-dataset2"]:
        meta = sources[rec_id]["metadata"]
        assert meta["drift"] is True and meta["probe"] == "NP2" and meta["num_channels"] == 384
        assert meta["drift_ground_truth"] == f"{rec_id}:drift"
    assert [sources[r]["metadata"]["probe"] for r in SVOBODA_IDS] == ["NP1", "NP1", "NP1", "NP2 4-shank", "NP2 4-shank"]
    assert sources["svoboda-SC026_080619_g0_tcat_imec0"]["args"]["recording"]["data"]["raw_num_channels"] == 302


# ---------------------------------------------------------------------------------------------
# Sortings and drift
# ---------------------------------------------------------------------------------------------

SORTING_META_KEYS = {
    "kind", "label", "recording_id", "sorter", "curated", "contributed", "format", "unit_count",
    "sorting_path", "object_sha1", "object_status", "uncertain",
}
RECORDING_META_KEYS = {
    "kind", "label", "lab", "probe", "probe_detail", "region", "duration_s", "num_channels", "raw_num_channels",
    "sampling_frequency", "num_frames", "size_bytes", "drift", "gain_to_uV", "parent", "source", "recording_path",
    "object_sha1", "object_status", "uncertain", "sortings",
}


def test_metadata_keys(sources: dict) -> None:
    for name, entry in sources.items():
        kind = entry["metadata"]["kind"]
        required = {"recording": RECORDING_META_KEYS, "sorting": SORTING_META_KEYS}.get(kind, {"recording_id"})
        assert required <= set(entry["metadata"]), (name, required - set(entry["metadata"]))


def test_sortings_link_to_recordings(sources: dict) -> None:
    listed = {}
    for rec_id in RECORDING_IDS:
        for sort_id in sources[rec_id]["metadata"]["sortings"]:
            listed[sort_id] = rec_id
    assert sorted(listed) == sorted(SORTING_IDS)
    for sort_id in SORTING_IDS:
        assert sources[sort_id]["metadata"]["recording_id"] == listed[sort_id] == sort_id.split(":")[0]


def test_curated_sortings(sources: dict) -> None:
    for sort_id in CURATED_IDS:
        meta = sources[sort_id]["metadata"]
        assert meta["curated"] is True and meta["contributed"] is False, sort_id
    npy1 = sources["cortexlab-single-phase-3:curated"]["args"]["sorting"]
    assert list(npy1["data"]) == ["times_npy_uri", "labels_npy_uri", "samplerate"]
    assert sources["cortexlab-single-phase-3:curated"]["metadata"]["unit_count"] == 675
    good = sources["cortexlab-single-phase-3:curated_good"]["args"]
    assert good["sorting"] == npy1
    assert good["units_csv"] == "sha1://d7d12256973a2d7f48edefdb4d8bb03f68e59aa5/cluster_groups.csv"
    assert good["units_filter"] == {"group": "good"}
    units = dict(zip(SVOBODA_IDS, [201, 119, 119, 93, 70]))
    for rec_id, n in units.items():
        entry = sources[f"{rec_id}:curated"]
        assert entry["args"]["sorting"] is None
        assert entry["metadata"]["unit_count"] == n
        assert entry["metadata"]["object_status"] == "unavailable" and entry["metadata"]["unavailable"]


def test_contributed_sortings(sources: dict) -> None:
    for sort_id in SC_IDS:
        entry = sources[sort_id]
        assert re.match(r"^sha1://[0-9a-f]{40}/file\.json$", entry["args"]["sorting"]), sort_id
        assert entry["metadata"]["sorting_path"] == entry["args"]["sorting"]
        assert entry["metadata"]["contributed"] is True and entry["metadata"]["sorter"] == "spyking_circus (P. Yger)"
    for sort_id in MH_IDS:
        entry = sources[sort_id]
        obj = entry["args"]["sorting"]
        assert obj["sorting_format"] == "npy2"
        assert list(obj["data"]) == ["npz_uri", "unit_ids", "sampling_frequency"]
        assert obj["data"]["unit_ids"] is None and obj["data"]["sampling_frequency"] == 30000.0
        sorter = sort_id.rsplit(":mh-", 1)[1]
        assert re.match(rf"^sha1://[0-9a-f]{{40}}/{sorter}\.npz\?manifest=[0-9a-f]{{40}}$", obj["data"]["npz_uri"])
        assert entry["metadata"]["sorter"] == sorter and entry["metadata"]["contributed"] is True
        assert "npz" in entry["metadata"]["note"]


def test_drift_entries(sources: dict) -> None:
    for drift_id in DRIFT_IDS:
        entry = sources[drift_id]
        assert set(entry["args"]) == {"timestamps", "positions"}
        assert all(SHA1_URI.match(u) and u.endswith(".npy") for u in entry["args"].values())
        assert entry["metadata"]["recording_id"] == drift_id.rsplit(":", 1)[0]
        assert entry["metadata"]["uncertain"]
    assert sources[DRIFT_IDS[0]]["args"]["positions"] == sources[DRIFT_IDS[1]]["args"]["positions"]


# ---------------------------------------------------------------------------------------------
# Against the committed 2020-08-24 index
# ---------------------------------------------------------------------------------------------


def test_recording_objects_match_2020_index(sources: dict, index_2020: dict) -> None:
    """Objects equal the 2020 ones where the raw URI is unchanged; the Allen full ones differ only in ``raw``.

    Documented differences: the Allen full raw URIs were renamed after 2020-08-24
    (``continuous.dat`` -> ``allen_mouse*_probeE.dat``, and a new manifest for 419112); the catalog
    keeps the old URI in ``metadata.previous_raw``.
    """
    seen = set()
    for rec in index_2020["recordings"]:
        rec_id = rec["recordingId"]
        seen.add(rec_id)
        ours = sources[rec_id]["args"]["recording"]
        theirs = rec["recordingObject"]
        assert sources[rec_id]["metadata"]["label"] == rec["recordingLabel"]
        assert sources[rec_id]["description"] == rec["description"]
        if ours["data"]["raw"] == theirs["data"]["raw"]:
            assert strict(ours) == strict(theirs), rec_id
        else:
            assert rec_id in ALLEN_HISTORIC_HASHES, f"{rec_id}: unexpected raw URI change"
            assert theirs["data"]["raw"] == sources[rec_id]["metadata"]["previous_raw"]
            patched = json.loads(json.dumps(ours))
            patched["data"]["raw"] = theirs["data"]["raw"]
            assert strict(patched) == strict(theirs), rec_id
        path_hash = uri_hash(rec["recordingPath"])
        if rec_id in INDEX_PATH_BUGS:
            assert path_hash != sha1_obj(theirs), f"{rec_id}: known index bug seems fixed"
        else:
            assert path_hash == sha1_obj(theirs), rec_id
    assert len(seen) == 7


def test_historic_sortings_match_2020_index(sources: dict, index_2020: dict) -> None:
    for s in index_2020["sortings"]:
        meta = sources[s["sortingId"]]["metadata"]
        assert meta["historic_sorting_path"] == s["sortingPath"]
        assert strict(meta["historic_sorting"]) == strict(s["sortingObject"])
        assert uri_hash(s["sortingPath"]) == sha1_obj(s["sortingObject"])
        assert meta["label"] == s["sortingLabel"] and meta["recording_id"] == s["recordingId"]
    assert len(index_2020["sortings"]) == 4


# ---------------------------------------------------------------------------------------------
# Generator and loaders
# ---------------------------------------------------------------------------------------------


def test_yaml_round_trips_through_safe_load(catalog_text: str, builder: ModuleType) -> None:
    """The file is exactly the generator's object under plain ``yaml.safe_load`` (ints, floats, order)."""
    assert strict(yaml.safe_load(catalog_text)) == strict(builder.build_catalog())


def test_body_is_json_with_yaml_safe_floats(builder: ModuleType) -> None:
    """Floats JSON writes as ``1e-05`` are strings to YAML 1.1; the writer must emit ``1.0e-05``."""
    obj = {"metadata": {"version": 1, "small": 1e-05, "big": 1e16, "neg": -2.5e-07, "whole": 30000.0,
                        "int": 30000, "text": "1e-05 \u2028 \x85 µm", "sha": "sha1://3e5d/x"}, "sources": {}}
    text = builder.render_catalog(obj)
    body = text[len(builder.HEADER):]
    assert body.startswith("{") and "1.0e-05" in body and "1.0e+16" in body and '"1e-05 ' in body
    assert strict(json.loads(body)) == strict(obj)
    assert strict(yaml.safe_load(text)) == strict(obj)
    with pytest.raises(ValueError):
        builder.render_catalog({"metadata": {"x": float("nan")}})


def test_generator_check_passes() -> None:
    proc = subprocess.run([sys.executable, str(BUILDER), "--check"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_generator_check_detects_a_difference(
    builder: ModuleType, catalog_text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.render, "render_catalog", lambda catalog: catalog_text)  # skip the slow re-render
    edited = tmp_path / "npx2020.yaml"
    changed = catalog_text.replace('"samplerate": 30000,', '"samplerate": 30001,', 1)
    assert changed != catalog_text
    edited.write_text(changed, encoding="utf-8")
    assert builder.main(["--check", "--output", str(edited)]) == 1
    edited.write_text(catalog_text, encoding="utf-8")
    assert builder.main(["--check", "--output", str(edited)]) == 0


def test_intake_opens_catalog(sources: dict) -> None:
    import intake

    cat = intake.open_catalog(str(CATALOG_LINK))
    assert sorted(cat) == sorted(sources)
    entry = cat._entries["cortexlab-single-phase-3.10sec"]
    assert entry.describe()["metadata"]["object_sha1"] == CHECKABLE_HASHES["cortexlab-single-phase-3.10sec"]
