"""Tests written to kill mutmut survivors in the store's settings, ingest, temp area, cache cap, directory objects,
``location=`` files and block reads (``store/config.py``, ``ingest.py``, ``tmpfiles.py``, ``capacity.py``,
``dirobj.py``, ``located.py``, ``remotes.py``, ``blocks.py``).

Each test asserts what a user or a peer process can observe: the exact message of a refused setting (naming the
option or variable), the value a setting takes, which files are in the store, the bytes read. Expected values come
from the documented rules (units, ranges, the order of the kachery roots), never from the code under test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from intake_npx2020.errors import ConfigError
from intake_npx2020.store import config
from intake_npx2020.store.config import StoreConfig, parse_size, setting_value


def _raises(exc, fn, *args, **kw) -> str:
    with pytest.raises(exc) as info:
        fn(*args, **kw)
    return str(info.value)


# == config: sizes ============================================================================================

@pytest.mark.parametrize("text, n", [
    ("", None), (None, None), ("0", None), ("0.4", None), ("7B", 7), ("3", 3), ("1K", 1000), ("1KB", 1000),
    ("2M", 2 * 10**6), ("2MB", 2 * 10**6), ("3G", 3 * 10**9), ("3GB", 3 * 10**9), ("4T", 4 * 10**12),
    ("4TB", 4 * 10**12), ("1KiB", 1024), ("1MiB", 2**20), ("1GiB", 2**30), ("1TiB", 2**40), ("1e9", 10**9),
    (" 1.5 kb ", 1500), ("2E+3", 2000), (4096, 4096), (1.5e3, 1500)],
    ids=lambda v: repr(v).replace("/", "_"))
def test_parse_size_every_unit(text, n):
    assert parse_size(text) == n


def test_parse_size_refusals_name_the_value():
    assert _raises(ConfigError, parse_size, "1.2.3") == "cannot read size '1.2.3': '1.2.3' is not a number"
    assert _raises(ConfigError, parse_size, "-5GB") == \
        "cannot read size '-5GB': use bytes or a number with a unit, e.g. '50GB' or '512MiB'"
    assert _raises(ConfigError, parse_size, "1e400") == \
        "size '1e400' is beyond any disk; use e.g. '50GB', or 0 for no cap"
    # 2**63 bytes exactly is already too many (an int64 byte count holds at most 2**63 - 1)
    assert _raises(ConfigError, parse_size, str(2**63)).startswith(f"size '{2**63}' is beyond any disk")
    assert parse_size(str(2**62)) == 2**62


# == config: numbers and flags, through setting_value ===========================================================

def test_number_settings_accept_their_bounds():
    assert setting_value("timeout", {"timeout": "0.01"}) == 0.01
    assert setting_value("timeout", {"timeout": 3600}) == 3600.0
    assert setting_value("retries", {"retries": "1"}) == 1
    assert setting_value("retries", {"retries": "100"}) == 100
    assert setting_value("parallel", {"parallel": 256}) == 256
    r = setting_value("retries", {"retries": "3.0"})
    assert r == 3 and type(r) is int
    assert setting_value("retries", {"retries": "1e1"}) == 10
    t = setting_value("timeout", {"timeout": "2"})
    assert t == 2.0 and type(t) is float


@pytest.mark.parametrize("key, value, msg", [
    ("timeout", "0.009", "0.009' is outside 0.01–3600"),
    ("timeout", 3600.5, "3600.5 is outside 0.01–3600"),
    ("timeout", "nan", "'nan' is outside 0.01–3600"),
    ("timeout", "soon", "expected a number, got 'soon'"),
    ("timeout", [1], "expected a number, got [1]"),
    ("retries", "0", "'0' is outside 1–100"),
    ("retries", 101, "101 is outside 1–100"),
    ("retries", "2.5", "expected a whole number, got '2.5'"),
    ("retries", "inf", "expected a number, got 'inf'"),
    ("retries", None, "expected a number, got None"),
    ("parallel", 257, "257 is outside 1–256"),
], ids=lambda v: str(v).replace("/", "_").replace(".", "p"))
def test_number_settings_refused_naming_the_option(key, value, msg):
    got = _raises(ConfigError, setting_value, key, {key: value})
    assert got.startswith(f"storage option {key!r}: ") and got.endswith(msg), got


def test_number_setting_from_the_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv("NPX2020_RETRIES", "7")
    assert setting_value("retries") == 7
    assert setting_value("retries", {"retries": 2}) == 2  # the option wins over the variable
    monkeypatch.setenv("NPX2020_RETRIES", "")
    assert setting_value("retries") == 4  # empty: the default
    monkeypatch.setenv("NPX2020_PARALLEL", "0")
    assert _raises(ConfigError, setting_value, "parallel") == \
        "environment variable NPX2020_PARALLEL: '0' is outside 1–256"


@pytest.mark.parametrize("text, value", [("1", True), ("true", True), (" YES ", True), ("On", True),
                                         ("0", False), ("False", False), ("no", False), ("OFF ", False),
                                         (True, True), (False, False)])
def test_flags_in_every_spelling(text, value):
    assert setting_value("cache", {"cache": text}) is value


def test_flag_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("NPX2020_CACHE", "maybe")
    assert _raises(ConfigError, setting_value, "cache") == \
        "environment variable NPX2020_CACHE: expected 1/0, true/false or yes/no, got 'maybe'"
    assert _raises(ConfigError, setting_value, "packed", {"packed": 2}) == \
        "storage option 'packed': expected 1/0, true/false or yes/no, got 2"


def test_defaults_of_every_setting(monkeypatch):
    for var in ("NPX2020_STORE", "NPX2020_KACHERY", "NPX2020_PACKED"):
        monkeypatch.delenv(var, raising=False)
    got = {s.key: setting_value(s.key) for s in config.SETTINGS}
    assert got == {"store": None, "read_roots": (), "mirrors": (), "cache_max": None, "timeout": 10.0, "retries": 4,
                   "parallel": 4, "use_kachery": True, "cache": True, "kachery_remote": True, "packed": True}
    assert [s.env for s in config.SETTINGS] == [
        "NPX2020_STORE", None, "NPX2020_MIRRORS", "NPX2020_CACHE_MAX", "NPX2020_TIMEOUT", "NPX2020_RETRIES",
        "NPX2020_PARALLEL", "NPX2020_USE_KACHERY", "NPX2020_CACHE", "NPX2020_KACHERY", "NPX2020_PACKED"]


def test_every_setting_read_from_its_variable(monkeypatch, tmp_path):
    env = {"NPX2020_STORE": str(tmp_path / "s"), "NPX2020_MIRRORS": "http://127.0.0.1:9/m/",
           "NPX2020_CACHE_MAX": "2KiB", "NPX2020_TIMEOUT": "2.5", "NPX2020_RETRIES": "9", "NPX2020_PARALLEL": "17",
           "NPX2020_USE_KACHERY": "no", "NPX2020_CACHE": "off", "NPX2020_KACHERY": "yes", "NPX2020_PACKED": "0"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    c = StoreConfig.from_options()
    assert c == StoreConfig(store=str(tmp_path / "s"), read_roots=(), mirrors=("http://127.0.0.1:9/m",),
                            cache_max=2048, timeout=2.5, retries=9, parallel=17, cache=False, kachery_remote=True,
                            packed=False)


# == config: mirrors and roots ===================================================================================

def test_mirror_that_is_not_a_url_nor_a_path_is_refused():
    for bad in ("ftp://127.0.0.1/m", "relative/dir", "http:///x", "http:// 127.0.0.1"):
        assert _raises(ConfigError, setting_value, "mirrors", {"mirrors": bad}) == (
            f"storage option 'mirrors': mirror {bad!r} is not an http(s):// URL (nor an absolute path or file:// "
            "URL of a mirror directory)")
    assert setting_value("mirrors", {"mirrors": "https://h.example/a/, file:///m/x/ ,/abs/y,,"}) == \
        ("https://h.example/a", "file:///m/x", "/abs/y")
    assert setting_value("mirrors", {"mirrors": ["http://h:1/", Path("/abs/z/")]}) == ("http://h:1", "/abs/z")
    assert setting_value("read_roots", {"read_roots": " /a/ , /b"}) == ("/a", "/b")


def test_urls_are_mirrors_and_paths_are_read_roots(tmp_path, monkeypatch):
    monkeypatch.setenv("NPX2020_USE_KACHERY", "0")
    own = tmp_path / "own"
    c = StoreConfig.from_options({
        "store": str(own), "mirrors": f"http://127.0.0.1:1/a/,file://{tmp_path}/m1, http://127.0.0.1:1/a",
        "read_roots": ["~/r1", "https://127.0.0.1:2/b", str(own), f"file://{tmp_path}/m1"]})
    assert c.mirrors == ("http://127.0.0.1:1/a", "https://127.0.0.1:2/b")
    assert c.read_roots == (f"{tmp_path}/m1", str(Path.home() / "r1"))
    assert c.store == str(own)


def test_store_path_expanded_and_default_store_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NPX2020_USE_KACHERY", "0")
    assert StoreConfig.from_options({"store": "~/mine"}).store == str(Path.home() / "mine")
    monkeypatch.setenv("NPX2020_STORE", "~/envstore")
    assert config.default_store_dir() == Path.home() / "envstore"
    assert StoreConfig.from_options().store == str(Path.home() / "envstore")
    monkeypatch.delenv("NPX2020_STORE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert config.default_store_dir() == tmp_path / "xdg" / "npx2020" / "store"
    assert StoreConfig.from_options().store == str(tmp_path / "xdg" / "npx2020" / "store")


def test_unknown_storage_option_lists_the_known_ones():
    assert _raises(ConfigError, StoreConfig.from_options, {"mirror": "x", "cache": "1"}) == (
        "unknown storage_options ['mirror']; known: store, read_roots, mirrors, cache_max, timeout, retries, "
        "parallel, use_kachery, cache, kachery_remote, packed")


def test_kachery_roots_in_documented_order(tmp_path, monkeypatch):
    home = Path.home()
    assert config.kachery_roots() == [home / ".kachery-cloud", home / ".kachery", home / "kachery-storage"]
    for i, var in enumerate(("KACHERY_STORAGE_DIR", "KACHERY_OFFLINE_STORAGE_DIR", "KACHERY_CLOUD_DIR",
                             "KACHERY_DIR")):
        monkeypatch.setenv(var, str(tmp_path / f"k{i}"))
    assert config.kachery_roots() == [tmp_path / "k0", tmp_path / "k1", tmp_path / "k2", tmp_path / "k3",
                                      home / "kachery-storage"]
    monkeypatch.setenv("KACHERY_DIR", str(tmp_path / "k0"))  # twice: listed once
    monkeypatch.setenv("KACHERY_CLOUD_DIR", "~/kc")
    assert config.kachery_roots() == [tmp_path / "k0", tmp_path / "k1", home / "kc", home / "kachery-storage"]


def test_kachery_roots_follow_use_kachery(tmp_path, monkeypatch):
    monkeypatch.setenv("KACHERY_DIR", str(tmp_path / "kd"))
    own = str(tmp_path / "own")
    on = StoreConfig.from_options({"store": own, "read_roots": str(tmp_path / "r")})
    home = Path.home()
    assert on.read_roots == (str(tmp_path / "r"), str(home / ".kachery-cloud"), str(tmp_path / "kd"),
                             str(home / "kachery-storage"))
    off = StoreConfig.from_options({"store": own, "read_roots": str(tmp_path / "r"), "use_kachery": "0"})
    assert off.read_roots == (str(tmp_path / "r"),)
    # our own store is never also a read root, even when a kachery variable names it
    monkeypatch.setenv("KACHERY_DIR", own)
    assert own not in StoreConfig.from_options({"store": own}).read_roots
    assert os.fspath(Path(own)) == StoreConfig.from_options({"store": own}).store
