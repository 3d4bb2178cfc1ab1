"""Tests written to kill mutmut survivors in the HDF5 checks, SpikeGLX, Neuropixels and shared readers (issue 13).

See docs/mutation-testing.md. Each test asserts what a user sees for known input: the exact message naming the
dataset, file or field, the values read, and the boundaries of what is accepted.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from helpers import raises_text as _raises

from intake_npx2020.errors import InvalidObject

h5py = pytest.importorskip("h5py")


def _h5(build) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        build(f)
    return buf.getvalue()


def _read(data: bytes, path: str, size: int | None = None):
    from intake_npx2020.formats.h5 import open_h5, read_dataset

    with open_h5(data, "W") as f:
        return read_dataset(f, path, "W", len(data) if size is None else size)


def _other(tmp_path) -> str:
    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as g:
        g["d"] = np.array([7, 8, 9])
        g.create_group("grp")["3"] = np.array([7, 8, 9])
    return str(p)


def test_h5_paths_named_exactly_in_errors(tmp_path):
    def build(f):
        f["a/b/c"] = np.array([1, 2])
        f["a/n"] = np.array([3])
        f["e"] = np.array([5])
        f["a/soft"] = h5py.SoftLink("/e")
        f["a/b/soft"] = h5py.SoftLink("/a/n")
        f["a/ext"] = h5py.ExternalLink(_other(tmp_path), "grp")
        f.create_group("g/h")
    data = _h5(build)
    assert _read(data, "a/b/c").tolist() == [1, 2] and _read(data, "e").tolist() == [5]
    assert _raises(InvalidObject, _read, data, "x") == "W: the HDF5 file has no 'x'"
    assert _raises(InvalidObject, _read, data, "a/x") == "W: the HDF5 file has no 'a/x'"
    assert _raises(InvalidObject, _read, data, "a/b/x") == "W: the HDF5 file has no 'a/b/x'"
    assert _raises(InvalidObject, _read, data, "a/x/c") == "W: the HDF5 file has no 'a/x'"
    assert _raises(InvalidObject, _read, data, "a/soft") == \
        "W: 'a/soft' is a SoftLink; only objects stored in the file itself (hard links) are read"
    assert _raises(InvalidObject, _read, data, "a/b/soft") == \
        "W: 'a/b/soft' is a SoftLink; only objects stored in the file itself (hard links) are read"
    assert _raises(InvalidObject, _read, data, "a/ext/3") == \
        "W: 'a/ext' is a ExternalLink; only objects stored in the file itself (hard links) are read"
    assert _raises(InvalidObject, _read, data, "a/b") == "W: 'a/b' is a Group, not a dataset"
    assert _raises(InvalidObject, _read, data, "g/h") == "W: 'g/h' is a Group, not a dataset"


def test_h5_read_without_h5py_names_the_use(monkeypatch):
    import sys

    from intake_npx2020.errors import MissingExtra
    from intake_npx2020.formats.h5 import open_h5, read_dataset

    data = _h5(lambda f: f.__setitem__("a", np.arange(3)))
    with open_h5(data, "W") as f:
        monkeypatch.setitem(sys.modules, "h5py", None)
        msg = _raises(MissingExtra, read_dataset, f, "a", "W", len(data))
    assert msg.startswith("h5py is needed for h5_v1 sortings but is not installed ("), msg
    assert msg.endswith("); install it with: pip install 'intake_npx2020[h5]'"), msg


def test_h5_storage_refused_with_the_dataset_named(tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(np.array([1, 2, 3], "<i8").tobytes())
    data = _h5(lambda f: f.create_dataset("s/d", shape=(3,), dtype="<i8", external=[(str(secret), 0, 24)]))
    assert _raises(InvalidObject, _read, data, "s/d") == \
        "W: dataset 's/d' has external storage (data in other files); refused"
    other = _other(tmp_path)

    def virtual(f):
        layout = h5py.VirtualLayout(shape=(3,), dtype="<i8")
        layout[:] = h5py.VirtualSource(other, "d", shape=(3,))
        f.create_group("s").create_virtual_dataset("v", layout)
    assert _raises(InvalidObject, _read, _h5(virtual), "s/v") == \
        "W: dataset 's/v' is virtual (mapped onto other files); refused"

    def plugin(f):
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((2,))
        dcpl.set_filter(32015, h5py.h5z.FLAG_OPTIONAL, ())
        h5py.h5d.create(f.create_group("s").id, b"p", h5py.h5t.STD_I64LE, h5py.h5s.create_simple((2,)),
                        dcpl=dcpl).write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([1, 2], dtype="<i8"))
    assert _raises(InvalidObject, _read, _h5(plugin), "s/p") == \
        "W: dataset 's/p' uses filter 32015, not built into HDF5 (a plugin); refused"
    data = _h5(lambda f: f.__setitem__("t", np.array([b"a", b"b"])))
    assert _raises(InvalidObject, _read, data, "t") == "W: dataset 't' has dtype |S1; expected numbers"
    data = _h5(lambda f: f.__setitem__("t", np.array([True, False])))
    assert _raises(InvalidObject, _read, data, "t") == "W: dataset 't' has dtype bool; expected numbers"


def test_h5_builtin_filters_and_numeric_kinds_are_read():
    def build(f):
        f.create_dataset("z", data=np.arange(100, dtype="<i4"), chunks=(10,), compression="gzip", shuffle=True,
                         fletcher32=True)
        f.create_dataset("so", data=np.arange(10, dtype="<i4"), chunks=(5,), scaleoffset=0)
        f.create_dataset("n", data=np.arange(10, dtype="<i4"), chunks=(5,), compression=5)
        f["u"] = np.array([7], np.uint8)
        f["f"] = np.array([0.5], np.float32)
        f["c"] = np.array([1 + 2j])
    data = _h5(build)
    assert _read(data, "z").tolist() == list(range(100))
    assert _read(data, "so").tolist() == list(range(10)) and _read(data, "n").tolist() == list(range(10))
    assert _read(data, "u").tolist() == [7] and _read(data, "f").tolist() == [0.5]
    assert _raises(InvalidObject, _read, data, "c") == "W: dataset 'c' has dtype complex128; expected numbers"


def test_h5_dataset_size_bound():
    n = 1100 * 100 + (1 << 20)  # bytes a dataset may hold in a file of 100 bytes

    def build(f):
        for name, size in (("eq", n // 2), ("over", n // 2 + 1)):
            f.create_dataset(name, data=np.zeros(size, "<i2"), chunks=(1 << 16,), compression="gzip")
    data = _h5(build)
    assert _read(data, "eq", 100).size == n // 2
    assert _raises(InvalidObject, _read, data, "over", 100) == \
        f"W: dataset 'over' of shape ({n // 2 + 1},) is larger than its file can hold"
    assert _read(data, "over", 102).size == n // 2 + 1


def test_h5_corrupt_chunk_is_named():
    data = bytearray(_h5(lambda f: f.create_dataset("z", data=np.arange(1000, dtype="<i8"), chunks=(1000,),
                                                   compression="gzip")))
    with h5py.File(io.BytesIO(bytes(data)), "r") as f:
        start = f["z"].id.get_chunk_info(0).byte_offset
    data[start + 10:start + 60] = b"\xab" * 50
    assert _raises(InvalidObject, _read, bytes(data), "z") == \
        "W: cannot read dataset 'z': Can't synchronously read data (filter returned failure during read)"


def test_h5_not_an_hdf5_file():
    from intake_npx2020.formats.h5 import open_h5

    def opened(data):
        with open_h5(data, "W"):
            pass
    msg = _raises(InvalidObject, opened, b"not hdf5 at all")
    assert msg.startswith("W is not a valid HDF5 file: ") and len(msg) <= len("W is not a valid HDF5 file: ") + 200
    with open_h5(bytearray(_h5(lambda f: f.__setitem__("x", [1]))), "W") as f:
        assert f["x"][()].tolist() == [1]
    assert not f  # closed on leaving


# == SpikeGLX ==============================================================================================

def _meta_field(bin_path, key: str, value: str | None) -> None:
    meta = bin_path.with_suffix(".meta")
    lines = [line for line in meta.read_text().splitlines() if line.split("=", 1)[0].lstrip("~") != key]
    meta.write_text("\n".join(lines + ([] if value is None else [f"{key}={value}"])) + "\n")


def test_spikeglx_recording_as_read(tmp_path):
    pytest.importorskip("probeinterface")
    from authoring_data import write_spikeglx

    from intake_npx2020.formats.spikeglx import read_spikeglx

    bin_path, raw = write_spikeglx(tmp_path / "s", frames=10)
    meta = bin_path.with_suffix(".meta")
    for where in (bin_path, meta, str(bin_path)):
        r = read_spikeglx(where)
        assert (r.path, r.raw_num_channels, r.num_frames, r.samplerate) == (bin_path, 385, 10, 30000)
        assert type(r.samplerate) is int and r.channel_ids == r.columns == list(range(384))
        assert r.positions[:3] == [[0.0, 0.0], [32.0, 0.0], [0.0, 15.0]] and len(r.positions) == 384
        assert r.gain_to_uV == 0.5 / 8192 / 80 * 1e6 and (r.source_format, r.sync_channel) == ("spikeglx", 384)
        assert (r.probe, r.probe_detail) == ("NP2", "PRB2_1_2_0640_0: Neuropixels 2.0 phase 1 single shank")
        assert r.expect_sha1 == hashlib.sha1(raw.tobytes()).hexdigest() and r.sha1_field == f"{meta}: fileSHA1"
        assert r.side_files == (meta,)
        assert r.extra == {"probe_serial": "19011116954", "recorded_at": "2019-09-27T16:04:32",
                           "acquisition": "SpikeGLX 20190911"}
    bin_path, _ = write_spikeglx(tmp_path / "t", frames=10, saved=[0, 5, 9])
    r = read_spikeglx(bin_path)
    assert (r.raw_num_channels, r.channel_ids, r.columns, r.sync_channel) == (4, [0, 5, 9], [0, 1, 2], 3)
    assert r.positions == [[0.0, 0.0], [32.0, 30.0], [32.0, 60.0]]
    r = read_spikeglx(write_spikeglx(tmp_path / "u", frames=10, saved=[5])[0])
    assert (r.raw_num_channels, r.channel_ids, r.sync_channel, r.gain_to_uV) == (2, [5], 1, 0.5 / 8192 / 80 * 1e6)


def test_spikeglx_optional_fields(tmp_path):
    pytest.importorskip("probeinterface")
    from authoring_data import write_spikeglx

    from intake_npx2020.formats.spikeglx import read_spikeglx

    bin_path, _ = write_spikeglx(tmp_path / "s", frames=10, fileSHA1=" ", imSampRate="30000.0")
    for key in ("appVersion", "fileCreateTime", "imDatPrb_sn"):
        _meta_field(bin_path, key, None)
    r = read_spikeglx(bin_path)
    assert r.expect_sha1 is None and r.extra == {"acquisition": "SpikeGLX"} and r.samplerate == 30000.0
    assert type(r.samplerate) is float
    _meta_field(bin_path, "imProbeSN", "641251174")
    assert read_spikeglx(bin_path).extra == {"probe_serial": "641251174", "acquisition": "SpikeGLX"}
    for key in ("typeThis", "fileSHA1"):
        _meta_field(bin_path, key, None)
    r = read_spikeglx(bin_path)
    assert (r.num_frames, r.expect_sha1) == (10, None)


def test_spikeglx_meta_refused_with_the_field_named(tmp_path):
    pytest.importorskip("probeinterface")
    from authoring_data import write_spikeglx

    from intake_npx2020.errors import InvalidInputFile
    from intake_npx2020.formats.spikeglx import read_spikeglx

    bin_path, raw = write_spikeglx(tmp_path / "s", frames=10)
    meta = bin_path.with_suffix(".meta")
    cases = [
        ("fileSizeBytes", str(raw.nbytes + 2),
         (f"{meta}: fileSizeBytes = {raw.nbytes + 2} but {bin_path} has {raw.nbytes} bytes (truncated or not the "
          "file this meta describes)")),
        ("fileSizeBytes", "7700.0", f"{meta}: fileSizeBytes = '7700.0' is not made of whole numbers"),
        ("nSavedChans", "384", f"{meta}: snsApLfSy = '384,0,1' does not add up to nSavedChans = 384"),
        ("snsApLfSy", "384,1", f"{meta}: snsApLfSy = '384,1' does not add up to nSavedChans = 385"),
        ("snsApLfSy", "384,0,x", f"{meta}: snsApLfSy = '384,0,x' is not made of whole numbers"),
        ("snsSaveChanSubset", "0:383", f"{meta}: snsSaveChanSubset = '0:383' lists 384 channels but nSavedChans = 385"),
        ("imSampRate", "-30000", f"{meta}: imSampRate must be a finite number above zero, got '-30000'"),
        ("imSampRate", None, f"{meta}: field imSampRate is missing"),
        ("imAiRangeMax", "x", f"{meta}: imAiRangeMax must be a number, got 'x'"),
        ("imAiRangeMax", None, f"{meta}: field imAiRangeMax is missing"),
        ("nSavedChans", "3 85", f"{meta}: nSavedChans = '3 85' is not made of whole numbers"),
    ]
    for key, value, message in cases:
        write_spikeglx(tmp_path / "s", frames=10)
        _meta_field(bin_path, key, value)
        assert _raises(InvalidInputFile, read_spikeglx, bin_path) == message, (key, value)
    write_spikeglx(tmp_path / "s", frames=10)
    with open(bin_path, "ab") as f:
        f.write(bytes(2))
    _meta_field(bin_path, "fileSizeBytes", str(raw.nbytes + 2))
    assert _raises(InvalidInputFile, read_spikeglx, bin_path) == \
        f"{bin_path}: {raw.nbytes + 2} bytes is not a whole number of frames of 385 int16 channels (nSavedChans = " \
        f"385 in {meta}); the channel count is wrong or the file is truncated"
    write_spikeglx(tmp_path / "s", frames=10)
    bin_path.with_suffix(".bin").unlink()
    assert _raises(InvalidInputFile, read_spikeglx, meta) == \
        f"SpikeGLX data file {bin_path}: no such file (a .bin needs its .meta beside it)"
    write_spikeglx(tmp_path / "s", frames=10)
    meta.unlink()
    assert _raises(InvalidInputFile, read_spikeglx, bin_path) == \
        f"SpikeGLX metadata file {meta}: no such file (a .bin needs its .meta beside it)"


def test_spikeglx_saved_channels_rules(tmp_path):
    pytest.importorskip("probeinterface")
    from intake_npx2020.errors import InvalidInputFile
    from intake_npx2020.formats.spikeglx import saved_channels

    meta = tmp_path / "r.ap.meta"
    meta.write_text("nSavedChans=3\nsnsApLfSy=2,0,1\nsnsSaveChanSubset=4,7,384\n")
    assert saved_channels({"nSavedChans": "3", "snsApLfSy": "2,0,1", "snsSaveChanSubset": "4,7,384"}, meta) == \
        ([4, 7], 2, 3)
    assert saved_channels({"nSavedChans": " 4 ", "snsApLfSy": "2,2,0", "snsSaveChanSubset": "all"}, meta) == \
        ([0, 1], None, 4)
    assert saved_channels({"nSavedChans": "5", "snsApLfSy": "2,2,1", "snsSaveChanSubset": "all"}, meta) == \
        ([0, 1], 4, 5)
    assert _raises(InvalidInputFile, saved_channels, {"nSavedChans": "3", "snsApLfSy": "2,0,1",
                                                      "snsSaveChanSubset": ""}, meta) == \
        f"{meta}: field snsSaveChanSubset is missing"
    meta.write_text("nSavedChans=3\nsnsApLfSy=2,0,1\nsnsSaveChanSubset=a:b\n")
    assert _raises(InvalidInputFile, saved_channels, {"nSavedChans": "3", "snsApLfSy": "2,0,1",
                                                      "snsSaveChanSubset": "a:b"}, meta) == \
        f"{meta}: snsSaveChanSubset = 'a:b' cannot be read"


# == Neuropixels probe facts ===============================================================================

@pytest.mark.parametrize("uncertain, want", [
    (None, {"probe_geometry": "as published"}),
    ([], {"probe_geometry": "as published"}),
    (["samplerate: guessed from the file size"], {"probe_geometry": "as published"}),
    (["probe_detail: part number unknown"],
     {"probe_geometry": "as published", "probe_uncertain": "probe_detail: part number unknown"}),
    (["channel_ids"], {"probe_geometry": "reconstructed", "probe_uncertain": "channel_ids"}),
    (["channel_map: from the sorter's params"],
     {"probe_geometry": "reconstructed", "probe_uncertain": "channel_map: from the sorter's params"}),
    ([" channel_positions : Kilosort's map"],
     {"probe_geometry": "reconstructed", "probe_uncertain": " channel_positions : Kilosort's map"}),
    (["samplerate/geometry: a/b guessed", "probe_detail: unknown", "num_frames: x"],
     {"probe_geometry": "reconstructed", "probe_uncertain": "samplerate/geometry: a/b guessed; probe_detail: unknown"}),
    (["probe_detail/channel_map: both"], {"probe_geometry": "reconstructed",
                                           "probe_uncertain": "probe_detail/channel_map: both"}),
    (["probe_details: not a field", "channel: neither", "x: channel_ids"], {"probe_geometry": "as published"}),
], ids=["none", "empty", "other", "detail", "ids", "map", "positions-spaced", "mixed", "slash", "near-names"])
def test_probe_notes(uncertain, want):
    from intake_npx2020.formats.neuropixels import probe_notes

    assert probe_notes(uncertain) == want


# == gather: long ranges in parts ==========================================================================

@pytest.mark.parametrize("cols", [[0, 1, 2, 3, 7, 8], [9, 2, 5], list(range(10))], ids=["runs", "take", "all"])
def test_gather_of_a_long_range_in_parts_gives_the_same_frames(tmp_path, monkeypatch, cols):
    from helpers import make_raw, put_file

    from intake_npx2020.formats import gather
    from intake_npx2020.store import get_store

    raw = make_raw(3000, 10, seed=5)
    uri = put_file(tmp_path / "own-store", raw.tobytes())
    monkeypatch.setattr(gather, "SPLIT", 4096)  # ranges of 8 KiB and more are cut in parts (96 MiB in use)
    monkeypatch.setattr(gather.os, "cpu_count", lambda: 4)
    cols = np.array(cols)
    for a, b in ((0, 3000), (7, 2999), (100, 1000)):
        out = np.empty((b - a, len(cols)), np.int16)
        gather.gather_columns(get_store(), uri, a * 20, 10, cols, out)
        np.testing.assert_array_equal(out, raw[a:b][:, cols])


# == Neuropixels electrodes ===============================================================================

def test_np1_electrodes_adc_slots_and_frames():
    from intake_npx2020.formats.neuropixels import channel_geometry, find_frame

    g = channel_geometry([[16, 0], [48, 0], [0, 20], [32, 20], [16, 40], [32, 460]], "NP1")
    assert g["electrode"].tolist() == [0, 1, 2, 3, 4, 47] and g["shank"].tolist() == [0] * 6
    assert g["shank"].dtype == np.int64 and g["electrode"].dtype == np.int64  # documented as int
    assert g["contact_id"].tolist() == ["e0", "e1", "e2", "e3", "e4", "e47"]
    assert g["adc_group"].tolist() == [0, 1, 0, 1, 0, 3] and g["adc_sample_order"].tolist() == [0, 0, 1, 1, 2, 11]
    assert g["inter_sample_shift"].tolist() == [0.0, 0.0, 1 / 13, 1 / 13, 2 / 13, 11 / 13]
    g = channel_geometry([[16, 20 * 192], [48, 20 * 479 - 20], [32, 20 * 479]], "NP1")  # electrodes 384, 957, 959
    assert g["electrode"].tolist() == [384, 957, 959] and g["adc_group"].tolist() == [0, 15, 15]
    g = channel_geometry([[16, 240], [48, 240], [32, 460]], "NP1")  # electrodes 24, 25, 47: ADCs 2, 3, 3
    assert g["adc_group"].tolist() == [2, 3, 3] and g["adc_sample_order"].tolist() == [0, 0, 11]
    assert channel_geometry([[16, 20 * 480]], "NP1") is None  # electrode 960: beyond the shank
    assert find_frame([[16, 0], [0, 20]], "NP1")[0] == (1.0, 0.0, 0.0)
    frame, shank, electrode = find_frame([[43, 20], [11, 20], [59, 40], [27, 40]], "NP1")  # Kilosort's map
    assert frame == (-1.0, 59.0, 20.0) and electrode.tolist() == [0, 1, 2, 3] and shank.tolist() == [0] * 4
    frame, _, electrode = find_frame([[27, 0], [59, 0], [11, 20]], "NP1")  # SpikeGLX's: x from the shank's edge
    assert frame == (1.0, 11.0, 0.0) and electrode.tolist() == [0, 1, 2]


def test_electrode_positions_tolerance_and_bounds():
    from intake_npx2020.formats.neuropixels import (
        channel_geometry,
        find_frame,
        model_for,
    )

    assert channel_geometry([[16.49, 0.49]], "NP1")["electrode"].tolist() == [0]
    assert channel_geometry([[15.51, 39.51]], "NP1")["electrode"].tolist() == [4]
    for bad in ([16.5, 0], [16, 0.5], [15.5, 0], [16, -0.5], [80, 0], [-16, 20], [16, -40], [0, 0]):
        assert channel_geometry([bad], "NP1") is None, bad
    assert channel_geometry([[16, 0], [16, 0]], "NP1") is None
    assert find_frame([], "NP1") is None and find_frame([[16, 0]], "NP3") is None and find_frame([[16, 0]], None) \
        is None
    assert model_for(1) is None and model_for("NP1").num_shanks == 1 and model_for("np1") is None
    assert model_for(["NP1"]) is None and channel_geometry([[16, 0]], ["NP1"]) is None


def test_np2_single_and_four_shanks():
    from intake_npx2020.formats.neuropixels import channel_geometry, find_frame

    g = channel_geometry([[0, 0], [32, 0], [0, 15], [32, 15 * 639]], "NP2")
    assert g["electrode"].tolist() == [0, 1, 2, 1279] and g["contact_id"].tolist() == ["e0", "e1", "e2", "e1279"]
    assert sorted(g) == ["contact_id", "electrode", "shank"]
    assert channel_geometry([[0, 15 * 640]], "NP2") is None
    assert find_frame([[27, 0], [59, 15]], "NP2")[0] == (1.0, 27.0, 0.0)
    g = channel_geometry([[0, 0], [282, 15], [750, 15 * 639], [782, 0]], "NP2 4-shank")
    assert g["shank"].tolist() == [0, 1, 3, 3] and g["electrode"].tolist() == [0, 3, 1278, 1]
    assert g["contact_id"].tolist() == ["s0e0", "s1e3", "s3e1278", "s3e1"]
    assert channel_geometry([[1000, 0]], "NP2 4-shank") is None and channel_geometry([[-250, 0]], "NP2 4-shank") \
        is None
    assert channel_geometry([[250, 0]], "NP2") is None


def test_spikeglx_max_int_defaults():
    """512 on NP1.0-type probes (the default type 0, or phase 3A's imProbeOpt), else 2 ** (ADC bits - 1), 14 bits
    when probeinterface does not say."""
    probeinterface = pytest.importorskip("probeinterface")
    from pathlib import Path

    from intake_npx2020.formats.spikeglx import gains_to_uV

    meta_path = Path("x.ap.meta")
    probe = probeinterface.generate_linear_probe(num_elec=2)
    probe.annotate(ap_gain=100)
    assert gains_to_uV({"imAiRangeMax": "0.5"}, probe, meta_path) == [0.5 / 512 / 100 * 1e6] * 2
    assert gains_to_uV({"imAiRangeMax": "0.5", "imDatPrb_type": "24"}, probe, meta_path) == \
        [0.5 / 8192 / 100 * 1e6] * 2
    assert gains_to_uV({"imAiRangeMax": "0.5", "imDatPrb_type": "24", "imProbeOpt": "0"}, probe, meta_path) == \
        [0.5 / 512 / 100 * 1e6] * 2
    probe.annotate(adc_bit_depth=12)
    assert gains_to_uV({"imAiRangeMax": "0.5", "imDatPrb_type": "1100"}, probe, meta_path) == \
        [0.5 / 512 / 100 * 1e6] * 2
    assert gains_to_uV({"imAiRangeMax": "0.5", "imDatPrb_type": "2013"}, probe, meta_path) == \
        [0.5 / 2048 / 100 * 1e6] * 2


def test_spikeglx_probe_that_probeinterface_cannot_read_or_that_disagrees(tmp_path, monkeypatch):
    probeinterface = pytest.importorskip("probeinterface")
    from authoring_data import write_spikeglx

    from intake_npx2020.errors import InvalidInputFile
    from intake_npx2020.formats.spikeglx import read_spikeglx

    bin_path, _ = write_spikeglx(tmp_path / "s", frames=10)
    meta = bin_path.with_suffix(".meta")

    def unreadable(path):
        raise KeyError("imroTbl")
    monkeypatch.setattr(probeinterface, "read_spikeglx", unreadable)
    assert _raises(InvalidInputFile, read_spikeglx, bin_path) == \
        f"{meta}: probeinterface cannot read the probe (imDatPrb_pn, imroTbl): KeyError: 'imroTbl'"
    monkeypatch.setattr(probeinterface, "read_spikeglx", lambda path: probeinterface.generate_linear_probe(3))
    assert _raises(InvalidInputFile, read_spikeglx, bin_path) == \
        f"{meta}: the probe has 3 saved contacts but snsApLfSy says 384 AP channels"


def test_spikeglx_geometry_without_probeinterface_names_the_use(tmp_path, monkeypatch):
    import sys

    from intake_npx2020.errors import MissingExtra
    from intake_npx2020.formats.spikeglx import _probe

    monkeypatch.setitem(sys.modules, "probeinterface", None)
    msg = _raises(MissingExtra, _probe, tmp_path / "x.ap.meta", 384)
    assert msg.startswith("probeinterface is needed for reading SpikeGLX geometry but is not installed ("), msg


def test_spikeglx_ap_gains_per_contact_or_per_probe():
    probeinterface = pytest.importorskip("probeinterface")
    from pathlib import Path

    from intake_npx2020.errors import InvalidInputFile
    from intake_npx2020.formats.spikeglx import gains_to_uV

    meta_path, meta = Path("x.ap.meta"), {"imAiRangeMax": "0.6", "imMaxInt": "500"}
    probe = probeinterface.generate_linear_probe(num_elec=3)
    probe.model_name = "custom-3"
    assert _raises(InvalidInputFile, gains_to_uV, meta, probe, meta_path) == \
        "x.ap.meta: no AP gain in imroTbl or for probe custom-3"
    probe.annotate(ap_gain=0.5)
    assert gains_to_uV(meta, probe, meta_path) == [0.6 / 500 / 0.5 * 1e6] * 3
    probe.annotate(ap_gain=1)
    assert gains_to_uV(meta, probe, meta_path) == [0.6 / 500 * 1e6] * 3
    probe.annotate_contacts(ap_gains=np.array([500, 250, 1000]))
    assert gains_to_uV(meta, probe, meta_path) == [2.4, 4.8, 1.2]
    probe.annotate_contacts(ap_gains=np.array([500, 0, 1000]))
    assert _raises(InvalidInputFile, gains_to_uV, meta, probe, meta_path) == \
        "x.ap.meta: imroTbl holds an AP gain of 0.0"
    probe.annotate(ap_gain=0)
    probe.contact_annotations.pop("ap_gains")
    assert _raises(InvalidInputFile, gains_to_uV, meta, probe, meta_path) == \
        "x.ap.meta: imroTbl holds an AP gain of 0.0"


@pytest.mark.parametrize("cols", [[0, 1, 2, 3, 7, 8], [9, 2, 5], list(range(10)), [4]], ids=["runs", "take", "all", "one"])
def test_gather_in_one_part_across_blocks(tmp_path, monkeypatch, cols):
    from helpers import make_raw, put_file

    from intake_npx2020.formats import gather
    from intake_npx2020.store import get_store

    raw = make_raw(3000, 10, seed=6)
    whole = put_file(tmp_path / "own-store", raw.tobytes())
    chunked = put_file(tmp_path / "own-store", raw.tobytes() + b"\0" * 20, bounds=[0, 7000, 30000, 60020],
                       whole=False, chunks=True)  # chunk blobs only: blocks are read from them
    cols = np.array(cols)
    for block in (gather.BLOCK, 300):  # 300 bytes: 15 frames a block, the last block short
        monkeypatch.setattr(gather, "BLOCK", block)
        for uri in (whole, chunked):
            for a, b in ((0, 3000), (7, 2999), (100, 101), (5, 5)):
                out = np.full((b - a, len(cols)), -1, np.int16)
                gather.gather_columns(get_store(), uri, a * 20, 10, cols, out)
                np.testing.assert_array_equal(out, raw[a:b][:, cols])


def test_column_runs_exact():
    from intake_npx2020.formats.gather import column_runs

    assert column_runs([0, 1, 2, 5, 6, 4]) == [(0, 0, 3), (3, 5, 2), (5, 4, 1)]
    assert column_runs(np.array([3, 5, 7])) == [(0, 3, 1), (1, 5, 1), (2, 7, 1)]
    assert column_runs([9]) == [(0, 9, 1)] and column_runs(np.arange(4, 10)) == [(0, 4, 6)]
    assert column_runs([2, 2, 3]) == [(0, 2, 1), (1, 2, 2)]
