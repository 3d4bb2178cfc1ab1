"""Where stores and mirrors are: environment variables and ``storage_options`` merged into one config."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from ..errors import ConfigError

__all__ = ["StoreConfig", "SETTINGS", "Setting", "setting_value", "parse_size", "default_store_dir"]

_UNITS = {"": 1, "B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9, "GB": 10**9,
          "T": 10**12, "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_size(value: str | int | float | None) -> int | None:
    """Parse ``"50GB"``, ``"512MiB"``, ``"1e9"`` or an int into bytes; ``None``/``""``/``"0"`` mean no cap."""
    if value is None or value == "":
        return None
    m = re.fullmatch(r"\s*([0-9.eE+]+)\s*([A-Za-z]*)\s*", str(value))
    if not m or m.group(2).upper() not in _UNITS:
        raise ConfigError(f"cannot read size {value!r}: use bytes or a number with a unit, e.g. '50GB' or '512MiB'")
    try:
        n = float(m.group(1)) * _UNITS[m.group(2).upper()]
    except ValueError:
        raise ConfigError(f"cannot read size {value!r}: {m.group(1)!r} is not a number") from None
    if not math.isfinite(n) or n >= 2**63:
        raise ConfigError(f"size {value!r} is beyond any disk; use e.g. '50GB', or 0 for no cap")
    return int(n) or None


def _number(kind: type, lo: float, hi: float):
    def parse(value) -> float | int:
        try:
            x = kind(float(value)) if kind is int and not isinstance(value, bool) else kind(value)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"expected a number, got {value!r}") from None
        if isinstance(x, float) and not math.isfinite(x) or not lo <= x <= hi:
            raise ConfigError(f"{value!r} is outside {lo:g}–{hi:g}")
        if kind is int and float(value) != x:
            raise ConfigError(f"expected a whole number, got {value!r}")
        return x
    return parse


def _flag(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"expected 1/0, true/false or yes/no, got {value!r}")


def _is_url(u: str) -> bool:
    return bool(re.match(r"https?://[^/\s]+", u))


def _urls(value) -> tuple[str, ...]:
    urls = tuple(_split(value))
    for u in urls:
        if not (_is_url(u) or u.startswith("file://") or os.path.isabs(u)):
            raise ConfigError(f"mirror {u!r} is not an http(s):// URL (nor an absolute path or file:// URL of a "
                              "mirror directory)")
    return urls


def _places(mirrors, roots) -> tuple[tuple[str, ...], list[Path]]:
    """Mirrors and read roots by what they are: an http(s) URL is a mirror, a path or ``file://`` URL a root.

    So ``"{{ CATALOG_DIR }}/mirror"`` in a published catalog works both opened by URL (a mirror) and from disk
    (a read root), and a store beside a catalog (``read_roots``) is read over HTTP when the catalog is.
    """
    places = [*mirrors, *roots]
    urls = tuple(dict.fromkeys(u for u in places if _is_url(u)))
    local = [Path(p[len("file://"):] if p.startswith("file://") else p).expanduser() for p in places
             if not _is_url(p)]
    return urls, local


class Setting(NamedTuple):
    """One setting: its ``storage_options`` key, environment variable, parser and default."""

    key: str
    env: str | None
    parse: Callable
    default: object
    doc: str


#: every setting, declared once; ``StoreConfig`` fields, ``storage_options`` keys and env vars derive from it
SETTINGS = (
    Setting("store", "NPX2020_STORE", str, None, "our own writable store root"),
    Setting("read_roots", None, lambda v: tuple(_split(v)), (), "extra read-only store roots"),
    Setting("mirrors", "NPX2020_MIRRORS", _urls, (), "base URLs of HTTP mirrors"),
    Setting("cache_max", "NPX2020_CACHE_MAX", parse_size, None, "cap on cached blobs (bytes; None: no cap)"),
    Setting("timeout", "NPX2020_TIMEOUT", _number(float, 0.01, 3600), 10.0, "seconds a mirror may stall"),
    Setting("retries", "NPX2020_RETRIES", _number(int, 1, 100), 4, "attempts per mirror"),
    Setting("parallel", "NPX2020_PARALLEL", _number(int, 1, 256), 4, "concurrent chunk fetches"),
    Setting("use_kachery", "NPX2020_USE_KACHERY", _flag, True, "read existing kachery stores"),
    Setting("cache", "NPX2020_CACHE", _flag, True, "keep fetched chunks in our store"),
    Setting("kachery_remote", "NPX2020_KACHERY", _flag, True,
            "ask the live kachery services (KACHERY_GATEWAY_URL, KACHERY_BASE_URL) after stores and mirrors miss"),
    Setting("packed", "NPX2020_PACKED", _flag, True,
            "read a mirror's compressed chunks (a packed mirror, `npx2020 pack`) before its raw ones"),
)
_BY_KEY = {s.key: s for s in SETTINGS}


def setting_value(key: str, storage_options: dict | None = None):
    """The parsed value of setting ``key``: from ``storage_options``, else its environment variable, else default.

    Raises
    ------
    ConfigError
        Naming the option or variable and what is wrong with its value.
    """
    s = _BY_KEY[key]
    so = storage_options or {}
    if key in so:
        raw, where = so[key], f"storage option {key!r}"
    elif s.env and os.environ.get(s.env, "") != "":
        raw, where = os.environ[s.env], f"environment variable {s.env}"
    else:
        return s.default
    try:
        return s.parse(raw)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None


def default_store_dir() -> Path:
    """Our own store: ``$NPX2020_STORE`` or the user cache directory."""
    env = os.environ.get("NPX2020_STORE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("npx2020")) / "store"


def kachery_roots() -> list[Path]:
    """Existing kachery stores, read-only, in the order of reference/kachery.md §7."""
    home = Path.home()
    env = os.environ.get
    candidates = [
        env("KACHERY_STORAGE_DIR"),
        env("KACHERY_OFFLINE_STORAGE_DIR"),
        env("KACHERY_CLOUD_DIR") or home / ".kachery-cloud",
        env("KACHERY_DIR") or home / ".kachery",
        home / "kachery-storage",
    ]
    out: list[Path] = []
    for c in candidates:
        if c and Path(c) not in out:
            out.append(Path(c).expanduser())
    return out


def _split(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip().rstrip("/") for v in value.split(",") if v.strip()]
    return [str(v).rstrip("/") for v in value]


@dataclass(frozen=True)
class StoreConfig:
    """Everything a :class:`~intake_npx2020.store.Store` needs; small, hashable and picklable.

    Fields are the :data:`SETTINGS` (``store``, ``mirrors``, ``cache_max``, ``timeout``, ``retries``, ``parallel``,
    ``cache``, ``kachery_remote``, ``packed``), with ``read_roots`` holding the extra roots plus, when ``use_kachery``, the
    kachery stores found.
    """

    store: str
    read_roots: tuple[str, ...] = ()
    mirrors: tuple[str, ...] = ()
    cache_max: int | None = None
    timeout: float = 10.0
    retries: int = 4
    parallel: int = 4
    cache: bool = True
    kachery_remote: bool = True
    packed: bool = True

    @classmethod
    def from_options(cls, storage_options: dict | None = None) -> "StoreConfig":
        """Merge ``storage_options`` (the keys of :data:`SETTINGS`) over the environment."""
        so = dict(storage_options or {})
        unknown = set(so) - set(_BY_KEY)
        if unknown:
            raise ConfigError(f"unknown storage_options {sorted(unknown)}; known: {', '.join(_BY_KEY)}")
        values = {s.key: setting_value(s.key, so) for s in SETTINGS}
        store = Path(values.pop("store") or default_store_dir()).expanduser()
        values["mirrors"], roots = _places(values["mirrors"], values.pop("read_roots"))
        if values.pop("use_kachery"):
            roots += kachery_roots()
        roots = tuple(str(r) for r in dict.fromkeys(roots) if r != store)
        return cls(str(store), roots, **values)
