"""Tests written to kill mutmut survivors in the store's temp area and cache cap (``store/tmpfiles.py``,
``store/capacity.py``).

What they assert is what another process sharing the store sees: which entries of ``tmp/`` count as leftovers and
get removed, which locks are held, what the ``locks/cache-bytes`` count file holds, which blobs an eviction leaves.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import threading
import time
from pathlib import Path

import pytest

from intake_npx2020.store.capacity import CacheTally, cached_blobs
from intake_npx2020.store.local import blob_relpath
from intake_npx2020.store.tmpfiles import GRACE_S, Leftover, TempArea, TmpEntry

H = "0123456789abcdef0123456789abcdef01234567"
DEAD_PID = 4_194_399  # above Linux's largest pid_max (2**22): never a live process


def _locked_elsewhere(path) -> bool:
    """True when another open file description cannot take an exclusive lock (as another process would see)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        assert err.errno in (errno.EWOULDBLOCK, errno.EAGAIN)
        return True
    finally:
        os.close(fd)
    return False


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t), follow_symlinks=False)


# == tmpfiles ====================================================================================================

def test_new_entry_is_named_by_blob_pid_and_random_part(tmp_path):
    area = TempArea(tmp_path / "a" / "tmp")
    e = area.new(H)
    assert (tmp_path / "a" / "tmp").is_dir()  # created, parents too
    assert e.path.parent == tmp_path / "a" / "tmp"
    assert re.fullmatch(rf"{H}\.{os.getpid()}\.[0-9a-f]{{8}}", e.path.name), e.path.name
    assert area.new(H).path != e.path
    assert not e.path.exists() and e.fd is None
    area.new(H)  # the directory existing already is fine


def test_created_entry_is_locked_until_closed(tmp_path):
    area = TempArea(tmp_path / "tmp")
    e = area.new(H)
    old = os.umask(0o022)
    try:
        fd = e.create()
    finally:
        os.umask(old)
    assert e.fd == fd
    assert e.path.is_file() and e.path.stat().st_size == 0
    assert e.path.stat().st_mode & 0o777 == 0o644
    os.write(fd, b"abc")  # open for writing
    assert _locked_elsewhere(e.path)
    with pytest.raises(FileExistsError):
        TmpEntry(e.path).create()
    e.close()
    assert e.fd is None
    e.close()  # twice is fine
    assert not _locked_elsewhere(e.path)
    assert e.path.read_bytes() == b"abc"


def test_two_writes_holding_links_to_one_file_do_not_wait_for_each_other(tmp_path):
    area = TempArea(tmp_path / "tmp")
    target = tmp_path / "big.bin"
    target.write_bytes(b"x" * 100)
    a, b = area.new(H), area.new(H)
    os.link(target, a.path)
    os.symlink(target, b.path)
    a.hold()
    done = threading.Event()
    t = threading.Thread(target=lambda: (b.hold(), done.set()), daemon=True)
    t.start()
    assert done.wait(10), "a second shared lock waited for the first"
    assert _locked_elsewhere(target) and a.fd is not None and b.fd is not None
    assert area.leftovers() == []
    a.close()
    b.close()
    assert not _locked_elsewhere(target)


def test_hold_of_a_missing_entry_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        TmpEntry(tmp_path / "nothing").hold()


def test_discard_removes_and_unlocks(tmp_path):
    area = TempArea(tmp_path / "tmp")
    e = area.new(H)
    e.create()
    TempArea.discard(e)
    assert not e.path.exists() and e.fd is None
    area.discard(e)  # already gone: no error


def test_entry_context_removes_on_error_and_keeps_on_success(tmp_path):
    area = TempArea(tmp_path / "tmp")
    with pytest.raises(KeyboardInterrupt), area.entry(H) as e:
        e.create()
        raise KeyboardInterrupt
    assert not e.path.exists() and e.fd is None
    with pytest.raises(ValueError, match="boom"), area.entry(H) as e2:
        raise ValueError("boom")  # never created: nothing to remove
    with area.entry(H) as e3:
        e3.create()
        assert _locked_elsewhere(e3.path)
    assert e3.path.exists() and e3.fd is None
    assert not _locked_elsewhere(e3.path)
    assert e2.path.name != e3.path.name


