"""Object hashes and how far an embedded object can be trusted (§2)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Json = Any  # a JSON-compatible value: dict / list / str / int / float / bool / None


@dataclass(frozen=True)
class Provenance:
    """How far an embedded object can be trusted.

    Attributes
    ----------
    status : str
        One of ``verified``, ``computed``, ``derived``, ``reconstructed``, ``by_reference``,
        ``unavailable`` (see the catalog header).
    expected_sha1 : str or None
        Hash the embedded object must have; checked at build time. ``None`` when nothing is known.
    against : str or None
        What the hash was checked against (human readable).
    """

    status: str
    expected_sha1: str | None = None
    against: str | None = None


def sha1_obj(obj: Json) -> str:
    """Return the upstream storage hash of a JSON object.

    Parameters
    ----------
    obj : JSON-compatible object
        Insertion key order matters.

    Returns
    -------
    str
        ``sha1(json.dumps(obj).encode()).hexdigest()``: default separators, no key sorting (§2).
    """
    return hashlib.sha1(json.dumps(obj).encode()).hexdigest()


def uri_hash(uri: str) -> str:
    """Return the 40-hex hash of a ``sha1://H/...`` URI."""
    return uri.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]


def check_hash(entry_id: str, obj: Json, prov: Provenance) -> str:
    """Return the object hash, failing the build if it disagrees with ``prov.expected_sha1``.

    Raises
    ------
    AssertionError
        If ``prov`` expects another hash.
    """
    got = sha1_obj(obj)
    if prov.expected_sha1 is not None and got != prov.expected_sha1:
        raise AssertionError(f"{entry_id}: object hashes to {got}, expected {prov.expected_sha1}")
    return got


def provenance_fields(obj_sha1: str | None, prov: Provenance, uncertain: Iterable[str]) -> dict:
    """The metadata fields every recording and sorting entry ends with, in catalog order."""
    return {
        "object_sha1": obj_sha1,
        "object_status": prov.status,
        "verified_against": prov.against,
        "uncertain": list(uncertain),
    }
