"""store/direct.py, store/buffers.py, store/recent.py, store/writeback.py: the cold path's writes around the page
cache, its reused receive buffers, the chunks it keeps in memory and those on their way to the disk."""

import errno
import os

import pytest
from helpers import random_bytes, sha1, tmp_leftovers

from intake_npx2020.errors import StoreFullError
from intake_npx2020.store import direct
from intake_npx2020.store.buffers import LARGE, BufferPool, receive_buffer
from intake_npx2020.store.local import OwnStore, blob_relpath
from intake_npx2020.store.recent import RecentChunks

SIZES = [0, 1, 4095, 4096, 4097, direct.BOUNCE - 1, direct.BOUNCE, direct.BOUNCE + 4096 + 17, 3 * direct.BOUNCE + 5]


def _direct_works(tmp_path) -> bool:
    if not getattr(os, "O_DIRECT", 0):
        return False
    try:
        os.close(os.open(tmp_path / "probe", os.O_WRONLY | os.O_CREAT | os.O_DIRECT))
        return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def fresh_refusals(monkeypatch):
    monkeypatch.setattr(direct, "_refused", set())


@pytest.mark.parametrize("n", SIZES)
def test_every_size_is_written_exactly(tmp_path, n):
    data = random_bytes(n, seed=n)
    p = tmp_path / "f"
    fd = os.open(p, os.O_WRONLY | os.O_CREAT)
    try:
        wrote = direct.write_direct(p, fd, data)
    finally:
        os.close(fd)
    if n < direct.ALIGN or not _direct_works(tmp_path):
        assert wrote is False and p.read_bytes() == b""  # nothing written: the caller writes normally
    else:
        assert wrote is True and p.read_bytes() == data


@pytest.mark.parametrize("n", [1, 4097, direct.BOUNCE + 3])
def test_put_stores_the_exact_bytes_aligned_or_not(tmp_path, n):
    own = OwnStore(tmp_path / "s")
    data = random_bytes(n, seed=7)
    h = sha1(data)
    buf = receive_buffer(n)  # page-aligned from LARGE on: written without the bounce buffer
    memoryview(buf)[:] = data
    own.put(h, buf)
    assert (tmp_path / "s" / blob_relpath(h)).read_bytes() == data
    other = random_bytes(n, seed=8)
    own.put(sha1(other), other)
    assert (tmp_path / "s" / blob_relpath(sha1(other))).read_bytes() == other
    assert tmp_leftovers(tmp_path / "s") == []


@pytest.mark.parametrize("where", ["open", "first write"])
def test_a_file_system_refusing_o_direct_gets_normal_writes(tmp_path, monkeypatch, where):
    real_open, real_pwrite = os.open, os.pwrite
    flag = getattr(os, "O_DIRECT", 0) or 0x4000
    monkeypatch.setattr(direct, "_FLAG", flag)
    calls = {"direct": 0}

    def fake_open(path, flags, *args, **kwargs):
        if flags & flag:
            calls["direct"] += 1
            if where == "open":
                raise OSError(errno.EINVAL, "Invalid argument")
            return real_open(path, flags & ~flag, *args, **kwargs)
        return real_open(path, flags, *args, **kwargs)

    def fake_pwrite(fd, data, offset):
        if where == "first write" and calls["direct"] and offset == 0 and len(data) >= direct.ALIGN:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "pwrite", fake_pwrite)
    own = OwnStore(tmp_path / "s")
    for seed in (1, 2):
        data = random_bytes(50_000, seed=seed)
        own.put(sha1(data), data)
        assert (tmp_path / "s" / blob_relpath(sha1(data))).read_bytes() == data
    assert calls["direct"] == 1  # refused once: that file system is not asked again
    assert tmp_leftovers(tmp_path / "s") == []


