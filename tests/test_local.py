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


def _age(store: OwnStore, h: str, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(store.path / blob_relpath(h), (t, t))


def test_touch_refreshes_lru_recency(tmp_path):
    """A touched blob outlives an untouched one that was used after it."""
    store = OwnStore(tmp_path / "s", cache_max=2_500)
    old, newer, third = (random_bytes(1_000, seed=i) for i in (1, 2, 3))
    store.put(sha1(old), old)
    store.put(sha1(newer), newer)
    _age(store, sha1(old), 100)
    _age(store, sha1(newer), 50)
    store.touch(sha1(old))
    store.put(sha1(third), third)  # passes the cap: the least recently used goes
    assert store.locate(sha1(old)) and store.locate(sha1(third))
    assert store.locate(sha1(newer)) is None


def test_touch_leaves_a_linked_file_alone(tmp_path):
    src = tmp_path / "orig.bin"
    src.write_bytes(random_bytes(1_000, seed=4))
    os.utime(src, (1_000_000, 1_000_000))
    store = OwnStore(tmp_path / "s")
    store.put_file(sha1(src.read_bytes()), src, link="sym")
    store.touch(sha1(src.read_bytes()))
    assert src.stat().st_mtime == 1_000_000


def test_cap_counts_on_disk_for_every_instance(tmp_path):
    """Two stores on one root (as two processes) share one count: together they stay within the cap."""
    a, b = OwnStore(tmp_path / "s", cache_max=5_000), OwnStore(tmp_path / "s", cache_max=5_000)
    for i in range(20):
        data = random_bytes(1_000, seed=100 + i)
        (a if i % 2 else b).put(sha1(data), data)
        assert sum(s for _, s, _ in a.cached_blobs()) <= 5_000
    assert (tmp_path / "s" / "locks" / "cache-bytes").read_text().strip().isdigit()


def test_count_file_damaged_is_recounted(tmp_path):
    store = OwnStore(tmp_path / "s", cache_max=3_000)
    for i in range(2):
        data = random_bytes(1_000, seed=200 + i)
        store.put(sha1(data), data)
    (tmp_path / "s" / "locks" / "cache-bytes").write_text("garbage")
    for i in range(2, 5):
        data = random_bytes(1_000, seed=200 + i)
        store.put(sha1(data), data)
    assert sum(s for _, s, _ in store.cached_blobs()) <= 3_000


def _evict_when_found(monkeypatch, victim: str) -> None:
    """Another process evicts ``victim`` right after this one found it."""
    real = OwnStore.locate

    def locate(self, h):
        p = real(self, h)
        if p and h == victim:
            os.unlink(p)
        return p

    monkeypatch.setattr(OwnStore, "locate", locate)


def test_pinning_a_cached_blob_races_eviction(tmp_path, monkeypatch):
    from intake_npx2020.store.ingest import put_bytes

    store = OwnStore(tmp_path / "s")
    data = random_bytes(5_000, seed=5)
    store.put(sha1(data), data)  # cached, not pinned
    _evict_when_found(monkeypatch, sha1(data))
    assert put_bytes(store, data, pin=True) == sha1(data)
    p = store.path / blob_relpath(sha1(data))
    assert store.is_pinned(sha1(data)) and p.is_file() and sha1(p.read_bytes()) == sha1(data)


def test_adding_a_cached_file_races_eviction(tmp_path, monkeypatch):
    from intake_npx2020.store.ingest import add_file

    store = OwnStore(tmp_path / "s")
    src = tmp_path / "f.bin"
    src.write_bytes(random_bytes(5_000, seed=6))
    h = sha1(src.read_bytes())
    store.put(h, src.read_bytes())  # fetched earlier from a mirror: cached, not pinned
    _evict_when_found(monkeypatch, h)
    add_file(store, src, progress=False)
    p = store.path / blob_relpath(h)
    assert store.is_pinned(h) and p.is_file() and sha1(p.read_bytes()) == h


def test_evict_keeps_pins_and_unlink_spares_open_readers(tmp_path):
    store = OwnStore(tmp_path / "s")
    data = random_bytes(4_000, seed=7)
    store.put(sha1(data), data)
    with open(store.locate(sha1(data)), "rb") as f:
        assert store.evict(0) == 0 and store.locate(sha1(data)) is None
        assert f.read() == data  # an open reader keeps reading an evicted blob
