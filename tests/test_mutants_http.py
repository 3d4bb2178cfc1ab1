"""Tests written to kill mutmut survivors in the HTTP side of the store: the request deadline, presigned URLs,
original sources, the kachery lookups and keys, partial downloads and whole-file downloads.

Each test asserts behaviour a caller or a peer can observe: the bytes and headers a server receives, when a
socket is cut off, the exact text of an error, which pieces a download asks for. Expected values come from the
inputs and the documented rules, never from the code under test. Servers are loopback stubs only.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests
import stubs
from helpers import FaultServer, cut_off_after
from helpers import raises_text as _raises

from intake_npx2020.store import deadline as dl_mod
from intake_npx2020.store.deadline import Deadline, session


@pytest.fixture(autouse=True)
def loopback(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


class _Scripted(stubs.base.StubBase):
    """Answers every request with ``answer(handler, method, path, query, body)``."""

    def __init__(self, answer):
        super().__init__()
        self.answer = answer

    def _route(self, h, method, path, query, body):
        self.answer(h, method, path, query, body)


# == deadline ===============================================================================================

def test_deadline_counts_from_its_creation_and_only_moves_later():
    d = Deadline(5.0)
    assert 4.5 < d.remaining() <= 5.0
    assert 0.0 <= d.elapsed() < 0.5
    d.extend_to(1.0)  # earlier than the deadline: no change
    assert 4.5 < d.remaining() <= 5.0
    d.extend_to(9.0)
    assert 8.5 < d.remaining() <= 9.0
    assert Deadline(-1.0).remaining() == 0.0  # passed: 0, never negative


def test_deadline_shuts_a_watched_socket_down_when_it_passes_not_before():
    a, b = socket.socketpair()
    try:
        with Deadline(0.4) as d:
            d.watch(a)
            a.settimeout(0.1)
            with pytest.raises(socket.timeout):  # still open before the deadline
                a.recv(10)
            assert d.fired is False
            waited = cut_off_after(a)
            assert d.fired is True
            assert 0.1 <= waited < 2.5
            late, other = socket.socketpair()
            try:
                d.watch(late)  # watched after it fired: shut down at once
                assert cut_off_after(late, 1.0) < 0.5
            finally:
                late.close()
                other.close()
    finally:
        a.close()
        b.close()


def test_deadline_left_in_time_never_fires():
    a, b = socket.socketpair()
    try:
        with Deadline(0.3) as d:
            d.watch(a)
        time.sleep(0.6)
        a.settimeout(0.1)
        with pytest.raises(socket.timeout):  # the request ended before its deadline: its socket is left alone
            a.recv(10)
        assert d.fired is False
    finally:
        a.close()
        b.close()


def test_deadline_watcher_is_a_named_daemon_thread():
    with Deadline(5.0):
        watchers = [t for t in threading.enumerate() if t.name == "npx2020-deadline"]
        assert watchers and all(t.daemon for t in watchers)


def _stall(seconds):
    def answer(h, method, path, query, body):
        time.sleep(seconds)
        h._send(200, b"late")
    return answer


def test_session_request_is_cut_off_by_the_deadline_and_sends_plain_headers():
    with _Scripted(lambda h, *a: h._send(200, b"ok")) as ok:
        s = session(4)
        assert s is session(4)  # one session per thread
        r = s.get(ok.url + "/x", timeout=(5, 5))
        assert r.content == b"ok"
        headers = ok.requests_log[-1]["headers"]
        assert headers["accept-encoding"] == "identity" and headers["user-agent"] == "intake_npx2020"
        other = []

        def in_a_new_thread():  # a thread that never ran a request under a deadline
            other.append(session(4))
            other.append(session(4).get(ok.url + "/t", timeout=(5, 5)).content)

        t = threading.Thread(target=in_a_new_thread)
        t.start()
        t.join()
        assert other[0] is not s and other[1] == b"ok"  # another thread has its own, and it works
    with _Scripted(_stall(3.0)) as slow:
        t = time.monotonic()
        with Deadline(0.4), pytest.raises(requests.RequestException):
            session(4).get(slow.url + "/y", timeout=(5, 5))
        assert time.monotonic() - t < 2.0  # cut off by the deadline, not by the 5 s read timeout


def test_a_new_process_gets_a_new_session(monkeypatch):
    s = session(4)
    monkeypatch.setattr(dl_mod.os, "getpid", lambda: -7)  # as in a forked child
    s2 = session(4)
    assert s2 is not s and session(4) is s2


def test_a_dropped_connection_is_not_retried_behind_the_callers_back(tmp_path):
    (tmp_path / "f").write_bytes(b"bytes")
    srv = FaultServer(tmp_path)
    try:
        srv.plan = ["drop"]
        with pytest.raises(requests.ConnectionError):
            session(4).get(srv.url + "/f", timeout=(5, 5))
        assert len(srv.log) == 1  # asked once: retrying is the caller's decision
        assert session(4).get(srv.url + "/f", timeout=(5, 5)).content == b"bytes"
    finally:
        srv.close()


def test_a_request_through_an_http_proxy_is_cut_off_by_the_deadline_too():
    seen = []

    def proxy(h, method, path, query, body):
        seen.append(h.path)
        time.sleep(3.0)
        h._send(200, b"late")

    with _Scripted(proxy) as p:
        t = time.monotonic()
        with Deadline(0.4), pytest.raises(requests.RequestException):
            session(4).get("http://npx2020-origin.invalid/z", proxies={"http": p.url}, timeout=(5, 5))
        assert time.monotonic() - t < 2.0
    assert seen == ["http://npx2020-origin.invalid/z"]  # it did go through the proxy


# == kachery-cloud keys ======================================================================================

_SECRET = bytes(range(32))
_PUB_DER = "302a300506032b6570032100"
_PRIV_DER = "302e020100300506032b657004220420"


def _pem(kind: str, hex_body: str, begin: str | None = None, extra: str = "") -> str:
    import base64

    b64 = base64.b64encode(bytes.fromhex(hex_body)).decode()
    return f"{begin or f'-----BEGIN {kind} KEY-----'}\n{b64}\n-----END {kind} KEY-----\n{extra}"


def _key_dir(d, pub: str | None = None, priv: str | None = None):
    d.mkdir(parents=True, exist_ok=True)
    if pub is not None:
        (d / "public.pem").write_text(pub)
    if priv is not None:
        (d / "private.pem").write_text(priv)
    return d


def _own_keys():
    return stubs.ed25519_public_key(_SECRET).hex(), _SECRET.hex()


def test_client_keys_from_the_environment_are_trimmed_and_lower_cased(monkeypatch):
    from intake_npx2020.store.kachery_keys import load_client_keys

    pub, priv = _own_keys()
    env = {"KACHERY_CLOUD_CLIENT_ID": f"  {pub.upper()}\n", "KACHERY_CLOUD_PRIVATE_KEY": f" {priv.upper()} "}
    assert load_client_keys(env) == (pub, priv)
    assert load_client_keys({}) is None  # nothing set, no key files: no keys
    monkeypatch.setenv("KACHERY_CLOUD_CLIENT_ID", pub)
    monkeypatch.setenv("KACHERY_CLOUD_PRIVATE_KEY", priv)
    assert load_client_keys() == (pub, priv)  # the process environment by default
    assert load_client_keys({}) is None  # an explicit environment is used instead of it


def test_client_key_errors_name_the_variables():
    from intake_npx2020.store.kachery_keys import load_client_keys

    pub, priv = _own_keys()
    assert _raises(ValueError, load_client_keys, {"KACHERY_CLOUD_CLIENT_ID": pub}) == \
        "KACHERY_CLOUD_CLIENT_ID is set but KACHERY_CLOUD_PRIVATE_KEY is not"
    bad = "KACHERY_CLOUD_CLIENT_ID and KACHERY_CLOUD_PRIVATE_KEY must be 64 hex digits each"
    assert _raises(ValueError, load_client_keys, {"KACHERY_CLOUD_CLIENT_ID": pub[:-1],
                                                  "KACHERY_CLOUD_PRIVATE_KEY": priv}) == bad
    assert _raises(ValueError, load_client_keys, {"KACHERY_CLOUD_CLIENT_ID": pub,
                                                  "KACHERY_CLOUD_PRIVATE_KEY": priv + "0"}) == bad


def test_client_keys_from_pem_files_in_the_default_and_the_configured_dir(tmp_path):
    from pathlib import Path

    from intake_npx2020.store.kachery_keys import load_client_keys

    pub, priv = _own_keys()
    home = Path.home()  # the test's own home (conftest)
    _key_dir(home / ".kachery-cloud", _pem("PUBLIC", _PUB_DER + pub), _pem("PRIVATE", _PRIV_DER + priv))
    assert load_client_keys({}) == (pub, priv)
    other = stubs.ed25519_public_key(bytes(range(1, 33))).hex(), bytes(range(1, 33)).hex()
    d = _key_dir(tmp_path / "kc", _pem("PUBLIC", _PUB_DER + other[0]), _pem("PRIVATE", _PRIV_DER + other[1]))
    assert load_client_keys({"KACHERY_CLOUD_DIR": str(d)}) == other
    only_private = _key_dir(tmp_path / "p", priv=_pem("PRIVATE", _PRIV_DER + priv))
    only_public = _key_dir(tmp_path / "q", pub=_pem("PUBLIC", _PUB_DER + pub))
    assert load_client_keys({"KACHERY_CLOUD_DIR": str(only_private)}) is None
    assert load_client_keys({"KACHERY_CLOUD_DIR": str(only_public)}) is None


@pytest.mark.parametrize("which, pub_pem, priv_pem, why", [
    ("two-lines", "-----BEGIN PUBLIC KEY-----\nAAAA\n", None, "not a one-line public key PEM"),
    ("extra-line", None, "EXTRA", "not a one-line public key PEM"),
    ("begin-private", "BEGIN-PRIVATE", None, "not a one-line public key PEM"),
    ("end-private", "END-PRIVATE", None, "not a one-line public key PEM"),
    ("private-kind", None, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE\n", "not a one-line private key PEM"),
    ("wrong-prefix", "WRONG-PREFIX", None, "the public key is not an ed25519 key"),
    ("long-key", "LONG", None, "the public key is not an ed25519 key"),
    ("short-private", None, "SHORT", "the private key is not an ed25519 key"),
])
def test_malformed_pem_keys_are_named(tmp_path, which, pub_pem, priv_pem, why):
    from intake_npx2020.store.kachery_keys import load_client_keys

    pub, priv = _own_keys()
    good_pub, good_priv = _pem("PUBLIC", _PUB_DER + pub), _pem("PRIVATE", _PRIV_DER + priv)
    special = {"EXTRA": good_pub + "trailing\n",
               "BEGIN-PRIVATE": _pem("PUBLIC", _PUB_DER + pub, begin="-----BEGIN PRIVATE KEY-----"),
               "END-PRIVATE": good_pub.replace("END PUBLIC", "END PRIVATE"),
               "WRONG-PREFIX": _pem("PUBLIC", _PRIV_DER[:len(_PUB_DER)] + pub),
               "LONG": _pem("PUBLIC", _PUB_DER + pub + "00"),
               "SHORT": _pem("PRIVATE", _PRIV_DER + priv[:-2])}
    pub_text = special.get(pub_pem, pub_pem) if pub_pem else good_pub
    if priv_pem == "EXTRA":
        pub_text, priv_text = special["EXTRA"], good_priv
    else:
        priv_text = special.get(priv_pem, priv_pem) if priv_pem else good_priv
    d = _key_dir(tmp_path / which, pub_text, priv_text)
    assert _raises(ValueError, load_client_keys, {"KACHERY_CLOUD_DIR": str(d)}) == f"kachery-cloud keys in {d}: {why}"


def test_signature_message_is_the_sha1_of_compact_sorted_json():
    import hashlib

    from intake_npx2020.store.kachery_keys import signature_message

    payload = {"zone": "default", "hash": "ab", "timestamp": 5, "list": [1, 2]}
    text = '{"hash":"ab","list":[1,2],"timestamp":5,"zone":"default"}'
    assert signature_message(payload) == hashlib.sha1(text.encode()).digest()
    with pytest.raises(ValueError):
        signature_message({"x": float("nan")})  # not JSON: never signed


def test_signature_is_the_ed25519_signature_of_the_message():
    pytest.importorskip("cryptography")
    from intake_npx2020.store.kachery_keys import sign_payload

    pub, priv = _own_keys()
    payload = {"type": "findFile", "hash": "cd", "timestamp": 7}
    sig = sign_payload(payload, (pub, priv))
    assert sig == stubs.ed25519_sign(_SECRET, stubs.kachery_signature_message(payload)).hex()


# == presigned URLs and the URL reader ===================================================================

def test_url_expiry_needs_both_halves_of_a_signature_and_a_readable_date():
    from intake_npx2020.store.remote_http import url_expiry

    base = "http://127.0.0.1/b/k?"
    assert url_expiry(base + "X-Amz-Date=20240102T030405Z") is None  # no X-Amz-Expires
    assert url_expiry(base + "X-Amz-Expires=60") is None  # no X-Amz-Date
    assert url_expiry(base + "X-Amz-Date=yesterday&X-Amz-Expires=60") is None
    assert url_expiry(base + "X-Amz-Date=20240102T030405Z&X-Amz-Expires=soon") is None
    assert url_expiry(base + "X-Amz-Expires=60&X-Goog-Date=20240102T030405Z&X-Goog-Expires=30") == 1704164645.0 + 30
    assert url_expiry(base + "plain=1") is None
    assert url_expiry("http://127.0.0.1/b/k") is None


def test_reuse_until_counts_from_the_current_time_by_default():
    from intake_npx2020.store.remote_http import DEFAULT_REUSE, reuse_until

    t = time.time()
    assert t + DEFAULT_REUSE <= reuse_until("http://127.0.0.1/b/k") <= time.time() + DEFAULT_REUSE


def _raw_answer(status: int, body: bytes):
    def answer(h, method, path, query, body_in):
        h._send(status, body)
    return answer


@pytest.mark.parametrize("status, body, tail", [
    (400, b"<Error>ExpiredToken</Error>", " <Error>ExpiredToken</Error>"),
    (403, b"A" + b" " * 2046 + b"BC", " A B"),  # the body's first 2048 bytes only
    (403, b"Request \xff expired", " Request \ufffd expired"),  # undecodable bytes replaced
    (403, b"x" * 250, " " + "x" * 200),  # at most 200 characters of it
    (403, b"", ""),
], ids=["400", "first-2048-bytes", "undecodable", "200-chars", "empty"])
def test_a_refused_url_is_url_expired_with_the_start_of_its_body(status, body, tail):
    from intake_npx2020.store.remote_http import URLExpired, URLReader

    with _Scripted(_raw_answer(status, body)) as s:
        base = s.url
        msg = _raises(URLExpired, URLReader(timeout=5).read, f"{base}/b/key?X-Amz-Signature=abc", 0, 4)
    assert msg == f"GET {base}/b/key: HTTP {status}{tail}"  # the signed query (and all after it) left out


def test_a_refusal_whose_body_is_broken_is_named_without_it():
    from intake_npx2020.store.remote_http import URLExpired, URLReader

    def answer(h, method, path, query, body):
        h._status = h._entry["status"] = 403
        h.send_response(403)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.wfile.write(b"zz\r\nnot a chunk\r\n")  # not a chunk length
        h.wfile.flush()
        h.close_connection = True

    with _Scripted(answer) as s:
        base = s.url
        msg = _raises(URLExpired, URLReader(timeout=5).read, f"{base}/b/key?sig=1")
    assert msg == f"GET {base}/b/key: HTTP 403"


def test_url_reader_reads_ranges_wholes_and_404s():
    from intake_npx2020.store.mirror import PermanentError
    from intake_npx2020.store.remote_http import URLReader

    data = bytes(range(100))

    def answer(h, method, path, query, body):
        if path != "/obj":
            return h._send(404, b"no")
        rng = h.headers.get("Range")
        if rng:
            a, b = (int(x) for x in rng.split("=")[1].split("-"))
            return h._send(206, data[a:b + 1], headers={"Content-Range": f"bytes {a}-{b}/{len(data)}"})
        h._send(200, data)

    assert URLReader().budget(None) == 10.0  # by default a request may take 10 s (plus time for its bytes)
    assert URLReader(timeout=2.5, pool=3).budget(None) == 2.5
    r = URLReader(timeout=5)
    with _Scripted(answer) as s:
        assert bytes(r.read(f"{s.url}/obj", 5, 10).data) == data[5:10]
        assert s.requests_log[-1]["range"] == "bytes=5-9"
        assert bytes(r.read(f"{s.url}/obj").data) == data
        assert bytes(r.read(f"{s.url}/obj", None, None, 100).data) == data
        msg = _raises(PermanentError, r.read, f"{s.url}/obj", None, None, 60)  # the stated size is checked
        assert msg == f"GET {s.url}/obj: Content-Length 100 but 60 bytes were asked for"
        assert r.read(f"{s.url}/gone") is None
    from helpers import free_port

    from intake_npx2020.store.mirror import TransientError

    closed = f"http://127.0.0.1:{free_port()}/obj?sig=1"
    assert _raises(TransientError, r.read, closed, 0, 4).startswith(f"GET {closed} bytes 0-3: ConnectionError: ")


# == where the originals are (error hints) ======================================================================

def test_hint_names_every_source_with_its_notes(monkeypatch):
    from intake_npx2020.store import origins

    monkeypatch.setattr(origins, "_known", {})
    h1, h2, h3 = "a" * 40, "b" * 40, "c" * 40
    origins.register(h1, "E1", [{"url": "http://127.0.0.1/u1", "note": "lab copy"},
                                {"url": "http://127.0.0.1/u2", "verified": False},
                                {"url": "http://127.0.0.1/u3", "note": "mirror", "verified": False},
                                {"url": "http://127.0.0.1/u4", "verified": True},
                                {"note": "no url"}, {"url": ""}, "http://127.0.0.1/not-a-mapping"])
    origins.register(h2, "E2", None)
    one = ("The original file of E1 is published at: http://127.0.0.1/u1 (lab copy); "
           "http://127.0.0.1/u2 (not yet verified); http://127.0.0.1/u3 (mirror, not yet verified); "
           "http://127.0.0.1/u4. `npx2020 fetch E1` downloads it from there and verifies it.")
    two = "No public source of E2's file is known (`npx2020 info E2`)."
    assert origins.hint(f"blob {h1}") == one
    assert origins.hint(f"blob {h3} then {h2}", "", f"and {h1}") == f"{two} {one}"  # unknown files skipped
    assert origins.hint("nothing", f"{h3}") == ""


# == original sources ===========================================================================================

def test_origin_parse_keeps_every_field():
    from intake_npx2020.store.origin import Origin

    assert Origin.parse("http://127.0.0.1/a.bin") == Origin("http://127.0.0.1/a.bin", 0, None, "", True)
    full = {"url": "https://127.0.0.1/b.bin", "offset": 4, "size": 1, "note": "lab copy", "verified": False}
    assert Origin.parse(full) == Origin("https://127.0.0.1/b.bin", 4, 1, "lab copy", False)
    assert Origin.parse({"url": "http://127.0.0.1/c", "offset": 0, "note": None, "verified": 1}) == \
        Origin("http://127.0.0.1/c", 0, None, "", True)


@pytest.mark.parametrize("value, why", [
    ({"href": "http://127.0.0.1/x"}, "a source is a mapping with a 'url' string, got {'href': 'http://127.0.0.1/x'}"),
    ({"url": 5}, "a source is a mapping with a 'url' string, got {'url': 5}"),
    ("HTTP://127.0.0.1/x", "url 'HTTP://127.0.0.1/x' is not an http(s):// URL"),
    ("http:///x", "url 'http:///x' is not an http(s):// URL"),
    ({"url": "http://127.0.0.1/x", "offset": -1}, "offset must be a whole number >= 0, got -1"),
    ({"url": "http://127.0.0.1/x", "offset": True}, "offset must be a whole number >= 0, got True"),
    ({"url": "http://127.0.0.1/x", "offset": "4"}, "offset must be a whole number >= 0, got '4'"),
    ({"url": "http://127.0.0.1/x", "size": -3}, "size must be a whole number > 0, got -3"),
    ({"url": "http://127.0.0.1/x", "size": True}, "size must be a whole number > 0, got True"),
    ({"url": "http://127.0.0.1/x", "size": 2.5}, "size must be a whole number > 0, got 2.5"),
], ids=["no-url", "url-not-str", "upper-scheme", "no-host", "neg-offset", "bool-offset", "str-offset", "neg-size",
        "bool-size", "float-size"])
def test_origin_parse_errors_name_the_place_and_the_field(value, why):
    from intake_npx2020.errors import InvalidObject
    from intake_npx2020.store.origin import Origin

    assert _raises(InvalidObject, Origin.parse, value, "entry.sources[2]") == f"entry.sources[2]: {why}"


def test_parse_sources_of_a_list_a_tuple_none_and_not_a_list():
    from intake_npx2020.errors import InvalidObject
    from intake_npx2020.store.origin import Origin, parse_sources

    assert parse_sources(None) == []
    two = parse_sources(("http://127.0.0.1/a", {"url": "http://127.0.0.1/b", "size": 3}))
    assert two == [Origin("http://127.0.0.1/a"), Origin("http://127.0.0.1/b", 0, 3)]
    assert _raises(InvalidObject, parse_sources, "http://127.0.0.1/a", "rec.metadata.sources") == \
        "rec.metadata.sources must be a list of mappings, got str"
    assert _raises(InvalidObject, parse_sources, ["http://127.0.0.1/a", {"url": "ftp://x"}]) == \
        "metadata.sources[1]: url 'ftp://x' is not an http(s):// URL"


def test_origin_describe_names_the_byte_range_of_an_embedded_file():
    from intake_npx2020.store.origin import Origin

    assert Origin("http://127.0.0.1/a", 4, 10).describe() == "http://127.0.0.1/a bytes 4-13"
    assert Origin("http://127.0.0.1/a", 0, 10).describe() == "http://127.0.0.1/a"
    assert Origin("http://127.0.0.1/a", 4, None).describe() == "http://127.0.0.1/a"
    assert Origin("http://127.0.0.1/a", 4, 10, verified=False).describe() == \
        "http://127.0.0.1/a bytes 4-13 (not yet verified)"
    assert Origin("http://127.0.0.1:8/a").host == "127.0.0.1"


def test_refusal_advice_points_figshare_links_to_the_api_url():
    from intake_npx2020.store.origin import _advice, figshare_download_url

    assert figshare_download_url("0077") == "https://api.figshare.com/v2/file/download/77"
    api = "try figshare's API download URL https://api.figshare.com/v2/file/download/55, or"
    assert _advice("https://figshare.com/ndownloader/files/55", 202) == api
    assert _advice("https://figshare.com/v2/file/download/55?x=1", 403) == api
    later = "try again later or another source (`npx2020 info ID` lists them), or"
    moved = "the file may have moved: check the record's page, or"
    assert _advice("https://api.figshare.com/v2/file/download/55", 403) == later  # already the API URL
    assert _advice("https://api.figshare.com/v2/file/download/55", 404) == moved
    assert _advice("https://example.org/files/55", 403) == later  # not figshare
    assert _advice("https://figshare.com/articles/55", 410) == later  # figshare, but no file id


def test_origin_reader_allows_time_for_the_bytes_asked():
    from intake_npx2020.store.origin import MIN_RATE, OriginReader

    r = OriginReader(timeout=2.0)
    assert r.budget(None) == 2.0 and r.budget(0) == 2.0
    assert r.budget(3 * MIN_RATE) == 5.0


@pytest.mark.parametrize("status, waf, why, advice", [
    (202, "challenge", "HTTP 202 with no file: a bot check (x-amzn-waf-action: challenge)", "try again later"),
    (202, None, "HTTP 202 with no file: a bot check", "try again later"),
    (401, None, "HTTP 401: it wants a login", "try again later"),
    (403, None, "HTTP 403: access forbidden", "try again later"),
    (404, None, "HTTP 404: no such file", "the file may have moved"),
    (410, None, "HTTP 410: the file is gone", "try again later"),
], ids=["202-waf", "202", "401", "403", "404", "410"])
def test_a_refusing_host_is_named_with_what_to_do(status, waf, why, advice):
    from intake_npx2020.store.origin import Origin, OriginReader, Refused

    def answer(h, method, path, query, body):
        h._send(status, b"", headers={"x-amzn-waf-action": waf} if waf else {})

    with _Scripted(answer) as s:
        base = s.url
        msg = _raises(Refused, OriginReader(timeout=5).read_range, Origin(f"{base}/f.bin?token=1"), 0, 10)
    assert msg.startswith(f"127.0.0.1 refused the download of {base}/f.bin ({why}); {advice}"), msg
    assert msg.endswith(", or download the file yourself and run `npx2020 add FILE`"), msg


def test_a_refusal_after_a_redirect_names_the_other_host_and_other_statuses_are_not_refusals():
    from intake_npx2020.store.mirror import PermanentError
    from intake_npx2020.store.origin import Origin, OriginReader, Refused

    with _Scripted(lambda h, *a: h._send(403, b"no")) as target:
        port = target.port

        def redirect(h, method, path, query, body):
            h._send(302, b"", headers={"Location": f"http://localhost:{port}{path}"})

        with _Scripted(redirect) as s:
            base = s.url
            msg = _raises(Refused, OriginReader(timeout=5).read_range, Origin(f"{base}/f.bin"), 0, 10)
    assert msg.startswith(f"127.0.0.1 (redirected to localhost) refused the download of {base}/f.bin (HTTP 403"), msg
    for status in (203, 402, 405, 411):
        with _Scripted(lambda h, *a, st=status: h._send(st, b"")) as s:
            with pytest.raises(PermanentError) as err:
                OriginReader(timeout=5).read_range(Origin(f"{s.url}/f.bin"), 0, 10)
            assert not isinstance(err.value, Refused) and f"HTTP {status}" in str(err.value)


def test_read_range_adds_the_origin_offset():
    from intake_npx2020.store.origin import Origin, OriginReader

    data = bytes(range(200))

    def answer(h, method, path, query, body):
        a, b = (int(x) for x in h.headers["Range"].split("=")[1].split("-"))
        h._send(206, data[a:b + 1], headers={"Content-Range": f"bytes {a}-{b}/{len(data)}"})

    with _Scripted(answer) as s:
        got = OriginReader(timeout=5).read_range(Origin(f"{s.url}/f", offset=50, size=100), 10, 30)
        assert s.requests_log[-1]["range"] == "bytes=60-79"
    assert bytes(got.data) == data[60:80]


# == partial downloads ==========================================================================================

def _sha1(data: bytes) -> str:
    import hashlib

    return hashlib.sha1(data).hexdigest()


PIECES = [(0, 4), (4, 8), (8, 12), (12, 16), (16, 18)]
WHOLE = bytes(range(65, 83))  # 18 bytes


def test_partial_download_files_and_their_state_on_disk(tmp_path):
    import json
    import os

    from intake_npx2020.store.partial import Partial

    h = _sha1(WHOLE)
    root = tmp_path / "new-store"  # does not exist yet
    p = Partial(root, h, len(WHOLE), PIECES)
    assert p.path == root / "tmp" / "downloads" / f"{h}.part"
    assert p.state_path == root / "tmp" / "downloads" / f"{h}.json"
    assert p.resume() == 0 and p.done == {}  # no state yet
    p.open()
    assert os.stat(p.path).st_size == 18 and (os.stat(p.path).st_mode & 0o777) == 0o644 & ~_umask()
    p.write(4, WHOLE[4:8], _sha1(WHOLE[4:8]))
    p.write(16, memoryview(WHOLE)[16:18], _sha1(WHOLE[16:18]))
    p.close()
    assert p.path.read_bytes() == b"\0" * 4 + WHOLE[4:8] + b"\0" * 8 + WHOLE[16:18]
    assert json.loads(p.state_path.read_text()) == {
        "key": {"sha1": h, "size": 18, "pieces": 5, "piece_ends": [4, 8, 12],
                "ends_sha1": _sha1(b"4,8,12,16,18")},
        "done": {"4": _sha1(WHOLE[4:8]), "16": _sha1(WHOLE[16:18])}}
    assert sorted(os.listdir(p.dir)) == [f"{h}.json", f"{h}.part"]  # no temporary state left
    again = Partial(root, h, len(WHOLE), PIECES)
    assert again.resume() == 6
    assert again.done == {4: _sha1(WHOLE[4:8]), 16: _sha1(WHOLE[16:18])}
    assert again.todo() == [(0, 4), (8, 12), (12, 16)]
    again.open()  # the file has the right size: what was recorded stays
    assert again.todo() == [(0, 4), (8, 12), (12, 16)]
    again.close()


def _umask() -> int:
    import os

    m = os.umask(0)
    os.umask(m)
    return m


def test_partial_state_of_another_download_is_not_resumed(tmp_path):
    import json

    from intake_npx2020.store.partial import Partial

    h = _sha1(WHOLE)
    p = Partial(tmp_path, h, len(WHOLE), PIECES)
    p.open()
    p.write(0, WHOLE[:4], _sha1(WHOLE[:4]))
    p.close()
    other_cuts = [(0, 4), (4, 9), (9, 12), (12, 16), (16, 18)]  # cut elsewhere: another download
    assert Partial(tmp_path, h, len(WHOLE), other_cuts).resume() == 0
    assert Partial(tmp_path, h, len(WHOLE), PIECES[:4] + [(16, 17), (17, 18)]).resume() == 0  # more pieces
    late = PIECES[:3] + [(12, 17), (17, 18)]  # as many pieces, the same first three: cut elsewhere after them
    assert Partial(tmp_path, h, len(WHOLE), late).resume() == 0
    assert Partial(tmp_path, h, len(WHOLE), PIECES).resume() == 4
    state = json.loads(p.state_path.read_text())
    state["done"]["999"] = "f" * 40  # a piece that is not one of ours is ignored
    p.state_path.write_text(json.dumps(state))
    q = Partial(tmp_path, h, len(WHOLE), PIECES)
    assert q.resume() == 4 and list(q.done) == [0]
    p.path.write_bytes(WHOLE[:10])  # the partial file is not the size of the file: start again
    r = Partial(tmp_path, h, len(WHOLE), PIECES)
    assert r.resume() == 0 and r.done == {}
    p.state_path.write_text("[1, 2]")
    assert Partial(tmp_path, h, len(WHOLE), PIECES).resume() == 0


def test_partial_file_of_the_wrong_size_is_restarted_at_full_size(tmp_path):
    from intake_npx2020.store.partial import Partial

    h = _sha1(WHOLE)
    p = Partial(tmp_path, h, len(WHOLE), PIECES)
    p.dir.mkdir(parents=True)
    p.path.write_bytes(b"x" * 30)
    p.done = {0: _sha1(WHOLE[:4])}
    p.open()
    assert p.done == {} and p.todo() == PIECES
    assert p.path.stat().st_size == 18
    p.close()


def test_partial_discard_removes_everything_and_says_what_was_recorded(tmp_path):
    import os

    from intake_npx2020.store.partial import Partial

    h = _sha1(WHOLE)
    p = Partial(tmp_path, h, len(WHOLE), PIECES)
    p.open()
    p.write(8, WHOLE[8:12], _sha1(WHOLE[8:12]))
    p.write(16, WHOLE[16:18], _sha1(WHOLE[16:18]))
    (p.dir / f"{h}.json.tmp").write_text("{}")  # left by a run killed while recording
    assert p.discard() == 6
    assert os.listdir(p.dir) == [] and p.done == {} and p.todo() == PIECES


# == live kachery lookups ======================================================================================

KH = "4" * 40  # a blob the lookup services are asked about
KDATA = bytes(range(256)) * 4


class _Service(stubs.base.StubBase):
    """A findFile service (gateway or kachery 2 shape) and its bucket in one: ``answers`` maps a sha1 to a JSON
    answer or an int (an HTTP status with text ``body``); blobs are served from ``/bucket/<sha1>``."""

    def __init__(self, answers=None, body=b"refused", bucket_status=None):
        super().__init__()
        self.answers, self.body, self.bucket_status = dict(answers or {}), body, bucket_status

    def _route(self, h, method, path, query, body):
        if path.startswith("/bucket/"):
            if self.bucket_status:
                return h._send(self.bucket_status, b"<Error>expired</Error>")
            data = KDATA[: int(query.get("n", len(KDATA)))]
            rng = h.headers.get("Range")
            if rng:
                a, b = (int(x) for x in rng.split("=")[1].split("-"))
                return h._send(206, data[a:b + 1], headers={"Content-Range": f"bytes {a}-{b}/{len(data)}"})
            return h._send(200, data)
        j = h._entry.get("json") or {}
        sha = j.get("hash") or (j.get("payload") or {}).get("hash")
        a = self.answers.get(sha, {"found": False})
        if isinstance(a, int):
            return h._send(a, self.body, "text/plain")
        h._json(200, a)

    def found(self, n: int = len(KDATA), size: int | None = None) -> dict:
        return {"found": True, "size": len(KDATA) if size is None else size, "url": f"{self.url}/bucket/x?n={n}"}

    def lookups(self, path: str) -> list:
        return [e for e in self.requests_log if e["path"] == path]


@pytest.fixture
def services(monkeypatch):
    with _Service() as gw, _Service() as k2:
        monkeypatch.setenv("KACHERY_GATEWAY_URL", gw.url)
        monkeypatch.setenv("KACHERY_BASE_URL", k2.url + "/")
        yield gw, k2


def test_lookups_name_the_zone_given_else_the_environments_else_default(services, monkeypatch):
    from intake_npx2020.store.kachery import find_gateway, find_kachery2

    gw, k2 = services
    assert find_gateway(KH, timeout=5) is None and find_kachery2(KH, timeout=5) is None
    assert find_gateway(KH, "lab", timeout=5) is None and find_kachery2(KH, "lab", timeout=5) is None
    monkeypatch.setenv("KACHERY_ZONE", "envzone")
    assert find_gateway(KH, timeout=5) is None and find_kachery2(KH, timeout=5) is None
    assert find_kachery2(KH, "lab", timeout=5) is None
    assert [e["json"]["payload"]["zone"] for e in gw.requests_log] == ["default", "lab", "envzone"]
    assert [e["json"]["zoneName"] for e in k2.requests_log] == ["default", "lab", "envzone", "lab"]
    assert all(e["path"] == "/api/findFile" and e["headers"]["content-type"] == "application/json"
               for e in k2.requests_log)
    assert "authorization" not in k2.requests_log[0]["headers"]


def test_found_answers_name_their_service_url_and_size(services):
    from intake_npx2020.store.kachery import find_gateway, find_kachery2

    gw, k2 = services
    gw.answers[KH] = gw.found()
    k2.answers[KH] = {"found": True, "size": 0, "url": f"{k2.url}/bucket/empty?n=0"}  # an empty file is a file
    t = time.time()
    g = find_gateway(KH, timeout=5)
    assert (g.url, g.size, g.service) == (f"{gw.url}/bucket/x?n={len(KDATA)}", len(KDATA), "kachery-cloud gateway")
    assert t + 600 <= g.reuse_until <= time.time() + 600  # no expiry in the URL: reused 10 min
    k = find_kachery2(KH, timeout=5)
    assert (k.url, k.size, k.service) == (f"{k2.url}/bucket/empty?n=0", 0, "kachery 2")


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_a_busy_service_is_transient(services, status):
    from intake_npx2020.store.kachery import find_kachery2
    from intake_npx2020.store.mirror import TransientError

    _, k2 = services
    k2.answers[KH] = status
    assert _raises(TransientError, find_kachery2, KH, timeout=5) == f"kachery 2 {k2.url}/api/findFile: HTTP {status}"


def test_a_refused_lookup_quotes_the_answer_and_hints_at_the_clock(services):
    from intake_npx2020.errors import FetchError
    from intake_npx2020.store.kachery import find_gateway

    gw, _ = services
    url = f"{gw.url}/api/gateway"
    gw.answers[KH] = 500
    gw.body = b"Error:\n  Invalid timestamp   (skew)"
    assert _raises(FetchError, find_gateway, KH, timeout=5) == (
        f"kachery-cloud gateway {url} refused the lookup: HTTP 500: Error: Invalid timestamp (skew)"
        " (this machine's clock may be off: the gateway allows 125 s)")
    gw.answers[KH] = 400
    gw.body = b"bad  " + b"z" * 400
    assert _raises(FetchError, find_gateway, KH, timeout=5) == \
        f"kachery-cloud gateway {url} refused the lookup: HTTP 400: bad " + "z" * 295  # 300 characters at most
    gw.answers[KH] = {"found": 1}
    assert _raises(FetchError, find_gateway, KH, timeout=5) == \
        f"kachery-cloud gateway {url}: malformed findFile answer \"{{'found': 1}}\""
    gw.answers[KH] = 201
    gw.body = b"created"
    assert _raises(FetchError, find_gateway, KH, timeout=5) == \
        f"kachery-cloud gateway {url} refused the lookup: HTTP 201: created"


def test_a_lookup_answer_that_is_not_json_is_quoted_up_to_100_characters(services):
    from intake_npx2020.errors import FetchError
    from intake_npx2020.store.kachery import find_gateway

    gw, _ = services

    def not_json(h, method, path, query, body):
        h._send(200, b"y" * 150, "text/plain")

    gw._route = not_json
    assert _raises(FetchError, find_gateway, KH, timeout=5) == \
        f"kachery-cloud gateway {gw.url}/api/gateway answered with something that is not JSON: {'y' * 100!r}"


def test_a_redirected_lookup_is_not_followed(services):
    from intake_npx2020.errors import FetchError
    from intake_npx2020.store.kachery import find_gateway

    gw, k2 = services
    k2.answers[KH] = k2.found()

    def redirect(h, method, path, query, body):
        h._send(307, b"", headers={"Location": f"{k2.url}/api/findFile"})

    gw._route = redirect
    assert _raises(FetchError, find_gateway, KH, timeout=5).startswith(
        f"kachery-cloud gateway {gw.url}/api/gateway refused the lookup: HTTP 307")
    assert k2.requests_log == []


def test_an_unreachable_service_is_transient_and_says_why(monkeypatch):
    from helpers import free_port

    from intake_npx2020.store.kachery import find_gateway
    from intake_npx2020.store.mirror import TransientError

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("KACHERY_GATEWAY_URL", url)
    assert _raises(TransientError, find_gateway, KH, timeout=5) == \
        f"kachery-cloud gateway {url}/api/gateway unreachable (connection refused)"


def _trickle(steps: int):
    """A stub route that promises 100 bytes and sends one space every 0.1 s, ``steps`` times."""
    def route(h, method, path, query, body):
        h.send_response(200)
        h.send_header("Content-Length", "100")
        h.end_headers()
        for _ in range(steps):
            h.wfile.write(b" ")
            h.wfile.flush()
            time.sleep(0.1)
    return route


def test_a_trickling_service_is_cut_off_after_twice_its_timeout(services):
    from intake_npx2020.store.kachery import find_gateway
    from intake_npx2020.store.mirror import TransientError

    gw, _ = services

    gw._route = _trickle(50)
    t = time.monotonic()
    msg = _raises(TransientError, find_gateway, KH, timeout=1.2)
    took = time.monotonic() - t
    assert msg.startswith(f"kachery-cloud gateway {gw.url}/api/gateway unreachable ("), msg
    assert 2.0 <= took < 3.2, took  # the deadline is 2 x 1.2 s for the whole lookup


@pytest.mark.parametrize("text, words", [
    ("Failed to resolve 'h.invalid'", "cannot resolve its host name"),
    ("[Errno 111] Connection refused", "connection refused"),
    ("Read timed out. (read timeout=5)", "timed out"),
    ("the deadline passed", "no answer in time"),
    ("[SSL: CERTIFICATE_VERIFY_FAILED]", "TLS error"),
    ("something else", "KeyError"),
], ids=["resolve", "refused", "timed-out", "deadline", "ssl", "other"])
def test_why_a_service_was_unreachable_in_a_few_words(text, words):
    from intake_npx2020.store.kachery import _why

    assert _why(KeyError(text) if words == "KeyError" else OSError(text)) == words


def test_found_answer_without_url_and_size_is_quoted_up_to_200_characters():
    from intake_npx2020.errors import FetchError
    from intake_npx2020.store.kachery import _found

    resp = {"found": True, "size": 5, "padding": "p" * 400}
    assert _raises(FetchError, _found, resp, "gw", "U") == \
        f"gw U: findFile answer without a url and size: {str(resp)[:200]!r}"
    assert _raises(FetchError, _found, ["found"], "gw", "U") == "gw U: malformed findFile answer \"['found']\""


def test_unusable_keys_warn_at_the_callers_line_and_the_lookup_goes_unsigned(services, monkeypatch):
    from intake_npx2020.store.kachery import find_gateway

    gw, _ = services
    monkeypatch.setenv("KACHERY_CLOUD_CLIENT_ID", "a" * 64)
    with pytest.warns(UserWarning) as w:
        assert find_gateway(KH, timeout=5) is None
    assert str(w[0].message) == ("kachery-cloud keys not used (KACHERY_CLOUD_CLIENT_ID is set but "
                                 "KACHERY_CLOUD_PRIVATE_KEY is not); the lookup is sent unsigned")
    from intake_npx2020.store import kachery

    assert w[0].filename != kachery.__file__  # blamed on the line that asked for the lookup, not on the library
    assert set(gw.requests_log[-1]["json"]) == {"payload"}


def _remote(timeout: float = 5.0):
    from intake_npx2020.store.kachery import KacheryRemote

    return KacheryRemote(timeout)


def test_remote_names_its_services_and_what_it_knows_of_them(services):
    gw, k2 = services
    r = _remote()
    assert repr(r) == "KacheryRemote()"
    from intake_npx2020.store.kachery import KacheryRemote

    assert KacheryRemote().timeout == 10.0  # seconds per request by default
    assert r.describe() == "live kachery: kachery-cloud gateway, kachery 2"
    assert r.url(KH) == f"kachery lookup of {KH}"
    gw.answers[KH] = 503
    k2.answers[KH] = k2.found()
    assert r.size(KH) == len(KDATA)
    assert r.url(KH) == f"kachery 2 URL of {KH}"
    assert r.describe() == f"live kachery: kachery-cloud gateway ({gw.url}/api/gateway: HTTP 503), kachery 2"


def test_remote_reuses_a_found_url_remembers_a_miss_and_forgets_both_on_request(services):
    gw, k2 = services
    r = _remote()
    assert r.size(KH) is None and r.get(KH) is None  # a miss, asked once
    assert len(gw.lookups("/api/gateway")) == 1 and len(k2.lookups("/api/findFile")) == 1
    gw.answers[KH] = gw.found()
    r.forget(KH)
    assert bytes(r.get(KH, 10, 20).data) == KDATA[10:20]
    assert bytes(r.get(KH).data) == KDATA
    assert r.size(KH) == len(KDATA)
    assert len(gw.lookups("/api/gateway")) == 2 and len(k2.lookups("/api/findFile")) == 1  # the URL was reused
    r.forget(KH)
    assert r.size(KH) == len(KDATA) and len(gw.lookups("/api/gateway")) == 3


def test_remote_asks_again_for_a_url_past_its_reuse(services):
    gw, _ = services
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 100))
    gw.answers[KH] = {"found": True, "size": len(KDATA),  # expired already: never reused
                      "url": f"{gw.url}/bucket/x?X-Amz-Date={stamp}&X-Amz-Expires=10"}
    r = _remote()
    assert r.size(KH) == len(KDATA) and r.size(KH) == len(KDATA)
    assert len(gw.lookups("/api/gateway")) == 2


def test_remote_refusals_of_both_services_are_one_permanent_error(services):
    from intake_npx2020.store.mirror import PermanentError

    gw, k2 = services
    gw.answers[KH] = k2.answers[KH] = 400
    msg = _raises(PermanentError, _remote().get, KH)
    assert msg == (f"kachery-cloud gateway {gw.url}/api/gateway refused the lookup: HTTP 400: refused; "
                   f"kachery 2 {k2.url}/api/findFile refused the lookup: HTTP 400: refused")


def test_remote_get_checks_the_size_it_is_told(services):
    from intake_npx2020.store.mirror import PermanentError

    gw, _ = services
    gw.answers[KH] = gw.found()
    r = _remote()
    assert bytes(r.get(KH, None, None, len(KDATA)).data) == KDATA
    assert "Content-Length 1024 but 1000 bytes were asked for" in _raises(PermanentError, r.get, KH, None, None, 1000)


def test_remote_asks_for_a_fresh_url_once_when_the_bucket_refuses_it(services):
    from intake_npx2020.store.remote_http import URLExpired

    gw, _ = services
    gw.answers[KH] = gw.found()
    gw.bucket_status = 403
    r = _remote()
    assert _raises(URLExpired, r.get, KH, 0, 10) == f"GET {gw.url}/bucket/x: HTTP 403 <Error>expired</Error>"
    assert len(gw.lookups("/api/gateway")) == 2 and len(gw.lookups("/bucket/x")) == 2
    assert r.url(KH) == f"kachery lookup of {KH}"  # the refused URL is not kept


def test_remote_url_that_answers_404_is_permanent_and_forgotten(services):
    from intake_npx2020.store.mirror import PermanentError

    gw, _ = services
    gw.answers[KH] = gw.found()
    gw.bucket_status = 404
    r = _remote()
    assert _raises(PermanentError, r.get, KH, 0, 10) == \
        f"kachery-cloud gateway named a URL for {KH} that answers 404"
    assert r.url(KH) == f"kachery lookup of {KH}"
    gw.bucket_status = None
    assert bytes(r.get(KH, 0, 10).data) == KDATA[:10] and len(gw.lookups("/api/gateway")) == 2


@pytest.fixture
def full_backlog():
    """A port whose listen queue is full: connecting to it hangs (the SYN is dropped) until a connect timeout."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fill = []
    for _ in range(8):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fill.append(c)
    time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    for c in fill:
        c.close()
    srv.close()


