"""Tests written to kill mutants that survived a sampled mutmut run over the formats readers and the store.

Each test asserts observable behaviour of known input: a value read from a metadata field is used, an error names
the file / field / URL and says what is wrong, a documented default applies. Expected values come from the inputs
and the documented rules (e.g. SpikeGLX's ``imAiRangeMax / imMaxInt / gain``), never from the code under test.
"""

from __future__ import annotations

import calendar
import json
import os
import re
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import stubs
from authoring_data import OE_STREAM, write_openephys, write_phy, write_spikeglx
from helpers import FaultServer, put_file, random_bytes, sha1
from helpers import raises_text as _raises

from intake_npx2020.errors import (
    ConfigError,
    ContentNotFound,
    FetchError,
    InvalidInputFile,
    InvalidObject,
    MissingExtra,
    StoreFullError,
)

try:
    import probeinterface
except ImportError:  # the [probe] extra
    probeinterface = None
needs_probeinterface = pytest.mark.skipif(probeinterface is None, reason="probeinterface is not installed")


# == formats: SpikeGLX ====================================================================================

@needs_probeinterface
def test_spikeglx_pair_from_either_file(tmp_path):
    from intake_npx2020.formats.spikeglx import spikeglx_pair

    bin_path, _ = write_spikeglx(tmp_path / "s", frames=10)
    meta = bin_path.with_suffix(".meta")
    assert spikeglx_pair(meta) == (bin_path, meta)
    assert spikeglx_pair(bin_path) == (bin_path, meta)


@needs_probeinterface
def test_spikeglx_missing_field_is_named_with_the_meta_file(tmp_path):
    from intake_npx2020.formats.spikeglx import read_spikeglx

    bin_path, _ = write_spikeglx(tmp_path / "s", frames=10, imSampRate="")
    meta = bin_path.with_suffix(".meta")
    msg = _raises(InvalidInputFile, read_spikeglx, bin_path)
    assert re.fullmatch(re.escape(str(meta)) + r": field imSampRate is missing", msg), msg


@needs_probeinterface
def test_spikeglx_nidq_stream_is_refused_with_the_advice(tmp_path):
    from intake_npx2020.formats.spikeglx import read_spikeglx

    bin_path, _ = write_spikeglx(tmp_path / "s", frames=10, typeThis="nidq")
    msg = _raises(InvalidInputFile, read_spikeglx, bin_path)
    assert msg.startswith(f"{bin_path.with_suffix('.meta')}: typeThis = 'nidq'")
    assert "only imec probe streams are recordings of a probe (add an NI-DAQ file with --channels/--rate/" \
           "--geometry)" in msg


@needs_probeinterface
def test_spikeglx_im_max_int_and_create_time_come_from_the_meta(tmp_path):
    from intake_npx2020.formats.spikeglx import read_spikeglx

    bin_path, _ = write_spikeglx(tmp_path / "s", frames=10, imMaxInt="4096", fileCreateTime="2024-05-06T07:08:09")
    rec = read_spikeglx(bin_path)
    assert rec.gain_to_uV == 0.5 / 4096 / 80 * 1e6  # imAiRangeMax 0.5, NP2.0 AP gain 80, imMaxInt as written
    assert rec.extra["recorded_at"] == "2024-05-06T07:08:09"


@needs_probeinterface
def test_gains_to_uv_max_int_rules(tmp_path):
    """imMaxInt when the meta states it; else 512 on NP1.0-type probes, else 2 ** (adc_bit_depth - 1)."""
    from intake_npx2020.formats.spikeglx import gains_to_uV

    probe = probeinterface.generate_linear_probe(num_elec=3)
    probe.annotate(adc_bit_depth=12, ap_gain=100)
    meta_path = tmp_path / "x.meta"
    assert gains_to_uV({"imDatPrb_type": "24", "imAiRangeMax": "0.5"}, probe, meta_path) == [0.5 / 2048 / 100 * 1e6] * 3
    assert gains_to_uV({"imDatPrb_type": "24", "imAiRangeMax": "0.5", "imMaxInt": "1000"}, probe, meta_path) == \
        [0.5 / 1000 / 100 * 1e6] * 3
    assert gains_to_uV({"imDatPrb_type": "0", "imAiRangeMax": "0.6"}, probe, meta_path) == [0.6 / 512 / 100 * 1e6] * 3
    assert gains_to_uV({"imProbeOpt": "3", "imAiRangeMax": "0.6", "imMaxInt": ""}, probe, meta_path) == \
        [0.6 / 512 / 100 * 1e6] * 3


