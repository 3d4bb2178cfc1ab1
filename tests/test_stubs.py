"""The stubs behave as the real services do (status codes, texts, Range, expiry), so tests against them mean
something. Adopted from the study that ran the real kachery-cloud 0.4.10 and kachery 2.0.3 clients against them."""

from __future__ import annotations

import hashlib
import time

import pytest
import requests
import stubs
from stubs.base import MAX_BODY

from intake_npx2020.errors import FetchError
from intake_npx2020.store.kachery import find_gateway
from intake_npx2020.store.remote_http import url_expiry

DATA = bytes(range(256)) * 400 + b"tail"  # 102404 bytes
SHA = hashlib.sha1(DATA).hexdigest()


@pytest.fixture(autouse=True)
def loopback(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def bucket(tmp_path):
    with stubs.BucketStub(tmp_path / "bucket") as b:
        yield b


@pytest.fixture
def gateway(bucket, monkeypatch):
    with stubs.GatewayStub(bucket, zones={"default": "", "lab": "zones/lab"}) as g:
        g.add_file(DATA)
        monkeypatch.setenv("KACHERY_GATEWAY_URL", g.url)
        yield g


def test_gateway_rejects_skewed_timestamp_and_bad_shapes(gateway):
    gateway.clock.advance(200)  # gateway clock 200 s ahead of ours
    with pytest.raises(FetchError, match="Invalid timestamp") as ei:
        find_gateway(SHA)
    assert "HTTP 500" in str(ei.value)
    gateway.clock.advance(-200 + 24 * 3600)  # the real gateway tolerates exactly +-24 h too
    assert find_gateway(SHA) is not None
    gateway.clock.offset = 0
    u = gateway.url + "/api/gateway"
    ts = int(time.time() * 1000)
    ok = {"type": "findFile", "hashAlg": "sha1", "hash": SHA, "zone": "default", "timestamp": ts}
    assert requests.post(u, json={"payload": ok}, timeout=5).status_code == 200
    for bad in ({"payload": {**ok, "extra": 1}},                      # extra payload key
                {"payload": ok, "fromClientId": None, "signature": None},  # null instead of absent
                {"payload": {**ok, "timestamp": str(ts)}},
                {"payload": {**ok, "hashAlg": "md5"}},
                {"payload": {**ok, "type": "findFileRequest"}}):
        r = requests.post(u, json=bad, timeout=5)
        assert r.status_code == 400 and r.text.startswith("Invalid request: "), bad
    # seconds instead of ms -> timestamp check fails
    r = requests.post(u, json={"payload": {**ok, "timestamp": ts // 1000}}, timeout=5)
    assert r.status_code == 500 and "Invalid timestamp" in r.text


def test_bucket_range_416_and_expiry(bucket):
    bucket.put("k/obj", DATA)
    url = bucket.presign("k/obj", expires=60)
    n = len(DATA)
    assert requests.get(url, headers={"Range": "bytes=-4"}, timeout=5).content == b"tail"
    r = requests.get(url, headers={"Range": f"bytes={n - 2}-{n + 100}"}, timeout=5)
    assert r.status_code == 206 and r.headers["Content-Range"] == f"bytes {n - 2}-{n - 1}/{n}"
    r = requests.get(url, headers={"Range": f"bytes={n}-"}, timeout=5)
    assert r.status_code == 416 and "<Code>InvalidRange</Code>" in r.text
    assert r.headers["Content-Range"] == f"bytes */{n}"
    assert requests.get(url, headers={"Range": "bytes=0-1,5-6"}, timeout=5).status_code == 200  # multi -> ignored
    assert requests.get(bucket.object_url("k/obj"), timeout=5).status_code == 403  # private, unsigned
    tampered = url.replace("X-Amz-Expires=60", "X-Amz-Expires=6000")
    assert "SignatureDoesNotMatch" in requests.get(tampered, timeout=5).text
    assert url_expiry(url) == pytest.approx(time.time() + 60, abs=5)
    bucket.clock.advance(61)
    r = requests.get(url, headers={"Range": "bytes=0-0"}, timeout=5)
    assert r.status_code == 403
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in r.text
    assert requests.get(bucket.presign("k/obj", 60), timeout=5).status_code == 200  # fresh URL works


def test_bucket_failure_injection(bucket):
    bucket.put("o", DATA)
    bucket.fail_next.append(503)
    u = bucket.presign("o")
    assert requests.get(u, timeout=5).status_code == 503
    bucket.truncate_next.append(100)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(u, timeout=5).content
    assert requests.get(u, timeout=5).content == DATA


def test_allen_like_public_s3(tmp_path):
    with stubs.S3StaticStub(tmp_path) as s3:
        key = "visual-coding-neuropixels/raw-data/778998620/792626853/spike_band.dat"
        s3.put(key, DATA)
        r = requests.get(s3.object_url(key), headers={"Range": "bytes=0-9"}, timeout=5)
        assert r.status_code == 206 and r.content == DATA[:10]
        assert requests.head(s3.object_url(key), timeout=5).headers["Content-Length"] == str(len(DATA))
        assert requests.get(s3.url + "/missing", timeout=5).status_code == 404


# ---------------------------------------------------------------------------- figshare


def test_figshare_redirect_range_waf_and_ua(tmp_path):
    clock = stubs.Clock()  # shared: both "hosts" see the same real time
    with stubs.BucketStub(tmp_path / "fs", bucket="pfigshare-u-files", clock=clock) as b, \
            stubs.FigshareStub(b, clock=clock) as fs:
        fs.add_file(26476589, "dataset1.zip", DATA)
        for path in ("/files/26476589", "/v2/file/download/26476589"):
            r = requests.get(fs.url + path, headers={"Range": "bytes=10-19", "User-Agent": "intake_npx2020/0"},
                             timeout=5)
            assert r.status_code == 206 and r.content == DATA[10:20]
            assert r.history[0].status_code == 302
            assert "/pfigshare-u-files/26476589/dataset1.zip?" in r.history[0].headers["Location"]
            assert "X-Amz-Expires=10" in r.history[0].headers["Location"]
        assert fs.user_agents[-1] == "intake_npx2020/0"
        assert all("X-Amz-Signature=" in e["location"] for e in fs.requests_log)  # presigned per request
        # the redirect URL dies after 10 s: re-resolve instead of caching it
        loc = requests.get(fs.url + "/files/26476589", allow_redirects=False, timeout=5).headers["Location"]
        clock.advance(11)
        assert requests.get(loc, timeout=5).status_code == 403
        assert requests.get(fs.url + "/files/26476589", timeout=5).content == DATA
        # figshare.com/ndownloader -> WAF 202, empty body; also forced modes
        r = requests.get(fs.url + "/ndownloader/files/26476589", timeout=5)
        assert r.status_code == 202 and r.content == b"" and r.headers["x-amzn-waf-action"] == "challenge"
        fs.mode = "waf"
        fs.waf_html = True
        r = requests.get(fs.url + "/files/26476589", timeout=5)
        assert r.status_code == 202 and b"challenge" in r.content
        fs.mode = "forbidden"
        assert requests.get(fs.url + "/files/26476589", timeout=5).status_code == 403
        fs.mode = None
        assert requests.get(fs.url + "/files/1", timeout=5).status_code == 404


def test_stub_bounds_request_body(gateway):
    r = requests.post(gateway.url + "/api/gateway", data=b"x" * (MAX_BODY + 1), timeout=10)
    assert r.status_code == 413
    assert gateway.requests_log[-1]["status"] == 413 and len(gateway.requests_log[-1]["body"]) == 0
