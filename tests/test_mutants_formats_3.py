"""Tests written to kill mutmut survivors in the Open Ephys reader (issue 13; docs/mutation-testing.md).

Each test reads a small Open Ephys 0.6 binary recording written by ``authoring_data.write_openephys`` (one
Neuropixels 1.0 AP stream, ``settings.xml`` with its ``NP_PROBE``) after one edit, and asserts what a user sees:
the values read from ``structure.oebin`` and ``settings.xml``, or the exact message naming the file and field.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import raises_text as _raises
from authoring_data import OE_STREAM, write_openephys

from intake_npx2020.errors import InvalidInputFile

probeinterface = pytest.importorskip("probeinterface")


def _edit(rec_dir: Path, fn) -> None:
    oebin = rec_dir / "structure.oebin"
    info = json.loads(oebin.read_text())
    fn(info)
    oebin.write_text(json.dumps(info))


def _geom(tmp_path, n: int) -> Path:
    g = tmp_path / "geom.csv"
    g.write_text("".join(f"0,{20 * i}\n" for i in range(n)))
    return g


def test_openephys_recording_as_read(tmp_path):
    from intake_npx2020.formats.openephys import read_openephys

    rec_dir, _ = write_openephys(tmp_path / "oe", frames=20)
    oebin, settings = rec_dir / "structure.oebin", rec_dir.parent.parent / "settings.xml"
    dat = rec_dir / "continuous" / OE_STREAM / "continuous.dat"
    probe = probeinterface.read_openephys_neuropixels(settings, stream_name=OE_STREAM)
    for where in (rec_dir, dat, dat.parent, str(rec_dir)):
        r = read_openephys(where)
        assert (r.path, r.raw_num_channels, r.num_frames, r.samplerate) == (dat, 384, 20, 30000.0)
        assert r.channel_ids == r.columns == list(range(384))
        assert r.positions == probe.contact_positions.tolist()
        assert (r.gain_to_uV, r.source_format, r.probe, r.probe_detail) == \
            (0.1949999928474426, "openephys", "NP1", "PRB_1_4_0480_1: Neuropixels 1.0 probe")
        assert r.side_files == (oebin, settings) and r.sync_channel is None and r.expect_sha1 is None
        assert r.extra == {"stream": OE_STREAM, "probe_serial": "18005107562", "acquisition": "Open Ephys 0.6.4"}


def test_openephys_geometry_given_by_hand(tmp_path):
    from intake_npx2020.formats.openephys import read_openephys

    rec_dir, _ = write_openephys(tmp_path / "oe", frames=20, num_channels=4, settings=False)
    _edit(rec_dir, lambda i: i.pop("GUI version"))
    geom = _geom(tmp_path, 3)
    r = read_openephys(rec_dir, geometry=geom)
    assert r.channel_ids == r.columns == [0, 1, 2] and r.positions == [[0.0, 0.0], [0.0, 20.0], [0.0, 40.0]]
    assert r.side_files == (rec_dir / "structure.oebin", geom) and (r.probe, r.probe_detail) == (None, None)
    assert r.extra == {"stream": OE_STREAM, "acquisition": "Open Ephys"}
    assert read_openephys(rec_dir, geometry=str(geom)).side_files == (rec_dir / "structure.oebin", geom)


@pytest.mark.parametrize("volts, want", [
    ([0.5, 0.5, 0.5, 0.25], 0.5),
    ([0.5, 0.25, 0.5, 0.5], [0.5, 0.25, 0.5]),
    ([1, 1, 1, 1], 1.0),
], ids=["unused-differs", "used-differ", "ints"])
def test_openephys_gain_of_the_channels_used(tmp_path, volts, want):
    from intake_npx2020.formats.openephys import read_openephys

    rec_dir, _ = write_openephys(tmp_path / "oe", frames=20, num_channels=4, settings=False)

    def set_volts(info):
        for c, v in zip(info["continuous"][0]["channels"], volts):
            c["bit_volts"] = v
    _edit(rec_dir, set_volts)
    gain = read_openephys(rec_dir, geometry=_geom(tmp_path, 3)).gain_to_uV
    assert gain == want and type(gain) is type(want)


def test_openephys_gain_units_and_missing_channels(tmp_path):
    from intake_npx2020.formats.openephys import read_openephys

    rec_dir, _ = write_openephys(tmp_path / "oe", frames=20, num_channels=4, settings=False)
    geom = _geom(tmp_path, 4)

    def units(*u):
        def edit(info):
            for c, x in zip(info["continuous"][0]["channels"], u):
                c["units"] = x
        return edit
    _edit(rec_dir, units("UV", "µV", "μV", "uv"))
    assert read_openephys(rec_dir, geometry=geom).gain_to_uV == 0.1949999928474426
    _edit(rec_dir, units("uV", "uV", "uV", "V"))
    assert read_openephys(rec_dir, geometry=geom).gain_to_uV is None
    _edit(rec_dir, units("uV", "uV", "uV", "uV"))
    _edit(rec_dir, lambda i: i["continuous"][0]["channels"].pop())
    assert read_openephys(rec_dir, geometry=geom).gain_to_uV is None
    _edit(rec_dir, lambda i: i["continuous"][0].pop("channels"))
    assert read_openephys(rec_dir, geometry=geom).gain_to_uV is None
    _edit(rec_dir, lambda i: i["continuous"][0].update(channels=[{"bit_volts": 0.5}, {"bit_volts": 0.5},
                                                                 {"bit_volts": "x"}, {"bit_volts": 0.5}]))
    assert _raises(InvalidInputFile, read_openephys, rec_dir, geometry=geom) == \
        f"{rec_dir / 'structure.oebin'}: continuous channels[2].bit_volts must be a number, got 'x'"


def test_openephys_stream_fields_refused_with_the_reason(tmp_path):
    from intake_npx2020.formats.openephys import read_openephys

    rec_dir, _ = write_openephys(tmp_path / "oe", frames=20, num_channels=4, settings=False)
    oebin, geom = rec_dir / "structure.oebin", _geom(tmp_path, 4)
    dat = rec_dir / "continuous" / OE_STREAM / "continuous.dat"
    _edit(rec_dir, lambda i: i["continuous"][0].update(num_channels=True))
    assert _raises(InvalidInputFile, read_openephys, rec_dir, geometry=geom) == \
        f"{oebin}: stream {OE_STREAM!r} field num_channels = True is not a whole number"
    _edit(rec_dir, lambda i: i["continuous"][0].update(num_channels=3))
    assert _raises(InvalidInputFile, read_openephys, rec_dir, geometry=geom) == \
        f"{dat}: 160 bytes is not a whole number of frames of 3 int16 channels (num_channels = 3 in {oebin}); " \
        "the channel count is wrong or the file is truncated"
    _edit(rec_dir, lambda i: i["continuous"][0].update(num_channels=4, sample_rate=0))
    assert _raises(InvalidInputFile, read_openephys, rec_dir, geometry=geom) == \
        f"{oebin}: stream {OE_STREAM!r} sample_rate must be a finite number above zero, got '0'"
    _edit(rec_dir, lambda i: i["continuous"][0].update(sample_rate=25000))
    rate = read_openephys(rec_dir, geometry=geom).samplerate
    assert rate == 25000 and type(rate) is int


def test_openephys_sample_numbers_and_timestamps(tmp_path):
    from intake_npx2020.formats.openephys import read_openephys

    rec_dir, _ = write_openephys(tmp_path / "oe", frames=20, num_channels=4, settings=False)
    geom = _geom(tmp_path, 4)
    stream = rec_dir / "continuous" / OE_STREAM
    dat, numbers, stamps = stream / "continuous.dat", stream / "sample_numbers.npy", stream / "timestamps.npy"
    np.save(stamps, np.arange(7.0))
    assert read_openephys(rec_dir, geometry=geom).num_frames == 20  # sample_numbers.npy is the one checked
    np.save(numbers, np.arange(21))
    assert _raises(InvalidInputFile, read_openephys, rec_dir, geometry=geom) == \
        f"{numbers}: 21 entries but {dat} has 20 frames"
    numbers.write_bytes(b"not an npy file")
    assert _raises(InvalidInputFile, read_openephys, rec_dir, geometry=geom) == f"{numbers}: not a readable .npy array"
    numbers.unlink()
    assert _raises(InvalidInputFile, read_openephys, rec_dir, geometry=geom) == \
        f"{stamps}: 7 entries but {dat} has 20 frames"
    np.save(stamps, np.arange(20.0))
    assert read_openephys(rec_dir, geometry=geom).num_frames == 20
    np.save(stamps, np.float64(3.0))
    assert _raises(InvalidInputFile, read_openephys, rec_dir, geometry=geom) == f"{stamps}: not a readable .npy array"


def _two_streams(info):
    ap = info["continuous"][0]
    lfp = dict(ap, folder_name="Neuropix-PXI-100.ProbeA-LFP/", stream_name="ProbeA-LFP", sample_rate=2500.0)
    info["continuous"].append(lfp)


def test_openephys_stream_choice(tmp_path):
    from intake_npx2020.formats.openephys import find_stream

    rec_dir, _ = write_openephys(tmp_path / "oe", frames=20, num_channels=4, settings=False)
    oebin = rec_dir / "structure.oebin"
    _edit(rec_dir, _two_streams)
    names = [OE_STREAM, "Neuropix-PXI-100.ProbeA-LFP"]
    assert _raises(InvalidInputFile, find_stream, rec_dir) == \
        f"{oebin}: continuous streams {names}; choose one with --stream"
    assert _raises(InvalidInputFile, find_stream, rec_dir, "Neuropix") == \
        f"{oebin}: continuous streams {names}; choose one with --stream"
    assert _raises(InvalidInputFile, find_stream, rec_dir, "ProbeB") == \
        f"{oebin}: no continuous stream 'ProbeB' (folder_name); streams: {names}"
    lfp_dat = rec_dir / "continuous" / names[1] / "continuous.dat"
    assert _raises(InvalidInputFile, find_stream, rec_dir, "LFP") == \
        f"{oebin}: stream {names[1]!r} has no file {lfp_dat}"
    ap_dat = rec_dir / "continuous" / OE_STREAM / "continuous.dat"
    dat, got_oebin, entry = find_stream(rec_dir, "AP")
    assert (dat, got_oebin, entry["stream_name"]) == (ap_dat, oebin, "ProbeA-AP")
    assert find_stream(rec_dir, OE_STREAM)[0] == ap_dat
    lfp_dat.parent.mkdir()
    lfp_dat.write_bytes(bytes(16))
    dat, _, entry = find_stream(lfp_dat)
    assert (dat, entry["stream_name"]) == (lfp_dat, "ProbeA-LFP")
    dat, _, entry = find_stream(lfp_dat.parent, "AP")  # the folder names the stream: --stream is not used
    assert (dat, entry["stream_name"]) == (lfp_dat, "ProbeA-LFP")
    assert find_stream(ap_dat.parent, "LFP")[0] == ap_dat


def test_openephys_structure_file_refused_with_the_reason(tmp_path):
    from intake_npx2020.formats.openephys import find_stream, read_openephys

    rec_dir, _ = write_openephys(tmp_path / "oe", frames=20, num_channels=4, settings=False)
    oebin = rec_dir / "structure.oebin"
    assert _raises(InvalidInputFile, find_stream, tmp_path) == \
        f"{tmp_path}: no structure.oebin here or two levels above continuous.dat; give the recording folder of an " \
        "Open Ephys binary recording, or its continuous.dat"
    stray = tmp_path / "a" / "b"
    stray.mkdir(parents=True)
    (stray / "continuous.dat").write_bytes(bytes(8))
    assert _raises(InvalidInputFile, find_stream, stray / "continuous.dat").startswith(f"{stray}: no structure.oebin")
    good = oebin.read_text()
    oebin.write_text("{not json")
    msg = _raises(InvalidInputFile, read_openephys, rec_dir, geometry=_geom(tmp_path, 4))
    assert msg.startswith(f"{oebin}: not a JSON structure file: Expecting property name"), msg
    for bad in ([], {"continuous": []}, {"continuous": {"a": 1}}, {"events": []}):
        oebin.write_text(json.dumps(bad))
        assert _raises(InvalidInputFile, find_stream, rec_dir) == \
            f"{oebin}: field continuous is missing or empty (no continuous streams)", bad
    oebin.write_text(good)
    assert find_stream(rec_dir)[1] == oebin


def test_openephys_probe_of_settings_refused_with_the_reason(tmp_path, monkeypatch):
    from intake_npx2020.formats.openephys import read_openephys

    rec_dir, _ = write_openephys(tmp_path / "oe", frames=20, num_channels=383)
    oebin, settings = rec_dir / "structure.oebin", rec_dir.parent.parent / "settings.xml"
    assert _raises(InvalidInputFile, read_openephys, rec_dir) == \
        f"{settings}: the probe has 384 contacts but {oebin} says num_channels = 383"

    def broken(*a, **kw):
        raise RuntimeError("no probe here")
    monkeypatch.setattr(probeinterface, "read_openephys_neuropixels", broken)
    assert _raises(InvalidInputFile, read_openephys, rec_dir) == \
        f"{settings}: probeinterface cannot read the probe of stream {OE_STREAM!r} (NP_PROBE): RuntimeError: no probe here"
    settings.write_text(settings.read_text().replace("NP_PROBE", "OTHER_PROBE"))
    assert _raises(InvalidInputFile, read_openephys, rec_dir) == \
        f"{settings}: no Neuropixels probe in settings (NP_PROBE) to give the geometry of stream {OE_STREAM!r}; " \
        "pass --geometry FILE"


def test_openephys_one_channel_stream(tmp_path):
    from intake_npx2020.formats.openephys import read_openephys

    rec_dir, _ = write_openephys(tmp_path / "oe", frames=20, num_channels=1, settings=False)
    r = read_openephys(rec_dir, geometry=_geom(tmp_path, 1))
    assert (r.raw_num_channels, r.num_frames, r.channel_ids, r.gain_to_uV) == (1, 20, [0], 0.1949999928474426)


def _second_probe(settings: Path) -> None:
    """settings.xml with a second Neuropixels probe (ProbeB, serial 22222222222) after ProbeA."""
    x = settings.read_text()
    start, end = x.index("<NP_PROBE"), x.index("</NP_PROBE>") + len("</NP_PROBE>")
    probe_b = x[start:end].replace('probe_serial_number="18005107562"', 'probe_serial_number="22222222222"')
    x = x[:end] + "\n" + probe_b.replace('port="1"', 'port="2"') + x[end:]
    lfp = '<STREAM name="ProbeA-LFP" sample_rate="2500.0" channel_count="384"/>'
    x = x.replace(lfp, lfp + '<STREAM name="ProbeB-AP" sample_rate="30000.0" channel_count="384"/>'
                  '<STREAM name="ProbeB-LFP" sample_rate="2500.0" channel_count="384"/>')
    settings.write_text(x)


def test_openephys_probe_of_the_stream_among_two(tmp_path):
    from intake_npx2020.formats.openephys import read_openephys

    rec_dir, _ = write_openephys(tmp_path / "oe", frames=20)
    _second_probe(rec_dir.parent.parent / "settings.xml")
    assert read_openephys(rec_dir).extra["probe_serial"] == "18005107562"
    b = "Neuropix-PXI-100.ProbeB-AP"
    (rec_dir / "continuous" / OE_STREAM).rename(rec_dir / "continuous" / b)
    _edit(rec_dir, lambda i: i["continuous"][0].update(folder_name=b + "/"))
    r = read_openephys(rec_dir)
    assert r.extra == {"stream": b, "probe_serial": "22222222222", "acquisition": "Open Ephys 0.6.4"}


def test_openephys_stream_chosen_by_name(tmp_path):
    from intake_npx2020.formats.openephys import read_openephys

    rec_dir, _ = write_openephys(tmp_path / "oe", frames=20, num_channels=4, settings=False)
    geom = _geom(tmp_path, 4)
    aux = "Acquisition_Board-100.AUX"
    (rec_dir / "continuous" / OE_STREAM).rename(rec_dir / "continuous" / aux)
    _edit(rec_dir, lambda i: i["continuous"][0].update(folder_name=aux + "/"))
    _edit(rec_dir, _two_streams)
    lfp = rec_dir / "continuous" / "Neuropix-PXI-100.ProbeA-LFP" / "continuous.dat"
    lfp.parent.mkdir()
    lfp.write_bytes(bytes(4 * 2 * 5))
    r = read_openephys(rec_dir, stream="AUX", geometry=geom)
    assert (r.path.parent.name, r.num_frames, r.extra["stream"]) == (aux, 20, aux)
    r = read_openephys(rec_dir, stream="LFP", geometry=geom)
    assert (r.path, r.num_frames, r.samplerate, r.extra["stream"]) == (lfp, 5, 2500.0, lfp.parent.name)


def test_openephys_gain_of_a_single_channel_used(tmp_path):
    from intake_npx2020.formats.openephys import read_openephys

    rec_dir, _ = write_openephys(tmp_path / "oe", frames=20, num_channels=4, settings=False)

    def set_volts(info):
        for c, v in zip(info["continuous"][0]["channels"], (0.5, 0.25, 0.5, 0.5)):
            c["bit_volts"] = v
    _edit(rec_dir, set_volts)
    assert read_openephys(rec_dir, geometry=_geom(tmp_path, 1)).gain_to_uV == 0.5


def test_openephys_geometry_without_probeinterface_names_the_extra(tmp_path, monkeypatch):
    import sys

    from intake_npx2020.errors import MissingExtra
    from intake_npx2020.formats.openephys import read_openephys

    rec_dir, _ = write_openephys(tmp_path / "oe", frames=20, num_channels=4)
    monkeypatch.setitem(sys.modules, "probeinterface", None)
    msg = _raises(MissingExtra, read_openephys, rec_dir)
    assert msg.startswith("probeinterface is needed for reading Open Ephys geometry but is not installed ("), msg
    assert msg.endswith("); install it with: pip install 'intake_npx2020[probe]'"), msg
