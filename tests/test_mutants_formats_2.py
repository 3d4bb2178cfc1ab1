"""Tests written to kill mutmut survivors in the readers of foreign formats (issue 13; docs/mutation-testing.md).

Geometry files given by hand (``probegeom``), raw files without metadata (``rawbin``), spikeinterface folders and
``.npy`` pairs (``sifolder``), phy unit tables (``phy``) and the object builders. Each test asserts what a user
sees for known input: the exact message naming the file and the field, the values read, the boundaries.
"""

from __future__ import annotations

import json
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import raises_text as _raises

from intake_npx2020.errors import InvalidInputFile, InvalidObject, MissingExtra

try:
    import probeinterface
except ImportError:  # the [probe] extra
    probeinterface = None
needs_probeinterface = pytest.mark.skipif(probeinterface is None, reason="probeinterface is not installed")


# == probegeom: tables of x, y ============================================================================

def test_geometry_tables_in_each_delimiter(tmp_path):
    from intake_npx2020.formats.probegeom import load_geometry

    want = ([0, 1, 2], [0, 1, 2], [[0.0, 0.0], [16.0, 20.0], [32.5, 40.0]], None, None)
    for name, text in (("g.csv", "0,0\n16,20\n32.5,40\n"), ("g.tsv", "0\t0\n16\t20\n32.5\t40\n"),
                       ("g.txt", "0 0\n16 20\n32.5 40\n")):
        (tmp_path / name).write_text(text)
        assert load_geometry(tmp_path / name, 3) == want, name
        assert load_geometry(str(tmp_path / name), 5) == want, name
    np.save(tmp_path / "g.npy", np.array([[0, 0], [16, 20], [32.5, 40]]))
    assert load_geometry(tmp_path / "g.npy", 3) == want
    (tmp_path / "one.csv").write_text("3,4\n")
    assert load_geometry(tmp_path / "one.csv", 1) == ([0], [0], [[3.0, 4.0]], None, None)
    assert all(type(v) is float for row in load_geometry(tmp_path / "g.npy", 3)[2] for v in row)


def test_geometry_tables_refused_with_the_reason(tmp_path):
    from intake_npx2020.formats.probegeom import load_geometry

    missing = tmp_path / "none.csv"
    assert _raises(InvalidInputFile, load_geometry, missing, 3) == f"geometry {missing}: no such file"
    g = tmp_path / "g.csv"
    g.write_text("0,0\n16,20\n32,40\n")
    assert _raises(InvalidInputFile, load_geometry, g, 2) == f"{g}: 3 positions for a file of 2 channels"
    g.write_text("0,0,1\n16,20,1\n")
    assert _raises(InvalidInputFile, load_geometry, g, 4) == \
        f"{g}: positions must be a table of n rows of x, y (µm), got shape (2, 3)"
    g.write_text("0,0\nx,20\n")
    msg = _raises(InvalidInputFile, load_geometry, g, 4)
    assert msg.startswith(f"{g}: not a table of x, y positions (one row per channel): "), msg
    t = tmp_path / "g.tsv"
    t.write_text("0\t\t20\n16\t40\n")  # an empty field is not skipped (which would shift 20 into column x)
    msg = _raises(InvalidInputFile, load_geometry, t, 4)
    assert msg.startswith(f"{t}: not a table of x, y positions (one row per channel): "), msg
    g.write_text("0,0\nnan,20\n")
    assert _raises(InvalidInputFile, load_geometry, g, 4) == f"{g}: positions hold values that are not finite"
    n = tmp_path / "g.npy"
    np.save(n, np.arange(4.0))
    assert _raises(InvalidInputFile, load_geometry, n, 4) == \
        f"{n}: positions must be a table of n rows of x, y (µm), got shape (4,)"
    np.save(n, np.zeros((0, 2)))
    assert _raises(InvalidInputFile, load_geometry, n, 4) == \
        f"{n}: positions must be a table of n rows of x, y (µm), got shape (0, 2)"


