"""Whole files into our store: add a local file (hash, manifest, copy or link), fetch every chunk of a remote one."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from ..errors import ConfigError, IntegrityError
from .manifest import CHUNK_SIZE, MANIFEST_THRESHOLD, Chunk, Manifest
from .uri import format_uri

__all__ = ["Added", "add_file", "fetch", "put_bytes", "sha1_of"]


def sha1_of(data) -> str:
    """Hex sha1 of bytes."""
    return hashlib.sha1(data).hexdigest()


class Added(NamedTuple):
    """What :func:`add_file` did: the file's URI, and whether it was new to the store."""

    uri: str
    new: bool


def fetch(store, uri, progress: bool | None = None) -> int:
    """Make every chunk of a file local in ``store`` (resumable: present chunks are skipped).

    Parameters
    ----------
    store : Store
    uri : str or ContentURI
    progress : bool, optional
        Show a progress bar (default: when on a terminal).

    Returns
    -------
    int
        Bytes fetched.
    """
    from ..progress import progress_bar

    if not store.config.cache:
        raise ConfigError("fetch() keeps bytes in the store, but this store has cache=False (NPX2020_CACHE=0)")
    u = store.resolve(uri)
    if store.locate(u.sha1):
        return 0
    if not u.manifest:
        return len(store.load_bytes(u.sha1, str(u)))
    m = store.manifest(u.manifest, u.sha1, str(u))
    todo = [c for c in m.chunks if not store.locate(c.sha1)]
    fetched = 0
    with progress_bar(sum(c.size for c in todo), f"fetch {u.label or u.sha1[:12]}", progress) as bar:
        futures = [store.submit(store.fetch_chunk, u.sha1, c, str(u)) for c in todo]
        for c, f in zip(todo, futures):
            f.result()
            fetched += c.size
            bar.update(c.size)
    return fetched


def put_bytes(own, data: bytes, pin: bool = True) -> str:
    """Store bytes in our store ``own`` (pinned by default); returns their sha1."""
    h = sha1_of(data)
    if pin and own.pin(h):  # present once pinned: no eviction can take it from now on
        return h
    if pin or not own.locate(h):
        own.put(h, data, pin=pin)
    return h


def hash_file(path: Path, progress: bool | None = None) -> tuple[str, list[Chunk]]:
    """The file's sha1 and its manifest chunks (``CHUNK_SIZE`` each), read once with a progress bar."""
    from ..progress import progress_bar

    size = path.stat().st_size
    whole = hashlib.sha1()
    chunks = []
    with open(path, "rb") as f, progress_bar(size, f"hash {path.name}", progress) as bar:
        for pos in range(0, size, CHUNK_SIZE):
            data = f.read(min(CHUNK_SIZE, size - pos))
            if len(data) != min(CHUNK_SIZE, size - pos):
                raise IntegrityError(f"{path} changed while being read (short read at byte {pos})")
            whole.update(data)
            chunks.append(Chunk(pos, pos + len(data), sha1_of(data)))
            bar.update(len(data))
    return whole.hexdigest(), chunks


def add_file(own, path: str | os.PathLike, link: str | None = None, label: str | None = None,
             progress: bool | None = None, check: Callable[[str], None] | None = None) -> Added:
    """Hash a local file, write its manifest and place it in our store ``own`` (pinned).

    Parameters
    ----------
    own : OwnStore
    path : path-like
        The file, e.g. a raw ``.bin`` obtained from the original source.
    link : {None, "hard", "sym"}
        Copy (default), or link instead of copying (for 80 GB files). A linked file must not change.
    label : str, optional
        File name in the URI (default: the file's name).
    progress : bool, optional
    check : callable, optional
        Called with the file's sha1 once it is hashed, before anything is stored; it raises to refuse the file
        (e.g. a SpikeGLX ``fileSHA1`` that disagrees), and then nothing is kept.

    Returns
    -------
    Added
        ``uri`` (``sha1://<sha1>/<label>[?manifest=<sha1>]``) and ``new`` (False if it was already there).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cannot add {path}: no such file")
    st = path.stat()
    h, chunks = hash_file(path, progress)
    if check is not None:
        check(h)
    manifest = None
    if st.st_size > MANIFEST_THRESHOLD:
        manifest = put_bytes(own, Manifest(st.st_size, h, tuple(chunks)).to_bytes(), pin=True)
    new = not own.pin(h)  # False: it was there, and pinned before any eviction could take it
    if new:
        own.put_file(h, path, link)
        st2 = path.stat()
        if (st2.st_size, st2.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
            os.unlink(own.locate(h))
            raise IntegrityError(f"{path} changed while being added; nothing was kept")
    return Added(format_uri(sha1=h, label=label or path.name, manifest=manifest), new)
