"""A static mirror throttled like a network link: ``python -m benchmarks.throttled ROOT RATE_MB_S``.

Serves ``/sha1/ab/cd/ef/<40 hex>[.pco|.pco.json]`` under ROOT with single ``Range`` requests, like
``npx2020 serve``, but every body byte goes through one token bucket shared by all connections, so the total
rate is ``RATE_MB_S`` × 10⁶ bytes/s however many requests run at once (one 1 GbE link ≈ 100–117 MB/s). Prints
``serving ROOT at http://127.0.0.1:PORT`` on its first line; stops on SIGTERM. 127.0.0.1 only.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_PATH = re.compile(r"/sha1/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{40}(?:\.pco|\.pco\.json)?)")
_RANGE = re.compile(r"bytes=(\d+)-(\d+)")
_PIECE = 256 << 10  # 2.6 ms of a 100 MB/s link


class Link:
    """A token bucket: :meth:`take` blocks until ``n`` bytes may go out at ``rate`` bytes/s overall."""

    def __init__(self, rate: float):
        self.rate = rate
        self.next = time.monotonic()
        self.lock = threading.Lock()

    def take(self, n: int) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next)
            self.next = start + n / self.rate
        delay = start - now
        if delay > 0:
            time.sleep(delay)


def make_handler(root: Path, link: Link):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            m = _PATH.fullmatch(self.path.split("?", 1)[0])
            path = root / "sha1" / m.group(1) / m.group(2) / m.group(3) / m.group(4) if m else None
            if path is None or not path.is_file():
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            size = path.stat().st_size
            start, end, status = 0, size, 200
            r = _RANGE.fullmatch(self.headers.get("Range", ""))
            if r:
                start, end, status = int(r.group(1)), min(size, int(r.group(2)) + 1), 206
            self.send_response(status)
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
            self.send_header("Content-Length", str(end - start))
            self.end_headers()
            self.wfile.flush()
            with open(path, "rb") as f:
                offset = start
                while offset < end:
                    n = min(_PIECE, end - offset)
                    link.take(n)
                    while n:  # the kernel copies file to socket; this process only paces it
                        sent = os.sendfile(self.connection.fileno(), f.fileno(), offset, n)
                        if not sent:
                            return
                        offset, n = offset + sent, n - sent

    return Handler


def main() -> None:
    root, rate = Path(sys.argv[1]).resolve(), float(sys.argv[2]) * 1e6
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(root, Link(rate)))
    server.daemon_threads = True
    print(f"serving {root} at http://127.0.0.1:{server.server_address[1]} ({rate / 1e6:g} MB/s)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        os._exit(0)


if __name__ == "__main__":
    main()
