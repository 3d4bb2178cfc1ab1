"""What a :class:`~intake_npx2020.store.Store` adds to local roots and mirrors: remote sources (the live kachery
services, when the ``kachery_remote`` setting is on) and what a URI says beyond its hash (a kachery 2 zone, a
kachery-cloud ``location``)."""

from __future__ import annotations

from .config import StoreConfig
from .kachery import KacheryRemote
from .uri import ContentURI

__all__ = ["remote_sources", "note_uri"]


def remote_sources(config: StoreConfig) -> list:
    """The remote sources tried after the mirrors, each with the mirror's ``get``/``url`` interface."""
    return [KacheryRemote(config.timeout)] if config.kachery_remote else []


def note_uri(store, u: ContentURI) -> None:
    """Act on a URI's zone (look the file up there) and location (check that file's sha1, then read it)."""
    if u.zone:
        for r in store.remotes:
            if hasattr(r, "note_zone"):
                r.note_zone(u.sha1, u.zone)
    if u.location and not store.locate(u.sha1):
        store.located.add(u.sha1, u.location)
