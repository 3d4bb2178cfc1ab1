import os
import threading
import time

from helpers import random_bytes, sha1, tmp_leftovers

from intake_npx2020.store.local import OwnStore, blob_relpath


def test_put_is_atomic_under_concurrency(tmp_path):
    store = OwnStore(tmp_path / "s")
    data = random_bytes(2_000_000)
    h = sha1(data)
    errors = []

    def writer():
        try:
            store.put(h, data)
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    seen = []
    while any(t.is_alive() for t in threads):
        p = tmp_path / "s" / blob_relpath(h)
        if p.exists():
            seen.append(sha1(p.read_bytes()) == h)
    for t in threads:
        t.join()
    assert not errors and all(seen)
    assert tmp_leftovers(tmp_path / "s") == []


def test_lru_eviction_keeps_recent_and_pinned(tmp_path):
    store = OwnStore(tmp_path / "s", cache_max=3_000)
    blobs = [random_bytes(1_000, seed=i) for i in range(6)]
    pinned = random_bytes(5_000, seed=99)
    store.put(sha1(pinned), pinned, pin=True)
    for i, b in enumerate(blobs):
        store.put(sha1(b), b)
        t = time.time() - 100 + i
        os.utime(tmp_path / "s" / blob_relpath(sha1(b)), (t, t))
        if i == 1:
            store.touch(sha1(blobs[0]))  # blob 0 used again: now recent
            os.utime(tmp_path / "s" / blob_relpath(sha1(blobs[0])), (t + 0.5, t + 0.5))
    present = {i for i, b in enumerate(blobs) if store.locate(sha1(b))}
    assert sum(1_000 for _ in present) <= 3_000
    assert 5 in present and store.locate(sha1(pinned))
    assert 1 not in present  # least recently used goes first
