"""Fetch a whole raw file from the first place that has it — local stores, mirrors, live kachery, then its
original sources — resumable, verified, and admitted into our store only once its sha1 is right.

Order: if the file's manifest can be had, :meth:`Store.fetch` fetches every chunk through the stores,
mirrors and kachery (each chunk verified). Otherwise the file is downloaded in pieces (the manifest's chunks,
or :data:`~.manifest.CHUNK_SIZE` bytes) by parallel ranged GETs from the first source that has it: a mirror or
kachery holding the whole file, then each original source in turn. Pieces go to a partial file with a state
file of the pieces written (:mod:`.partial`), so a download killed or cut off resumes where it stopped. When a
manifest is known every piece is checked against its chunk's sha1 as it arrives; in every case the whole
file's sha1 is checked before the file is admitted (moved, not copied, into the store and pinned) and its
manifest written, so later reads are chunk-verified and the store can serve as a mirror.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import NamedTuple

from ..errors import ContentNotFound, FetchError, IntegrityError, StoreFullError
from . import ingest
from .failover import backoff
from .manifest import CHUNK_SIZE, Chunk, Manifest
from .mirror import Body, PermanentError, TransientError
from .origin import Origin, OriginReader, Refused
from .partial import Partial
from .uri import ContentURI

__all__ = ["Fetched", "fetch", "download"]


#: the first bytes of a zip archive (a raw int16 recording practically never starts so)
ZIP_MAGIC = b"PK\x03\x04"


class Fetched(NamedTuple):
    """What :func:`fetch` did: the file's URI, bytes transferred, where from, and the manifest written."""

    uri: str
    nbytes: int
    source: str
    manifest: str | None = None


class NotHere(Exception):
    """A source answered that it does not have the file."""


class _Pieces:
    """A mirror or the live kachery remote holding the whole file: its ranged ``get``."""

    def __init__(self, src, sha1: str):
        self.src, self.sha1 = src, sha1
        self.name = "live kachery" if hasattr(src, "describe") else f"mirror {src.base}"

    def read(self, start: int, end: int) -> Body | None:
        return self.src.get(self.sha1, start, end, end - start)

    def describe(self) -> str:
        """The source and what is known of it (the kachery services asked, or unreachable)."""
        return self.src.describe() if hasattr(self.src, "describe") else self.name


class _OriginPieces:
    """An original source: bytes ``[offset + start, offset + end)`` of its URL."""

    def __init__(self, origin: Origin, reader: OriginReader):
        self.origin, self.reader = origin, reader
        self.name = origin.describe()

    def read(self, start: int, end: int) -> Body:
        body = self.reader.read_range(self.origin, start, end)
        if start == 0 and bytes(body.data[:4]) == ZIP_MAGIC:
            raise Refused(f"{self.origin.url} is a zip archive, not the raw file itself: download it, unpack it, and "
                          "run `npx2020 add` on the raw file")
        return body


def _piece(src, a: int, b: int, expect: str | None, retries: int) -> Body:
    """One piece from ``src``, retried on transient failures; checked against ``expect`` when known."""
    last = None
    for attempt in range(retries):
        if attempt:
            time.sleep(backoff(attempt))
        try:
            body = src.read(a, b)
        except TransientError as err:
            last = err
            continue
        if body is None:
            raise NotHere(f"{src.name} does not have it")
        if expect and body.sha1 != expect:
            raise IntegrityError(f"{src.name}: bytes {a}-{b - 1} hash to {body.sha1}, but the catalog's manifest "
                                 f"says {expect}: this source's bytes are not the catalog's file")
        return body
    raise TransientError(f"{src.name}: bytes {a}-{b - 1} failed {retries} times; last: {last}")


def _pull(src, part: Partial, expect: dict[int, str], workers: int, retries: int, bar) -> None:
    """Every piece still to do from ``src``, ``workers`` at a time; the first failure stops the rest.

    The first piece is read alone: a source that refuses, lacks the file or is an archive says so after one
    request, not after ``2 * workers``.
    """
    todo = part.todo()
    if not todo:
        return
    a, b = todo.pop(0)
    body = _piece(src, a, b, expect.get(a), retries)
    part.write(a, body.data, body.sha1)
    bar.update(b - a)
    with ThreadPoolExecutor(workers, thread_name_prefix="npx2020-download") as ex:
        pending = {ex.submit(_piece, src, a, b, expect.get(a), retries): (a, b) for a, b in todo[:2 * workers]}
        queue = iter(todo[2 * workers:])
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    a, b = pending.pop(f)
                    body = f.result()
                    part.write(a, body.data, body.sha1)
                    bar.update(b - a)
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending[ex.submit(_piece, src, nxt[0], nxt[1], expect.get(nxt[0]), retries)] = nxt
        finally:
            for f in pending:
                f.cancel()


