"""HDF5 payloads read from verified bytes in memory, and only from them.

HDF5 can make a dataset's bytes come from elsewhere: external storage (raw data in other files), virtual
datasets (mappings onto other files), external links (objects in other files), and filter plugins (shared
libraries loaded from ``HDF5_PLUGIN_PATH``). A file from a mirror could use any of them to read local files
or run code, so the file is opened from memory (no backing file) and every object on a dataset's path must be
a hard link, and the dataset contiguous, chunked or compact, with built-in filters only, of a numeric dtype
and of a plausible size. Anything else is refused with :class:`~intake_npx2020.errors.InvalidObject` naming
the dataset.
"""

from __future__ import annotations

import io
from contextlib import contextmanager

import numpy as np

from ..errors import InvalidObject
from ..extras import require

__all__ = ["open_h5", "read_dataset"]

#: deflate, shuffle, fletcher32, szip, nbit, scaleoffset: filters built into the HDF5 library.
_BUILTIN_FILTERS = {1, 2, 3, 4, 5, 6}
_MAX_RATIO = 1100


@contextmanager
def open_h5(data: bytes | bytearray, what: str):
    """The h5py ``File`` of ``data`` held in memory; any failure to parse it is an :class:`InvalidObject`."""
    h5py = require("h5py", why="h5_v1 sortings")

    try:
        f = h5py.File(io.BytesIO(bytes(data)), "r")
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as err:
        raise InvalidObject(f"{what} is not a valid HDF5 file: {str(err)[:200]}") from None
    try:
        yield f
    finally:
        f.close()


def _walk(f, path: str, what: str):
    h5py = require("h5py", why="h5_v1 sortings")

    node = f
    for i, part in enumerate(path.split("/")):
        here = "/".join(path.split("/")[:i + 1])
        link = node.get(part, getlink=True)
        if link is None:
            raise InvalidObject(f"{what}: the HDF5 file has no {here!r}")
        if not isinstance(link, h5py.HardLink):
            raise InvalidObject(f"{what}: {here!r} is a {type(link).__name__}; only objects stored in the file "
                                "itself (hard links) are read")
        node = node[part]
    if not isinstance(node, h5py.Dataset):
        raise InvalidObject(f"{what}: {path!r} is a {type(node).__name__}, not a dataset")
    return node


def _check_storage(ds, path: str, what: str, limit: int) -> None:
    h5py = require("h5py", why="h5_v1 sortings")

    dcpl = ds.id.get_create_plist()
    if ds.is_virtual or dcpl.get_layout() == h5py.h5d.VIRTUAL:
        raise InvalidObject(f"{what}: dataset {path!r} is virtual (mapped onto other files); refused")
    if dcpl.get_external_count() > 0:
        raise InvalidObject(f"{what}: dataset {path!r} has external storage (data in other files); refused")
    for i in range(dcpl.get_nfilters()):
        code = dcpl.get_filter(i)[0]
        if code not in _BUILTIN_FILTERS:
            raise InvalidObject(f"{what}: dataset {path!r} uses filter {code}, not built into HDF5 (a plugin); "
                                "refused")
    if ds.dtype.kind not in "iuf":
        raise InvalidObject(f"{what}: dataset {path!r} has dtype {ds.dtype}; expected numbers")
    if ds.size * ds.dtype.itemsize > limit:
        raise InvalidObject(f"{what}: dataset {path!r} of shape {ds.shape} is larger than its file can hold")


def read_dataset(f, path: str, what: str, file_size: int) -> np.ndarray:
    """The numeric dataset at ``path`` (``a/b``), after checking that its bytes can only come from the file.

    Parameters
    ----------
    f : h5py.File
        From :func:`open_h5`.
    path : str
        Slash-separated path from the root.
    what : str
        Names the file in errors.
    file_size : int
        Bytes of the file: bounds what a dataset may decompress to.

    Raises
    ------
    InvalidObject
        A missing, soft- or externally-linked, virtual, externally stored, plugin-filtered, non-numeric or
        implausibly large dataset, or one HDF5 cannot read.
    """
    try:
        ds = _walk(f, path, what)
        _check_storage(ds, path, what, _MAX_RATIO * file_size + (1 << 20))
        return np.asarray(ds[()])
    except InvalidObject:
        raise
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as err:
        raise InvalidObject(f"{what}: cannot read dataset {path!r}: {str(err)[:200]}") from None
