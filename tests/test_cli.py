import os
import subprocess
import sys

from helpers import random_bytes, sha1

from intake_npx2020.apps.cli import main
from intake_npx2020.store.manifest import Manifest
from intake_npx2020.store import get_store
from intake_npx2020.store.uri import parse_uri


def test_add_copy_then_confirm(tmp_path, capsys):
    data = random_bytes(45_000_000, seed=2)  # > 20 MB: gets a manifest with 20 MB chunks
    f = tmp_path / "raw.bin"
    f.write_bytes(data)
    assert main(["add", str(f)]) == 0
    line = capsys.readouterr().out.strip()
    uri = line.split("\t")[0]
    u = parse_uri(uri)
    assert u.sha1 == sha1(data) and u.label == "raw.bin" and u.manifest and "added" in line
    s = get_store()
    m = s.manifest(u.manifest)
    assert [c.end for c in m.chunks] == [20_000_000, 40_000_000, 45_000_000]
    assert m.chunks[1].sha1 == sha1(data[20_000_000:40_000_000])
    assert isinstance(m, Manifest) and m.hash == u.manifest
    assert bytes(s.read(uri, 19_999_990, 20_000_010)) == data[19_999_990:20_000_010]
    assert s.own.is_pinned(u.sha1)
    assert main(["add", str(f)]) == 0
    again = capsys.readouterr().out
    assert again.split("\t")[0] == uri and "already in store" in again


def test_add_links(tmp_path, capsys):
    data = random_bytes(1_000_000, seed=3)
    f = tmp_path / "a.bin"
    f.write_bytes(data)
    store = tmp_path / "linked"
    assert main(["add", str(f), "--link", "--store", str(store)]) == 0
    uri = capsys.readouterr().out.split("\t")[0]
    blob = store / "sha1" / sha1(data)[:2]
    path = next(blob.rglob(sha1(data)))
    assert os.stat(path).st_ino == os.stat(f).st_ino
    g = tmp_path / "b.bin"
    g.write_bytes(data[::-1])
    assert main(["add", str(g), "--link", "sym", "--store", str(store)]) == 0
    uri2 = capsys.readouterr().out.split("\t")[0]
    path2 = next((store / "sha1").rglob(sha1(data[::-1])))
    assert os.path.islink(path2) and os.readlink(path2) == str(g)
    assert bytes(get_store({"store": str(store)}).read(uri2, 0, 5)) == data[::-1][:5]
    assert uri != uri2


def test_add_missing_file_clear_error(tmp_path, capsys):
    assert main(["add", str(tmp_path / "nope.bin")]) == 1
    assert "nope.bin" in capsys.readouterr().err


def test_fetch_and_cache(blob, tmp_path, serve_process, monkeypatch, capsys):
    root, data, uri = blob
    monkeypatch.setenv("NPX2020_MIRRORS", serve_process(root))
    assert main(["fetch", uri]) == 0
    assert "fetched 12000000 bytes" in capsys.readouterr().out
    assert main(["fetch", uri]) == 0  # resumable: nothing left to fetch
    assert "fetched 0 bytes" in capsys.readouterr().out
    assert main(["cache"]) == 0
    assert "cached (evictable) blobs" in capsys.readouterr().out
    assert main(["cache", "--clear"]) == 0
    assert get_store().own.cached_blobs() == []


def test_console_script_help():
    out = subprocess.run([sys.executable, "-m", "intake_npx2020", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "serve" in out.stdout and "add" in out.stdout
