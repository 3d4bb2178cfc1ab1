"""``npx2020 serve`` in-process, byte by byte: exact status lines, headers and bodies (200, 206, 416, 404, HEAD),
keep-alive across answers, byte ranges at their bounds, a published site's catalogs and mirror, the connection
limit and its 503, the deadlines, the descriptor budget, errors reported on stderr (written for mutmut survivors
in ``store/serve.py``)."""

from __future__ import annotations

import errno
import inspect
import json
import os
import resource
import socket
import threading
import time

import pytest
from helpers import free_port, random_bytes, sha1, write_blob

from intake_npx2020.store import serve
from intake_npx2020.store.local import blob_relpath
from intake_npx2020.store.serve import (
    SITE_FILE,
    default_max_connections,
    make_server,
    parse_range,
    serve_in_thread,
)

pytestmark = pytest.mark.timeout(60)

DATA = random_bytes(1000, seed=41)
H = sha1(DATA)
MIRRORED = random_bytes(500, seed=42)
YAML = b"sources: {}\n"
BUSY = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


# == parse_range ==================================================================================================

@pytest.mark.parametrize("header,span", [
    ("bytes=0-0", (0, 1)), ("bytes=2-5", (2, 6)), ("bytes=9-9", (9, 10)), ("bytes=5-", (5, 10)), ("bytes=0-", (0, 10)),
    ("bytes=-3", (7, 10)), ("bytes=-10", (0, 10)), ("bytes=-20", (0, 10)), ("bytes=3-100", (3, 10)),
    ("  bytes=1-2 ", (1, 3)), ("bytes=5-5", (5, 6)), ("bytes=10-", None), ("bytes=10-20", None), ("bytes=5-4", None),
    ("bytes=-0", None), ("bytes=-", None), ("bytes=1-2,4-5", None), ("bytes=x-1", None), ("byte=1-2", None)],
    ids=lambda v: str(v).replace(" ", "_"))
def test_parse_range_on_ten_bytes(header, span):
    assert parse_range(header, 10) == span


def test_parse_range_of_an_empty_file_is_never_satisfiable():
    assert parse_range("bytes=0-", 0) is None and parse_range("bytes=-5", 0) is None


# == a served store and published site ===========================================================================

def request(port: int, raw: bytes, n: int = 1, timeout: float = 3.0) -> list[tuple[list[str], bytes]]:
    """Send ``raw`` on one connection; read ``n`` answers by their Content-Length (HEAD answers: no body)."""
    heads = [line.split(b" ", 1)[0] for line in raw.split(b"\r\n") if line and b":" not in line]
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        buf = b""
        for i in range(n):
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                assert chunk, (i, buf)
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = [x for x in head.decode("latin-1").split("\r\n") if not x.startswith("Date: ")]
            length = next((int(x.split(": ")[1]) for x in lines if x.startswith("Content-Length: ")), 0)
            if heads and heads[i] == b"HEAD":
                length = 0
            while len(buf) < length:
                chunk = s.recv(65536)
                assert chunk
                buf += chunk
            out.append((lines, buf[:length]))
            buf = buf[length:]
        s.shutdown(socket.SHUT_WR)  # no more requests: the server closes, after anything it still sends
        extra = buf
        while chunk := s.recv(65536):
            extra += chunk
        assert extra == b"", extra  # nothing sent beyond the answers
    return out