@needs_probeinterface
def test_spikeglx_without_probeinterface_names_the_extra(tmp_path, monkeypatch):
    from intake_npx2020.formats.spikeglx import read_spikeglx, saved_channels

    bin_path, _ = write_spikeglx(tmp_path / "s", frames=10, saved=[0, 1, 2])
    meta_path = bin_path.with_suffix(".meta")
    meta = probeinterface.parse_spikeglx_meta(meta_path)
    monkeypatch.setitem(sys.modules, "probeinterface", None)
    for fn, args in ((read_spikeglx, (bin_path,)), (saved_channels, (meta, meta_path))):
        msg = _raises(MissingExtra, fn, *args)
        assert msg.startswith("probeinterface is needed for reading SpikeGLX metadata but is not installed"), msg
        assert "pip install 'intake_npx2020[probe]'" in msg


# == formats: Open Ephys ==================================================================================

@needs_probeinterface
def test_openephys_settings_file_of_each_experiment(tmp_path):
    from intake_npx2020.formats.openephys import settings_file

    node = tmp_path / "Record Node 101"
    assert settings_file(node / "experiment1" / "recording1" / "structure.oebin") == node / "settings.xml"
    assert settings_file(node / "experiment3" / "recording2" / "structure.oebin") == node / "settings_3.xml"
    assert settings_file(node / "other" / "recording1" / "structure.oebin") == node / "settings.xml"


def _edit_oebin(rec_dir: Path, fn) -> None:
    oebin = rec_dir / "structure.oebin"
    info = json.loads(oebin.read_text())
    fn(info["continuous"][0])
    oebin.write_text(json.dumps(info))


@needs_probeinterface
def test_openephys_channel_without_units_is_in_microvolts(tmp_path):
    from intake_npx2020.formats.openephys import read_openephys

    rec_dir, _ = write_openephys(tmp_path / "oe", frames=20)

    def drop_units(entry):
        for c in entry["channels"]:
            del c["units"]
            c["bit_volts"] = 0.25
    _edit_oebin(rec_dir, drop_units)
    assert read_openephys(rec_dir).gain_to_uV == 0.25

    def millivolts(entry):
        entry["channels"][5]["units"] = "mV"
    _edit_oebin(rec_dir, millivolts)
    assert read_openephys(rec_dir).gain_to_uV is None  # not µV: no gain rather than a wrong one


@needs_probeinterface
def test_openephys_stream_without_folder_name(tmp_path):
    """A stream entry without folder_name is the empty name: no 'stream' in the metadata, '' in messages."""
    from intake_npx2020.formats.openephys import read_openephys

    rec_dir, _ = write_openephys(tmp_path / "oe", frames=20, num_channels=4, settings=False)
    (rec_dir / "continuous" / OE_STREAM / "continuous.dat").rename(rec_dir / "continuous" / "continuous.dat")
    _edit_oebin(rec_dir, lambda e: e.pop("folder_name"))
    geom = tmp_path / "geom.csv"
    geom.write_text("".join(f"0,{i * 20}\n" for i in range(4)))
    rec = read_openephys(rec_dir, geometry=geom)
    assert rec.num_frames == 20 and "stream" not in rec.extra
    _edit_oebin(rec_dir, lambda e: e.update(num_channels="4"))
    msg = _raises(InvalidInputFile, read_openephys, rec_dir, geometry=geom)
    assert msg == f"{rec_dir / 'structure.oebin'}: stream '' field num_channels = '4' is not a whole number"


@needs_probeinterface
def test_openephys_missing_probe_names_the_stream(tmp_path):
    from intake_npx2020.formats.openephys import read_openephys

    rec_dir, _ = write_openephys(tmp_path / "oe", frames=20, settings=False)
    msg = _raises(InvalidInputFile, read_openephys, rec_dir)
    settings = rec_dir.parent.parent / "settings.xml"
    assert msg.startswith(f"{settings}: no Neuropixels probe in settings (NP_PROBE) to give the geometry of "
                          f"stream {OE_STREAM!r}"), msg


