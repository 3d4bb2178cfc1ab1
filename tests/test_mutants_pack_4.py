"""Reading a packed mirror chunk by chunk (:class:`PackedChunks`) against a real HTTP server on 127.0.0.1: the exact
requests made and counted, the pack index remembered (found: for good; missing: 300 s; unreadable: 30 s; 64 at
most), the retries and their messages, refusals remembered per mirror, the switches that turn it off (written for
mutmut survivors in ``store/packed.py``)."""

from __future__ import annotations

import hashlib
import logging
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import FaultServer, sha1, write_blob

from intake_npx2020.store import packed as packed_mod
from intake_npx2020.store import pco
from intake_npx2020.store.config import StoreConfig
from intake_npx2020.store.local import blob_relpath
from intake_npx2020.store.manifest import Chunk
from intake_npx2020.store.mirror import Mirror
from intake_npx2020.store.packed import MISS_TTL, PackedChunks
from intake_npx2020.store.packindex import PackIndex, Stored

LOG = "intake_npx2020.store"


def compressible(n: int, step: int) -> bytes:
    return ((np.arange(n // 2) * step % 40) - 20).astype("<i2").tobytes()


C0, C1, C2 = compressible(4000, 3), compressible(4000, 7), b"odd-sized raw chunk!!"
DATA = C0 + C1 + C2
F = sha1(DATA)
CHUNKS = (Chunk(0, 4000, sha1(C0)), Chunk(4000, 8000, sha1(C1)), Chunk(8000, len(DATA), sha1(C2)))


def write_index(root: Path, stored, file_sha1: str = F, codec: str = "pco") -> bytes:
    index = PackIndex(file_sha1, len(DATA), "e" * 40, codec, pco.ENCODER, tuple(stored)).to_bytes()
    p = root / (blob_relpath(file_sha1) + ".pco.json")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(index)
    return index


def write_pco(root: Path, chunk_sha1: str, blob: bytes) -> None:
    p = root / (blob_relpath(chunk_sha1) + ".pco")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(blob)


class Env:
    def __init__(self, root: Path, srv: FaultServer, retries: int = 3, timeout: float = 5.0):
        self.root = root
        self.enc = {CHUNKS[0].sha1: pco.encode(C0), CHUNKS[1].sha1: pco.encode(C1)}
        stored = [Stored(c, "pco", len(self.enc[c.sha1]), sha1(self.enc[c.sha1])) for c in CHUNKS[:2]]
        stored.append(Stored(CHUNKS[2], "raw", CHUNKS[2].size, CHUNKS[2].sha1))
        self.index = write_index(root, stored)
        for h, blob in self.enc.items():
            write_pco(root, h, blob)
        write_blob(root, C2)
        self.srv = srv
        srv.root, srv.plan, srv.log = root, [], []
        self.mirror = Mirror(self.srv.url, timeout=timeout)
        self.counts: Counter = Counter()
        self.backoffs: list = []
        self.chunks = self.make(StoreConfig(store=str(root / "unused"), retries=retries, packed=True))

    def make(self, config) -> PackedChunks:
        def count(name, n=1):
            self.counts[name] += n

        def backoff(attempt):
            self.backoffs.append(attempt)
            return 0.0

        return PackedChunks(config, count, backoff)

    def fetch(self, c: Chunk, errors: list | None = None, file_sha1: str = F, size: int | None = None):
        return self.chunks.fetch(self.mirror, file_sha1, c.sha1, c.size if size is None else size,
                                 [] if errors is None else errors)

    def paths(self) -> list[str]:
        return [p for p, _, _ in self.srv.log]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = FaultServer(tmp_path_factory.mktemp("none"), stall_seconds=2.0)  # one server: a root per test
    yield srv
    srv.close()


@pytest.fixture
def env(tmp_path, server):
    return Env(tmp_path / "packed", server)


def idx_path(h: str = F) -> str:
    return "/" + blob_relpath(h) + ".pco.json"


def pco_path(h: str) -> str:
    return "/" + blob_relpath(h) + ".pco"


# == the index fetched once, chunks decoded and counted ===========================================================

def test_chunks_come_decoded_and_counted_with_one_index_request_per_file(env):
    c0, c1, c2 = CHUNKS
    errors: list = []
    assert bytes(env.fetch(c0, errors)) == C0
    assert bytes(env.fetch(c1, errors)) == C1
    assert env.fetch(c2, errors) is None  # stored raw: its raw form is read by the failover
    assert env.fetch(Chunk(0, 4000, "9" * 40), errors) is None  # not in the index
    assert env.fetch(c0, errors, size=4002) is None  # another size than the index's: not trusted
    assert errors == []
    assert env.paths() == [idx_path(), pco_path(c0.sha1), pco_path(c1.sha1)]
    assert env.counts == Counter(requests=3, packed_chunks=2, packed_bytes=8000,
                                 bytes_fetched=len(env.index) + len(env.enc[c0.sha1]) + len(env.enc[c1.sha1]))


def test_off_when_the_setting_is_off_or_pcodec_is_missing(env, monkeypatch):
    off = env.make(StoreConfig(store="x", packed=False))
    assert off.fetch(env.mirror, F, CHUNKS[0].sha1, 4000, []) is None
    assert env.paths() == []
    older = env.make(SimpleNamespace(retries=2))  # a configuration from before the setting existed: on
    assert bytes(older.fetch(env.mirror, F, CHUNKS[0].sha1, 4000, [])) == C0
    monkeypatch.setitem(sys.modules, "pcodec", None)
    assert env.make(StoreConfig(store="x", packed=True)).fetch(env.mirror, F, CHUNKS[0].sha1, 4000, []) is None
    assert env.paths() == [idx_path(), pco_path(CHUNKS[0].sha1)]


# == the index remembered ========================================================================================

class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(packed_mod.time, "monotonic", c)
    return c


def test_a_found_index_is_kept_a_missing_one_300_s(env, clock):
    missing = "7" * 40
    assert env.fetch(CHUNKS[0], file_sha1=missing) is None
    assert env.fetch(CHUNKS[0]) is not None
    clock.now += MISS_TTL - 1
    assert env.fetch(CHUNKS[0], file_sha1=missing) is None
    assert env.paths() == [idx_path(missing), idx_path(), pco_path(CHUNKS[0].sha1)]
    clock.now = 1000.0 + MISS_TTL  # exactly at its end: asked again
    assert env.fetch(CHUNKS[0], file_sha1=missing) is None
    clock.now += 10 * MISS_TTL
    assert env.fetch(CHUNKS[1]) is not None  # the found index is never asked for again
    assert env.paths() == [idx_path(missing), idx_path(), pco_path(CHUNKS[0].sha1), idx_path(missing),
                           pco_path(CHUNKS[1].sha1)]
    assert MISS_TTL == 300.0


def test_an_index_that_could_not_be_read_is_asked_again_after_30_s(env, clock, caplog):
    env.srv.plan = ["503"]
    with caplog.at_level(logging.INFO, LOG):
        assert env.fetch(CHUNKS[0]) is None
    url = env.srv.url + idx_path()
    assert [r.getMessage() for r in caplog.records] == [
        f"{url}: pack index not read (GET {url}: HTTP 503); raw chunks used"]
    assert env.counts == Counter(requests=1)
    clock.now += 29
    assert env.fetch(CHUNKS[0]) is None
    clock.now += 2
    assert bytes(env.fetch(CHUNKS[0])) == C0
    assert env.paths() == [idx_path(), idx_path(), pco_path(CHUNKS[0].sha1)]


def test_64_indexes_are_remembered_least_recently_used_first_out(env):
    files = [f"{i:040x}" for i in range(1, 66)]
    for h in files[:64]:
        assert env.fetch(CHUNKS[0], file_sha1=h) is None
    assert len(env.paths()) == 64
    env.fetch(CHUNKS[0], file_sha1=files[0])  # remembered, and now the most recently used
    assert len(env.paths()) == 64
    env.fetch(CHUNKS[0], file_sha1=files[64])  # the 65th pushes out the least recently used: files[1]
    env.fetch(CHUNKS[0], file_sha1=files[0])
    assert len(env.paths()) == 65
    env.fetch(CHUNKS[0], file_sha1=files[1])
    assert env.paths()[-1] == idx_path(files[1]) and len(env.paths()) == 66


def test_an_index_of_another_codec_or_malformed_is_not_used(env, caplog):
    other = "6" * 40
    write_index(env.root, [Stored(c, "pco", 10, "d" * 40) for c in CHUNKS], file_sha1=other, codec="zstd")
    bad = "5" * 40
    (env.root / (blob_relpath(bad) + ".pco.json")).parent.mkdir(parents=True, exist_ok=True)
    (env.root / (blob_relpath(bad) + ".pco.json")).write_bytes(b'{"format": "npx2020-pack"}')
    with caplog.at_level(logging.INFO, LOG):
        assert env.fetch(CHUNKS[0], file_sha1=other) is None
        assert env.fetch(CHUNKS[0], file_sha1=bad) is None
        assert env.fetch(CHUNKS[0], file_sha1=other) is None and env.fetch(CHUNKS[0], file_sha1=bad) is None
    assert env.paths() == [idx_path(other), idx_path(bad)]
    u_other, u_bad = env.srv.url + idx_path(other), env.srv.url + idx_path(bad)
    assert [r.getMessage() for r in caplog.records] == [
        f"{u_other}: codec 'zstd' is not known here; its raw chunks are used",
        f"pack index {u_bad} is not a npx2020-pack index of version 1; its compressed chunks are not used"]
    assert env.counts["bytes_fetched"] == (env.root / (blob_relpath(other) + ".pco.json")).stat().st_size + 26


# == the compressed chunk: retries, refusals ====================================================================

def test_a_transient_error_is_retried_with_the_failovers_backoff(env, caplog):
    c = CHUNKS[0]
    env.fetch(CHUNKS[1])  # the index is in
    env.srv.plan = ["503", "503"]
    errors: list = []
    with caplog.at_level(logging.WARNING, LOG):
        assert bytes(env.fetch(c, errors)) == C0
    url = env.srv.url + pco_path(c.sha1)
    assert errors == [f"GET {url}: HTTP 503"] * 2
    assert [r.getMessage() for r in caplog.records] == [
        f"GET {url}: HTTP 503; retrying (1 of 3 attempts made)", f"GET {url}: HTTP 503; retrying (2 of 3 attempts made)"]
    assert env.backoffs == [1, 2] and env.counts["retries"] == 2 and env.counts["requests"] == 5


def test_all_attempts_failing_gives_none_and_names_each(env, caplog):
    env.fetch(CHUNKS[1])
    env.srv.plan = ["corrupt", "503", "429"]
    errors: list = []
    with caplog.at_level(logging.WARNING, LOG):
        assert env.fetch(CHUNKS[0], errors) is None
    url = env.srv.url + pco_path(CHUNKS[0].sha1)
    bad = bytearray(env.enc[CHUNKS[0].sha1])
    bad[len(bad) // 2] ^= 0xFF
    assert errors == [(f"{url}: sha1 {sha1(bytes(bad))} does not match the index's {sha1(env.enc[CHUNKS[0].sha1])} "
                       "(corrupt data discarded)"), f"GET {url}: HTTP 503", f"GET {url}: HTTP 429"]
    assert env.counts["retries"] == 2 and env.counts["packed_chunks"] == 1
    assert [r.getMessage() for r in caplog.records] == [errors[0], f"{errors[1]}; retrying (2 of 3 attempts made)",
                                                        f"{errors[2]}; retrying (3 of 3 attempts made)"]


def test_a_permanent_error_is_not_retried(env, caplog):
    c = CHUNKS[0]
    blob = env.enc[c.sha1]
    write_index(env.root, [Stored(c, "pco", len(blob) + 1, sha1(blob)), Stored(CHUNKS[1], "raw", 4000, CHUNKS[1].sha1),
                           Stored(CHUNKS[2], "raw", CHUNKS[2].size, CHUNKS[2].sha1)])
    errors: list = []
    with caplog.at_level(logging.WARNING, LOG):
        assert env.fetch(c, errors) is None
    url = env.srv.url + pco_path(c.sha1)
    assert errors == [f"GET {url}: Content-Length {len(blob)} but {len(blob) + 1} bytes were asked for"]
    assert [r.getMessage() for r in caplog.records] == [f"{errors[0]}; trying the raw form"]
    assert env.paths() == [idx_path(), pco_path(c.sha1)] and env.counts["retries"] == 0


def test_a_listed_chunk_missing_from_the_mirror_is_no_error(env):
    (env.root / (blob_relpath(CHUNKS[0].sha1) + ".pco")).unlink()
    errors: list = []
    assert env.fetch(CHUNKS[0], errors) is None
    assert errors == [] and env.counts["retries"] == 0 and env.counts["requests"] == 2


@pytest.mark.parametrize("kind", ["garbage", "other-bytes"])
def test_a_chunk_that_does_not_decode_to_its_sha1_is_refused_for_good_on_that_mirror(env, caplog, kind):
    c = CHUNKS[0]
    blob = b"junk" * 20 if kind == "garbage" else env.enc[CHUNKS[1].sha1]
    write_pco(env.root, c.sha1, blob)
    write_index(env.root, [Stored(c, "pco", len(blob), sha1(blob)),
                           Stored(CHUNKS[1], "pco", len(env.enc[CHUNKS[1].sha1]), sha1(env.enc[CHUNKS[1].sha1])),
                           Stored(CHUNKS[2], "raw", CHUNKS[2].size, CHUNKS[2].sha1)])
    errors: list = []
    with caplog.at_level(logging.WARNING, LOG):
        assert env.fetch(c, errors) is None
    url = env.srv.url + pco_path(c.sha1)
    if kind == "garbage":
        assert errors[0].startswith(f"{url}: not a valid Pco file of int16 values: ")
    else:
        assert errors[0] == f"{url}: decodes to bytes of sha1 {CHUNKS[1].sha1}, not {c.sha1} (refused, not cached)"
    assert errors[0].endswith(" (refused, not cached)") and len(errors) == 1
    assert [r.getMessage() for r in caplog.records] == [
        errors[0][:-len(" (refused, not cached)")] + "; compressed chunk refused, not cached; trying its raw form"]
    assert env.fetch(c, errors) is None and len(env.paths()) == 2  # not asked for again on this mirror
    assert bytes(env.fetch(CHUNKS[1])) == C1
    other = Mirror(env.srv.url + "/", timeout=5.0)  # the same server named again is the same mirror
    assert env.chunks.fetch(other, F, c.sha1, c.size, []) is None and len(env.paths()) == 3
    assert env.counts["packed_chunks"] == 1


def test_each_request_has_the_mirrors_own_timeout(tmp_path, server):
    e = Env(tmp_path / "packed", server, retries=1, timeout=0.3)
    e.fetch(CHUNKS[1])
    e.srv.plan = ["stall"]  # 10 bytes, then nothing for 2 s
    t = time.monotonic()
    errors: list = []
    assert e.fetch(CHUNKS[0], errors) is None
    assert time.monotonic() - t < 1.5 and len(errors) == 1


def test_suffixed_urls_name_the_packed_objects(env):
    mirror = Mirror(env.srv.url, timeout=3.5, pool=3)
    view = packed_mod._Suffixed(mirror, ".pco")
    assert view.url(CHUNKS[0].sha1) == env.srv.url + pco_path(CHUNKS[0].sha1)
    assert (view.base, view.timeout, view.pool) == (mirror.base, 3.5, 3)
    assert hashlib.sha1(b"").hexdigest() not in view.url(CHUNKS[0].sha1)


def test_a_slow_index_of_one_file_does_not_hold_up_another_files(env):
    other = "4" * 40
    write_index(env.root, [Stored(CHUNKS[0], "pco", len(env.enc[CHUNKS[0].sha1]), sha1(env.enc[CHUNKS[0].sha1])),
                           Stored(CHUNKS[1], "raw", 4000, CHUNKS[1].sha1),
                           Stored(CHUNKS[2], "raw", CHUNKS[2].size, CHUNKS[2].sha1)], file_sha1=other)
    env.srv.plan = ["stall"]  # the first request, file F's index: 10 bytes, then nothing for 2 s
    slow = threading.Thread(target=env.fetch, args=(CHUNKS[0],), daemon=True)
    slow.start()
    assert _wait(lambda: env.paths() == [idx_path()])
    t = time.monotonic()
    assert bytes(env.fetch(CHUNKS[0], file_sha1=other)) == C0
    assert time.monotonic() - t < 1.0
    slow.join(10)


def _wait(cond, seconds: float = 5.0) -> bool:
    t = time.monotonic()
    while not cond():
        if time.monotonic() - t > seconds:
            return False
        time.sleep(0.01)
    return True