def get(path: str, headers: str = "", method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    write_blob(root, DATA)
    (root / (blob_relpath(H) + ".pco")).write_bytes(b"compressed form")
    (root / (blob_relpath(H) + ".pco.json")).write_bytes(b"{}")
    write_blob(root / "mirror", MIRRORED)
    for rel in ("catalog.yaml", "lab/catalog.yaml", "deep/er/cat.yaml", ".hidden.yaml", "a.yaml", "x y.yaml",
                "Lab_2/Catalog.YAML"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(YAML)
    (root / SITE_FILE).write_text(json.dumps({"catalogs": [
        "catalog.yaml", "lab/catalog.yaml", "deep/er/cat.yaml", ".hidden.yaml", "../catalog.yaml", "/catalog.yaml",
        "lab//catalog.yaml", "x y.yaml", 5, None, "missing.yaml", "Lab_2/Catalog.YAML"], "mirror": "mirror"}))
    srv, base = serve_in_thread(root)
    yield root, srv, int(base.rsplit(":", 1)[1])
    srv.shutdown()
    srv.server_close()


BLOB_HEAD = ["Server: npx2020 ", "Accept-Ranges: bytes", "Content-Type: application/octet-stream"]
IMMUTABLE = "Cache-Control: public, max-age=31536000, immutable"


def test_a_blob_whole_and_ranged_with_exact_headers_on_one_connection(site):
    _, _, port = site
    path = "/" + blob_relpath(H)
    (h1, b1), (h2, b2), (h3, b3), (h4, b4) = request(port, get(path) + get(path, "Range: bytes=100-199\r\n")
                                                     + get(path, "Range: bytes=-1\r\n") + get(path + "?x=1?y"), 4)
    assert h1 == ["HTTP/1.1 200 OK", *BLOB_HEAD, "Content-Length: 1000", IMMUTABLE] and b1 == DATA
    assert h2 == ["HTTP/1.1 206 Partial Content", "Server: npx2020 ", "Content-Range: bytes 100-199/1000",
                  "Accept-Ranges: bytes", "Content-Type: application/octet-stream", "Content-Length: 100", IMMUTABLE]
    assert b2 == DATA[100:200]
    assert h3[2] == "Content-Range: bytes 999-999/1000" and b3 == DATA[999:]
    assert h4[0] == "HTTP/1.1 200 OK" and b4 == DATA  # a query string is ignored


def test_refusals_404_and_416_say_why_in_plain_text(site):
    _, _, port = site
    path = "/" + blob_relpath(H)
    msg = b"only one satisfiable byte range (bytes=a-b, a-, -n) is supported\n"
    (h1, b1), (h2, b2), (h3, b3), (h4, b4) = request(port, get(path, "Range: bytes=1000-\r\n")
                                                     + get("/" + blob_relpath("0" * 40)) + get("/" + SITE_FILE)
                                                     + get(path, "Range: bytes=5-4\r\n"), 4)
    assert h1 == ["HTTP/1.1 416 Requested Range Not Satisfiable", "Server: npx2020 ", "Content-Range: bytes */1000",
                  "Content-Type: text/plain", f"Content-Length: {len(msg)}"] and b1 == msg
    assert h2 == ["HTTP/1.1 404 Not Found", "Server: npx2020 ", "Content-Type: text/plain", "Content-Length: 10"]
    assert b2 == b3 == b"not found\n" and h3 == h2
    assert h4[0] == "HTTP/1.1 416 Requested Range Not Satisfiable" and b4 == msg


def test_head_answers_have_headers_and_no_body(site):
    _, _, port = site
    path = "/" + blob_relpath(H)
    (h1, _), (h2, _), (h3, b3) = request(port, get(path, method="HEAD") + get("/nothing", method="HEAD")
                                          + get(path, "Range: bytes=0-1\r\n"), 3)
    assert h1 == ["HTTP/1.1 200 OK", *BLOB_HEAD, "Content-Length: 1000", IMMUTABLE]
    assert h2 == ["HTTP/1.1 404 Not Found", "Server: npx2020 ", "Content-Type: text/plain", "Content-Length: 10"]
    assert h3[0] == "HTTP/1.1 206 Partial Content" and b3 == DATA[:2]  # the next answer starts where it should


@pytest.mark.parametrize("path,status", [
    ("/sha1/{a}/{b}/{c}/{h}.pco", 200), ("/sha1/{a}/{b}/{c}/{h}.pco.json", 200), ("/sha1/{a}/{b}/{c}/{h}.pcox", 404), ("/sha1/{b}/{a}/{c}/{h}", 404), ("/sha1/{a}/{b}/{a}/{h}", 404),
    ("/mirror/sha1/{ma}/{mb}/{mc}/{m}", 200), ("/mirror/sha1/{a}/{b}/{c}/{h}", 404), ("/sha1/{ma}/{mb}/{mc}/{m}", 404),
    ("/mirror//sha1/{ma}/{mb}/{mc}/{m}", 404)], ids=lambda v: str(v).replace("/", "_"))
def test_blob_paths(site, path, status):
    _, _, port = site
    p = path.format(a=H[:2], b=H[2:4], c=H[4:6], h=H, ma=sha1(MIRRORED)[:2], mb=sha1(MIRRORED)[2:4],
                    mc=sha1(MIRRORED)[4:6], m=sha1(MIRRORED))
    ((head, body),) = request(port, get(p))
    assert head[0].split(" ")[1] == str(status)
    if status == 200 and "mirror" in p:
        assert body == MIRRORED and head[-1] == IMMUTABLE


@pytest.mark.parametrize("path,served", [
    ("/catalog.yaml", True), ("/lab/catalog.yaml", True), ("/deep/er/cat.yaml", True), ("/Lab_2/Catalog.YAML", True),
    ("/.hidden.yaml", False),
    ("/lab//catalog.yaml", False), ("/x%20y.yaml", False), ("/a.yaml", False), ("/missing.yaml", False),
    ("/catalog.yaml/", False)], ids=lambda v: str(v).replace("/", "_"))
def test_a_sites_listed_catalogs_are_yaml_and_not_cacheable(site, path, served):
    _, _, port = site
    ((head, body),) = request(port, get(path))
    if served:
        assert head == ["HTTP/1.1 200 OK", "Server: npx2020 ", "Accept-Ranges: bytes",
                        "Content-Type: text/yaml; charset=utf-8", f"Content-Length: {len(YAML)}",
                        "Cache-Control: no-cache"] and body == YAML
    else:
        assert head[0] == "HTTP/1.1 404 Not Found"


def _one(root, path: str) -> str:
    srv, base = serve_in_thread(root)
    try:
        return request(int(base.rsplit(":", 1)[1]), get(path))[0][0][0]
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_site_file_names_a_real_directory_as_its_mirror_or_nothing(tmp_path):
    path = "/mirror/" + blob_relpath(sha1(MIRRORED))
    (tmp_path / "real").mkdir()
    write_blob(tmp_path / "real", MIRRORED)
    cases = {"linked": {"mirror": "mirror"}, "nested": {"mirror": "a/mirror"}, "number": {"mirror": 7},
             "dotted": {"mirror": ".mirror"}, "file": {"mirror": "mirror"}}
    for name, obj in cases.items():
        root = tmp_path / name
        root.mkdir()
        (root / SITE_FILE).write_text(json.dumps(obj))
        if name == "linked":
            os.symlink(tmp_path / "real", root / "mirror")
        elif name == "file":
            (root / "mirror").write_bytes(b"x")
        else:
            write_blob(root / "a" / "mirror", MIRRORED)
            write_blob(root / ".mirror", MIRRORED)
        assert _one(root, path) == "HTTP/1.1 404 Not Found", name
        if name == "nested":  # not under its own name either: a mirror is one directory of the site
            assert _one(root, "/a/mirror/" + blob_relpath(sha1(MIRRORED))) == "HTTP/1.1 404 Not Found"
    good = tmp_path / "good"
    write_blob(good / "mirror", MIRRORED)
    (good / SITE_FILE).write_text('{"mirror": "mirror"}')
    assert _one(good, path) == "HTTP/1.1 200 OK"
    (good / SITE_FILE).write_text('{"mirror": "mirror"')  # not JSON: not a site
    assert _one(good, path) == "HTTP/1.1 404 Not Found"


# == server construction ==========================================================================================

def test_make_server_refuses_what_it_cannot_serve(tmp_path):
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match=f"^cannot serve {tmp_path / 'file'}: not a directory$"):
        make_server(tmp_path / "file")
    with pytest.raises(FileNotFoundError, match=f"^cannot serve {tmp_path / 'none'}: not a directory$"):
        make_server(tmp_path / "none")
    os.symlink(tmp_path / "none", tmp_path / "dangling")
    with pytest.raises(FileNotFoundError, match=f"^--link-dir {tmp_path / 'none'}: not a directory$"):
        make_server(tmp_path, link_dirs=[tmp_path / "dangling"])
    with pytest.raises(FileNotFoundError, match=f"^--link-dir {tmp_path / 'file'}: not a directory$"):
        make_server(tmp_path, link_dirs=[tmp_path, tmp_path / "file"])


def test_documented_defaults(tmp_path):
    params = inspect.signature(make_server).parameters
    assert (params["timeout"].default, params["request_timeout"].default, params["min_rate"].default,
            params["quiet"].default, params["port"].default) == (30.0, 15.0, 65536.0, True, 0)
    srv = make_server(tmp_path)
    other = make_server(tmp_path)
    try:
        assert srv.max_connections == default_max_connections() and srv.request_timeout == 15.0
        assert srv.active_connections == 0
        assert (srv.RequestHandlerClass.timeout, srv.RequestHandlerClass.min_rate) == (30.0, 65536.0)
        assert srv.RequestHandlerClass.quiet is True
        assert srv.server_address[0] == other.server_address[0] == "127.0.0.1"
        assert srv.server_address[1] not in (0, 1) and srv.server_address[1] != other.server_address[1]
    finally:
        srv.server_close()
        other.server_close()
    srv = make_server(tmp_path, max_connections=3, request_timeout=2.5)
    try:
        assert (srv.max_connections, srv.request_timeout) == (3, 2.5)
    finally:
        srv.server_close()
    assert inspect.signature(serve_in_thread).parameters["port"].default == 0


@pytest.mark.parametrize("soft,expected", [(resource.RLIM_INFINITY, 256), (0, 256), (1, 4), (40, 4), (44, 6),
                                           (45, 6), (51, 9), (543, 255), (544, 256), (1000, 256), (1 << 20, 256)])
def test_default_max_connections_fits_the_descriptor_limit(monkeypatch, soft, expected):
    monkeypatch.setattr(resource, "getrlimit", lambda which: (soft, 1 << 20) if which == resource.RLIMIT_NOFILE
                        else (0, 0))
    assert default_max_connections() == expected


# == connections: the limit, deadlines, errors ================================================================

def _served(tmp_path, **options):
    root = tmp_path / "store"
    write_blob(root, DATA)
    srv, base = serve_in_thread(root, **options)
    return srv, int(base.rsplit(":", 1)[1])


def _until(cond, seconds: float = 5.0) -> bool:
    t = time.monotonic()
    while time.monotonic() - t < seconds:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def _read_all(s: socket.socket) -> bytes:
    out = b""
    while chunk := s.recv(65536):
        out += chunk
    return out


def test_connections_beyond_the_limit_are_told_to_retry_and_counted_back(tmp_path, capfd):
    srv, port = _served(tmp_path, max_connections=2, request_timeout=5.0)
    capfd.readouterr()
    try:
        a = socket.create_connection(("127.0.0.1", port), timeout=3)
        b = socket.create_connection(("127.0.0.1", port), timeout=3)
        assert _until(lambda: srv.active_connections == 2)
        with socket.create_connection(("127.0.0.1", port), timeout=3) as c:
            assert _read_all(c) == BUSY
        assert srv.active_connections == 2
        a.sendall(get("/" + blob_relpath(H), "Connection: close\r\n"))
        assert _read_all(a).endswith(DATA)
        a.close()
        b.close()
        assert _until(lambda: srv.active_connections == 0)
        time.sleep(0.05)
        assert srv.active_connections == 0
        assert request(port, get("/" + blob_relpath(H)))[0][1] == DATA
        assert _until(lambda: srv.active_connections == 0)
        assert capfd.readouterr().err == ""  # a refusal is no error
    finally:
        srv.shutdown()
        srv.server_close()


def test_an_idle_connection_is_cut_at_the_request_deadline(tmp_path):
    srv, port = _served(tmp_path, request_timeout=0.2)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            t = time.monotonic()
            assert _read_all(s) == b""
            assert time.monotonic() - t < 0.9
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:  # a kept-alive connection: same
            s.sendall(get("/" + blob_relpath(H)))
            got = b""
            while not got.endswith(DATA):
                got += s.recv(65536)
            t = time.monotonic()
            assert _read_all(s) == b"" and time.monotonic() - t < 0.9
    finally:
        srv.shutdown()
        srv.server_close()


def test_the_request_deadline_does_not_cover_answering(tmp_path, monkeypatch):
    real = serve.open_blob

    def slow_disk(*args):
        time.sleep(0.5)
        return real(*args)

    monkeypatch.setattr(serve, "open_blob", slow_disk)
    srv, port = _served(tmp_path, request_timeout=0.2)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(get("/" + blob_relpath(H), "Connection: close\r\n"))
            assert _read_all(s).endswith(DATA)
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_body_has_its_timeout_plus_its_size_at_the_least_rate(tmp_path):
    root = tmp_path / "store"
    big = random_bytes(8 << 20, seed=43)
    h = write_blob(root, big)
    srv, base = serve_in_thread(root, timeout=2.0, min_rate=1 << 20)  # 8 MB: 2 + 8 s
    try:
        with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=10) as s:
            s.sendall(get("/" + blob_relpath(h), "Connection: close\r\n"))
            time.sleep(0.5)  # a client that starts reading late, then reads at once
            assert _read_all(s).endswith(big)
    finally:
        srv.shutdown()
        srv.server_close()


