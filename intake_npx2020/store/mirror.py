"""HTTP mirrors: any static server of a store root that honours ``Range`` (nginx, a bucket, ``npx2020 serve``).

One ``requests.Session`` per thread and process (connection reuse); every request has a timeout; a whole
body is read into a preallocated buffer and its length checked, so a truncated body is an error, not data.
Retries and hash checks live in :mod:`intake_npx2020.store`, which knows what the bytes must hash to.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from typing import NamedTuple

from .local import blob_relpath

__all__ = ["Mirror", "TransientError", "PermanentError"]

_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
_local = threading.local()


class TransientError(Exception):
    """A failure worth retrying: connection error, stall, 5xx/429, truncated body."""


class PermanentError(Exception):
    """A failure retrying the same mirror will not fix (e.g. 403, Range ignored)."""


def _session(pool: int):
    import requests
    from requests.adapters import HTTPAdapter

    sess = getattr(_local, "session", None)
    if sess is None or _local.pid != os.getpid():
        sess = requests.Session()
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=max(pool, 8), max_retries=0)
        sess.mount("http://", adapter)
        sess.mount("https://", adapter)
        sess.headers.update({"Accept-Encoding": "identity", "User-Agent": "intake_npx2020"})
        _local.session, _local.pid = sess, os.getpid()
    return sess


class Mirror:
    """One base URL serving ``sha1/ab/cd/ef/<h>``.

    Parameters
    ----------
    base : str
        e.g. ``"http://127.0.0.1:8080"`` or ``"https://bucket.example/npx2020"``.
    timeout : float
        Seconds allowed to connect and between received bytes; a body must also arrive within
        ``4 * timeout + size / 1 MB/s``.
    """

    def __init__(self, base: str, timeout: float = 10.0, pool: int = 8):
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.pool = pool

    def __repr__(self) -> str:
        return f"Mirror({self.base!r})"

    def url(self, sha1: str) -> str:
        return f"{self.base}/{blob_relpath(sha1)}"

    def size(self, sha1: str) -> int | None:
        """Size of a blob from a ``HEAD`` request, or ``None`` if the mirror lacks it."""
        import requests

        try:
            r = _session(self.pool).head(self.url(sha1), timeout=(self.timeout, self.timeout), allow_redirects=True)
        except requests.RequestException as err:
            raise TransientError(f"HEAD {self.url(sha1)}: {err}") from err
        if r.status_code == 404:
            return None
        if r.status_code in _RETRY_STATUS or r.status_code >= 500:
            raise TransientError(f"HEAD {self.url(sha1)}: HTTP {r.status_code}")
        if r.status_code != 200 or "Content-Length" not in r.headers:
            raise PermanentError(f"HEAD {self.url(sha1)}: HTTP {r.status_code} without Content-Length")
        return int(r.headers["Content-Length"])

    def get(self, sha1: str, start: int | None = None, end: int | None = None) -> "Body | None":
        """Bytes ``[start, end)`` of blob ``sha1`` (the whole blob if both are ``None``) and their sha1,
        hashed as they arrive; ``None`` on 404."""
        import requests

        url = self.url(sha1)
        headers = {}
        ranged = start is not None
        if ranged:
            headers["Range"] = f"bytes={start}-{end - 1}"
        where = f"GET {url}" + (f" bytes {start}-{end - 1}" if ranged else "")
        try:
            r = _session(self.pool).get(url, headers=headers, stream=True, timeout=(self.timeout, self.timeout))
        except requests.RequestException as err:
            raise TransientError(f"{where}: {type(err).__name__}: {err}") from err
        with r:
            if r.status_code == 404:
                return None
            if r.status_code in _RETRY_STATUS or r.status_code >= 500:
                raise TransientError(f"{where}: HTTP {r.status_code}")
            if ranged and r.status_code != 206:
                raise PermanentError(f"{where}: HTTP {r.status_code}; the mirror must honour Range requests")
            if not ranged and r.status_code != 200:
                raise PermanentError(f"{where}: HTTP {r.status_code}")
            length = r.headers.get("Content-Length")
            if length is None:
                raise PermanentError(f"{where}: no Content-Length")
            n = int(length)
            if ranged and n != end - start:
                raise PermanentError(f"{where}: server sent {n} bytes for a {end - start}-byte range")
            return self._read_body(r, n, where)

    def _read_body(self, r, n: int, where: str) -> "Body":
        import requests
        import urllib3

        buf = bytearray(n)
        view = memoryview(buf)
        digest = hashlib.sha1()
        got = 0
        deadline = time.monotonic() + 4 * self.timeout + n / 1e6
        try:
            while got < n:
                k = r.raw.readinto(view[got:])
                if not k:
                    break
                digest.update(view[got:got + k])  # overlaps hashing with the socket filling up
                got += k
                if time.monotonic() > deadline:
                    raise TransientError(f"{where}: body too slow ({got} of {n} bytes by the deadline)")
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as err:
            raise TransientError(f"{where}: {type(err).__name__} after {got} of {n} bytes: {err}") from err
        if got != n:
            raise TransientError(f"{where}: truncated body, {got} of {n} bytes")
        return Body(buf, digest.hexdigest())


class Body(NamedTuple):
    """A response body and the sha1 of its bytes."""

    data: bytearray
    sha1: str
