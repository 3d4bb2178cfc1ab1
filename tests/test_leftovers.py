"""Writes cut short: ``kill -9`` during a fetch or an ``add`` leaves entries in ``tmp/`` that ``npx2020 cache``
counts and ``--clear`` removes; a live write's entry is never touched.

Children are real processes; a hook in each stops it at a known point of the write (before the fsync, or half way
through a copy) and says so on stdout, so every kill lands where the test means it to.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import irregular_bounds, put_file, random_bytes, sha1, tmp_leftovers

from intake_npx2020.apps.cli import main
from intake_npx2020.store import get_store, tmpfiles
from intake_npx2020.store.local import OwnStore
from intake_npx2020.store.serve import serve_in_thread
from intake_npx2020.store.tmpfiles import GRACE_S, TempArea

pytestmark = pytest.mark.timeout(120)

_STOP_AT_FSYNC = """
import os, sys
def stop(fd):
    print("STOPPED", flush=True)
    if sys.stdin.readline().strip() != "go":
        os._exit(3)
    os.fsync = real
    real(fd)
real = os.fsync
os.fsync = stop
"""
_STOP_HALF_COPY = """
import shutil, sys, os
def half(src, dst):
    with open(src, "rb") as f, open(dst, "wb") as g:
        g.write(f.read(os.path.getsize(src) // 2))
        g.flush()
    print("STOPPED", flush=True)
    sys.stdin.readline()
    os._exit(3)
shutil.copyfile = half
"""
_MAIN = "\nfrom intake_npx2020.apps.cli import main\nsys.exit(main(sys.argv[1:]))\n"


def _start(hook: str, *argv: str, mirror: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "NPX2020_MIRRORS": mirror} if mirror else None
    return subprocess.Popen([sys.executable, "-c", hook + _MAIN, *argv], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for(p: subprocess.Popen, marker: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([p.stdout], [], [], 0.2)
        if ready:
            line = p.stdout.readline()
            if marker in line:
                return
            if not line and p.poll() is not None:
                break
    p.kill()
    raise AssertionError(f"child never reached {marker!r}: {p.stderr.read()[-2000:]}")


def _kill9(p: subprocess.Popen) -> None:
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=10)


def _cache(capsys, store: Path, *extra: str) -> str:
    capsys.readouterr()
    assert main(["cache", "--store", str(store), *extra]) == 0
    return capsys.readouterr().out


def _assert_clean(store: Path) -> None:
    assert tmp_leftovers(store) == []
    for p in (store / "sha1").rglob("*"):
        if p.is_file() and not p.is_symlink():
            assert sha1(p.read_bytes()) == p.name, p


class _Trickle:
    """A mirror that sends every body 4 kB at a time, 20 ms apart (a slow link), honouring ``Range``."""

    def __init__(self, root: Path):
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.requests += 1
                p = root / self.path.lstrip("/")
                if ".." in self.path or not p.is_file():
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data, status = p.read_bytes(), 200
                rng = self.headers.get("Range")
                if rng:
                    a, b = rng.split("=")[1].split("-")
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {a}-{b}/{len(data)}")
                    data = data[int(a):int(b) + 1]
                else:
                    self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    for i in range(0, len(data), 4096):
                        self.wfile.write(data[i:i + 4096])
                        self.wfile.flush()
                        time.sleep(0.02)
                except OSError:
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_kill9_while_downloading_leaves_nothing(tmp_path, capsys):
    data = random_bytes(600_000, seed=11)
    root = tmp_path / "source"
    uri = put_file(root, data, irregular_bounds(len(data), seed=2, lo=100_000, hi=200_000))
    store = tmp_path / "s"
    srv = _Trickle(root)
    try:
        p = subprocess.Popen([sys.executable, "-m", "intake_npx2020", "fetch", uri, "--store", str(store)],
                             env={**os.environ, "NPX2020_MIRRORS": srv.url}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while srv.requests < 2 and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.02)
        assert p.poll() is None, "the fetch ended before it could be killed"
        _kill9(p)
    finally:
        srv.close()
    assert "leftovers of interrupted writes: 0" in _cache(capsys, store)
    _cache(capsys, store, "--clear")
    _assert_clean(store)


def test_kill9_while_writing_a_fetched_chunk(tmp_path, capsys):
    data = random_bytes(600_000, seed=12)
    root = tmp_path / "source"
    uri = put_file(root, data, irregular_bounds(len(data), seed=2, lo=100_000, hi=200_000))
    store = tmp_path / "s"
    srv, base = serve_in_thread(root)
    try:
        p = _start(_STOP_AT_FSYNC, "fetch", uri, "--store", str(store), mirror=base)
        _wait_for(p, "STOPPED")
        assert len(tmp_leftovers(store)) == 1
        out = _cache(capsys, store)
        assert "leftovers of interrupted writes: 0" in out and "writes in progress: 1" in out  # alive: not stale
        _kill9(p)
        out = _cache(capsys, store)
        assert "leftovers of interrupted writes: 1" in out and "writes in progress: 0" in out
        out = _cache(capsys, store, "--clear")
        assert "1 leftovers removed" in out
        _assert_clean(store)
        s = OwnStore(store)
        assert s.tmp.leftovers() == []
    finally:
        srv.shutdown()
        srv.server_close()


def test_kill9_during_add_of_a_large_file(tmp_path, capsys):
    big = tmp_path / "big.bin"
    payload = random_bytes(1_000_000, seed=13)
    with open(big, "wb") as f:
        f.writelines(payload for _ in range(32))
    store = tmp_path / "s"
    p = _start(_STOP_HALF_COPY, "add", str(big), "--store", str(store))
    _wait_for(p, "STOPPED")
    (entry,) = tmp_leftovers(store)
    assert (store / "tmp" / entry).stat().st_size == 16_000_000
    _kill9(p)
    out = _cache(capsys, store)
    assert "leftovers of interrupted writes: 1, 16.000 MB" in out
    assert "1 leftovers removed" in _cache(capsys, store, "--clear")
    _assert_clean(store)
    assert big.stat().st_size == 32_000_000
    assert main(["add", str(big), "--store", str(store)]) == 0  # and the add works afterwards


def test_kill9_during_add_link_sym_removes_the_link_not_the_file(tmp_path, capsys):
    target = tmp_path / "orig.bin"
    target.write_bytes(random_bytes(200_000, seed=14))
    store = tmp_path / "s"
    hook = """
import sys
from intake_npx2020.store import tmpfiles
held = tmpfiles.TmpEntry.hold
def hold(self):
    held(self)
    print("STOPPED", flush=True)
    sys.stdin.readline()
tmpfiles.TmpEntry.hold = hold
"""
    p = _start(hook, "add", str(target), "--link", "sym", "--store", str(store))
    _wait_for(p, "STOPPED")
    (entry,) = tmp_leftovers(store)
    assert (store / "tmp" / entry).is_symlink()
    assert OwnStore(store).clear()[1] == []  # the live write's lock is on the linked file: kept
    _kill9(p)
    assert "1 leftovers removed" in _cache(capsys, store, "--clear")
    assert tmp_leftovers(store) == [] and target.stat().st_size == 200_000


def test_live_writer_survives_cache_clear_and_finishes(tmp_path, capsys):
    data = random_bytes(300_000, seed=15)
    root = tmp_path / "source"
    uri = put_file(root, data, [0, 150_000, 300_000])
    store = tmp_path / "s"
    srv, base = serve_in_thread(root)
    try:
        p = _start(_STOP_AT_FSYNC, "fetch", uri, "--store", str(store), mirror=base)
        _wait_for(p, "STOPPED")
        before = tmp_leftovers(store)
        assert "0 leftovers removed" in _cache(capsys, store, "--clear")
        assert tmp_leftovers(store) == before != []
        p.stdin.write("go\n")
        p.stdin.flush()
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    finally:
        srv.shutdown()
        srv.server_close()
    assert bytes(get_store({"store": str(store), "mirrors": []}).read(uri)) == data  # complete, offline
    _assert_clean(store)


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait(timeout=30)
    return p.pid


def test_staleness_rules(tmp_path):
    area = TempArea(tmp_path / "tmp")
    area.path.mkdir()
    h = "ab" * 20
    old = time.time() - GRACE_S - 10

    def make(name, age=None):
        f = area.path / name
        f.write_bytes(b"x")
        if age:
            os.utime(f, (age, age))
        return f

    dead = make(f"{h}.{_dead_pid()}.00000000")
    alive_young = make(f"{h}.{os.getppid()}.00000001")
    alive_old = make(f"{h}.{os.getppid()}.00000002", old)
    odd_young = make("something-else")
    odd_old = make("something-older", old)
    (area.path / "downloads").mkdir()
    with area.entry(h) as live:
        live.create()
        os.utime(live.path, (old, old))  # old, and named after a live pid: only its lock protects it
        stale = {p.path for p in area.leftovers()}
        assert stale == {dead, alive_old, odd_old}
        assert {p.path for p in area.reclaim()} == stale
        assert live.path.exists()
    assert alive_young.exists() and odd_young.exists() and (area.path / "downloads").is_dir()


def test_reclaim_never_follows_a_link_out(tmp_path):
    outside = tmp_path / "precious.bin"
    outside.write_bytes(b"keep me")
    area = TempArea(tmp_path / "tmp")
    area.path.mkdir()
    link = area.path / f"{'cd' * 20}.{_dead_pid()}.00000000"
    os.symlink(outside, link)
    assert [x.path for x in area.reclaim()] == [link]
    assert not os.path.lexists(link) and outside.read_bytes() == b"keep me"


def test_put_holds_its_entry_locked(tmp_path, monkeypatch):
    """While ``put`` writes, a reclaim (from any process) sees the entry as live."""
    s = OwnStore(tmp_path / "s")
    seen = []
    real = os.fsync

    def check(fd):
        seen.append((list(s.tmp.path.iterdir()), s.tmp.leftovers(), tmpfiles._held(next(s.tmp.path.iterdir()))))
        real(fd)

    monkeypatch.setattr(os, "fsync", check)
    data = random_bytes(10_000)
    s.put(sha1(data), data)
    (entries, stale, held), = seen
    assert len(entries) == 1 and stale == [] and held
    assert list(s.tmp.path.iterdir()) == []
