"""Checks of the fields of 2020 objects and of the arrays they name: a value is what it must be, or
:class:`~intake_npx2020.errors.InvalidObject` names the field and says why.

The strict side is taken everywhere: booleans and strings are not numbers, a count is an integer (an integral
float such as ``385.0`` is accepted, ``385.5`` is not), rates are finite and positive, sample indices are
non-negative integers below :data:`MAX_INDEX`.
"""

from __future__ import annotations

import numbers
import reprlib

import numpy as np

from ..errors import InvalidObject, InvalidURI
from ..store.uri import parse_uri

__all__ = ["integer", "rate", "finite", "sample_indices", "unit_labels", "content_uri", "MAX_INDEX"]

#: Largest sample index or unit id accepted: every integer up to 2**53 is exact in float64 (3,000 years at 100 kHz).
MAX_INDEX = 2**53


def _number(v, what: str) -> float | int:
    if isinstance(v, np.ndarray):
        if v.size != 1:
            raise InvalidObject(f"{what} must be one number, got an array of shape {v.shape}")
        v = v.reshape(-1)[0]
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise InvalidObject(f"{what} must be a number, got {type(v).__name__} {reprlib.repr(v)}")
    return v


def integer(v, what: str, lo: int | None = None, hi: int | None = None) -> int:
    """``v`` as an ``int`` if it is an integer (or an integral finite float) in ``[lo, hi]``."""
    v = _number(v, what)
    if isinstance(v, (numbers.Integral, np.integer)):
        out = int(v)
    elif np.isfinite(v) and float(v) == int(v):
        out = int(v)
    else:
        raise InvalidObject(f"{what} must be an integer, got {v!r}")
    if (lo is not None and out < lo) or (hi is not None and out > hi):
        raise InvalidObject(f"{what} = {out} is outside [{lo if lo is not None else '-inf'}, "
                            f"{hi if hi is not None else 'inf'}]")
    return out


def finite(v, what: str) -> float:
    """``v`` as a finite ``float``."""
    out = float(_number(v, what))
    if not np.isfinite(out):
        raise InvalidObject(f"{what} must be finite, got {out}")
    return out


def rate(v, what: str) -> float:
    """A sampling rate: a finite number above zero, in Hz."""
    out = finite(v, what)
    if out <= 0:
        raise InvalidObject(f"{what} must be above zero, got {out}")
    return out


def _integral_array(a, what: str, lo: int, hi: int) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim > 2 or (a.ndim == 2 and 1 not in a.shape):
        raise InvalidObject(f"{what} must be one-dimensional (or a column), got shape {a.shape}")
    a = a.reshape(-1)
    if a.dtype.kind not in "iuf":
        raise InvalidObject(f"{what} has dtype {a.dtype}; expected integers")
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise InvalidObject(f"{what} holds values that are not finite (NaN or infinity)")
        if not np.array_equal(a, np.round(a)):
            raise InvalidObject(f"{what} holds non-integral values; cannot use them as sample indices or unit ids")
    if a.size and (a.min() < lo or a.max() > hi):
        bad = a.min() if a.min() < lo else a.max()
        why = "negative" if lo == 0 and bad < 0 else "out of range"
        raise InvalidObject(f"{what} holds {why} values ({bad!r}; allowed [{lo}, {hi}])")
    return a.astype(np.int64, copy=False)


def sample_indices(a, what: str) -> np.ndarray:
    """Spike times as sample indices: integers in ``[0, MAX_INDEX]``, as int64."""
    return _integral_array(a, what, 0, MAX_INDEX)


def unit_labels(a, what: str) -> np.ndarray:
    """Unit ids or spike labels: integers in ``[-MAX_INDEX, MAX_INDEX]``, as int64."""
    return _integral_array(a, what, -MAX_INDEX, MAX_INDEX)


def content_uri(v, name: str, key: str) -> str:
    """``v`` if it is a valid content URI string (field ``key`` of object ``name``), else :class:`InvalidObject`."""
    if not isinstance(v, str):
        raise InvalidObject(f"{name}: {key} must be a sha1:// URI string, got {type(v).__name__}")
    try:
        parse_uri(v)
    except InvalidURI as err:
        raise InvalidObject(f"{name}: {key}: {err}") from None
    return v
