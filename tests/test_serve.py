"""``npx2020 serve``: ranges, refusals sent as raw bytes (no client library to normalise them), the symlink policy,
the default binding."""

from __future__ import annotations

import inspect
import os
import socket
import time

import pytest
import requests
from helpers import put_file, random_bytes, sha1

from intake_npx2020.apps.cli import build_parser, main
from intake_npx2020.store.local import blob_relpath
from intake_npx2020.store.serve import make_server, serve_in_thread

pytestmark = pytest.mark.timeout(120)


def raw(base: str, request: bytes, timeout: float = 10.0) -> tuple[int | None, bytes]:
    """Send ``request`` as is on a new connection; the status and the whole answer (up to the server's close)."""
    host, port = base.rsplit("/", 1)[-1].split(":")
    out = b""
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    parts = out.split(b" ", 2)
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None), out


def get(path: str | bytes, headers: bytes = b"") -> bytes:
    p = path.encode("latin-1") if isinstance(path, str) else path
    return b"GET " + p + b" HTTP/1.1\r\nHost: x\r\n" + headers + b"Connection: close\r\n\r\n"


@pytest.fixture
def served(tmp_path):
    data = random_bytes(1_000_000)
    root = tmp_path / "store"
    put_file(root, data)
    (tmp_path / "secret.txt").write_text("outside")
    srv, base = serve_in_thread(root)
    yield root, data, base, srv
    srv.shutdown()
    srv.server_close()


def test_serve_ranges(served):
    _, data, base, _ = served
    url = f"{base}/{blob_relpath(sha1(data))}"
    r = requests.get(url)
    assert r.status_code == 200 and r.content == data
    r = requests.get(url, headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == data[100:200]
    assert r.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert requests.get(url, headers={"Range": "bytes=-10"}).content == data[-10:]
    assert requests.get(url, headers={"Range": "bytes=999990-"}).content == data[999990:]
    assert requests.get(url, headers={"Range": "bytes=10-9999999999999999999"}).content == data[10:]
    h = requests.head(url)
    assert h.status_code == 200 and int(h.headers["Content-Length"]) == len(data) and not h.content


@pytest.mark.parametrize("rng", [
    "bytes=" + "9" * 5000 + "-", "bytes=0-" + "9" * 5000, "bytes=" + "1" * 20 + "-",
    "bytes=1000000-", "bytes=5-3", "bytes=-0", "bytes=-", "bytes=0-1,5-6", "items=0-1", "bytes=abc",
    "bytes=--1", "bytes=\u0661-2", "bytes=0-1\x00"])
def test_bad_ranges_are_416_not_a_crash(served, rng):
    _, data, base, _ = served
    status, out = raw(base, get("/" + blob_relpath(sha1(data)), f"Range: {rng}\r\n".encode("latin-1", "replace")))
    assert status in (400, 416), out[:200]
    assert raw(base, get("/" + blob_relpath(sha1(data))))[0] == 200  # and the server goes on


TRAVERSALS = [b"/../../etc/passwd", b"/../secret.txt", b"/sha1/../../secret.txt", b"/%2e%2e/secret.txt",
              b"/%2e%2e%2fsecret.txt", b"/sha1/%2e%2e/%2e%2e/secret.txt", b"//etc/passwd", b"/..\\..\\secret.txt",
              b"/sha1/00/00/00/..%2f..%2f..%2f..%2fsecret.txt", b"http://127.0.0.1/../secret.txt",
              b"http://127.0.0.1/../../etc/passwd", b"/sha1/\x00/../../secret.txt", b"/secret.txt\x00.bin",
              b"*", b"secret.txt", b"/\xff\xfe/../secret.txt", b"/" + b"a" * 70_000, b"/sha1/" + b"../" * 5000]


@pytest.mark.parametrize("target", TRAVERSALS, ids=lambda t: repr(t[:40]))
def test_traversal_as_raw_bytes_is_refused(served, target):
    _, _, base, _ = served
    status, out = raw(base, get(target))
    assert status in (400, 404, 414), out[:200]
    assert b"outside" not in out and b"root:" not in out


def test_other_refusals_as_raw_bytes(served):
    _, data, base, _ = served
    h = sha1(data)
    good = "/" + blob_relpath(h)
    for bad in [f"/sha1/00/00/00/{h}", f"{good}/x", good.upper(), good + "/", f"/sha1/{h[:2]}/{h[2:4]}/{h}",
                f"http://127.0.0.1{good}"]:
        assert raw(base, get(bad))[0] == 404, bad
    for method in (b"POST", b"PUT", b"DELETE", b"CONNECT", b"OPTIONS"):
        req = method + b" " + good.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        assert raw(base, req)[0] == 501
    assert raw(base, get(good, b"X: " + b"y" * 70_000 + b"\r\n"))[0] in (400, 431)
    assert raw(base, get(good, b"".join(b"X-%d: y\r\n" % i for i in range(200))))[0] in (400, 431)
    status, out = raw(base, get(good))
    assert status == 200 and out.endswith(data)


# -- symbolic links -------------------------------------------------------------------------------

def _plant_link(root, name_sha1: str, target) -> None:
    p = root / blob_relpath(name_sha1)
    p.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, p)


