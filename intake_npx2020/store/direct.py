"""Writing verified chunks to disk without piling up dirty pages in the page cache (``O_DIRECT``).

A cold pass writes every byte it fetches once. Written through the page cache, those bytes stay dirty until the
background ``fsync``; on a machine whose memory is full of page cache, allocating, throttling and reclaiming
those pages cost more CPU than hashing the bytes (2-core VM: 1.0–3.3 s of CPU per 1.39 GB, against 0.2 s
through ``O_DIRECT``; ``benchmarks/README.md``). So :func:`write_direct` copies the data through a small
page-aligned buffer per thread (or straight from ``data`` when it is page-aligned, as the store's receive buffers
are: :mod:`.buffers`) into a second descriptor of the file opened with ``O_DIRECT`` (whole 4 kB blocks; the tail
goes through the page cache), and says so. Where ``O_DIRECT`` does not exist or the file system refuses it
(tmpfs, some network file systems), it writes nothing and returns ``False``: the caller writes normally.
The file is still ``fsync`` ed before its rename (``OwnStore.put``): ``O_DIRECT`` bypasses the page cache, not
the disk's own cache.
"""

from __future__ import annotations

import errno
import mmap
import os
import threading

import numpy as np

from .buffers import ALIGN  # block size every O_DIRECT file system accepts (offsets, lengths, addresses)

__all__ = ["write_direct", "ALIGN", "BOUNCE"]

BOUNCE = 4 << 20        # bytes per write through the aligned buffer
_FLAG = getattr(os, "O_DIRECT", 0)
_local = threading.local()
_refused: set[int] = set()  # st_dev of file systems that refused O_DIRECT


def _bounce() -> memoryview:
    view = getattr(_local, "view", None)
    if view is None:
        view = _local.view = memoryview(mmap.mmap(-1, BOUNCE))  # anonymous mappings are page-aligned
    return view


def write_direct(path: str | os.PathLike, fd: int, data) -> bool:
    """Write ``data`` at offset 0 of the empty file ``path`` (open as ``fd``), bypassing the page cache.

    Parameters
    ----------
    path : path-like
        The file, opened again with ``O_DIRECT`` for the aligned part.
    fd : int
        A descriptor of the same file open for writing; the tail (under 4 kB) is written through it.
    data : bytes-like

    Returns
    -------
    bool
        ``False`` when ``O_DIRECT`` is not available here: nothing was written, write normally instead.

    Raises
    ------
    OSError
        Any other failure of the writes (a full disk: ``ENOSPC``); the file may hold part of the data.
    """
    src = memoryview(data).cast("B")
    dev = os.fstat(fd).st_dev
    if not _FLAG or dev in _refused or len(src) < ALIGN:
        return False
    try:
        dfd = os.open(path, os.O_WRONLY | _FLAG | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        if err.errno != errno.EINVAL:
            raise
        _refused.add(dev)
        return False
    try:
        whole = len(src) - len(src) % ALIGN
        if not _copy_through(dfd, src[:whole], dev):
            os.ftruncate(fd, 0)
            return False
    finally:
        os.close(dfd)
    _pwrite_all(fd, src[whole:], whole)
    return True


def _copy_through(dfd: int, src: memoryview, dev: int) -> bool:
    aligned = np.frombuffer(src, dtype=np.uint8).ctypes.data % ALIGN == 0
    bounce = None if aligned else _bounce()
    step = len(src) if aligned else BOUNCE  # an aligned source goes to the disk in one write, with no copy
    for a in range(0, len(src), step):
        n = min(step, len(src) - a)
        if bounce is not None:
            bounce[:n] = src[a:a + n]
        try:
            _pwrite_all(dfd, src[a:a + n] if bounce is None else bounce[:n], a)
        except OSError as err:
            if err.errno != errno.EINVAL or a:
                raise
            _refused.add(dev)  # opened, but its writes need another alignment: write normally
            return False
    return True


def _pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    done = 0
    while done < len(view):
        done += os.pwrite(fd, view[done:], offset + done)