def test_a_full_disk_during_a_direct_write_is_store_full_and_leaves_nothing(tmp_path, monkeypatch):
    if not _direct_works(tmp_path):
        pytest.fail("this test needs a file system with O_DIRECT (the CI disk has it)")
    real_pwrite = os.pwrite

    def full(fd, data, offset):
        if offset >= direct.BOUNCE:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", full)
    own = OwnStore(tmp_path / "s")
    data = random_bytes(2 * direct.BOUNCE + 10, seed=3)
    with pytest.raises(StoreFullError, match=sha1(data)):
        own.put(sha1(data), data)
    aligned = receive_buffer(len(data))
    memoryview(aligned)[:] = data
    with pytest.raises(StoreFullError, match=sha1(data)):
        own.put(sha1(data), aligned)
    assert tmp_leftovers(tmp_path / "s") == []
    assert not (tmp_path / "s" / blob_relpath(sha1(data))).exists()


@pytest.mark.parametrize("n", [0, 10, LARGE - 1, LARGE, 3 * LARGE + 1])
def test_receive_buffers_are_writable_bytes_of_the_size_asked(n):
    buf = receive_buffer(n)
    view = memoryview(buf)
    assert len(buf) == n and view.nbytes == n and view.format == "B" and not view.readonly
    data = random_bytes(n, seed=n)
    view[:] = data
    assert bytes(buf) == data and buf == data
    assert isinstance(buf, bytearray) == (n < LARGE)


def test_recent_chunks_keep_the_last_used_up_to_capacity():
    r = RecentChunks(2)
    r.put("a", b"1")
    r.put("b", b"2")
    assert r.get("a") == b"1"  # a is now the most recent
    r.put("c", b"3")
    assert "b" not in r and r.get("a") == b"1" and r.get("c") == b"3"
    r.put("a", b"1")
    r.put("d", b"4")
    assert "c" not in r and "a" in r and "d" in r
    r.clear()
    assert r.get("a") is None and "d" not in r
    assert RecentChunks(0).capacity == 1


# -- reused receive buffers -------------------------------------------------------------------------------------
def _address(buf) -> int:
    import numpy as np

    return np.frombuffer(buf, dtype=np.uint8).ctypes.data


def test_large_receive_buffers_are_page_aligned():
    for n in (LARGE, LARGE + 1, 3 * LARGE + 5):
        assert _address(receive_buffer(n)) % direct.ALIGN == 0


def test_a_retired_buffer_is_reused_only_once_nothing_refers_to_it():
    import numpy as np

    pool = BufferPool(keep=4)
    buf = pool.get(LARGE)
    addr = _address(buf)
    held = {"slice": buf[10:20], "array": np.frombuffer(buf, dtype=np.uint8)[5:], "obj": buf.obj,
            "view": memoryview(buf)}
    pool.retire(buf)
    del buf
    for name in list(held):
        again = pool.get(LARGE)
        assert _address(again) != addr, f"reused while a {name} of it was held"
        del again
        del held[name]
    reused, fresh = pool.get(LARGE), pool.get(LARGE)
    assert _address(reused) == addr and pool.reused == 1
    assert _address(fresh) != addr  # handed out once


def test_retired_buffers_are_reused_by_size_and_at_most_keep_wait():
    pool = BufferPool(keep=2)
    bufs = [pool.get(LARGE) for _ in range(3)]
    addrs = [_address(b) for b in bufs]
    for b in bufs:
        pool.retire(b)
    del bufs, b
    other = pool.get(LARGE + 4096)
    assert pool.reused == 0 and len(other) == LARGE + 4096  # another size: fresh
    got = [pool.get(LARGE) for _ in range(3)]
    assert pool.reused == 2  # the oldest was let go
    assert {_address(g) for g in got[:2]} == set(addrs[1:])
    pool.retire(memoryview(bytearray(LARGE)))  # not from a pool: ignored
    pool.retire(b"x" * LARGE)
    assert pool.reused == 2


