"""Derived files: the 10-second and 8-channel extracts, rebuilt from their parent recording by byte range.

An extract entry has ``metadata.parent`` (the parent entry's ID) and ``metadata.extract``: ``frames`` ``[f0, f1)``
and ``channels`` (parent channel ids, or ``"all"``). Its raw file is those frames and channels of the parent as
int16, written either frame-major (``(frames, channels)``, what every reader assumes) or channel-major
(``(channels, frames)``: upstream wrote spikeextractors' ``get_traces()`` with ``tofile``, so the 2020 files may
be transposed). Both layouts are built and each is checked against the extract's own sha1; the one that
matches is admitted and recorded in the store (``derived/<sha1>.json``), so it is known which layout the bytes
are in.

The parent's bytes come through the store (a whole verified file, or manifest chunks each verified). When the
store cannot supply them, the parent's original sources are read for just that byte range: those bytes are
unverified, but the extract's sha1 is checked, so nothing unverified is ever admitted.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import ContentNotFound, FetchError, IntegrityError, InvalidObject
from ..store import ingest
from ..store.manifest import CHUNK_SIZE, MANIFEST_THRESHOLD, Chunk, Manifest
from ..store.origin import OriginReader, parse_sources

__all__ = ["Derived", "derive_extract", "layout_of"]

LAYOUTS = ("frame-major", "channel-major")


class Derived(NamedTuple):
    """An extract made whole in the store: its URI, the layout that matched, and where the parent bytes came from."""

    uri: str
    layout: str
    parent_bytes_from: str


def layout_of(store, sha1: str) -> str | None:
    """The layout recorded for a derived extract (``"frame-major"`` or ``"channel-major"``), or ``None``."""
    try:
        return json.loads((Path(store.own.path) / "derived" / f"{sha1}.json").read_text())["layout"]
    except (OSError, ValueError, KeyError):
        return None


def _extract_spec(md: dict, parent_spec, name: str) -> tuple[int, int, np.ndarray]:
    """``(f0, f1, raw columns)`` of an extract, from its ``metadata.extract`` and the parent's channel map."""
    ext = md.get("extract")
    if not isinstance(ext, dict) or "frames" not in ext or "channels" not in ext:
        raise InvalidObject(f"{name}: metadata.extract must give 'frames' [f0, f1) and 'channels'")
    f0, f1 = (int(v) for v in ext["frames"])
    if not 0 <= f0 < f1 <= parent_spec.num_frames:
        raise InvalidObject(f"{name}: extract frames [{f0}, {f1}) are outside the parent's {parent_spec.num_frames}")
    ids = list(parent_spec.channel_ids)
    every = isinstance(ext["channels"], str) and ext["channels"].startswith("all")  # "all", "all 384 channels"
    chans = ids if every else list(ext["channels"])
    missing = [c for c in chans if c not in ids]
    if missing:
        raise InvalidObject(f"{name}: extract channels {missing[:5]} are not channels of the parent")
    return f0, f1, np.array([parent_spec.columns[ids.index(c)] for c in chans])


def _candidates(block: np.ndarray, cols: np.ndarray):
    """``(layout, bytes)`` for both layouts of the selected columns of a ``(frames, raw columns)`` block."""
    sel = np.ascontiguousarray(block[:, cols])
    yield "frame-major", sel.tobytes()
    yield "channel-major", np.ascontiguousarray(sel.T).tobytes()


def _parent_block(store, parent, f0: int, f1: int) -> tuple[np.ndarray, str]:
    """Frames ``[f0, f1)`` of the parent's raw file as ``(frames, raw columns)``, and where they came from."""
    spec = parent.spec
    a, b = f0 * 2 * spec.raw_num_channels, f1 * 2 * spec.raw_num_channels
    try:
        data = store.read(spec.raw, a, b)
        where = "the verified parent"
    except (ContentNotFound, FetchError) as err:
        origins = parse_sources(parent.metadata.get("sources"), f"{parent.name}: metadata.sources")
        if not origins:
            raise ContentNotFound(f"the parent {parent.name} is not available and has no original source: "
                                  f"{err}") from err
        data, where = _from_origins(store, origins, a, b, err)
    return np.frombuffer(bytes(data), dtype="<i2").reshape(f1 - f0, spec.raw_num_channels), where


def _from_origins(store, origins, a: int, b: int, why) -> tuple[bytes, str]:
    reader = OriginReader(store.config.timeout, store.config.parallel)
    errors = [str(why)]
    for o in origins:
        try:
            out = bytearray()
            for s in range(a, b, CHUNK_SIZE):
                out += reader.read_range(o, s, min(b, s + CHUNK_SIZE)).data
            return bytes(out), f"bytes {a}-{b - 1} of {o.describe()} (unverified; the extract's sha1 is checked)"
        except Exception as err:  # noqa: BLE001 - every failure of one source is reported, the next is tried
            errors.append(f"{o.url}: {err}")
    raise FetchError("could not read the parent's bytes: " + " | ".join(errors[-4:]))


def _admit(store, sha1: str, data: bytes, record: dict) -> str:
    """Put the extract (pinned) with a manifest if large, and record how it was made; returns its manifest."""
    manifest = None
    if len(data) > MANIFEST_THRESHOLD:
        chunks = tuple(Chunk(s, min(len(data), s + CHUNK_SIZE), ingest.sha1_of(data[s:s + CHUNK_SIZE]))
                       for s in range(0, len(data), CHUNK_SIZE))
        manifest = ingest.put_bytes(store.own, Manifest(len(data), sha1, chunks).to_bytes(), pin=True)
    ingest.put_bytes(store.own, data, pin=True)
    d = Path(store.own.path) / "derived"
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{sha1}.json").write_text(json.dumps({**record, "manifest": manifest}, indent=1))
    return manifest


def derive_extract(cat, name: str, store=None) -> Derived:
    """Rebuild extract ``name`` from its parent, check it against its own sha1 in both layouts, and admit it
    into ``store`` (default: the entry's own).

    Raises
    ------
    IntegrityError
        Neither layout of the parent's bytes hashes to the extract's sha1 (nothing is admitted).
    ContentNotFound, FetchError
        The parent's bytes cannot be had.
    """
    src = cat[name]
    md = src.metadata
    parent = cat[md["parent"]]
    spec = src.spec
    sha1 = spec.raw_sha1
    store = store or src.store
    if store.locate(sha1):
        return Derived(spec.raw, layout_of(store, sha1) or "unknown (already in a store)", "the store")
    f0, f1, cols = _extract_spec(md, parent.spec, name)
    block, where = _parent_block(store, parent, f0, f1)
    tried = []
    for layout, data in _candidates(block, cols):
        got = hashlib.sha1(data).hexdigest()
        if got == sha1:
            record = {"entry": name, "parent": md["parent"], "parent_raw": parent.spec.raw, "frames": [f0, f1],
                      "columns": cols.tolist(), "layout": layout, "parent_bytes_from": where}
            _admit(store, sha1, data, record)
            return Derived(spec.raw, layout, where)
        tried.append(f"{layout} {got}")
    raise IntegrityError(f"{name}: frames [{f0}, {f1}) of {len(cols)} parent columns, from {where}, hash to "
                         f"{' / '.join(tried)}, not to the extract's {sha1}; nothing was admitted")

