"""Open a blob of a store root for serving without following any symbolic link below the root.

Each directory of ``sha1/ab/cd/ef/<sha1>`` is opened relative to its parent's descriptor with ``O_NOFOLLOW``,
so nothing placed in the store (a link at any level, a directory swapped for a link mid-request) can lead the
open outside it. A blob that is a symbolic link is followed only under the policy :func:`open_blob` documents.
Only regular files are returned: a FIFO or device node placed in the store is refused, never opened blocking.
"""

from __future__ import annotations

import errno
import os
import stat

__all__ = ["inside", "open_blob", "open_below"]

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def inside(path: str, dirs: tuple[str, ...]) -> bool:
    """True when ``path`` (absolute, resolved) lies below one of ``dirs`` (absolute, resolved)."""
    return any(path.startswith(d.rstrip("/") + "/") for d in dirs)


def open_blob(root: str, sha1: str, link_dirs: tuple[str, ...] = ()) -> int | None:
    """A read-only descriptor of blob ``sha1`` (40 lowercase hex, checked by the caller) under ``root``, or None.

    Parameters
    ----------
    root : str
        The store root, resolved (``os.path.realpath``) by the caller.
    sha1 : str
    link_dirs : tuple of str
        Resolved directories that symbolic-link blobs may point into. A blob that is a symbolic link is served
        only if this is not empty, the blob is pinned (``pins/<sha1>``, as ``npx2020 add`` leaves it), its link
        is absolute, and the file actually opened (read back from ``/proc/self/fd``) is a regular file below one
        of these directories. Links between directories of the store are never followed.

    Returns
    -------
    int or None
        The descriptor (the caller closes it), or None for absent, refused or not a regular file.
    """
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    blob = None
    try:
        for part in ("sha1", sha1[0:2], sha1[2:4], sha1[4:6]):
            parent, fd = fd, -1
            try:
                fd = os.open(part, _DIR, dir_fd=parent)
            finally:
                os.close(parent)
        try:
            blob = os.open(sha1, _FILE, dir_fd=fd)
        except OSError as err:
            if err.errno != errno.ELOOP or not link_dirs:
                return None
            blob = _open_link(root, fd, sha1, link_dirs)
    except OSError:  # missing, not a directory, a link, unreadable
        return None
    finally:
        if fd >= 0:
            os.close(fd)
    return _regular(blob)


def open_below(root: str, relpath: str) -> int | None:
    """A read-only descriptor of the regular file ``relpath`` (``a/b/c``, no ``..``) under ``root``, or None.

    Every component is opened relative to its parent without following links, as for blobs.
    """
    parts = relpath.split("/")
    if not relpath or any(p in ("", ".", "..") for p in parts):
        return None
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        for part in parts[:-1]:
            parent, fd = fd, -1
            try:
                fd = os.open(part, _DIR, dir_fd=parent)
            finally:
                os.close(parent)
        return _regular(os.open(parts[-1], _FILE, dir_fd=fd))
    except OSError:
        return None
    finally:
        if fd >= 0:
            os.close(fd)


def _open_link(root: str, dir_fd: int, sha1: str, link_dirs: tuple[str, ...]) -> int | None:
    if not os.path.lexists(os.path.join(root, "pins", sha1)):
        return None
    target = os.readlink(sha1, dir_fd=dir_fd)
    if not os.path.isabs(target):
        return None
    real = os.path.realpath(target)
    if not inside(real, link_dirs):
        return None
    fd = os.open(real, _FILE)
    try:
        opened = os.readlink(f"/proc/self/fd/{fd}")  # what was opened, whatever changed since realpath
    except OSError:
        opened = real  # no /proc: the resolved path, opened without following its last component
    if not inside(opened, link_dirs):
        os.close(fd)
        return None
    return fd


def _regular(fd: int | None) -> int | None:
    if fd is None:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd
