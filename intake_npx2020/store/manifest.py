"""Kachery manifests: the chunk list of a large file, and the mapping of byte ranges onto chunks."""

from __future__ import annotations

import bisect
import hashlib
import json
from dataclasses import dataclass
from functools import cached_property

from .uri import check_sha1

__all__ = ["Chunk", "Manifest", "CHUNK_SIZE", "MANIFEST_THRESHOLD"]

#: kachery-p2p's chunk size for new manifests; existing manifests are always read, never assumed.
CHUNK_SIZE = 20_000_000
#: Files larger than this get a manifest when added (kachery-p2p's rule).
MANIFEST_THRESHOLD = 20_000_000


@dataclass(frozen=True)
class Chunk:
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
        """Parse and validate manifest bytes; raise ``ValueError`` naming ``name`` if malformed."""
        try:
            obj = json.loads(data)
            size, sha1 = int(obj["size"]), check_sha1(obj["sha1"])
            chunks = tuple(Chunk(int(c["start"]), int(c["end"]), check_sha1(c["sha1"])) for c in obj["chunks"])
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{name} is not a valid kachery manifest: {err}") from err
        pos = 0
        for c in chunks:
            if c.start != pos or c.end <= c.start:
                raise ValueError(f"{name}: chunks must tile [0, size) in order; bad chunk {c}")
            pos = c.end
        if pos != size:
            raise ValueError(f"{name}: chunks cover {pos} bytes but size is {size}")
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
