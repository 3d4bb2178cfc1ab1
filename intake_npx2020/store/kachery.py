"""The live kachery services as a remote source: ask where a sha1 lives, then read that URL by ranges.

Two lookup services, asked in this order (wire format: the real clients kachery-cloud 0.4.10 and kachery
2.0.3, and the servers magland/kachery-gateway and magland/kachery):

* the kachery-cloud gateway: ``POST {KACHERY_GATEWAY_URL}/api/gateway`` with a ``findFile`` payload (``hashAlg``,
  ``hash``, ``zone``, ``timestamp`` in ms), signed only when the user has kachery-cloud keys and
  ``cryptography`` is installed (unsigned requests omit ``fromClientId``/``signature``);
* kachery 2: ``POST {KACHERY_BASE_URL}/api/findFile`` with ``{type: findFileRequest, hashAlg, hash, zoneName}``
  and ``Authorization: Bearer $KACHERY_API_KEY`` when that is set.

Both answer ``{found, size, url}``; ``url`` is a presigned bucket URL that honours ``Range`` and expires. It is
reused until shortly before its expiry (:func:`~.remote_http.reuse_until`) and asked for again on a 403. A
miss is remembered for :data:`MISS_TTL` seconds, an unreachable service for as long, so a read of many chunks
asks once. The environment is read on every lookup, as the kachery clients do.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from typing import NamedTuple

from ..errors import FetchError
from .deadline import Deadline, session
from .kachery_keys import load_client_keys, sign_payload
from .mirror import Body, PermanentError, TransientError
from .remote_http import URLExpired, URLReader, reuse_until

__all__ = ["Found", "KacheryRemote", "find_gateway", "find_kachery2", "GATEWAY_URL", "KACHERY2_URL", "MISS_TTL"]

GATEWAY_URL = "https://kachery-gateway.figurl.org"  # kachery_cloud/_get_kachery_gateway_url.py
KACHERY2_URL = "https://kachery.vercel.app"  # kachery/client/_api_requests.py
#: seconds a miss, or an unreachable service, is remembered
MISS_TTL = 60.0


class Found(NamedTuple):
    """Where a lookup service says a blob is: a presigned URL, the blob's size, and until when to reuse the URL."""

    url: str
    size: int
    service: str
    reuse_until: float


def _zone(zone: str | None) -> str:
    return zone or os.environ.get("KACHERY_ZONE") or "default"


def _post(url: str, body: dict, headers: dict, timeout: float, name: str):
    """POST a JSON lookup under a deadline of ``2 * timeout`` for the whole request; the parsed JSON answer."""
    import requests

    try:
        with Deadline(2 * timeout):
            r = session(4).post(url, json=body, headers=headers, timeout=(timeout, timeout), allow_redirects=False)
            text = r.text
    except requests.RequestException as err:
        raise TransientError(f"{name} {url} unreachable ({_why(err)})") from err
    if r.status_code in (429, 502, 503, 504):
        raise TransientError(f"{name} {url}: HTTP {r.status_code}")
    if r.status_code != 200:
        text = " ".join(text[:300].split())
        hint = " (this machine's clock may be off: the gateway allows 125 s)" if "Invalid timestamp" in text else ""
        raise FetchError(f"{name} {url} refused the lookup: HTTP {r.status_code}: {text}{hint}")
    try:
        return r.json()
    except ValueError:
        raise FetchError(f"{name} {url} answered with something that is not JSON: {text[:100]!r}") from None


def _why(err: Exception) -> str:
    """A few words on why a service could not be reached (the full exception text is a paragraph)."""
    text = str(err)
    for needle, words in (("resolve", "cannot resolve its host name"), ("refused", "connection refused"),
                          ("timed out", "timed out"), ("deadline", "no answer in time"), ("SSL", "TLS error")):
        if needle in text:
            return words
    return type(err).__name__


def _found(resp, name: str, url: str) -> Found | None:
    if not isinstance(resp, dict) or not isinstance(resp.get("found"), bool):
        raise FetchError(f"{name} {url}: malformed findFile answer {str(resp)[:200]!r}")
    if not resp["found"]:
        return None
    link, size = resp.get("url"), resp.get("size")
    if not isinstance(link, str) or not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise FetchError(f"{name} {url}: findFile answer without a url and size: {str(resp)[:200]!r}")
    return Found(link, size, name, reuse_until(link))


def _signed(payload: dict) -> dict:
    req = {"payload": payload}
    try:
        keys = load_client_keys()
        signature = sign_payload(payload, keys) if keys else None
    except ValueError as err:
        warnings.warn(f"kachery-cloud keys not used ({err}); the lookup is sent unsigned", stacklevel=3)
        return req
    if signature:
        req["fromClientId"], req["signature"] = keys[0], signature
    return req


def find_gateway(sha1: str, zone: str | None = None, timeout: float = 10.0) -> Found | None:
    """Ask the kachery-cloud gateway for ``sha1`` (``None``: not found).

    Raises
    ------
    FetchError
        The gateway refused the request (the message has its answer).
    TransientError
        It could not be reached.
    """
    base = (os.environ.get("KACHERY_GATEWAY_URL") or GATEWAY_URL).rstrip("/")
    payload = {"type": "findFile", "hashAlg": "sha1", "hash": sha1, "zone": _zone(zone),
               "timestamp": int(time.time() * 1000)}
    url = f"{base}/api/gateway"
    return _found(_post(url, _signed(payload), {}, timeout, "kachery-cloud gateway"), "kachery-cloud gateway", url)


