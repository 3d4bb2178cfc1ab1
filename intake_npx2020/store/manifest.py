"""Kachery manifests: the chunk list of a large file, and the mapping of byte ranges onto chunks."""

from __future__ import annotations

import bisect
import hashlib
import json
import reprlib
from dataclasses import dataclass
from functools import cached_property

from ..errors import InvalidObject
from .uri import check_sha1

__all__ = ["Chunk", "Manifest", "CHUNK_SIZE", "MANIFEST_THRESHOLD", "MAX_CHUNK", "check_tiling", "json_int"]

#: kachery-p2p's chunk size for new manifests; existing manifests are always read, never assumed.
CHUNK_SIZE = 20_000_000
#: Files larger than this get a manifest when added (kachery-p2p's rule).
MANIFEST_THRESHOLD = 20_000_000


#: Largest chunk read: a chunk is fetched, verified and held whole in memory (kachery's are 10-20 MB).
MAX_CHUNK = 2**31
_MAX = 2**63


def json_int(obj: dict, key: str, name: str, hi: int = _MAX) -> int:
    """Field ``key`` of a parsed JSON object as an integer in ``[0, hi)``, else :class:`InvalidObject` naming it."""
    v = obj.get(key)
    if type(v) is not int or not 0 <= v < hi:  # JSON integers only: no bool, float, 1e999 or string
        bound = "2**63" if hi == _MAX else str(hi)
        raise InvalidObject(f"{name}: {key} must be an integer in [0, {bound}), got {reprlib.repr(v)}")
    return v


def check_tiling(chunks, size: int, name: str) -> None:
    """Chunks must tile ``[0, size)`` in order, none empty or over :data:`MAX_CHUNK`; else :class:`InvalidObject`."""
    pos = 0
    for i, c in enumerate(chunks):
        if c.start != pos or c.end <= c.start:
            why = "a gap" if c.start > pos else "an overlap" if c.start < pos else "an empty chunk"
            raise InvalidObject(f"{name}: chunks must tile [0, size) in order; chunks[{i}] {c} leaves {why} "
                                f"(expected start {pos})")
        if c.size > MAX_CHUNK:
            raise InvalidObject(f"{name}: chunks[{i}] is {c.size} bytes, more than the {MAX_CHUNK} a chunk may have")
        pos = c.end
    if pos != size:
        raise InvalidObject(f"{name}: chunks cover {pos} bytes but size is {size}")


def _chunk(c, name: str) -> "Chunk":
    if not isinstance(c, dict):
        raise InvalidObject(f"{name} must be an object {{start, end, sha1}}, not {type(c).__name__}")
    return Chunk(json_int(c, "start", name), json_int(c, "end", name), check_sha1(c.get("sha1"), f"{name}: sha1"))


@dataclass(frozen=True)
class Chunk:
    """Bytes ``[start, end)`` of a file, stored as the blob ``sha1``."""

    start: int
    end: int
    sha1: str

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Manifest:
    """A parsed, validated manifest ``{"size", "sha1", "chunks": [{"start", "end", "sha1"}]}``."""

    size: int
    sha1: str
    chunks: tuple[Chunk, ...]

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "manifest") -> "Manifest":
        """Parse and validate manifest bytes.

        Raises
        ------
        InvalidObject
            Naming ``name`` and the field, for any malformed input: not JSON, too deeply nested, not an object,
            a size or bound that is not a JSON integer in ``[0, 2**63)``, a hash that is not 40 lowercase hex,
            chunks that do not tile ``[0, size)`` in order without gaps or overlaps.
        """
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError) as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise InvalidObject(f"{name} is not valid JSON: {str(err)[:200]}") from None
        if not isinstance(obj, dict):
            raise InvalidObject(f"{name}: a manifest is a JSON object, not {type(obj).__name__}")
        size = json_int(obj, "size", name)
        sha1 = check_sha1(obj.get("sha1"), f"{name}: sha1")
        raw = obj.get("chunks")
        if not isinstance(raw, list):
            raise InvalidObject(f"{name}: chunks must be a list, not {type(raw).__name__}")
        chunks = tuple(_chunk(c, f"{name}: chunks[{i}]") for i, c in enumerate(raw))
        check_tiling(chunks, size, name)
        return cls(size, sha1, chunks)

    def to_bytes(self) -> bytes:
        """Serialise exactly as kachery does (key order size, sha1, chunks; compact separators)."""
        obj = {"size": self.size, "sha1": self.sha1,
               "chunks": [{"start": c.start, "end": c.end, "sha1": c.sha1} for c in self.chunks]}
        return json.dumps(obj, separators=(",", ":")).encode()

    @cached_property
    def _ends(self) -> list[int]:
        return [c.end for c in self.chunks]

    @property
    def hash(self) -> str:
        return hashlib.sha1(self.to_bytes()).hexdigest()

    def index_of(self, chunk: Chunk) -> int:
        """Position of ``chunk`` in the manifest."""
        return bisect.bisect_right(self._ends, chunk.start)

    def chunks_for(self, start: int, end: int) -> list[Chunk]:
        """Chunks that overlap ``[start, end)`` (``start < c.end and end > c.start``)."""
        if start >= end:
            return []
        i = bisect.bisect_right(self._ends, start)
        out = []
        while i < len(self.chunks) and self.chunks[i].start < end:
            out.append(self.chunks[i])
            i += 1
        return out
