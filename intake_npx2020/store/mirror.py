"""HTTP mirrors: any static server of a store root that honours ``Range`` (nginx, a bucket, ``npx2020 serve``).

Every response is checked before a byte of it is used, and every anomaly is the mirror's fault, raised as
:class:`TransientError` (worth retrying: connection errors, 5xx/429, a truncated body, a passed deadline) or
:class:`PermanentError` (retrying this source will not help: a missing, malformed, duplicated or wrong
``Content-Length``, a ``200`` answer to a ``Range`` request, a wrong ``Content-Range``, any other status).
The failover (:mod:`.failover`) logs it and tries the next source; it also checks every body's sha1.

Memory
    A body is read into a buffer of the size asked for (a range, or a blob of known size), never of the size a
    header claims. A blob of unknown size grows with the bytes actually received, up to :data:`MAX_UNSIZED`.
Time
    Each request runs under a deadline on the whole request — connect, headers and body — of
    ``timeout + expected bytes / MIN_RATE`` seconds (:mod:`.deadline`). For a blob of unknown size it starts
    at ``timeout`` and moves on by ``1 / MIN_RATE`` seconds per byte received, so only a mirror sending at
    least :data:`MIN_RATE` bytes per second on average keeps a request alive. A body complete before the
    deadline is used, however late its last byte.
"""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

from .buffers import receive_buffer
from .deadline import Deadline, session
from .local import blob_relpath

__all__ = ["Mirror", "Body", "TransientError", "PermanentError", "MIN_RATE", "MAX_UNSIZED"]

#: Slowest transfer (bytes per second) a request's deadline allows for beyond ``timeout``.
MIN_RATE = 1_000_000
#: Largest blob fetched whole without a known size (files without a manifest are at most 20 MB in kachery).
MAX_UNSIZED = 2**31
_STEP = 1 << 20  # bytes per socket read: bounds the transient buffers of urllib3
# bytes received between two sha1 updates of a sized body: 4 MB took 5-8 % less client CPU per streamed pass than
# 1 MB (fewer GIL hand-offs between the fetch threads), 256 kB 30 % more (benchmarks/README.md)
_HASH_STEP = 4 << 20
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
_CONTENT_RANGE = re.compile(r"\s*bytes\s+(\d{1,19})-(\d{1,19})/(\d{1,19}|\*)\s*")


class TransientError(Exception):
    """A failure worth retrying: connection error, stall, 5xx/429, truncated body."""


class PermanentError(Exception):
    """A failure retrying the same source will not fix: a malformed or lying response, a refused Range."""


class Body(NamedTuple):
    """A response body and the sha1 of its bytes."""

    data: bytearray | memoryview  # bytes-like: see buffers.receive_buffer
    sha1: str


class Mirror:
    """One base URL serving ``sha1/ab/cd/ef/<h>``.

    Parameters
    ----------
    base : str
        e.g. ``"http://127.0.0.1:8080"`` or ``"https://bucket.example/npx2020"``.
    timeout : float
        Seconds allowed to connect and between received bytes; the whole request (connect, headers,
        body) must end within ``timeout + expected bytes / MIN_RATE``.
    pool : int
        Connections kept per host.
    """

    def __init__(self, base: str, timeout: float = 10.0, pool: int = 8):
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.pool = pool

    def __repr__(self) -> str:
        return f"Mirror({self.base!r})"

    def url(self, sha1: str) -> str:
        """URL of blob ``sha1`` (``InvalidObject`` unless 40 lowercase hex: nothing outside the base path)."""
        return f"{self.base}/{blob_relpath(sha1)}"

    def budget(self, nbytes: int | None) -> float:
        """Seconds a request for ``nbytes`` (``None``: unknown) may take before it is cut off."""
        return self.timeout + (nbytes or 0) / MIN_RATE

    def get(self, sha1: str, start: int | None = None, end: int | None = None,
            size: int | None = None) -> Body | None:
        """Bytes ``[start, end)`` of blob ``sha1`` (the whole blob if both are ``None``) and their sha1.

        Parameters
        ----------
        sha1 : str
            The blob on the mirror.
        start, end : int, optional
            A byte range (``Range: bytes=start-(end-1)``); the answer must be ``206`` with exactly that range.
        size : int, optional
            The blob's size when known from a verified source (a manifest); without it the size is unknown.

        Returns
        -------
        Body or None
            ``None`` when the mirror answers 404.

        Raises
        ------
        TransientError, PermanentError
            For every failure or anomaly of the request or the response (see the module docstring).
        """
        url = self.url(sha1)
        ranged = start is not None
        want = end - start if ranged else size
        where = f"GET {url}" + (f" bytes {start}-{end - 1}" if ranged else "")
        headers = {"Range": f"bytes={start}-{end - 1}"} if ranged else {}
        r = None
        try:
            with Deadline(self.budget(want)) as dl:
                r = self._request(url, headers, dl, where)
                if r.status_code == 404:
                    return None
                _check_status(r.status_code, ranged, where)
                claimed = _check_length(r, want, where)
                if ranged:
                    _check_range(r.headers.get("Content-Range"), start, end, where)
                if want is not None:
                    return self._read_exact(r, want, claimed is None, dl, where)
                return self._read_unsized(r, claimed, dl, where)
        finally:
            if r is not None:  # after the deadline is disarmed, so it can never cut a reused connection
                r.close()

    def _request(self, url: str, headers: dict, dl: Deadline, where: str):
        import requests

        connect = max(0.001, min(self.timeout, dl.remaining()))
        try:
            return session(self.pool).get(url, headers=headers, stream=True, timeout=(connect, self.timeout))
        except requests.RequestException as err:
            raise TransientError(_why(err, dl, where)) from err
        except Exception as err:  # noqa: BLE001 - whatever a response makes the client raise is the mirror's fault
            raise PermanentError(f"{where}: malformed response ({type(err).__name__}: {err})") from err

    def _read_exact(self, r, n: int, check_extra: bool, dl: Deadline, where: str) -> Body:
        buf = receive_buffer(n)
        view = memoryview(buf)
        digest = hashlib.sha1()
        got = 0
        extra = b""
        readinto, direct = _body_reader(r)
        try:
            while got < n:
                k = readinto(view[got:got + _HASH_STEP])
                if not k:
                    break
                digest.update(view[got:got + k])  # overlaps hashing with the socket filling up
                got += k
            if check_extra and got == n:  # no Content-Length: the body must end here
                extra = r.raw.read(1)
            if direct and got == n and r.raw._fp.isclosed():
                r.raw.release_conn()  # the body was read past urllib3: hand the connection back for reuse
        except Exception as err:  # noqa: BLE001 - a broken body is a transient failure of this mirror
            raise TransientError(f"{_why(err, dl, where)} after {got} of {n} bytes") from err
        if got < n:
            what = "deadline passed" if dl.fired else "truncated body"
            raise TransientError(f"{where}: {what} after {dl.elapsed():.1f} s, {got} of {n} bytes")
        if extra:
            raise PermanentError(f"{where}: body longer than the {n} bytes asked for")
        return Body(buf, digest.hexdigest())

    def _read_unsized(self, r, claimed: int | None, dl: Deadline, where: str) -> Body:
        limit = MAX_UNSIZED if claimed is None else claimed
        buf = bytearray()
        scratch = memoryview(bytearray(min(_STEP, limit + 1)))
        try:
            while len(buf) <= limit:
                k = r.raw.readinto(scratch[:min(_STEP, limit + 1 - len(buf))])
                if not k:
                    break
                buf += scratch[:k]
                dl.extend_to(self.budget(len(buf)))
        except Exception as err:  # noqa: BLE001
            raise TransientError(f"{_why(err, dl, where)} after {len(buf)} bytes") from err
        if len(buf) > limit:
            raise PermanentError(f"{where}: body longer than " +
                                 (f"its Content-Length {claimed}" if claimed is not None else f"{MAX_UNSIZED} bytes"))
        if claimed is not None and len(buf) < claimed:
            what = "deadline passed" if dl.fired else "truncated body"
            raise TransientError(f"{where}: {what} after {dl.elapsed():.1f} s, {len(buf)} of {claimed} bytes")
        if dl.fired:
            raise TransientError(f"{where}: deadline passed after {dl.elapsed():.1f} s, {len(buf)} bytes")
        return Body(buf, hashlib.sha1(buf).hexdigest())


