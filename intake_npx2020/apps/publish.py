"""``npx2020 publish CATALOG DEST``: a static directory anyone can open by URL, with no other set-up.

``DEST`` holds ``catalog.yaml`` (intake v1, JSON body) and ``mirror/sha1/ab/cd/ef/<sha1>``: every blob the
entries read (raw files, their manifests, spike arrays, unit tables, the objects' JSON). Each entry's
``storage_options`` become ``{"mirrors": ["{{ CATALOG_DIR }}/mirror"]}``: opened by URL, intake renders
``CATALOG_DIR`` to the URL's directory and the mirror is read over HTTP (ranged, every chunk verified); opened
from disk, the same path is a read root (:mod:`intake_npx2020.store.config`). Nested catalogs kept on disk are
published beside it (``DEST/<name>/catalog.yaml``, sharing the mirror); nested catalogs by URL and the shipped 2020
collection are kept as they are. ``npx2020-site.json`` lists what ``npx2020 serve DEST`` may serve.

Publishing again copies only blobs the mirror lacks (a blob present with its size is not copied again).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from pathlib import Path
from typing import NamedTuple

from .._version import __version__
from ..errors import ContentNotFound, IntegrityError
from ..progress import progress_bar
from ..sources.authoring import load_catalog_doc
from ..sources.catalog import open_catalog, write_catalog_file
from ..sources.nested import is_catalog_entry
from ..store.local import blob_relpath
from ..store.manifest import CHUNK_SIZE
from ..store.serve import SITE_FILE
from ..store.uri import parse_uri

__all__ = ["Published", "publish", "SITE_FILE", "MIRROR_DIR"]

MIRROR_DIR = "mirror"
_PENDING = "catalog.yaml.pending"  # written first, renamed once the mirror holds every blob
_SCHEMES = ("sha1://", "sha1dir://", "kachery:")
_HEADER = ("Published by intake_npx2020 {version} (npx2020 publish). Open it with\n"
           "    intake.open_catalog(\"<URL or path of this file>\")\n"
           "Its bytes are in {mirror}/ beside it, read by relative URL and verified chunk by chunk.")


class Published(NamedTuple):
    """What a publish did: the catalogs written, blobs copied (new) or already there, bytes copied, and the
    compressed form (chunked files packed, their chunks written now or kept, the bytes they take)."""

    dest: Path
    catalogs: list[Path]
    new_blobs: int
    present_blobs: int
    new_bytes: int
    total_bytes: int
    packed_files: int = 0
    new_chunks: int = 0
    kept_chunks: int = 0
    packed_bytes: int = 0


class _Blob(NamedTuple):
    sha1: str
    uri: str  # what to read it by (a file URI, or a bare sha1 for manifests and objects)
    store: object
    optional: bool


def _entry_blobs(name: str, entry: dict, src) -> list[_Blob]:
    """Every blob an entry needs: its files (and their manifests), and the objects' JSON named in metadata."""
    store = src.store
    out = []
    uris = src.uris() if hasattr(src, "uris") else []
    for uri in uris:
        u = parse_uri(uri)
        if u.scheme == "sha1dir":
            out.append(_Blob(u.sha1, u.sha1, store, False))
            u = store.resolve(uri)
        out.append(_Blob(u.sha1, str(u), store, False))
        if u.manifest:
            out.append(_Blob(u.manifest, u.manifest, store, False))
    meta = entry.get("metadata") or {}
    for key in ("recording_path", "sorting_path"):  # the object's JSON: optional (the object is embedded)
        v = meta.get(key)
        if isinstance(v, str) and v.startswith("sha1://"):
            out.append(_Blob(parse_uri(v).sha1, parse_uri(v).sha1, store, True))
    return out


def _pieces(b: _Blob, local: str | None):
    """The blob's bytes in pieces: from a local file, through the store (chunks verified), or whole."""
    if local:
        with open(local, "rb") as f:
            while data := f.read(CHUNK_SIZE):
                yield data
    elif b.uri.startswith(_SCHEMES):
        size = b.store.size(b.uri)
        for pos in range(0, size, CHUNK_SIZE):
            yield b.store.read(b.uri, pos, min(size, pos + CHUNK_SIZE))
    else:
        yield b.store.load_bytes(b.sha1)