def test_a_lookup_that_cannot_connect_gives_up_after_its_timeout(full_backlog, monkeypatch):
    from intake_npx2020.store.kachery import find_gateway
    from intake_npx2020.store.mirror import TransientError

    monkeypatch.setenv("KACHERY_GATEWAY_URL", full_backlog)
    t = time.monotonic()
    assert _raises(TransientError, find_gateway, KH, timeout=0.5) == \
        f"kachery-cloud gateway {full_backlog}/api/gateway unreachable (timed out)"
    assert time.monotonic() - t < 3.0


def test_remote_lookups_use_the_remotes_own_timeout(services):
    gw, k2 = services

    gw._route = _trickle(30)
    k2.answers[KH] = k2.found()
    t = time.monotonic()
    assert _remote(0.3).size(KH) == len(KDATA)  # the gateway given up after 2 x 0.3 s; kachery 2 then asked
    assert time.monotonic() - t < 2.0


def test_kachery2_is_asked_below_its_configured_path_and_a_malformed_answer_is_named(services, monkeypatch):
    from intake_npx2020.errors import FetchError
    from intake_npx2020.store.kachery import find_kachery2

    _, k2 = services
    monkeypatch.setenv("KACHERY_BASE_URL", f"{k2.url}/k2X")  # nothing but a trailing slash is dropped
    assert find_kachery2(KH, timeout=5) is None
    assert k2.requests_log[-1]["path"] == "/k2X/api/findFile"
    k2.answers[KH] = {"found": "maybe"}
    assert _raises(FetchError, find_kachery2, KH, timeout=5) == \
        f"kachery 2 {k2.url}/k2X/api/findFile: malformed findFile answer \"{{'found': 'maybe'}}\""


def test_https_requests_go_through_the_same_deadline_adapter_as_http():
    s = session(4)
    assert s.get_adapter("https://127.0.0.1/x") is s.get_adapter("http://127.0.0.1/x")
    assert type(s.get_adapter("https://127.0.0.1/x")).__name__ == "DeadlineAdapter"
