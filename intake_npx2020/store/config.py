"""Where stores and mirrors are: environment variables and ``storage_options`` merged into one config."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["StoreConfig", "parse_size", "default_store_dir"]

_UNITS = {"": 1, "B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9, "GB": 10**9,
          "T": 10**12, "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_size(value: str | int | float | None) -> int | None:
    """Parse ``"50GB"``, ``"512MiB"``, ``"1e9"`` or an int into bytes; ``None``/``""``/``"0"`` mean no cap."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return int(value) or None
    m = re.fullmatch(r"\s*([0-9.eE+]+)\s*([A-Za-z]*)\s*", str(value))
    if not m or m.group(2).upper() not in _UNITS:
        raise ValueError(f"cannot read size {value!r}: use bytes or a number with a unit, e.g. '50GB' or '512MiB'")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()]) or None


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

    Parameters
    ----------
    store : str
        Our own writable store root.
    read_roots : tuple of str
        Read-only kachery stores searched after ours.
    mirrors : tuple of str
        Base URLs of HTTP mirrors serving the ``sha1/ab/cd/ef/<h>`` layout.
    cache_max : int or None
        Size cap in bytes for cached (not explicitly added) blobs; ``None`` for no cap.
    timeout : float
        Seconds to wait for a mirror to connect or to send more bytes.
    retries : int
        Attempts per mirror on transient failures.
    parallel : int
        Concurrent chunk fetches per read.
    cache : bool
        Keep fetched chunks in our store (default). ``False`` streams: chunks are verified and used, not
        written (a one-pass analysis of a recording larger than the disk, or a disk slower than the network).
    """

    store: str
    read_roots: tuple[str, ...] = ()
    mirrors: tuple[str, ...] = ()
    cache_max: int | None = None
    timeout: float = 10.0
    retries: int = 4
    parallel: int = 4
    cache: bool = True

    @classmethod
    def from_options(cls, storage_options: dict | None = None) -> "StoreConfig":
        """Merge ``storage_options`` (keys: ``store``, ``read_roots``, ``mirrors``, ``cache_max``,
        ``timeout``, ``retries``, ``parallel``, ``use_kachery``, ``cache``) over the environment."""
        so = dict(storage_options or {})
        unknown = set(so) - {"store", "read_roots", "mirrors", "cache_max", "timeout", "retries", "parallel",
                             "use_kachery", "cache"}
        if unknown:
            raise ValueError(f"unknown storage_options {sorted(unknown)}; known: store, read_roots, mirrors, "
                             "cache_max, timeout, retries, parallel, use_kachery, cache")
        store = Path(so.get("store") or default_store_dir()).expanduser()
        roots = [Path(r) for r in _split(so.get("read_roots"))]
        use_kachery = so.get("use_kachery", os.environ.get("NPX2020_USE_KACHERY", "1") not in ("0", "false", "no"))
        if use_kachery:
            roots += kachery_roots()
        roots = [str(r) for r in dict.fromkeys(roots) if r != store]
        mirrors = _split(so["mirrors"]) if "mirrors" in so else _split(os.environ.get("NPX2020_MIRRORS"))
        for m in mirrors:
            if not re.match(r"https?://", m):
                raise ValueError(f"mirror {m!r} is not an http(s):// URL")
        cache_max = parse_size(so.get("cache_max", os.environ.get("NPX2020_CACHE_MAX")))
        timeout = float(so.get("timeout", os.environ.get("NPX2020_TIMEOUT", 10.0)))
        retries = int(so.get("retries", os.environ.get("NPX2020_RETRIES", 4)))
        parallel = int(so.get("parallel", os.environ.get("NPX2020_PARALLEL", 4)))
        cache = so.get("cache", os.environ.get("NPX2020_CACHE", "1") not in ("0", "false", "no"))
        return cls(str(store), tuple(roots), tuple(mirrors), cache_max, timeout, max(1, retries), max(1, parallel),
                   bool(cache))
