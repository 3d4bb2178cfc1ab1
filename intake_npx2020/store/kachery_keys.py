"""kachery-cloud client keys, read only if the user already has them, and the signature of a gateway request.

Keys come from ``KACHERY_CLOUD_CLIENT_ID`` + ``KACHERY_CLOUD_PRIVATE_KEY`` (hex), else from
``$KACHERY_CLOUD_DIR/private.pem`` and ``public.pem`` (default dir ``~/.kachery-cloud``), in the order of
kachery-cloud 0.4.10 (``kachery_cloud/_client_keys.py``). Nothing here creates keys, directories or prompts.
Signing needs the optional ``cryptography`` package; without it (or without keys) requests go unsigned, which
the gateway accepts for zones that allow public download.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path

__all__ = ["load_client_keys", "sign_payload", "signature_message"]

_HEX64 = re.compile(r"[0-9a-f]{64}")
_PUB_PREFIX = "302a300506032b6570032100"  # DER SubjectPublicKeyInfo header of an ed25519 public key
_PRIV_PREFIX = "302e020100300506032b657004220420"  # DER PKCS#8 header of an ed25519 private key


def _pem_hex(text: str, kind: str, prefix: str) -> str:
    lines = text.strip().split("\n")
    if len(lines) != 3 or lines[0] != f"-----BEGIN {kind} KEY-----" or lines[2] != f"-----END {kind} KEY-----":
        raise ValueError(f"not a one-line {kind.lower()} key PEM")
    raw = base64.b64decode(lines[1]).hex()
    if not raw.startswith(prefix) or len(raw) != len(prefix) + 64:
        raise ValueError(f"the {kind.lower()} key is not an ed25519 key")
    return raw[len(prefix):]


def load_client_keys(env: dict | None = None) -> tuple[str, str] | None:
    """``(client_id, private_key)`` as 64-hex strings, or ``None`` when the user has no kachery-cloud keys.

    Parameters
    ----------
    env : dict, optional
        The environment (default ``os.environ``).

    Raises
    ------
    ValueError
        Keys are present but malformed (the message says which).
    """
    env = os.environ if env is None else env
    cid, priv = env.get("KACHERY_CLOUD_CLIENT_ID"), env.get("KACHERY_CLOUD_PRIVATE_KEY")
    if cid:
        if not priv:
            raise ValueError("KACHERY_CLOUD_CLIENT_ID is set but KACHERY_CLOUD_PRIVATE_KEY is not")
        cid, priv = cid.strip().lower(), priv.strip().lower()
        if not (_HEX64.fullmatch(cid) and _HEX64.fullmatch(priv)):
            raise ValueError("KACHERY_CLOUD_CLIENT_ID and KACHERY_CLOUD_PRIVATE_KEY must be 64 hex digits each")
        return cid, priv
    d = Path(env.get("KACHERY_CLOUD_DIR") or Path.home() / ".kachery-cloud").expanduser()
    priv_file, pub_file = d / "private.pem", d / "public.pem"
    if not priv_file.is_file() or not pub_file.is_file():
        return None
    try:
        return (_pem_hex(pub_file.read_text(), "PUBLIC", _PUB_PREFIX),
                _pem_hex(priv_file.read_text(), "PRIVATE", _PRIV_PREFIX))
    except (ValueError, OSError) as err:
        raise ValueError(f"kachery-cloud keys in {d}: {err}") from None


def signature_message(payload: dict) -> bytes:
    """What kachery-cloud signs: the 20-byte sha1 digest of the payload as compact JSON with sorted keys."""
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True, allow_nan=False)
    return hashlib.sha1(text.encode("utf-8")).digest()


def sign_payload(payload: dict, keys: tuple[str, str]) -> str | None:
    """The 128-hex ed25519 signature of ``payload``, or ``None`` when ``cryptography`` is not installed.

    Raises
    ------
    ValueError
        The private key does not belong to the client id.
    """
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    except ImportError:
        return None
    cid, priv = keys
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(priv))
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    if pub != cid:
        raise ValueError("the kachery-cloud private key does not belong to KACHERY_CLOUD_CLIENT_ID / public.pem")
    return key.sign(signature_message(payload)).hex()
