"""Parse and format kachery content URIs (pure functions, no I/O).

Forms accepted (see ``reference/kachery.md`` §1):

* ``sha1://<40 hex>[/<label>][?manifest=<40 hex>]``
* ``sha1://<40 hex>?chunkOf=<40 hex>~<start>~<end>``
* ``sha1dir://<40 hex>[.<dirlabel>]/<path/inside/dir>``
"""

from __future__ import annotations

import re
import reprlib
from dataclasses import dataclass
from urllib.parse import parse_qs, quote

from ..errors import InvalidObject, InvalidURI, NPXError

_HEX40 = re.compile(r"[0-9a-f]{40}")
_MAX_CHUNK = 2**31  # as manifest.MAX_CHUNK: a chunk is held whole in memory
_OFFSET = re.compile(r"[0-9]{1,18}")  # ASCII digits only (str.isdigit accepts "²"), below 2**63

__all__ = ["ContentURI", "parse_uri", "format_uri", "check_sha1"]


@dataclass(frozen=True)
class ContentURI:
    """A parsed ``sha1://`` or ``sha1dir://`` URI.

    Attributes
    ----------
    scheme : str
        ``"sha1"`` or ``"sha1dir"``.
    sha1 : str
        The 40-hex hash: of the file (``sha1``) or of the directory object (``sha1dir``).
    label : str
        Cosmetic file name for ``sha1``; the path inside the directory for ``sha1dir``.
    manifest : str or None
        sha1 of the JSON manifest listing the file's chunks.
    chunk_of : tuple or None
        ``(parent_sha1, start, end)`` when the URI names one chunk of a parent file.
    dirlabel : str
        The label after the dot of a ``sha1dir`` hash (cosmetic).
    """

    scheme: str
    sha1: str
    label: str = ""
    manifest: str | None = None
    chunk_of: tuple[str, int, int] | None = None
    dirlabel: str = ""

    def __str__(self) -> str:
        return format_uri(self)


def check_sha1(value: str, what: str = "sha1", error: type[NPXError] = InvalidObject) -> str:
    """Return ``value`` if it is 40 lowercase hex digits, else raise ``error`` (a ``ValueError``) saying why.

    Every hash that comes from data (URIs, manifests, directory and recording objects) passes here before it
    becomes a path, a lock name or a URL.
    """
    if not isinstance(value, str):
        raise error(f"{what} must be a string of 40 hex digits, got {type(value).__name__} {reprlib.repr(value)}")
    if len(value) != 40:
        raise error(f"{what} {_show(value)} has {len(value)} characters; a sha1 has exactly 40 hex digits")
    if not _HEX40.fullmatch(value):
        raise error(f"{what} {_show(value)} is not lowercase hexadecimal (0-9, a-f)")
    return value


def _show(value: str) -> str:
    """``repr(value)``, shortened to 100 characters (hashes come from data of any size)."""
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


def _check_path(path: str, uri: str) -> str:
    parts = path.split("/")
    if any(p == ".." for p in parts):
        raise InvalidURI(f"invalid URI {uri!r}: '..' is not allowed in a path")
    if "\x00" in path or "\\" in path:
        raise InvalidURI(f"invalid URI {uri!r}: path contains a NUL or backslash")
    return path


def _query(query: str, uri: str) -> dict[str, list[str]]:
    if not query:
        return {}
    try:
        params = parse_qs(query, keep_blank_values=True, strict_parsing=True)
    except ValueError as err:
        raise InvalidURI(f"invalid URI {uri!r}: malformed query {query!r}") from err
    unknown = set(params) - {"manifest", "chunkOf", "label", "location"}
    if unknown:
        raise InvalidURI(f"invalid URI {uri!r}: unknown query key(s) {sorted(unknown)}")
    return params