def test_bugs_are_reported_on_stderr_and_hang_ups_are_not(tmp_path, monkeypatch, capfd):
    srv, port = _served(tmp_path)
    try:
        for exc, line in ((RuntimeError("boom"), "npx2020 serve: error with 127.0.0.1: RuntimeError: boom\n"),
                          (ConnectionResetError("gone"), "")):
            def broken(*args, exc=exc):
                raise exc

            monkeypatch.setattr(serve, "open_blob", broken)
            capfd.readouterr()
            with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
                s.sendall(get("/" + blob_relpath(H)))
                assert _read_all(s) == b""
            assert _until(lambda: srv.active_connections == 0)
            assert capfd.readouterr().err == line
    finally:
        srv.shutdown()
        srv.server_close()


def test_requests_are_logged_only_when_not_quiet(tmp_path, capfd):
    for quiet in (True, False):
        srv, port = _served(tmp_path, quiet=quiet)
        try:
            capfd.readouterr()
            request(port, get("/" + blob_relpath(H)))
        finally:
            srv.shutdown()
            srv.server_close()
        err = capfd.readouterr().err
        assert (err == "") if quiet else (f'"GET /{blob_relpath(H)} HTTP/1.1" 200 -' in err)


class _Listener:
    def __init__(self, err: OSError):
        self.err = err

    def accept(self):
        raise self.err


