"""A download in progress: ``tmp/downloads/<sha1>.part`` in our store (the file, written piece by piece at its
offsets) and ``<sha1>.json`` (which pieces are written, with their sha1), so a download killed or cut off resumes
where it stopped. A piece is recorded only after its bytes are on disk (``fdatasync``), and the state file is replaced
atomically, so a recorded piece is always there; a piece written but not yet recorded is fetched again.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

__all__ = ["Partial"]


class Partial:
    """The partial file and state of one download.

    Parameters
    ----------
    store_path : path-like
        Our store's root (the files live in its ``tmp/downloads/``: a directory, which the reclaiming of
        interrupted writes in ``tmp/`` leaves alone, so a partial download outlives the process that started it).
    sha1 : str
        The file's sha1 (checked by the caller: 40 lowercase hex).
    size : int
        The file's size.
    bounds : list of (int, int)
        The pieces, ``[start, end)`` tiling ``[0, size)``; a state written for other pieces is not reused.
    """

    def __init__(self, store_path, sha1: str, size: int, bounds: list[tuple[int, int]]):
        self.dir = Path(store_path) / "tmp" / "downloads"
        self.path = self.dir / f"{sha1}.part"
        self.state_path = self.dir / f"{sha1}.json"
        self.sha1, self.size, self.bounds = sha1, size, bounds
        self.done: dict[int, str] = {}  # piece start -> sha1 of its bytes
        self._fd: int | None = None
        self._lock = threading.Lock()

    def _key(self) -> dict:
        ends = ",".join(str(b) for _, b in self.bounds)
        return {"sha1": self.sha1, "size": self.size, "pieces": len(self.bounds),
                "piece_ends": [b for _, b in self.bounds[:3]], "ends_sha1": hashlib.sha1(ends.encode()).hexdigest()}

    def resume(self) -> int:
        """Load what an earlier run recorded (if it was for the same file and pieces); returns bytes already done."""
        try:
            state = json.loads(self.state_path.read_text())
            if state.get("key") != self._key() or self.path.stat().st_size != self.size:
                raise ValueError("another download")
            starts = {a for a, _ in self.bounds}
            self.done = {int(a): h for a, h in state.get("done", {}).items() if int(a) in starts}
        except (OSError, ValueError, TypeError, AttributeError):
            self.done = {}
        return sum(b - a for a, b in self.bounds if a in self.done)

    def todo(self) -> list[tuple[int, int]]:
        """Pieces not yet recorded."""
        return [(a, b) for a, b in self.bounds if a not in self.done]

    def open(self) -> None:
        """Open (creating, sparse, at full size) the partial file for writing pieces."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        if os.fstat(self._fd).st_size != self.size:
            os.ftruncate(self._fd, self.size)
            self.done = {}

    def write(self, start: int, data, sha1: str) -> None:
        """Write a piece at ``start``, make it durable, then record it."""
        view = memoryview(data)
        pos = 0
        while pos < len(view):
            pos += os.pwrite(self._fd, view[pos:], start + pos)
        os.fdatasync(self._fd)
        with self._lock:
            self.done[start] = sha1
            tmp = self.state_path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps({"key": self._key(), "done": {str(a): h for a, h in self.done.items()}}))
            os.replace(tmp, self.state_path)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def discard(self) -> int:
        """Remove the partial file and its state; returns the bytes that were recorded."""
        self.close()
        n = sum(b - a for a, b in self.bounds if a in self.done)
        for p in (self.path, self.state_path, self.state_path.with_suffix(".json.tmp")):
            try:
                p.unlink()
            except FileNotFoundError:
                pass
        self.done = {}
        return n
