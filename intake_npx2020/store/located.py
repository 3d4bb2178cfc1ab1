"""Files named by kachery-cloud's ``sha1://<h>?location=/abs/path`` references, used only once their sha1 is checked.

kachery-cloud's ``store_file_local(path, reference=True)`` writes such URIs instead of copying the file. Here the
file at ``location`` is hashed once (a whole read, with a progress bar for large files); if it hashes to ``<h>``
it serves reads of ``<h>`` like a local store, for as long as its size and modification time stay the same.
A file that hashes to something else is refused with :class:`~intake_npx2020.errors.IntegrityError`.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from ..errors import ContentNotFound, IntegrityError, InvalidURI

__all__ = ["LocatedFiles"]

_BLOCK = 8 << 20


def _sha1_file(path: str, progress: bool | None) -> str:
    from ..progress import progress_bar

    digest = hashlib.sha1()
    size = os.path.getsize(path)
    with open(path, "rb") as f, progress_bar(size, f"check {Path(path).name}",
                                              progress if size > 1 << 30 else False) as bar:
        while block := f.read(_BLOCK):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


class LocatedFiles:
    """A read root of single files vouched for by their hash; same ``locate(sha1)`` interface as a store root."""

    def __init__(self):
        self.path = Path("(files named by location=)")
        self._files: dict[str, tuple[str, int, int]] = {}  # sha1 -> (path, size, mtime_ns) when checked
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocatedFiles({len(self._files)} files)"

    def add(self, sha1: str, location: str, progress: bool | None = None) -> str:
        """Check that the file at ``location`` hashes to ``sha1`` and serve it from now on; returns its path.

        Raises
        ------
        InvalidURI
            ``location`` is not an absolute path.
        ContentNotFound
            There is no file at ``location``.
        IntegrityError
            The file's sha1 is not ``sha1`` (it is not used).
        """
        if not os.path.isabs(location):
            raise InvalidURI(f"location {location!r} of sha1://{sha1} must be an absolute path")
        if self.locate(sha1) == location:
            return location
        try:
            st = os.stat(location)
        except OSError as err:
            raise ContentNotFound(f"sha1://{sha1}: no file at its location {location} ({err.strerror})") from None
        got = _sha1_file(location, progress)
        if got != sha1:
            raise IntegrityError(f"the file at location {location} has sha1 {got}, not {sha1}: it is not the file "
                                 "the URI names, and was not used")
        with self._lock:
            self._files[sha1] = (location, st.st_size, st.st_mtime_ns)
        return location

    def locate(self, sha1: str) -> str | None:
        """The checked file for ``sha1`` if it is unchanged since, else ``None``."""
        rec = self._files.get(sha1)
        if rec is None:
            return None
        path, size, mtime = rec
        try:
            st = os.stat(path)
        except OSError:
            return None
        return path if (st.st_size, st.st_mtime_ns) == (size, mtime) else None
