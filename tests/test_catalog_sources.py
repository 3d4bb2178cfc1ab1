"""Catalog facts from public homes: drift dataset1's SpikeGLX meta, and the entries' original sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from intake_npx2020.store.origin import Origin, parse_sources
from intake_npx2020.store.uri import parse_uri

DATA = Path(__file__).parent / "data"
META = DATA / "cortexlab-drift-dataset1.p2_g0_t0.imec0.ap.meta"
WITH_SOURCES = {"cortexlab-single-phase-3", "cortexlab-drift-dataset1", "allen_mouse419112_probeE",
                "allen_mouse415148_probeE"}


@pytest.fixture(scope="module")
def cat():
    from intake_npx2020 import open_catalog

    return open_catalog()


def test_drift_dataset1_geometry_is_probeinterfaces_reading_of_its_meta(cat):
    probeinterface = pytest.importorskip("probeinterface")
    probe = probeinterface.read_spikeglx(META)
    pos = np.array(probe.contact_positions, dtype=float)
    pos[:, 0] -= probe.probe_planar_contour[:, 0].min()  # x from the shank's left edge, whatever the version
    pos = pos[np.argsort(probe.device_channel_indices)]
    spec = cat["cortexlab-drift-dataset1"].spec
    assert np.array_equal(spec.locations, pos)
    assert set(spec.locations[:, 0]) == {27.0, 59.0} and np.array_equal(np.unique(np.diff(spec.locations[::2, 1])), [15])
    assert list(spec.columns) == list(range(384))


def test_drift_dataset1_facts_are_its_meta(cat):
    probeinterface = pytest.importorskip("probeinterface")
    meta = probeinterface.parse_spikeglx_meta(META)
    src = cat["cortexlab-drift-dataset1"]
    spec, md = src.spec, src.metadata
    assert meta["fileSHA1"].lower() == parse_uri(spec.raw).sha1  # SpikeGLX's own hash of the raw file
    assert int(meta["fileSizeBytes"]) == md["size_bytes"] == spec.nbytes
    assert int(meta["nSavedChans"]) == spec.raw_num_channels and float(meta["imSampRate"]) == spec.sampling_frequency
    assert md["gain_to_uV"] == pytest.approx(0.763, abs=5e-4)
    assert md["gain_to_uV"] == float(meta["imAiRangeMax"]) / int(meta["imMaxInt"]) / 80 * 1e6
    d2 = cat["cortexlab-drift-dataset2"].metadata
    assert any("its own meta is not public" in u for u in d2["uncertain"])  # dataset2: the same probe, assumed


def test_the_tool_reads_the_same_meta():
    tool_copy = Path(__file__).parents[1] / "tools" / "catalog" / "data" / META.name
    assert tool_copy.read_bytes() == META.read_bytes()


def test_entries_with_a_public_home_name_it(cat):
    for name in cat:
        md = cat[name].metadata
        if md.get("kind") != "recording":
            continue
        origins = parse_sources(md.get("sources"))
        assert bool(origins) == (name in WITH_SOURCES), name
        for o in origins:
            assert isinstance(o, Origin) and o.size == md["size_bytes"] and o.verified is False and o.note, name
    assert cat["cortexlab-drift-dataset1"].metadata["sources"][0]["url"].endswith("/v2/file/download/26476589")