def test_leftovers_by_lock_pid_and_age(tmp_path):
    area = TempArea(tmp_path / "tmp")
    assert area.leftovers() == [] and area.in_flight() == 0 and area.reclaim() == []  # no tmp/ yet
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    (tmp / "downloads").mkdir()  # a directory is never a write of ours
    _age(tmp / "downloads", 2 * GRACE_S)
    mine = tmp / f"{H}.{os.getpid()}.aaaaaaaa"
    mine.write_bytes(b"12345")
    dead = tmp / f"{H}.{DEAD_PID}.bbbbbbbb"
    dead.write_bytes(b"1234567")
    odd = tmp / "no-pid-here"
    odd.write_bytes(b"1")
    huge = tmp / f"{H}.{10**30}.cccccccc"
    huge.write_bytes(b"12")
    four = tmp / f"{H}.{DEAD_PID}.dd.ee"
    four.write_bytes(b"")
    held = area.new(H)
    held.create()
    _age(held.path, 2 * GRACE_S)
    assert area.in_flight() == 6
    assert sorted(area.leftovers()) == sorted([Leftover(dead, 7), Leftover(huge, 2)])
    _age(mine, GRACE_S - 30)
    _age(odd, GRACE_S - 30)
    _age(four, GRACE_S - 30)
    assert sorted(area.leftovers()) == sorted([Leftover(dead, 7), Leftover(huge, 2)])
    _age(mine, GRACE_S + 30)
    _age(odd, GRACE_S + 30)
    _age(four, GRACE_S + 30)
    assert sorted(p.path.name for p in area.leftovers()) == sorted(p.name for p in (mine, dead, odd, huge, four))
    removed = area.reclaim()
    assert sorted(r.path for r in removed) == sorted([mine, dead, odd, huge, four])
    assert sorted(os.listdir(tmp)) == sorted(["downloads", held.path.name])
    assert area.in_flight() == 1
    held.close()
    assert area.reclaim() == [Leftover(held.path, 0)]
    assert area.in_flight() == 0


def test_dangling_link_entry_decided_by_pid_and_age(tmp_path):
    area = TempArea(tmp_path / "tmp")
    e = area.new(H)
    os.symlink(tmp_path / "gone.bin", e.path)
    assert area.leftovers() == []  # our own pid, young
    dead = tmp_path / "tmp" / f"{H}.{DEAD_PID}.aaaaaaaa"
    os.symlink(tmp_path / "gone.bin", dead)
    assert [x.path for x in area.leftovers()] == [dead]
    assert [x.path for x in area.reclaim()] == [dead]
    assert not os.path.lexists(dead) and os.path.lexists(e.path)


def test_reclaim_checks_again_and_skips_what_vanished(tmp_path, monkeypatch):
    from intake_npx2020.store import tmpfiles

    area = TempArea(tmp_path / "tmp")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    a = tmp / f"{H}.{DEAD_PID}.aaaaaaaa"
    b = tmp / f"{H}.{DEAD_PID}.bbbbbbbb"
    a.write_bytes(b"a")
    b.write_bytes(b"bb")
    real = area.leftovers

    def then_a_write_takes_b():
        found = real()
        fd = os.open(b, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_SH)
        monkeypatch.setattr(tmpfiles, "_keep_fd", fd, raising=False)
        a.unlink()  # removed by someone else meanwhile
        return found

    monkeypatch.setattr(area, "leftovers", then_a_write_takes_b)
    try:
        assert area.reclaim() == []
        assert b.exists()
    finally:
        os.close(tmpfiles._keep_fd)


# == capacity ====================================================================================================

def _blob(root: Path, data: bytes, age: float, name: str | None = None) -> Path:
    import hashlib

    h = name or hashlib.sha1(data).hexdigest()
    p = root / blob_relpath(h)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    t = 1_700_000_000 - age
    os.utime(p, (t, t))
    return p


def _count(root: Path) -> bytes:
    return (root / "locks" / "cache-bytes").read_bytes()


