"""Failover messages: a dead mirror's cause is said once, with how many attempts it ended."""

from __future__ import annotations

import socket

import pytest

from intake_npx2020.errors import FetchError
from intake_npx2020.store import get_store
from intake_npx2020.store.failover import summarize_errors


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_summarize_keeps_order_and_counts():
    assert summarize_errors(["a", "b", "a", "a"]) == "a (3 attempts); b"
    assert summarize_errors([f"e{i}" for i in range(9)], keep=2) == "e7; e8"


def test_dead_mirror_says_the_cause_once(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}"
    store = get_store({"store": str(tmp_path / "s"), "mirrors": [url], "retries": 4, "timeout": 1,
                       "use_kachery": False})
    with pytest.raises(FetchError) as err:
        store.load_bytes("a" * 40)
    msg = str(err.value)
    assert msg.count(url) == 1, msg
    assert "4 attempts" in msg
