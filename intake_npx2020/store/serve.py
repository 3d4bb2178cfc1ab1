"""``npx2020 serve``: a read-only HTTP mirror of a store root, with ``Range``, no listing, nothing outside it.

Only ``GET`` and ``HEAD`` of ``/sha1/ab/cd/ef/<40 hex>`` are answered (``ab``, ``cd``, ``ef`` being the hash's
first digits), and of the same followed by ``.pco`` or ``.pco.json`` (a packed mirror's objects); any other path
is 404, a malformed request 400/414/431/501, and a ``Range`` this server does not satisfy (several ranges, past
the end, numbers over 19 digits, not ``bytes=``) 416. It binds 127.0.0.1 unless told otherwise.

Symbolic links
    No symbolic link below ROOT is followed by default: every directory of a blob's path and the blob itself
    are opened without following links (relative to their parent's descriptor), so a link anywhere in the
    store — to a file or a directory, pointing out of ROOT or within it — answers 404. ROOT itself is resolved
    once, at start. Hard links are files in ROOT and are served. Only regular files are served.

    Files placed by ``npx2020 add --link sym`` are symbolic links to the user's own files. They are served only
    when the server is started with ``--link-dir DIR`` (``link_dirs=``, repeatable) naming the directories they
    may point into, and then only for pinned blobs (``pins/<sha1>``, as ``add`` leaves them) whose link is
    absolute and whose fully resolved target — the file actually opened — is a regular file below one of those
    directories. Nothing written into the store can widen this; only whoever starts the server can.

Published sites
    A ROOT written by ``npx2020 publish`` holds ``npx2020-site.json`` (:data:`SITE_FILE`), read once at start: then
    the catalogs it lists (``/catalog.yaml``, ``/lab/catalog.yaml``, …; ``Cache-Control: no-cache``, they change
    when the site is published again) and the blobs of its mirror directory (``/mirror/sha1/…``, as above) are
    answered too; the site file itself and everything else stay 404.

Under load
    The listen backlog is 1024 (the kernel may cap it at ``net.core.somaxconn``), so a burst of clients waits in
    the kernel's queue, not for SYN retransmissions. At most ``max_connections`` connections are served at once,
    one thread each (default: 256, fewer if the descriptor limit is low); a connection beyond that gets an
    immediate ``503`` with ``Retry-After: 1`` (a transient error to our mirror client) and is closed. A connection
    has ``request_timeout`` seconds (default 15) to send each request line and headers, idle keep-alive time
    included; every socket read or write waits at most ``timeout`` seconds (default 30); a response body must go
    out at ``min_rate`` bytes/s on average (default 64 kB/s) after a first ``timeout``. A watchdog thread shuts
    down connections past their deadline. Running out of descriptors pauses accepting for 0.1 s rather than
    spinning on ``accept``.
"""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .safeopen import open_below, open_blob

__all__ = ["SITE_FILE", "default_max_connections", "make_server", "serve_in_thread"]

#: what ``npx2020 publish`` writes at the top of a site: ``{"catalogs": [relative paths], "mirror": "mirror", …}``
SITE_FILE = "npx2020-site.json"