@pytest.mark.parametrize("code,pause", [(errno.EMFILE, True), (errno.ENFILE, True), (errno.ENOBUFS, True),
                                        (errno.ENOMEM, True), (errno.ECONNABORTED, False)])
def test_out_of_descriptors_pauses_accepting_a_tenth_of_a_second(tmp_path, code, pause):
    srv = make_server(tmp_path)
    real = srv.socket
    try:
        srv.socket = _Listener(OSError(code, os.strerror(code)))
        t = time.monotonic()
        with pytest.raises(OSError) as e:
            srv.get_request()
        took = time.monotonic() - t
        assert e.value.errno == code
        assert (0.1 <= took < 0.5) if pause else took < 0.05
    finally:
        srv.socket = real
        srv.server_close()


def test_shutdown_returns_promptly_and_the_server_answers_until_then(tmp_path):
    srv, port = _served(tmp_path)
    assert request(port, get("/" + blob_relpath(H)))[0][1] == DATA
    done = threading.Event()
    threading.Thread(target=lambda: (srv.shutdown(), done.set()), daemon=True).start()
    assert done.wait(3.0)
    srv.server_close()


def test_a_client_that_stops_reading_is_let_go_at_the_socket_timeout(tmp_path):
    root = tmp_path / "store"
    h = write_blob(root, random_bytes(16 << 20, seed=44))
    srv, base = serve_in_thread(root, timeout=0.3, request_timeout=5.0)
    try:
        with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=5) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(get("/" + blob_relpath(h)))  # and never reads: the send times out after 0.3 s
            assert _until(lambda: srv.active_connections == 1)
            t = time.monotonic()
            assert _until(lambda: srv.active_connections == 0, 3.0)
            assert time.monotonic() - t < 2.0  # closed then, not left waiting for a next request
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_file_shorter_than_announced_ends_the_connection(tmp_path, monkeypatch):
    srv, port = _served(tmp_path, request_timeout=5.0)
    ino = os.stat(tmp_path / "store" / blob_relpath(H)).st_ino
    real = os.fstat

    def shrunk(fd):  # the blob lost 100 bytes between its size being read and its bytes being sent
        st = real(fd)
        return os.stat_result((*st[:6], st.st_size + 100, *st[7:10])) if st.st_ino == ino else st

    monkeypatch.setattr(serve.os, "fstat", shrunk)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(get("/" + blob_relpath(H)))
            t = time.monotonic()
            out = _read_all(s)
            assert time.monotonic() - t < 2.0 and b"\r\nContent-Length: 1100\r\n" in out and out.endswith(DATA)
    finally:
        srv.shutdown()
        srv.server_close()


