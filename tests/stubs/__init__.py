"""Loopback stubs of the services behind the collection's bytes (stdlib only; 127.0.0.1, ephemeral ports).

* :class:`BucketStub` / :func:`S3StaticStub`: an S3-like bucket with expiring presigned URLs, and an anonymous one.
* :class:`GatewayStub`: the kachery-cloud gateway ``findFile``; :class:`Kachery2Stub`: kachery 2 ``findFile``.
* :class:`FigshareStub`: figshare's download endpoints (302 to a 10-second URL; 202 WAF, 403, 404).

Each stub is a context manager, keeps ``requests_log`` and reads time from its own :class:`Clock`. Their behaviour
follows the real clients and servers (the client and server sources cited in each module), checked by running the
real kachery-cloud 0.4.10 and kachery 2.0.3 clients against them.
"""

from .base import Clock
from .bucket import BucketStub, S3StaticStub
from .ed25519 import ed25519_public_key, ed25519_sign, ed25519_verify, kachery_signature_message
from .figshare import FigshareStub
from .kachery import GatewayStub, Kachery2Stub

__all__ = ["Clock", "BucketStub", "S3StaticStub", "GatewayStub", "Kachery2Stub", "FigshareStub",
           "ed25519_public_key", "ed25519_sign", "ed25519_verify", "kachery_signature_message"]
