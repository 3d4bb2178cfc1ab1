"""HTTP for remote sources that hand out URLs (kachery lookups, figshare, buckets): ranged reads of any URL with
the mirror's checks and deadline, and how long a presigned URL may be reused.

Reads go through :class:`URLReader`, the mirror's reader pointed at a URL: a deadline on the whole request,
strict ``Content-Length``/``Content-Range`` checks, bodies hashed as they arrive. Errors are the mirror
module's :class:`~.mirror.TransientError` (worth retrying) and :class:`~.mirror.PermanentError`; an expired or
refused presigned URL (400/403) is :class:`URLExpired`, a 404 is ``None``.
"""

from __future__ import annotations

import time
import urllib.parse
from datetime import datetime, timezone

from .mirror import Body, Mirror, PermanentError

__all__ = ["URLExpired", "URLReader", "url_expiry", "reuse_until", "DEFAULT_REUSE"]

#: reuse of a URL whose expiry cannot be read: well under the 30 min a kachery gateway URL has left at least
DEFAULT_REUSE = 600.0


class URLExpired(PermanentError):
    """A presigned URL was refused (403 ``Request has expired``, or 400 from GCS): ask for a fresh one."""


def url_expiry(url: str) -> float | None:
    """Epoch seconds at which a presigned URL stops working, or ``None`` if the URL does not say.

    Reads SigV4 (``X-Amz-Date`` + ``X-Amz-Expires``: S3, R2, Wasabi, GCS interop), GCS V4 (``X-Goog-Date`` +
    ``X-Goog-Expires``) and SigV2 (``Expires=<epoch>``).
    """
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    for date_key, life_key in (("X-Amz-Date", "X-Amz-Expires"), ("X-Goog-Date", "X-Goog-Expires")):
        if date_key in q and life_key in q:
            try:
                t0 = datetime.strptime(q[date_key], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
                return t0.timestamp() + int(q[life_key])
            except ValueError:
                return None
    if q.get("Expires", "").isdigit():
        return float(q["Expires"])
    return None


def reuse_until(url: str, now: float | None = None) -> float:
    """Until when (epoch seconds) ``url`` may be handed out again: a margin before its expiry, and never longer
    than :data:`DEFAULT_REUSE` when the URL does not state its expiry."""
    now = time.time() if now is None else now
    expiry = url_expiry(url)
    if expiry is None:
        return now + DEFAULT_REUSE
    left = expiry - now
    return now + max(0.0, left - min(300.0, left / 2))


class URLReader(Mirror):
    """The mirror's strict, deadline-bound reading (:meth:`Mirror.get`) of any URL, with a refused presigned URL
    (400/403) raised as :class:`URLExpired`. Thread-safe: the URL is the ``sha1`` argument of ``get``."""

    def __init__(self, timeout: float = 10.0, pool: int = 8):
        super().__init__("url", timeout, pool)

    def url(self, target: str) -> str:
        return target

    def _request(self, url: str, headers: dict, dl, where: str):
        r = super()._request(url, headers, dl, where)
        if r.status_code in (400, 403):
            try:
                text = " ".join(r.raw.read(2048).decode("utf-8", "replace").split())
            except Exception:  # noqa: BLE001 - the body only decorates the message
                text = ""
            r.close()
            raise URLExpired(f"{where.split('?')[0]}: HTTP {r.status_code} {text[:200]}".strip())
        return r

    def read(self, url: str, start: int | None = None, end: int | None = None,
             size: int | None = None) -> Body | None:
        """Bytes ``[start, end)`` of ``url`` (whole if ``None``; ``size`` when known from a verified source);
        ``None`` on 404. Raises ``URLExpired``, ``TransientError`` or ``PermanentError``."""
        return self.get(url, start, end, size)