def test_a_chunk_a_reader_holds_is_never_overwritten_by_a_later_fetch(blob, tmp_path, serve_process):
    from intake_npx2020.store import get_store

    root, data, uri = blob
    s = get_store({"mirrors": serve_process(root), "cache": False, "parallel": 2})
    m = s.manifest(uri.split("manifest=")[1])
    big = [c for c in m.chunks if c.size >= LARGE]
    first = s.fetch_chunk(m.sha1, big[0], uri)
    view = memoryview(first)[100:200]
    for a in range(0, len(data), 700_000):  # a streamed pass: every chunk fetched, buffers retired and reused
        assert bytes(s.read(uri, a, a + 700_000)) == data[a:a + 700_000]
    s._recent.clear()
    for c in big[1:]:
        s.fetch_chunk(m.sha1, c, uri)
    assert bytes(first) == data[big[0].start:big[0].end]
    assert bytes(view) == data[big[0].start + 100:big[0].start + 200]


def test_a_shortage_asks_the_holders_first_and_takes_what_they_let_go():
    held: list = []
    calls: list[int] = []
    box: dict = {}

    def shortage():
        calls.append(len(held))
        while held:
            box["pool"].retire(held.pop())

    pool = box["pool"] = BufferPool(keep=4, shortage=shortage)
    held.append(pool.get(LARGE))  # nothing retired, nothing held: asked, then a fresh buffer
    assert calls == [0] and pool.reused == 0
    addr = _address(held[0])
    again = pool.get(LARGE)  # the holder is asked, lets go, and its buffer is taken
    assert calls == [0, 1] and pool.reused == 1 and _address(again) == addr
    fresh = pool.get(LARGE)  # asked again, has nothing: a fresh buffer
    assert calls == [0, 1, 0] and pool.reused == 1 and _address(fresh) != addr
    pool.retire(fresh)
    del fresh
    assert _address(pool.get(LARGE)) and calls == [0, 1, 0] and pool.reused == 2  # a retired one fits


def test_idle_recent_chunks_are_let_go_unless_used_lately_or_busy(monkeypatch):
    import time

    from intake_npx2020.store import recent

    busy = [False]
    r = RecentChunks(4, busy=lambda: busy[0])
    r.put("a", b"1")
    t = time.monotonic()
    assert not r.release_if_idle(t + recent.IDLE / 2) and r.get("a") == b"1"  # used a moment ago
    busy[0] = True
    assert not r.release_if_idle(time.monotonic() + recent.IDLE + 1) and "a" in r  # its store is fetching
    busy[0] = False
    for use in (lambda: r.get("zz"), lambda: "zz" in r, lambda: r.put("b", b"2")):  # a miss counts as a use
        monkeypatch.setattr(recent, "IDLE", 0.2)
        use()
        assert not r.release_if_idle() and len(r) >= 1
        time.sleep(0.25)
        assert r.release_if_idle() and len(r) == 0 and r.get("a") is None
        assert not r.release_if_idle(time.monotonic() + 5)  # nothing left to let go
        r.put("a", b"1")


def test_a_store_that_is_done_gives_its_chunks_memory_to_the_next(blob, serve_process, monkeypatch):
    from intake_npx2020.store import buffers, get_store, recent

    root, data, uri = blob
    base = serve_process(root)
    one = get_store({"mirrors": [base], "cache": False, "parallel": 2, "retries": 2})
    for a in range(0, len(data), 3_000_000):
        assert bytes(one.read(uri, a, a + 3_000_000)) == data[a:a + 3_000_000]
    kept = len(one._recent)
    assert kept >= 2
    monkeypatch.setattr(recent, "IDLE", 0.0)  # the first store has not been read from "for a while"
    monkeypatch.setattr(buffers._POOL, "_retired", __import__("collections").deque(maxlen=buffers.KEEP))
    before = buffers._POOL.reused
    two = get_store({"mirrors": [base], "cache": False, "parallel": 3, "retries": 2})
    assert bytes(two.read(uri, 0, len(data))) == data
    assert len(one._recent) == 0 and buffers._POOL.reused > before  # let go, and its buffers taken
    assert bytes(one.read(uri, 5_000_000, 9_000_000)) == data[5_000_000:9_000_000]  # fetched again when read


