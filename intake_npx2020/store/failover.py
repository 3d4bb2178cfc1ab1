"""Failover across mirrors: retries with backoff, the next mirror after a failure, every body verified by sha1."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

from ..errors import ContentNotFound, FetchError
from .config import StoreConfig
from .mirror import Mirror, PermanentError, TransientError

__all__ = ["Failover", "HOW_TO"]

HOW_TO = ("Obtain the file from its original source and run `npx2020 add FILE`, or set NPX2020_MIRRORS "
          "to the base URL of a server holding the store (e.g. one started with `npx2020 serve`).")


class Failover:
    """Fetch a blob (or a byte range of its parent file) from the first mirror that returns the right bytes.

    Parameters
    ----------
    mirrors : sequence of Mirror
        Tried in order.
    config : StoreConfig
        ``retries`` per mirror.
    count : callable
        ``count(stat_name, n=1)``: the store's statistics.
    where : callable
        A sentence naming the stores and mirrors searched, for error messages.
    """

    def __init__(self, mirrors: Sequence[Mirror], config: StoreConfig, count: Callable[..., None],
                 where: Callable[[], str]):
        self.mirrors = list(mirrors)
        self.config = config
        self._count = count
        self._where = where
        self._missing: set[tuple[str, str]] = set()  # (mirror base, sha1) known to be absent

    def fetch_verified(self, blob: str, parent_range: tuple[str, int, int] | None, expect: str, uri: str):
        """Fetch from mirrors (the parent's byte range first, then the blob itself) until sha1 == ``expect``."""
        if not self.mirrors:
            raise ContentNotFound(f"{uri}: blob {blob} is not in any local store and no mirror is configured. "
                                  f"{self._where()}. {HOW_TO}")
        errors: list[str] = []
        for mirror in self.mirrors:
            sources = []
            if parent_range is not None:
                sources.append(parent_range)
            sources.append((blob, None, None))
            for src_sha1, s, e in sources:
                if (mirror.base, src_sha1) in self._missing:
                    continue
                data = self._try(mirror, src_sha1, s, e, expect, errors)
                if data is not None:
                    return data
        what = f"bytes {parent_range[1]}-{parent_range[2] - 1} (chunk {blob})" if parent_range else f"blob {blob}"
        if errors:
            raise FetchError(f"{uri}: could not fetch {what}: " + "; ".join(errors[-6:]) +
                             ". The data was not used or cached. Retry later or try another mirror.")
        raise ContentNotFound(f"{uri}: {what} is in no local store and on no mirror. {self._where()}. {HOW_TO}")

    def _try(self, mirror: Mirror, sha1: str, s, e, expect: str, errors: list[str]):
        for attempt in range(self.config.retries):
            if attempt:
                self._count("retries")
                time.sleep(min(2.0, 0.1 * 2 ** attempt) * (0.5 + random.random()))
            self._count("requests")
            try:
                body = mirror.get(sha1, s, e)
            except TransientError as err:
                errors.append(str(err))
                continue
            except PermanentError as err:
                errors.append(str(err))
                return None
            if body is None:
                self._missing.add((mirror.base, sha1))
                return None
            if body.sha1 == expect:
                self._count("bytes_fetched", len(body.data))
                return body.data
            errors.append(f"{mirror.url(sha1)}" + (f" bytes {s}-{e - 1}" if s is not None else "") +
                          f": sha1 {body.sha1} does not match {expect} (corrupt data discarded)")
        return None