def _chunk_of(value: str, uri: str) -> tuple[str, int, int]:
    bits = value.split("~")
    if len(bits) != 3 or not all(_OFFSET.fullmatch(b) for b in bits[1:]):
        raise InvalidURI(f"invalid URI {uri!r}: chunkOf must be '<40 hex>~<start>~<end>' with offsets below 2**63")
    parent = check_sha1(bits[0], f"chunkOf parent in URI {uri!r}", InvalidURI)
    start, end = int(bits[1]), int(bits[2])
    if end <= start:
        raise InvalidURI(f"invalid URI {uri!r}: chunkOf end {end} must be greater than start {start}")
    if end - start > _MAX_CHUNK:
        raise InvalidURI(f"invalid URI {uri!r}: a chunk of {end - start} bytes is more than the {_MAX_CHUNK} allowed")
    return parent, start, end


def parse_uri(uri: str) -> ContentURI:
    """Parse a kachery content URI.

    Parameters
    ----------
    uri : str
        ``sha1://…`` or ``sha1dir://…``.

    Returns
    -------
    ContentURI

    Raises
    ------
    InvalidURI
        Quoting the input and naming what is wrong (scheme, hash length, non-hex, ``..``, query).
    """
    if isinstance(uri, ContentURI):
        return uri
    if not isinstance(uri, str):
        raise InvalidURI(f"a content URI must be a string, got {type(uri).__name__} {uri!r}")
    scheme, sep, rest = uri.partition("://")
    if not sep:
        raise InvalidURI(f"invalid URI {uri!r}: expected 'sha1://<40 hex>…' or 'sha1dir://<40 hex>…'")
    if scheme not in ("sha1", "sha1dir"):
        raise InvalidURI(f"invalid URI {uri!r}: unknown scheme {scheme + '://'!r}; expected 'sha1://' or 'sha1dir://'")
    left, _, query = rest.partition("?")
    head, _, path = left.partition("/")
    params = _query(query, uri)
    dirlabel = ""
    if scheme == "sha1dir":
        head, _, dirlabel = head.partition(".")
        if not path:
            raise InvalidURI(f"invalid URI {uri!r}: a sha1dir URI needs a path after the hash")
        if params:
            raise InvalidURI(f"invalid URI {uri!r}: sha1dir URIs take no query")
    check_sha1(head, f"hash in URI {uri!r}", InvalidURI)
    _check_path(path, uri)
    manifest = check_sha1(params["manifest"][-1], f"manifest in URI {uri!r}", InvalidURI) if "manifest" in params else None
    chunk_of = _chunk_of(params["chunkOf"][-1], uri) if "chunkOf" in params else None
    label = path or (params.get("label", [""])[-1])
    return ContentURI(scheme, head, label, manifest, chunk_of, dirlabel)


def format_uri(
    obj: ContentURI | str | None = None,
    *,
    sha1: str | None = None,
    label: str = "",
    manifest: str | None = None,
    chunk_of: tuple[str, int, int] | None = None,
) -> str:
    """Format a ``sha1://`` URI from a :class:`ContentURI` or from keyword parts.

    ``format_uri(parse_uri(u)) == u`` for every canonical URI ``u``.
    """
    if isinstance(obj, str):
        obj = parse_uri(obj)
    if obj is None:
        obj = ContentURI("sha1", check_sha1(sha1), label, manifest and check_sha1(manifest, "manifest"), chunk_of)
    if obj.scheme == "sha1dir":
        head = obj.sha1 + (f".{obj.dirlabel}" if obj.dirlabel else "")
        return f"sha1dir://{head}/{obj.label}"
    out = f"sha1://{obj.sha1}"
    if obj.label:
        out += "/" + quote(obj.label, safe="/._-~+@:,")
    query = []
    if obj.manifest:
        query.append(f"manifest={obj.manifest}")
    if obj.chunk_of:
        parent, start, end = obj.chunk_of
        query.append(f"chunkOf={parent}~{start}~{end}")
    if query:
        out += "?" + "&".join(query)
    return out
