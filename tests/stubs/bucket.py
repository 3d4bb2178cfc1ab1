"""An S3/R2/Wasabi-like object store: path-style ``/<bucket>/<key>`` (or ``/<key>``), SigV4-shaped presigned
URLs that expire (403 ``AccessDenied`` "Request has expired"), ``Range`` -> 206 / 416, injected failures and
dropped connections. ``public=True`` is an anonymous bucket such as ``allen-brain-observatory``."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import time
import urllib.parse
from datetime import datetime, timezone
from typing import List, Optional

from .base import Clock, StubBase

__all__ = ["BucketStub", "S3StaticStub", "sha1_key", "join_keys"]

COPY_CHUNK = 1 << 16

def _amz_date(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _parse_amz_date(s: str) -> Optional[float]:
    try:
        return datetime.strptime(s, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()
    except (TypeError, ValueError):
        return None


def _http_date(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


def _s3_error(code: str, message: str, **extra) -> bytes:
    parts = [f"<Code>{code}</Code>", f"<Message>{message}</Message>"]
    for k, v in extra.items():
        parts.append(f"<{k}>{v}</{k}>")
    parts.append("<RequestId>STUBREQUESTID</RequestId><HostId>stubhostid=</HostId>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>").encode()


class BucketStub(StubBase):
    """S3-like object store serving ``root/<key>``.

    Parameters
    ----------
    root : directory whose files are the objects (key = relative path, '/' separated)
    bucket : path-style bucket name (URL ``/<bucket>/<key>``), or None for ``/<key>``
             (virtual-hosted style, e.g. ``https://allen-brain-observatory.s3...``)
    public : if True, unsigned GETs are allowed (anonymous public bucket); presigned
             URLs are still checked for expiry/signature when they carry a signature.
    default_expires : lifetime (s) for ``presign()`` when none is given.
    region : goes into ``X-Amz-Credential``.
    fail_next : list of HTTP statuses to answer (one per request, FIFO) before normal
                service, e.g. ``[503]`` -> one ``SlowDown``.
    truncate_next : list of byte counts; the next GET sends full headers but only that
                    many body bytes and then closes (simulated dropped connection).
    delay : seconds each GET waits before answering (a slow link, so a test can kill a download midway).
    """

    ACCESS_KEY = "AKIASTUBSTUBSTUBSTUB"

    def __init__(self, root, *, bucket: Optional[str] = "kachery-stub", public: bool = False,
                 default_expires: int = 3600, region: str = "us-east-1",
                 clock: Optional[Clock] = None) -> None:
        super().__init__(clock)
        self.root = os.path.abspath(os.fspath(root))
        self.bucket = bucket
        self.public = public
        self.default_expires = int(default_expires)
        self.region = region
        self._secret = os.urandom(32)
        self.fail_next: List[int] = []
        self.truncate_next: List[int] = []
        self.delay = 0.0

    # ---- helpers for tests
    def put(self, key: str, data: bytes) -> str:
        path = self._path_for(key, create=True)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return key

    def put_file(self, key: str, src: str) -> str:
        path = self._path_for(key, create=True)
        shutil.copyfile(src, path)
        return key

    def object_url(self, key: str) -> str:
        key = key.lstrip("/")
        prefix = f"/{self.bucket}" if self.bucket else ""
        return f"{self.url}{prefix}/{urllib.parse.quote(key, safe='/~')}"

    def presign(self, key: str, expires: Optional[int] = None, *, signed_at: Optional[float] = None) -> str:
        """SigV4-shaped presigned GET URL (query keys in the order aws-sdk emits them).

        ``signed_at`` is the signer's clock (the gateway's, not the bucket's): advancing
        ``bucket.clock`` afterwards makes already-issued URLs expire.
        """
        expires = self.default_expires if expires is None else int(expires)
        t = self.clock.now() if signed_at is None else signed_at
        amz_date = _amz_date(t)
        key = key.lstrip("/")
        path = urllib.parse.urlsplit(self.object_url(key)).path
        q = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", f"{self.ACCESS_KEY}/{amz_date[:8]}/{self.region}/s3/aws4_request"),
            ("X-Amz-Date", amz_date),
            ("X-Amz-Expires", str(expires)),
            ("X-Amz-SignedHeaders", "host"),
        ]
        sig = self._signature(path, dict(q))
        q.append(("X-Amz-Signature", sig))
        return f"{self.url}{path}?{urllib.parse.urlencode(q, safe='')}"

    def _signature(self, path: str, query: dict) -> str:
        canon = "\n".join([path] + [f"{k}={query[k]}" for k in sorted(query) if k != "X-Amz-Signature"])
        return hmac.new(self._secret, canon.encode(), hashlib.sha256).hexdigest()

    def _path_for(self, key: str, create: bool = False) -> str:
        key = urllib.parse.unquote(key).lstrip("/")
        full = os.path.abspath(os.path.join(self.root, *key.split("/")))
        if not (full == self.root or full.startswith(self.root + os.sep)):
            raise ValueError(f"key escapes bucket root: {key!r}")
        if create:
            os.makedirs(os.path.dirname(full), exist_ok=True)
        return full

    # ---- request handling
    def _route(self, h, method, path, query, body):
        if self.fail_next:
            status = self.fail_next.pop(0)
            code = {503: "SlowDown", 500: "InternalError", 403: "AccessDenied"}.get(status, "Error")
            h._send(status, _s3_error(code, "Injected failure"), "application/xml")
            return
        if method not in ("GET", "HEAD"):
            h._send(405, _s3_error("MethodNotAllowed", "The specified method is not allowed against this resource."),
                    "application/xml")
            return
        # path -> key
        if self.bucket:
            prefix = f"/{self.bucket}/"
            if not path.startswith(prefix):
                h._send(404, _s3_error("NoSuchBucket", "The specified bucket does not exist"), "application/xml")
                return
            key = path[len(prefix):]
        else:
            key = path.lstrip("/")
        # auth
        if "X-Amz-Signature" in query or "X-Amz-Algorithm" in query:
            err = self._check_presigned(path, query)
            if err is not None:
                h._send(*err)
                return
        elif not self.public:
            h._send(403, _s3_error("AccessDenied", "Access Denied"), "application/xml")
            return
        try:
            fpath = self._path_for(key)
        except ValueError:
            h._send(400, _s3_error("InvalidRequest", "bad key"), "application/xml")
            return
        if not os.path.isfile(fpath):
            h._send(404, _s3_error("NoSuchKey", "The specified key does not exist.", Key=urllib.parse.unquote(key)),
                    "application/xml")
            return
        self._serve_file(h, fpath)

    def _check_presigned(self, path, query):
        required = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                    "X-Amz-SignedHeaders", "X-Amz-Signature"]
        missing = [k for k in required if k not in query]
        if missing:
            return (400, _s3_error("AuthorizationQueryParametersError",
                                   f"Query-string authentication version 4 requires the {', '.join(missing)} parameters"),
                    "application/xml")
        try:
            expires = int(query["X-Amz-Expires"])
        except ValueError:
            expires = -1
        if expires < 0 or expires > 604800:
            return (400, _s3_error("AuthorizationQueryParametersError",
                                   "X-Amz-Expires must be less than a week (in seconds) that is 604800"),
                    "application/xml")
        signed = _parse_amz_date(query["X-Amz-Date"])
        if signed is None:
            return (403, _s3_error("AccessDenied", "X-Amz-Date must be in the ISO8601 Long Format"), "application/xml")
        if not hmac.compare_digest(self._signature(path, query), query["X-Amz-Signature"]):
            return (403, _s3_error("SignatureDoesNotMatch",
                                   "The request signature we calculated does not match the signature you provided. "
                                   "Check your key and signing method."), "application/xml")
        now = self.clock.now()
        if now > signed + expires:
            return (403, _s3_error("AccessDenied", "Request has expired",
                                   **{"X-Amz-Expires": expires,
                                      "Expires": datetime.fromtimestamp(signed + expires, timezone.utc)
                                      .strftime("%Y-%m-%dT%H:%M:%SZ"),
                                      "ServerTime": datetime.fromtimestamp(now, timezone.utc)
                                      .strftime("%Y-%m-%dT%H:%M:%SZ")}),
                    "application/xml")
        if now < signed - 900:  # S3 refuses requests signed > 15 min in the future
            return (403, _s3_error("AccessDenied", "Request is not valid yet"), "application/xml")
        return None

    def _serve_file(self, h, fpath):
        if self.delay and h.command == "GET":
            time.sleep(self.delay)
        st = os.stat(fpath)
        size = st.st_size
        etag = '"' + hashlib.md5(f"{fpath}:{size}:{st.st_mtime_ns}".encode()).hexdigest() + '"'
        headers = {"Accept-Ranges": "bytes", "ETag": etag, "Last-Modified": _http_date(st.st_mtime)}
        start, end, status = 0, size - 1, 200
        rng = h.headers.get("Range")
        if rng:
            parsed = _parse_single_range(rng, size)
            if parsed == "unsatisfiable":
                headers["Content-Range"] = f"bytes */{size}"
                h._send(416, _s3_error("InvalidRange", "The requested range is not satisfiable",
                                       RangeRequested=rng, ActualObjectSize=size),
                        "application/xml", headers)
                return
            if parsed is not None:
                start, end = parsed
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = max(0, end - start + 1)
        truncate = self.truncate_next.pop(0) if (self.truncate_next and h.command == "GET") else None
        h._status = status
        h.note(status=status, bytes_requested=length, bytes_sent=0)
        h.send_response(status)
        h.send_header("Content-Type", "binary/octet-stream")
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(length))
        if truncate is not None:
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()
        if h.command == "HEAD":
            return
        remaining = length if truncate is None else min(length, truncate)
        with open(fpath, "rb") as f:
            f.seek(start)
            while remaining > 0:
                chunk = f.read(min(COPY_CHUNK, remaining))
                if not chunk:
                    break
                h._entry["bytes_sent"] += len(chunk)  # counted before the write (see _dispatch)
                h.wfile.write(chunk)
                remaining -= len(chunk)


def _parse_single_range(header: str, size: int):
    """Return (start, end) inclusive, None to ignore the header, or 'unsatisfiable'.

    S3 serves a single range; a malformed or multi-range header is ignored and the
    whole object is returned with 200.
    """
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not m:
        return None
    a, b = m.group(1), m.group(2)
    if a == "" and b == "":
        return None
    if a == "":  # suffix range: last N bytes
        n = int(b)
        if n == 0:
            return "unsatisfiable"
        return (max(0, size - n), size - 1) if size > 0 else "unsatisfiable"
    start = int(a)
    end = int(b) if b != "" else size - 1
    if b != "" and end < start:
        return None  # syntactically invalid -> ignored
    if start >= size:
        return "unsatisfiable"
    return start, min(end, size - 1)


def S3StaticStub(root, *, bucket: Optional[str] = None, clock: Optional[Clock] = None) -> BucketStub:
    """Anonymous public bucket (Allen ``allen-brain-observatory`` style): GET/HEAD + Range."""
    return BucketStub(root, bucket=bucket, public=True, clock=clock)


def sha1_key(h: str) -> str:
    return f"sha1/{h[0:2]}/{h[2:4]}/{h[4:6]}/{h}"


def join_keys(a: str, b: str) -> str:
    if not a:
        return b
    if not b:
        return a
    return a + b if a.endswith("/") else a + "/" + b

