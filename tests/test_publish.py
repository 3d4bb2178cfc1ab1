"""npx2020 publish: a static site anyone opens by URL, read in a fresh process with an empty store (issue 19)."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import intake
import numpy as np
import pytest
import requests
from authoring_data import write_openephys, write_phy, write_spikeglx
from helpers import free_port

from intake_npx2020.apps.add import add_recording, add_sorting
from intake_npx2020.apps.cli import main
from intake_npx2020.apps.publish import publish
from intake_npx2020.errors import ContentNotFound
from intake_npx2020.sources.authoring import load_catalog_doc
from intake_npx2020.sources.catalog import write_catalog_file
from intake_npx2020.store.local import blob_relpath
from intake_npx2020.store.serve import serve_in_thread

pytest.importorskip("probeinterface")
CLIENT = Path(__file__).parent / "publish_client.py"


@pytest.fixture
def lab(tmp_path):
    """A lab catalog: a SpikeGLX NP2 recording with a phy sorting, and an Open Ephys NP1 recording of 20.9 MB
    (over the 20 MB manifest threshold: a chunked file, so it also gets a compressed form)."""
    src = tmp_path / "src"
    sglx, sglx_raw = write_spikeglx(src / "sglx", frames=3000)
    oe, oe_raw = write_openephys(src / "session", frames=27_200)
    folder, times, labels = write_phy(src / "ks", 3000)
    cat = tmp_path / "lab" / "catalog.yaml"
    add_recording(sglx, "np2", cat, info={"lab": "mylab"}, progress=False)
    add_recording(oe, "np1", cat, info={"lab": "mylab"}, progress=False)
    add_sorting(folder, "np2", "np2:ks", cat)
    good = np.isin(labels, [0, 2, 4])
    expected = {"np2": sglx_raw[:, :384], "np1": oe_raw, "np2_ks": np.stack([times, labels]),
                "np2_ks_curated": np.stack([times[good], labels[good]])}
    return cat, expected


def _run_client(url: str, tmp_path: Path) -> tuple[dict, Path]:
    """Open ``url`` in a new Python process with no environment: a fresh HOME (so an empty store), no NPX2020_*."""
    home, out = tmp_path / "client-home", tmp_path / "client-out"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "NPX2020_KACHERY": "0"}  # not needed to find anything; keeps a test off the internet if it failed
    r = subprocess.run([sys.executable, str(CLIENT), url, str(out)], env=env, cwd=tmp_path, capture_output=True,
                       text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads((out / "report.json").read_text()), out


def _check_reads(report: dict, out: Path, expected: dict, prefix: str = "") -> None:
    assert report["npx_ids"] == report["ids"]
    for key, want in expected.items():
        got = np.load(out / f"{prefix.replace(':', '_')}{key}.npy")
        assert got.shape == want.shape and np.array_equal(got, want), key
        if f"{prefix}{key}" in report["windows"]:
            a, b = report["windows"][f"{prefix}{key}"]
            assert np.array_equal(np.load(out / f"{prefix}{key}.window.npy"), want[a:b, 5:15]), key


@pytest.fixture
def static_server():
    """``python -m http.server`` (the standard library's static server: no Range support) serving a directory."""
    procs = []

    def start(root: Path) -> str:
        port = free_port()
        p = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory",
                              str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(p)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(base + "/npx2020-site.json", timeout=1)
                return base
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("http.server did not start")

    yield start
    for p in procs:
        p.terminate()
        p.wait(timeout=10)


def test_published_catalog_opens_by_url_in_a_fresh_process(lab, tmp_path, static_server):
    cat, expected = lab
    dest = tmp_path / "site" / "npx"
    p = publish(cat, dest, progress=False)
    # np2 raw, np1 raw + its manifest, spike times, clusters, cluster_group.tsv, 3 object JSONs
    assert (p.new_blobs, p.present_blobs, p.packed_files) == (9, 0, 1)
    assert sorted(x.name for x in dest.iterdir()) == ["catalog.yaml", "mirror", "npx2020-site.json"]
    assert list((dest / "mirror").rglob("*.pco.json")) and list((dest / "mirror").rglob("*.pco"))
    doc = load_catalog_doc(dest / "catalog.yaml")
    assert {json.dumps(e["args"]["storage_options"]) for e in doc["sources"].values()} == \
        {json.dumps({"mirrors": ["{{ CATALOG_DIR }}/mirror"]})}
    base = static_server(tmp_path / "site")  # published under a sub-path of the host
    report, out = _run_client(f"{base}/npx/catalog.yaml", tmp_path)
    assert report["ids"] == ["np2", "np1", "np2:ks", "np2:ks:curated"]
    first = report["stores"]["np2"]
    assert first["mirrors"] == [f"{base}/npx/mirror"] and first["files_before"] == 0
    assert first["store"].startswith(str(tmp_path / "client-home"))  # the user's own (empty) store
    assert report["stores"]["np1"]["files_after"] > 0  # fetched, verified, cached
    _check_reads(report, out, expected)


def test_served_by_npx2020_serve_with_ranges(lab, tmp_path, serve_process):
    cat, expected = lab
    dest = tmp_path / "site"
    assert main(["publish", str(cat), str(dest), "--no-compress", "--no-progress"]) == 0
    assert not list((dest / "mirror").rglob("*.pco.json"))
    base = serve_process(dest)
    assert requests.get(f"{base}/npx2020-site.json").status_code == 404  # only the catalogs and the mirror
    assert requests.get(f"{base}/catalog.yaml").text == (dest / "catalog.yaml").read_text()
    report, out = _run_client(f"{base}/catalog.yaml", tmp_path)
    _check_reads(report, out, expected)


def _raw_status(base: str, path: str) -> int:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def test_serve_answers_a_sites_catalogs_and_mirror_and_nothing_else(lab, tmp_path):
    cat, _ = lab
    dest = tmp_path / "site"
    publish(cat, dest, progress=False)
    (dest / "secret.txt").write_text("not published")
    blob = next(p for p in (dest / "mirror" / "sha1").rglob("*") if p.is_file())
    srv, base = serve_in_thread(dest)
    try:
        r = requests.get(f"{base}/catalog.yaml")
        assert r.text == (dest / "catalog.yaml").read_text() and r.headers["Cache-Control"] == "no-cache"
        url = f"{base}/{blob.relative_to(dest).as_posix()}"
        r = requests.get(url, headers={"Range": "bytes=0-9"})
        assert r.status_code == 206 and r.content == blob.read_bytes()[:10]
        assert "immutable" in r.headers["Cache-Control"]
        for bad in ("/npx2020-site.json", "/secret.txt", "/mirror/../catalog.yaml", "/./catalog.yaml", "/mirror/",
                    "/catalog.yaml/", "/%2e%2e/secret.txt", f"/other/{blob.relative_to(dest / 'mirror').as_posix()}"):
            assert _raw_status(base, bad) == 404, bad  # sent as written (requests would normalise dot segments)
        (dest / "catalog.yaml").unlink()
        (dest / "catalog.yaml").symlink_to(dest / "secret.txt")  # a link is never followed
        assert requests.get(f"{base}/catalog.yaml").status_code == 404
    finally:
        srv.shutdown()


def test_republish_copies_only_new_blobs(lab, tmp_path, capsys):
    cat, _ = lab
    dest = tmp_path / "site"
    assert main(["publish", str(cat), str(dest), "--no-progress"]) == 0
    assert "9 new blobs" in capsys.readouterr().out
    stamps = {f: f.stat().st_mtime_ns for f in (dest / "mirror").rglob("*") if f.is_file()}
    assert main(["publish", str(cat), str(dest), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "0 new blobs (0 bytes), 9 already there" in out and "0 new chunks, 2 already there" in out
    times = np.array([1, 2, 3, 2999])
    np.save(tmp_path / "t.npy", times)
    np.save(tmp_path / "l.npy", np.array([7, 7, 8, 8]))
    add_sorting(tmp_path / "t.npy", "np2", "np2:mine", cat, labels=tmp_path / "l.npy")
    p = publish(cat, dest, progress=False)
    assert (p.new_blobs, p.present_blobs) == (3, 9)  # times, labels, the object's JSON
    assert {f: f.stat().st_mtime_ns for f in stamps} == stamps  # nothing rewritten
    assert "np2:mine" in load_catalog_doc(dest / "catalog.yaml")["sources"]


def test_published_directory_reads_from_disk_wherever_it_goes(lab, tmp_path):
    cat, expected = lab
    publish(cat, tmp_path / "site", link="hard", progress=False)
    raw = (tmp_path / "src" / "session").rglob("continuous.dat").__next__()
    rel = blob_relpath(hashlib.sha1(raw.read_bytes()).hexdigest())
    assert (tmp_path / "site" / "mirror" / rel).stat().st_ino == (cat.parent / "store" / rel).stat().st_ino
    moved = tmp_path / "elsewhere" / "copy"
    moved.parent.mkdir()
    (tmp_path / "site").rename(moved)
    c = intake.open_catalog(str(moved / "catalog.yaml"))
    assert np.array_equal(c["np1"].to_dask().values, expected["np1"])
    assert c["np1"].store.config.read_roots[0] == str(moved / "mirror")  # the mirror, as a local read root


def test_nested_catalogs_publish_beside_and_open_by_url(lab, tmp_path, static_server):
    cat, expected = lab
    top = tmp_path / "top" / "catalog.yaml"
    assert main(["include", "npx2020", "--id", "npx2020", "--catalog", str(top)]) == 0
    assert main(["include", str(cat), "--id", "mylab", "--catalog", str(top)]) == 0
    p = publish(top, tmp_path / "site", progress=False)
    assert [c.relative_to(tmp_path / "site").as_posix() for c in p.catalogs] == ["mylab/catalog.yaml",
                                                                                 "catalog.yaml"]
    report, out = _run_client(f"{static_server(tmp_path / 'site')}/catalog.yaml", tmp_path)
    assert report["ids"] == ["npx2020", "mylab"] and report["npx2020_entries"] == 47
    _check_reads(report, out, expected, prefix="mylab.")


def test_publish_refuses_what_it_cannot_mirror(tmp_path, capsys):
    cat = tmp_path / "catalog.yaml"
    missing = "sha1://" + "ab" * 20 + "/gone.npy"
    write_catalog_file(cat, {"x:drift": {"driver": "npx_drift", "args": {"timestamps": missing, "positions": missing,
                                                                       "storage_options": {"read_roots": []}}}})
    with pytest.raises(ContentNotFound, match="abab"):
        publish(cat, tmp_path / "site", progress=False)
    assert not (tmp_path / "site" / "catalog.yaml").exists()
    assert main(["publish", str(cat), str(tmp_path / "site"), "--no-progress"]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
