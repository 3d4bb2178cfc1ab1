"""figshare's download endpoints: 302 to a fresh 10-second presigned URL of a bucket, or the refusals seen in
2025-26 (202 WAF challenge with an empty body, nginx 403, 404)."""

from __future__ import annotations

import json
import re
from typing import Dict, List, Optional

from .base import MAX_LOG, Clock, StubBase
from .bucket import BucketStub

__all__ = ["FigshareStub"]

_WAF_HTML = (b"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title></title>"
             b"<script src=\"https://stub.token.awswaf.com/challenge.js\"></script></head><body>"
             b"<div id=\"challenge-container\"></div><noscript>JavaScript is disabled</noscript>"
             b"<script>AwsWafIntegration.checkForceRefresh()</script></body></html>")

_NGINX_403 = (b"<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n"
              b"<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


class FigshareStub(StubBase):
    """figshare download endpoints, redirecting into a ``BucketStub``.

    Routes (one server stands in for all three hosts):
      ``/files/<id>``            ndownloader.figshare.com   -> 302 (default)
      ``/v2/file/download/<id>`` api.figshare.com           -> 302 (default)
      ``/ndownloader/files/<id>`` figshare.com               -> 202 WAF (default, as since 2025/26)

    ``files``: ``{file_id: (name, data_bytes)}`` or use ``add_file``.  Objects live in
    the bucket under ``<id>/<name>`` (figshare's ``pfigshare-u-files`` layout).
    ``mode``: None (per-route default), or force ``'redirect'``, ``'waf'``, ``'forbidden'``,
    ``'notfound'``.  ``waf_html=True`` puts an HTML challenge page in the 202 body
    (the real one observed by users is an empty body + ``x-amzn-waf-action: challenge``).
    ``redirect_lifetime``: X-Amz-Expires of the Location URL (figshare uses 10 s).
    ``require_user_agent``: if set, requests whose UA lacks this substring get the WAF
    202 (to model hosts that screen on User-Agent).
    ``user_agents`` records every User-Agent seen.
    """

    def __init__(self, bucket: BucketStub, *, redirect_lifetime: int = 10, mode: Optional[str] = None,
                 waf_html: bool = False, require_user_agent: Optional[str] = None,
                 clock: Optional[Clock] = None) -> None:
        super().__init__(clock)
        self.bucket = bucket
        self.redirect_lifetime = redirect_lifetime
        self.mode = mode
        self.waf_html = waf_html
        self.require_user_agent = require_user_agent
        self.files: Dict[str, str] = {}  # id -> object key
        self.user_agents: List[Optional[str]] = []

    def add_file(self, file_id, name: str, data: bytes) -> str:
        key = f"{file_id}/{name}"
        self.bucket.put(key, data)
        self.files[str(file_id)] = key
        return key

    def _route(self, h, method, path, query, body):
        ua = h.headers.get("User-Agent")
        with self._lock:
            self.user_agents.append(ua)
            if len(self.user_agents) > MAX_LOG:
                del self.user_agents[0]
        m = re.fullmatch(r"/(files|v2/file/download|ndownloader/files)/(\d+)", path)
        if method not in ("GET", "HEAD") or not m:
            h._send(404, json.dumps({"message": "Not found", "code": "NotFound"}).encode(), "application/json")
            return
        route, fid = m.group(1), m.group(2)
        mode = self.mode or ("waf" if route == "ndownloader/files" else "redirect")
        if self.require_user_agent and (not ua or self.require_user_agent not in ua):
            mode = "waf"
        if mode == "waf":
            body = _WAF_HTML if self.waf_html else b""
            h._send(202, body, "text/html; charset=UTF-8" if body else None,
                    {"x-amzn-waf-action": "challenge", "Cache-Control": "no-store, max-age=0"})
            return
        if mode == "forbidden":
            h._send(403, _NGINX_403, "text/html")
            return
        if mode == "notfound" or fid not in self.files:
            h._send(404, json.dumps({"message": "Entity not found: file", "code": "EntityNotFound"}).encode(),
                    "application/json")
            return
        loc = self.bucket.presign(self.files[fid], self.redirect_lifetime, signed_at=self.clock.now())
        h.note(location=loc)
        h._send(302, b"", None, {"Location": loc})

