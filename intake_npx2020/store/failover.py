"""Failover across mirrors: retries with backoff, the next source after a failure, every body verified by sha1.

Sources, in order: for each mirror, the byte range of the parent file (for a manifest chunk), then the blob
itself. Every failure or anomaly of a response is logged (logger ``intake_npx2020.store``) and the next
attempt or source is tried; only bytes whose sha1 is the one expected are ever returned.

Time bound of one :meth:`Failover.fetch_verified` (what a stalled or trickling mirror costs)::

    sum over mirrors and sources of  retries * (timeout + n / MIN_RATE)  +  (retries - 1) backoffs

where ``n`` is the size of the range or blob asked for (``0`` for a blob of unknown size, whose deadline then
moves on with the bytes received) and a backoff before retry ``a`` is at most ``1.5 * min(2, 0.1 * 2**a)`` s.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence

from ..errors import ContentNotFound, FetchError, NPXError
from . import origins
from .config import StoreConfig
from .mirror import Mirror, PermanentError, TransientError
from .packed import PackedChunks

__all__ = ["Failover", "HOW_TO", "backoff"]

log = logging.getLogger("intake_npx2020.store")
log.addHandler(logging.NullHandler())  # a library: shown only where the application configures logging

HOW_TO = ("Obtain the file from its original source and run `npx2020 add FILE`, or set NPX2020_MIRRORS "
          "to the base URL of a server holding the store (e.g. one started with `npx2020 serve`).")


def backoff(attempt: int) -> float:
    """Seconds to wait before retry ``attempt`` (1, 2, …) of one source: at most ``1.5 * min(2, 0.1 * 2**attempt)``."""
    return min(2.0, 0.1 * 2 ** attempt) * (0.5 + random.random())


def summarize_errors(errors: list[str], keep: int = 6) -> str:
    """Each distinct cause once, in the order first seen, with how many attempts it ended (the last ``keep``)."""
    counts: dict[str, int] = {}
    for e in errors:
        counts[e] = counts.get(e, 0) + 1
    parts = [f"{e} ({n} attempts)" if n > 1 else e for e, n in counts.items()]
    return "; ".join(parts[-keep:])


class Failover:
    """Fetch a blob (or a byte range of its parent file) from the first source that returns the right bytes.

    Parameters
    ----------
    mirrors : sequence of Mirror
        Tried in order.
    config : StoreConfig
        ``retries`` per source.
    count : callable
        ``count(stat_name, n=1)``: the store's statistics.
    where : callable
        A sentence naming the stores and mirrors searched, for error messages.
    remotes : sequence, optional
        Remote sources tried after the mirrors (the live kachery services), with the mirror's ``get`` and
        ``url``; one with ``remembers_misses`` remembers its own misses (briefly), so they are not kept here.
    """

    def __init__(self, mirrors: Sequence[Mirror], config: StoreConfig, count: Callable[..., None],
                 where: Callable[[], str], remotes: Sequence = ()):
        self.mirrors = list(mirrors)
        self.remotes = list(remotes)
        self.config = config
        self._count = count
        self._where = where
        self._missing: set[tuple[str, str]] = set()  # (mirror base, sha1) known to be absent
        self.packed = PackedChunks(config, count, backoff)  # compressed chunks of packed mirrors

    def fetch_verified(self, blob: str, parent_range: tuple[str, int, int] | None, expect: str, uri: str,
                       size: int | None = None) -> bytearray:
        """Fetch until the sha1 of the bytes is ``expect``: per mirror, the parent's byte range, then the blob.

        Parameters
        ----------
        blob : str
            sha1 of the blob (a whole file, or a manifest chunk).
        parent_range : tuple, optional
            ``(parent sha1, start, end)``: the same bytes as a range of the parent file.
        expect : str
            sha1 the bytes must have.
        uri : str
            Named in errors.
        size : int, optional
            The blob's size when known from a verified source (a manifest); ``None`` when unknown.

        Raises
        ------
        ContentNotFound
            When every mirror answered that it does not have the bytes (or none is configured).
        FetchError
            When a mirror failed (errors, stalls, malformed or wrong bodies) and no other had the bytes.
        """
        if not self.mirrors and not self.remotes:
            raise ContentNotFound(f"{uri}: blob {blob} is not in any local store and no mirror is configured. "
                                  f"{self._where()}. {HOW_TO} {origins.hint(uri, blob)}".rstrip())
        errors: list[str] = []
        for mirror in self.mirrors + self.remotes:
            if parent_range is not None and blob == expect and isinstance(mirror, Mirror):  # compressed form first
                data = self.packed.fetch(mirror, parent_range[0], blob, parent_range[2] - parent_range[1], errors)
                if data is not None:
                    return data
            sources = [parent_range] if parent_range is not None else []
            sources.append((blob, None, None))
            for src_sha1, s, e in sources:
                if (mirror.base, src_sha1) in self._missing:
                    continue
                data = self._try(mirror, src_sha1, s, e, size if s is None else None, expect, errors)
                if data is not None:
                    return data
        what = f"bytes {parent_range[1]}-{parent_range[2] - 1} (chunk {blob})" if parent_range else f"blob {blob}"
        if errors:
            raise FetchError(f"{uri}: could not fetch {what}: " + summarize_errors(errors) +
                             ". The data was not used or cached. Retry later or try another mirror.")
        raise ContentNotFound(f"{uri}: {what} is in no local store and on no mirror. {self._where()}. {HOW_TO} "
                              f"{origins.hint(uri, blob)}".rstrip())

    def _try(self, mirror: Mirror, sha1: str, s, e, size, expect: str, errors: list[str]) -> bytearray | None:
        for attempt in range(self.config.retries):
            if attempt:
                self._count("retries")
                time.sleep(backoff(attempt))
            self._count("requests")
            try:
                body = mirror.get(sha1, s, e, size)
            except TransientError as err:
                self._failed(errors, str(err), attempt)
                continue
            except PermanentError as err:
                self._failed(errors, str(err), None)
                return None
            except NPXError:
                raise  # ours (e.g. a hash that is not 40 hex): not the mirror's fault
            except Exception as err:  # noqa: BLE001 - any other failure of a source is that source's anomaly
                self._failed(errors, f"{mirror.url(sha1)}: {type(err).__name__}: {str(err)[:300]}", None)
                return None
            if body is None:
                log.debug("%s: not on %s", sha1, mirror.base)
                if not getattr(mirror, "remembers_misses", False):
                    self._missing.add((mirror.base, sha1))
                return None
            if body.sha1 == expect:
                self._count("bytes_fetched", len(body.data))
                return body.data
            self._failed(errors, f"{mirror.url(sha1)}" + (f" bytes {s}-{e - 1}" if s is not None else "") +
                         f": sha1 {body.sha1} does not match {expect} (corrupt data discarded)", attempt)
        return None

    def _failed(self, errors: list[str], message: str, attempt: int | None) -> None:
        errors.append(message)
        if attempt is None:
            log.warning("%s; trying the next source", message)
        elif attempt + 1 < self.config.retries:
            log.warning("%s; retrying (%d of %d attempts made)", message, attempt + 1, self.config.retries)
        else:
            log.warning("%s; %d attempts made, trying the next source", message, self.config.retries)
