"""An fsspec filesystem for ``sha1://`` and ``sha1dir://`` (read-only), registered via ``fsspec.specs``.

>>> import fsspec
>>> fsspec.open("sha1://<h>/raw.bin?manifest=<m>").open().read(16)      # doctest: +SKIP

Paths may also be kachery 2 URIs (``kachery:<zone>:sha1:<h>[:<label>]``) and kachery-cloud references
(``sha1://<h>?label=…&location=/abs/path``), e.g. ``Sha1FileSystem().cat_file("kachery::sha1:<h>:raw.bin")``
(``fsspec.open`` itself routes only ``scheme://`` paths).

Storage options are those of :class:`~intake_npx2020.config.StoreConfig` (``store``, ``mirrors``, …);
instances pickle by those options, so every dask worker opens the stores and mirrors itself.
"""

from __future__ import annotations

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from .store.engine import get_store
from .store.uri import format_uri, parse_uri

__all__ = ["Sha1FileSystem"]


class Sha1FileSystem(AbstractFileSystem):
    """Read-only filesystem over content addresses; paths are full URIs."""

    protocol = ("sha1", "sha1dir")
    root_marker = ""

    def __init__(self, **storage_options):
        super().__init__(**storage_options)
        self.store = get_store(storage_options or None)

    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = str(path)
        if "://" not in path and not path.startswith("kachery:"):  # fsspec may hand back a path without scheme
            path = "sha1://" + path
        return format_uri(parse_uri(path))

    def unstrip_protocol(self, name: str) -> str:
        return name

    def _parent(self, path):
        return ""

    def info(self, path, **kwargs):
        path = self._strip_protocol(path)
        return {"name": path, "size": self.store.size(path), "type": "file"}

    def ls(self, path, detail=True, **kwargs):
        info = self.info(path)
        return [info] if detail else [info["name"]]

    def ukey(self, path):
        return self.store.resolve(path).sha1

    def cat_file(self, path, start=None, end=None, **kwargs):
        path = self._strip_protocol(path)
        size = self.store.size(path)
        start = 0 if start is None else (start + size if start < 0 else start)
        end = size if end is None else (end + size if end < 0 else end)
        start, end = max(0, min(start, size)), max(0, min(end, size))
        return bytes(self.store.read(path, start, max(start, end)))

    def _open(self, path, mode="rb", block_size="default", autocommit=True, cache_options=None, **kwargs):
        if mode != "rb":
            raise PermissionError(f"{path}: sha1:// content is immutable and read-only (mode {mode!r})")
        return Sha1File(self, self._strip_protocol(path), mode, block_size, cache_options=cache_options, **kwargs)


class Sha1File(AbstractBufferedFile):
    def _fetch_range(self, start, end):
        return bytes(self.fs.store.read(self.path, start, end))