def test_cached_blobs_skip_pins_and_foreign_names(tmp_path):
    assert cached_blobs(tmp_path) == []
    a = _blob(tmp_path, b"a" * 10, 30)
    b = _blob(tmp_path, b"b" * 20, 20)
    c = _blob(tmp_path, b"c" * 30, 10)
    (tmp_path / "pins").mkdir()
    (tmp_path / "pins" / c.name).touch()
    (a.parent / (a.name + ".link")).write_text("{}")
    assert sorted(cached_blobs(tmp_path)) == [(a.stat().st_mtime, 10, a), (b.stat().st_mtime, 20, b)]
    (tmp_path / "pins" / c.name).unlink()
    assert len(cached_blobs(tmp_path)) == 3


def test_count_file_fixed_width_and_corrected_by_total(tmp_path):
    _blob(tmp_path, b"a" * 100, 2)
    _blob(tmp_path, b"b" * 250, 1)
    t = CacheTally(tmp_path)
    assert t.file == tmp_path / "locks" / "cache-bytes"
    (tmp_path / "locks").mkdir()
    t.file.write_bytes(b"9" * 40 + b"\n")  # longer than a count: cut back to one
    assert t.total() == 350
    assert _count(tmp_path) == b"00000000000000000350\n"
    empty = CacheTally(tmp_path / "empty")
    assert empty.evict(0) == 0
    assert _count(tmp_path / "empty") == b"00000000000000000000\n"


@pytest.mark.parametrize("text", [b"00000000000000000012", b"000000000000000000012\n", b"0000000000000000001x\n",
                                  b"00000000000000000012\r", b""],
                         ids=["no-newline", "too-long", "not-digits", "wrong-end", "empty"])
def test_a_damaged_count_is_recounted_from_disk(tmp_path, text):
    _blob(tmp_path, b"a" * 100, 1)
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "cache-bytes").write_bytes(text)
    placed = []
    assert CacheTally(tmp_path).admit(5, None, lambda: placed.append(1)) is False
    assert placed == [1]
    assert _count(tmp_path) == b"00000000000000000105\n"


def test_a_sound_count_is_trusted_and_placing_happens_under_the_lock(tmp_path):
    _blob(tmp_path, b"a" * 100, 1)
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "cache-bytes").write_bytes(b"00000000000000000012\n")
    t = CacheTally(tmp_path)
    seen = []
    assert t.admit(5, 10**9, lambda: seen.append(_locked_elsewhere(t.file))) is False
    assert seen == [True]
    assert _count(tmp_path) == b"00000000000000000017\n"
    assert not _locked_elsewhere(t.file)


def test_admit_evicts_least_recent_down_to_nine_tenths_of_the_cap(tmp_path):
    a = _blob(tmp_path, b"a" * 100, 30)
    b = _blob(tmp_path, b"b" * 200, 20)
    c = _blob(tmp_path, b"c" * 300, 10)
    t = CacheTally(tmp_path)
    assert t.admit(100, 700, lambda: None) is False  # 600 + 100 = 700: at the cap, not past it
    assert a.exists() and b.exists() and c.exists()
    assert _count(tmp_path) == b"00000000000000000700\n"
    t.total()  # back to the 600 on disk
    # 600 + 150 > 700: down to int(700 * 0.9) - 150 = 480 -> a and b go (600 -> 500 -> 300)
    assert t.admit(150, 700, lambda: None) is True
    assert not a.exists() and not b.exists() and c.exists()
    assert _count(tmp_path) == b"00000000000000000450\n"


def test_admit_eviction_target_never_below_zero(tmp_path):
    a = _blob(tmp_path, b"a" * 100, 30)
    b = _blob(tmp_path, b"b" * 100, 20)
    assert CacheTally(tmp_path).admit(1000, 500, lambda: None) is True
    assert not a.exists() and not b.exists()
    assert _count(tmp_path) == b"00000000000000001000\n"


def test_admit_eviction_stops_at_the_target(tmp_path):
    a = _blob(tmp_path, b"a" * 100, 30)
    b = _blob(tmp_path, b"b" * 100, 20)
    c = _blob(tmp_path, b"c" * 100, 10)
    # 300 + 10 > 300: target int(300 * 0.9) - 10 = 260 -> only a goes (300 -> 200)
    assert CacheTally(tmp_path).admit(10, 300, lambda: None) is True
    assert not a.exists() and b.exists() and c.exists()
    assert _count(tmp_path) == b"00000000000000000210\n"