def _whole_sha1(part: Partial, progress: bool | None) -> str:
    """sha1 of the whole partial file, read once (a progress bar on a terminal)."""
    from ..progress import progress_bar

    digest = hashlib.sha1()
    with open(part.path, "rb") as f, progress_bar(part.size, f"verify {part.sha1[:12]}", progress) as bar:
        while block := f.read(8 << 20):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def _verify_and_admit(store, part: Partial, progress: bool | None, discard: bool, known: str | None) -> str:
    """Hash the whole partial file; admit it (pinned) with its manifest (``known``, else a new one) if it is the
    file, else refuse."""
    part.close()
    if known or all(b - a == CHUNK_SIZE or b == part.size for a, b in part.bounds):
        got = _whole_sha1(part, progress)  # the chunk hashes are known: the pieces' own, or the manifest's
        chunks = [Chunk(a, b, part.done[a]) for a, b in part.bounds]
    else:
        got, chunks = ingest.hash_file(part.path, progress)
    if got != part.sha1:
        kept = (f"the partial download is kept at {part.path} (rerun with --discard-partial to remove it)"
                if not discard else f"the {part.discard()}-byte partial download was removed")
        raise IntegrityError(f"the downloaded bytes hash to {got}, not to the catalog's {part.sha1}: the source's "
                             f"file is not the catalog's file. Nothing was admitted; {kept}")
    if known and store.own.pin(known):
        manifest = known
    else:
        manifest = ingest.put_bytes(store.own, Manifest(part.size, got, tuple(chunks)).to_bytes(), pin=True)
    store.own.put_file(got, part.path, link="hard")
    part.discard()
    return manifest


def download(store, u: ContentURI, size: int, origins: list[Origin], expect: list[Chunk] | None = None,
             progress: bool | None = None, discard_partial: bool = False, piece: int = CHUNK_SIZE) -> Fetched:
    """Download file ``u`` (``size`` bytes) by pieces from a mirror, kachery, or ``origins``, resumably.

    Parameters
    ----------
    store : Store
    u : ContentURI
    size : int
    origins : list of Origin
    expect : list of Chunk, optional
        The file's manifest chunks (pieces are then those chunks, each checked as it arrives).
    progress : bool, optional
    discard_partial : bool
        Remove the partial download on failure (default: keep it so a rerun resumes).
    piece : int
        Bytes per ranged GET when no manifest is known.

    Raises
    ------
    IntegrityError
        A source's bytes are not the file (nothing is admitted).
    FetchError
        Every source failed or refused (the partial download is kept unless ``discard_partial``).
    StoreFullError
        The disk has less free space than the bytes still to download.
    """
    from ..progress import progress_bar

    if expect:
        bounds = [(c.start, c.end) for c in expect]
    else:
        bounds = [(a, min(a + piece, size)) for a in range(0, size, piece)]
    part = Partial(store.own.path, u.sha1, size, bounds)
    reader = OriginReader(store.config.timeout, store.config.parallel)
    sources = [_Pieces(s, u.sha1) for s in store.mirrors + store.remotes] + [_OriginPieces(o, reader) for o in origins]
    with store.own.lock(u.sha1):
        resumed = part.resume()
        _check_space(part, size - resumed, u)
        part.open()
        with progress_bar(size, f"download {u.label or u.sha1[:12]}", progress) as bar:
            bar.update(resumed)
            used, errors = _run(part, sources, {c.start: c.sha1 for c in expect or ()}, store.config, bar)
        if part.todo():
            _failed(part, u, errors, discard_partial)
        manifest = _verify_and_admit(store, part, progress, discard_partial, u.manifest if expect else None)
    return Fetched(str(u), size - resumed, used, manifest)


