"""``fetch`` for catalog entries: every file an entry reads, made whole and verified in our store.

A recording's raw file comes from the first place that has it (stores, mirrors, live kachery, then the entry's
``metadata.sources``; see :mod:`intake_npx2020.store.download`). An extract (``metadata.parent`` +
``metadata.extract``) is derived from its parent by byte range and checked against its own sha1
(:mod:`.extracts`). Every other file (object JSON, sorting arrays) is fetched through the store.
"""

from __future__ import annotations

from ..store import download
from ..store import origins as origin_hints
from ..store.origin import parse_sources
from .extracts import derive_extract

__all__ = ["fetch_entry", "register_sources", "said"]


def register_sources(src) -> None:
    """Let every "not found" error about this recording's raw file name the entry's original sources."""
    sources = src.metadata.get("sources")
    try:
        origin_hints.register(src.spec.raw_sha1, src.label, sources if isinstance(sources, list) else [])
    except Exception:  # noqa: BLE001 - only a hint for error messages; the entry's own errors surface on use
        pass


def fetch_entry(cat, name: str, store=None, progress: bool | None = None, discard_partial: bool = False) -> list[str]:
    """Fetch every file of entry ``name`` into ``store`` (default: the entry's); one line per file saying what
    was done.

    Raises
    ------
    ContentNotFound, FetchError, IntegrityError
        As :func:`intake_npx2020.store.download.fetch` and :func:`.extracts.derive_extract`.
    """
    src = cat[name]
    md = src.metadata
    store = store or src.store
    lines = []
    raw = None
    if getattr(src, "container", None) == "xarray":
        register_sources(src)
        raw = src.spec.raw
        if md.get("parent") and md.get("extract"):
            d = derive_extract(cat, name, store)
            lines.append(f"{d.uri}\tderived from {md['parent']} ({d.parent_bytes_from}); layout {d.layout}; "
                         f"verified by its sha1, in {store.own.path}")
        else:
            origins = parse_sources(md.get("sources"), f"{name}: metadata.sources")
            f = download.fetch(store, raw, origins, md.get("size_bytes"), progress, discard_partial)
            lines.append(f"{f.uri}\t{said(f)}; complete in {store.own.path}")
    for uri in src.uris():
        if uri != raw:
            f = download.fetch(store, uri, progress=progress)
            lines.append(f"{f.uri}\t{said(f)}")
    return lines


def said(f: download.Fetched) -> str:
    """What a fetch did, in words: ``fetched N bytes from …`` (``fetched 0 bytes (…)`` when nothing was missing)."""
    if not f.nbytes:
        return f"fetched 0 bytes ({f.source})"
    return f"fetched {f.nbytes} bytes from {f.source}" + (f"; manifest {f.manifest}" if f.manifest else "")