def test_evict_to_a_target_keeps_pins_and_recent_blobs(tmp_path):
    a = _blob(tmp_path, b"a" * 100, 40)
    p = _blob(tmp_path, b"p" * 500, 35)
    b = _blob(tmp_path, b"b" * 100, 30)
    c = _blob(tmp_path, b"c" * 100, 20)
    (tmp_path / "pins").mkdir()
    (tmp_path / "pins" / p.name).touch()
    t = CacheTally(tmp_path)
    assert t.evict(100) == 100
    assert not a.exists() and not b.exists() and c.exists() and p.exists()
    assert _count(tmp_path) == b"00000000000000000100\n"
    assert t.evict(100) == 100 and c.exists()  # at the target already: nothing more goes
    assert t.evict(99) == 0 and not c.exists()


def test_evict_tolerates_a_blob_removed_meanwhile(tmp_path, monkeypatch):
    from intake_npx2020.store import capacity

    a = _blob(tmp_path, b"a" * 100, 30)
    b = _blob(tmp_path, b"b" * 100, 20)
    real = capacity.cached_blobs

    def listed_then_gone(root):
        out = real(root)
        a.unlink()
        return out

    monkeypatch.setattr(capacity, "cached_blobs", listed_then_gone)
    assert CacheTally(tmp_path).evict(0) == 0
    assert not b.exists()


def test_an_entry_of_a_live_process_is_kept_and_the_process_left_alone(tmp_path):
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        area = TempArea(tmp_path / "tmp")
        (tmp_path / "tmp").mkdir()
        entry = tmp_path / "tmp" / f"{H}.{child.pid}.aaaaaaaa"
        entry.write_bytes(b"x")
        assert area.leftovers() == [] and area.reclaim() == []
        time.sleep(0.2)
        assert child.poll() is None  # only asked whether it exists (signal 0), never signalled
        assert entry.exists()
    finally:
        child.kill()
        child.wait()


def test_an_entry_of_another_users_process_is_kept(tmp_path, monkeypatch):
    pid = 4_000_123
    real = os.kill

    def kill(p, sig):
        if p == pid:
            raise PermissionError(errno.EPERM, "Operation not permitted")  # alive, but not ours to signal
        return real(p, sig)

    monkeypatch.setattr(os, "kill", kill)
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / f"{H}.{pid}.aaaaaaaa").write_bytes(b"x")
    assert TempArea(tmp_path / "tmp").leftovers() == []


def test_entries_removed_while_listed_are_skipped(tmp_path, monkeypatch):
    (tmp_path / "tmp").mkdir()
    dead = tmp_path / "tmp" / f"{H}.{DEAD_PID}.bbbbbbbb"
    dead.write_bytes(b"x")
    blob = _blob(tmp_path, b"blob", 5)
    real_listdir, real_walk = os.listdir, os.walk
    # a name listed first, then gone (another process reclaimed or evicted it meanwhile)
    monkeypatch.setattr(os, "listdir", lambda p: [f"{H}.{DEAD_PID}.aaaaaaaa", *real_listdir(p)])
    monkeypatch.setattr(os, "walk", lambda top: ((d, s, ["f" * 40, *f]) for d, s, f in real_walk(top)))
    assert TempArea(tmp_path / "tmp").leftovers() == [Leftover(dead, 1)]
    assert [p for _, _, p in cached_blobs(tmp_path)] == [blob]


def test_a_fifo_in_tmp_does_not_block_the_scan(tmp_path):
    (tmp_path / "tmp").mkdir()
    fifo = tmp_path / "tmp" / f"{H}.{DEAD_PID}.aaaaaaaa"
    os.mkfifo(fifo)
    found = []
    t = threading.Thread(target=lambda: found.extend(TempArea(tmp_path / "tmp").leftovers()), daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "opening the entry waited for a writer"
    assert found == [Leftover(fifo, 0)]


def test_a_link_to_a_directory_counts_as_a_write_in_flight(tmp_path):
    (tmp_path / "tmp" / "downloads").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "tmp" / f"{H}.{os.getpid()}.aaaaaaaa")
    assert TempArea(tmp_path / "tmp").in_flight() == 1
