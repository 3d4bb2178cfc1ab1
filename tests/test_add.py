"""npx2020 add-recording / add-sorting / include: a lab's files into a catalog, read back bit-exact (issue 19)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import intake
import numpy as np
import pytest
from authoring_data import OE_STREAM, write_openephys, write_phy, write_spikeglx

from intake_npx2020.apps.add import add_recording, add_sorting
from intake_npx2020.apps.cli import main
from intake_npx2020.errors import CatalogError, EntryNotFound, InvalidInputFile
from intake_npx2020.store.local import blob_relpath

probeinterface = pytest.importorskip("probeinterface")


def _open(catalog: Path):
    return intake.open_catalog(str(catalog))


def test_spikeglx_added_read_back_bit_exact(tmp_path, capsys):
    bin_path, raw = write_spikeglx(tmp_path / "sglx", frames=3000)
    cat_path = tmp_path / "lab" / "catalog.yaml"
    assert main(["add-recording", str(bin_path), "--id", "lab-np2", "--catalog", str(cat_path), "--lab", "mylab",
                 "--meta", "region=\"CA1\"", "--no-progress"]) == 0
    assert "lab-np2\tadded" in capsys.readouterr().out
    entry = _open(cat_path)["lab-np2"]
    x = entry.to_dask()
    assert x.dtype == np.int16 and x.shape == (3000, 384)
    assert np.array_equal(x.values, raw[:, :384])  # the sync column (384) is saved but not a channel
    window = x.sel(time=slice(0.02, 0.03)).isel(channel=slice(10, 20)).values
    assert np.array_equal(window, raw[600:900, 10:20])
    probe = probeinterface.read_spikeglx(bin_path.with_suffix(".meta"))
    assert np.array_equal(np.c_[x.x.values, x.y.values], probe.contact_positions)
    m = entry.metadata
    assert (m["probe"], m["num_channels"], m["raw_num_channels"], m["sync_channel"]) == ("NP2", 384, 385, 384)
    assert m["sampling_frequency"] == 30000 and m["duration_s"] == 0.1 and m["size_bytes"] == raw.nbytes
    assert m["gain_to_uV"] == 0.5 / 8192 / 80 * 1e6 and m["lab"] == "mylab" and m["region"] == "CA1"
    assert m["source"] == bin_path.name and m["source_format"] == "spikeglx" and m["probe_serial"] == "19011116954"
    obj = entry._captured_init_kwargs["recording"]
    h = hashlib.sha1(json.dumps(obj).encode()).hexdigest()  # the 2020 recordingPath rule
    assert m["object_sha1"] == h and m["recording_path"] == f"sha1://{h}/lab-np2.json"
    store = cat_path.parent / "store"
    assert json.loads((store / blob_relpath(h)).read_text()) == obj
    assert obj["data"]["raw"].startswith(f"sha1://{hashlib.sha1(raw.tobytes()).hexdigest()}/{bin_path.name}")
    assert cat_path.read_text().startswith("#")  # JSON body, valid YAML, written by write_catalog_file
    # added again: confirmed, same object hash, nothing changed
    before = cat_path.read_bytes()
    assert add_recording(bin_path, "lab-np2", cat_path, info={"lab": "mylab", "region": "CA1"},
                         progress=False).status == {"lab-np2": "unchanged"}
    assert cat_path.read_bytes() == before


def test_spikeglx_np1_gains_from_the_imro_table(tmp_path):
    imro = "(0,384)" + "".join(f"({c} 0 0 {1000 if c == 3 else 500} 250 1)" for c in range(384))
    np1 = {"imDatPrb_pn": "PRB_1_4_0480_1", "imDatPrb_type": "0", "imAiRangeMax": "0.6", "imAiRangeMin": "-0.6",
           "imMaxInt": "512", "imroTbl": imro}
    bin_path, raw = write_spikeglx(tmp_path / "np1", frames=600, **np1)
    cat = tmp_path / "catalog.yaml"
    add_recording(bin_path, "np1", cat, progress=False)
    m = _open(cat)["np1"].metadata
    assert m["probe"] == "NP1" and m["probe_detail"].startswith("PRB_1_4_0480_1")
    gains = m["channel_gain_to_uV"]  # mixed gains: one per channel, and no single gain_to_uV
    assert "gain_to_uV" not in m and gains[3] == 0.6 / 512 / 1000 * 1e6 and set(gains[4:]) == {2.34375}
    uniform = write_spikeglx(tmp_path / "np1u", frames=600, **{**np1, "imroTbl": imro.replace(" 1000 ", " 500 ")})[0]
    add_recording(uniform, "np1u", cat, progress=False)
    assert _open(cat)["np1u"].metadata["gain_to_uV"] == 2.34375
    assert np.array_equal(_open(cat)["np1"].to_dask().values, raw[:, :384])


def test_link_instead_of_copy_and_a_catalog_read_with_no_environment(tmp_path):
    bin_path, raw = write_spikeglx(tmp_path / "sglx", frames=1000)
    cat = tmp_path / "lab" / "catalog.yaml"
    assert main(["add-recording", str(bin_path), "--id", "rec", "--catalog", str(cat), "--link",
                 "--no-progress"]) == 0
    stored = cat.parent / "store" / blob_relpath(hashlib.sha1(raw.tobytes()).hexdigest())
    assert stored.stat().st_ino == bin_path.stat().st_ino  # hard-linked, not copied
    home, out = tmp_path / "home2", tmp_path / "out"
    home.mkdir()
    client = Path(__file__).parent / "publish_client.py"  # reads every entry in a fresh process
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NPX2020_KACHERY": "0"}
    r = subprocess.run([sys.executable, str(client), str(cat), str(out)], env=env, capture_output=True, text=True,
                       timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    assert np.array_equal(np.load(out / "rec.npy"), raw[:, :384])
    report = json.loads((out / "report.json").read_text())
    assert report["stores"]["rec"]["files_after"] == 0  # read in place from the store beside the catalog


def test_spikeglx_saved_subset_keeps_channel_ids_and_sync_column(tmp_path):
    saved = [*range(0, 24), 100, 101, 300]
    bin_path, raw = write_spikeglx(tmp_path / "sub", frames=2000, saved=saved, seed=4)
    cat = tmp_path / "catalog.yaml"
    add_recording(bin_path, "sub", cat, progress=False)
    x = _open(cat)["sub"].to_dask()
    assert x.channel.values.tolist() == saved
    assert np.array_equal(x.values, raw[:, :len(saved)])
    probe = probeinterface.read_spikeglx(bin_path.with_suffix(".meta"))
    assert np.array_equal(np.c_[x.x.values, x.y.values], probe.contact_positions)
    assert _open(cat)["sub"].metadata["sync_channel"] == len(saved)


def test_openephys_added_with_probeinterface_geometry(tmp_path):
    rec_dir, raw = write_openephys(tmp_path / "session", frames=2500)
    cat = tmp_path / "catalog.yaml"
    dat = rec_dir / "continuous" / OE_STREAM / "continuous.dat"
    for i, where in enumerate((rec_dir, dat)):  # the recording folder or its continuous.dat
        add_recording(where, f"oe{i}", cat, progress=False)
    entry = _open(cat)["oe0"]
    x = entry.to_dask()
    assert np.array_equal(x.values, raw)
    settings = rec_dir.parent.parent / "settings.xml"
    probe = probeinterface.read_openephys_neuropixels(settings, stream_name=OE_STREAM)
    assert np.array_equal(np.c_[x.x.values, x.y.values], probe.contact_positions)
    m = entry.metadata
    assert (m["probe"], m["sampling_frequency"], m["gain_to_uV"]) == ("NP1", 30000.0, 0.1949999928474426)
    assert m["source"].endswith(f"{OE_STREAM}/continuous.dat") and m["stream"] == OE_STREAM
    assert _open(cat)["oe1"]._captured_init_kwargs["recording"] == entry._captured_init_kwargs["recording"]


def test_raw_file_with_channels_rate_and_geometry(tmp_path, capsys):
    raw = np.random.default_rng(5).integers(-99, 99, (1000, 17), dtype=np.int16)
    dat = tmp_path / "rec.dat"
    dat.write_bytes(raw.tobytes())
    geom = tmp_path / "geom.csv"
    geom.write_text("".join(f"{(i % 2) * 20},{i * 10}\n" for i in range(16)))
    cat = tmp_path / "catalog.yaml"
    assert main(["add-recording", str(dat), "--id", "r", "--catalog", str(cat), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "--channels, --rate, --geometry" in err and len(err.strip().splitlines()) == 1
    assert main(["add-recording", str(dat), "--id", "r", "--catalog", str(cat), "--channels", "17", "--rate",
                 "20000", "--geometry", str(geom), "--gain", "0.195", "--probe", "tetrode-ish", "--no-progress"]) == 0
    e = _open(cat)["r"]
    x = e.to_dask()
    assert np.array_equal(x.values, raw[:, :16]) and x.y.values.tolist() == [i * 10.0 for i in range(16)]
    assert e._captured_init_kwargs["recording"]["data"]["samplerate"] == 20000  # kept as written: an int
    assert (e.metadata["probe"], e.metadata["gain_to_uV"]) == ("tetrode-ish", 0.195)
    probe = probeinterface.generate_linear_probe(num_elec=8, ypitch=25)
    probe.set_device_channel_indices([7, 6, 5, 4, 3, 2, 1, 0])
    probeinterface.write_probeinterface(tmp_path / "probe.json", probe)
    add_recording(dat, "r2", cat, channels=17, rate="20000.0", geometry=tmp_path / "probe.json", progress=False)
    x2 = _open(cat)["r2"].to_dask()
    assert x2.channel.values.tolist() == list(range(8)) and np.array_equal(x2.values, raw[:, :8])
    assert np.array_equal(x2.y.values, probe.contact_positions[::-1, 1])


def _meta_field(bin_path: Path, key: str, value: str) -> None:
    meta = bin_path.with_suffix(".meta")
    meta.write_text("".join(f"{key}={value}\n" if line.startswith(f"{key}=") else line + "\n"
                            for line in meta.read_text().splitlines()))


@pytest.mark.parametrize("key, value, field", [
    ("fileSizeBytes", "1000", "fileSizeBytes"),
    ("fileSHA1", "0" * 40, "fileSHA1"),
    ("nSavedChans", "384", "snsApLfSy"),            # counts that disagree with each other
])
def test_spikeglx_meta_that_disagrees_is_refused(tmp_path, key, value, field):
    bin_path, raw = write_spikeglx(tmp_path / "bad", frames=500)
    _meta_field(bin_path, key, value)
    cat = tmp_path / "catalog.yaml"
    with pytest.raises(InvalidInputFile, match=field) as err:
        add_recording(bin_path, "bad", cat, progress=False)
    assert str(bin_path.with_suffix(".meta")) in str(err.value)  # names the file …
    assert f"{field} = " in str(err.value)  # … and the field, with its value
    assert not cat.exists()
    assert not (tmp_path / "store" / blob_relpath(hashlib.sha1(raw.tobytes()).hexdigest())).exists()


def test_channel_count_that_does_not_divide_the_size_is_refused(tmp_path):
    bin_path, raw = write_spikeglx(tmp_path / "odd", frames=500)
    with open(bin_path, "ab") as f:
        f.write(b"\0\0")  # one sample more than whole frames
    _meta_field(bin_path, "fileSizeBytes", str(raw.nbytes + 2))
    with pytest.raises(InvalidInputFile, match=r"nSavedChans = 385.*\.meta|not a whole number of frames"):
        add_recording(bin_path, "odd", tmp_path / "catalog.yaml", progress=False)
    rec_dir, _ = write_openephys(tmp_path / "oe", frames=100, num_channels=384)
    oebin = rec_dir / "structure.oebin"
    oebin.write_text(oebin.read_text().replace('"num_channels": 384', '"num_channels": 383'))
    with pytest.raises(InvalidInputFile, match="num_channels = 383 in .*structure.oebin"):
        add_recording(rec_dir, "oe", tmp_path / "catalog.yaml", progress=False)


def test_sha1_mismatch_stores_nothing(tmp_path):
    bin_path, raw = write_spikeglx(tmp_path / "s", frames=400)
    _meta_field(bin_path, "fileSHA1", "AB" * 20)
    with pytest.raises(InvalidInputFile, match=r"\.meta: fileSHA1 = (AB){20} but .*ap\.bin hashes to"):
        add_recording(bin_path, "s", tmp_path / "cat" / "catalog.yaml", progress=False)
    store = tmp_path / "cat" / "store"
    assert not (store / blob_relpath(hashlib.sha1(raw.tobytes()).hexdigest())).exists()
    assert not (tmp_path / "cat" / "catalog.yaml").exists()


def test_openephys_sample_numbers_of_another_length_are_refused(tmp_path):
    rec_dir, _ = write_openephys(tmp_path / "oe", frames=300)
    np.save(rec_dir / "continuous" / OE_STREAM / "sample_numbers.npy", np.arange(299))
    with pytest.raises(InvalidInputFile, match="sample_numbers.npy: 299 entries"):
        add_recording(rec_dir, "oe", tmp_path / "catalog.yaml", progress=False)
    rec2, _ = write_openephys(tmp_path / "nosettings", frames=300, settings=False)
    with pytest.raises(InvalidInputFile, match="settings.xml: no Neuropixels probe.*--geometry"):
        add_recording(rec2, "oe", tmp_path / "catalog.yaml", progress=False)


# -- sortings ------------------------------------------------------------------------------------------------

@pytest.fixture
def lab(tmp_path):
    """A catalog with one SpikeGLX recording of 3000 frames."""
    bin_path, raw = write_spikeglx(tmp_path / "sglx", frames=3000)
    cat = tmp_path / "lab" / "catalog.yaml"
    add_recording(bin_path, "rec", cat, progress=False)
    return cat, raw


def test_phy_folder_added_with_curated_good_units(lab, tmp_path, capsys):
    cat, _ = lab
    folder, times, labels = write_phy(tmp_path / "ks", 3000)
    assert main(["add-sorting", str(folder), "--recording", "rec", "--id", "rec:ks", "--catalog", str(cat)]) == 0
    out = capsys.readouterr().out
    assert "rec:ks\tadded" in out and "rec:ks:curated\tadded" in out
    c = _open(cat)
    assert c["rec"].metadata["sortings"] == ["rec:ks", "rec:ks:curated"]
    df = c["rec:ks"].read()
    assert np.array_equal(df.sample_index.values, times) and np.array_equal(df.unit_id.values, labels)  # sorted
    assert np.array_equal(df.time.values, times / 30000)
    m = c["rec:ks"].metadata
    assert (m["sorter"], m["unit_count"], m["num_spikes"], m["curated"]) == ("kilosort/phy", 6, len(times), False)
    u = {r["unit_id"]: r for r in m["units"]}
    assert u[3] == {"unit_id": 3, "num_spikes": int((labels == 3).sum()), "ContamPct": 4.5, "KSLabel": "good",
                    "group": "noise"}
    # the sorter's own files, verbatim: their sha1s are those of spike_times.npy / spike_clusters.npy
    data = c["rec:ks"]._captured_init_kwargs["sorting"]["data"]
    for key, name in (("times_npy_uri", "spike_times.npy"), ("labels_npy_uri", "spike_clusters.npy")):
        assert data[key].startswith(f"sha1://{hashlib.sha1((folder / name).read_bytes()).hexdigest()}/{name}")
    assert data["samplerate"] == 30000  # the recording's, as its object states it
    good = c["rec:ks:curated"]
    assert sorted(set(good.read().unit_id)) == [0, 2, 4] and good.metadata["curated"] is True
    assert good.metadata["unit_count"] == 3 and [r["group"] for r in good.metadata["units"]] == ["good"] * 3
    assert good.metadata["num_spikes"] == int(np.isin(labels, [0, 2, 4]).sum())
    assert np.array_equal(good.spike_train(2), np.sort(times[labels == 2]))


def test_sorting_added_again_is_confirmed_and_a_different_one_refused(lab, tmp_path):
    cat, _ = lab
    folder, _, _ = write_phy(tmp_path / "ks", 3000)
    add_sorting(folder, "rec", "rec:ks", cat)
    assert add_sorting(folder, "rec", "rec:ks", cat).status == {"rec:ks": "unchanged", "rec:ks:curated": "unchanged"}
    other, _, _ = write_phy(tmp_path / "ks2", 3000, seed=9)
    with pytest.raises(CatalogError, match="'rec:ks' already names a different entry"):
        add_sorting(other, "rec", "rec:ks", cat)
    assert add_sorting(other, "rec", "rec:ks", cat, replace=True).status["rec:ks"] == "replaced"
    with pytest.raises(EntryNotFound, match="no recording 'rex'.*did you mean 'rec'"):
        add_sorting(other, "rex", "rex:ks", cat)


@pytest.mark.parametrize("damage, message", [
    ("beyond", r"spike_times.npy: spike time 3000 \(sample index\) is beyond recording rec"),
    ("negative", r"spike_times.npy: spike times holds negative values"),
    ("fractional", r"spike_times.npy: spike times holds non-integral values"),
    ("lengths", r"spike_times.npy: 400 spike times but .*spike_clusters.npy has 399 labels"),
    ("rate", r"params.py: sample_rate = 25000 Hz but recording rec is sampled at 30000 Hz"),
    ("table", r"cluster_group.tsv: field cluster_id is missing"),
])
def test_sortings_that_cannot_be_right_are_refused(lab, tmp_path, damage, message):
    cat, _ = lab
    folder, times, labels = write_phy(tmp_path / "ks", 3000, sample_rate=25000.0 if damage == "rate" else 30000.0)
    if damage == "beyond":
        times[-1] = 3000
        np.save(folder / "spike_times.npy", times.astype(np.uint64))
    elif damage == "negative":
        np.save(folder / "spike_times.npy", np.r_[-3, times[1:]])
    elif damage == "fractional":
        np.save(folder / "spike_times.npy", times + 0.5)
    elif damage == "lengths":
        np.save(folder / "spike_clusters.npy", labels[:-1])
    elif damage == "table":
        (folder / "cluster_group.tsv").write_text("unit\tgroup\n0\tgood\n")
    before = cat.read_bytes()
    with pytest.raises(InvalidInputFile, match=message):
        add_sorting(folder, "rec", "rec:ks", cat)
    assert cat.read_bytes() == before


def test_spikeinterface_folder_and_npy_pair(lab, tmp_path):
    si = pytest.importorskip("spikeinterface.core")
    cat, _ = lab
    times = np.array([5, 10, 20, 30, 2999])
    labels = np.array([1, 2, 1, 7, 2])
    s = si.NumpySorting.from_samples_and_labels([times], [labels], 30000.0)
    s.set_property("quality", np.array(["good", "mua", "good"]))
    s.save(folder=tmp_path / "si")
    add_sorting(tmp_path / "si", "rec", "rec:si", cat)
    e = _open(cat)["rec:si"]
    df = e.read()
    assert df.sample_index.tolist() == times.tolist() and df.unit_id.tolist() == labels.tolist()
    assert [(r["unit_id"], r["quality"]) for r in e.metadata["units"]] == [(1, "good"), (2, "mua"), (7, "good")]
    np.save(tmp_path / "t.npy", times)
    np.save(tmp_path / "l.npy", labels.astype(np.float64))  # integral floats, as some sorters write them
    assert main(["add-sorting", str(tmp_path / "t.npy"), "--labels", str(tmp_path / "l.npy"), "--recording",
                 "rec", "--id", "rec:npy", "--catalog", str(cat), "--sorter", "mysorter"]) == 0
    e2 = _open(cat)["rec:npy"]
    assert e2.read().unit_id.tolist() == labels.tolist() and e2.metadata["sorter"] == "mysorter"


def test_a_catalog_includes_the_2020_collection_and_a_labs_catalog(lab, tmp_path):
    lab_cat, raw = lab
    top = tmp_path / "all.yaml"
    assert main(["include", "npx2020", "--id", "npx2020", "--catalog", str(top)]) == 0
    assert main(["include", str(lab_cat), "--id", "mylab", "--catalog", str(top)]) == 0
    for opener in (intake.open_catalog, __import__("intake_npx2020").open_catalog):
        c = opener(str(top))
        assert list(c) == ["npx2020", "mylab"]
        assert "cortexlab-single-phase-3:curated" in list(c["npx2020"])
        assert c["npx2020"]["cortexlab-single-phase-3"].describe()["metadata"]["probe"] == "NP1"
        assert list(c["mylab"]) == ["rec"]
        assert np.array_equal(c["mylab"]["rec"].to_dask()[:100].values, raw[:100, :384])
    moved = tmp_path / "moved"  # the include is relative: the pair moves together
    moved.mkdir()
    (lab_cat.parent).rename(moved / "lab")
    top.rename(moved / "all.yaml")
    assert list(intake.open_catalog(str(moved / "all.yaml"))["mylab"]) == ["rec"]
