"""Live kachery as a remote source, against loopback stubs of the gateway, kachery 2 and their buckets.

Chunk-verified lazy reads through each service, URL reuse and refresh on expiry, brief memory of misses and of
unreachable services, optional signing, the three kachery URI forms everywhere a sha1:// URI is accepted.
"""

from __future__ import annotations

import base64
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest
import stubs
from helpers import bin1_object, irregular_bounds, make_raw, random_bytes, sha1

from intake_npx2020.errors import ContentNotFound, FetchError, IntegrityError
from intake_npx2020.store import forget_stores, get_store
from intake_npx2020.store.manifest import Chunk, Manifest
from intake_npx2020.store.remote_http import reuse_until, url_expiry

DATA = random_bytes(3_000_000, seed=11)
H = sha1(DATA)
_BOUNDS = irregular_bounds(len(DATA), 2, 200_000, 900_000)
MANIFEST = Manifest(len(DATA), H, tuple(Chunk(a, b, sha1(DATA[a:b])) for a, b in zip(_BOUNDS, _BOUNDS[1:])))


@pytest.fixture
def kachery(tmp_path, monkeypatch):
    """A gateway and a kachery 2 stub, each with its own bucket; live kachery on, pointed at them; no keys."""
    monkeypatch.setenv("NPX2020_KACHERY", "1")
    monkeypatch.setenv("KACHERY_CLOUD_DIR", str(tmp_path / "kc"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with stubs.BucketStub(tmp_path / "gw-bucket") as gb, stubs.BucketStub(tmp_path / "k2-bucket") as kb, \
            stubs.GatewayStub(gb, zones={"default": "", "priv": "p"}, private_zones={"priv"}) as gw, \
            stubs.Kachery2Stub(kb, zones={"default": {"directory": ""},
                                          "lab": {"directory": "lab", "public_download": False,
                                                  "users": ["alice"]}},
                               api_keys={"tok-a": "alice"}) as k2:
        monkeypatch.setenv("KACHERY_GATEWAY_URL", gw.url)
        monkeypatch.setenv("KACHERY_BASE_URL", k2.url)
        forget_stores()
        yield SimpleNamespace(gw=gw, k2=k2, gw_bucket=gb, k2_bucket=kb)
        forget_stores()


def _lookups(stub, h):
    out = []
    for e in stub.requests_log:
        j = e.get("json") or {}
        if j.get("hash", j.get("payload", {}).get("hash")) == h:
            out.append(e)
    return out


def _ranges(bucket, h):
    return [e["range"] for e in bucket.requests_log if e["path"].endswith(h) and e["method"] == "GET"]


def _uri():
    return f"sha1://{H}/raw.bin?manifest={MANIFEST.hash}"


@pytest.mark.parametrize("service", ["gateway", "kachery2"])
def test_chunk_verified_lazy_reads(kachery, service):
    stub, bucket = (kachery.gw, kachery.gw_bucket) if service == "gateway" else (kachery.k2, kachery.k2_bucket)
    stub.add_file(DATA)
    stub.add_file(MANIFEST.to_bytes())
    st = get_store()
    a, b = 1_000_000, 1_700_000
    assert bytes(st.read(_uri(), a, b)) == DATA[a:b]
    chunks = MANIFEST.chunks_for(a, b)
    assert len(chunks) >= 2
    # only the chunks covering the window, each by a Range request on the found URL; never the whole file
    assert sorted(_ranges(bucket, H)) == sorted(f"bytes={c.start}-{c.end - 1}" for c in chunks)
    st.flush()  # cached chunks are written behind the read
    assert all(st.own.locate(c.sha1) for c in chunks)  # each verified and cached under its own sha1
    assert len(_lookups(stub, H)) == 1  # one lookup for all chunks: the URL is reused
    if service == "kachery2":
        assert len(_lookups(kachery.gw, H)) == 1  # asked first, said not found
        assert _lookups(stub, H)[0]["json"] == {"type": "findFileRequest", "hashAlg": "sha1", "hash": H,
                                                "zoneName": "default"}


def test_wrong_bytes_from_kachery_are_refused(kachery):
    kachery.gw.add_file(MANIFEST.to_bytes())
    bad = bytearray(DATA)
    bad[1_200_000] ^= 1
    kachery.gw_bucket.put(f"sha1/{H[:2]}/{H[2:4]}/{H[4:6]}/{H}", bytes(bad))
    st = get_store({"retries": 1})
    with pytest.raises(FetchError, match="does not match"):
        st.read(_uri(), 1_150_000, 1_250_000)
    bad_chunk = MANIFEST.chunks_for(1_200_000, 1_200_001)[0]
    assert st.own.locate(bad_chunk.sha1) is None  # nothing of the corrupt chunk kept


def test_file_without_manifest_is_verified_whole_before_use(kachery):
    small = random_bytes(50_000, seed=2)
    h = kachery.gw.add_file(small)
    st = get_store()
    assert bytes(st.read(f"sha1://{h}/small.bin", 10, 20)) == small[10:20]
    assert _ranges(kachery.gw_bucket, h) == [None]  # one whole GET, hashed before any byte was used
    other = random_bytes(50_000, seed=3)
    h2 = sha1(other)
    kachery.gw_bucket.put(f"sha1/{h2[:2]}/{h2[2:4]}/{h2[4:6]}/{h2}", small)  # the bucket lies
    with pytest.raises(FetchError, match="does not match"):
        get_store({"retries": 1}).read(f"sha1://{h2}", 0, 10)


def test_expired_url_is_asked_for_again(kachery):
    kachery.gw.add_file(DATA)
    kachery.gw.add_file(MANIFEST.to_bytes())
    st = get_store()
    st.read(_uri(), 0, 10)
    assert len(_lookups(kachery.gw, H)) == 1
    # an hour later for the bucket: the URL the store holds is refused; the gateway's next URL lives longer
    kachery.gw_bucket.clock.advance(3601)
    kachery.gw.url_lifetime = 7200
    kachery.gw._cache.clear()
    c = MANIFEST.chunks[-1]
    assert bytes(st.read(_uri(), c.start, c.end)) == DATA[c.start:c.end]
    statuses = [e["status"] for e in kachery.gw_bucket.requests_log if e["path"].endswith(H)]
    assert statuses[-2:] == [403, 206]
    assert len(_lookups(kachery.gw, H)) == 2


def test_url_reuse_is_shorter_than_its_life():
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now - 3000))
    url = f"https://b.example/k?X-Amz-Date={stamp}&X-Amz-Expires=3600&X-Amz-Signature=x"
    assert url_expiry(url) == pytest.approx(now + 600, abs=2)
    assert now < reuse_until(url, now) < now + 600 - 100  # a margin before expiry
    assert reuse_until("https://b.example/plain", now) == pytest.approx(now + 600)  # unknown: 10 min
    assert reuse_until(url.replace("3600", "10"), now) == now  # already expired: never reused


