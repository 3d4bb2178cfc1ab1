"""What ``npx2020 pack`` packs: every blob of a store directory, or the files named by some URIs (catalog entries).

A plan is two mappings: ``blobs`` (sha1 → the store to read it from), copied as they are, and ``files`` (file
sha1 → ``(manifest sha1, Manifest, store)``), chunked files whose chunks are packed. In a store directory, a
chunked file is one whose manifest is there and whose bytes are all there (whole, or every chunk); its whole
blob and its chunk blobs are then not copied, the packed chunks replace them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from ..errors import InvalidObject
from .config import StoreConfig
from .engine import Store
from .manifest import Manifest
from .uri import format_uri, parse_uri

__all__ = ["reader_store", "scan_blobs", "plan_store", "plan_uris"]

_NAME = re.compile(r"([0-9a-f]{40})(\.link)?")
#: largest blob looked at as a possible manifest (a manifest of an 800 GB file is about 4 MB)
MAX_MANIFEST = 64 << 20


def reader_store(root: str | os.PathLike, scratch: str | os.PathLike) -> Store:
    """A store that reads the store directory ``root`` in place and never writes to it, nor asks any mirror."""
    config = StoreConfig(store=str(scratch), read_roots=(str(root),), mirrors=(), cache=False,
                         kachery_remote=False, packed=False)
    return Store(config)


def scan_blobs(root: str | os.PathLike) -> list[str]:
    """The sha1 of every blob under ``root/sha1/ab/cd/ef/`` (plain files and kachery-p2p ``.link`` records)."""
    found = set()
    top = Path(root) / "sha1"
    for dirpath, _, names in os.walk(top):
        rel = Path(dirpath).relative_to(top).parts
        if len(rel) != 3:
            continue
        for name in names:
            m = _NAME.fullmatch(name)
            if m and m.group(1)[:6] == "".join(rel):
                found.add(m.group(1))
    return sorted(found)


def _as_manifest(store: Store, sha1: str) -> Manifest | None:
    path = store.locate(sha1)
    try:
        if path is None or os.path.getsize(path) > MAX_MANIFEST:
            return None
        with open(path, "rb") as f:
            if f.read(1) != b"{":
                return None
            return Manifest.from_bytes(b"{" + f.read(), name=f"blob {sha1}")
    except (OSError, InvalidObject):
        return None


def plan_store(store: Store, root: str | os.PathLike) -> tuple[dict, dict]:
    """Plan the packing of every blob of the store directory ``root`` (read through ``store``)."""
    sha1s = scan_blobs(root)
    files: dict = {}
    for h in sha1s:
        m = _as_manifest(store, h)
        if m is None or m.sha1 in files:
            continue
        if store.has_local(format_uri(sha1=m.sha1, manifest=h)):
            files[m.sha1] = (h, m, store)
    replaced = set(files) | {c.sha1 for _, m, _ in files.values() for c in m.chunks}
    blobs = {h: store for h in sha1s if h not in replaced}
    return blobs, files


def plan_uris(pairs: Iterable[tuple[Store, str]]) -> tuple[dict, dict]:
    """Plan the packing of the files named by ``(store, uri)`` pairs, with their manifests and directory objects."""
    blobs: dict = {}
    files: dict = {}
    for store, uri in pairs:
        u = parse_uri(uri)
        if u.scheme == "sha1dir":
            blobs[u.sha1] = store
            u = store.resolve(u)
        if u.manifest:
            m = store.manifest(u.manifest, u.sha1, str(u))
            blobs[u.manifest] = store
            files.setdefault(u.sha1, (u.manifest, m, store))
        else:
            blobs[u.sha1] = store
    for h in files:
        blobs.pop(h, None)
    return blobs, files
