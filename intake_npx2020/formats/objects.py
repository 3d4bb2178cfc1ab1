"""Resolve a driver argument that is either a 2020 object mapping or the ``sha1://`` URI of its JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping

from ..errors import InvalidObject
from ..store.engine import Store


def leaves(obj):
    """Every scalar inside nested mappings and lists, in order (``None`` and booleans skipped).

    Iterative, so that any depth of nesting is walked (no ``RecursionError``).
    """
    stack = [iter((obj,))]
    while stack:
        try:
            v = next(stack[-1])
        except StopIteration:
            stack.pop()
            continue
        if isinstance(v, Mapping):
            stack.append(iter(v.values()))
        elif isinstance(v, (list, tuple)):
            stack.append(iter(v))
        elif v is not None and not isinstance(v, bool):
            yield v


def load_object(obj: Mapping | str, store: Store, what: str) -> dict:
    """Return the object mapping; a ``sha1://…json`` string is fetched (verified) and parsed.

    Raises
    ------
    InvalidObject
        When the argument is neither, or the JSON is malformed, too deeply nested or not an object.
    """
    if isinstance(obj, Mapping):
        return dict(obj)
    if not isinstance(obj, str):
        raise InvalidObject(f"{what} must be a 2020 object mapping or a sha1:// URI of one, "
                            f"not {type(obj).__name__}")
    data = bytes(store.read(obj))
    try:
        out = json.loads(data)
    except (ValueError, RecursionError) as err:
        raise InvalidObject(f"{what} {obj}: not a JSON object ({str(err)[:200]})") from None
    if not isinstance(out, dict):
        raise InvalidObject(f"{what} {obj}: the JSON is a {type(out).__name__}, not an object")
    return out