def find_kachery2(sha1: str, zone: str | None = None, timeout: float = 10.0) -> Found | None:
    """Ask kachery 2 for ``sha1`` in ``zone`` (default ``$KACHERY_ZONE`` or ``default``); ``None``: not found.

    Raises
    ------
    FetchError
        kachery 2 refused the request (unknown zone, token, …).
    TransientError
        It could not be reached.
    """
    base = (os.environ.get("KACHERY_BASE_URL") or KACHERY2_URL).rstrip("/")
    headers = {"Content-Type": "application/json"}
    if os.environ.get("KACHERY_API_KEY"):
        headers["Authorization"] = f"Bearer {os.environ['KACHERY_API_KEY']}"
    body = {"type": "findFileRequest", "hashAlg": "sha1", "hash": sha1, "zoneName": _zone(zone)}
    url = f"{base}/api/findFile"
    return _found(_post(url, body, headers, timeout, "kachery 2"), "kachery 2", url)


_SERVICES = (("kachery-cloud gateway", find_gateway), ("kachery 2", find_kachery2))


class KacheryRemote:
    """Both kachery services as one source with :class:`~.mirror.Mirror`'s ``get``/``size``/``url`` interface.

    Parameters
    ----------
    timeout : float
        Seconds per request to connect and between bytes (see :func:`~.remote_http.ranged_get`).
    """

    base = "kachery"
    #: the failover must not remember this source's misses for ever: it remembers them itself, briefly
    remembers_misses = True

    def __init__(self, timeout: float = 10.0):
        self.timeout = timeout
        self._reader = URLReader(timeout)
        self._found: dict[str, Found] = {}
        self._miss: dict[str, float] = {}
        self._down: dict[str, tuple[float, str]] = {}
        self._zones: dict[str, str] = {}
        self._asking: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "KacheryRemote()"

    def url(self, sha1: str) -> str:
        """How errors name this source's copy of ``sha1``."""
        found = self._found.get(sha1)
        return f"{found.service} URL of {sha1}" if found else f"kachery lookup of {sha1}"

    def note_zone(self, sha1: str, zone: str) -> None:
        """Look ``sha1`` up in ``zone`` (from a ``kachery:<zone>:sha1:…`` URI) rather than the default zone."""
        if zone:
            with self._lock:
                self._zones[sha1] = zone

    def describe(self) -> str:
        """One phrase for error messages: the services asked and what is known of them."""
        now = time.monotonic()
        parts = []
        for name, _ in _SERVICES:
            down = self._down.get(name)
            parts.append(f"{name} ({down[1]})" if down and down[0] > now else name)
        return "live kachery: " + ", ".join(parts)

    def forget(self, sha1: str) -> None:
        """Drop the cached URL and miss of ``sha1`` (after a 403, or to ask again at once)."""
        with self._lock:
            self._found.pop(sha1, None)
            self._miss.pop(sha1, None)

    def lookup(self, sha1: str) -> Found | None:
        """Where ``sha1`` is, from the cache or by asking the services in order; ``None`` if neither has it.

        Concurrent lookups of one sha1 (the chunks of a read) ask once: the others wait for that answer.
        """
        with self._lock:
            one = self._asking.setdefault(sha1, threading.Lock())
        with one:
            return self._lookup(sha1)

    def _lookup(self, sha1: str) -> Found | None:
        now = time.time()
        with self._lock:
            found = self._found.get(sha1)
            if found and found.reuse_until > now:
                return found
            if self._miss.get(sha1, 0) > time.monotonic():
                return None
            zone = self._zones.get(sha1)
        found, refusals = self._ask(sha1, zone)
        with self._lock:
            if found:
                self._found[sha1] = found
            else:
                self._miss[sha1] = time.monotonic() + MISS_TTL
        if found is None and refusals:
            raise PermanentError("; ".join(refusals))
        return found

    def _ask(self, sha1: str, zone: str | None) -> tuple[Found | None, list[str]]:
        refusals = []
        for name, find in _SERVICES:
            down = self._down.get(name)
            if down and down[0] > time.monotonic():
                continue
            try:
                found = find(sha1, zone, self.timeout)
            except TransientError as err:
                self._down[name] = (time.monotonic() + MISS_TTL, str(err).replace(f"{name} ", "", 1))
                continue
            except FetchError as err:
                refusals.append(str(err))
                continue
            if found:
                return found, []
        return None, refusals

    def size(self, sha1: str) -> int | None:
        """Size of ``sha1`` as a lookup service reports it, or ``None`` if no service has it."""
        found = self.lookup(sha1)
        return found.size if found else None

    def get(self, sha1: str, start: int | None = None, end: int | None = None,
            size: int | None = None) -> Body | None:
        """Bytes ``[start, end)`` of ``sha1`` (whole if ``None``) from the URL a service gives; ``None`` if none has it.

        ``size`` is the blob's size when known from a verified source (a manifest). An expired URL is asked for
        again once; a second refusal is a :class:`~.mirror.PermanentError`.
        """
        for attempt in range(2):
            found = self.lookup(sha1)
            if found is None:
                return None
            try:
                body = self._reader.read(found.url, start, end, size)
            except URLExpired:
                self.forget(sha1)
                if attempt:
                    raise
                continue
            if body is None:  # the service named an object its bucket does not have
                self.forget(sha1)
                raise PermanentError(f"{found.service} named a URL for {sha1} that answers 404")
            return body
        return None
