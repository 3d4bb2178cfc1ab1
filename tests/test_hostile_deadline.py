"""Reads are bounded in time: a mirror that stalls or trickles (headers or body) is cut off by the deadline on
the whole request, and the read gives up (or moves to the next mirror) within the documented bound::

    per source: retries * (timeout + n / MIN_RATE) + backoffs,   backoff before retry a <= 1.5 * min(2, 0.1 * 2**a)

A body that is complete before the deadline is used, however slow its bytes were.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from faults import ScriptedMirror, put_blob, put_with_manifest

from intake_npx2020.errors import FetchError
from intake_npx2020.store import get_store
from intake_npx2020.store.mirror import MIN_RATE

SLACK = 1.0  # seconds for process scheduling on a loaded 2-core machine


def bound(timeout: float, retries: int, nbytes: int = 0, sources: int = 1) -> float:
    """The documented bound for one mirror's sources (see intake_npx2020.store.failover)."""
    backoffs = sum(1.5 * min(2.0, 0.1 * 2 ** a) for a in range(1, retries))
    return sources * (retries * (timeout + nbytes / MIN_RATE) + backoffs)


def sources_bound(log, timeout: float, retries: int) -> float:
    """The bound summed over the distinct sources (path, range) a mirror was asked for."""
    total = 0.0
    for path, rng in dict.fromkeys((r.path, r.range) for r in log):
        n = 0 if rng is None else int(rng.split("-")[1]) - int(rng.split("=")[1].split("-")[0]) + 1
        total += bound(timeout, retries, n)
    return total


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(9)
    small = rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes()
    big = rng.integers(0, 256, 1_000_000, dtype=np.uint8).tobytes()
    root = tmp_path / "source"
    small_uri = f"sha1://{put_blob(root, small)}/small.bin"
    big_uri = put_with_manifest(root, big, [0, 400_000, 1_000_000], whole=True, chunks=False)
    return root, small, small_uri, big, big_uri


SLOW = ["stall-headers", "trickle-headers=0.1", "stall-body", "trickle-body=0.2", "late=5"]


@pytest.mark.parametrize("action", SLOW)
def test_slow_first_mirror_costs_at_most_the_bound(files, action):
    """A stalling or trickling first mirror: the second one serves the file within the bound for the first."""
    root, small, small_uri, big, big_uri = files
    bad, good = ScriptedMirror(root).script(action), ScriptedMirror(root)
    try:
        s = get_store({"mirrors": [bad.url, good.url], "timeout": 0.5, "retries": 2})
        t = time.monotonic()
        assert bytes(s.read(small_uri)) == small  # size unknown: budget timeout, moved on by bytes received
        took = time.monotonic() - t
        assert took < bound(0.5, 2) + SLACK, took
        before = len(bad.log)
        t = time.monotonic()
        assert bytes(s.read(big_uri, 400_000, 400_010)) == big[400_000:400_010]  # manifest, then a 600 kB range
        took = time.monotonic() - t
        assert took < sources_bound(bad.log[before:], 0.5, 2) + SLACK, took
        assert all(r.action == action for r in bad.log)
    finally:
        bad.close()
        good.close()


def test_body_complete_before_the_deadline_is_used(files):
    """Headers at once, the body 0.6 s later (past nothing: the deadline is 1 s + 50 ms): taken at the first try."""
    root, small, small_uri, *_ = files
    srv = ScriptedMirror(root).script("late=0.6", times=1)
    try:
        s = get_store({"mirrors": srv.url, "timeout": 1.0, "retries": 2})
        assert bytes(s.read(small_uri)) == small
        assert s.stats["retries"] == 0 and [r.action for r in srv.log] == ["late=0.6"]
    finally:
        srv.close()


def test_trickle_faster_than_min_rate_is_not_cut(files):
    """A body trickled in 50 pieces over ~0.5 s, above MIN_RATE on average, completes."""
    root, _, _, big, big_uri = files
    srv = ScriptedMirror(root).script("trickle-body=0.01", when="range")
    try:
        s = get_store({"mirrors": srv.url, "timeout": 0.3, "retries": 1})
        assert bytes(s.read(big_uri, 0, 400_000)) == big[:400_000]
    finally:
        srv.close()


@pytest.mark.parametrize("timeout, retries, mirrors", [(0.5, 2, 1), (1.0, 3, 1), (0.5, 2, 2)])
def test_measured_bound_of_stalled_mirrors(files, timeout, retries, mirrors, capsys):
    """Every mirror stalls (no headers): the read fails with FetchError within the bound; the time is printed."""
    root, _, small_uri, _, big_uri = files
    srvs = [ScriptedMirror(root).script("stall-headers") for _ in range(mirrors)]
    try:
        s = get_store({"mirrors": [m.url for m in srvs], "timeout": timeout, "retries": retries})
        t = time.monotonic()
        with pytest.raises(FetchError, match="deadline"):
            s.read(small_uri)
        took = time.monotonic() - t
        limit = mirrors * bound(timeout, retries)
        with capsys.disabled():
            print(f"\nstalled mirrors={mirrors} timeout={timeout} retries={retries}: gave up after {took:.2f} s "
                  f"(bound {limit:.2f} s; {sum(len(m.log) for m in srvs)} requests)")
        assert took < limit + SLACK
        assert took > mirrors * retries * timeout * 0.9  # it did wait for each attempt
    finally:
        for m in srvs:
            m.close()


def test_measured_bound_of_a_stalled_chunk(files, capsys):
    """The manifest is cached, then the mirror stalls on the chunk's range: FetchError within the bound."""
    root, _, _, big, big_uri = files
    srv = ScriptedMirror(root)
    try:
        s = get_store({"mirrors": srv.url, "timeout": 0.5, "retries": 2})
        assert bytes(s.read(big_uri, 0, 10)) == big[:10]
        srv.script("stall-body")
        t = time.monotonic()
        with pytest.raises(FetchError, match="deadline|timed out"):
            s.read(big_uri, 400_000, 400_010)
        took = time.monotonic() - t
        limit = bound(0.5, 2, 600_000)  # the chunk's own blob is not on the mirror (404 at once)
        with capsys.disabled():
            print(f"\nstalled 600 kB chunk, timeout=0.5 retries=2: gave up after {took:.2f} s (bound {limit:.2f} s)")
        assert took < limit + SLACK
    finally:
        srv.close()
