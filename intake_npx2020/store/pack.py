"""``npx2020 pack``: write a packed mirror — a static directory any HTTP server can serve — from a store.

What goes where (the specification is ``docs/packed-mirror.md``):

* a blob that is not a chunked file (a small file, a manifest, a directory or recording object) is copied as it
  is, to ``sha1/ab/cd/ef/<sha1>``;
* a chunked file (one with a manifest) is not copied whole: each chunk goes to ``sha1/ab/cd/ef/<chunk>.pco``
  (:mod:`.pco`) when that saves at least :data:`MIN_SAVING` of its bytes, else raw to ``sha1/ab/cd/ef/<chunk>``;
  then the file's pack index ``<file>.pco.json`` (:mod:`.packindex`) is written, last.

Every byte packed is first checked against its sha1 (local files are not trusted). Writes are atomic (a locked
temporary file in ``.npx2020-tmp/``, fsync, rename), so a killed packer leaves nothing half-written under a real
name. A second run resumes: objects already there are verified (blobs re-hashed, compressed chunks decoded and
re-hashed) and kept; the rest are written. Packing is a function of the bytes and :data:`.pco.ENCODER`: two
people packing the same file with the same ``pcodec`` version write the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NPXError
from . import pco
from .local import blob_relpath
from .manifest import Chunk, Manifest
from .packindex import SUFFIX_INDEX, SUFFIX_PCO, PackIndex, Stored
from .tmpfiles import TempArea
from .uri import format_uri

__all__ = ["Packer", "PackReport", "MIN_SAVING", "TMP_DIR"]

#: a chunk is stored compressed only when that saves at least this fraction of its bytes
MIN_SAVING = 0.10
#: the packer's temporary files, inside the destination (same filesystem: renames are atomic)
TMP_DIR = ".npx2020-tmp"
_BLOCK = 8 << 20


@dataclass
class PackReport:
    """What a packing did; sizes in bytes."""

    files: int = 0                 # chunked files packed (index written or confirmed)
    chunks_pco: int = 0            # chunks stored compressed
    chunks_raw: int = 0            # chunks stored raw (odd size, or not compressible enough)
    chunks_kept: int = 0           # of those, already there and verified (resumed)
    chunk_bytes: int = 0           # raw bytes of all chunks
    stored_bytes: int = 0          # bytes the chunks take on the mirror
    blobs: int = 0                 # blobs copied as they are
    blobs_kept: int = 0            # of those, already there and verified
    blob_bytes: int = 0
    failed: list[str] = field(default_factory=list)  # what could not be packed, and why

    @property
    def ratio(self) -> float | None:
        """Stored / raw bytes of the chunks (``None`` when there were none)."""
        return self.stored_bytes / self.chunk_bytes if self.chunk_bytes else None


class Packer:
    """Writes objects into a packed mirror at ``dest``.

    Parameters
    ----------
    dest : path-like
        The mirror's root (created if missing).
    jobs : int, optional
        Chunks compressed at once (default: the number of CPUs).
    progress : bool, optional
        A progress bar (``None``: if stderr is a terminal).
    """

    def __init__(self, dest: str | os.PathLike, jobs: int | None = None, progress: bool | None = None):
        self.dest = Path(dest)
        self.dest.mkdir(parents=True, exist_ok=True)
        self.tmp = TempArea(self.dest / TMP_DIR)
        self.tmp.reclaim()  # what an interrupted packer left
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.progress = progress
        self.report = PackReport()

    def run(self, blobs: dict, files: dict, label: str = "pack") -> PackReport:
        """Copy ``blobs`` (sha1 → store) and pack ``files`` (sha1 → ``(manifest sha1, Manifest, store)``)."""
        from ..progress import progress_bar

        total = sum(m.size for _, m, _ in files.values()) + sum(_local_size(s, h) for h, s in blobs.items())
        with progress_bar(total, label, self.progress) as bar, ThreadPoolExecutor(self.jobs) as pool:
            for h, store in sorted(blobs.items()):
                before = self.report.blob_bytes
                self._guard(f"blob {h}", self.copy_blob, store, h)
                bar.update(self.report.blob_bytes - before)
            for h, (msha1, m, store) in sorted(files.items()):
                self._guard(f"file {h}", self.pack_file, store, h, msha1, m, pool, bar)
        shutil.rmtree(self.dest / TMP_DIR / "reader", ignore_errors=True)
        try:
            os.rmdir(self.dest / TMP_DIR)  # only when empty: nothing of a concurrent packer is touched
        except OSError:
            pass
        return self.report

    def _guard(self, what: str, fn, *args) -> None:
        try:
            fn(*args)
        except (NPXError, OSError) as err:
            self.report.failed.append(f"{what}: {err}")

    # -- raw blobs --------------------------------------------------------------------------------------
    def copy_blob(self, store, sha1: str) -> None:
        """Copy blob ``sha1`` from ``store`` as it is (kept if already there with the right bytes)."""
        final = self.dest / blob_relpath(sha1)
        if _file_sha1(final) == sha1:
            self.report.blobs_kept += 1
        else:
            src = store.locate(sha1)
            data = None if src else store.load_bytes(sha1)
            self._write(final, sha1, lambda f: _copy_checked(src, data, f, sha1))
        self.report.blobs += 1
        self.report.blob_bytes += final.stat().st_size

    # -- chunked files ----------------------------------------------------------------------------------
    def pack_file(self, store, file_sha1: str, manifest_sha1: str, m: Manifest, pool, bar) -> None:
        """Pack every chunk of a chunked file (in parallel), then write its index (its manifest is a blob)."""
        uri = format_uri(sha1=file_sha1, manifest=manifest_sha1)
        futures = [pool.submit(self._chunk, store, uri, c) for c in m.chunks]
        stored = []
        for c, f in zip(m.chunks, futures):
            s, kept = f.result()
            stored.append(s)
            r = self.report
            r.chunks_pco += s.kind == "pco"
            r.chunks_raw += s.kind == "raw"
            r.chunks_kept += kept
            r.chunk_bytes += c.size
            r.stored_bytes += s.size
            bar.update(c.size)
        index = PackIndex(file_sha1, m.size, manifest_sha1, pco.CODEC, pco.ENCODER, tuple(stored)).to_bytes()
        final = self.dest / (blob_relpath(file_sha1) + SUFFIX_INDEX)
        if not (final.is_file() and final.read_bytes() == index):
            self._write(final, f"{file_sha1}-idx", lambda f: f.write(index))
        self.report.files += 1

    def _chunk(self, store, uri: str, c: Chunk) -> tuple[Stored, bool]:
        """How chunk ``c`` is stored, writing it unless a verified copy is there; and whether one was."""
        there = self._existing(c)
        if there is not None:
            return there, True
        buf = bytearray(c.size)
        store.read_into(uri, c.start, memoryview(buf))
        if hashlib.sha1(buf).hexdigest() != c.sha1:
            raise NPXError(f"{uri}: bytes {c.start}-{c.end - 1} do not hash to the manifest's chunk sha1 {c.sha1}; "
                           "the store's copy is damaged, nothing was packed for this chunk")
        packed = pco.encode(buf) if c.size % 2 == 0 else None
        if packed is not None and len(packed) <= (1 - MIN_SAVING) * c.size:
            self._write(self.dest / (blob_relpath(c.sha1) + SUFFIX_PCO), f"{c.sha1}-pco", lambda f: f.write(packed))
            return Stored(c, "pco", len(packed), hashlib.sha1(packed).hexdigest()), False
        self._write(self.dest / blob_relpath(c.sha1), c.sha1, lambda f: f.write(buf))
        return Stored(c, "raw", c.size, c.sha1), False

    def _existing(self, c: Chunk) -> Stored | None:
        """A verified compressed or raw copy of chunk ``c`` already in the mirror, or ``None``."""
        p = self.dest / (blob_relpath(c.sha1) + SUFFIX_PCO)
        if p.is_file():
            blob = p.read_bytes()
            out = bytearray(c.size)
            try:
                pco.decode_into(blob, out)
                if hashlib.sha1(out).hexdigest() == c.sha1:
                    return Stored(c, "pco", len(blob), hashlib.sha1(blob).hexdigest())
            except pco.DecodeError:
                pass
        if _file_sha1(self.dest / blob_relpath(c.sha1)) == c.sha1:
            return Stored(c, "raw", c.size, c.sha1)
        return None

    def _write(self, final: Path, name: str, fill) -> None:
        """``fill(file)`` into a locked temporary file, fsync, then rename it to ``final`` (atomic)."""
        with self.tmp.entry(name) as entry:
            with os.fdopen(entry.create(), "wb", closefd=False) as f:
                fill(f)
                f.flush()
                os.fsync(f.fileno())
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(entry.path, final)


def _copy_checked(src: str | None, data: bytes | None, f, sha1: str) -> None:
    """Write the blob from the file ``src`` (or ``data``) into ``f``, checking that its bytes hash to ``sha1``."""
    digest = hashlib.sha1()
    if src is None:
        digest.update(data)
        f.write(data)
    else:
        with open(src, "rb") as s:
            while block := s.read(_BLOCK):
                digest.update(block)
                f.write(block)
    if digest.hexdigest() != sha1:
        raise NPXError(f"blob {sha1} in the store ({src or 'fetched'}) does not hash to its name; not packed")


def _local_size(store, sha1: str) -> int:
    path = store.locate(sha1)
    try:
        return os.path.getsize(path) if path else 0
    except OSError:
        return 0


def _file_sha1(path: Path) -> str | None:
    """The sha1 of a regular file's bytes, or ``None`` when there is no such file."""
    if not path.is_file():
        return None
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()
