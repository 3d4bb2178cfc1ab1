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


class InvalidObject(NPXError, ValueError):
    """A recording, sorting, directory or manifest object (or an array it names) is malformed or impossible."""


class InvalidURI(NPXError, ValueError):
    """A content URI (``sha1://``, ``sha1dir://``, ``kachery:``) is malformed."""


class ConfigError(NPXError, ValueError):
    """A setting (environment variable or storage option) has an impossible value."""


class EntryNotFound(NPXError, KeyError):
    """No catalog entry has that ID or label (the message lists the closest ones)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class MissingExtra(NPXError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class CatalogError(NPXError, ValueError):
    """A catalog file is missing, malformed, or names a driver that is not installed."""


class InvalidArgument(NPXError, ValueError):
    """A call's argument is impossible (frames out of range or reversed, fractional frames, unknown channel ids)."""


class UnknownUnit(NPXError, KeyError):
    """A sorting has no unit with that id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidInputFile(InvalidObject):
    """A file given to add (raw data, its metadata, a sorter's output) is unreadable or disagrees with itself or
    with the recording; the message names the file and the field."""
