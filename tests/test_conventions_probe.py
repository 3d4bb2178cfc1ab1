"""Probe models against probeinterface and spikeinterface themselves (issue 16: units and geometry).

The electrodes, contact ids, shanks and ADC sampling order that :mod:`intake_npx2020.formats.neuropixels` works
out from positions are compared with what probeinterface's own SpikeGLX reader builds from a ``.meta`` file of
the same probe, and the sampling shifts with what spikeinterface derives from that probe.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import CX_COLS, np1_pos

from intake_npx2020.formats.neuropixels import channel_geometry, find_frame, probe_notes

pi = pytest.importorskip("probeinterface")
nt = pytest.importorskip("probeinterface.neuropixels_tools")


def _meta(path, imro: str, saved: str = "all", **fields) -> str:
    lines = {"imroTbl": imro, "snsSaveChanSubset": saved, "nSavedChans": "385", "imDatPrb_sn": "1",
             "imDatPrb_port": "1", "imDatPrb_slot": "2", **fields}
    path.write_text("\n".join(f"{k}={v}" for k, v in lines.items()) + "\n")
    return str(path)


def _np1_imro(header: str = "(0,384)") -> str:
    return header + "".join(f"({c} 0 0 500 250 1)" for c in range(384))


def _model_xy(locations, probe):
    (sign, x0, y0), _, _ = find_frame(locations, probe)
    return (np.asarray(locations, float) - [x0, y0]) * [sign, 1.0]


@pytest.mark.parametrize("cols,saved", [(list(range(384)), "all"), (CX_COLS, ",".join(map(str, CX_COLS + [384])))])
def test_np1_against_spikeglx_reader(tmp_path, cols, saved):
    """NP1.0 bank 0 (all 384, or Phase 3A's 374 without its reference sites): ids, ADC slots and shifts."""
    probe = nt.read_spikeglx(_meta(tmp_path / "a.ap.meta", _np1_imro(), saved, imDatPrb_pn="NP1000"))
    locations = [np1_pos(c) for c in cols]   # Kilosort's channel-map frame, as the 2020 catalog has them
    g = channel_geometry(locations, "NP1")
    assert list(g["contact_id"]) == list(probe.contact_ids)
    np.testing.assert_array_equal(g["adc_group"], probe.contact_annotations["adc_group"])
    np.testing.assert_array_equal(g["adc_sample_order"], probe.contact_annotations["adc_sample_order"])
    np.testing.assert_array_equal(_model_xy(locations, "NP1"), probe.contact_positions)
    for frame in ([0.0, 0.0], [11.0, 0.0]):     # probeinterface's own positions, and SpikeGLX's (from the edge)
        assert list(channel_geometry(probe.contact_positions + frame, "NP1")["contact_id"]) == list(probe.contact_ids)
    from spikeinterface.extractors.neuropixels_utils import get_neuropixels_sample_shifts_from_probe

    np.testing.assert_allclose(g["inter_sample_shift"], get_neuropixels_sample_shifts_from_probe(probe))


def test_phase3a_shares_np1_sampling_order(tmp_path):
    """probeinterface reads a Phase 3A meta (``imProbeOpt``) with NP1.0's multiplexing, as we assume."""
    probe = nt.read_spikeglx(_meta(tmp_path / "a.ap.meta", _np1_imro("(0,3,384)"), imProbeOpt="3"))
    g = channel_geometry([np1_pos(c) for c in range(384)], "NP1")
    np.testing.assert_array_equal(g["adc_sample_order"], probe.contact_annotations["adc_sample_order"])
    assert list(g["contact_id"]) == list(probe.contact_ids)


@pytest.mark.parametrize("probe_name,imro,part", [
    ("NP2", "(21,384)" + "".join(f"({c} 1 0 {c})" for c in range(384)), "NP2000"),
    ("NP2 4-shank", "(24,384)" + "".join(f"({c} {c // 96} 0 0 {c % 96})" for c in range(384)), "NP2010"),
])
def test_np2_against_spikeglx_reader(tmp_path, probe_name, imro, part):
    probe = nt.read_spikeglx(_meta(tmp_path / "b.ap.meta", imro, imDatPrb_pn=part))
    # the catalog's reconstructed NP2 layouts: x = 250*shank + 32*(k%2), y = 15*(k//2)
    k = np.arange(384) % (96 if "4" in probe_name else 384)
    shank = np.arange(384) // 96 if "4" in probe_name else np.zeros(384, int)
    locations = np.column_stack([250.0 * shank + 32 * (k % 2), 15.0 * (k // 2)])
    g = channel_geometry(locations, probe_name)
    assert list(g["contact_id"]) == list(probe.contact_ids)
    np.testing.assert_array_equal(_model_xy(locations, probe_name), probe.contact_positions)
    from_edge = channel_geometry(locations + [27.0, 0.0], probe_name)   # SpikeGLX's frame: x from the shank edge
    assert list(from_edge["contact_id"]) == list(probe.contact_ids)
    if probe.shank_ids is not None and len(set(probe.shank_ids)) > 1:
        np.testing.assert_array_equal(g["shank"], probe.shank_ids.astype(int))
    assert "adc_group" not in g   # the NP2 readout wiring is not known for these recordings


def test_positions_off_the_probe_give_no_model():
    assert channel_geometry([[0.0, 0.0], [5.0, 7.0]], "NP1") is None
    assert channel_geometry([[43.0, 20.0], [43.0, 20.0]], "NP1") is None        # two channels on one electrode
    assert channel_geometry([[43.0, 20.0]], "Utah array") is None
    assert channel_geometry([[43.0, 20.0]], None) is None


def test_make_probe_is_probeinterfaces_model():
    from intake_npx2020.compat.probe import make_probe

    locations = np.array([np1_pos(c) for c in CX_COLS])
    probe = make_probe(locations, range(374), "NP1")
    full = nt.build_neuropixels_probe("NP1000")
    assert probe.model_name == "NP1000" and probe.manufacturer == "imec"
    np.testing.assert_array_equal(probe.contact_positions, locations)    # the recording's own frame
    assert list(probe.contact_ids) == [f"e{c}" for c in CX_COLS]
    assert set(probe.contact_shapes) == {"square"} and probe.contact_shape_params[0] == {"width": 12.0}
    assert probe.annotations["ap_sample_frequency_hz"] == full.annotations["ap_sample_frequency_hz"]
    assert probe.annotations["num_channels_per_adc"] == 12
    # the contour is the model's, mirrored into the Kilosort frame: every contact lies inside it
    contour = np.asarray(probe.probe_planar_contour)
    assert contour[:, 0].min() <= locations[:, 0].min() and contour[:, 0].max() >= locations[:, 0].max()
    assert contour[:, 1].min() < 0 < locations[:, 1].min()
    generic = make_probe(locations[:4], [7, 8, 9, 10], None)
    assert list(generic.contact_ids) == ["7", "8", "9", "10"] and generic.model_name in (None, "")


def test_every_catalog_recording_gets_its_model():
    """The shipped catalog (no data bytes read): coords and attrs of all 14 recordings."""
    import intake_npx2020 as npx

    cat = npx.open_catalog()
    recordings = [n for n in cat if cat[n].describe()["metadata"].get("kind") == "recording"]
    assert len(recordings) == 14
    for name in recordings:
        src = cat[name]
        x = src.to_dask()
        meta = src.metadata
        part = {"NP1": "NP1000", "NP2": "NP2000", "NP2 4-shank": "NP2010"}[meta["probe"]]
        assert x.attrs["probe_model"] == part, name
        assert x["contact_id"].dtype.kind == "U" and len(set(x["contact_id"].values)) == x.sizes["channel"]
        assert set(np.unique(x["shank"].values)) == (set(range(4)) if "4-shank" in meta["probe"] else {0})
        assert ("inter_sample_shift" in x.coords) == (meta["probe"] == "NP1"), name
        if meta["object_status"] == "verified":
            assert x.attrs["probe_geometry"] == "as published", name
        if name.startswith("svoboda"):    # positions reconstructed from the probe type, not published
            assert x.attrs["probe_geometry"] == "reconstructed", name
    assert "Phase 3A is inferred" in cat["cortexlab-single-phase-3"].to_dask().attrs["probe_uncertain"]


def test_probe_notes():
    assert probe_notes([]) == {"probe_geometry": "as published"}
    notes = probe_notes(["sorter: guessed", "channel_positions: x = 250*shank", "probe_detail: inferred"])
    assert notes["probe_geometry"] == "reconstructed"
    assert notes["probe_uncertain"] == "channel_positions: x = 250*shank; probe_detail: inferred"
    assert probe_notes(["probe_detail: Phase 3A is inferred"])["probe_geometry"] == "as published"


@pytest.fixture
def np1_source(recording):
    from intake_npx2020.sources.drivers import RecordingSource

    obj, raw = recording
    return RecordingSource(obj, metadata={"gain_to_uV": 2.34375, "probe": "NP1"}), raw


@pytest.mark.parametrize("local", [True, False])
def test_spikeinterface_bridge_probe_and_phase_shift(np1_source, local):
    pytest.importorskip("spikeinterface.core")
    import spikeinterface.preprocessing as spre
    from spikeinterface.extractors.neuropixels_utils import get_neuropixels_sample_shifts_from_probe

    src, raw = np1_source
    rec = src.to_spikeinterface(prefer_local_binary=local)
    probe = rec.get_probe()
    assert probe.model_name == "NP1000" and list(probe.contact_ids[:3]) == ["e0", "e1", "e2"]
    shifts = rec.get_property("inter_sample_shift")
    np.testing.assert_allclose(shifts, get_neuropixels_sample_shifts_from_probe(probe))
    np.testing.assert_allclose(shifts, src.to_dask()["inter_sample_shift"].values)
    shifted = spre.phase_shift(rec)      # reads the property; would assert without it
    explicit = spre.phase_shift(rec, inter_sample_shift=shifts)
    np.testing.assert_array_equal(shifted.get_traces(start_frame=30_000, end_frame=30_100),
                                  explicit.get_traces(start_frame=30_000, end_frame=30_100))
    assert not np.array_equal(shifted.get_traces(start_frame=30_000, end_frame=30_100)[:, 2],
                              raw[30_000:30_100, CX_COLS[2]])


def test_spikeinterface_bridge_four_shanks(tmp_path):
    pytest.importorskip("spikeinterface.core")
    from helpers import make_raw, put_file

    from intake_npx2020.formats import builders
    from intake_npx2020.sources.drivers import RecordingSource

    raw = make_raw(3_000, 385, seed=3)
    uri = put_file(tmp_path / "own-store", raw.tobytes())
    k = np.arange(384) % 96
    positions = [[250.0 * (c // 96) + 32 * (kk % 2), 15.0 * (kk // 2)] for c, kk in zip(range(384), k)]
    obj = builders.bin1_object(uri, 385, 3_000, list(range(384)), positions, 30000)
    src = RecordingSource(obj, metadata={"probe": "NP2 4-shank"})
    for rec in (src.to_spikeinterface(), src.to_spikeinterface(prefer_local_binary=False)):
        assert rec.get_probe().get_shank_count() == 4 and rec.get_probe().model_name == "NP2010"
        np.testing.assert_array_equal(rec.get_channel_groups(), np.arange(384) // 96)
        assert "inter_sample_shift" not in rec.get_property_keys()
    x = src.to_dask()
    np.testing.assert_array_equal(x["shank"].values, np.arange(384) // 96)
    assert x["contact_id"].values[96] == "s1e0"
    assert json.loads(json.dumps(x.attrs))["probe_geometry"] == "as published"

