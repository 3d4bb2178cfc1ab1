"""The store under load: one cache cap for all processes, reads that survive eviction, no stale leftovers.

Every child process is bounded in work and time; the mirror is an in-process server on 127.0.0.1.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import irregular_bounds, put_file, random_bytes, sha1

from intake_npx2020.store import get_store
from intake_npx2020.store.local import OwnStore, blob_relpath
from intake_npx2020.store.serve import serve_in_thread

pytestmark = pytest.mark.timeout(300)

CHILD_TIMEOUT = 180


def _source(tmp_path: Path, n: int, lo: int, hi: int, seed: int = 3) -> tuple[Path, bytes, str, int]:
    """A file of ``n`` random bytes with a manifest of chunks ``lo``–``hi`` bytes long, in a source store."""
    data = random_bytes(n, seed=seed)
    root = tmp_path / "source"
    bounds = irregular_bounds(n, seed=seed, lo=lo, hi=hi)
    uri = put_file(root, data, bounds, whole=True)
    return root, data, uri, max(b - a for a, b in itertools.pairwise(bounds))


def _on_disk(store: Path) -> tuple[int, int]:
    """Bytes of unpinned blobs in place, and bytes in ``tmp/`` (a snapshot, not atomic)."""
    blobs = sum(s for _, s, _ in OwnStore(store).cached_blobs())
    tmp = store / "tmp"
    in_tmp = 0
    for name in (os.listdir(tmp) if tmp.is_dir() else []):
        try:
            in_tmp += (tmp / name).lstat().st_size
        except FileNotFoundError:
            pass
    return blobs, in_tmp


def _assert_store_valid(store: Path) -> None:
    for p in (store / "sha1").rglob("*"):
        if p.is_file():
            assert sha1(p.read_bytes()) == p.name, p


_READER = """
import random, sys, time
from intake_npx2020.store import get_store
from intake_npx2020.store.local import OwnStore
uri, src, base, cap, n, seed, span, widen = sys.argv[1:9]
data = open(src, "rb").read()
if widen == "1":  # the same race, made frequent: a pause between finding a blob and opening it
    found = OwnStore.locate
    def slow_locate(self, h):
        p = found(self, h)
        if p:
            time.sleep(0.002)
        return p
    OwnStore.locate = slow_locate
s = get_store({"mirrors": base, "cache_max": int(cap), "parallel": 2})
rng = random.Random(int(seed))
errors = 0
for i in range(int(n)):
    a = rng.randrange(len(data)); b = min(len(data), a + rng.randrange(1, int(span)))
    try:
        got = bytes(s.read(uri, a, b))
        if got != data[a:b]:
            errors += 1
            print("WRONG", a, b, file=sys.stderr)
    except Exception as err:
        errors += 1
        print("ERROR", type(err).__name__, err, file=sys.stderr)
print("errors", errors)
"""


def _readers(tmp_path, root, data, uri, cap, n, span, widen=False, procs=4):
    """Run ``procs`` reader processes against a mirror of ``root``; returns the most bytes seen in place and in
    ``tmp/``."""
    src = root / blob_relpath(sha1(data))
    srv, base = serve_in_thread(root)
    peak = [0, 0]
    try:
        ps = [subprocess.Popen([sys.executable, "-c", _READER, uri, str(src), base, str(cap), str(n), str(i),
                                str(span), str(int(widen))], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for i in range(procs)]
        deadline = time.monotonic() + CHILD_TIMEOUT
        while any(p.poll() is None for p in ps) and time.monotonic() < deadline:
            peak = [max(a, b) for a, b in zip(peak, _on_disk(tmp_path / "own-store"))]
            time.sleep(0.02)
        outs = [p.communicate(timeout=max(1.0, deadline - time.monotonic())) for p in ps]
    finally:
        for p in ps:
            if p.poll() is None:
                p.kill()
        srv.shutdown()
        srv.server_close()
    for (out, err), p in zip(outs, ps):
        assert p.returncode == 0, err
        assert out.strip().endswith("errors 0"), err[-2000:]
    return peak


def test_cap_holds_across_four_processes(tmp_path):
    cap = 3_500_000
    root, data, uri, biggest = _source(tmp_path, 8_000_000, 100_000, 400_000)
    (in_place, in_tmp) = _readers(tmp_path, root, data, uri, cap, n=40, span=500_000)
    own = tmp_path / "own-store"
    final = sum(s for _, s, _ in OwnStore(own).cached_blobs())
    assert final <= cap
    assert in_place <= cap + biggest  # one chunk: a snapshot may see a blob published as another was evicted
    assert in_tmp <= 4 * 3 * biggest  # one chunk per writing thread (pool of 2 + the reading thread)
    _assert_store_valid(own)


def test_no_read_fails_under_eviction_by_other_processes(tmp_path):
    root, data, uri, biggest = _source(tmp_path, 2_000_000, 20_000, 60_000, seed=8)
    _readers(tmp_path, root, data, uri, cap=4 * biggest, n=250, span=150_000, widen=True)
    _assert_store_valid(tmp_path / "own-store")


def test_blob_evicted_between_locate_and_open(tmp_path, monkeypatch):
    """Every read path: the blob found by ``locate`` is gone when opened; the read fetches it again."""
    root, data, uri, _ = _source(tmp_path, 3_000_000, 200_000, 600_000, seed=4)
    small = random_bytes(50_000, seed=5)
    small_uri = put_file(root, small, label="small.bin")
    srv, base = serve_in_thread(root)
    try:
        s = get_store({"mirrors": base})
        s.fetch(uri)
        s.fetch(small_uri)
        real = OwnStore.locate
        evicted = []

        def locate_then_evict(self, h):
            p = real(self, h)
            if p:
                os.unlink(p)  # another process evicts it right after it was found
                evicted.append(h)
            return p

        monkeypatch.setattr(OwnStore, "locate", locate_then_evict)
        s._manifests.clear()
        assert s.size(small_uri) == len(small)
        assert bytes(s.read(small_uri)) == small
        assert bytes(s.read(uri, 123_456, 2_345_678)) == data[123_456:2_345_678]
        assert bytes(s.read(uri)) == data
        m = s.manifest(uri.split("manifest=")[1], sha1(data))
        c = m.chunks[2]
        assert bytes(s.fetch_chunk(sha1(data), c, uri)) == data[c.start:c.end]
        assert bytes(s.load_bytes(sha1(small))) == small
        assert len(evicted) >= 6
    finally:
        srv.shutdown()
        srv.server_close()