# -- write-behind ----------------------------------------------------------------------------------------------
class _SlowOwn:
    """An OwnStore stand-in whose writes wait for a gate (or fail)."""

    def __init__(self, fail: BaseException | None = None):
        import threading

        self.gate = threading.Event()
        self.fail = fail
        self.written: list[str] = []

    def put(self, sha1, data, pin=False):
        assert self.gate.wait(10)
        if self.fail is not None:
            raise self.fail
        self.written.append(sha1)


def test_write_behind_holds_at_most_max_pending_chunks_and_serves_them_meanwhile():
    import threading

    from intake_npx2020.store.writeback import MAX_PENDING, WriteBehind

    own = _SlowOwn()
    w = WriteBehind(own)
    released: list[str] = []
    for i in range(MAX_PENDING):
        w.put(f"{i:040x}", b"%d" % i, lambda i=i: released.append(i))
    assert f"{3:040x}" in w and w.read(f"{3:040x}") == b"3" and w.read("f" * 40) is None
    extra = threading.Thread(target=w.put, args=("e" * 40, b"e", lambda: released.append("e")))
    extra.start()
    extra.join(0.3)
    assert extra.is_alive()  # a full queue makes the next fetch wait
    own.gate.set()
    extra.join(10)
    w.flush()
    assert len(own.written) == MAX_PENDING + 1 and len(released) == MAX_PENDING + 1
    assert f"{3:040x}" not in w and w.read(f"{3:040x}") is None


def test_a_failed_background_write_is_raised_once_by_the_next_call():
    from intake_npx2020.store.writeback import WriteBehind

    own = _SlowOwn(StoreFullError("no space left writing blob x"))
    w = WriteBehind(own)
    released = []
    w.put("a" * 40, b"a", lambda: released.append(1))
    own.gate.set()
    with pytest.raises(StoreFullError, match="no space"):
        w.flush()
    assert released == [1] and "a" * 40 not in w
    w.check()  # raised once
    w.flush()


@pytest.mark.parametrize("n", [0, 5, LARGE - 1, LARGE, 2 * LARGE + 3])
def test_copy_into_copies_every_byte_small_or_large(n):
    from intake_npx2020.store.buffers import copy_into

    src = random_bytes(n, seed=n + 1)
    out = memoryview(bytearray(n + 10))
    copy_into(out[5:5 + n], src)
    assert bytes(out[5:5 + n]) == src and bytes(out[:5]) == bytes(5) and bytes(out[5 + n:]) == bytes(5)
    with pytest.raises(ValueError):
        copy_into(out[:n + 1], src)


def test_bodies_read_past_urllib3_still_reuse_one_connection(tmp_path):
    from helpers import FaultServer, write_blob

    from intake_npx2020.store.mirror import Mirror

    data = random_bytes(3 * LARGE + 77, seed=9)
    h = write_blob(tmp_path / "m", data)
    srv = FaultServer(tmp_path / "m")
    clients = []
    handle = srv.handle
    srv.handle = lambda req: clients.append(req.client_address) or handle(req)
    try:
        mirror = Mirror(srv.url, timeout=5)
        for a in range(0, len(data), LARGE // 2 + 1):
            b = min(len(data), a + LARGE // 2 + 1)
            body = mirror.get(h, a, b)
            assert bytes(body.data) == data[a:b] and body.sha1 == sha1(data[a:b])
        whole = mirror.get(h, size=len(data))
        assert bytes(whole.data) == data and whole.sha1 == h
        assert len(clients) == 8 and len(set(clients)) == 1  # eight requests, one connection
        srv.plan = ["truncate"]
        with pytest.raises(Exception, match="truncated body"):
            mirror.get(h, 0, LARGE)
        assert bytes(mirror.get(h, 0, LARGE).data) == data[:LARGE]  # on a new connection: the broken one is dropped
        assert len(set(clients)) == 2
    finally:
        srv.close()
