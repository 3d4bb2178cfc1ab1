"""An fsspec filesystem for ``sha1://`` and ``sha1dir://`` (read-only), registered via ``fsspec.specs``.

>>> import fsspec
>>> fsspec.open("sha1://<h>/raw.bin?manifest=<m>").open().read(16)      # doctest: +SKIP

Paths may also be kachery 2 URIs (``kachery:<zone>:sha1:<h>[:<label>]``) and kachery-cloud references
(``sha1://<h>?label=…&location=/abs/path``), e.g. ``Sha1FileSystem().cat_file("kachery::sha1:<h>:raw.bin")``
(``fsspec.open`` itself routes only ``scheme://`` paths).

Storage options are those of :class:`~intake_npx2020.config.StoreConfig` (``store``, ``mirrors``, …);
instances pickle by those options, so every dask worker opens the stores and mirrors itself.

fsspec conventions: a ``sha1://`` URI is a literal name, never a glob (its ``?manifest=`` is a query, not a
wildcard), so ``glob``, ``expand_path``, ``get`` and ``open_files`` take it as itself. A ``sha1dir://<h>[.label]``
names a kachery directory object: it and its sub-directories list (``ls``, ``isdir``, ``find``, ``walk``,
recursive ``get``, ``get_mapper`` — e.g. a zarr published as a directory), and glob patterns work inside it.
``checksum`` and ``ukey`` depend on content only.
"""

from __future__ import annotations

import hashlib
import json
import os

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from .errors import ContentNotFound, InvalidObject, InvalidURI
from .store.engine import get_store
from .store.uri import check_sha1, format_uri, parse_uri

__all__ = ["Sha1FileSystem"]