class _Trap:
    """Unpickling it writes a file: proof that a pickle was loaded."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (Path.write_text, (Path(self.path), "unpickled"))


def test_geometry_npy_holding_pickles_is_not_unpickled(tmp_path):
    from intake_npx2020.formats.probegeom import load_geometry

    flag = tmp_path / "flag"
    arr = np.empty((1, 2), dtype=object)
    arr[0, 0], arr[0, 1] = _Trap(str(flag)), 1.0
    g = tmp_path / "g.npy"
    with open(g, "wb") as f:
        np.save(f, arr, allow_pickle=True)
    assert pickle.dumps(arr)  # the trap is picklable
    with pytest.raises(ValueError, match="allow_pickle=False"):
        load_geometry(g, 4)
    assert not flag.exists()


# == probegeom: probeinterface files ======================================================================

def _probe(contacts: int, wired, **annotations):
    p = probeinterface.generate_linear_probe(num_elec=contacts, ypitch=20)
    if wired is not None:
        p.set_device_channel_indices(wired)
    if annotations:
        p.annotate(**annotations)
    return p


def _json(tmp_path, *probes, name="p.json") -> Path:
    group = probeinterface.ProbeGroup()
    for p in probes:
        group.add_probe(p)
    path = tmp_path / name
    probeinterface.write_probeinterface(path, group)
    return path


@needs_probeinterface
def test_geometry_from_a_probeinterface_json_is_ordered_by_column(tmp_path):
    from intake_npx2020.formats.probegeom import load_geometry

    p = _probe(4, [2, 0, -1, 1], model_name="PRB_1_4_0480_1", description="Neuropixels 1.0 probe")
    ids, cols, pos, short, detail = load_geometry(_json(tmp_path, p), 3)
    y = [float(v) for v in p.contact_positions[:, 1]]
    assert ids == cols == [0, 1, 2]
    assert pos == [[0.0, y[1]], [0.0, y[3]], [0.0, y[0]]]
    assert (short, detail) == ("NP1", "PRB_1_4_0480_1: Neuropixels 1.0 probe")


@needs_probeinterface
def test_geometry_column_beyond_the_file_is_refused_at_the_boundary(tmp_path):
    from intake_npx2020.formats.probegeom import load_geometry

    path = _json(tmp_path, _probe(3, [0, 1, 4]))
    assert load_geometry(path, 5)[1] == [0, 1, 4]
    assert _raises(InvalidInputFile, load_geometry, path, 4) == \
        f"{path}: device_channel_indices holds column 4, but the file has 4 channels"
    path = _json(tmp_path, _probe(3, [4, 1, 0]), name="q.json")
    assert _raises(InvalidInputFile, load_geometry, path, 3) == \
        f"{path}: device_channel_indices holds column 4, but the file has 3 channels"


@needs_probeinterface
def test_geometry_probe_files_refused_with_the_reason(tmp_path):
    from intake_npx2020.formats.probegeom import load_geometry

    unwired = _json(tmp_path, _probe(3, None), name="unwired.json")
    assert _raises(InvalidInputFile, load_geometry, unwired, 3) == \
        f"{unwired}: device_channel_indices is not set; the geometry must say which raw column each contact is in"
    twice = _json(tmp_path, _probe(3, [0, 1, 1]), name="twice.json")
    assert _raises(InvalidInputFile, load_geometry, twice, 3) == \
        f"{twice}: device_channel_indices wires two contacts to one column"
    a, b = _probe(2, [0, 1]), _probe(2, [2, 3])
    b.move([100, 0])
    two = _json(tmp_path, a, b, name="two.json")
    assert _raises(InvalidInputFile, load_geometry, two, 4) == f"{two}: holds 2 probes; give a file with one probe"


@needs_probeinterface
def test_geometry_from_a_prb_file(tmp_path):
    from intake_npx2020.formats.probegeom import load_geometry

    prb = tmp_path / "p.prb"
    prb.write_text("channel_groups = {0: {'channels': [1, 0], 'geometry': {1: [0, 20], 0: [16, 0]}}}\n")
    ids, cols, pos, short, detail = load_geometry(prb, 2)
    assert ids == cols == [0, 1] and pos == [[16.0, 0.0], [0.0, 20.0]] and short is None and detail is None
    assert _raises(InvalidInputFile, load_geometry, prb, 1) == \
        f"{prb}: device_channel_indices holds column 1, but the file has 1 channels"


@needs_probeinterface
def test_geometry_file_without_probeinterface_names_the_extra(tmp_path, monkeypatch):
    from intake_npx2020.formats.probegeom import load_geometry

    path = _json(tmp_path, _probe(2, [0, 1]))
    monkeypatch.setitem(sys.modules, "probeinterface", None)
    msg = _raises(MissingExtra, load_geometry, path, 2)
    assert msg.startswith("probeinterface is needed for reading a probe geometry file but is not installed ("), msg
    assert msg.endswith("); install it with: pip install 'intake_npx2020[probe]'"), msg


# == probegeom: probe names ===============================================================================

@needs_probeinterface
@pytest.mark.parametrize("annotations, model_name, shanks, want", [
    ({"part_number": "PRB_1_4_0480_1", "model_name": "other", "description": "Neuropixels 1.0 probe"}, None, 1,
     ("NP1", "PRB_1_4_0480_1: Neuropixels 1.0 probe")),
    ({"model_name": "NP2000", "description": "Neuropixels 2.0 single shank"}, None, 1,
     ("NP2", "NP2000: Neuropixels 2.0 single shank")),
    ({"model_name": "NP2010", "description": "Neuropixels 2.0 four shanks"}, None, 4,
     ("NP2 4-shank", "NP2010: Neuropixels 2.0 four shanks")),
    ({"model_name": "NP2014", "description": "Neuropixels 2.0 two shanks"}, None, 2,
     ("NP2", "NP2014: Neuropixels 2.0 two shanks")),
    ({"description": "a tetrode"}, "tet-4", 1, ("tet-4", "tet-4: a tetrode")),
    ({"model_name": "custom-32"}, None, 1, ("custom-32", "custom-32")),
    ({"description": "hand-made"}, None, 1, (None, "hand-made")),
    ({}, None, 1, (None, None)),
    ({"model_name": ""}, "", 1, (None, None)),
], ids=["part", "np2", "np2-4", "np2-2", "model-attr", "no-desc", "desc-only", "nothing", "empty"])
def test_probe_names(annotations, model_name, shanks, want):
    from intake_npx2020.formats.probegeom import probe_names

    p = probeinterface.generate_multi_shank(num_shank=shanks, num_columns=1, num_contact_per_column=2) \
        if shanks > 1 else probeinterface.generate_linear_probe(num_elec=2)
    if model_name is not None:
        p.model_name = model_name
    p.annotate(**annotations)
    assert probe_names(p) == want


# == rawbin ===============================================================================================

@needs_probeinterface
def test_raw_file_with_a_probe_file(tmp_path):
    from intake_npx2020.formats.rawbin import read_raw

    raw = tmp_path / "r.dat"
    raw.write_bytes(np.arange(5 * 3, dtype=np.int16).tobytes())
    geom = _json(tmp_path, _probe(2, [1, 0], model_name="PRB_1_4_0480_1", description="Neuropixels 1.0 probe"))
    rec = read_raw(raw, 3, "25000", geom, gain_to_uV="0.5")
    assert (rec.path, rec.raw_num_channels, rec.num_frames, rec.samplerate) == (raw, 3, 5, 25000)
    assert type(rec.samplerate) is int and rec.gain_to_uV == 0.5 and type(rec.gain_to_uV) is float
    assert rec.channel_ids == rec.columns == [0, 1]
    assert (rec.source_format, rec.probe, rec.probe_detail) == ("raw", "NP1", "PRB_1_4_0480_1: Neuropixels 1.0 probe")
    assert rec.side_files == (geom,) and rec.sync_channel is None and rec.extra == {}
    rec = read_raw(str(raw), "3", 30000.0, str(geom), probe="NP1 custom")
    assert rec.probe == "NP1 custom" and rec.gain_to_uV is None and rec.samplerate == 30000.0
    assert rec.probe_detail == "PRB_1_4_0480_1: Neuropixels 1.0 probe" and rec.side_files == (geom,)


def test_raw_file_refused_with_the_option_named(tmp_path):
    from intake_npx2020.formats.rawbin import read_raw

    geom = tmp_path / "g.csv"
    geom.write_text("0,0\n0,20\n")
    raw = tmp_path / "r.bin"
    assert _raises(InvalidInputFile, read_raw, raw, 2, 30000, geom) == f"{raw}: no such file"
    raw.write_bytes(bytes(14))
    assert _raises(InvalidInputFile, read_raw, raw, 2, 30000, geom) == \
        f"{raw}: 14 bytes is not a whole number of frames of 2 int16 channels (--channels 2); the channel count " \
        "is wrong or the file is truncated"
    assert _raises(InvalidInputFile, read_raw, raw, 0, 30000, geom) == \
        "--channels 0 = 0: a recording needs at least one channel"
    assert _raises(InvalidInputFile, read_raw, raw, 7, "fast", geom) == f"{raw}: --rate must be a number, got 'fast'"
    assert _raises(InvalidInputFile, read_raw, raw, 7, 30000, geom, gain_to_uV=-1.0) == \
        f"{raw}: --gain must be a finite number above zero, got '-1.0'"
    rec = read_raw(raw, 7, 30000, geom)
    assert (rec.num_frames, rec.channel_ids, rec.positions, rec.probe, rec.probe_detail) == \
        (1, [0, 1], [[0.0, 0.0], [0.0, 20.0]], None, None)
    assert rec.source_format == "raw" and rec.side_files == (geom,)


# == builders ==============================================================================================

def test_npy2_object_defaults_read_back(tmp_path):
    import io

    from helpers import put_file

    from intake_npx2020.formats import read_sorting
    from intake_npx2020.formats.builders import npy2_object
    from intake_npx2020.store import get_store

    buf = io.BytesIO()
    np.savez(buf, spike_indexes=np.array([4, 9]), spike_labels=np.array([2, 5]))
    uri = put_file(tmp_path / "own-store", buf.getvalue(), label="s.npz")
    obj = npy2_object(uri)
    assert obj == {"sorting_format": "npy2",
                   "data": {"npz_uri": uri, "unit_ids": None, "sampling_frequency": 30000.0}}
    assert json.dumps(obj) == json.dumps({"sorting_format": "npy2", "data": {
        "npz_uri": uri, "unit_ids": None, "sampling_frequency": 30000.0}})
    s = read_sorting(obj, get_store(), "S")
    assert s.sampling_frequency == 30000.0 and s.unit_ids.tolist() == [2, 5]
    assert npy2_object(uri, [])["data"]["unit_ids"] == []


def test_npy1_object_default_rate_is_the_int_30000():
    from intake_npx2020.formats.builders import npy1_object

    t, lab = "sha1://" + "1" * 40 + "/t.npy", "sha1://" + "2" * 40 + "/l.npy"
    obj = npy1_object(t, lab)
    assert json.dumps(obj) == json.dumps({"sorting_format": "npy1", "data": {"times_npy_uri": t, "labels_npy_uri": lab,
                                                                             "samplerate": 30000}})


# == sifolder ==============================================================================================

def test_is_si_folder(tmp_path):
    from intake_npx2020.formats.sifolder import is_si_folder

    folder = tmp_path / "si"
    folder.mkdir()
    assert is_si_folder(folder) is False
    (folder / "spike_times.npy").write_bytes(b"")
    assert is_si_folder(folder) is False
    assert is_si_folder(folder / "spike_times.npy") is False
    for marker in ("si_folder.json", "spikeinterface_info.json", "numpysorting_info.json", "provenance.json"):
        d = tmp_path / marker.split(".")[0]
        d.mkdir()
        (d / marker).write_text("{}")
        assert is_si_folder(d) is True, marker
        assert is_si_folder(d / marker) is False, marker


_SI_WARNING = pytest.mark.filterwarnings("ignore:The extractor is not serializable")


def _loaded(monkeypatch, tmp_path, sorting) -> Path:
    sc = pytest.importorskip("spikeinterface.core")
    monkeypatch.setattr(sc, "load", lambda *a, **kw: sorting)
    folder = tmp_path / "si"
    folder.mkdir(exist_ok=True)
    return folder


@_SI_WARNING
def test_si_folder_string_unit_ids_and_unit_properties(tmp_path, monkeypatch):
    sc = pytest.importorskip("spikeinterface.core")
    from intake_npx2020.formats.sifolder import read_si_folder

    s = sc.NumpySorting.from_samples_and_labels([np.array([12, 5, 10, 30])], [np.array(["3", "5", "3", "5"])],
                                                20000.0)
    s.set_property("templates_like", np.zeros((2, 3)))
    s.set_property("quality", np.array([1.5, np.nan]))
    s.set_property("label", np.array(["good", "mua"]))
    folder = _loaded(monkeypatch, tmp_path, s)
    got = read_si_folder(folder)
    assert got.times.tolist() == [5, 10, 12, 30] and got.labels.tolist() == [5, 3, 3, 5]
    assert got.labels.dtype == np.int64 and got.samplerate == 20000.0
    assert got.units == [{"unit_id": 3, "num_spikes": 2, "quality": 1.5, "label": "good"},
                         {"unit_id": 5, "num_spikes": 2, "quality": None, "label": "mua"}]
    assert (got.source_format, got.sorter, got.times_file, got.labels_file) == \
        ("spikeinterface", "spikeinterface", None, None)
    assert got.rate_field == f"{folder}: sampling_frequency" and got.extra == {"si_class": "NumpySorting"}


@_SI_WARNING
def test_si_folder_unit_ids_that_are_not_numbers(tmp_path, monkeypatch):
    sc = pytest.importorskip("spikeinterface.core")
    from intake_npx2020.formats.sifolder import read_si_folder

    ids = ["a", "b", "c", "d", "e", "f"]
    s = sc.NumpySorting.from_samples_and_labels([np.arange(6)], [np.array(ids)], 30000.0)
    folder = _loaded(monkeypatch, tmp_path, s)
    assert _raises(InvalidInputFile, read_si_folder, folder) == \
        f"{folder}: unit_ids {[np.str_(u) for u in ids[:5]]} are not whole numbers; the 2020 npy1 format labels " \
        "spikes with integers (rename the units first)"
    s = sc.NumpySorting.from_samples_and_labels([np.arange(2)], [np.array(["-1", "9007199254740993"])], 30000.0)
    folder = _loaded(monkeypatch, tmp_path, s)
    msg = _raises(InvalidObject, read_si_folder, folder)
    assert msg.startswith(f"{folder}: unit_ids holds out of range values"), msg
    s = sc.NumpySorting.from_samples_and_labels([np.arange(2)], [np.array(["-1", "2"])], 30000.0)
    assert read_si_folder(_loaded(monkeypatch, tmp_path, s)).labels.tolist() == [-1, 2]


@_SI_WARNING
def test_si_folder_without_units(tmp_path, monkeypatch):
    sc = pytest.importorskip("spikeinterface.core")
    from intake_npx2020.formats.sifolder import read_si_folder

    s = sc.NumpySorting.from_unit_dict([{}], 30000.0)
    got = read_si_folder(_loaded(monkeypatch, tmp_path, s))
    assert got.times.tolist() == [] and got.labels.tolist() == [] and got.units == []
    assert got.labels.dtype == np.int64 and got.times.dtype == np.int64


# == phy ===================================================================================================

def test_phy_unit_tables_do_not_override_counts_and_first_table_wins(tmp_path):
    from authoring_data import write_phy

    from intake_npx2020.formats.phy import read_phy

    folder, _, labels = write_phy(tmp_path / "ks", 3000)
    units, counts = np.unique(labels, return_counts=True)
    (folder / "cluster_info.tsv").write_text("cluster_id\tContamPct\tnum_spikes\tunit_id\n" +
                                             "".join(f"{u}\t99.0\t-1\t-5\n" for u in units))
    rows = {r["unit_id"]: r for r in read_phy(folder).units}
    assert sorted(rows) == units.tolist()
    for u, n in zip(units.tolist(), counts.tolist()):
        assert rows[u]["num_spikes"] == n and rows[u]["ContamPct"] == u * 1.5


def test_phy_params_keeps_only_single_name_literal_assignments(tmp_path):
    from intake_npx2020.formats.phy import read_params

    p = tmp_path / "params.py"
    p.write_text("import os\na = b = 3\nx, y = 1, 2\nd = {}\nd['k'] = 1\nn = os.getcwd()\nsample_rate = 25000\n"
                 "dtype = 'int16'\n")
    assert read_params(p) == {"d": {}, "sample_rate": 25000, "dtype": "int16"}
    p.write_text("sample_rate = 30000\ndtype = 'int16\n")
    msg = _raises(InvalidInputFile, read_params, p)
    assert msg.startswith(f"{p}: not a readable params.py: ") and "(params.py, line 2)" in msg, msg


def test_phy_sample_rate_must_be_a_positive_number(tmp_path):
    from authoring_data import write_phy

    from intake_npx2020.formats.phy import read_phy

    folder, _, _ = write_phy(tmp_path / "ks", 3000)
    params = folder / "params.py"
    for text, shown in (("0", "0"), ("0.0", "0.0"), ("-30000", "-30000"), ("True", "True"), ("'30000'", "'30000'"),
                        ("None", None)):
        params.write_text(f"sample_rate = {text}\n")
        if shown is None:
            assert read_phy(folder).samplerate is None
            continue
        assert _raises(InvalidInputFile, read_phy, folder) == f"{params}: sample_rate = {shown} is not a rate in Hz"
    params.write_text("sample_rate = 0.5\n")
    assert read_phy(folder).samplerate == 0.5


def test_phy_folder_of_kilosort_without_phy_labels_uses_templates(tmp_path):
    from authoring_data import write_phy

    from intake_npx2020.formats.phy import read_phy

    folder, times, labels = write_phy(tmp_path / "ks", 3000)
    (folder / "spike_clusters.npy").rename(folder / "spike_templates.npy")
    s = read_phy(folder)
    assert s.labels_file == folder / "spike_templates.npy" and s.extra["labels_from"] == "spike_templates.npy"
    assert np.array_equal(s.labels, labels) and np.array_equal(s.times, times) and s.times_file == \
        folder / "spike_times.npy"
    (folder / "spike_templates.npy").unlink()
    assert _raises(InvalidInputFile, read_phy, folder) == \
        f"{folder}: a phy folder needs spike_times.npy and spike_clusters.npy (or spike_templates.npy)"
    np.save(folder / "spike_clusters.npy", np.where(labels == 3, -1, labels))
    s = read_phy(folder)
    assert s.labels.tolist() == np.where(labels == 3, -1, labels).tolist() and s.labels_file == \
        folder / "spike_clusters.npy"
    (folder / "spike_times.npy").unlink()
    assert _raises(InvalidInputFile, read_phy, folder) == \
        f"{folder}: a phy folder needs spike_times.npy and spike_clusters.npy (or spike_templates.npy)"


def test_phy_curation_falls_back_to_kilosort_labels(tmp_path):
    from authoring_data import write_phy

    from intake_npx2020.formats.foreign import Curation
    from intake_npx2020.formats.phy import read_phy

    folder, _, labels = write_phy(tmp_path / "ks", 3000)
    (folder / "cluster_group.tsv").unlink()
    present = sorted(set(labels.tolist()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the tables are read without pandas' engine fallback warning
        assert read_phy(folder).curation == Curation(folder / "cluster_KSLabel.tsv", "KSLabel", "good", False, "ks_good",
                                                 tuple(u for u in present if u % 2))


def test_phy_unit_tables_refused_with_the_reason(tmp_path):
    from authoring_data import write_phy

    from intake_npx2020.formats.phy import read_phy

    folder, _, labels = write_phy(tmp_path / "ks", 3000)
    info = folder / "cluster_info.tsv"
    info.write_bytes(bytes(range(256)))
    msg = _raises(InvalidInputFile, read_phy, folder)
    assert msg.startswith(f"{info}: not a readable table: 'utf-8' codec can't decode byte 0x80 in position ") \
        and msg.endswith(": invalid start byte"), msg
    cols = [f"c{i}" for i in range(14)]
    info.write_text("\t".join(cols) + "\n" + "\t".join("1" * 14) + "\n")
    assert _raises(InvalidInputFile, read_phy, folder) == \
        f"{info}: field cluster_id is missing (columns: {cols[:12]})"
    for body in ("cluster_id\tx\n1\t2\n1\t3\n", "cluster_id\tx\n1.5\t2\n2\t3\n", "cluster_id\tx\na\t2\n"):
        info.write_text(body)
        assert _raises(InvalidInputFile, read_phy, folder) == f"{info}: cluster_id must hold distinct whole numbers"
    units = sorted(set(labels.tolist()))
    info.write_text("cluster_id\tid\tdepth\n" + "".join(f"{u}\t{100 + u}\t{7 * u}\n" for u in units))
    rows = {r["unit_id"]: r for r in read_phy(folder).units}
    assert sorted(rows) == units and all(rows[u]["id"] == 100 + u and rows[u]["depth"] == 7 * u for u in units)


# == sifolder: .npy pairs ==================================================================================

def test_npy_pair(tmp_path):
    from intake_npx2020.formats.sifolder import read_npy_pair

    tf, lf = tmp_path / "t.npy", tmp_path / "l.npy"
    assert _raises(InvalidInputFile, read_npy_pair, tf, lf) == f"{tf}: no such file"
    np.save(tf, np.array([3, 8, 8, 20], np.uint32))
    assert _raises(InvalidInputFile, read_npy_pair, tf, lf) == f"{lf}: no such file"
    np.save(lf, np.array([-1, 4, -1, -1]))
    s = read_npy_pair(str(tf), str(lf))
    assert s.times.tolist() == [3, 8, 8, 20] and s.labels.tolist() == [-1, 4, -1, -1]
    assert (s.source_format, s.sorter, s.times_file, s.labels_file) == ("npy", "unknown", tf, lf)
    assert s.units == [{"unit_id": -1, "num_spikes": 3}, {"unit_id": 4, "num_spikes": 1}]
    assert s.samplerate is None and s.curation is None and s.side_files == () and s.extra == {}
    lf.write_bytes(b"garbage here")
    assert _raises(InvalidInputFile, read_npy_pair, tf, lf) == f"{lf}: unit labels is not a valid .npy file: the " \
        "magic string is not correct; expected b'\\x93NUMPY', got b'garbag'"
    np.save(lf, np.array([1.5, 4, 1, 1]))
    msg = _raises(InvalidInputFile, read_npy_pair, tf, lf)
    assert msg.startswith(f"{lf}: unit labels holds non-integral"), msg
    np.save(tf, np.array([-3, 8, 8, 20]))
    msg = _raises(InvalidInputFile, read_npy_pair, tf, lf)
    assert msg.startswith(f"{tf}: spike times holds negative values"), msg


@_SI_WARNING
def test_si_folder_that_is_not_one_sorting_segment(tmp_path, monkeypatch):
    sc = pytest.importorskip("spikeinterface.core")
    from intake_npx2020.formats.sifolder import read_si_folder

    rec = sc.NumpyRecording([np.zeros((10, 2), np.int16)], 30000.0)
    folder = _loaded(monkeypatch, tmp_path, rec)
    assert _raises(InvalidInputFile, read_si_folder, folder) == f"{folder}: holds a NumpyRecording, not a sorting"
    two = sc.NumpySorting.from_samples_and_labels([np.array([1]), np.array([2])], [np.array([0]), np.array([0])],
                                                  30000.0)
    folder = _loaded(monkeypatch, tmp_path, two)
    assert _raises(InvalidInputFile, read_si_folder, folder) == \
        f"{folder}: num_segments = 2; add one segment at a time (sorting.select_segments([i]).save(folder=…))"


def test_si_folder_without_spikeinterface_names_the_extra(tmp_path, monkeypatch):
    from intake_npx2020.formats.sifolder import read_si_folder

    monkeypatch.setitem(sys.modules, "spikeinterface.core", None)
    msg = _raises(MissingExtra, read_si_folder, tmp_path)
    assert msg.startswith("spikeinterface.core is needed for reading a spikeinterface sorting folder but is not "
                          "installed ("), msg
    assert msg.endswith("); install it with: pip install 'intake_npx2020[spikeinterface]'"), msg


def test_phy_folder_as_read(tmp_path):
    from authoring_data import write_phy

    from intake_npx2020.formats.foreign import Curation
    from intake_npx2020.formats.phy import is_phy_folder, read_phy

    folder, times, labels = write_phy(tmp_path / "ks", 3000)
    s = read_phy(str(folder))
    assert np.array_equal(s.times, times) and np.array_equal(s.labels, labels)
    assert (s.source_format, s.sorter, s.times_file, s.labels_file) == \
        ("phy", "kilosort/phy", folder / "spike_times.npy", folder / "spike_clusters.npy")
    assert (s.samplerate, s.rate_field) == (30000.0, f"{folder / 'params.py'}: sample_rate")
    assert s.extra == {"phy_n_channels_dat": 385, "phy_dtype": "int16", "phy_hp_filtered": False,
                       "labels_from": "spike_clusters.npy"}
    assert s.side_files == (folder / "params.py", folder / "cluster_ContamPct.tsv", folder / "cluster_KSLabel.tsv",
                            folder / "cluster_group.tsv")
    present = sorted(set(labels.tolist()))
    assert s.curation == Curation(folder / "cluster_group.tsv", "group", "good", True, "curated",
                                  tuple(u for u in present if u in (0, 2, 4)))
    assert [r["unit_id"] for r in s.units] == present
    assert s.units[0] == {"unit_id": 0, "num_spikes": int((labels == 0).sum()), "ContamPct": 0.0, "KSLabel": "mua",
                          "group": "good"}
    assert is_phy_folder(folder) and not is_phy_folder(folder / "spike_times.npy")
    (folder / "spike_times.npy").unlink()
    assert not is_phy_folder(folder)


@needs_probeinterface
def test_positions_of_a_3d_probe_are_its_first_two_coordinates():
    from intake_npx2020.formats.probegeom import positions_of

    p = probeinterface.generate_linear_probe(num_elec=3, ypitch=20).to_3d(axes="xz")
    assert p.ndim == 3
    want = [[float(a), float(b)] for a, b in p.contact_positions[:, :2]]
    assert positions_of(p) == want and len(want) == 3 and all(type(v) is float for r in want for v in r)


def test_number_as_given_keeps_the_type_written():
    from intake_npx2020.formats.foreign import number_as_given

    for text, want in (("30000", 30000), ("+30000", 30000), (" 30000 ", 30000), ("30000.0", 30000.0),
                       ("3e4", 30000.0), (2500, 2500), (0.25, 0.25)):
        got = number_as_given(text, "w")
        assert got == want and type(got) is type(want), text
    for text in ("0", "-1", "inf", "nan", "-0.0"):
        assert _raises(InvalidInputFile, number_as_given, text, "w") == \
            f"w must be a finite number above zero, got {text!r}"
    assert _raises(InvalidInputFile, number_as_given, "X30000", "w") == "w must be a number, got 'X30000'"


def test_bin1_object_exact_json_and_checks():
    from intake_npx2020.errors import InvalidObject
    from intake_npx2020.formats.builders import bin1_object

    raw = "sha1://" + "3" * 40 + "/raw.bin"
    obj = bin1_object(raw, np.int64(385), np.int64(90000), np.array([4, 2]), [[0, 20], [16.5, 40.0]])
    assert json.dumps(obj) == json.dumps({"recording_format": "bin1", "data": {
        "raw": raw, "raw_num_channels": 385, "num_frames": 90000, "samplerate": 30000, "channel_ids": [0, 1],
        "channel_map": {"0": 4, "1": 2}, "channel_positions": {"0": [0, 20], "1": [16.5, 40.0]}}})
    obj = bin1_object(raw, 3, 10, [2, 0], [(1, 2), (3, 4)], samplerate=25000.0, channel_ids=np.array([7, 5]))
    assert json.dumps(obj["data"]) == json.dumps({
        "raw": raw, "raw_num_channels": 3, "num_frames": 10, "samplerate": 25000.0, "channel_ids": [7, 5],
        "channel_map": {"7": 2, "5": 0}, "channel_positions": {"7": [1, 2], "5": [3, 4]}})
    assert _raises(InvalidObject, bin1_object, raw, 3, 10, [2, 0], [(1, 2)]) == \
        "bin1 object: 2 channel ids, 2 map entries and 1 positions; they must be equal"
    assert _raises(InvalidObject, bin1_object, raw, 3, 10, [2, 0], [(1, 2), (3, 4)], channel_ids=[1]) == \
        "bin1 object: 1 channel ids, 2 map entries and 2 positions; they must be equal"
    assert _raises(InvalidObject, bin1_object, raw, 3, 10, [2], [(1, 2), (3, 4)], channel_ids=[1, 2]) == \
        "bin1 object: 2 channel ids, 1 map entries and 2 positions; they must be equal"


def test_h5_v1_object_exact_json():
    from intake_npx2020.formats.builders import h5_v1_object

    uri = "sha1://" + "4" * 40 + "/s.h5"
    assert json.dumps(h5_v1_object(uri)) == json.dumps({"sorting_format": "h5_v1", "data": {"h5_path": uri}})
