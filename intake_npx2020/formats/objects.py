"""Resolve a driver argument that is either a 2020 object mapping or the ``sha1://`` URI of its JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping

from ..store.engine import Store


def leaves(obj):
    """Every scalar inside nested mappings and lists, in order (``None`` and booleans skipped)."""
    if isinstance(obj, Mapping):
        for v in obj.values():
            yield from leaves(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from leaves(v)
    elif obj is not None and not isinstance(obj, bool):
        yield obj


def load_object(obj: Mapping | str, store: Store, what: str) -> dict:
    """Return the object mapping; a ``sha1://…json`` string is fetched (verified) and parsed."""
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, str):
        data = bytes(store.read(obj))
        try:
            return json.loads(data)
        except ValueError as err:
            raise ValueError(f"{what} {obj}: not a JSON object ({err})") from err
    raise TypeError(f"{what} must be a 2020 object mapping or a sha1:// URI of one, not {type(obj).__name__}")
