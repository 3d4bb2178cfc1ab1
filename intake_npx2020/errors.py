"""Exceptions raised by intake_npx2020. Each message names the offending thing and what to do."""

from __future__ import annotations


class NPXError(Exception):
    """Base class of every error raised by this package."""


class ContentNotFound(NPXError, FileNotFoundError):
    """The bytes of a URI are in no local store and on no reachable mirror."""


class IntegrityError(NPXError, ValueError):
    """Bytes did not hash to the sha1 that names them."""


class FetchError(NPXError, OSError):
    """A mirror kept failing (errors, stalls, truncated or corrupt bodies) after all retries."""


class StoreFullError(NPXError, OSError):
    """Writing to our store failed for lack of space; nothing was left behind."""
