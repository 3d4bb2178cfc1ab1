"""Where the original of a file can be had (a catalog entry's ``metadata.sources``), for error messages.

The store knows nothing of catalog entries; the layers above register, per file sha1, the entry's ID and its
sources, and every :class:`~intake_npx2020.errors.ContentNotFound` about that file (or one of its chunks or its
manifest) ends with them. The registry is per process: errors raised on a dask worker in another process
carry the plain message.
"""

from __future__ import annotations

import re
import threading

__all__ = ["register", "hint"]

_known: dict[str, tuple[str, tuple[str, ...]]] = {}  # file sha1 -> (entry ID, source descriptions)
_lock = threading.Lock()
_HEX40 = re.compile(r"[0-9a-f]{40}")


def register(sha1: str, entry: str, sources: list[dict]) -> None:
    """Remember that file ``sha1`` is catalog entry ``entry`` and can be had from ``sources`` (mappings with
    ``url`` and optionally ``note``, ``verified``)."""
    lines = []
    for s in sources or ():
        if isinstance(s, dict) and s.get("url"):
            notes = [n for n in (s.get("note"), None if s.get("verified", True) else "not yet verified") if n]
            lines.append(s["url"] + (f" ({', '.join(notes)})" if notes else ""))
    with _lock:
        _known[sha1] = (entry, tuple(lines))


def hint(*texts: str) -> str:
    """A sentence naming the original sources of the files whose sha1 appears in ``texts`` ('' if none)."""
    out = []
    for h in dict.fromkeys(m for t in texts if t for m in _HEX40.findall(t)):
        rec = _known.get(h)
        if rec is None:
            continue
        entry, lines = rec
        if lines:
            out.append(f"The original file of {entry} is published at: {'; '.join(lines)}. "
                       f"`npx2020 fetch {entry}` downloads it from there and verifies it.")
        else:
            out.append(f"No public source of {entry}'s file is known (`npx2020 info {entry}`).")
    return " ".join(out)