class Sha1FileSystem(AbstractFileSystem):
    """Read-only filesystem over content addresses; paths are full URIs."""

    protocol = ("sha1", "sha1dir")
    root_marker = ""

    def __init__(self, **storage_options):
        super().__init__(**storage_options)
        get_store(storage_options or None)   # bad options fail here, not at the first read

    @property
    def store(self):
        """The store of these options: looked up on use, so a cached instance follows ``forget_stores()``."""
        return get_store(self.storage_options or None)

    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = str(path)
        if "://" not in path and not path.startswith("kachery:"):  # fsspec may hand back a path without scheme
            path = "sha1://" + path
        if path.startswith("sha1dir://"):   # a path in a directory, which may be a glob pattern: no query
            head, _, sub = path[len("sha1dir://"):].partition("/")
            check_sha1(head.partition(".")[0], f"hash in URI {path!r}", InvalidURI)
            parts = [p for p in sub.split("/") if p]       # trailing and doubled slashes
            if ".." in parts or "\x00" in sub or "\\" in sub:
                raise InvalidURI(f"invalid URI {path!r}: '..', NUL and backslash are not allowed in a path")
            return f"sha1dir://{head}" + "".join("/" + p for p in parts)
        return format_uri(parse_uri(path))

    def unstrip_protocol(self, name: str) -> str:
        return name

    def _parent(self, path):
        path = self._strip_protocol(path)
        if not path.startswith("sha1dir://") or "/" not in path[len("sha1dir://"):]:
            return ""
        return path.rsplit("/", 1)[0]

    def _node(self, path: str) -> tuple[str, dict]:
        """``("directory" | "file", node)`` of a ``sha1dir://`` path in its (verified) directory object."""
        head, _, sub = path[len("sha1dir://"):].partition("/")
        h = head.partition(".")[0]
        try:
            node = json.loads(self.store.load_bytes(h, path))
        except (ValueError, RecursionError) as err:
            raise InvalidObject(f"{path}: directory object {h} is not valid JSON: {str(err)[:200]}") from None
        parts = sub.split("/") if sub else []
        for i, part in enumerate(parts):
            if not isinstance(node, dict) or not all(isinstance(node.get(k, {}), dict) for k in ("files", "dirs")):
                raise InvalidObject(f"{path}: directory object {h} at {'/'.join(parts[:i]) or '/'} is malformed")
            if i == len(parts) - 1 and part in node.get("files", {}):
                return "file", node["files"][part]
            if part not in node.get("dirs", {}):
                raise ContentNotFound(f"{path}: no file or directory {part!r} in directory object {h}")
            node = node["dirs"][part]
        if not isinstance(node, dict):
            raise InvalidObject(f"{path}: directory object {h} at {sub or '/'} is not an object")
        return "directory", node

    def info(self, path, **kwargs):
        path = self._strip_protocol(path)
        if path.startswith("sha1dir://"):
            kind, node = self._node(path)
            if kind == "directory":
                return {"name": path, "size": 0, "type": "directory"}
        return {"name": path, "size": self.store.size(path), "type": "file"}

    def ls(self, path, detail=True, **kwargs):
        path = self._strip_protocol(path)
        kind, node = self._node(path) if path.startswith("sha1dir://") else ("file", None)
        if kind == "file":
            info = self.info(path)
            return [info] if detail else [info["name"]]
        dirs, files = node.get("dirs", {}), node.get("files", {})
        if not isinstance(dirs, dict) or not isinstance(files, dict):
            raise InvalidObject(f"{path}: directory object lists are not objects")
        for name in (*dirs, *files):   # names come from data: one path component each, never '..'
            if name in ("", ".", "..") or any(c in name for c in "/\\\x00"):
                raise InvalidObject(f"{path}: directory object holds an invalid name {name[:100]!r}")
        out = [{"name": f"{path}/{name}", "size": 0, "type": "directory"} for name in sorted(dirs)]
        out += [{"name": f"{path}/{name}", "size": _listed_size(entry), "type": "file"}
                for name, entry in sorted(files.items())]
        return out if detail else [o["name"] for o in out]

    @staticmethod
    def _literal(path) -> bool:
        """A ``sha1://`` or ``kachery:`` URI is a name, never a pattern (``sha1dir://`` paths may be patterns)."""
        return isinstance(path, (str, os.PathLike)) and not os.fspath(path).startswith("sha1dir://")

    def glob(self, path, maxdepth=None, **kwargs):
        """Glob-matching in ``sha1dir://`` directories; a ``sha1://`` URI matches itself.

        Whether a URI's bytes can be found is not asked (that could mean a download): reading it answers, with
        ``ContentNotFound`` naming where it looked.
        """
        if not self._literal(path):
            return super().glob(path, maxdepth=maxdepth, **kwargs)
        path = self._strip_protocol(path)
        return {path: {"name": path, "type": "file"}} if kwargs.get("detail") else [path]

    def expand_path(self, path, recursive=False, maxdepth=None, **kwargs):
        """As fsspec's, with ``sha1://`` URIs taken literally (their ``?`` starts a query, not a wildcard)."""
        paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
        out = {self._strip_protocol(os.fspath(p)) for p in paths if self._literal(p)}
        rest = [p for p in paths if not self._literal(p)]
        if rest:
            out |= set(super().expand_path(rest, recursive=recursive, maxdepth=maxdepth, **kwargs))
        return sorted(out)

    def get(self, rpath, lpath, recursive=False, callback=None, maxdepth=None, **kwargs):
        """Copy to local files; ``sha1://`` sources are literal names (fsspec's own ``get`` reads ``?`` as a glob).

        A file source into an existing directory (or a path ending in ``/``) lands as its label's last part
        (else its sha1); ``sha1dir://`` sources and patterns follow fsspec's rules.
        """
        sources = [rpath] if isinstance(rpath, str) else list(rpath)
        if any(str(p).startswith("sha1dir://") for p in sources) or not isinstance(lpath, (str, os.PathLike)):
            return super().get(rpath, lpath, recursive=recursive, maxdepth=maxdepth, **kwargs)
        lpath = os.fspath(lpath)
        into_dir = len(sources) > 1 or lpath.endswith(os.sep) or os.path.isdir(lpath)
        for src in map(self._strip_protocol, sources):
            u = parse_uri(src)
            dest = os.path.join(lpath, u.label.rsplit("/", 1)[-1] or u.sha1) if into_dir else lpath
            os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
            self.get_file(src, dest, **kwargs)

    def ukey(self, path):
        """The content's sha1: a file's own; a directory's is that of its listing as canonical JSON."""
        path = self._strip_protocol(path)
        if path.startswith("sha1dir://"):
            kind, node = self._node(path)
            if kind == "directory":
                return hashlib.sha1(json.dumps(node, sort_keys=True).encode()).hexdigest()
        return self.store.resolve(path).sha1

    def checksum(self, path):
        """Equal for equal content, whatever the URI's label, manifest or directory (like :meth:`ukey`)."""
        return int(self.ukey(path), 16)

    def cat_file(self, path, start=None, end=None, **kwargs):
        path = self._strip_protocol(path)
        self._not_a_directory(path)
        size = self.store.size(path)
        start = 0 if start is None else (start + size if start < 0 else start)
        end = size if end is None else (end + size if end < 0 else end)
        start, end = max(0, min(start, size)), max(0, min(end, size))
        return bytes(self.store.read(path, start, max(start, end)))

    def _not_a_directory(self, path: str) -> None:
        if path.startswith("sha1dir://") and self._node(path)[0] == "directory":
            raise IsADirectoryError(f"{path} is a directory")

    def _open(self, path, mode="rb", block_size="default", autocommit=True, cache_options=None, **kwargs):
        if mode != "rb":
            raise PermissionError(f"{path}: sha1:// content is immutable and read-only (mode {mode!r})")
        self._not_a_directory(self._strip_protocol(path))
        return Sha1File(self, self._strip_protocol(path), mode, block_size, cache_options=cache_options, **kwargs)


def _listed_size(entry) -> int | None:
    """The size a directory object lists for a file (``None`` if it lists none that makes sense)."""
    size = entry.get("size") if isinstance(entry, dict) else None
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None


class Sha1File(AbstractBufferedFile):
    def _fetch_range(self, start, end):
        return bytes(self.fs.store.read(self.path, start, end))
