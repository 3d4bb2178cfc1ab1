"""Parse and format kachery content URIs (pure functions, no I/O).

Forms accepted (see ``reference/kachery.md`` §1):

* ``sha1://<40 hex>[/<label>][?manifest=<40 hex>]``
* ``sha1://<40 hex>?chunkOf=<40 hex>~<start>~<end>``
* ``sha1dir://<40 hex>[.<dirlabel>]/<path/inside/dir>``
* kachery-cloud's ``sha1://<40 hex>?label=<quoted>[&location=/abs/path]`` (``location`` is taken verbatim, as
  kachery-cloud writes it unquoted)
* kachery 2's ``kachery:<zone>:sha1:<40 hex>[:<quoted label>]`` (an empty zone, ``kachery::sha1:…``, means
  ``$KACHERY_ZONE`` or ``default`` when looked up)
"""

from __future__ import annotations

import re
import reprlib
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote

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
    zone : str or None
        The kachery 2 zone of a ``kachery:<zone>:sha1:…`` URI (``""`` for an empty zone); ``None`` otherwise.
    location : str or None
        kachery-cloud's ``location=``: an absolute path said to hold the file (used only after its sha1 is checked).
    """

    scheme: str
    sha1: str
    label: str = ""
    manifest: str | None = None
    chunk_of: tuple[str, int, int] | None = None
    dirlabel: str = ""
    zone: str | None = None
    location: str | None = None

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


def _split_location(query: str, uri: str) -> tuple[str, str | None]:
    """Take ``location=`` out of a query verbatim (kachery-cloud writes the path unquoted), up to the next key."""
    m = re.search(r"(?:^|&)location=", query)
    if not m:
        return query, None
    rest = query[m.end():]
    if re.search(r"&location=", rest):
        raise InvalidURI(f"invalid URI {uri!r}: location= is given twice")
    nxt = re.search(r"&(?:manifest|chunkOf|label)=", rest)
    location = rest[:nxt.start()] if nxt else rest
    if not location.startswith("/"):
        raise InvalidURI(f"invalid URI {uri!r}: location must be an absolute path, got {location!r}")
    return (query[:m.start()] + (rest[nxt.start():] if nxt else "")).lstrip("&"), location


def _parse_kachery(uri: str) -> ContentURI:
    """``kachery:<zone>:sha1:<40 hex>[:<label>]`` (kachery 2; the label is URL-quoted, so it has no ``:``)."""
    parts = uri.split(":")
    if len(parts) < 4 or parts[2] != "sha1":
        raise InvalidURI(f"invalid URI {uri!r}: expected 'kachery:<zone>:sha1:<40 hex>[:<label>]'")
    if not re.fullmatch(r"[A-Za-z0-9._-]*", parts[1]):
        raise InvalidURI(f"invalid URI {uri!r}: zone {parts[1]!r} may hold only letters, digits, '.', '_' and '-'")
    sha1 = check_sha1(parts[3], f"hash in URI {uri!r}", InvalidURI)
    label = _check_path(unquote(":".join(parts[4:])), uri)
    return ContentURI("sha1", sha1, label, zone=parts[1])


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
        ``sha1://…``, ``sha1dir://…`` or ``kachery:<zone>:sha1:…``.

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
    if uri.startswith("kachery:"):
        return _parse_kachery(uri)
    scheme, sep, rest = uri.partition("://")
    if not sep:
        raise InvalidURI(f"invalid URI {uri!r}: expected 'sha1://<40 hex>…' or 'sha1dir://<40 hex>…'")
    if scheme not in ("sha1", "sha1dir"):
        raise InvalidURI(f"invalid URI {uri!r}: unknown scheme {scheme + '://'!r}; expected 'sha1://' or 'sha1dir://'")
    left, _, query = rest.partition("?")
    head, _, path = left.partition("/")
    query, location = _split_location(query, uri)
    params = _query(query, uri)
    dirlabel = ""
    if scheme == "sha1dir":
        head, _, dirlabel = head.partition(".")
        if not path:
            raise InvalidURI(f"invalid URI {uri!r}: a sha1dir URI needs a path after the hash")
        if params or location:
            raise InvalidURI(f"invalid URI {uri!r}: sha1dir URIs take no query")
    check_sha1(head, f"hash in URI {uri!r}", InvalidURI)
    _check_path(path, uri)
    manifest = check_sha1(params["manifest"][-1], f"manifest in URI {uri!r}", InvalidURI) if "manifest" in params else None
    chunk_of = _chunk_of(params["chunkOf"][-1], uri) if "chunkOf" in params else None
    label = path or (params.get("label", [""])[-1])
    return ContentURI(scheme, head, label, manifest, chunk_of, dirlabel, location=location)


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
    if obj.zone is not None and not (obj.manifest or obj.chunk_of or obj.location):
        return f"kachery:{obj.zone}:sha1:{obj.sha1}" + (f":{quote(obj.label)}" if obj.label else "")
    out = f"sha1://{obj.sha1}"
    if obj.label:
        out += "/" + quote(obj.label, safe="/._-~+@:,")
    query = []
    if obj.manifest:
        query.append(f"manifest={obj.manifest}")
    if obj.chunk_of:
        parent, start, end = obj.chunk_of
        query.append(f"chunkOf={parent}~{start}~{end}")
    if obj.location:
        query.append(f"location={obj.location}")
    if query:
        out += "?" + "&".join(query)
    return out