# == formats: sortings (phy, spikeinterface, npy pairs, shared checks) ====================================

def test_phy_cluster_info_with_an_id_column(tmp_path):
    """cluster_info.tsv of older phy versions keys units by ``id``: read as ``cluster_id``."""
    from intake_npx2020.formats.phy import read_phy

    folder, _, labels = write_phy(tmp_path / "ks", 3000)
    units = sorted(set(labels.tolist()))
    (folder / "cluster_info.tsv").write_text("id\tdepth\tch\n" + "".join(f"{u}\t{100 + u}\t{7 * u}\n" for u in units))
    rows = {r["unit_id"]: r for r in read_phy(folder).units}
    assert sorted(rows) == units
    assert all(rows[u]["depth"] == 100 + u and rows[u]["ch"] == 7 * u for u in units)


def test_phy_curation_table_without_its_label_column(tmp_path):
    from intake_npx2020.formats.phy import read_phy

    folder, _, _ = write_phy(tmp_path / "ks", 3000)
    table = folder / "cluster_group.tsv"
    table.write_text("cluster_id\tlabel\n0\tgood\n")
    msg = _raises(InvalidInputFile, read_phy, folder)
    assert msg.startswith(f"{table}: field group is missing (columns: ['label']"), msg


def test_phy_without_params_has_no_rate(tmp_path):
    from intake_npx2020.formats.phy import read_phy

    folder, times, _ = write_phy(tmp_path / "ks", 3000)
    (folder / "params.py").unlink()
    s = read_phy(folder)
    assert s.samplerate is None and np.array_equal(s.times, times)
    (folder / "params.py").write_text("sample_rate = 25000\n")
    assert read_phy(folder).samplerate == 25000.0


def test_check_spikes_names_the_labels_file(tmp_path):
    from intake_npx2020.formats.foreign import SortingInput, check_spikes

    tf, lf = tmp_path / "t.npy", tmp_path / "l.npy"
    s = SortingInput(np.arange(3), np.zeros(2, np.int64), "npy", "x", tf, lf)
    assert _raises(InvalidInputFile, check_spikes, s, 100, "recording r") == \
        f"{tf}: 3 spike times but {lf} has 2 labels; they must pair one to one"
    s = SortingInput(np.arange(3), np.zeros(2, np.int64), "npy", "x")
    assert _raises(InvalidInputFile, check_spikes, s, 100, "recording r") == \
        "spike times: 3 spike times but labels has 2 labels; they must pair one to one"


def test_npy_pair_of_other_lengths_names_both_files(tmp_path):
    from intake_npx2020.formats.sifolder import read_npy_pair

    tf, lf = tmp_path / "t.npy", tmp_path / "l.npy"
    np.save(tf, np.arange(4))
    np.save(lf, np.zeros(3, np.int64))
    assert _raises(InvalidInputFile, read_npy_pair, tf, lf) == \
        f"{tf}: 4 spike times but {lf} has 3 labels; they must pair one to one"


_SI_WARNING = pytest.mark.filterwarnings("ignore:The extractor is not serializable")


def _si_folder(tmp_path, times, labels, unit_ids=None):
    si = pytest.importorskip("spikeinterface.core")
    if unit_ids is None:
        s = si.NumpySorting.from_samples_and_labels([np.asarray(times)], [np.asarray(labels)], 30000.0)
    else:
        s = si.NumpySorting.from_unit_dict([{u: np.asarray([t for t, lab in zip(times, labels) if lab == u],
                                                            np.int64) for u in unit_ids}], 30000.0)
    folder = tmp_path / "si"
    s.save(folder=folder)
    return folder


