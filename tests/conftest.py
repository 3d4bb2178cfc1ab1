"""Shared fixtures: isolated stores in tmp_path, generated blobs with irregular manifests, HTTP servers."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import CX_COLS, FaultServer, bin1_object, free_port, irregular_bounds, make_raw, put_file, random_bytes


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No test sees the user's stores, mirrors, kachery dirs or keys, or asks the live kachery services."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NPX2020_STORE", str(tmp_path / "own-store"))
    for var in ("NPX2020_MIRRORS", "NPX2020_CACHE_MAX", "KACHERY_STORAGE_DIR", "KACHERY_OFFLINE_STORAGE_DIR",
                "KACHERY_CLOUD_DIR", "KACHERY_DIR", "NPX2020_TIMEOUT", "NPX2020_RETRIES", "KACHERY_GATEWAY_URL",
                "KACHERY_BASE_URL", "KACHERY_ZONE", "KACHERY_API_KEY", "KACHERY_CLOUD_CLIENT_ID",
                "KACHERY_CLOUD_PRIVATE_KEY", "KACHERY_RESOURCE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NPX2020_KACHERY", "0")  # never the live kachery services; tests of them turn this on
    monkeypatch.setenv("NPX2020_PACKED", "0")  # no pack-index requests to count; tests of packed mirrors turn it on
    from intake_npx2020 import store

    store.forget_stores()
    yield
    store.forget_stores()


@pytest.fixture
def blob(tmp_path):
    """A 12 MB random file with an irregular manifest, whole + chunks, in a 'source' store."""
    data = random_bytes(12_000_000, seed=3)
    root = tmp_path / "source"
    uri = put_file(root, data, irregular_bounds(len(data)), whole=True, chunks=False)
    return root, data, uri


@pytest.fixture
def serve_process():
    """Start ``npx2020 serve ROOT`` as a real process on 127.0.0.1; yields a function root -> base URL."""
    procs = []

    def start(root) -> str:
        port = free_port()
        p = subprocess.Popen([sys.executable, "-m", "intake_npx2020", "serve", str(root), "--port", str(port)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(p)
        line = p.stdout.readline()
        assert "serving" in line, p.stderr.read()
        return f"http://127.0.0.1:{port}"

    yield start
    for p in procs:
        p.terminate()
        p.wait(timeout=10)


@pytest.fixture
def fault_server(blob):
    root, data, uri = blob
    srv = FaultServer(root)
    yield srv, data, uri
    srv.close()


# -- recordings and sortings -------------------------------------------------------------------------

@pytest.fixture
def recording(tmp_path):
    """A 3 s, 385-column recording mapped to 374 channels, in our store with an irregular manifest."""
    raw = make_raw(90_000, 385, seed=7)
    data = raw.tobytes()
    uri = put_file(tmp_path / "own-store", data, irregular_bounds(len(data), seed=5, lo=1_000_000, hi=9_000_000))
    return bin1_object(uri, 385, 90_000, CX_COLS), raw


@pytest.fixture
def socket_pair():
    """A function making connected socket pairs ``(a, b)``; every pair made is closed after the test."""
    import socket

    made = []

    def make():
        made.append(socket.socketpair())
        return made[-1]

    yield make
    for a, b in made:
        a.close()
        b.close()
