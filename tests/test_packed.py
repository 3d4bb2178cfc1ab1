"""Packed mirrors (issue 18): ``npx2020 pack`` writes compressed chunks; clients prefer them, decode them in the
fetching thread, check the decoded sha1, and fall back to raw forms. Every server here is a real HTTP server on
127.0.0.1 (the fault server of ``helpers`` or ``npx2020 serve`` in a subprocess)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from helpers import FaultServer, bin1_object, put_file, write_catalog

from intake_npx2020.errors import FetchError
from intake_npx2020.store import get_store, pco
from intake_npx2020.store.local import blob_relpath
from intake_npx2020.store.manifest import Manifest
from intake_npx2020.store.pack import Packer
from intake_npx2020.store.packindex import PackIndex
from intake_npx2020.store.packplan import plan_store, reader_store

NCOL, NFRAMES = 385, 8000
# 14 chunks: two of odd size (stored raw), one inside a random region (incompressible: stored raw), 11 compressed
BOUNDS = [0, 400_000, 800_001, 1_200_000, 1_600_000, 2_000_000, 2_320_000, 2_600_000, 3_000_000, 3_500_000,
          4_000_000, 4_500_000, 5_000_000, 5_600_000, NCOL * NFRAMES * 2]


def make_raw(seed: int = 0) -> np.ndarray:
    """Neuropixels-like int16: per-column offset and noise, a few spikes, and a stretch of random values."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, rng.uniform(5, 8, NCOL), (NFRAMES, NCOL)) + rng.integers(-50, 50, NCOL)
    x[rng.integers(0, NFRAMES, 200), rng.integers(0, NCOL, 200)] -= 120
    x = x.astype("<i2")
    x[3000:3400] = rng.integers(-32768, 32767, (400, NCOL), dtype="<i2")
    return x


@pytest.fixture
def env(tmp_path):
    """A source store (the file whole, its manifest, a small file), its packed mirror, and a server for each."""
    raw = make_raw()
    src = tmp_path / "source"
    uri = put_file(src, raw.tobytes(), BOUNDS, whole=True, chunks=False)
    small = put_file(src, b"a small file, copied as it is", label="small.txt")
    packed = tmp_path / "packed"
    report = pack_store(src, packed)
    assert (report.files, report.chunks_pco, report.chunks_raw) == (1, 11, 3) and not report.failed
    servers = {"packed": FaultServer(packed), "raw": FaultServer(src)}
    yield {"raw": raw, "bytes": raw.tobytes(), "uri": uri, "small": small, "src": src, "packed": packed,
           "servers": servers, "tmp": tmp_path}
    for s in servers.values():
        s.close()


def pack_store(src: Path, dest: Path, jobs: int = 2):
    store = reader_store(src, dest / ".npx2020-tmp" / "reader")
    blobs, files = plan_store(store, src)
    return Packer(dest, jobs=jobs, progress=False).run(blobs, files)


def options(env, *mirrors: str, store: str = "cache", **extra) -> dict:
    so = {"store": str(env["tmp"] / store), "mirrors": [env["servers"][m].url for m in mirrors],
          "use_kachery": False, "packed": True}
    so.update(extra)
    return so


def manifest_of(env) -> Manifest:
    m = re.search(r"manifest=([0-9a-f]{40})", env["uri"]).group(1)
    return Manifest.from_bytes((env["src"] / blob_relpath(m)).read_bytes())


def cached_blobs_are_sound(root: Path) -> list[str]:
    """The names of the blobs cached under ``root`` (writes behind finished first); each hashes to its name."""
    try:
        from intake_npx2020.store.writeback import flush_all
    except ImportError:  # no write-behind: a chunk is in place when the read that fetched it returns
        pass
    else:
        flush_all()
    names = []
    for p in (root / "sha1").rglob("*"):
        if p.is_file():
            assert hashlib.sha1(p.read_bytes()).hexdigest() == p.name, f"unsound cached blob {p}"
            names.append(p.name)
    return names


