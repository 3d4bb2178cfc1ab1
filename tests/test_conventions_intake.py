"""intake citizenship (issue 16): YAML-safe ``discover()``, intake 2 readers and catalog, catalogs over HTTP.

Everything runs against the installed intake 2.0.x itself: its ``intake.readers`` API (data types, readers,
``Catalog``, ``from_yaml_file``), its entry-point imports, and ``intake.open_catalog`` over HTTP (fsspec + aiohttp).
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import CX_COLS, npy_uri

import intake
from intake_npx2020.sources.drivers import DriftSource, RecordingSource, SortingSource
from intake_npx2020.sources.readers import (NpxDrift, NpxDriftReader, NpxRecording, NpxRecordingReader,
                                            NpxRecordingSIReader, NpxSorting, NpxSortingReader)

REPO = Path(__file__).resolve().parents[1]
V1 = REPO / "intake_npx2020" / "sources" / "catalogs" / "npx2020.yaml"
V2 = V1.with_name("npx2020-v2.yaml")


def test_discover_is_plain_and_yaml_safe():
    """Every entry of the shipped catalog; no data bytes (they are not here)."""
    import intake_npx2020 as npx

    cat = npx.open_catalog()
    for name in cat:
        d = cat[name].discover()
        assert yaml.safe_load(yaml.safe_dump(d)) is not None and json.loads(json.dumps(d)) is not None, name
        if cat[name].metadata.get("kind") == "recording":
            assert d["dtype"] == "int16" and isinstance(d["shape"], tuple)
            meta = d["metadata"]
            assert meta["dims"] == {"time": d["shape"][0], "channel": d["shape"][1]}
            assert meta["coords"] == list(cat[name].to_dask().coords), name
        else:
            assert all(isinstance(v, str) for v in d["dtype"].values())


@pytest.fixture
def objects(tmp_path, recording):
    obj, raw = recording
    own = tmp_path / "own-store"
    times = np.sort(np.random.default_rng(3).choice(90_000, 200, replace=False))
    labels = np.random.default_rng(4).integers(1, 4, 200)
    sorting = {"sorting_format": "npy1", "data": {"times_npy_uri": npy_uri(own, times, "t.npy"),
                                                   "labels_npy_uri": npy_uri(own, labels, "l.npy"),
                                                   "samplerate": 30000}}
    drift = (npy_uri(own, np.array([0.0, 10.0, 20.0]), "ts.npy"), npy_uri(own, np.array([0.0, 50.0, 0.0]), "p.npy"))
    return obj, raw, sorting, drift


def test_readers_through_intake2_catalog(objects, tmp_path):
    """Readers in an intake 2 Catalog, written with intake's own to_yaml_file and read back with from_yaml_file."""
    from intake.readers.entry import Catalog

    obj, raw, sorting, drift = objects
    meta = {"gain_to_uV": 2.34375, "probe": "NP1", "id": "rec"}
    cat = Catalog()
    cat.add_entry(NpxRecording(obj).to_reader("xarray:DataArray", chunk_seconds=0.5, metadata=meta), name="rec")
    cat.add_entry(NpxSortingReader(NpxSorting(sorting)), name="rec:s")
    cat.add_entry(NpxDriftReader(NpxDrift(*drift)), name="rec:drift")
    cat.to_yaml_file(str(tmp_path / "v2.yaml"))
    back = intake.from_yaml_file(str(tmp_path / "v2.yaml"))
    x = back["rec"].read()
    v1 = RecordingSource(obj, 0.5, metadata=meta).to_dask()
    assert x.name == "rec" and x.chunks == v1.chunks and list(x.coords) == list(v1.coords)
    # intake's to_yaml_file sorts keys, so the object's JSON (and its sha1) differs; everything else is equal
    assert {k: v for k, v in x.attrs.items() if k != "object_sha1"} == {
        k: v for k, v in v1.attrs.items() if k != "object_sha1"}
    np.testing.assert_array_equal(x[1000:1010].values, raw[1000:1010, CX_COLS])
    assert back["rec"].discover().sizes["time"] == 15_000
    assert back["rec:s"].read().equals(SortingSource(sorting).read())
    assert back["rec:drift"].read().equals(DriftSource(*drift).read())
    assert back["rec"].output_instance == "xarray:DataArray" and back["rec:s"].output_instance == "pandas:DataFrame"


def test_readers_are_found_by_output_type(objects):
    pytest.importorskip("spikeinterface.core")
    obj, raw, sorting, _ = objects
    data = NpxRecording(obj)
    assert data.possible_outputs == {NpxRecordingReader: "xarray:DataArray",
                                     NpxRecordingSIReader: "spikeinterface.core.baserecording:BaseRecording"}
    rec = data.to_reader("BaseRecording").read()
    np.testing.assert_array_equal(rec.get_traces(start_frame=5, end_frame=9), raw[5:9, CX_COLS])
    si_sorting = NpxSorting(sorting).to_reader("BaseSorting").read()
    assert sorted(si_sorting.unit_ids) == [1, 2, 3]


def test_import_intake_registers_the_readers():
    """The ``intake.imports`` entry point: a fresh ``import intake`` knows the readers, without xarray."""
    code = ("import sys, intake; from intake.readers.readers import BaseReader; from intake.readers.utils import "
            "subclasses; names = {c.__name__ for c in subclasses(BaseReader)}; "
            "print(int({'NpxRecordingReader', 'NpxSortingReader', 'NpxDriftReader'} <= names), "
            "int('xarray' in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["1", "0"], out.stderr


def test_shipped_intake2_catalog_matches_v1():
    v1 = _body(V1)
    v2 = intake.from_yaml_file(str(V2))
    assert list(v2.entries) == list(v1["sources"]) and len(v2.data) == 47
    for name, source in v1["sources"].items():
        entry = v2.entries[name]
        assert entry.metadata == {"id": name, "description": source["description"], **source["metadata"]}
        assert entry.output_instance == ("xarray:DataArray" if source["driver"] == "npx_recording"
                                         else "pandas:DataFrame")
    x = v2["cortexlab-single-phase-3"].read()     # lazy: the bytes are not here, nothing is read
    assert x.shape == (113_208_768, 374) and x.attrs["probe_model"] == "NP1000" and x.name == "cortexlab-single-phase-3"
    assert type(intake.open_catalog(str(V2))).__name__ == "Catalog"
    sys.path.insert(0, str(REPO / "tools"))
    try:
        from catalog.cli import main

        assert main(["--check"]) == 0
    finally:
        sys.path.remove(str(REPO / "tools"))


def _body(path: Path) -> dict:
    text = path.read_text()
    return json.loads(text[text.index("\n{") + 1:])


@pytest.fixture
def http_catalogs():
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(V1.parent))
    handler.log_message = lambda *a, **k: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_catalogs_open_over_http(http_catalogs):
    """``intake.open_catalog("http://…")`` with the base install (fsspec's HTTP filesystem needs aiohttp)."""
    import aiohttp  # noqa: F401 - a base requirement (setup.cfg install_requires)

    v1 = intake.open_catalog(f"{http_catalogs}/npx2020.yaml")
    assert len(list(v1)) == 47 and v1["cortexlab-single-phase-3"].discover()["dtype"] == "int16"
    v2 = intake.from_yaml_file(f"{http_catalogs}/npx2020-v2.yaml")
    assert v2["cortexlab-single-phase-3:curated"].output_instance == "pandas:DataFrame"
