"""The pack index of a chunked file on a packed mirror: which chunks are stored compressed, and as what bytes.

A packed mirror holds, beside a chunked file's manifest, the file's chunks (each compressed, ``<chunk>.pco``, or
raw, ``<chunk>``) and one index ``sha1/ab/cd/ef/<file sha1>.pco.json`` (``docs/packed-mirror.md``)::

    {"format":"npx2020-pack","version":1,"sha1":"<file>","size":N,"manifest":"<manifest sha1>",
     "codec":"pco","encoder":"pcodec-1.1.0/int16le/level-8/no-delta",
     "chunks":[{"start":0,"end":20000000,"sha1":"<chunk>","stored":"pco","stored_size":6012345,
                "stored_sha1":"<sha1 of the .pco bytes>"}, {"start":…,"stored":"raw",…}, …]}

Serialised with these keys in this order, compact separators and no trailing newline, so two packers of the same
file write the same bytes. An index is a hint: every chunk read through it is still checked against its sha1.
"""

from __future__ import annotations

import json
import reprlib
from dataclasses import dataclass

from ..errors import InvalidObject
from .manifest import MAX_CHUNK, Chunk, check_tiling, json_int
from .uri import check_sha1

__all__ = ["PackIndex", "Stored", "FORMAT", "VERSION", "SUFFIX_PCO", "SUFFIX_INDEX", "MAX_INDEX"]

FORMAT = "npx2020-pack"
VERSION = 1
#: file name suffix of a compressed chunk, after the chunk's sha1
SUFFIX_PCO = ".pco"
#: file name suffix of a pack index, after the file's sha1
SUFFIX_INDEX = ".pco.json"
#: largest index read (about 40 000 chunks of a 20 MB manifest: an 800 GB file)
MAX_INDEX = 16 << 20
_STORED = ("pco", "raw")


@dataclass(frozen=True)
class Stored:
    """How one chunk is stored: ``kind`` ``"pco"`` (``<sha1>.pco``) or ``"raw"`` (``<sha1>``), its size and sha1."""

    chunk: Chunk
    kind: str
    size: int
    sha1: str

    def to_json(self) -> dict:
        c = self.chunk
        return {"start": c.start, "end": c.end, "sha1": c.sha1, "stored": self.kind, "stored_size": self.size,
                "stored_sha1": self.sha1}


@dataclass(frozen=True)
class PackIndex:
    """A parsed pack index: the file, its manifest and how each chunk is stored."""

    sha1: str
    size: int
    manifest: str
    codec: str
    encoder: str
    chunks: tuple[Stored, ...]

    def to_bytes(self) -> bytes:
        """The canonical serialisation (fixed key order, compact separators, no newline)."""
        obj = {"format": FORMAT, "version": VERSION, "sha1": self.sha1, "size": self.size,
               "manifest": self.manifest, "codec": self.codec, "encoder": self.encoder,
               "chunks": [s.to_json() for s in self.chunks]}
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=True).encode()

    def compressed(self) -> dict[str, Stored]:
        """The chunks stored compressed, by chunk sha1."""
        return {s.chunk.sha1: s for s in self.chunks if s.kind == "pco"}

    @classmethod
    def from_bytes(cls, data: bytes, file_sha1: str, name: str = "pack index") -> "PackIndex":
        """Parse and validate an index found under ``<file_sha1>.pco.json``.

        Raises
        ------
        InvalidObject
            Naming the field, for anything malformed: not JSON, another format or version, another file,
            bad hashes or sizes, chunks that do not tile ``[0, size)``.
        """
        if len(data) > MAX_INDEX:
            raise InvalidObject(f"{name} is {len(data)} bytes, more than the {MAX_INDEX} an index may have")
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError) as err:
            raise InvalidObject(f"{name} is not valid JSON: {str(err)[:200]}") from None
        if not isinstance(obj, dict) or obj.get("format") != FORMAT or obj.get("version") != VERSION:
            raise InvalidObject(f"{name} is not a {FORMAT} index of version {VERSION}")
        sha1 = check_sha1(obj.get("sha1"), f"{name}: sha1")
        if sha1 != file_sha1:
            raise InvalidObject(f"{name} describes file {sha1}, not {file_sha1}")
        size = json_int(obj, "size", name)
        codec, encoder = obj.get("codec"), obj.get("encoder")
        if not isinstance(codec, str) or not isinstance(encoder, str):
            raise InvalidObject(f"{name}: codec and encoder must be strings")
        raw = obj.get("chunks")
        if not isinstance(raw, list):
            raise InvalidObject(f"{name}: chunks must be a list")
        chunks = tuple(_stored(c, f"{name}: chunks[{i}]") for i, c in enumerate(raw))
        check_tiling([s.chunk for s in chunks], size, name)
        return cls(sha1, size, check_sha1(obj.get("manifest"), f"{name}: manifest"), codec, encoder, chunks)


def _stored(c, name: str) -> Stored:
    if not isinstance(c, dict):
        raise InvalidObject(f"{name} must be an object, not {type(c).__name__}")
    chunk = Chunk(json_int(c, "start", name), json_int(c, "end", name), check_sha1(c.get("sha1"), f"{name}: sha1"))
    kind = c.get("stored")
    if kind not in _STORED:
        raise InvalidObject(f"{name}: stored must be one of {_STORED}, got {reprlib.repr(kind)}")
    if chunk.size > MAX_CHUNK:
        raise InvalidObject(f"{name}: a chunk of {chunk.size} bytes is more than the {MAX_CHUNK} allowed")
    size = json_int(c, "stored_size", name, MAX_CHUNK + (1 << 20))
    return Stored(chunk, kind, size, check_sha1(c.get("stored_sha1"), f"{name}: stored_sha1"))
