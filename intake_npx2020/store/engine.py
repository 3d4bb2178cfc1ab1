"""Bytes by content address: local roots first, then mirrors; every fetched chunk verified, then cached.

``Store.read(uri, start, end)`` is the one entry point the layers above use. For a file with a manifest,
the range is mapped onto the manifest's chunks; each chunk comes from the first local root that has the
whole file or the chunk, else from a mirror (a ranged GET of the whole file, or the chunk's own blob),
is checked against its sha1 in the thread that receives it, cached in our store under that sha1 (written, synced
and renamed into place by background threads: :mod:`.writeback`), and sliced.
"""

from __future__ import annotations

import os
import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor, wait

from ..errors import ContentNotFound, IntegrityError, InvalidArgument
from . import dirobj, ingest
from .buffers import copy_into
from .config import StoreConfig
from .failover import Failover
from .ingest import Added, sha1_of
from .local import OwnStore, ReadRoot
from .located import LocatedFiles
from .manifest import Chunk, Manifest
from .mirror import Mirror
from .recent import RecentChunks
from .remotes import note_uri, remote_sources
from .uri import ContentURI, parse_uri
from .writeback import WriteBehind

__all__ = ["Store", "Added", "get_store", "sha1_of"]

_instances: dict[StoreConfig, "Store"] = {}
_instances_lock = threading.Lock()


def get_store(storage_options: dict | None = None) -> "Store":
    """The process-wide :class:`Store` for these ``storage_options`` merged over the environment."""
    return _from_config(StoreConfig.from_options(storage_options))


def _pread_into(path: str, offset: int, out: memoryview) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        got = 0
        while got < len(out):
            k = os.preadv(fd, [out[got:]], offset + got)
            if k == 0:
                raise IntegrityError(f"local file {path} is shorter than expected (EOF at byte {offset + got})")
            got += k
    finally:
        os.close(fd)


