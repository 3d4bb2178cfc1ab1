"""The two kachery lookup services: the kachery-cloud gateway (``POST /api/gateway`` ``findFile``) and kachery 2
(``POST /api/findFile``), each answering with presigned URLs of a :class:`~stubs.bucket.BucketStub`.

Behaviour follows the servers' source (magland/kachery-gateway ``api/gateway.ts``, ``findFileHandler.ts``;
magland/kachery ``apiHelpers/requestHandlers.ts``): shapes, status codes, texts, URL caching.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Dict, Iterable, List, Optional, Set

from .base import Clock, StubBase
from .bucket import BucketStub, join_keys, sha1_key
from .ed25519 import ed25519_verify, kachery_signature_message

__all__ = ["GatewayStub", "Kachery2Stub"]

HEX40 = re.compile(r"^[0-9a-f]{40}$")

class GatewayStub(StubBase):
    """kachery-cloud gateway: ``POST /api/gateway`` with ``payload.type == 'findFile'``.

    Mirrors magland/kachery-gateway api/gateway.ts + findFileHandler.ts:
    * strict shape check (no extra keys; fromClientId 64-hex, signature 128-hex, both
      optional but **absent**, not null) -> 400 ``Invalid request: <json>``;
    * timestamp in **milliseconds**, accepted within +-125 s (also +-125 s around
      +-24 h: a Vercel clock workaround in the real gateway) -> else 500
      ``Error: Invalid timestamp. <ts> <now> <elapsed>``;
    * if fromClientId given, signature must verify (ed25519 over sha1 of sorted JSON
      payload) -> else 500 ``Error: Invalid signature`` / ``No signature provided ...``;
    * zones in ``private_zones`` need a verified client in ``authorized_clients``;
    * found -> ``{type, found, size, bucketUri, objectKey, url, cacheHit}``; the
      presigned url lives ``url_lifetime`` s (3600) and is re-served from cache for
      ``cache_ttl`` s (1800) with ``cacheHit: true``.

    ``strict_hash`` (default True) additionally answers 400 for a hash that is not 40
    lowercase hex.  The real gateway only checks ``typeof hash === 'string'`` and would
    answer ``found: false``; set ``strict_hash=False`` for that behaviour.
    """

    TOP_KEYS = {"payload", "fromClientId", "signature", "githubUserId", "githubAccessToken"}
    PAYLOAD_KEYS = {"type", "timestamp", "hashAlg", "hash", "zone"}

    def __init__(self, bucket: BucketStub, *, zones: Optional[Dict[str, str]] = None,
                 private_zones: Iterable[str] = (), authorized_clients: Iterable[str] = (),
                 url_lifetime: int = 3600, cache_ttl: float = 1800, strict_hash: bool = True,
                 bucket_uri: str = "r2://kachery-stub", clock: Optional[Clock] = None) -> None:
        super().__init__(clock)
        self.bucket = bucket
        self.zones = dict(zones) if zones is not None else {"default": ""}  # zone -> directory
        self.private_zones: Set[str] = set(private_zones)
        self.authorized_clients: Set[str] = set(authorized_clients)
        self.url_lifetime = url_lifetime
        self.cache_ttl = cache_ttl
        self.strict_hash = strict_hash
        self.bucket_uri = bucket_uri
        self._cache: Dict[str, tuple] = {}
        self.fail_next: List[int] = []

    def add_file(self, data: bytes, zone: str = "default") -> str:
        h = hashlib.sha1(data).hexdigest()
        self.bucket.put(join_keys(self.zones[zone], sha1_key(h)), data)
        return h

    def _route(self, h, method, path, query, body):
        if method == "OPTIONS":
            h._send(200)
            return
        if path != "/api/gateway":
            h._send(404, b"The page could not be found\n\nNOT_FOUND\n", "text/plain; charset=utf-8")
            return
        if self.fail_next:
            status = self.fail_next.pop(0)
            h._send(status, f"Error: injected {status}".encode(), "text/plain; charset=utf-8")
            return
        try:
            req = json.loads(body) if body else None
        except ValueError:
            req = None
        h.note(signature_valid=None)
        if not self._is_find_file_request(req):
            txt = "undefined" if req is None else json.dumps(req, separators=(",", ":"))
            h._send(400, f"Invalid request: {txt}".encode(), "text/plain; charset=utf-8")
            return
        payload = req["payload"]
        now_ms = self.clock.now() * 1000
        ts = payload["timestamp"]
        elapsed = now_ms - ts
        day = 24 * 3600 * 1000
        bad = elapsed > 125000 or elapsed < -125000          # gateway.ts:53-54
        if bad and not (-125000 < elapsed + day < 125000 or -125000 < elapsed - day < 125000):  # :56-66
            h._send(500, f"Error: Invalid timestamp. {ts} {int(now_ms)} {int(elapsed)}".encode(),
                    "text/plain; charset=utf-8")
            return
        verified = None
        if "fromClientId" in req:
            if "signature" not in req:
                return self._err(h, "No signature provided with fromClientId")
            ok = ed25519_verify(bytes.fromhex(req["fromClientId"]), kachery_signature_message(payload),
                                bytes.fromhex(req["signature"]))
            h.note(signature_valid=ok)
            if not ok:
                return self._err(h, "Invalid signature")
            verified = req["fromClientId"]
        zone = payload.get("zone") or "default"
        if zone not in self.zones:
            return self._err(h, f"Error getting metadata for object: NoSuchKey (registered-zones/{zone})")
        if zone in self.private_zones:
            if verified is None:
                return self._err(h, "No verified client ID or user ID")
            if verified not in self.authorized_clients:
                return self._err(h, "User undefined is not authorized.")
        hsh = payload["hash"]
        if self.strict_hash and not HEX40.match(hsh):
            h._send(400, f"Invalid request: hash is not 40 lowercase hex: {hsh!r}".encode(),
                    "text/plain; charset=utf-8")
            return
        object_key = join_keys(self.zones[zone], f"sha1/{hsh[0:2]}/{hsh[2:4]}/{hsh[4:6]}/{hsh}")
        cache_key = f"{zone}.{object_key}"
        cached = self._cache.get(cache_key)
        if cached and self.clock.now() - cached[0] < self.cache_ttl:
            _, url, size = cached
            h._json(200, {"type": "findFile", "found": True, "size": size, "bucketUri": self.bucket_uri,
                          "objectKey": object_key, "url": url, "cacheHit": True})
            return
        try:
            fpath = self.bucket._path_for(object_key)
        except ValueError:
            fpath = None
        if fpath is None or not os.path.isfile(fpath):
            h._json(200, {"type": "findFile", "found": False})
            return
        size = os.path.getsize(fpath)
        url = self.bucket.presign(object_key, self.url_lifetime, signed_at=self.clock.now())
        self._cache[cache_key] = (self.clock.now(), url, size)
        h._json(200, {"type": "findFile", "found": True, "size": size, "bucketUri": self.bucket_uri,
                      "objectKey": object_key, "url": url, "cacheHit": False})

    def _err(self, h, msg):
        h._send(500, f"Error: {msg}".encode(), "text/plain; charset=utf-8")

    @classmethod
    def _is_find_file_request(cls, x) -> bool:
        if not isinstance(x, dict) or not set(x) <= cls.TOP_KEYS or "payload" not in x:
            return False
        p = x["payload"]
        if not isinstance(p, dict) or not set(p) <= cls.PAYLOAD_KEYS:
            return False
        if p.get("type") != "findFile" or p.get("hashAlg") != "sha1":
            return False
        ts = p.get("timestamp")
        if isinstance(ts, bool) or not isinstance(ts, (int, float)):
            return False
        if not isinstance(p.get("hash"), str):
            return False
        if "zone" in p and not isinstance(p["zone"], str):
            return False
        if "fromClientId" in x and not (isinstance(x["fromClientId"], str)
                                        and re.fullmatch(r"[0-9a-fA-F]{64}", x["fromClientId"])):
            return False
        if "signature" in x and not (isinstance(x["signature"], str)
                                     and re.fullmatch(r"[0-9a-fA-F]{128}", x["signature"])):
            return False
        for k in ("githubUserId", "githubAccessToken"):
            if k in x and not isinstance(x[k], str):
                return False
        return True


# ------------------------------------------------------------------------- kachery 2


class Kachery2Stub(StubBase):
    """kachery 2 API (magland/kachery apiHelpers/requestHandlers.ts findFileHandler).

    zones: ``{zoneName: {"directory": str, "public_download": bool, "users": [userId]}}``
    api_keys: ``{token: userId}``.  Errors are JSON ``{"error": ...}`` with 400/401/500.
    """

    def __init__(self, bucket: BucketStub, *, zones: Optional[Dict[str, dict]] = None,
                 api_keys: Optional[Dict[str, str]] = None, url_lifetime: int = 3600,
                 cache_ttl: float = 600, bucket_uri: str = "r2://kachery2-stub",
                 clock: Optional[Clock] = None) -> None:
        super().__init__(clock)
        self.bucket = bucket
        self.zones = zones if zones is not None else {
            "default": {"directory": "", "public_download": True, "users": []},
            "scratch": {"directory": "scratch", "public_download": True, "users": []},
        }
        self.api_keys = dict(api_keys or {})
        self.url_lifetime = url_lifetime
        self.cache_ttl = cache_ttl
        self.bucket_uri = bucket_uri
        self._cache: Dict[str, tuple] = {}

    def add_file(self, data: bytes, zone: str = "default") -> str:
        h = hashlib.sha1(data).hexdigest()
        self.bucket.put(join_keys(self.zones[zone].get("directory", ""), sha1_key(h)), data)
        return h

    def _route(self, h, method, path, query, body):
        cors = {"Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": "Authorization, Content-Type"}
        if method == "OPTIONS":
            h._send(200, b"", None, cors)
            return
        if path != "/api/findFile":
            h._send(404, b"The page could not be found\n\nNOT_FOUND\n", "text/plain; charset=utf-8")
            return
        try:
            rr = json.loads(body) if body else None
        except ValueError:
            rr = None
        if not (isinstance(rr, dict) and set(rr) == {"type", "hashAlg", "hash", "zoneName"}
                and rr["type"] == "findFileRequest"
                and all(isinstance(rr[k], str) for k in ("hashAlg", "hash", "zoneName"))):
            h._json(400, {"error": "Invalid request"}, cors)
            return
        if rr["hashAlg"] != "sha1" or not HEX40.match(rr["hash"]):
            h._json(400, {"error": "Invalid hash"}, cors)
            return
        zone = self.zones.get(rr["zoneName"])
        if zone is None:
            h._json(400, {"error": f"Zone not found: {rr['zoneName']}"}, cors)
            return
        auth = h.headers.get("Authorization")
        token = auth.split(" ")[1] if auth and len(auth.split(" ")) > 1 else None
        user = None
        if token:
            user = self.api_keys.get(token)
            if not user:
                h._json(401, {"error": "Unauthorized - no user for token"}, cors)
                return
        if not zone.get("public_download", True):
            if not user:
                h._json(401, {"error": "User API token must be provided when zone does not allow public download"},
                        cors)
                return
            if user not in zone.get("users", []):
                h._json(401, {"error": "This user is not allowed to download files from this zone"}, cors)
                return
        hsh = rr["hash"]
        object_key = join_keys(zone.get("directory", ""), sha1_key(hsh))
        ck = f"{rr['zoneName']}:sha1:{hsh}"
        cached = self._cache.get(ck)
        if cached and self.clock.now() - cached[0] < self.cache_ttl:
            h._json(200, {"type": "findFileResponse", "found": True, "url": cached[1], "size": cached[2],
                          "bucketUri": self.bucket_uri, "objectKey": object_key, "cacheHit": True}, cors)
            return
        fpath = self.bucket._path_for(object_key)
        if not os.path.isfile(fpath):
            h._json(200, {"type": "findFileResponse", "found": False}, cors)
            return
        size = os.path.getsize(fpath)
        url = self.bucket.presign(object_key, self.url_lifetime, signed_at=self.clock.now())
        self._cache[ck] = (self.clock.now(), url, size)
        # cacheHit is undefined (omitted) on a fresh lookup, as JSON.stringify drops it
        h._json(200, {"type": "findFileResponse", "found": True, "url": url, "size": size,
                      "bucketUri": self.bucket_uri, "objectKey": object_key}, cors)