def _check_space(part: Partial, need: int, u: ContentURI) -> None:
    """Refuse up front a download the disk cannot hold (the partial file is sparse until written)."""
    where = part.dir
    while not where.exists():
        where = where.parent
    free = shutil.disk_usage(where).free
    if free < need:
        raise StoreFullError(f"{u}: the download needs {need / 1e9:.1f} GB more, and {where} has "
                             f"{free / 1e9:.1f} GB free: free some space, or point NPX2020_STORE at a larger disk")


def _run(part: Partial, sources: list, checks: dict[int, str], config, bar) -> tuple[str, list]:
    """Pull the missing pieces from each source in turn until none is missing; (source used, errors)."""
    used = "a partial download already complete" if not part.todo() else ""
    errors: list = []
    for src in sources:
        if not part.todo():
            break
        try:
            _pull(src, part, checks, config.parallel, max(config.retries, 5), bar)
            used = src.name
        except NotHere:
            errors.append(f"{src.describe() if isinstance(src, _Pieces) else src.name}: not there")
        except (PermanentError, TransientError, FetchError, IntegrityError) as err:
            errors.append(err)
    return used, errors


def _failed(part: Partial, u: ContentURI, errors: list, discard: bool):
    done = sum(b - a for a, b in part.bounds if a in part.done)
    part.close()
    if discard or not done:
        part.discard()
        kept = "the partial download was removed" if done else "nothing was downloaded"
    else:
        kept = f"{done} of {part.size} bytes are kept in {part.path}; run the same command again to resume"
    if not errors:
        raise ContentNotFound(f"{u}: no source to download it from; {kept}")
    text = " | ".join(str(e) for e in errors[-4:])
    if any(isinstance(e, IntegrityError) for e in errors):
        raise IntegrityError(f"{u}: nothing was admitted: {text}. {kept}")
    raise FetchError(f"{u}: could not download it: {text}. {kept}")


def fetch(store, uri, origins=(), size: int | None = None, progress: bool | None = None,
          discard_partial: bool = False, piece: int = CHUNK_SIZE) -> Fetched:
    """Make file ``uri`` whole and verified in our store, from the first place that has it.

    Parameters
    ----------
    store : Store
    uri : str or ContentURI
    origins : sequence of Origin or mappings
        Original sources (a catalog entry's ``metadata.sources``), tried after stores, mirrors and kachery.
    size : int, optional
        The file's size when no manifest is available (else taken from the first source that states it).
    progress, discard_partial, piece
        See :func:`download`.
    """
    u = store.resolve(uri)
    origins = [o if isinstance(o, Origin) else Origin.parse(o) for o in origins]
    if store.locate(u.sha1):
        return Fetched(str(u), 0, "already in a local store")
    chunks, err = _manifest_chunks(store, u)
    if chunks is None and not u.manifest:  # a small file: whole from a mirror or kachery, verified (≤ 2 GiB)
        try:
            return Fetched(str(u), store.fetch(u, progress), "stores, mirrors and kachery")
        except (ContentNotFound, FetchError) as e:
            if not origins:
                raise
            err = e
    if chunks is not None:
        try:
            n = store.fetch(u, progress)  # flushes its write-behind: the chunks are in place
            return Fetched(str(u), n, "stores, mirrors and kachery" if n else "every chunk already in a local store",
                           u.manifest)
        except (ContentNotFound, FetchError) as e:
            err = e
    size = chunks[-1].end if chunks else size or next((o.size for o in origins if o.size), None)
    size = size or _remote_size(store, u.sha1)
    if not size:
        raise ContentNotFound(f"{u}: its size is unknown (no manifest, no source states it), so it cannot be "
                              f"downloaded by ranges. {err or ''}".strip())
    return download(store, u, size, origins, chunks, progress, discard_partial, piece)


def _manifest_chunks(store, u: ContentURI):
    """The manifest's chunks if the manifest can be had, else ``(None, why)``."""
    if not u.manifest:
        return None, None
    try:
        return list(store.manifest(u.manifest, u.sha1, str(u)).chunks), None
    except (ContentNotFound, FetchError) as err:
        return None, err


def _remote_size(store, sha1: str) -> int | None:
    for r in store.remotes:
        try:
            n = r.size(sha1)
        except (TransientError, PermanentError):
            continue
        if n:
            return n
    return None
