"""``npx2020 pack`` on a small store, object by object: which chunks are stored compressed or raw, the exact index,
the report's every count, resuming (what is kept and not rewritten, what is redone), refusals of damaged bytes
naming them, the progress bar's total, the temporary area left clean (written for mutmut survivors in
``store/pack.py``)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import FaultServer, put_file, sha1, write_blob

from intake_npx2020 import progress
from intake_npx2020.errors import NPXError
from intake_npx2020.store import get_store, pco
from intake_npx2020.store.local import blob_relpath
from intake_npx2020.store.manifest import Chunk, Manifest
from intake_npx2020.store.pack import MIN_SAVING, TMP_DIR, Packer, PackReport
from intake_npx2020.store.packindex import PackIndex, Stored
from intake_npx2020.store.packplan import plan_store, reader_store

BOUNDS = [0, 40_000, 70_000, 90_001, 130_001]  # compressible, random (raw), odd size (raw), compressible
SMALL = b"a small file, copied as it is"


def compressible(n: int, step: int) -> bytes:
    return ((np.arange(n // 2 + 1) * step % 50) - 25).astype("<i2").tobytes()[:n]


DATA = (compressible(40_000, 4) + np.random.default_rng(1).integers(0, 256, 30_000, dtype=np.uint8).tobytes()
        + compressible(20_001, 5) + compressible(40_000, 6))


@pytest.fixture
def src(tmp_path):
    root = tmp_path / "src"
    uri = put_file(root, DATA, BOUNDS, whole=True)
    write_blob(root, SMALL)
    m_sha1 = uri.split("manifest=")[1]
    return root, m_sha1, Manifest.from_bytes((root / blob_relpath(m_sha1)).read_bytes())


def pack(src_root: Path, dest: Path, **kw) -> PackReport:
    store = reader_store(src_root, dest / TMP_DIR / "reader")
    blobs, files = plan_store(store, src_root)
    return Packer(dest, progress=False, **kw).run(blobs, files)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def inodes(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def expected(m_sha1: str, m: Manifest, src_root: Path):
    chunks = m.chunks
    enc = {c.sha1: pco.encode(DATA[c.start:c.end]) for c in (chunks[0], chunks[3])}
    stored = (Stored(chunks[0], "pco", len(enc[chunks[0].sha1]), sha1(enc[chunks[0].sha1])),
              Stored(chunks[1], "raw", 30_000, chunks[1].sha1), Stored(chunks[2], "raw", 20_001, chunks[2].sha1),
              Stored(chunks[3], "pco", len(enc[chunks[3].sha1]), sha1(enc[chunks[3].sha1])))
    index = PackIndex(m.sha1, len(DATA), m_sha1, "pco", pco.ENCODER, stored).to_bytes()
    manifest_bytes = (src_root / blob_relpath(m_sha1)).read_bytes()
    files = {blob_relpath(chunks[0].sha1) + ".pco": enc[chunks[0].sha1],
             blob_relpath(chunks[1].sha1): DATA[40_000:70_000], blob_relpath(chunks[2].sha1): DATA[70_000:90_001],
             blob_relpath(chunks[3].sha1) + ".pco": enc[chunks[3].sha1], blob_relpath(m.sha1) + ".pco.json": index,
             blob_relpath(m_sha1): manifest_bytes, blob_relpath(sha1(SMALL)): SMALL}
    stored_bytes = len(enc[chunks[0].sha1]) + 30_000 + 20_001 + len(enc[chunks[3].sha1])
    report = PackReport(files=1, chunks_pco=2, chunks_raw=2, chunk_bytes=len(DATA), stored_bytes=stored_bytes,
                        blobs=2, blob_bytes=len(manifest_bytes) + len(SMALL))
    return files, report


# == a whole packing, then resuming it ===========================================================================

def test_pack_writes_exactly_these_objects_and_reports_them(src, tmp_path):
    root, m_sha1, m = src
    files, report = expected(m_sha1, m, root)
    dest = tmp_path / "deep" / "er" / "packed"  # created with its parents
    got = pack(root, dest, jobs=2)
    assert got == report and got.ratio == report.stored_bytes / len(DATA)
    assert tree(dest) == dict(sorted(files.items()))
    assert not (dest / TMP_DIR).exists()  # the reader's scratch and the temporary area are gone
    for c in (m.chunks[0], m.chunks[3]):
        out = bytearray(c.size)
        pco.decode_into((dest / (blob_relpath(c.sha1) + ".pco")).read_bytes(), out)
        assert bytes(out) == DATA[c.start:c.end]


def test_a_second_run_verifies_and_keeps_everything_without_rewriting(src, tmp_path):
    root, m_sha1, m = src
    files, report = expected(m_sha1, m, root)
    dest = tmp_path / "packed"
    pack(root, dest)
    before = inodes(dest)
    again = pack(root, dest, jobs=1)
    report.chunks_kept, report.blobs_kept = 4, 2
    assert again == report
    assert inodes(dest) == before and tree(dest) == dict(sorted(files.items()))


def test_resuming_redoes_damaged_objects_keeps_a_verified_raw_chunk_and_replaces_a_stale_index(src, tmp_path):
    root, m_sha1, m = src
    files, _ = expected(m_sha1, m, root)
    dest = tmp_path / "packed"
    pack(root, dest)
    c0, c3 = m.chunks[0], m.chunks[3]
    (dest / (blob_relpath(c0.sha1) + ".pco")).write_bytes(pco.encode(DATA[c3.start:c3.end]))  # decodes, wrongly
    (dest / (blob_relpath(c3.sha1) + ".pco")).unlink()
    (dest / blob_relpath(c3.sha1)).write_bytes(DATA[c3.start:c3.end])  # another packer left it raw: verified, kept
    (dest / blob_relpath(m.chunks[1].sha1)).write_bytes(b"damaged")
    (dest / blob_relpath(sha1(SMALL))).write_bytes(b"damaged too")
    index_path = dest / (blob_relpath(m.sha1) + ".pco.json")
    index_path.write_bytes(index_path.read_bytes().replace(b'"version":1', b'"version":1 '))
    r = pack(root, dest)
    assert (r.chunks_kept, r.chunks_pco, r.chunks_raw, r.blobs_kept, r.blobs, r.files) == (2, 1, 3, 1, 2, 1)
    assert not r.failed
    index = PackIndex.from_bytes(index_path.read_bytes(), m.sha1)
    assert [s.kind for s in index.chunks] == ["pco", "raw", "raw", "raw"]
    assert index.chunks[3] == Stored(c3, "raw", c3.size, c3.sha1)
    del files[blob_relpath(c3.sha1) + ".pco"]
    files[blob_relpath(c3.sha1)] = DATA[c3.start:c3.end]
    files[blob_relpath(m.sha1) + ".pco.json"] = index.to_bytes()
    assert tree(dest) == dict(sorted(files.items()))
    garbage = dest / (blob_relpath(c0.sha1) + ".pco")
    garbage.write_bytes(b"pco!" + bytes(100))  # not decodable at all: redone
    r = pack(root, dest)
    assert (r.chunks_kept, r.chunks_pco, r.chunks_raw, r.failed) == (3, 1, 3, [])
    assert tree(dest) == dict(sorted(files.items()))


def test_the_report_adds_up_over_several_files(tmp_path):
    root = tmp_path / "src"
    one, two = compressible(6_000, 8), compressible(9_000, 9)
    put_file(root, one, [0, 2_000, 6_000], whole=True)
    put_file(root, two, [0, 3_001, 9_000], whole=True)
    r = pack(root, tmp_path / "packed")
    assert (r.files, r.chunks_pco, r.chunks_raw, r.chunk_bytes, r.blobs, r.failed) == (2, 2, 2, 15_000, 2, [])  # two odd-sized chunks raw


# == refusals ===================================================================================================

def test_a_blob_whose_bytes_do_not_hash_to_its_name_is_not_packed(src, tmp_path):
    root, _, _ = src
    h = sha1(SMALL)
    (root / blob_relpath(h)).write_bytes(b"tampered")
    dest = tmp_path / "packed"
    r = pack(root, dest)
    path = root / blob_relpath(h)
    assert r.failed == [f"blob {h}: blob {h} in the store ({path}) does not hash to its name; not packed"]
    assert (r.blobs, r.files) == (1, 1) and not (dest / blob_relpath(h)).exists()
    assert not (dest / TMP_DIR).exists()


def test_a_damaged_chunk_is_named_and_the_file_gets_no_index(src, tmp_path):
    root, m_sha1, m = src
    damaged = bytearray(DATA)
    damaged[50_000] ^= 1
    (root / blob_relpath(m.sha1)).write_bytes(bytes(damaged))
    dest = tmp_path / "packed"
    r = pack(root, dest)
    c = m.chunks[1]
    assert r.failed == [(f"file {m.sha1}: sha1://{m.sha1}?manifest={m_sha1}: bytes 40000-69999 do not hash to the "
                         f"manifest's chunk sha1 {c.sha1}; the store's copy is damaged, nothing was packed for this "
                         "chunk")]
    assert r.files == 0 and not (dest / (blob_relpath(m.sha1) + ".pco.json")).exists()
    assert not (dest / blob_relpath(c.sha1)).exists()


class _Liar:
    """A store whose copy of a blob is not local and whose bytes are wrong (as a broken fetch would give)."""

    def locate(self, h):
        return None

    def load_bytes(self, h, uri=None):
        return b"not what was asked for"


class _Vanished:
    """A store whose blob was located, then removed before it was read."""

    def __init__(self, path):
        self.path = path

    def locate(self, h):
        return str(self.path)

    def load_bytes(self, h, uri=None):
        raise AssertionError("a located blob is read from its file")


def test_a_fetched_blob_is_checked_too(tmp_path):
    h = sha1(SMALL)
    packer = Packer(tmp_path / "packed", progress=False)
    with pytest.raises(NPXError, match=f"^blob {h} in the store \\(fetched\\) does not hash to its name; not packed$"):
        packer.copy_blob(_Liar(), h)
    assert not (tmp_path / "packed" / blob_relpath(h)).exists()


def test_blobs_fetched_from_a_mirror_are_packed_and_counted(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    h = write_blob(mirror, SMALL)
    srv = FaultServer(mirror)
    try:
        st = get_store({"store": str(tmp_path / "own"), "mirrors": [srv.url], "cache": False, "use_kachery": False})
        assert st.locate(h) is None
        seen = []
        real = progress.progress_bar

        def spy(total, desc, enabled=None, unit="B"):
            seen.append(total)
            return real(total, desc, enabled, unit)

        monkeypatch.setattr(progress, "progress_bar", spy)
        r = Packer(tmp_path / "packed", progress=False).run({h: st}, {})
    finally:
        srv.close()
    assert (r.blobs, r.blob_bytes, r.failed) == (1, len(SMALL), [])
    assert (tmp_path / "packed" / blob_relpath(h)).read_bytes() == SMALL
    assert seen == [0]  # a blob not on this machine adds nothing to the bar's known total


# == the compression threshold ===================================================================================

@pytest.mark.parametrize("size,stored", [(900, "pco"), (901, "raw")])
def test_a_chunk_is_compressed_only_when_that_saves_at_least_min_saving(tmp_path, monkeypatch, size, stored):
    assert MIN_SAVING == 0.10
    data = compressible(1000, 7)
    root = tmp_path / "src"
    uri = put_file(root, data, [0, 1000], whole=True)
    monkeypatch.setattr(pco, "encode", lambda raw: b"p" * size)  # a codec saving exactly 100 or 99 bytes
    dest = tmp_path / "packed"
    r = pack(root, dest)
    c = Chunk(0, 1000, sha1(data))
    index = PackIndex.from_bytes((dest / (blob_relpath(sha1(data)) + ".pco.json")).read_bytes(), sha1(data))
    assert index.chunks[0].kind == stored and r.stored_bytes == (size if stored == "pco" else 1000)
    assert (dest / (blob_relpath(c.sha1) + (".pco" if stored == "pco" else ""))).is_file()
    assert uri.endswith(index.manifest)


# == the progress bar, the jobs, the temporary area =============================================================

def test_the_progress_bar_counts_every_byte_once(src, tmp_path, monkeypatch):
    root, m_sha1, _ = src
    bars = []
    real = progress.progress_bar

    class Bar:
        def __init__(self, total, desc, enabled):
            self.total, self.desc, self.enabled, self.done = total, desc, enabled, 0
            self.inner = real(total, desc, False)

        def __enter__(self):
            self.inner.__enter__()
            return self

        def __exit__(self, *exc):
            return self.inner.__exit__(*exc)

        def update(self, n):
            assert n >= 0
            self.done += n

    def fake(total, desc, enabled=None, unit="B"):
        bars.append(Bar(total, desc, enabled))
        return bars[-1]

    monkeypatch.setattr(progress, "progress_bar", fake)
    store = reader_store(root, tmp_path / "packed" / TMP_DIR / "reader")
    blobs, files = plan_store(store, root)
    Packer(tmp_path / "packed", progress=True).run(blobs, files, label="packing lab")
    manifest_size = (root / blob_relpath(m_sha1)).stat().st_size
    (bar,) = bars
    assert (bar.desc, bar.enabled) == ("packing lab", True)
    assert bar.total == bar.done == len(DATA) + manifest_size + len(SMALL)
    Packer(tmp_path / "packed", progress=False).run(blobs, files)  # resumed: the same total, the default label
    assert (bars[1].desc, bars[1].enabled, bars[1].total, bars[1].done) == ("pack", False, bar.total, bar.total)
    gone = tmp_path / "gone.bin"
    Packer(tmp_path / "p2", progress=False).run({sha1(SMALL): _Vanished(gone)}, {})
    assert bars[2].total == 0  # located, then gone: nothing known to count


def test_jobs_default_to_the_cpus_and_at_least_one(tmp_path, monkeypatch):
    assert Packer(tmp_path / "a", jobs=1).jobs == 1
    assert Packer(tmp_path / "a", jobs=3).jobs == 3
    assert Packer(tmp_path / "a").jobs == Packer(tmp_path / "a", jobs=0).jobs == max(1, os.cpu_count() or 1)
    assert Packer(tmp_path / "a", progress=True).progress is True
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # unknown: one at a time
    assert Packer(tmp_path / "a").jobs == 1


def test_one_job_compresses_one_chunk_at_a_time(src, tmp_path, monkeypatch):
    root, _, _ = src
    real = pco.encode
    now, most = [0], [0]
    lock = threading.Lock()

    def encode(raw):
        with lock:
            now[0] += 1
            most[0] = max(most[0], now[0])
        time.sleep(0.03)
        with lock:
            now[0] -= 1
        return real(raw)

    monkeypatch.setattr(pco, "encode", encode)
    assert pack(root, tmp_path / "one", jobs=1).chunks_pco == 2 and most[0] == 1


def test_the_readers_scratch_is_removed_with_the_temporary_area(src, tmp_path):
    root, _, _ = src
    dest = tmp_path / "packed"
    scratch = dest / TMP_DIR / "reader"
    (scratch / "locks").mkdir(parents=True)
    (scratch / "locks" / "x.lock").write_bytes(b"")  # what a reading store may leave in its scratch
    r = pack(root, dest)
    assert not r.failed and not (dest / TMP_DIR).exists()


def test_a_packer_without_a_reader_scratch_and_a_leftover_of_another_packer(src, tmp_path, monkeypatch):
    root, _, _ = src
    dest = tmp_path / "packed"
    store = reader_store(root, tmp_path / "elsewhere")
    blobs, files = plan_store(store, root)
    real = pco.encode

    def busy_neighbour(raw):  # another packer writes into the temporary area meanwhile
        (dest / TMP_DIR).mkdir(exist_ok=True)
        (dest / TMP_DIR / "other.123.tmp").write_bytes(b"x")
        return real(raw)

    monkeypatch.setattr(pco, "encode", busy_neighbour)
    r = Packer(dest, jobs=1, progress=False).run(blobs, files)
    assert not r.failed and r.files == 1
    assert sorted(p.name for p in (dest / TMP_DIR).iterdir()) == ["other.123.tmp"]  # not touched
    assert hashlib.sha1((dest / TMP_DIR / "other.123.tmp").read_bytes()).hexdigest() == sha1(b"x")
