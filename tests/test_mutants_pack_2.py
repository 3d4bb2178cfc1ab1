"""What ``npx2020 pack`` plans from a store directory or from URIs, and how ``npx2020 serve`` opens files without
following links: exact plans, exact refusals, no descriptor leaked or closed that is not its own (written for
mutmut survivors in ``store/packplan.py`` and ``store/safeopen.py``)."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pytest
from helpers import put_file, random_bytes, sha1, write_blob

from intake_npx2020.errors import ContentNotFound, IntegrityError
from intake_npx2020.store import safeopen
from intake_npx2020.store.local import blob_relpath
from intake_npx2020.store.manifest import Chunk, Manifest
from intake_npx2020.store.packplan import (
    MAX_MANIFEST,
    plan_store,
    plan_uris,
    reader_store,
    scan_blobs,
)
from intake_npx2020.store.safeopen import inside, open_below, open_blob


def manifest_blob(root: Path, data: bytes, bounds: list[int], pad: int = 0) -> tuple[str, Manifest]:
    m = Manifest(len(data), sha1(data), tuple(Chunk(a, b, sha1(data[a:b])) for a, b in itertools.pairwise(bounds)))
    return write_blob(root, m.to_bytes() + b" " * pad), m


# == packplan: scanning ===========================================================================================

def test_scan_lists_blobs_and_link_records_at_depth_three_under_their_own_prefix(tmp_path):
    root = tmp_path / "s"
    a = write_blob(root, b"a")
    b = sha1(b"b")
    (root / blob_relpath(b)).parent.mkdir(parents=True)
    (root / (blob_relpath(b) + ".link")).write_text("{}")  # a kachery-p2p record: listed by its sha1
    c = sha1(b"c")
    wrong = root / "sha1" / "00" / "00" / "00"  # a blob in another blob's directory: not listed
    wrong.mkdir(parents=True)
    (wrong / c).write_bytes(b"c")
    (root / "sha1" / a[:2] / a[2:4] / a[4:6] / "notes.txt").write_text("not a blob")
    (root / "sha1" / a[:2] / a[2:4] / a).write_bytes(b"too shallow")
    deep = root / "sha1" / a[:2] / a[2:4] / a[4:6] / "x"
    deep.mkdir()
    (deep / a).write_bytes(b"too deep")
    (root / "sha1" / a[:2] / a[2:4] / a[4:6] / (c + ".tmp")).write_bytes(b"")
    (root / "other").mkdir()
    (root / "other" / a).write_bytes(b"a")
    assert scan_blobs(root) == sorted([a, b])
    assert scan_blobs(tmp_path / "empty") == []


# == packplan: a store directory ==================================================================================

def test_plan_store_packs_whole_or_chunked_files_and_copies_the_rest(tmp_path):
    root = tmp_path / "s"
    whole = random_bytes(30_000, seed=1)
    uri_whole = put_file(root, whole, [0, 10_000, 30_000], whole=True)
    chunked = random_bytes(20_000, seed=2)
    uri_chunked = put_file(root, chunked, [0, 5_000, 20_000], whole=False, chunks=True)
    partial = random_bytes(20_000, seed=3)
    h_partial, _ = manifest_blob(root, partial, [0, 7_000, 20_000])
    write_blob(root, partial[:7_000])  # one chunk of two: not all bytes here
    others = [write_blob(root, random_bytes(100 + i, seed=10 + i)) for i in range(12)]  # not manifests
    others.append(write_blob(root, b'{"files": {}, "dirs": {}}'))  # JSON, not a manifest
    others.append(write_blob(root, b"{"))
    st = reader_store(root, tmp_path / "scratch")
    blobs, files = plan_store(st, root)
    h_whole, h_chunked = uri_whole.split("manifest=")[1], uri_chunked.split("manifest=")[1]
    assert sorted(files) == sorted([sha1(whole), sha1(chunked)])
    assert files[sha1(whole)][0] == h_whole and files[sha1(whole)][2] is st
    assert files[sha1(whole)][1].chunks == tuple(Chunk(a, b, sha1(whole[a:b])) for a, b in [(0, 10_000),
                                                                                             (10_000, 30_000)])
    assert files[sha1(chunked)][0] == h_chunked and files[sha1(chunked)][1].size == 20_000
    expect = sorted(others + [h_whole, h_chunked, h_partial, sha1(partial[:7_000])])
    assert sorted(blobs) == expect  # the planned files' bytes and chunks are not copied; their manifests are
    assert all(s is st for s in blobs.values())
    assert not (tmp_path / "scratch").exists() or not list((tmp_path / "scratch").rglob("sha1/*"))


def test_plan_store_takes_the_first_manifest_of_a_file_by_hash_and_copies_the_others(tmp_path):
    root = tmp_path / "s"
    data = random_bytes(40_000, seed=4)
    write_blob(root, data)
    manifests = sorted(manifest_blob(root, data, bounds)[0] for bounds in
                       ([0, 40_000], [0, 1, 40_000], [0, 20_000, 40_000], [0, 39_999, 40_000]))
    blobs, files = plan_store(reader_store(root, tmp_path / "x"), root)
    assert list(files) == [sha1(data)] and files[sha1(data)][0] == manifests[0]
    assert sorted(blobs) == manifests


def test_plan_store_reads_a_manifest_up_to_max_manifest_bytes(tmp_path):
    root = tmp_path / "s"
    data = random_bytes(1000, seed=5)
    write_blob(root, data)
    body = Manifest(len(data), sha1(data), (Chunk(0, 1000, sha1(data)),)).to_bytes()
    h_at = write_blob(root, body + b" " * (MAX_MANIFEST - len(body)))
    assert os.path.getsize(root / blob_relpath(h_at)) == MAX_MANIFEST == 64 << 20
    blobs, files = plan_store(reader_store(root, tmp_path / "x"), root)
    assert files[sha1(data)][0] == h_at
    (root / blob_relpath(h_at)).unlink()
    h_over = write_blob(root, body + b" " * (MAX_MANIFEST + 1 - len(body)))
    blobs, files = plan_store(reader_store(root, tmp_path / "x"), root)
    assert files == {} and sorted(blobs) == sorted([h_over, sha1(data)])


def test_plan_store_copies_a_dangling_link_record_as_a_blob(tmp_path):
    root = tmp_path / "s"
    h = sha1(b"gone")
    (root / blob_relpath(h)).parent.mkdir(parents=True)
    (root / (blob_relpath(h) + ".link")).write_text(json.dumps({"path": str(tmp_path / "gone.bin")}))
    st = reader_store(root, tmp_path / "x")
    assert plan_store(st, root) == ({h: st}, {})


def test_reader_store_asks_no_mirror_and_no_kachery(tmp_path, monkeypatch):
    monkeypatch.setenv("NPX2020_MIRRORS", "http://127.0.0.1:9")
    monkeypatch.setenv("NPX2020_KACHERY", "1")
    st = reader_store(tmp_path / "s", tmp_path / "x")
    with pytest.raises(ContentNotFound) as e:
        st.load_bytes("a" * 40)
    assert "no mirror is configured" in str(e.value)
    assert st.config.read_roots == (str(tmp_path / "s"),) and st.config.store == str(tmp_path / "x")


# == packplan: URIs ===============================================================================================

def test_plan_uris_files_with_manifests_their_manifests_and_directory_objects(tmp_path):
    root = tmp_path / "s"
    st = reader_store(root, tmp_path / "x")
    data = random_bytes(20_000, seed=6)
    uri = put_file(root, data, [0, 8_000, 20_000], whole=True)
    h_m = uri.split("manifest=")[1]
    h_other, _ = manifest_blob(root, data, [0, 1_000, 20_000])
    small = b"small file"
    write_blob(root, small)
    tree = {"files": {"a.bin": {"size": len(small), "sha1": sha1(small)}}, "dirs": {}}
    h_dir = write_blob(root, json.dumps(tree).encode())
    pairs = [(st, uri), (st, f"sha1://{sha1(data)}/raw.bin?manifest={h_other}"), (st, f"sha1://{sha1(data)}/y"),
             (st, f"sha1dir://{h_dir}.d/a.bin")]
    blobs, files = plan_uris(pairs)
    assert sorted(blobs) == sorted([h_m, h_other, sha1(small), h_dir])
    assert all(s is st for s in blobs.values())
    assert list(files) == [sha1(data)]
    assert files[sha1(data)][0] == h_m and files[sha1(data)][2] is st  # the first manifest named wins
    assert files[sha1(data)][1].chunks[0] == Chunk(0, 8_000, sha1(data[:8_000]))
    blobs, files = plan_uris([(st, f"sha1://{sha1(data)}/y"), (st, uri)])  # named whole first, then chunked
    assert sorted(blobs) == [h_m] and list(files) == [sha1(data)]
    blobs, files = plan_uris([(st, uri)])  # named only with its manifest
    assert blobs == {h_m: st} and list(files) == [sha1(data)]


def test_plan_uris_checks_the_manifest_against_the_uri(tmp_path):
    root = tmp_path / "s"
    st = reader_store(root, tmp_path / "x")
    data = random_bytes(5_000, seed=7)
    h_m, _ = manifest_blob(root, data, [0, 5_000])
    with pytest.raises(IntegrityError, match=f"manifest {h_m} describes file {sha1(data)}, not {'b' * 40}"):
        plan_uris([(st, f"sha1://{'b' * 40}/x?manifest={h_m}")])
    missing = "c" * 40
    with pytest.raises(ContentNotFound, match=f"manifest {missing} of sha1://{'b' * 40}/x\\?manifest={missing}"):
        plan_uris([(st, f"sha1://{'b' * 40}/x?manifest={missing}")])


# == safeopen: inside =============================================================================================

def test_inside_is_strictly_below_a_directory_with_or_without_a_trailing_slash():
    assert inside("/a/b", ("/a",)) and inside("/a/b", ("/a/",)) and inside("/a/b/c", ("/x", "/a"))
    assert not inside("/ab", ("/a",)) and not inside("/a", ("/a",)) and not inside("/a/b", ())
    assert inside("/etc/passwd", ("/",))  # --link-dir / admits every path
    assert inside("/data/rawX/f.bin", ("/data/rawX",)) and not inside("/data/raw/f.bin", ("/data/rawX",))


# == safeopen: descriptors ========================================================================================

def _fds() -> set[int]:
    return {int(n) for n in os.listdir("/proc/self/fd")}


def read_fd(fd: int | None) -> bytes | None:
    if fd is None:
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read()


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "c.txt").write_bytes(b"abc")
    (root / "a" / "x.txt").write_bytes(b"ax")
    (root / "top.txt").write_bytes(b"top")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "c.txt").write_bytes(b"secret")
    os.symlink(tmp_path / "outside", root / "linkdir")
    os.symlink(tmp_path / "outside" / "c.txt", root / "link.txt")
    os.mkfifo(root / "fifo")
    return root


def test_open_below_opens_nested_regular_files_only(tree):
    before = _fds()
    assert read_fd(open_below(str(tree), "a/b/c.txt")) == b"abc"
    assert read_fd(open_below(str(tree), "a/x.txt")) == b"ax"
    assert read_fd(open_below(str(tree), "top.txt")) == b"top"
    for bad in ("", "a//x.txt", "./top.txt", "a/./x.txt", "a/../top.txt", "a/b/../x.txt", "../root/top.txt",
                "/top.txt", "a/", "a", "a/b", "linkdir/c.txt", "link.txt", "fifo", "missing", "a/missing/c.txt",
                "top.txt/x"):
        assert open_below(str(tree), bad) is None, bad
    assert open_below(str(tree / "top.txt"), "x") is None
    assert open_below(str(tree / "missing"), "top.txt") is None
    assert _fds() == before  # none leaked, none of anyone else's closed


def test_open_blob_walks_the_hash_directories(tmp_path):
    root = tmp_path / "s"
    h = write_blob(root, b"blob bytes")
    before = _fds()
    assert read_fd(open_blob(str(root), h)) == b"blob bytes"
    assert read_fd(open_blob(str(root), h, (str(tmp_path),))) == b"blob bytes"
    assert open_blob(str(root), sha1(b"absent")) is None
    assert open_blob(str(root), sha1(b"absent"), (str(tmp_path),)) is None
    assert open_blob(str(tmp_path / "nowhere"), h) is None
    fake = root / "sha1" / h[:2] / h[2:4] / h[4:6] / ("0" * 40)  # right directory, another name
    fake.write_bytes(b"x")
    assert open_blob(str(root), "0" * 40) is None
    hf = sha1(b"fifo")
    (root / blob_relpath(hf)).parent.mkdir(parents=True)
    os.mkfifo(root / blob_relpath(hf))
    assert open_blob(str(root), hf) is None  # a FIFO placed in the store is refused, not opened blocking
    assert _fds() == before


def _link_store(tmp_path, target: Path, pin: bool = True, relative: bool = False) -> tuple[Path, str]:
    root = tmp_path / "s"
    h = sha1(target.read_bytes()) if target.exists() else sha1(b"none")
    p = root / blob_relpath(h)
    p.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(target, p.parent) if relative else target, p)
    if pin:
        (root / "pins").mkdir(exist_ok=True)
        (root / "pins" / h).touch()
    return root, h


def test_a_pinned_absolute_link_is_served_only_below_a_link_dir(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "rec.bin").write_bytes(b"recording")
    root, h = _link_store(tmp_path, raw / "rec.bin")
    before = _fds()
    assert read_fd(open_blob(str(root), h, (str(raw),))) == b"recording"
    assert read_fd(open_blob(str(root), h, (str(tmp_path / "other"), str(raw) + "/"))) == b"recording"
    assert open_blob(str(root), h) is None
    assert open_blob(str(root), h, (str(tmp_path / "other"),)) is None
    assert open_blob(str(root), h, (str(raw / "rec.bin"),)) is None  # the file itself is not a directory
    assert _fds() == before


def test_a_dangling_pin_link_still_pins(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "rec.bin").write_bytes(b"recording")
    root, h = _link_store(tmp_path, raw / "rec.bin", pin=False)
    (root / "pins").mkdir()
    os.symlink(tmp_path / "nothing", root / "pins" / h)  # lexists: a pin is a name, whatever it points to
    assert read_fd(open_blob(str(root), h, (str(raw),))) == b"recording"


def test_unpinned_relative_or_non_regular_links_are_refused(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "rec.bin").write_bytes(b"recording")
    root, h = _link_store(tmp_path, raw / "rec.bin", pin=False)
    assert open_blob(str(root), h, (str(raw),)) is None
    (root / "pins").mkdir()
    (root / "pins" / ("1" * 40)).touch()  # other blobs are pinned, this one is not
    assert open_blob(str(root), h, (str(raw),)) is None
    root2, h2 = _link_store(tmp_path / "r", raw / "rec.bin", relative=True)
    assert open_blob(str(root2), h2, (str(raw),)) is None
    os.mkfifo(raw / "fifo")
    (tmp_path / "f").mkdir()
    root3 = tmp_path / "f" / "s"
    p = root3 / blob_relpath("f" * 40)
    p.parent.mkdir(parents=True)
    os.symlink(raw / "fifo", p)
    (root3 / "pins").mkdir()
    (root3 / "pins" / ("f" * 40)).touch()
    before = _fds()
    assert open_blob(str(root3), "f" * 40, (str(raw),)) is None
    assert _fds() == before


def test_without_proc_the_resolved_target_is_checked(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "rec.bin").write_bytes(b"recording")
    root, h = _link_store(tmp_path, raw / "rec.bin")
    real_readlink = os.readlink

    def no_proc(path, *args, **kwargs):
        if str(path).startswith("/proc/"):
            raise FileNotFoundError(path)
        return real_readlink(path, *args, **kwargs)

    monkeypatch.setattr(safeopen.os, "readlink", no_proc)
    assert read_fd(open_blob(str(root), h, (str(raw),))) == b"recording"
    assert open_blob(str(root), h, (str(tmp_path / "other"),)) is None


def test_a_directory_swapped_for_a_link_after_resolving_is_refused(tmp_path, monkeypatch):
    """The race the check of the opened file exists for: ``raw/sub`` becomes a link out of ``raw`` between
    ``realpath`` and ``open``; the file opened is outside, so it is closed and refused."""
    raw = tmp_path / "raw"
    (raw / "sub").mkdir(parents=True)
    (raw / "sub" / "rec.bin").write_bytes(b"recording")
    out = tmp_path / "out"
    out.mkdir()
    (out / "rec.bin").write_bytes(b"recording")  # same bytes, outside
    root, h = _link_store(tmp_path, raw / "sub" / "rec.bin")
    real_realpath = os.path.realpath

    def racing(path, *args, **kwargs):
        resolved = real_realpath(path, *args, **kwargs)
        if (raw / "sub").is_dir() and not (raw / "sub").is_symlink():
            os.rename(raw / "sub", tmp_path / "sub.old")
            os.symlink(out, raw / "sub")
        return resolved

    monkeypatch.setattr(safeopen.os.path, "realpath", racing)
    before = _fds()
    assert open_blob(str(root), h, (str(raw),)) is None
    assert _fds() == before


def test_no_descriptor_is_leaked_when_stdin_is_closed(tree, tmp_path):
    """A daemon may run with descriptor 0 closed: then 0 is handed out like any other, and closed like any other."""
    root = tmp_path / "s"
    h = write_blob(root, b"blob bytes")
    saved = os.dup(0)
    os.close(0)
    try:
        before = _fds()
        assert open_blob(str(root), sha1(b"absent")) is None
        assert read_fd(open_blob(str(root), h)) == b"blob bytes"
        assert open_below(str(tree), "a/b/missing.txt") is None
        assert read_fd(open_below(str(tree), "a/b/c.txt")) == b"abc"
        after = _fds()
    finally:
        os.dup2(saved, 0)  # stdin back (closing whatever was left on 0)
        os.close(saved)
    assert after == before