@_SI_WARNING
def test_si_folder_load_failure_names_the_error(tmp_path, monkeypatch):
    sc = pytest.importorskip("spikeinterface.core")
    from intake_npx2020.formats.sifolder import read_si_folder

    folder = _si_folder(tmp_path, [5, 10], [1, 2])

    def broken(*a, **kw):
        raise RuntimeError("the provenance is unreadable")
    monkeypatch.setattr(sc, "load", broken)
    assert _raises(InvalidInputFile, read_si_folder, folder) == \
        f"{folder}: spikeinterface cannot load it: RuntimeError: the provenance is unreadable"


@_SI_WARNING
def test_si_folder_without_spikes(tmp_path):
    from intake_npx2020.formats.sifolder import read_si_folder

    folder = _si_folder(tmp_path, [], [], unit_ids=[3, 4])
    s = read_si_folder(folder)
    assert s.times.tolist() == [] and s.labels.tolist() == [] and s.units == []


@_SI_WARNING
def test_si_folder_negative_sample_index_names_the_folder(tmp_path, monkeypatch):
    sc = pytest.importorskip("spikeinterface.core")
    from intake_npx2020.formats.sifolder import read_si_folder

    folder = _si_folder(tmp_path, [5, 10], [1, 2])
    bad = sc.NumpySorting.from_samples_and_labels([np.array([-4, 10])], [np.array([1, 2])], 30000.0)
    monkeypatch.setattr(sc, "load", lambda *a, **kw: bad)
    msg = _raises(InvalidObject, read_si_folder, folder)
    assert msg.startswith(f"{folder}: sample_index holds negative values"), msg


# == formats: Neuropixels geometry, HDF5 ===================================================================

def test_neuropixels_positions_half_a_micron_off_a_row_are_not_electrodes():
    from intake_npx2020.formats.neuropixels import find_frame

    assert find_frame([[0, 0], [32, 0], [0, 15.4]], "NP2") is not None  # within 0.5 µm of row 1 (15 µm pitch)
    assert find_frame([[0, 0], [32, 0], [0, 15.5]], "NP2") is None
    assert find_frame([[0, 0], [32, 0], [0, 14.5]], "NP2") is None


def _h5(tmp_path, **datasets) -> bytes:
    h5py = pytest.importorskip("h5py")
    p = tmp_path / "x.h5"
    with h5py.File(p, "w") as f:
        for k, v in datasets.items():
            f.create_dataset(k, data=v)
    return p.read_bytes()


def test_h5_dataset_size_bound_is_1100_times_the_file_plus_a_mebibyte(tmp_path):
    from intake_npx2020.formats.h5 import open_h5, read_dataset

    data = _h5(tmp_path, a=np.zeros(1 << 20, np.uint8), b=np.zeros((1 << 20) + 1, np.uint8))
    with open_h5(data, "F") as f:
        assert read_dataset(f, "a", "F", 0).size == 1 << 20  # 1100 * 0 + 1 MiB
        msg = _raises(InvalidObject, read_dataset, f, "b", "F", 0)
        assert msg == f"F: dataset 'b' of shape ({(1 << 20) + 1},) is larger than its file can hold"
        assert read_dataset(f, "b", "F", 1).size == (1 << 20) + 1  # 1100 * 1 + 1 MiB


def test_h5_storage_check_without_h5py_names_the_use(tmp_path, monkeypatch):
    from intake_npx2020.formats import h5

    data = _h5(tmp_path, a=np.arange(5))
    with h5.open_h5(data, "F") as f:
        ds = f["a"]
        monkeypatch.setitem(sys.modules, "h5py", None)
        msg = _raises(MissingExtra, h5._check_storage, ds, "a", "F", 1 << 20)
    assert msg.startswith("h5py is needed for h5_v1 sortings but is not installed"), msg


# == store: directory objects, origins, sizes, presigned URLs ==============================================

DIR_H = "0123456789abcdef0123456789abcdef01234567"
DIR_URI = f"sha1dir://{DIR_H}/a/b.txt"