def test_miss_and_unreachable_service_are_remembered(kachery):
    st = get_store()
    missing = "1" * 40
    for _ in range(3):
        with pytest.raises(ContentNotFound, match="live kachery"):
            st.read(f"sha1://{missing}", 0, 1)
    assert len(_lookups(kachery.gw, missing)) == 1 and len(_lookups(kachery.k2, missing)) == 1
    kachery.gw.fail_next = [503] * 20
    other = "2" * 40
    with pytest.raises(ContentNotFound) as err:
        st.read(f"sha1://{other}", 0, 1)
    assert "unreachable" in str(err.value)
    n = len(kachery.gw.requests_log)
    with pytest.raises(ContentNotFound):
        st.read(f"sha1://{'3' * 40}", 0, 1)
    assert len(kachery.gw.requests_log) == n  # not asked again within a minute
    assert len(_lookups(kachery.k2, "3" * 40)) == 1  # kachery 2 still is


def test_kachery_off_by_setting(kachery):
    kachery.gw.add_file(DATA)
    with pytest.raises(ContentNotFound, match="lookups off"):
        get_store({"kachery_remote": False}).read(f"sha1://{H}", 0, 1)
    assert kachery.gw.requests_log == []


def _keys():
    secret = bytes(range(32))
    return stubs.ed25519_public_key(secret).hex(), secret.hex()


