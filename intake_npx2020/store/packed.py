"""Reading a packed mirror: a manifest chunk fetched compressed, decoded in the fetching thread, sha1-verified.

For a chunk of file ``F`` the failover (:mod:`.failover`) asks :meth:`PackedChunks.fetch` first, per mirror:

1. the mirror's pack index of ``F`` (``<F>.pco.json``), fetched once per mirror and file and remembered
   (a 404 for :data:`MISS_TTL` seconds): a mirror without one costs one request per file, never one per chunk;
2. when the index lists the chunk as ``pco``: ``GET <chunk>.pco`` of exactly ``stored_size`` bytes whose sha1 must
   be ``stored_sha1`` (else it is corrupt in transit or on the mirror: retried like any body);
3. decoded in this thread (a fetch-pool or dask worker thread, never an event loop) into a buffer of the chunk's
   size; the **decoded** bytes must hash to the manifest's chunk sha1.

Anything else returns ``None`` and the failover goes on with the raw forms (the parent's byte range, the chunk's
blob) on the same mirror, then the next mirror. A compressed chunk that fails to decode or decodes to other bytes
is refused, logged and never returned, so never cached; that mirror's compressed form of that chunk is not asked
for again by this process.

Cost on a mirror with no packed form: one request for the index per file (a miss remembered 300 s; an index that
could not be read, 30 s). Time bound added to the failover's per mirror: ``timeout`` for the index (one attempt)
plus ``retries * (timeout + stored_size / MIN_RATE)`` for the compressed chunk. The setting ``packed``
(``NPX2020_PACKED=0``) turns all of this off. Without ``pcodec`` installed, only raw forms are read.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from ..errors import InvalidObject
from . import pco
from .config import StoreConfig
from .mirror import Mirror, PermanentError, TransientError
from .packindex import SUFFIX_INDEX, SUFFIX_PCO, PackIndex, Stored

__all__ = ["PackedChunks", "MISS_TTL"]

log = logging.getLogger("intake_npx2020.store")

#: seconds a mirror's missing (or unreadable) pack index is remembered before it is asked for again
MISS_TTL = 300.0
_KEEP = 64  # pack indexes kept per process (one per mirror and file read)


class _Suffixed(Mirror):
    """The same mirror (base, timeout, connection pool), addressing ``sha1/ab/cd/ef/<h><suffix>``."""

    def __init__(self, mirror: Mirror, suffix: str):
        super().__init__(mirror.base, mirror.timeout, mirror.pool)
        self.suffix = suffix

    def url(self, sha1: str) -> str:
        return super().url(sha1) + self.suffix


class PackedChunks:
    """The compressed forms of manifest chunks on packed mirrors, for one store.

    Parameters
    ----------
    config : StoreConfig
        ``retries`` (attempts per request) and ``packed`` (off: compressed forms are never asked for).
    count : callable
        ``count(stat_name, n=1)``: the store's statistics (``requests``, ``retries``, ``bytes_fetched`` — bytes on
        the wire —, ``packed_chunks`` and ``packed_bytes`` — decoded bytes of chunks fetched compressed).
    backoff : callable
        ``backoff(attempt)``: seconds to wait before retry ``attempt`` (the failover's).
    """

    def __init__(self, config: StoreConfig, count: Callable[..., None], backoff: Callable[[int], float]):
        self.retries = config.retries
        self._count = count
        self._backoff = backoff
        self._indexes: OrderedDict[tuple[str, str], tuple[dict[str, Stored] | None, float]] = OrderedDict()
        self._refused: set[tuple[str, str]] = set()  # (mirror base, chunk sha1): its .pco was bad
        self._lock = threading.Lock()
        self._index_locks: dict[tuple[str, str], threading.Lock] = {}
        self._enabled = getattr(config, "packed", True) and pco.available()

    def fetch(self, mirror: Mirror, file_sha1: str, chunk_sha1: str, size: int, errors: list[str]) -> bytearray | None:
        """The chunk's verified raw bytes from ``mirror``'s compressed form, or ``None`` (use its raw forms).

        Parameters
        ----------
        mirror : Mirror
        file_sha1 : str
            The file the chunk belongs to (whose pack index is looked up).
        chunk_sha1 : str
            The manifest's sha1 of the chunk: the decoded bytes must have it.
        size : int
            The chunk's size from the manifest.
        errors : list of str
            Failures are appended (for the failover's error message).
        """
        if not self._enabled or (mirror.base, chunk_sha1) in self._refused:
            return None
        entries = self._index(mirror, file_sha1)
        stored = entries.get(chunk_sha1) if entries else None
        if stored is None or stored.chunk.size != size:
            return None
        body = self._get(_Suffixed(mirror, SUFFIX_PCO), chunk_sha1, stored, errors)
        if body is None:
            return None
        out = bytearray(size)
        try:
            pco.decode_into(body, out)
        except pco.DecodeError as err:
            why = str(err)
        else:
            got = hashlib.sha1(out).hexdigest()
            if got == chunk_sha1:
                self._count("packed_chunks")
                self._count("packed_bytes", size)
                return out
            why = f"decodes to bytes of sha1 {got}, not {chunk_sha1}"
        self._refuse(mirror, chunk_sha1, f"{_Suffixed(mirror, SUFFIX_PCO).url(chunk_sha1)}: {why}", errors)
        return None

    def _refuse(self, mirror: Mirror, chunk_sha1: str, message: str, errors: list[str]) -> None:
        with self._lock:
            self._refused.add((mirror.base, chunk_sha1))
        errors.append(f"{message} (refused, not cached)")
        log.warning("%s; compressed chunk refused, not cached; trying its raw form", message)

    def _get(self, view: Mirror, sha1: str, stored: Stored, errors: list[str]) -> bytearray | None:
        """The compressed bytes, exactly ``stored.size`` of them hashing to ``stored.sha1``; retried like raw bodies."""
        for attempt in range(self.retries):
            if attempt:
                self._count("retries")
                time.sleep(self._backoff(attempt))
            self._count("requests")
            try:
                body = view.get(sha1, size=stored.size)
            except TransientError as err:
                errors.append(str(err))
                log.warning("%s; retrying (%d of %d attempts made)", err, attempt + 1, self.retries)
                continue
            except PermanentError as err:
                errors.append(str(err))
                log.warning("%s; trying the raw form", err)
                return None
            if body is None:  # listed but absent: a mirror being repacked, or a partial copy
                return None
            self._count("bytes_fetched", len(body.data))
            if body.sha1 == stored.sha1:
                return body.data
            errors.append(f"{view.url(sha1)}: sha1 {body.sha1} does not match the index's {stored.sha1} "
                          "(corrupt data discarded)")
            log.warning("%s", errors[-1])
        return None

    def _index(self, mirror: Mirror, file_sha1: str) -> dict[str, Stored] | None:
        """The compressed chunks of ``file_sha1`` on ``mirror`` (by chunk sha1), or ``None``: one fetch per file."""
        key = (mirror.base, file_sha1)
        with self._lock:
            lock = self._index_locks.setdefault(key, threading.Lock())
        with lock:  # threads reading chunks of one file wait for one fetch of its index
            with self._lock:
                hit = self._indexes.get(key)
                if hit is not None and (hit[0] is not None or time.monotonic() < hit[1]):
                    self._indexes.move_to_end(key)
                    return hit[0]
            entries, ttl = self._load_index(mirror, file_sha1)
            with self._lock:
                self._indexes[key] = (entries, time.monotonic() + ttl)
                while len(self._indexes) > _KEEP:
                    old, _ = self._indexes.popitem(last=False)
                    self._index_locks.pop(old, None)
            return entries

    def _load_index(self, mirror: Mirror, file_sha1: str) -> tuple[dict[str, Stored] | None, float]:
        """The compressed chunks listed by the mirror's index of the file, and for how long a miss is kept."""
        view = _Suffixed(mirror, SUFFIX_INDEX)
        try:
            self._count("requests")
            body = view.get(file_sha1)
        except (TransientError, PermanentError) as err:  # raw forms are used meanwhile; asked again soon
            log.info("%s: pack index not read (%s); raw chunks used", view.url(file_sha1), err)
            return None, MISS_TTL / 10
        if body is None:
            return None, MISS_TTL
        self._count("bytes_fetched", len(body.data))
        try:
            index = PackIndex.from_bytes(bytes(body.data), file_sha1, f"pack index {view.url(file_sha1)}")
        except InvalidObject as err:
            log.warning("%s; its compressed chunks are not used", err)
            return None, MISS_TTL
        if index.codec != pco.CODEC:
            log.info("%s: codec %r is not known here; its raw chunks are used", view.url(file_sha1), index.codec)
            return None, MISS_TTL
        return index.compressed(), MISS_TTL