def pco_paths(packed: Path) -> list[Path]:
    return sorted(packed.rglob("*.pco"))


# -- round trips ---------------------------------------------------------------------------------------
def test_random_windows_bit_exact_fewer_bytes_on_the_wire(env):
    s = get_store(options(env, "packed"))
    data = env["bytes"]
    rng = np.random.default_rng(5)
    for _ in range(40):
        a = int(rng.integers(0, len(data) - 1))
        b = min(len(data), a + int(rng.integers(1, 900_000)))
        assert bytes(s.read(env["uri"], a, b)) == data[a:b]
    assert bytes(s.read(env["uri"])) == data
    assert bytes(s.read(env["small"])) == (env["src"] / blob_relpath(env["small"][7:47])).read_bytes()
    assert s.stats["packed_chunks"] == 11 and s.stats["packed_bytes"] < len(data)
    assert s.stats["bytes_fetched"] < 0.6 * len(data)  # 3 of 14 chunks raw
    assert sorted(cached_blobs_are_sound(env["tmp"] / "cache")) == sorted(
        [c.sha1 for c in manifest_of(env).chunks] + [re.search(r"manifest=(\w+)", env["uri"]).group(1),
                                                    env["small"][7:47]])


def test_a_window_fetches_only_the_chunks_it_touches(env):
    s = get_store(options(env, "packed", cache=False))
    m = manifest_of(env)
    c = m.chunks[9]
    assert bytes(s.read(env["uri"], c.start + 10, c.end - 10)) == env["bytes"][c.start + 10:c.end - 10]
    paths = [p for p, _, _ in env["servers"]["packed"].log]
    assert paths == ["/" + blob_relpath(re.search(r"manifest=(\w+)", env["uri"]).group(1)),
                     "/" + blob_relpath(m.sha1) + ".pco.json", "/" + blob_relpath(c.sha1) + ".pco"]