def _status(base: str, h: str) -> int:
    return raw(base, get("/" + blob_relpath(h)))[0]


def test_links_out_of_root_are_not_followed(tmp_path):
    root = tmp_path / "store"
    put_file(root, b"inside")
    secret = tmp_path / "outside" / "secret.bin"
    secret.parent.mkdir()
    secret.write_bytes(b"not for the mirror")
    hs = sha1(secret.read_bytes())
    _plant_link(root, hs, secret)  # a blob link named after the outside file's own hash
    inner = random_bytes(1000, seed=3)
    hi = sha1(inner)
    _plant_link(root, hi, os.path.relpath(root / blob_relpath(sha1(b"inside")), (root / blob_relpath(hi)).parent))
    d = random_bytes(1000, seed=4)
    hd = sha1(d)
    real_dir = tmp_path / "outside" / "dirs"
    (real_dir / hd[4:6]).mkdir(parents=True)
    (real_dir / hd[4:6] / hd).write_bytes(d)
    (root / "sha1" / hd[:2] / hd[2:4]).mkdir(parents=True)
    os.symlink(real_dir / hd[4:6], root / "sha1" / hd[:2] / hd[2:4] / hd[4:6])  # a directory link
    (root / "pins").mkdir(exist_ok=True)
    for h in (hs, hi, hd):
        (root / "pins" / h).touch()  # pins cannot widen the policy: anyone writing the store can make them
    for dirs in ((), (str(tmp_path / "elsewhere"),)):
        (tmp_path / "elsewhere").mkdir(exist_ok=True)
        srv, base = serve_in_thread(root, link_dirs=dirs)
        try:
            assert [_status(base, h) for h in (hs, hi, hd)] == [404, 404, 404]
            assert _status(base, sha1(b"inside")) == 200
        finally:
            srv.shutdown()
            srv.server_close()


def test_add_link_sym_is_served_only_from_named_dirs(tmp_path):
    store = tmp_path / "store"
    originals = tmp_path / "raw"
    originals.mkdir()
    data = random_bytes(300_000, seed=9)
    (originals / "rec.bin").write_bytes(data)
    assert main(["add", str(originals / "rec.bin"), "--link", "sym", "--store", str(store)]) == 0
    assert (store / blob_relpath(sha1(data))).is_symlink()
    (tmp_path / "other").mkdir()
    expected = {(): 404, (str(tmp_path / "other"),): 404, (str(originals),): 200}
    for dirs, status in expected.items():
        srv, base = serve_in_thread(store, link_dirs=dirs)
        try:
            got, out = raw(base, get("/" + blob_relpath(sha1(data))))
            assert got == status, dirs
            assert status != 200 or out.endswith(data)
        finally:
            srv.shutdown()
            srv.server_close()


def test_link_dir_does_not_admit_a_chain_out_of_it(tmp_path):
    store = tmp_path / "store"
    allowed = tmp_path / "raw"
    allowed.mkdir()
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"private")
    os.symlink(secret, allowed / "innocent.bin")  # inside the named dir, pointing out of it
    h = sha1(b"private")
    _plant_link(store, h, allowed / "innocent.bin")
    (store / "pins").mkdir()
    (store / "pins" / h).touch()
    unpinned = random_bytes(500, seed=5)
    (allowed / "unpinned.bin").write_bytes(unpinned)
    _plant_link(store, sha1(unpinned), allowed / "unpinned.bin")
    srv, base = serve_in_thread(store, link_dirs=[allowed])
    try:
        assert _status(base, h) == 404
        assert _status(base, sha1(unpinned)) == 404  # not placed by add: a cached blob is never a link
    finally:
        srv.shutdown()
        srv.server_close()