def test_unsigned_without_keys_signed_with_them(kachery, monkeypatch, tmp_path):
    h = kachery.gw.add_file(b"public bytes")
    get_store().read(f"sha1://{h}")
    assert set(_lookups(kachery.gw, h)[-1]["json"]) == {"payload"}  # unsigned: the keys absent, not null
    pytest.importorskip("cryptography")
    pub, priv = _keys()
    monkeypatch.setenv("KACHERY_CLOUD_CLIENT_ID", pub)
    monkeypatch.setenv("KACHERY_CLOUD_PRIVATE_KEY", priv)
    kachery.gw.authorized_clients.add(pub)
    h2 = kachery.gw.add_file(b"private bytes", zone="priv")
    assert bytes(get_store().read(f"kachery:priv:sha1:{h2}:p.bin")) == b"private bytes"
    e = _lookups(kachery.gw, h2)[-1]
    assert e["json"]["fromClientId"] == pub and e["signature_valid"] is True
    assert e["json"]["payload"]["zone"] == "priv"
    assert abs(e["json"]["payload"]["timestamp"] - time.time() * 1000) < 10_000  # milliseconds


def test_pem_keys_and_no_cryptography(kachery, monkeypatch, tmp_path):
    pytest.importorskip("cryptography")
    pub, priv = _keys()
    d = tmp_path / "kc"
    d.mkdir()
    der = {"PRIVATE": "302e020100300506032b657004220420" + priv, "PUBLIC": "302a300506032b6570032100" + pub}
    for kind, name in (("PRIVATE", "private.pem"), ("PUBLIC", "public.pem")):
        (d / name).write_text(f"-----BEGIN {kind} KEY-----\n{base64.b64encode(bytes.fromhex(der[kind])).decode()}"
                              f"\n-----END {kind} KEY-----\n")
    h = kachery.gw.add_file(b"pem")
    get_store().read(f"sha1://{h}")
    assert _lookups(kachery.gw, h)[-1]["signature_valid"] is True
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.asymmetric.ed25519", None)
    forget_stores()
    h2 = kachery.gw.add_file(b"pem, unsigned")
    get_store().read(f"sha1://{h2}")
    assert set(_lookups(kachery.gw, h2)[-1]["json"]) == {"payload"}


def test_gateway_clock_skew_is_reported(kachery):
    kachery.gw.add_file(b"x")
    kachery.gw.clock.advance(600)
    with pytest.raises(FetchError, match="clock"):
        get_store({"retries": 1}).read(f"sha1://{sha1(b'x')}")


# -- the three kachery URI forms, everywhere a sha1:// URI is accepted ------------------------------------

def test_kachery2_uris_with_and_without_zone(kachery, monkeypatch):
    h = kachery.k2.add_file(b"lab bytes", zone="lab")
    monkeypatch.setenv("KACHERY_API_KEY", "tok-a")
    assert bytes(get_store().read(f"kachery:lab:sha1:{h}:x%3Ay.bin")) == b"lab bytes"
    e = _lookups(kachery.k2, h)[-1]
    assert e["json"]["zoneName"] == "lab" and e["headers"]["authorization"] == "Bearer tok-a"
    h2 = kachery.k2.add_file(b"default zone")
    monkeypatch.setenv("KACHERY_ZONE", "default")
    assert bytes(get_store().read(f"kachery::sha1:{h2}:raw.bin")) == b"default zone"
    assert _lookups(kachery.k2, h2)[-1]["json"]["zoneName"] == "default"


def test_location_uri_is_read_after_its_hash_is_checked(tmp_path):
    data = random_bytes(100_000, seed=4)
    f = tmp_path / "my file+1.bin"
    f.write_bytes(data)
    uri = f"sha1://{sha1(data)}?label=my%20file.bin&location={f}"
    assert bytes(get_store().read(uri, 5, 9)) == data[5:9]
    wrong = f"sha1://{sha1(b'other')}?label=x&location={f}"
    with pytest.raises(IntegrityError, match="not the file"):
        get_store().read(wrong, 0, 1)


def test_uri_forms_in_fs_and_drivers(kachery, tmp_path):
    from intake_npx2020.fs import Sha1FileSystem
    from intake_npx2020.sources.drivers import RecordingSource

    raw = make_raw(3000, 8, seed=5)
    h = kachery.gw.add_file(raw.tobytes())
    f = tmp_path / "raw.bin"
    f.write_bytes(raw.tobytes())
    fs = Sha1FileSystem(skip_instance_cache=True)  # fsspec caches instances: one built before this env is stale
    for uri in (f"kachery:default:sha1:{h}:raw.bin", f"kachery::sha1:{h}:raw.bin",
                f"sha1://{h}?label=raw.bin&location={f}"):
        assert fs.cat_file(uri, 16, 32) == raw.tobytes()[16:32]
        src = RecordingSource(bin1_object(uri, 8, 3000, list(range(8))))
        assert np.array_equal(src.to_dask().values, raw)
        assert src.uris() == [uri]
