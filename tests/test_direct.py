"""store/direct.py, store/buffers.py, store/recent.py: the cold path's writes around the page cache, its receive
buffers and the chunks it keeps in memory."""

import errno
import os

import pytest
from helpers import random_bytes, sha1, tmp_leftovers

from intake_npx2020.errors import StoreFullError
from intake_npx2020.store import direct
from intake_npx2020.store.buffers import LARGE, receive_buffer
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
def test_stage_and_put_store_the_exact_bytes(tmp_path, n):
    own = OwnStore(tmp_path / "s")
    data = random_bytes(n, seed=7)
    h = sha1(data)
    entry = own.stage(h, memoryview(data))
    own.commit(entry, h, n)
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
        own.stage(sha1(data), data)
    with pytest.raises(StoreFullError):
        own.put(sha1(data), data)
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