def test_dirobj_not_a_directory_and_no_such_file_are_named():
    from intake_npx2020.store.dirobj import file_sha1

    assert _raises(InvalidObject, file_sha1, b"[1, 2]", DIR_H, "b.txt", DIR_URI) == \
        f"{DIR_URI}: directory object {DIR_H} is a list, not a directory object"
    obj = json.dumps({"files": {"c.txt": {"sha1": DIR_H}}, "dirs": {"a": {"files": {}}}}).encode()
    assert _raises(ContentNotFound, file_sha1, obj, DIR_H, "b.txt", DIR_URI) == \
        f"{DIR_URI}: no file 'b.txt' in directory object {DIR_H}"
    assert _raises(ContentNotFound, file_sha1, obj, DIR_H, "z/b.txt", DIR_URI) == \
        f"{DIR_URI}: no directory 'z' in directory object {DIR_H}"
    assert file_sha1(obj, DIR_H, "c.txt", DIR_URI) == DIR_H


def test_origin_parse_messages_say_source_by_default():
    from intake_npx2020.store.origin import Origin, parse_sources

    assert _raises(InvalidObject, Origin.parse, "ftp://127.0.0.1/x") == \
        "source: url 'ftp://127.0.0.1/x' is not an http(s):// URL"
    assert _raises(InvalidObject, Origin.parse, {"url": "http://127.0.0.1/x", "size": 0}, "mine") == \
        "mine: size must be a whole number > 0, got 0"
    assert _raises(InvalidObject, parse_sources, [{"url": "http://127.0.0.1/x"}, 7]) == \
        "metadata.sources[1]: a source is a mapping with a 'url' string, got 7"


@pytest.mark.parametrize("text, n", [("512mib", 512 * 2**20), ("50gb", 50 * 10**9), ("2Kb", 2000),
                                     ("3 tib", 3 * 2**40), ("7", 7)],
                         ids=["mib", "gb", "Kb", "space-tib", "bare"])
def test_parse_size_units_in_any_case(text, n):
    from intake_npx2020.store.config import parse_size

    assert parse_size(text) == n


def test_parse_size_unknown_unit_is_refused():
    from intake_npx2020.store.config import parse_size

    assert _raises(ConfigError, parse_size, "5 furlongs").startswith("cannot read size '5 furlongs': use bytes")


@pytest.fixture
def eastern_time(monkeypatch):
    """Local time 5 hours behind UTC (a POSIX TZ string: needs no time zone database)."""
    monkeypatch.setenv("TZ", "EST+5")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_url_expiry_reads_the_signing_time_as_utc(eastern_time):
    from intake_npx2020.store.remote_http import url_expiry

    t0 = calendar.timegm((2024, 1, 2, 3, 4, 5))
    assert url_expiry("http://127.0.0.1/b/k?X-Amz-Date=20240102T030405Z&X-Amz-Expires=600&X-Amz-Signature=ab") == \
        t0 + 600
    assert url_expiry("http://127.0.0.1/b/k?X-Goog-Date=20240102T030405Z&X-Goog-Expires=60") == t0 + 60


def test_url_expiry_of_a_sigv2_url():
    from intake_npx2020.store.remote_http import url_expiry

    assert url_expiry("http://127.0.0.1/b/k?AWSAccessKeyId=A&Expires=1700000000&Signature=x") == 1700000000.0
    assert url_expiry("http://127.0.0.1/b/k?Expires=soon") is None


class _RefusingStub(stubs.base.StubBase):
    """Answers every request with 403 and ``body``."""

    def __init__(self, body: bytes):
        super().__init__()
        self.body = body

    def _route(self, h, method, path, query, body):
        h._send(403, self.body, "text/plain")


def test_refused_url_message_quotes_only_the_start_of_the_body(monkeypatch):
    from intake_npx2020.store.remote_http import URLExpired, URLReader

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with _RefusingStub(b"Request has expired" + b" " * 4000 + b"LATER-TEXT") as s:
        base = s.url
        msg = _raises(URLExpired, URLReader(timeout=5).read, f"{base}/bucket/key?X-Amz-Signature=abc")
    assert msg == f"GET {base}/bucket/key: HTTP 403 Request has expired"  # the body's first 2 KiB only


# == store: partial downloads, fetch, download ==============================================================