def test_serve_forever_polls_for_shutdown_every_half_second_by_default(tmp_path):
    srv = make_server(tmp_path)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    time.sleep(0.05)
    t = time.monotonic()
    srv.shutdown()
    assert time.monotonic() - t < 1.0
    srv.server_close()


def test_serve_in_thread_uses_the_port_given_and_daemon_threads(tmp_path):
    root = tmp_path / "store"
    write_blob(root, DATA)
    before = set(threading.enumerate())
    port = free_port()
    srv, base = serve_in_thread(root, port=port)
    try:
        assert base == f"http://127.0.0.1:{port}"
        assert request(port, get("/" + blob_relpath(H)))[0][1] == DATA
        started = set(threading.enumerate()) - before
        assert len(started) >= 2 and all(t.daemon for t in started)  # the server and its watchdog: never block exit
    finally:
        srv.shutdown()
        srv.server_close()


def test_serve_in_thread_notices_shutdown_within_a_tenth_of_a_second(tmp_path):
    took = []
    for _ in range(3):
        srv, _ = serve_in_thread(tmp_path)
        time.sleep(0.02)
        t = time.monotonic()
        srv.shutdown()
        took.append(time.monotonic() - t)
        srv.server_close()
    assert min(took) < 0.3, took


def test_a_pinned_link_is_served_from_a_named_link_dir(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "rec.bin").write_bytes(DATA)
    root = tmp_path / "store"
    (root / blob_relpath(H)).parent.mkdir(parents=True)
    os.symlink(raw / "rec.bin", root / blob_relpath(H))
    (root / "pins").mkdir()
    (root / "pins" / H).touch()
    srv, base = serve_in_thread(root, link_dirs=[raw])
    try:
        assert request(int(base.rsplit(":", 1)[1]), get("/" + blob_relpath(H)))[0][1] == DATA
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_slow_reader_is_cut_off_at_timeout_plus_its_ranges_size_at_the_least_rate(tmp_path, capfd):
    root = tmp_path / "store"
    h = write_blob(root, random_bytes(32 << 20, seed=45))
    start = 16 << 20
    srv, base = serve_in_thread(root, timeout=0.5, min_rate=20 << 20)  # 16 MB asked: 0.5 + 0.8 s, not 2.6 s
    capfd.readouterr()
    try:
        with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=5) as s:
            t = time.monotonic()
            s.sendall(get("/" + blob_relpath(h), f"Range: bytes={start}-\r\n"))
            got = 0
            while time.monotonic() - t < 2.2:  # about 6 MB/s, never a wait near the timeout: cut at 1.3 s
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += len(chunk)
                time.sleep(0.01)
            while chunk := s.recv(1 << 20):  # then at once: only what the kernel still held, and the end
                got += len(chunk)
        assert got < (32 << 20) - start, got
        assert _until(lambda: srv.active_connections == 0)
        assert capfd.readouterr().err == ""  # cut off quietly: a client hanging up is no error
    finally:
        srv.shutdown()
        srv.server_close()


def test_the_watchdog_never_blocks_exit_even_when_serving_from_a_non_daemon_thread(tmp_path):
    srv = make_server(tmp_path)
    before = set(threading.enumerate())
    runner = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=False)
    runner.start()
    try:
        assert _until(lambda: len(set(threading.enumerate()) - before) >= 2)
        started = set(threading.enumerate()) - before - {runner}
        assert started and all(t.daemon for t in started)
    finally:
        srv.shutdown()
        runner.join(5)
        srv.server_close()
