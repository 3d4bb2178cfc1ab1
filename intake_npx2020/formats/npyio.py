"""``.npy`` and ``.npz`` payloads read without trusting their headers.

``numpy.load`` allocates what a header claims before it finds that the data is not there. Here the header is
read first and checked against the bytes actually present (a numeric dtype, and shape × itemsize equal to the
data that follows), and an ``.npz`` member's declared size is checked against what deflate can produce, so a
hostile file costs at most its own size (or the size it can really decompress to) and fails with
:class:`~intake_npx2020.errors.InvalidObject`.
"""

from __future__ import annotations

import io
import math
import os
import zipfile
import zlib

import numpy as np

from ..errors import InvalidObject

__all__ = ["npy_from_bytes", "npy_from_path", "npz_members"]

_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
_MAX_RATIO = 1100  # deflate never expands more than 1032:1
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError)


def _header(fp, total: int, what: str) -> tuple[tuple, bool, np.dtype, int]:
    """``(shape, fortran_order, dtype, data offset)`` of an npy stream of ``total`` bytes, checked."""
    try:
        version = np.lib.format.read_magic(fp)
        reader = _HEADER_READERS.get(version)
        if reader is None:
            raise InvalidObject(f"{what}: npy format version {version} is not supported (1.0 and 2.0 are)")
        shape, fortran, dtype = reader(fp, max_header_size=10_000)
    except InvalidObject:
        raise
    except Exception as err:  # noqa: BLE001 - numpy parses the header with ast/tokenize: any failure is the file's
        raise InvalidObject(f"{what} is not a valid .npy file: {str(err)[:200]}") from None
    if dtype.hasobject or dtype.kind not in "iuf" or dtype.itemsize == 0:
        raise InvalidObject(f"{what} has dtype {dtype}; only integer and floating-point arrays are read")
    count = math.prod(shape)
    offset = fp.tell()
    if count * dtype.itemsize != total - offset:
        raise InvalidObject(f"{what}: its header says shape {shape} of {dtype} ({count * dtype.itemsize} bytes) "
                            f"but {total - offset} bytes of data follow")
    return shape, fortran, dtype, offset


def npy_from_bytes(data: bytes | bytearray, what: str) -> np.ndarray:
    """The array in ``.npy`` bytes (a view of ``data``, writeable when ``data`` is a bytearray)."""
    shape, fortran, dtype, offset = _header(io.BytesIO(data), len(data), what)
    flat = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=offset)
    return flat.reshape(shape, order="F" if fortran else "C")


def npy_from_path(path: str, what: str) -> np.ndarray:
    """The array in a local ``.npy`` file (read once, into an array of exactly its data's size)."""
    with open(path, "rb") as f:
        shape, fortran, dtype, _ = _header(f, os.fstat(f.fileno()).st_size, what)
        flat = np.fromfile(f, dtype=dtype, count=math.prod(shape))
    if flat.size != math.prod(shape):
        raise InvalidObject(f"{what} changed while being read")
    return flat.reshape(shape, order="F" if fortran else "C")


def npz_members(data: bytes | bytearray, names: tuple[str, ...], what: str) -> dict[str, np.ndarray]:
    """The arrays ``names`` (those present) of an ``.npz`` file's bytes."""
    out = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = {i.filename: i for i in zf.infolist()}
            for name in names:
                info = members.get(name + ".npy")
                if info is None:
                    continue
                if info.file_size > _MAX_RATIO * info.compress_size + 1024:
                    raise InvalidObject(f"{what}: member {name} claims {info.file_size} bytes from "
                                        f"{info.compress_size} compressed; deflate cannot produce that")
                with zf.open(info) as f:
                    raw = bytearray(f.read(info.file_size + 1))
                out[name] = npy_from_bytes(raw, f"{what}: {name}")
    except InvalidObject:
        raise
    except _ZIP_ERRORS as err:
        raise InvalidObject(f"{what} is not a valid .npz file: {type(err).__name__}: {str(err)[:200]}") from None
    return out
