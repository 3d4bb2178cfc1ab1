"""A byte range read in successive blocks through one reused buffer: the single pass of a gather.

A reader that keeps only some of the bytes (channels of interleaved frames) reads the range a block at a time
into a buffer that stays in the CPU cache and copies out what it keeps, so every byte crosses memory once.
:func:`read_blocks` does the reading. When every byte of the range is local (the whole blob, or all its manifest
chunks), it opens each file once and fills the buffer with ``preadv`` — no lookup or ``open`` per block. Otherwise
it reads segments of :data:`SEGMENT` bytes through :meth:`Store.read_into` (fetched, verified and cached as any
read) and hands them out block by block.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from ..errors import IntegrityError

__all__ = ["read_blocks", "local_extents", "SEGMENT"]

#: Bytes per :meth:`Store.read_into` call when part of the range must be fetched.
SEGMENT = 64 << 20


def local_extents(store, uri, start: int, end: int) -> list[tuple[str, int, int]] | None:
    """``(path, offset, length)`` pieces of local files holding bytes ``[start, end)`` in order, or ``None``.

    ``None`` unless every byte is in a local root (whole blob or manifest chunks); chunks used are marked recent.
    """
    u = store.resolve(uri)
    if u.chunk_of:
        return None
    path = store.locate(u.sha1)
    if path:
        return [(path, start, end - start)]
    if not u.manifest:
        return None
    m = store.manifest(u.manifest, u.sha1, str(u))
    if end > m.size:
        return None  # read_into raises the error that names the range
    out = []
    for c in m.chunks_for(start, end):
        p = store.locate(c.sha1)
        if p is None:
            return None
        a, b = max(start, c.start), min(end, c.end)
        out.append((p, a - c.start, b - a))
        store.own.touch(c.sha1)
    return out


def _open_all(extents: list[tuple[str, int, int]]) -> list[tuple[int, int, int]] | None:
    fds: list[tuple[int, int, int]] = []
    try:
        for path, off, n in extents:
            fds.append((os.open(path, os.O_RDONLY | os.O_CLOEXEC), off, n))
    except FileNotFoundError:  # evicted between locate and open: read through the store instead
        for fd, _, _ in fds:
            os.close(fd)
        return None
    return fds


def _fill(fds: list[tuple[int, int, int]], pos: list[int], view: memoryview, where: str) -> None:
    """Fill ``view`` from the extents, ``pos`` = [extent index, bytes used of it] (advanced in place)."""
    got = 0
    while got < len(view):
        fd, off, n = fds[pos[0]]
        want = min(len(view) - got, n - pos[1])
        k = os.preadv(fd, [view[got:got + want]], off + pos[1])
        if k == 0:
            raise IntegrityError(f"{where}: a local file is shorter than expected (EOF at byte {off + pos[1]})")
        got += k
        pos[1] += k
        if pos[1] == n:
            pos[0] += 1
            pos[1] = 0


def read_blocks(store, uri, start: int, end: int, buf) -> Iterator[memoryview]:
    """Bytes ``[start, end)`` of a file in successive views of ``len(buf)`` bytes (the last may be shorter).

    The views are of ``buf`` when every byte is local, else of a segment buffer; each is valid until the next
    is asked for. The bytes are the store's: local blobs as they are, fetched
    ones verified by sha1 before use (as :meth:`Store.read_into`).
    """
    buf = memoryview(buf).cast("B")
    extents = local_extents(store, uri, start, end)
    fds = _open_all(extents) if extents else None
    if fds is None:
        yield from _through_store(store, uri, start, end, buf)
        return
    try:
        pos = [0, 0]
        for a in range(start, end, len(buf)):
            view = buf[:min(len(buf), end - a)]
            _fill(fds, pos, view, str(uri))
            yield view
    finally:
        for fd, _, _ in fds:
            os.close(fd)


def _through_store(store, uri, start: int, end: int, buf: memoryview) -> Iterator[memoryview]:
    """Segments read (and fetched if need be) by the store, handed out in views of ``len(buf)`` bytes."""
    step = max(len(buf), SEGMENT // len(buf) * len(buf))
    seg = memoryview(bytearray(min(step, end - start)))
    for a in range(start, end, step):
        n = min(step, end - a)
        store.read_into(uri, a, seg[:n])
        for b in range(0, n, len(buf)):
            yield seg[b:min(n, b + len(buf))]