def test_partial_before_resume_and_close_twice(tmp_path):
    from intake_npx2020.store.partial import Partial

    h = sha1(b"x")
    p = Partial(tmp_path, h, 10, [(0, 4), (4, 10)])
    assert p.todo() == [(0, 4), (4, 10)] and p.done == {}
    p.close()  # never opened: nothing to close
    p.open()
    fd = p._fd
    p.write(0, b"abcd", sha1(b"abcd"))
    p.close()
    with pytest.raises(OSError):
        os.fstat(fd)  # the descriptor was closed
    p.close()
    assert p.todo() == [(4, 10)]
    assert Partial(tmp_path, h, 10, [(0, 4), (4, 10)]).discard() == 0


class _SlowPieces:
    """A source of ``data`` whose reads take a while; records how many run at once."""

    name = "slow source"

    def __init__(self, data: bytes):
        from intake_npx2020.store.mirror import Body

        self.data, self.Body = data, Body
        self.now = self.most = 0
        self.lock = threading.Lock()

    def read(self, a, b):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.05)
        with self.lock:
            self.now -= 1
        return self.Body(bytearray(self.data[a:b]), sha1(self.data[a:b]))


def test_pull_runs_at_most_workers_reads_at_once(tmp_path):
    from intake_npx2020.store.download import _pull
    from intake_npx2020.store.partial import Partial

    data = random_bytes(60, seed=5)
    bounds = [(a, a + 10) for a in range(0, 60, 10)]
    part = Partial(tmp_path, sha1(data), len(data), bounds)
    part.open()
    src = _SlowPieces(data)
    _pull(src, part, {}, 1, 1, SimpleNamespace(update=lambda n: None))
    part.close()
    assert src.most == 1 and part.todo() == [] and part.path.read_bytes() == data


NOWHERE = {"url": "http://127.0.0.1:9/never-asked"}  # a source that must not be needed


def test_fetch_of_a_file_already_here_names_it(tmp_path):
    from intake_npx2020.store import get_store
    from intake_npx2020.store.download import fetch

    uri = put_file(tmp_path / "own-store", b"already here", label="here.bin")
    f = fetch(get_store(), uri, progress=False)
    assert (f.uri, f.nbytes, f.source) == (uri, 0, "already in a local store")


def test_fetch_by_chunks_says_where_they_came_from(tmp_path):
    from intake_npx2020.store import get_store
    from intake_npx2020.store.download import fetch

    data = random_bytes(300_000, seed=8)
    uri = put_file(tmp_path / "own-store", data, [0, 100_000, 300_000], whole=False, chunks=True)
    f = fetch(get_store(), uri, progress=False)
    assert (f.uri, f.nbytes, f.source) == (uri, 0, "every chunk already in a local store")
    assert f.manifest == uri.split("manifest=")[1]
    srv = FaultServer(tmp_path / "mirror")
    try:
        uri2 = put_file(tmp_path / "mirror", random_bytes(300_000, seed=9), [0, 100_000, 300_000], whole=False,
                        chunks=True)
        f2 = fetch(get_store({"mirrors": [srv.url]}), uri2, progress=False)
        assert (f2.uri, f2.nbytes, f2.source) == (uri2, 300_000, "stores, mirrors and kachery")
    finally:
        srv.close()


def test_fetch_of_a_small_file_from_a_mirror_names_it(tmp_path):
    from intake_npx2020.store import get_store
    from intake_npx2020.store.download import fetch

    data = random_bytes(5000, seed=4)
    uri = put_file(tmp_path / "mirror", data, label="small.bin")
    srv = FaultServer(tmp_path / "mirror")
    try:
        f = fetch(get_store({"mirrors": [srv.url]}), uri, progress=False)
    finally:
        srv.close()
    assert (f.uri, f.nbytes, f.source) == (uri, len(data), "stores, mirrors and kachery")


def test_fetch_without_a_size_says_why_the_stores_failed_too():
    from intake_npx2020.store import get_store
    from intake_npx2020.store.download import fetch

    h = sha1(b"nowhere to be found")
    msg = _raises(ContentNotFound, fetch, get_store(), f"sha1://{h}/x.bin", [NOWHERE], progress=False)
    assert re.match(rf"sha1://{h}/x\.bin: its size is unknown \(no manifest, no source states it\), so it cannot "
                    rf"be downloaded by ranges\. sha1://{h}/x\.bin: blob {h} is not in any local store", msg), msg