def _write_checked(b: _Blob, local: str | None, tmp: Path, link: str | None, bar) -> str:
    """Write (or hard-link, with ``link="hard"`` and a local file) the blob to ``tmp``; the sha1 of its bytes."""
    whole = hashlib.sha1()
    linked = False
    if local and link == "hard":
        try:
            os.link(local, tmp)
            linked = True
        except OSError:
            pass  # another filesystem: copied
    with open(os.devnull if linked else tmp, "wb") as g:
        for data in _pieces(b, local):
            whole.update(data)
            if not linked:
                g.write(data)
            bar.update(len(data))
    return whole.hexdigest()


def _read_blob(b: _Blob, out_path: Path, link: str | None, bar) -> int:
    """Write blob ``b`` to ``out_path`` (atomically, its sha1 checked); returns its size."""
    tmp = out_path.with_name(f".{out_path.name}.partial-{os.getpid()}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        digest = _write_checked(b, b.store.locate(b.sha1), tmp, link, bar)
        if digest != b.sha1:
            raise IntegrityError(f"{b.uri}: the local copy hashes to {digest}, not {b.sha1}; not published")
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return out_path.stat().st_size


def _copy_blobs(blobs: list[_Blob], mirror: Path, link: str | None, progress: bool | None) -> tuple[int, int, int]:
    """Copy the blobs the mirror lacks; ``(new, present, bytes copied)``."""
    todo, present = [], 0
    for b in {b.sha1: b for b in blobs}.values():
        if (mirror / blob_relpath(b.sha1)).is_file():
            present += 1
        else:
            todo.append(b)
    new = copied = 0
    with progress_bar(None, "publish", progress) as bar:
        for b in todo:
            try:
                copied += _read_blob(b, mirror / blob_relpath(b.sha1), link, bar)
            except ContentNotFound:
                if b.optional:
                    continue
                raise
            new += 1
    return new, present, copied


def _site_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "catalog"


class _Publisher:
    """One publish run: catalogs visited (no cycles), blobs gathered for one mirror."""

    def __init__(self, dest: Path):
        self.dest = dest
        self.blobs: list[_Blob] = []
        self.files: list[tuple] = []  # (store, uri) of every file, for the compressed form
        self.catalogs: list[Path] = []
        self.seen: set[Path] = set()

    def catalog(self, src_path: Path, out_path: Path) -> None:
        src_path = src_path.resolve()
        if src_path in self.seen:
            raise ValueError(f"catalog {src_path} includes itself (directly or through nested catalogs)")
        self.seen.add(src_path)
        doc = load_catalog_doc(src_path)
        cat = open_catalog(src_path)
        rel = Path(os.path.relpath(self.dest / MIRROR_DIR, out_path.parent)).as_posix()
        sources = {}
        for name, entry in doc["sources"].items():
            sources[name] = self._entry(name, entry, cat, src_path, out_path, rel)
        meta = {k: v for k, v in doc["metadata"].items() if k != "version"}
        meta["published_with"] = f"intake_npx2020 {__version__}"
        write_catalog_file(out_path, sources, meta, header=_HEADER.format(version=__version__, mirror=rel))
        self.catalogs.append(out_path)

    def _entry(self, name: str, entry: dict, cat, src_path: Path, out_path: Path, rel: str) -> dict:
        entry = copy.deepcopy(entry)
        if is_catalog_entry(entry):
            return self._nested(name, entry, src_path, out_path)
        if entry.get("driver") not in ("npx_recording", "npx_sorting", "npx_drift"):
            return entry  # not ours: kept as written
        src = cat[name]
        self.blobs += _entry_blobs(name, entry, src)
        self.files += [(src.store, u) for u in src.uris()]
        entry.setdefault("args", {})["storage_options"] = {"mirrors": ["{{ CATALOG_DIR }}/" + rel]}
        return entry

    def _nested(self, name: str, entry: dict, src_path: Path, out_path: Path) -> dict:
        path = (entry.get("args") or {}).get("path")
        if not isinstance(path, str) or "://" in path:
            return entry  # the shipped collection, or a catalog by URL: as it is
        local = Path(path.replace("{{ CATALOG_DIR }}", str(src_path.parent)).replace("{{CATALOG_DIR}}",
                                                                                  str(src_path.parent)))
        final = out_path.parent / _site_name(name) / "catalog.yaml"
        self.catalog(local if local.is_absolute() else src_path.parent / local, final.with_name(_PENDING))
        entry["args"]["path"] = "{{ CATALOG_DIR }}/" + Path(os.path.relpath(final, out_path.parent)).as_posix()
        return entry


def _compress(files: list[tuple], mirror: Path, progress: bool | None) -> tuple[int, int, int, int]:
    """Write the packed form of every chunked file into the mirror (:mod:`intake_npx2020.store.pack`).

    Returns ``(files, chunks written, chunks kept, bytes the chunks take)``.
    """
    from ..extras import require
    from ..store.pack import Packer
    from ..store.packplan import plan_uris

    require("pcodec", "compress", "the compressed form of a published mirror (--no-compress skips it)")
    _, chunked = plan_uris(files)
    if not chunked:
        return 0, 0, 0, 0
    r = Packer(mirror, progress=progress).run({}, chunked, label="compress")
    if r.failed:
        raise IntegrityError(f"the compressed form could not be written: {r.failed[0]}"
                             + (f" (and {len(r.failed) - 1} more)" if len(r.failed) > 1 else ""))
    return r.files, r.chunks_pco + r.chunks_raw - r.chunks_kept, r.chunks_kept, r.stored_bytes


def publish(catalog: str | Path, dest: str | Path, link: str | None = None,
            progress: bool | None = None, compress: bool = True) -> Published:
    """Write ``dest``: the catalog (and nested ones) reading a mirror of every blob by relative URL.

    Parameters
    ----------
    catalog : path-like
        The catalog to publish (e.g. written by ``npx2020 add-recording``).
    dest : path-like
        Directory to write (created; published again, only missing blobs are copied).
    link : {None, "hard"}
        Hard-link blobs that are whole in a local store instead of copying them.
    progress : bool, optional
    compress : bool
        Also write the compressed form of chunked files (pack indexes and ``.pco`` chunks, which readers with
        ``pcodec`` fetch instead of the raw bytes; servers without ``Range`` can serve them).

    Raises
    ------
    ContentNotFound
        A file an entry needs is in no store and on no mirror (nothing of the catalog is written then).
    """
    dest = Path(dest)
    run = _Publisher(dest.resolve())
    run.catalog(Path(catalog), dest.resolve() / _PENDING)
    new, present, copied = _copy_blobs(run.blobs, dest / MIRROR_DIR, link, progress)
    packed = _compress(run.files, dest / MIRROR_DIR, progress) if compress else (0, 0, 0, 0)
    for pending in run.catalogs:  # catalogs last: a catalog never names a blob its mirror lacks
        os.replace(pending, pending.with_name(pending.name.removesuffix(".pending")))
    catalogs = [p.with_name(p.name.removesuffix(".pending")) for p in run.catalogs]
    total = sum((dest / MIRROR_DIR / blob_relpath(b)).stat().st_size for b in {b.sha1 for b in run.blobs}
                if (dest / MIRROR_DIR / blob_relpath(b)).is_file())
    site = {"catalogs": [p.relative_to(dest.resolve()).as_posix() for p in catalogs], "mirror": MIRROR_DIR,
            "blobs": new + present, "bytes": total, "packed_files": packed[0], "packed_bytes": packed[3],
            "published_with": f"intake_npx2020 {__version__}"}
    (dest / SITE_FILE).write_text(json.dumps(site, indent=1) + "\n")
    return Published(dest, catalogs, new, present, copied, total, *packed)
