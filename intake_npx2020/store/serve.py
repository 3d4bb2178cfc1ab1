"""``npx2020 serve``: a read-only HTTP mirror of a store root, with ``Range``, no listing, nothing outside it.

Only paths of the form ``/sha1/ab/cd/ef/<40 hex>`` are served (``GET`` and ``HEAD``); everything else is 404.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["make_server", "serve_in_thread"]

_BLOB = re.compile(r"/sha1/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{40})")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "npx2020"
    root: Path = Path(".")
    quiet = True

    def log_message(self, fmt, *args):
        if not self.quiet:
            super().log_message(fmt, *args)

    def _blob_path(self) -> str | None:
        m = _BLOB.fullmatch(self.path.split("?", 1)[0])
        if not m or m.group(4)[:6] != "".join(m.group(1, 2, 3)):
            return None
        p = self.root / "sha1" / m.group(1) / m.group(2) / m.group(3) / m.group(4)
        return str(p) if p.is_file() else None

    def _error(self, code: int, msg: str) -> None:
        body = (msg + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = self._blob_path()
        if path is None:
            return self._error(404, "not found")
        size = os.path.getsize(path)
        start, end = 0, size
        header = self.headers.get("Range")
        if header:
            m = _RANGE.fullmatch(header.strip())
            if not m or (not m.group(1) and not m.group(2)):
                return self._error(416, "only single byte ranges are supported")
            if m.group(1):
                start = int(m.group(1))
                end = min(size, int(m.group(2)) + 1) if m.group(2) else size
            else:
                start = max(0, size - int(m.group(2)))
            if start >= size or end <= start:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        self.send_response(206 if header else 200)
        if header:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start))
        self.send_header("Cache-Control", "public, max-age=31536000, immutable")
        self.end_headers()
        if self.command == "HEAD":
            return
        self.wfile.flush()
        with open(path, "rb") as f:
            offset = start
            while offset < end:
                sent = os.sendfile(self.connection.fileno(), f.fileno(), offset, min(end - offset, 1 << 26))
                if sent == 0:
                    break
                offset += sent


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()


def make_server(root: str | os.PathLike, host: str = "127.0.0.1", port: int = 0, quiet: bool = True) -> _Server:
    """An HTTP server for the store at ``root`` (not yet serving); ``port=0`` picks a free port."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"cannot serve {root}: not a directory")
    handler = type("Handler", (_Handler,), {"root": root, "quiet": quiet})
    return _Server((host, port), handler)


def serve_in_thread(root: str | os.PathLike, host: str = "127.0.0.1", port: int = 0):
    """Start serving ``root`` in a daemon thread; returns ``(server, base_url)``. Stop with ``server.shutdown()``."""
    server = make_server(root, host, port)
    threading.Thread(target=server.serve_forever, daemon=True, name="npx2020-serve").start()
    h, p = server.server_address[:2]
    return server, f"http://{h}:{p}"