class Store:
    """Content-addressed bytes from local roots and HTTP mirrors.

    Use :func:`get_store` to share one instance per configuration in a process. Instances pickle as
    their configuration, so dask workers rebuild their own (sessions and pools are never pickled).
    """

    def __init__(self, config: StoreConfig | None = None):
        self.config = config or StoreConfig.from_options()
        self.own = OwnStore(self.config.store, self.config.cache_max)
        self.writes = WriteBehind(self.own)  # fetched chunks on their way to the disk
        self.located = LocatedFiles()  # files named by a URI's location=, once their sha1 is checked
        self.roots = [self.own] + [ReadRoot(r) for r in self.config.read_roots] + [self.located]
        self.mirrors = [Mirror(m, self.config.timeout, self.config.parallel) for m in self.config.mirrors]
        self.remotes = remote_sources(self.config)  # tried after the mirrors
        self.failover = Failover(self.mirrors, self.config, self._count, self._where, self.remotes)
        self._manifests: dict[str, Manifest] = {}
        self._inflight: dict[str, Future] = {}
        # the last verified chunks fetched: the read-ahead and a chunk straddled by two windows (streaming: twice)
        self._recent = RecentChunks((1 if self.config.cache else 2) * self.config.parallel + 2,
                                    busy=lambda: bool(self._inflight))
        self._last_chunk: dict[str, int] = {}  # file sha1 -> last manifest chunk read remotely (read-ahead)
        self._ahead: weakref.WeakSet[Future] = weakref.WeakSet()  # read-ahead submitted, for flush()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self.stats = {"bytes_fetched": 0, "chunks_fetched": 0, "chunk_hits": 0, "requests": 0, "retries": 0,
                      "packed_chunks": 0, "packed_bytes": 0}  # chunks fetched compressed, and their decoded bytes

    def __reduce__(self):
        return (_from_config, (self.config,))

    def __repr__(self) -> str:
        return f"Store(store={self.config.store!r}, mirrors={list(self.config.mirrors)})"

    # -- lookup ---------------------------------------------------------------------------------------
    def locate(self, sha1: str) -> str | None:
        """Local path of a whole blob in any root (ours first), or ``None``."""
        for root in self.roots:
            p = root.locate(sha1)
            if p:
                return p
        return None

    def _where(self) -> str:
        roots = ", ".join(str(r.path) for r in self.roots)
        mirrors = ", ".join(m.base for m in self.mirrors) or "none configured (NPX2020_MIRRORS)"
        remote = "; ".join(r.describe() for r in self.remotes) or "live kachery lookups off (NPX2020_KACHERY=0)"
        return f"local stores searched: {roots}; mirrors: {mirrors}; {remote}"

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.stats[key] += n

    # -- whole blobs (small files, manifests, directory objects) --------------------------------------
    def load_bytes(self, sha1: str, uri: str | None = None) -> bytes:
        """Whole blob ``sha1``: read locally, or fetched whole from a mirror, verified and cached."""
        data = self._local_bytes(sha1)
        if data is not None:
            return data
        with self.own.lock(sha1):
            data = self._local_bytes(sha1)
            if data is not None:
                return data
            data = bytes(self._fetch_verified(sha1, None, sha1, uri or f"sha1://{sha1}"))
            self.own.put(sha1, data)
        return data

    def _local_bytes(self, sha1: str) -> bytes | None:
        """The whole blob from a local root, or ``None`` (absent, or evicted between locate and open)."""
        path = self.locate(sha1)
        if path is None:
            return None
        try:
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def manifest(self, sha1: str, file_sha1: str | None = None, uri: str | None = None) -> Manifest:
        """The parsed manifest blob ``sha1`` (checked to describe ``file_sha1`` when given)."""
        m = self._manifests.get(sha1)
        if m is None:
            where = f"manifest {sha1}" + (f" of {uri}" if uri else "")
            m = Manifest.from_bytes(self.load_bytes(sha1, where), name=where)
            self._manifests[sha1] = m
        if file_sha1 and m.sha1 != file_sha1:
            raise IntegrityError(f"manifest {sha1} describes file {m.sha1}, not {file_sha1}; the URI is inconsistent")
        return m

    def resolve(self, uri: str | ContentURI) -> ContentURI:
        """Turn a ``sha1dir://`` URI into the ``sha1://`` URI of the file it names (its hash checked: 40 hex)."""
        u = parse_uri(uri)
        if u.zone or u.location:
            note_uri(self, u)
        if u.scheme != "sha1dir":
            return u
        h = dirobj.file_sha1(self.load_bytes(u.sha1, str(u)), u.sha1, u.label, str(u))
        return ContentURI("sha1", h, u.label.split("/")[-1])

    def size(self, uri: str | ContentURI) -> int:
        """Size in bytes of the file a URI names, known only from a verified source.

        That is a manifest, a local blob, or the file's own bytes: a file without a manifest is fetched whole
        and verified (then cached) first. No mirror's claim (``HEAD``, ``Content-Length``) is ever trusted.
        """
        u = self.resolve(uri)
        if u.chunk_of:
            return u.chunk_of[2] - u.chunk_of[1]
        path = self.locate(u.sha1)
        if path:
            try:
                return os.path.getsize(path)
            except FileNotFoundError:
                pass  # evicted meanwhile
        if u.manifest:
            return self.manifest(u.manifest, u.sha1, str(u)).size
        return len(self.load_bytes(u.sha1, str(u)))

    def has_local(self, uri: str | ContentURI) -> bool:
        """True when every byte of the file is in a local root (whole file or all its chunks)."""
        u = self.resolve(uri)
        if self.locate(u.sha1):
            return True
        if u.manifest:
            try:
                m = self.manifest(u.manifest, u.sha1, str(u))
            except ContentNotFound:
                return False
            return all(self.locate(c.sha1) for c in m.chunks)
        return False

    # -- ranged reads ---------------------------------------------------------------------------------
    def read(self, uri: str | ContentURI, start: int = 0, end: int | None = None) -> bytearray:
        """Bytes ``[start, end)`` of the file named by ``uri`` (``end`` is clipped to the file size)."""
        u = self.resolve(uri)
        size = self.size(u)
        end = size if end is None else min(end, size)
        if start < 0 or start > size or end < start:
            raise InvalidArgument(f"byte range [{start}, {end}) is outside {u} of {size} bytes")
        out = bytearray(end - start)
        self.read_into(u, start, memoryview(out))
        return out

    def read_into(self, uri: str | ContentURI, start: int, out: memoryview) -> None:
        """Fill ``out`` with bytes ``[start, start + len(out))`` of the file (no clipping)."""
        u = self.resolve(uri)
        out = memoryview(out).cast("B")
        end = start + len(out)
        self.writes.check()
        if u.chunk_of:
            parent, s, e = u.chunk_of
            if end > e - s:
                raise InvalidArgument(f"byte range [{start}, {end}) is outside chunk {u} of {e - s} bytes")
            chunk = Chunk(s, e, u.sha1)
            self._read_chunk_into(parent, chunk, start, end, out, str(u))
            return
        path = self.locate(u.sha1)
        if path:
            try:
                _pread_into(path, start, out)
                return
            except FileNotFoundError:
                pass  # evicted meanwhile; fall through to the remote path
        if not u.manifest:
            data = self.load_bytes(u.sha1, str(u))
            if end > len(data):
                raise InvalidArgument(f"byte range [{start}, {end}) is outside {u} of {len(data)} bytes")
            copy_into(out, memoryview(data)[start:end])
            return
        m = self.manifest(u.manifest, u.sha1, str(u))
        if end > m.size:
            raise InvalidArgument(f"byte range [{start}, {end}) is outside {u} of {m.size} bytes")
        chunks = m.chunks_for(start, end)
        jobs = []
        for c in chunks:
            a, b = max(start, c.start), min(end, c.end)
            jobs.append((c, a, b, out[a - start:b - start]))
        remote = not all(self.locate(c.sha1) or c.sha1 in self.writes for c, *_ in jobs)
        if remote:  # first, so the fetches ahead run while this read waits for its own
            self._read_ahead(u, m, m.index_of(chunks[0]), m.index_of(chunks[-1]))
        futures = [self._executor().submit(self._read_chunk_into, u.sha1, c, a - c.start, b - c.start, view, str(u))
                   for c, a, b, view in jobs[1:]] if remote else []
        for c, a, b, view in (jobs if not remote else jobs[:1]):
            self._read_chunk_into(u.sha1, c, a - c.start, b - c.start, view, str(u))
        for f in futures:
            f.result()

    def _read_ahead(self, u: ContentURI, m: Manifest, first: int, last: int) -> None:
        """After a remote read that continues the previous one, fetch the next chunks in the background."""
        with self._lock:
            previous = self._last_chunk.get(u.sha1)
            self._last_chunk[u.sha1] = last
        if previous is None or not previous <= first <= previous + 1:
            return
        ahead = [self._executor().submit(self._prefetch, u.sha1, c, str(u))
                 for c in m.chunks[last + 1:last + 1 + self.config.parallel]
                 if c.sha1 not in self._inflight and c.sha1 not in self._recent and c.sha1 not in self.writes
                 and not self.locate(c.sha1)]
        with self._lock:
            self._ahead.update(ahead)

    def _prefetch(self, file_sha1: str, chunk: Chunk, uri: str) -> None:
        try:
            self.fetch_chunk(file_sha1, chunk, uri)
        except Exception:  # noqa: BLE001 - a read of this chunk will fetch again and report the error
            pass

    def submit(self, fn, *args) -> Future:
        """Run ``fn(*args)`` on the store's fetch pool (``parallel`` threads)."""
        return self._executor().submit(fn, *args)

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.config.parallel, thread_name_prefix="npx2020-fetch")
            return self._pool

    def _read_chunk_into(self, file_sha1: str, chunk: Chunk, a: int, b: int, out: memoryview, uri: str) -> None:
        """Bytes ``[a, b)`` within ``chunk`` of file ``file_sha1`` into ``out``."""
        data = self._recent.get(chunk.sha1)
        if data is not None:
            copy_into(out, memoryview(data)[a:b])
            self._count("chunk_hits")
            return
        path = self.locate(chunk.sha1)
        if path:
            try:
                _pread_into(path, a, out)
                self._count("chunk_hits")
                self.own.touch(chunk.sha1)
                return
            except FileNotFoundError:
                pass
        data = self.fetch_chunk(file_sha1, chunk, uri)
        copy_into(out, memoryview(data)[a:b])

    def fetch_chunk(self, file_sha1: str, chunk: Chunk, uri: str) -> bytes | bytearray:
        """A whole chunk, verified (and cached, written behind); callers in threads or processes fetch it once."""
        data = self._recent.get(chunk.sha1)  # fetched a moment ago: neither the disk nor the network again
        if data is None:
            data = self.writes.read(chunk.sha1)  # fetched by this process, on its way to the disk
        if data is not None:
            self._count("chunk_hits")
            return data
        with self._lock:
            fut = self._inflight.get(chunk.sha1)
            owner = fut is None
            if owner:
                fut = self._inflight[chunk.sha1] = Future()
        if not owner:
            return fut.result()
        try:
            if self.config.cache:
                data = self._cached_or_fetch(file_sha1, chunk, uri)
            else:
                data = self._local_or_fetch(file_sha1, chunk, uri)
            fut.set_result(data)
            return data
        except BaseException as err:
            fut.set_exception(err)
            raise
        finally:
            with self._lock:
                self._inflight.pop(chunk.sha1, None)

    def _cached_or_fetch(self, file_sha1: str, chunk: Chunk, uri: str):
        """Under the chunk's cross-process lock: the blob if it is in place, else fetched and written behind."""
        release = self.own.acquire(chunk.sha1)  # let go once the chunk is in place (or failed)
        try:
            local = self._local_bytes(chunk.sha1)
            if local is None:
                data = self._fetch_verified(chunk.sha1, (file_sha1, chunk.start, chunk.end), chunk.sha1, uri,
                                            chunk.size)
        except BaseException:
            release()
            raise
        if local is not None:
            release()
            self._count("chunk_hits")
            return local
        self.writes.put(chunk.sha1, data, release)
        self._recent.put(chunk.sha1, data)
        self._count("chunks_fetched")  # once handed to the write-behind: a chunk counted is local to this process
        return data

    def _local_or_fetch(self, file_sha1: str, chunk: Chunk, uri: str):
        data = self._local_bytes(chunk.sha1)
        if data is not None:
            self._count("chunk_hits")
            return data
        data = self._fetch_verified(chunk.sha1, (file_sha1, chunk.start, chunk.end), chunk.sha1, uri, chunk.size)
        self._recent.put(chunk.sha1, data)
        self._count("chunks_fetched")
        return data

    def _fetch_verified(self, blob: str, parent_range: tuple[str, int, int] | None, expect: str, uri: str,
                        size: int | None = None):
        return self.failover.fetch_verified(blob, parent_range, expect, uri, size)

    # -- bulk operations ------------------------------------------------------------------------------
    def fetch(self, uri: str | ContentURI, progress: bool | None = None) -> int:
        """Make every chunk of a file local (resumable: present chunks are skipped). Returns bytes fetched."""
        self.writes.check()
        n = ingest.fetch(self, uri, progress)
        self.flush()
        return n

    def flush(self) -> None:
        """Wait for fetches under way (read-ahead too) and the chunks' sync and rename; raise a cache write's error."""
        with self._lock:
            pending = [*self._ahead, *self._inflight.values()]
        wait(pending)  # a read-ahead waiting on another fetch ends after it
        self.writes.flush()

    def put_bytes(self, data: bytes, pin: bool = True) -> str:
        """Store bytes (pinned by default); returns their sha1."""
        return ingest.put_bytes(self.own, data, pin)

    def add_file(self, path: str | os.PathLike, link: str | None = None, label: str | None = None,
                 progress: bool | None = None) -> ingest.Added:
        """Hash a local file, write its manifest and place it in our store (pinned); see :func:`ingest.add_file`."""
        return ingest.add_file(self.own, path, link, label, progress)


def forget_stores() -> None:
    """Drop this process's :class:`Store` instances (their manifests, sessions and pools), as a new process would.

    For tests and benchmarks that change the environment between calls; stores built afterwards read it anew.
    """
    with _instances_lock:
        old = list(_instances.values())
        _instances.clear()
    for st in old:
        pool = getattr(st, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)


def _from_config(config: StoreConfig) -> Store:
    with _instances_lock:
        if config not in _instances:
            _instances[config] = Store(config)
        return _instances[config]