def test_download_larger_than_the_free_space_names_the_file(monkeypatch):
    import shutil

    from intake_npx2020.store import get_store
    from intake_npx2020.store.download import fetch

    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    h = sha1(b"big")
    msg = _raises(StoreFullError, fetch, get_store(), f"sha1://{h}/big.bin", [{**NOWHERE, "size": 5 * 10**9}],
                  progress=False)
    assert msg.startswith(f"sha1://{h}/big.bin: the download needs 5.0 GB more"), msg


def test_download_resumed_from_a_complete_partial(tmp_path):
    from intake_npx2020.store import get_store
    from intake_npx2020.store.download import fetch
    from intake_npx2020.store.partial import Partial

    data = random_bytes(50_000, seed=6)
    h = sha1(data)
    st = get_store()
    bounds = [(a, min(a + 20_000, len(data))) for a in range(0, len(data), 20_000)]
    part = Partial(st.own.path, h, len(data), bounds)
    part.open()
    for a, b in bounds:
        part.write(a, data[a:b], sha1(data[a:b]))
    part.close()
    f = fetch(st, f"sha1://{h}/r.bin", [{**NOWHERE, "size": len(data)}], piece=20_000, progress=False)
    assert (f.nbytes, f.source) == (0, "a partial download already complete")
    assert Path(st.locate(h)).read_bytes() == data


# == store: kachery lookups and keys =========================================================================

@pytest.fixture
def gateway(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with stubs.BucketStub(tmp_path / "gw-bucket") as gb, stubs.GatewayStub(gb) as gw:
        monkeypatch.setenv("KACHERY_GATEWAY_URL", gw.url)
        yield gw


def test_gateway_busy_is_transient_and_non_json_is_named(gateway):
    from intake_npx2020.store.kachery import find_gateway
    from intake_npx2020.store.mirror import TransientError

    h = gateway.add_file(b"kachery bytes")
    url = f"{gateway.url}/api/gateway"
    for status in (429, 503):
        gateway.fail_next = [status]
        assert _raises(TransientError, find_gateway, h, timeout=5) == f"kachery-cloud gateway {url}: HTTP {status}"
    gateway.fail_next = [200]  # a 200 whose body is text, not JSON
    assert _raises(FetchError, find_gateway, h, timeout=5) == \
        f"kachery-cloud gateway {url} answered with something that is not JSON: 'Error: injected 200'"
    assert find_gateway(h, timeout=5).size == len(b"kachery bytes")


def test_findfile_answer_size_must_be_a_whole_number_not_a_bool():
    from intake_npx2020.store.kachery import _found

    url = "http://127.0.0.1:9/api/gateway"
    ok = _found({"found": True, "url": "http://127.0.0.1:9/b/k", "size": 3}, "gw", url)
    assert (ok.url, ok.size, ok.service) == ("http://127.0.0.1:9/b/k", 3, "gw")
    for size in (True, False, -1, 2.0, None):
        resp = {"found": True, "url": "http://127.0.0.1:9/b/k", "size": size}
        assert _raises(FetchError, _found, resp, "gw", url) == \
            f"gw {url}: findFile answer without a url and size: {str(resp)!r}"


def test_malformed_findfile_answer_is_quoted_up_to_200_characters():
    from intake_npx2020.store.kachery import _found

    url = "http://127.0.0.1:9/api/gateway"
    resp = {"found": "yes", "padding": "p" * 400}
    assert _raises(FetchError, _found, resp, "gw", url) == \
        f"gw {url}: malformed findFile answer {str(resp)[:200]!r}"


def test_sign_payload_with_a_key_of_another_client():
    pytest.importorskip("cryptography")
    from intake_npx2020.store.kachery_keys import sign_payload

    secret = bytes(range(32))
    other = stubs.ed25519_public_key(bytes(range(1, 33))).hex()
    assert _raises(ValueError, sign_payload, {"type": "findFile"}, (other, secret.hex())) == \
        "the kachery-cloud private key does not belong to KACHERY_CLOUD_CLIENT_ID / public.pem"
    own = stubs.ed25519_public_key(secret).hex()
    assert len(sign_payload({"type": "findFile"}, (own, secret.hex()))) == 128
