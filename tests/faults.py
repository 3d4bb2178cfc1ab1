"""Fault injection for the hostile-input tests: a mirror whose every answer can be scripted, and crafted objects.

:class:`ScriptedMirror` serves a store root (optionally under a base path) like a static mirror honouring
``Range``, and writes every response byte by byte itself, so that it can lie in every way HTTP allows. Which
requests misbehave is scripted with :meth:`ScriptedMirror.script` (an action, which requests it hits, how many
times). Actions (``name`` or ``name=arg``):

``ok``, ``404``, ``500``, ``503``, ``drop`` (close without answering)
``html200``            200 with an HTML error page, for any path, present or not
``cl=<text>``          the right body with ``Content-Length: <text>`` verbatim (``abc``, ``-5``, ``1e3``, ``10``)
``cl-dup=<a>,<b>``     two ``Content-Length`` headers
``claim=<n>``          ``Content-Length: n`` (e.g. 1 GB), the real body, then close
``chunked-cl``         ``Transfer-Encoding: chunked`` and a ``Content-Length``
``no-length``          no ``Content-Length``; the body ends when the connection closes
``longer``             no ``Content-Length``; the body plus garbage, then close
``ignore-range``       ``200`` with the whole file to a ``Range`` request
``wrong-range``        ``206`` with the bytes and ``Content-Range`` of the range one byte later
``truncate``           half the body, then close
``wrong``              one byte of the body flipped
``stall-headers``      read the request, answer nothing (until the server closes)
``stall-body``         headers and 10 bytes, then nothing
``trickle-headers=<s>`` status line and headers one byte every ``s`` seconds, then the body
``trickle-body=<s>``   headers, then the body in 50 pieces, one every ``s`` seconds
``late=<s>``           headers, then the whole body after ``s`` seconds

The store layout and manifests here are written from their specification (literal paths and JSON), not with
the package's own ``blob_relpath`` or ``Manifest.to_bytes``, so that tests built on them check those too.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

HTML = b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>\n"


def sha1(data) -> str:
    return hashlib.sha1(data).hexdigest()


def blob_path(root: Path, h: str) -> Path:
    """``<root>/sha1/ab/cd/ef/<h>``, the kachery layout, written out literally."""
    return Path(root) / "sha1" / h[0:2] / h[2:4] / h[4:6] / h


def put_blob(root: Path, data: bytes) -> str:
    h = sha1(data)
    p = blob_path(root, h)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return h


def manifest_json(data: bytes, bounds: list[int]) -> bytes:
    """A kachery manifest, serialised as kachery does (compact, keys size, sha1, chunks)."""
    chunks = ",".join(f'{{"start":{a},"end":{b},"sha1":"{sha1(data[a:b])}"}}' for a, b in zip(bounds, bounds[1:]))
    return f'{{"size":{len(data)},"sha1":"{sha1(data)}","chunks":[{chunks}]}}'.encode()


def put_with_manifest(root: Path, data: bytes, bounds: list[int], whole: bool = True, chunks: bool = False,
                      label: str = "raw.bin") -> str:
    """Store ``data`` (whole and/or as chunk blobs) and its manifest under ``root``; return the file's URI."""
    m = put_blob(root, manifest_json(data, bounds))
    if whole:
        put_blob(root, data)
    if chunks:
        for a, b in zip(bounds, bounds[1:]):
            put_blob(root, data[a:b])
    return f"sha1://{sha1(data)}/{label}?manifest={m}"


def npy_bytes(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(arr))
    return buf.getvalue()