_BLOB = re.compile(r"/sha1/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{40}(?:\.pco|\.pco\.json)?)")
_RANGE = re.compile(r"bytes=([0-9]{0,19})-([0-9]{0,19})")
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n"
         b"Connection: close\r\n\r\n")


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``[start, end)`` of a single ``bytes=`` range within ``size`` bytes, or None if it cannot be satisfied."""
    m = _RANGE.fullmatch(header.strip())
    if not m or not (m.group(1) or m.group(2)):
        return None
    if m.group(1):
        start = int(m.group(1))
        end = min(size, int(m.group(2)) + 1) if m.group(2) else size
    else:
        start, end = max(0, size - int(m.group(2))), size
    if start >= size or end <= start:
        return None
    return start, end


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "npx2020"
    sys_version = ""
    root = "."
    link_dirs: tuple[str, ...] = ()
    site_files: frozenset = frozenset()  # a published site's catalogs (relative paths)
    site_mirror = ""  # and its mirror directory, if ROOT is a published site
    quiet = True
    timeout = 30.0  # every socket operation (StreamRequestHandler applies it)
    min_rate = 65536.0

    def log_message(self, fmt, *args):
        if not self.quiet:
            super().log_message(fmt, *args)

    def handle_one_request(self):
        self.server.watch(self.connection, self.server.request_timeout)
        super().handle_one_request()

    def parse_request(self):
        ok = super().parse_request()
        self.server.watch(self.connection, None)  # request and headers are in
        return ok

    def _open(self) -> int | None:
        path, root = self.path.split("?", 1)[0], self.root
        self.mutable = path[1:] in self.site_files
        if self.mutable:
            return open_below(self.root, path[1:])
        if self.site_mirror and path.startswith(f"/{self.site_mirror}/sha1/"):
            path, root = path[len(self.site_mirror) + 1:], os.path.join(self.root, self.site_mirror)
        m = _BLOB.fullmatch(path)
        if not m or m.group(4)[:6] != "".join(m.group(1, 2, 3)):
            return None
        return open_blob(root, m.group(4), self.link_dirs)

    def _error(self, code: int, msg: str, extra: dict | None = None) -> None:
        body = (msg + "\n").encode()
        self.send_response(code)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        fd = self._open()
        if fd is None:
            return self._error(404, "not found")
        with open(fd, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            header = self.headers.get("Range")
            span = parse_range(header, size) if header is not None else (0, size)
            if span is None:
                return self._error(416, "only one satisfiable byte range (bytes=a-b, a-, -n) is supported",
                                   {"Content-Range": f"bytes */{size}"})
            start, end = span
            self.send_response(206 if header is not None else 200)
            if header is not None:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Type", "text/yaml; charset=utf-8" if self.mutable else "application/octet-stream")
            self.send_header("Content-Length", str(end - start))
            self.send_header("Cache-Control", "no-cache" if self.mutable else "public, max-age=31536000, immutable")
            self.end_headers()
            if self.command != "HEAD":
                self._send_body(f, start, end)

    def _send_body(self, f, start: int, end: int) -> None:
        self.server.watch(self.connection, self.timeout + (end - start) / self.min_rate)
        try:
            sent = self.connection.sendfile(f, start, end - start)
            if sent != end - start:
                self.close_connection = True
        except OSError:  # the client left, stalled past the timeout, or was cut off by the watchdog
            self.close_connection = True
        finally:
            self.server.watch(self.connection, None)


class _Server(ThreadingHTTPServer):
    """A threading server with a bounded number of connections and a deadline on each."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, address, handler, max_connections: int, request_timeout: float):
        self.max_connections = max_connections
        self.request_timeout = request_timeout
        self._active = 0
        self._deadlines: dict[socket.socket, float] = {}
        self._guard = threading.Lock()
        self._stop = threading.Event()
        super().__init__(address, handler)

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()

    @property
    def active_connections(self) -> int:
        """Connections being served now."""
        return self._active

    def watch(self, sock: socket.socket, seconds: float | None) -> None:
        """Shut ``sock`` down if it is still watched ``seconds`` from now; ``None`` stops watching it."""
        with self._guard:
            if seconds is None:
                self._deadlines.pop(sock, None)
            else:
                self._deadlines[sock] = time.monotonic() + seconds

    def _watchdog(self) -> None:
        while not self._stop.wait(0.1):
            now = time.monotonic()
            with self._guard:
                late = [s for s, t in self._deadlines.items() if t <= now]
                for s in late:
                    del self._deadlines[s]
            for s in late:
                try:
                    s.shutdown(socket.SHUT_RDWR)  # the handler's blocked read or write returns at once
                except OSError:
                    pass

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._stop.clear()
        dog = threading.Thread(target=self._watchdog, daemon=True, name="npx2020-serve-watchdog")
        dog.start()
        try:
            super().serve_forever(poll_interval)
        finally:
            self._stop.set()
            dog.join(timeout=2)

    def get_request(self):
        try:
            return super().get_request()
        except OSError as err:
            if err.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                time.sleep(0.1)  # out of descriptors: let connections end instead of spinning on accept
            raise

    def process_request(self, request, client_address):
        with self._guard:
            full = self._active >= self.max_connections
            if not full:
                self._active += 1
        if full:
            _refuse(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release(request)
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release(request)

    def _release(self, request) -> None:
        with self._guard:
            self._deadlines.pop(request, None)
            self._active -= 1

    def handle_error(self, request, client_address):
        err = sys.exc_info()[1]
        if not isinstance(err, OSError):  # a client hanging up is not worth a word; a bug is
            print(f"npx2020 serve: error with {client_address[0]}: {type(err).__name__}: {err}", file=sys.stderr)


def _refuse(sock: socket.socket) -> None:
    try:
        sock.setblocking(False)
        sock.send(_BUSY)
    except OSError:
        pass


def default_max_connections() -> int:
    """256 connections, or fewer so that each (a socket and a file) fits the descriptor limit."""
    import resource

    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return 256
    return max(4, min(256, (soft - 32) // 2))


def _site(root: Path) -> dict:
    """Handler attributes for a published site at ``root`` (its :data:`SITE_FILE`), or none."""
    try:
        site = json.loads((root / SITE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(site, dict):
        return {}
    safe = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")
    listed = site.get("catalogs")  # a list of names; a string would be read as its letters
    listed = listed if isinstance(listed, list) else []
    files = frozenset(c for c in listed if isinstance(c, str) and safe.fullmatch(c))
    mirror = site.get("mirror")
    mirror = mirror if isinstance(mirror, str) and safe.fullmatch(mirror) and "/" not in mirror else ""
    if mirror and (not (root / mirror).is_dir() or (root / mirror).is_symlink()):
        mirror = ""
    return {"site_files": files, "site_mirror": mirror}


def make_server(root: str | os.PathLike, host: str = "127.0.0.1", port: int = 0, quiet: bool = True, *,
                link_dirs=(), max_connections: int | None = None, timeout: float = 30.0,
                request_timeout: float = 15.0, min_rate: float = 65536.0) -> _Server:
    """An HTTP server for the store at ``root`` (not yet serving); ``port=0`` picks a free port.

    Parameters
    ----------
    root : path-like
        The store root.
    host, port :
        Where to listen; 127.0.0.1 unless told otherwise.
    quiet : bool
        Do not log requests.
    link_dirs : iterable of path-like
        Directories that symbolic-link blobs (``npx2020 add --link sym``) may point into; none by default.
    max_connections : int, optional
        Connections served at once (default :func:`default_max_connections`); more get 503.
    timeout, request_timeout, min_rate : float
        Seconds per socket operation; seconds to send a request's line and headers (idle time included);
        least average bytes/s of a response body. See the module's docstring.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"cannot serve {root}: not a directory")
    dirs = tuple(os.path.realpath(d) for d in link_dirs)
    for d in dirs:
        if not os.path.isdir(d):
            raise FileNotFoundError(f"--link-dir {d}: not a directory")
    handler = type("Handler", (_Handler,), {"root": str(root), "quiet": quiet, "link_dirs": dirs,
                                            "timeout": timeout, "min_rate": min_rate, **_site(root)})
    return _Server((host, port), handler, max_connections or default_max_connections(), request_timeout)


def serve_in_thread(root: str | os.PathLike, host: str = "127.0.0.1", port: int = 0, **options):
    """Start serving ``root`` in a daemon thread; returns ``(server, base_url)``. Stop with ``server.shutdown()``.

    ``options`` are those of :func:`make_server`.
    """
    server = make_server(root, host, port, **options)
    threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True, name="npx2020-serve").start()
    h, p = server.server_address[:2]
    return server, f"http://{h}:{p}"