def test_only_regular_files_are_served(tmp_path):
    root = tmp_path / "store"
    h = sha1(b"fifo")
    p = root / blob_relpath(h)
    p.parent.mkdir(parents=True)
    os.mkfifo(p)
    hard = tmp_path / "hard.bin"
    hard.write_bytes(b"hard linked")
    hh = sha1(hard.read_bytes())
    (root / blob_relpath(hh)).parent.mkdir(parents=True, exist_ok=True)
    os.link(hard, root / blob_relpath(hh))
    srv, base = serve_in_thread(root)
    try:
        t = time.monotonic()
        assert _status(base, h) == 404 and time.monotonic() - t < 5  # refused, never opened blocking
        assert _status(base, hh) == 200  # a hard link is a file of the store
    finally:
        srv.shutdown()
        srv.server_close()


# -- binding ----------------------------------------------------------------------------------------

def test_binds_loopback_by_default(tmp_path, serve_process):
    assert inspect.signature(make_server).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(serve_in_thread).parameters["host"].default == "127.0.0.1"
    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
    srv = make_server(tmp_path)
    try:
        assert srv.server_address[0] == "127.0.0.1"
    finally:
        srv.server_close()
    port = int(serve_process(tmp_path).rsplit(":", 1)[1])  # the real command, with no --host
    with open("/proc/net/tcp") as f:
        table = [line.split() for line in f.read().splitlines()[1:]]
    listening = [row[1] for row in table if row[3] == "0A" and int(row[1].split(":")[1], 16) == port]
    assert listening == [f"0100007F:{port:04X}"]


def test_answers_name_their_content(served, tmp_path):
    """404s say "not found" in plain text; blobs are octet streams, cacheable for ever; a published site's catalogs
    are YAML text, not cacheable (they change)."""
    root, data, base, _ = served
    status, out = raw(base, get("/" + blob_relpath("0" * 40)))
    head, _, body = out.partition(b"\r\n\r\n")
    assert status == 404 and body == b"not found\n" and b"\r\nContent-Type: text/plain\r\n" in head
    status, out = raw(base, get("/" + blob_relpath(sha1(data)), b"Range: bytes=5-9\r\n"))
    head, _, body = out.partition(b"\r\n\r\n")
    assert status == 206 and body == data[5:10]
    assert b"\r\nContent-Type: application/octet-stream\r\n" in head
    assert f"\r\nContent-Range: bytes 5-9/{len(data)}\r\n".encode() in head
    assert b"\r\nCache-Control: public, max-age=31536000, immutable\r\n" in head + b"\r\n"
    site = tmp_path / "site"
    site.mkdir()
    (site / "catalog.yaml").write_text("sources: {}\n")
    (site / "npx2020-site.json").write_text('{"catalogs": ["catalog.yaml"]}')
    srv, sbase = serve_in_thread(site)
    try:
        status, out = raw(sbase, get("/catalog.yaml"))
    finally:
        srv.shutdown()
        srv.server_close()
    head, _, body = out.partition(b"\r\n\r\n")
    assert status == 200 and body == b"sources: {}\n"
    assert b"\r\nContent-Type: text/yaml; charset=utf-8\r\n" in head
    assert b"\r\nCache-Control: no-cache\r\n" in head + b"\r\n"


@pytest.mark.parametrize("site", ['{"catalogs": "catalog.yaml"}', '["catalog.yaml"]', '{"catalogs": {"c": 1}}', "7"])
def test_a_site_file_of_the_wrong_shape_serves_no_file_at_root(tmp_path, site):
    from intake_npx2020.store.serve import SITE_FILE, _site

    (tmp_path / SITE_FILE).write_text(site)
    for name in ("c", "a", "catalog.yaml"):
        (tmp_path / name).write_text("secret")
    got = _site(tmp_path)
    assert not got.get("site_files"), got  # a string's letters are never names of served files