def npy_with_header(shape: tuple, dtype: str, body: bytes) -> bytes:
    """An ``.npy`` whose header claims ``shape`` of ``dtype`` whatever ``body`` holds."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape})
    pad = 64 - (10 + len(header) + 1) % 64
    header = (header + " " * pad + "\n").encode()
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + body


def deep_json(depth: int, opener: str = "[", closer: str = "]") -> bytes:
    return (opener * depth + closer * depth).encode()


class Request(NamedTuple):
    path: str
    range: str | None
    action: str


class _Rule:
    def __init__(self, action: str, when: Callable[[str, str | None], bool], times: int | None):
        self.action, self.when, self.left = action, when, times


_WHEN = {
    "any": lambda path, rng: True,
    "range": lambda path, rng: rng is not None,
    "whole": lambda path, rng: rng is None,
}


class ScriptedMirror:
    """A static mirror of ``root`` under ``prefix`` whose answers follow a script (see the module docstring).

    Parameters
    ----------
    root : path
        The store root served.
    prefix : str
        Base path of the mirror (``""`` or e.g. ``"/m"``); requests outside it are 404 and logged.
    """

    def __init__(self, root: Path, prefix: str = ""):
        self.root = Path(root)
        self.prefix = prefix.rstrip("/")
        self.rules: list[_Rule] = []
        self.log: list[Request] = []
        self.lock = threading.Lock()
        self.closing = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                outer._handle(self)

            do_HEAD = do_GET

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}{self.prefix}"

    def script(self, action: str, when: str | Callable = "any", times: int | None = None) -> "ScriptedMirror":
        """Answer the requests selected by ``when`` (``any``, ``range``, ``whole`` or ``f(path, range)``) with
        ``action``, ``times`` times (``None``: always). Rules apply in the order given."""
        self.rules.append(_Rule(action, _WHEN.get(when, when), times))
        return self

    def _action(self, path: str, rng: str | None) -> str:
        with self.lock:
            for rule in self.rules:
                if (rule.left is None or rule.left > 0) and rule.when(path, rng):
                    if rule.left is not None:
                        rule.left -= 1
                    return rule.action
        return "ok"

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        rng = h.headers.get("Range")
        action = self._action(h.path, rng)
        self.log.append(Request(h.path, rng, action))
        name, _, arg = action.partition("=")
        if name == "html200":
            return self._write(h, "200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(HTML)))], HTML)
        data = self._file(h.path)
        if data is None or name == "404":
            return self._write(h, "404 Not Found", [("Content-Length", "9")], b"not found")
        status, headers, body = "200 OK", [], data
        if rng and name != "ignore-range":
            a, b = (int(x) for x in rng.split("=")[1].split("-"))
            if name == "wrong-range":
                a, b = a + 1, b + 1
            body, status = data[a:b + 1], "206 Partial Content"
            headers.append(("Content-Range", f"bytes {a}-{b}/{len(data)}"))
        _FAULTS.get(name, _ok)(self, h, status, headers, body, arg)

    def _file(self, path: str) -> bytes | None:
        if not path.startswith(self.prefix + "/sha1/") or ".." in path:
            return None
        p = self.root / path[len(self.prefix) + 1:]
        return p.read_bytes() if p.is_file() else None

    def _write(self, h, status: str, headers: list, body: bytes = b"", close: bool = False, delay: float = 0) -> None:
        head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        head += "Connection: close\r\n\r\n" if close else "\r\n"
        try:
            if delay:
                for i in range(len(head)):
                    if self.closing.wait(delay):
                        return
                    h.wfile.write(head[i].encode())
                    h.wfile.flush()
            else:
                h.wfile.write(head.encode())
            h.wfile.write(body)
            h.wfile.flush()
        except OSError:
            pass
        if close:
            h.close_connection = True

    def stall(self) -> None:
        self.closing.wait(60)

    def close(self) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _length(body: bytes) -> tuple[str, str]:
    return ("Content-Length", str(len(body)))


def _ok(srv, h, status, headers, body, arg):
    srv._write(h, status, headers + [_length(body)], body)


def _status(code):
    def fault(srv, h, status, headers, body, arg):
        srv._write(h, code, [("Content-Length", "4")], b"busy", close=True)
    return fault


def _drop(srv, h, status, headers, body, arg):
    h.connection.shutdown(socket.SHUT_RDWR)
    h.close_connection = True


def _cl(srv, h, status, headers, body, arg):
    srv._write(h, status, headers + [("Content-Length", arg)], body, close=True)


def _cl_dup(srv, h, status, headers, body, arg):
    a, b = arg.split(",")
    srv._write(h, status, headers + [("Content-Length", a), ("Content-Length", b)], body, close=True)


def _chunked_cl(srv, h, status, headers, body, arg):
    framed = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    srv._write(h, status, headers + [("Transfer-Encoding", "chunked"), _length(body)], framed, close=True)


def _no_length(srv, h, status, headers, body, arg):
    srv._write(h, status, headers, body, close=True)


def _longer(srv, h, status, headers, body, arg):
    srv._write(h, status, headers, body + b"garbage!" * 4, close=True)


def _truncate(srv, h, status, headers, body, arg):
    srv._write(h, status, headers + [_length(body)], body[: len(body) // 2], close=True)
    h.connection.shutdown(socket.SHUT_RDWR)


def _wrong(srv, h, status, headers, body, arg):
    bad = bytearray(body)
    bad[len(bad) // 2] ^= 0xFF
    srv._write(h, status, headers + [_length(body)], bytes(bad), close=True)


def _stall_headers(srv, h, status, headers, body, arg):
    srv.stall()
    h.close_connection = True


def _stall_body(srv, h, status, headers, body, arg):
    srv._write(h, status, headers + [_length(body)], body[:10])
    srv.stall()
    h.close_connection = True


def _trickle_headers(srv, h, status, headers, body, arg):
    srv._write(h, status, headers + [_length(body)], body, close=True, delay=float(arg))


def _trickle_body(srv, h, status, headers, body, arg):
    srv._write(h, status, headers + [_length(body)], b"")
    step = max(1, -(-len(body) // 50))
    try:
        for i in range(0, len(body), step):
            if srv.closing.wait(float(arg)):
                break
            h.wfile.write(body[i:i + step])
            h.wfile.flush()
    except OSError:
        pass
    h.close_connection = True


def _late(srv, h, status, headers, body, arg):
    srv._write(h, status, headers + [_length(body)], b"")
    if not srv.closing.wait(float(arg)):
        try:
            h.wfile.write(body)
            h.wfile.flush()
        except OSError:
            pass


_FAULTS = {
    "ok": _ok, "ignore-range": _ok, "wrong-range": _ok,
    "500": _status("500 Internal Server Error"), "503": _status("503 Service Unavailable"), "drop": _drop,
    "cl": _cl, "cl-dup": _cl_dup, "claim": _cl, "chunked-cl": _chunked_cl, "no-length": _no_length,
    "longer": _longer, "truncate": _truncate, "wrong": _wrong, "stall-headers": _stall_headers,
    "stall-body": _stall_body, "trickle-headers": _trickle_headers, "trickle-body": _trickle_body, "late": _late,
}


def dir_object(files: dict, dirs: dict | None = None) -> bytes:
    """A ``sha1dir`` directory object ``{"files": {name: {"size", "sha1"}}, "dirs": …}`` with the given hashes."""
    return json.dumps({"files": {k: {"size": 3, "sha1": v} for k, v in files.items()},
                       "dirs": dirs or {}}).encode()


def wait_for(cond: Callable[[], bool], seconds: float = 10) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()
