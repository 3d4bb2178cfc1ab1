"""``sha1dir`` directory objects: ``{"files": {name: {"size", "sha1"}}, "dirs": {name: {…}}}`` → a file's sha1.

The object comes from data (a mirror, a store): every level is checked to be what it should be, and the file's
hash is checked to be 40 lowercase hex before anything uses it as a path or a URL.
"""

from __future__ import annotations

import json

from ..errors import ContentNotFound, InvalidObject
from .uri import check_sha1

__all__ = ["file_sha1"]


def _member(node, key: str, part: str, what: str, uri: str) -> dict:
    if not isinstance(node, dict):
        raise InvalidObject(f"{uri}: {what} is a {type(node).__name__}, not a directory object")
    members = node.get(key, {})
    if not isinstance(members, dict):
        raise InvalidObject(f"{uri}: {what}: {key!r} is a {type(members).__name__}, not an object")
    if part not in members:
        raise ContentNotFound(f"{uri}: no {'directory' if key == 'dirs' else 'file'} {part!r} in {what}")
    entry = members[part]
    if not isinstance(entry, dict):
        raise InvalidObject(f"{uri}: {what}: {key}[{part!r}] is a {type(entry).__name__}, not an object")
    return entry


def file_sha1(data: bytes, dir_sha1: str, path: str, uri: str) -> str:
    """The sha1 of the file at ``path`` (``a/b/c.txt``) in the directory object ``data``.

    Parameters
    ----------
    data : bytes
        The directory object's verified bytes.
    dir_sha1 : str
        Its hash, for messages.
    path : str
        Path inside the directory.
    uri : str
        The ``sha1dir://`` URI, for messages.

    Raises
    ------
    ContentNotFound
        No such directory or file in the object.
    InvalidObject
        The object is not JSON, too deeply nested, of the wrong shape, or the file's hash is not 40 hex digits.
    """
    what = f"directory object {dir_sha1}"
    try:
        node = json.loads(data)
    except (ValueError, RecursionError) as err:
        raise InvalidObject(f"{uri}: {what} is not valid JSON: {str(err)[:200]}") from None
    parts = path.split("/")
    for i, part in enumerate(parts[:-1]):
        node = _member(node, "dirs", part, what + ("" if not i else f" at {'/'.join(parts[:i])}"), uri)
    entry = _member(node, "files", parts[-1], what, uri)
    return check_sha1(entry.get("sha1"), f"{uri}: {what}: sha1 of file {path!r}")
