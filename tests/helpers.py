"""Shared test helpers (not fixtures): hashes, random blobs and manifests, a faulty mirror, 2020 objects.

Test modules import them with ``from helpers import …``; the fixtures built on them live in ``conftest.py``.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from intake_npx2020.formats import builders
from intake_npx2020.store.local import blob_relpath
from intake_npx2020.store.manifest import Chunk, Manifest


def sha1(data) -> str:
    return hashlib.sha1(data).hexdigest()


def random_bytes(n: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def irregular_bounds(n: int, seed: int = 1, lo: int = 100_000, hi: int = 3_000_000) -> list[int]:
    """Chunk boundaries of irregular sizes (like manifests written under changing kachery rules)."""
    rng = np.random.default_rng(seed)
    bounds = [0]
    while bounds[-1] < n:
        bounds.append(min(n, bounds[-1] + int(rng.integers(lo, hi))))
    return bounds


def write_blob(root: Path, data: bytes) -> str:
    h = sha1(data)
    p = root / blob_relpath(h)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return h


def put_file(root: Path, data: bytes, bounds: list[int] | None = None, whole: bool = True,
             chunks: bool = False, label: str = "raw.bin") -> str:
    """Store ``data`` under ``root`` with a manifest cut at ``bounds``; return its sha1:// URI."""
    h = sha1(data)
    manifest = None
    if bounds:
        m = Manifest(len(data), h, tuple(Chunk(a, b, sha1(data[a:b])) for a, b in zip(bounds, bounds[1:])))
        manifest = write_blob(root, m.to_bytes())
        if chunks:
            for c in m.chunks:
                write_blob(root, data[c.start:c.end])
    if whole:
        write_blob(root, data)
    return f"sha1://{h}/{label}" + (f"?manifest={manifest}" if manifest else "")


def npy_uri(root: Path, arr, label: str = "x.npy") -> str:
    """Store ``arr`` as a ``.npy`` blob under ``root``; return its sha1:// URI."""
    buf = io.BytesIO()
    np.save(buf, arr)
    return put_file(root, buf.getvalue(), label=label)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FaultServer:
    """A mirror whose next responses are faults, in order: 'drop', '500', '503', '429', 'truncate',
    'corrupt', 'stall', 'slow'; after the plan is used up it serves correctly (with Range)."""

    def __init__(self, root: Path, stall_seconds: float = 3.0):
        self.root = Path(root)
        self.plan: list[str] = []
        self.log: list[tuple[str, str | None, str]] = []
        self.stall_seconds = stall_seconds
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        with self.lock:
            fault = self.plan.pop(0) if self.plan else "ok"
        rng = h.headers.get("Range")
        self.log.append((h.path, rng, fault))
        path = self.root / h.path.lstrip("/")
        if not path.is_file() or ".." in h.path:
            return self._send(h, 404, b"not found")
        data = path.read_bytes()
        status = 200
        if rng:
            a, b = rng.split("=")[1].split("-")
            data = data[int(a):int(b) + 1]
            status = 206
        if fault == "drop":
            h.connection.shutdown(socket.SHUT_RDWR)
            h.close_connection = True
            return
        if fault in ("500", "503", "429"):
            return self._send(h, int(fault), b"busy")
        if fault == "corrupt":
            data = bytearray(data)
            data[len(data) // 2] ^= 0xFF
            data = bytes(data)
        h.send_response(status)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if fault == "truncate":
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            h.connection.shutdown(socket.SHUT_RDWR)
            h.close_connection = True
            return
        if fault == "stall":
            h.wfile.write(data[:10])
            h.wfile.flush()
            time.sleep(self.stall_seconds)
            h.close_connection = True
            return
        h.wfile.write(data)

    @staticmethod
    def _send(h, code, body):
        h.send_response(code)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def tmp_leftovers(store_root: Path) -> list[str]:
    """Files in the store's tmp dir (must be empty after any failure)."""
    d = Path(store_root) / "tmp"
    return sorted(os.listdir(d)) if d.is_dir() else []


# -- recordings and sortings -------------------------------------------------------------------------

REF_3A = {36, 75, 112, 151, 188, 227, 264, 303, 340, 379}
CX_COLS = [c for c in range(384) if c not in REF_3A]  # 374 mapped columns of a 385-column file


def np1_pos(col: int) -> list[float]:
    return [float([43, 11, 59, 27][col % 4]), float(20 * (col // 2 + 1))]


def bin1_object(raw_uri: str, raw_num_channels: int, num_frames: int, cols: list[int], fs: int = 30000) -> dict:
    """A ``bin1`` object for channels ``0 … n-1`` on raw columns ``cols``, at NP1-like positions."""
    return builders.bin1_object(raw_uri, raw_num_channels, num_frames, cols, [np1_pos(c) for c in cols], fs)


def make_raw(num_frames: int, raw_num_channels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-2000, 2000, (num_frames, raw_num_channels), dtype=np.int16)


def write_catalog(path: Path, sources: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump({"metadata": {"version": 1}, "sources": sources}, sort_keys=False))
    return path


def raises_text(exc, fn, *args, **kw) -> str:
    """The message of the ``exc`` that ``fn(*args, **kw)`` must raise (the test fails if it does not)."""
    import pytest

    with pytest.raises(exc) as info:
        fn(*args, **kw)
    return str(info.value)


def cut_off_after(sock, limit: float = 3.0) -> float:
    """Seconds until ``sock`` reads end-of-stream (it was shut down); fails if that takes over ``limit``."""
    sock.settimeout(limit)
    t = time.monotonic()
    assert sock.recv(10) == b""
    return time.monotonic() - t
