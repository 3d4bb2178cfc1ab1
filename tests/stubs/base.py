"""The loopback server every stub is built on: a ``ThreadingHTTPServer`` on 127.0.0.1 (ephemeral port) in a
daemon thread, a request log, and a ``Clock`` tests can move forward for one stub without touching the others."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional

__all__ = ["Clock", "StubBase", "MAX_BODY", "MAX_LOG"]

MAX_BODY = 1 << 20          # largest request body a stub will read (bytes)
MAX_LOG = 10_000            # requests_log entries kept per stub
MAX_LOGGED_BODY = 4096      # request-body bytes copied into the log

class Clock:
    """Wall clock plus a test-controlled offset (seconds)."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = float(offset)

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += float(seconds)



class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        """A client that hangs up mid-answer (as clients do on a refusal) is normal, not a traceback on stderr."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a connection may sit idle / stall mid-request
    server_version = "stub"
    sys_version = ""
    stub: "StubBase"  # set on the per-stub subclass

    def log_message(self, fmt, *args):  # keep pytest output clean
        pass

    def _dispatch(self):
        stub = self.stub
        parsed = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        body = b""
        self._status = None
        length = self.headers.get("Content-Length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                n = -1
            if n < 0 or n > MAX_BODY:
                self._entry = stub._log(self, parsed.path, query, b"")
                self._send(413, b"request body too large", "text/plain", close=True)
                return
            body = self.rfile.read(n)
        # the entry is logged *before* any response byte is written, and completed in
        # place (status, extras) before the response goes out, so a client that has
        # its answer always finds a complete entry
        self._entry = stub._log(self, parsed.path, query, body)
        try:
            stub._route(self, self.command, parsed.path, query, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # pragma: no cover - surfaced as a 500 to the client
            if self._status is None:
                self._send(500, f"stub error: {e!r}".encode(), "text/plain")

    def note(self, **kw):
        """Add fields to this request's requests_log entry."""
        self._entry.update(kw)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_OPTIONS = _dispatch

    # helpers used by stubs
    def _send(self, status: int, body: bytes = b"", ctype: Optional[str] = None,
              headers: Optional[Dict[str, str]] = None, close: bool = False):
        self._status = status
        self._entry["status"] = status
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _json(self, status: int, obj, headers=None):
        self._send(status, json.dumps(obj).encode(), "application/json; charset=utf-8", headers)


class StubBase:
    """start()/stop()/context manager, requests_log, url."""

    def __init__(self, clock: Optional[Clock] = None) -> None:
        self.clock = clock or Clock()
        self.requests_log: List[dict] = []
        self._lock = threading.Lock()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    # lifecycle
    def start(self):
        if self._server is not None:
            return self
        handler = type(f"{type(self).__name__}Handler", (_Handler,), {"stub": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"{type(self).__name__}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        srv, th = self._server, self._thread
        self._server = self._thread = None
        if srv is not None:
            srv.shutdown()
            srv.server_close()
        if th is not None:
            th.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("stub not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # logging
    def _log(self, h: _Handler, path: str, query: dict, body: bytes) -> dict:
        entry = {
            "time": self.clock.now(),
            "method": h.command,
            "path": path,
            "raw_path": h.path,
            "query": query,
            "headers": {k.lower(): v for k, v in h.headers.items()},
            "range": h.headers.get("Range"),
            "user_agent": h.headers.get("User-Agent"),
            "body": body[:MAX_LOGGED_BODY],
            "status": None,
        }
        try:
            entry["json"] = json.loads(body) if body else None
        except ValueError:
            entry["json"] = None
        with self._lock:
            self.requests_log.append(entry)
            if len(self.requests_log) > MAX_LOG:
                del self.requests_log[: len(self.requests_log) - MAX_LOG]
        return entry

    def clear_log(self) -> None:
        with self._lock:
            self.requests_log.clear()

    def _route(self, h: _Handler, method: str, path: str, query: dict, body: bytes):
        raise NotImplementedError