def test_chunks_decode_in_parallel_in_fetching_threads(env, monkeypatch):
    """Each compressed chunk is decoded by the thread that fetched it; several threads decode at once."""
    from intake_npx2020.store.packed import PackedChunks

    events: list[tuple[int, str]] = []
    real_decode, real_get = pco.decode_into, PackedChunks._get

    def spy_get(self, *args):
        events.append((threading.get_ident(), "get"))
        return real_get(self, *args)

    def spy_decode(blob, out):
        events.append((threading.get_ident(), "decode"))
        return real_decode(blob, out)

    monkeypatch.setattr(pco, "decode_into", spy_decode)
    monkeypatch.setattr(PackedChunks, "_get", spy_get)
    s = get_store(options(env, "packed", parallel=4))
    assert bytes(s.read(env["uri"])) == env["bytes"]
    threads = {t for t, _ in events}
    for t in threads:  # per thread: get, decode, get, decode, …
        kinds = [k for u, k in events if u == t]
        assert kinds == ["get", "decode"] * (len(kinds) // 2)
    assert sum(k == "decode" for _, k in events) == 11 and len(threads) > 1


def test_channel_subsets_and_full_pass_with_threads(env):
    from intake_npx2020.sources.drivers import RecordingSource

    raw = env["raw"]
    cols = [0, 3, 100, 200, 383, 384]
    x = RecordingSource(bin1_object(env["uri"], NCOL, NFRAMES, list(range(NCOL))), chunk_seconds=0.05,
                        storage_options=options(env, "packed")).to_dask()
    rng = np.random.default_rng(2)
    for _ in range(10):
        a = int(rng.integers(0, NFRAMES - 1))
        b = min(NFRAMES, a + int(rng.integers(1, 3000)))
        sub = sorted(rng.choice(NCOL, size=int(rng.integers(1, 40)), replace=False).tolist())
        np.testing.assert_array_equal(x.isel(time=slice(a, b), channel=sub).values, raw[a:b, sub])
    np.testing.assert_array_equal(x.isel(channel=cols).values, raw[:, cols])
    got = x.data.astype("i8").sum(axis=0).compute(scheduler="threads")
    np.testing.assert_array_equal(got, raw.astype("i8").sum(axis=0))


@pytest.mark.cluster
def test_full_pass_with_worker_processes(env):
    from intake_npx2020.sources.drivers import RecordingSource

    raw = env["raw"]
    so = options(env, "packed", store="shared-cache")
    x = RecordingSource(bin1_object(env["uri"], NCOL, NFRAMES, list(range(NCOL))), chunk_seconds=0.1,
                        storage_options=so).to_dask()
    import dask

    with dask.config.set(scheduler="processes", num_workers=2):
        mx, mn, total = dask.compute(x.data.max(axis=0), x.data.min(axis=0), x.data.astype("i8").sum(axis=0))
    np.testing.assert_array_equal(mx, raw.max(axis=0))
    np.testing.assert_array_equal(mn, raw.min(axis=0))
    np.testing.assert_array_equal(total, raw.astype("i8").sum(axis=0))
    log = env["servers"]["packed"].log
    pcos = [p for p, _, _ in log if p.endswith(".pco")]
    assert len(pcos) == len(set(pcos)) == 11  # each compressed chunk crossed HTTP once, for all the processes
    cached_blobs_are_sound(env["tmp"] / "shared-cache")


# -- refusals and fallbacks --------------------------------------------------------------------------
def test_corrupt_compressed_chunk_refused_never_cached_raw_mirror_next(env, caplog):
    victim = pco_paths(env["packed"])[3]
    damaged = bytearray(victim.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01
    victim.write_bytes(bytes(damaged))
    s = get_store(options(env, "packed", "raw"))
    with caplog.at_level(logging.WARNING, "intake_npx2020.store"):
        assert bytes(s.read(env["uri"])) == env["bytes"]
    chunk = victim.name[:-4]
    assert any(chunk in r.getMessage() and "does not match" in r.getMessage() for r in caplog.records)
    c = next(c for c in manifest_of(env).chunks if c.sha1 == chunk)
    assert f"bytes={c.start}-{c.end - 1}" in [r for _, r, _ in env["servers"]["raw"].log]  # the raw mirror served it
    assert s.stats["packed_chunks"] == 10
    assert chunk in cached_blobs_are_sound(env["tmp"] / "cache")  # cached from the raw bytes, verified


def _rewrite_index(env, chunk_sha1: str, blob: bytes) -> None:
    """Make the packed mirror hold ``blob`` as chunk ``chunk_sha1``'s compressed form, its index agreeing."""
    (env["packed"] / (blob_relpath(chunk_sha1) + ".pco")).write_bytes(blob)
    m = manifest_of(env)
    path = env["packed"] / (blob_relpath(m.sha1) + ".pco.json")
    obj = json.loads(path.read_bytes())
    for c in obj["chunks"]:
        if c["sha1"] == chunk_sha1:
            c.update(stored="pco", stored_size=len(blob), stored_sha1=hashlib.sha1(blob).hexdigest())
    path.write_text(json.dumps(obj))


@pytest.mark.parametrize("forgery", ["other-chunk", "garbage", "wrong-count"])
def test_compressed_chunk_whose_decoded_sha1_differs_is_refused(env, forgery, caplog):
    m = manifest_of(env)
    a, b = m.chunks[9], m.chunks[10]  # both 500 000 bytes
    other = env["bytes"][b.start:b.end]
    blob = {"other-chunk": pco.encode(other), "garbage": b"pco!" + os.urandom(5000),
            "wrong-count": pco.encode(other[:-2])}[forgery]
    _rewrite_index(env, a.sha1, blob)
    s = get_store(options(env, "packed"))  # the packed mirror alone: nothing else has the chunk
    with caplog.at_level(logging.WARNING, "intake_npx2020.store"), pytest.raises(FetchError, match="refused"):
        s.read(env["uri"], a.start, a.end)
    assert any("refused" in r.getMessage() for r in caplog.records)
    assert a.sha1 not in cached_blobs_are_sound(env["tmp"] / "cache")
    s2 = get_store(options(env, "packed", "raw", store="cache2"))
    assert bytes(s2.read(env["uri"], a.start, a.end)) == env["bytes"][a.start:a.end]
    assert a.sha1 in cached_blobs_are_sound(env["tmp"] / "cache2")
    assert [r for _, r, _ in env["servers"]["raw"].log if r] == [f"bytes={a.start}-{a.end - 1}"]


def test_corruption_in_transit_is_retried(env):
    srv = env["servers"]["packed"]
    s = get_store(options(env, "packed", cache=False))
    c = manifest_of(env).chunks[4]
    s.read(env["uri"], 0, 1)  # manifest and index
    srv.plan = ["corrupt"]
    assert bytes(s.read(env["uri"], c.start, c.end)) == env["bytes"][c.start:c.end]
    assert s.stats["retries"] == 1 and s.stats["packed_chunks"] == 2


def test_mixed_mirror(env, tmp_path):
    """Compressed and raw chunks, a listed chunk that is missing, another file stored whole, no index for it."""
    m = manifest_of(env)
    mixed = env["packed"]
    gone = m.chunks[5]
    (mixed / (blob_relpath(gone.sha1) + ".pco")).unlink()
    (mixed / blob_relpath(gone.sha1)).write_bytes(env["bytes"][gone.start:gone.end])  # raw chunk blob instead
    other = make_raw(seed=9).tobytes()[:3_000_000]
    other_uri = put_file(mixed, other, [0, 1_000_000, 2_000_000, 3_000_000], whole=True)  # raw, no pack index
    s = get_store(options(env, "packed"))
    assert bytes(s.read(env["uri"])) == env["bytes"]
    assert bytes(s.read(other_uri, 123, 2_500_000)) == other[123:2_500_000]
    assert s.stats["packed_chunks"] == 10


def test_packed_off_asks_for_no_index(env):
    s = get_store(options(env, "raw", packed=False))
    assert bytes(s.read(env["uri"], 0, 1000)) == env["bytes"][:1000]
    assert not any(".pco" in p for p, _, _ in env["servers"]["raw"].log)


def test_malformed_index_is_ignored(env, caplog):
    m = manifest_of(env)
    (env["packed"] / (blob_relpath(m.sha1) + ".pco.json")).write_text('{"format": "npx2020-pack", "version": 1}')
    for c in m.chunks:  # the raw chunk blobs, so the mirror still has every byte
        (env["packed"] / blob_relpath(c.sha1)).parent.mkdir(parents=True, exist_ok=True)
        (env["packed"] / blob_relpath(c.sha1)).write_bytes(env["bytes"][c.start:c.end])
    s = get_store(options(env, "packed"))
    with caplog.at_level(logging.WARNING, "intake_npx2020.store"):
        assert bytes(s.read(env["uri"])) == env["bytes"]
    assert s.stats["packed_chunks"] == 0 and any("pack index" in r.getMessage() for r in caplog.records)


# -- packing -------------------------------------------------------------------------------------------
def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_packings_are_byte_identical(env, tmp_path):
    again = tmp_path / "again"
    pack_store(env["src"], again, jobs=1)
    assert tree(again) == tree(env["packed"])
    index = PackIndex.from_bytes(next(again.rglob("*.pco.json")).read_bytes(), manifest_of(env).sha1)
    assert index.to_bytes() == next(again.rglob("*.pco.json")).read_bytes()
    assert [s.kind for s in index.chunks].count("pco") == 11


def test_resume_after_an_interrupted_pack(env, tmp_path, monkeypatch):
    dest = tmp_path / "interrupted"
    calls = []
    real = pco.encode

    def failing(raw):
        calls.append(1)
        if len(calls) > 5:
            raise OSError("disk unplugged (simulated)")
        return real(raw)

    monkeypatch.setattr(pco, "encode", failing)
    r = pack_store(env["src"], dest, jobs=1)
    assert r.failed and not list(dest.rglob("*.pco.json"))  # no index before every chunk is there
    monkeypatch.setattr(pco, "encode", real)
    first = pco_paths(dest)[0]
    first.write_bytes(first.read_bytes()[:100])  # a damaged object under its real name (another tool's copy)
    tmpdir = dest / ".npx2020-tmp"
    tmpdir.mkdir(exist_ok=True)
    (tmpdir / "0123-pco.999999999.abcdef12").write_bytes(b"left by a killed packer")
    r = pack_store(env["src"], dest, jobs=2)
    assert not r.failed and r.chunks_kept >= 4 and r.blobs_kept == 2
    assert tree(dest) == tree(env["packed"])  # the damaged object redone, the leftover gone


def test_pack_command_from_a_catalog_served_by_npx2020_serve(env, tmp_path):
    cat = write_catalog(tmp_path / "cat.yaml", {
        "rec": {"driver": "npx_recording",
                "args": {"recording": bin1_object(env["uri"], NCOL, NFRAMES, list(range(NCOL))),
                         "storage_options": {"store": str(env["src"]), "use_kachery": False}},
                "metadata": {"kind": "recording"}}})
    dest = tmp_path / "from-catalog"
    run = subprocess.run([sys.executable, "-m", "intake_npx2020", "pack", str(cat), str(dest), "--entries", "rec",
                          "--no-progress"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "11 chunks compressed, 3 raw" in run.stdout
    assert tree(dest) == {k: v for k, v in tree(env["packed"]).items() if env["small"][7:47] not in k}
    proc = subprocess.Popen([sys.executable, "-m", "intake_npx2020", "serve", str(dest), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = re.search(r"(http://127\.0\.0\.1:\d+)", proc.stdout.readline()).group(1)
        s = get_store({"store": str(tmp_path / "client"), "mirrors": [base], "use_kachery": False, "packed": True})
        assert bytes(s.read(env["uri"])) == env["bytes"]
        assert s.stats["packed_chunks"] == 11
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_pack_command_refuses_entries_for_a_store(env, tmp_path):
    from intake_npx2020.apps.cli import main

    assert main(["pack", str(env["src"]), str(tmp_path / "x"), "--entries", "rec"]) == 1


def test_codec_edges():
    full = np.arange(-32768, 32768, dtype="<i2").tobytes()
    out = bytearray(len(full))
    pco.decode_into(pco.encode(full), out)
    assert bytes(out) == full
    assert pco.encode(full) == pco.encode(bytearray(full))  # deterministic, whatever the buffer type
    with pytest.raises(ValueError):
        pco.encode(b"odd")
    with pytest.raises(pco.DecodeError):
        pco.decode_into(pco.encode(full), bytearray(len(full) + 2))


@pytest.mark.slow
def test_demo_serves_a_packed_mirror(tmp_path, capsys):
    from intake_npx2020.apps.cli import main

    out = tmp_path / "demo"
    assert main(["demo", "--duration", "6", "--packed", "--scheduler", "threads", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    s = json.loads((out / "summary.json").read_text())
    assert s["chunks_fetched_compressed"] == s["chunks_fetched"] > 0
    assert s["wire_bytes_per_raw_byte"] < 0.4 and "per raw byte" in printed
    assert s["recall_well_isolated"] >= 0.9 and not (out / "packed").exists()


def test_without_pcodec_clients_read_raw_forms_and_pack_names_the_extra(env, tmp_path, monkeypatch, capsys):
    from intake_npx2020.apps.cli import main

    monkeypatch.setitem(sys.modules, "pcodec", None)  # as if not installed
    s = get_store(options(env, "packed", "raw"))
    assert bytes(s.read(env["uri"])) == env["bytes"]
    assert s.stats["packed_chunks"] == 0 and not any(".pco" in p for p, _, _ in env["servers"]["packed"].log)
    assert main(["pack", str(env["src"]), str(tmp_path / "nopco")]) == 1
    assert "pip install 'intake_npx2020[compress]'" in capsys.readouterr().err
