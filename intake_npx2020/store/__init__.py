"""Bytes by content address: URIs, settings, manifests, local stores, mirrors, the fetch engine, the server.

Knows nothing of recordings, arrays or intake.
"""

from .engine import Added, Store, forget_stores, get_store, sha1_of

__all__ = ["Store", "get_store", "sha1_of", "Added", "forget_stores"]