def _body_reader(r):
    """``(readinto, direct)`` for the body of ``r``: ``http.client``'s own ``readinto`` when it can be used.

    urllib3's ``readinto`` reads into a new ``bytes`` object and copies it (about 1 MB at a time, holding the GIL);
    ``http.client``'s reads the socket straight into the buffer. Used for plain bodies only (no content coding):
    the bytes are the same either way, and their sha1 is checked.
    """
    fp = getattr(r.raw, "_fp", None)
    if (callable(getattr(fp, "readinto", None)) and callable(getattr(fp, "isclosed", None))
            and not r.headers.get("Content-Encoding")):
        return fp.readinto, True
    return r.raw.readinto, False


def _why(err: BaseException, dl: Deadline, where: str) -> str:
    if dl.fired:
        return (f"{where}: no complete response within its {dl.deadline - dl.start:.1f} s deadline "
                f"({type(err).__name__})")
    return f"{where}: {type(err).__name__}: {str(err)[:300]}"


def _check_status(status: int, ranged: bool, where: str) -> None:
    if status in _RETRY_STATUS or status >= 500:
        raise TransientError(f"{where}: HTTP {status}")
    if ranged and status == 200:
        raise PermanentError(f"{where}: HTTP 200 (the whole file) to a Range request; the mirror must honour "
                             "Range requests (response refused)")
    if status != (206 if ranged else 200):
        raise PermanentError(f"{where}: HTTP {status}")


def _check_length(r, want: int | None, where: str) -> int | None:
    """The response's ``Content-Length`` if it is one well-formed value agreeing with ``want``, else an error."""
    values = r.raw.headers.getlist("Content-Length")
    if not values:
        return None
    if len(values) > 1 or "," in values[0]:
        raise PermanentError(f"{where}: duplicated Content-Length {values}")
    if "chunked" in r.headers.get("Transfer-Encoding", "").lower():
        raise PermanentError(f"{where}: both Content-Length and Transfer-Encoding: chunked")
    text = values[0].strip()
    if not re.fullmatch(r"[0-9]{1,19}", text):
        raise PermanentError(f"{where}: malformed Content-Length {values[0]!r}")
    n = int(text)
    if want is not None and n != want:
        raise PermanentError(f"{where}: Content-Length {n} but {want} bytes were asked for")
    if n > MAX_UNSIZED:
        raise PermanentError(f"{where}: Content-Length {n} is more than the {MAX_UNSIZED} bytes fetched whole")
    return n


def _check_range(header: str | None, start: int, end: int, where: str) -> None:
    """A ``Content-Range``, when sent, must name exactly the range asked for (the body's sha1 is checked anyway)."""
    if header is None:
        return
    m = _CONTENT_RANGE.fullmatch(header)
    if not m or (int(m[1]), int(m[2])) != (start, end - 1) or (m[3] != "*" and int(m[3]) < end):
        raise PermanentError(f"{where}: Content-Range {header!r} is not the range asked for")
