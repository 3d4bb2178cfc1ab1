"""Original sources of a file: where a byte-identical copy is believed to live (a catalog entry's
``metadata.sources``), and their ranged reading with a host's refusal told in one line.

A source is ``{url, offset (default 0), size, note, verified}``: the catalog's file is bytes
``[offset, offset + size)`` of the object at ``url``. figshare is reached by file id through its API download
URL, which redirects (302) to a presigned bucket URL living 10 seconds: the redirect is followed afresh on every
request and never stored. Hosts that refuse (a 202 bot check with an empty body, 403, 404) raise
:class:`Refused`, whose message names the host and what to try instead.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from ..errors import InvalidObject
from .mirror import Body, PermanentError
from .remote_http import URLReader

__all__ = ["Origin", "OriginReader", "Refused", "parse_sources", "figshare_download_url"]

#: slowest rate (bytes per second) a ranged read from an original source is given before it is cut off
MIN_RATE = 64_000
_FIGSHARE_ID = re.compile(r"/(?:ndownloader/)?files/(\d+)|/v2/file/download/(\d+)")


def figshare_download_url(file_id: int | str) -> str:
    """figshare's API download URL of a file id (the endpoint that redirects to the bucket without a bot check)."""
    return f"https://api.figshare.com/v2/file/download/{int(file_id)}"


class Refused(PermanentError):
    """A host refused a download (bot check, forbidden, not found); the message is one line saying what to try."""


@dataclass(frozen=True)
class Origin:
    """One original source: bytes ``[offset, offset + size)`` of ``url`` are the file.

    Attributes
    ----------
    url : str
    offset : int
    size : int or None
        The file's size when the source states it (``None``: take the catalog's).
    note : str
    verified : bool
        False when nobody has yet checked that these bytes hash to the catalog's sha1.
    """

    url: str
    offset: int = 0
    size: int | None = None
    note: str = ""
    verified: bool = True

    @classmethod
    def parse(cls, value, where: str = "source") -> "Origin":
        """An :class:`Origin` from a ``metadata.sources`` mapping or a plain URL string.

        Raises
        ------
        InvalidObject
            Naming ``where`` and the bad field.
        """
        if isinstance(value, str):
            value = {"url": value}
        if not isinstance(value, dict) or not isinstance(value.get("url"), str):
            raise InvalidObject(f"{where}: a source is a mapping with a 'url' string, got {value!r}")
        if not re.match(r"https?://[^/\s]+", value["url"]):
            raise InvalidObject(f"{where}: url {value['url']!r} is not an http(s):// URL")
        offset, size = value.get("offset", 0), value.get("size")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise InvalidObject(f"{where}: offset must be a whole number >= 0, got {offset!r}")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size <= 0):
            raise InvalidObject(f"{where}: size must be a whole number > 0, got {size!r}")
        return cls(value["url"], offset, size, str(value.get("note") or ""), bool(value.get("verified", True)))

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.url).hostname or self.url

    def describe(self) -> str:
        """``url`` with its byte range and whether it is verified, for messages."""
        rng = f" bytes {self.offset}-{self.offset + self.size - 1}" if self.size and self.offset else ""
        return f"{self.url}{rng}" + ("" if self.verified else " (not yet verified)")


def parse_sources(values, where: str = "metadata.sources") -> list[Origin]:
    """Every source of a ``metadata.sources`` list (``None``: no sources)."""
    if values is None:
        return []
    if not isinstance(values, (list, tuple)):
        raise InvalidObject(f"{where} must be a list of mappings, got {type(values).__name__}")
    return [Origin.parse(v, f"{where}[{i}]") for i, v in enumerate(values)]


def _advice(url: str, status: int) -> str:
    m = _FIGSHARE_ID.search(urllib.parse.urlsplit(url).path)
    if "figshare" in (urllib.parse.urlsplit(url).hostname or "") and m:
        api = figshare_download_url(m.group(1) or m.group(2))
        if url != api:
            return f"try figshare's API download URL {api}, or"
    if status == 404:
        return "the file may have moved: check the record's page, or"
    return "try again later or another source (`npx2020 info ID` lists them), or"


class OriginReader(URLReader):
    """Ranged reads of original sources: redirects followed afresh each time; refusals raised as :class:`Refused`.

    Parameters
    ----------
    timeout : float
        Seconds to connect and between bytes; a read of ``n`` bytes may take ``timeout + n / MIN_RATE`` s.
    """

    def budget(self, nbytes: int | None) -> float:
        return self.timeout + (nbytes or 0) / MIN_RATE

    def _request(self, url: str, headers: dict, dl, where: str):
        r = super(URLReader, self)._request(url, headers, dl, where)
        status = r.status_code
        if status in (202, 401, 403, 404, 410):
            final = urllib.parse.urlsplit(r.url).hostname
            host = urllib.parse.urlsplit(url).hostname
            via = f" (redirected to {final})" if final and final != host else ""
            waf = r.headers.get("x-amzn-waf-action")
            r.close()
            why = {202: f"HTTP 202 with no file: a bot check{f' (x-amzn-waf-action: {waf})' if waf else ''}",
                   401: "HTTP 401: it wants a login", 403: "HTTP 403: access forbidden",
                   404: "HTTP 404: no such file", 410: "HTTP 410: the file is gone"}[status]
            raise Refused(f"{host}{via} refused the download of {url.split('?')[0]} ({why}); {_advice(url, status)} "
                          "download the file yourself and run `npx2020 add FILE`")
        return r

    def read_range(self, origin: Origin, start: int, end: int) -> Body:
        """Bytes ``[start, end)`` of the file (``origin.offset`` added); a 404 is a :class:`Refused`."""
        body = self.get(origin.url, origin.offset + start, origin.offset + end, end - start)
        if body is None:  # unreachable: 404 is refused in _request
            raise Refused(f"{origin.host} has no file at {origin.url}")
        return body
