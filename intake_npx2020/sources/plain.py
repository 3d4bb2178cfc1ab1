"""Plain, YAML-safe values for what intake shows and serialises (``discover()``, ``describe()``)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["plain"]


def plain(value):
    """``value`` with numpy dtypes as strings, numpy scalars and arrays as Python numbers and lists.

    The result passes ``yaml.safe_dump`` and ``json.dumps`` (mapping keys become strings where they are not;
    tuples stay tuples, which both write as lists).
    """
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).str if np.dtype(value).kind == "V" else str(np.dtype(value))
    if isinstance(value, Mapping):
        return {k if isinstance(k, (str, int, float, bool)) or k is None else str(k): plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, (list, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value
