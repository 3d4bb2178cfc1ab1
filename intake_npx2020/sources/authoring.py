"""Catalog entries for recordings and sortings a lab adds, and the catalog document they go into.

Pure building: a :class:`~intake_npx2020.formats.foreign.RawRecording` or
:class:`~intake_npx2020.formats.foreign.SortingInput` and the URIs of its stored files become 2020-style objects
(``bin1``, ``npy1``, built by :mod:`intake_npx2020.formats.builders`) inside human-readable entries. Storing the
bytes and writing the file is the app's job (:mod:`intake_npx2020.apps.add`).
"""

from __future__ import annotations

import difflib
import fcntl
import hashlib
import json
from contextlib import contextmanager
from pathlib import Path

from ..errors import CatalogError, EntryNotFound
from ..formats.builders import bin1_object, npy1_object
from ..formats.foreign import Curation, RawRecording, SortingInput
from .catalog import parse_catalog_text

__all__ = ["object_sha1", "object_uri", "load_catalog_doc", "catalog_lock", "recording_entry", "sorting_entries",
           "put_entries", "recording_of", "link_sortings"]


def object_sha1(obj: dict) -> str:
    """The 2020 rule: sha1 of ``json.dumps(obj)`` (the object's JSON file, as the collection stored it)."""
    return hashlib.sha1(json.dumps(obj).encode()).hexdigest()


def object_uri(obj: dict, name: str) -> str:
    """``sha1://<object sha1>/<name>.json``: the URI of the object's JSON (``recordingPath`` in 2020)."""
    return f"sha1://{object_sha1(obj)}/{name.replace(':', '-')}.json"


def load_catalog_doc(path: str | Path) -> dict:
    """A catalog file as a mapping with ``metadata`` and ``sources`` (a new, empty one if it does not exist)."""
    path = Path(path)
    if not path.exists():
        return {"metadata": {"version": 1}, "sources": {}}
    text = path.read_text(encoding="utf-8")
    doc = parse_catalog_text(text, str(path))
    if not isinstance(doc, dict) or not isinstance(doc.get("sources", {}), dict):
        raise CatalogError(f"catalog {path}: not an intake catalog (a mapping with 'sources')")
    doc.setdefault("metadata", {"version": 1})
    doc.setdefault("sources", {})
    return doc


@contextmanager
def catalog_lock(path: str | Path):
    """Hold an exclusive lock on a catalog for a read-modify-write (``.<name>.lock`` beside it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _source_name(rec: RawRecording) -> str:
    keep = 7 if rec.source_format == "openephys" else 1  # session/Record Node/experiment/recording/…/continuous.dat
    return "/".join(rec.path.parts[-keep:])


def _gains(gain) -> dict:
    """``gain_to_uV`` when every channel has one gain; else ``channel_gain_to_uV`` (in channel order) alone."""
    if isinstance(gain, list):
        return {"gain_to_uV": None, "channel_gain_to_uV": gain}
    return {"gain_to_uV": gain}


def recording_entry(rec: RawRecording, raw_uri: str, rid: str, storage_options: dict, info: dict | None = None,
                    description: str | None = None, chunk_seconds: float = 1.0) -> tuple[dict, dict]:
    """The ``bin1`` object of a stored raw file and its catalog entry.

    Parameters
    ----------
    rec : RawRecording
    raw_uri : str
        ``sha1://…?manifest=…`` of the stored raw file.
    rid : str
        Entry ID.
    storage_options : dict
        Where the entry reads its bytes (e.g. :func:`~.catalog.store_beside`).
    info : dict, optional
        Metadata given by the user (``lab``, ``region``, …), over what is read from the files.
    description : str, optional

    Returns
    -------
    (dict, dict)
        The object and the entry.
    """
    obj = bin1_object(raw_uri, rec.raw_num_channels, rec.num_frames, rec.columns, rec.positions, rec.samplerate,
                      rec.channel_ids)
    meta = {"kind": "recording", "label": rid, "lab": None, "probe": rec.probe, "probe_detail": rec.probe_detail,
            "region": None, "duration_s": rec.duration_s, "num_channels": len(rec.channel_ids),
            "raw_num_channels": rec.raw_num_channels, "sampling_frequency": rec.samplerate,
            "num_frames": rec.num_frames, "size_bytes": rec.size_bytes, "dtype": "int16", "drift": None,
            **_gains(rec.gain_to_uV), "sync_channel": rec.sync_channel, "source_format": rec.source_format,
            "source": _source_name(rec), "source_files": [p.name for p in rec.side_files], **rec.extra,
            "recording_path": object_uri(obj, rid), "object_sha1": object_sha1(obj), "object_status": "computed",
            "sortings": []}
    meta.update(info or {})
    text = description or (f"{meta['probe'] or 'probe'} recording {meta['source']}"
                           + (f" ({meta['lab']})" if meta.get("lab") else "") + f", {rec.duration_s:.1f} s")
    entry = {"description": text, "driver": "npx_recording",
             "args": {"recording": obj, "chunk_seconds": chunk_seconds, "storage_options": storage_options},
             "metadata": {k: v for k, v in meta.items() if v is not None or k in ("lab", "region")}}
    return obj, entry


def _curated_entry(base: dict, cur: Curation, table_uri: str, units: list[dict], sid: str) -> dict:
    good = set(cur.unit_ids)
    kept = [u for u in units if u["unit_id"] in good]
    meta = {**base["metadata"], "label": f"{sid}:{cur.suffix}", "curated": cur.curated, "unit_count": len(good),
            "num_spikes": sum(u["num_spikes"] for u in kept), "units": kept,
            "curation": f"units whose {cur.column} is {cur.value!r} in {cur.table.name}", "parent": sid}
    what = "curated" if cur.curated else "Kilosort-labelled"
    return {"description": f"{base['description']} ({what} {cur.value} units)", "driver": "npx_sorting",
            "args": {**base["args"], "units_csv": table_uri, "units_filter": {cur.column: cur.value}},
            "metadata": meta}


def sorting_entries(s: SortingInput, times_uri: str, labels_uri: str, samplerate: int | float, sid: str,
                    rid: str, storage_options: dict, table_uri: str | None = None, info: dict | None = None,
                    description: str | None = None) -> tuple[dict, dict]:
    """The ``npy1`` object of stored spike files and its entries: ``sid``, and ``sid:<curated|ks_good>`` if curated.

    ``samplerate`` is the recording object's, as given (the spike times are its sample indices).
    """
    obj = npy1_object(times_uri, labels_uri, samplerate)
    units = s.units
    meta = {"kind": "sorting", "label": sid, "recording_id": rid, "sorter": s.sorter, "curated": False,
            "format": "npy1", "unit_count": len(units), "num_spikes": int(len(s.times)), "units": units,
            "source_format": s.source_format, "source": s.times_file.parent.name if s.times_file else None,
            "source_files": [p.name for p in (s.times_file, s.labels_file, *s.side_files) if p], **s.extra,
            "sorting_path": object_uri(obj, sid), "object_sha1": object_sha1(obj), "object_status": "computed"}
    meta.update(info or {})
    base = {"description": description or f"{meta['sorter']} sorting of {rid}", "driver": "npx_sorting",
            "args": {"sorting": obj, "storage_options": storage_options},
            "metadata": {k: v for k, v in meta.items() if v is not None}}
    entries = {sid: base}
    if s.curation is not None and table_uri is not None:
        entries[f"{sid}:{s.curation.suffix}"] = _curated_entry(base, s.curation, table_uri, units, sid)
    return obj, entries


def put_entries(doc: dict, entries: dict, replace: bool, catalog: Path) -> dict[str, str]:
    """Put entries into ``doc['sources']``: ``added``, ``unchanged`` or ``replaced`` (with ``replace``) by ID.

    Raises
    ------
    CatalogError
        An ID is taken by a different entry and ``replace`` is false.
    """
    sources = doc["sources"]
    status = {}
    for name, entry in entries.items():
        old = sources.get(name)
        kept = ((old or {}).get("metadata") or {}).get("sortings")
        if kept and entry.get("metadata", {}).get("sortings") == []:
            entry["metadata"]["sortings"] = kept  # a recording added again keeps its sortings
        if old is not None and old != entry and not replace:
            raise CatalogError(f"catalog {catalog}: ID {name!r} already names a different entry; choose another "
                               "--id, or --replace it")
        status[name] = "unchanged" if old == entry else ("replaced" if old is not None else "added")
        sources[name] = entry
    return status


def recording_of(doc: dict, rid: str, catalog: Path) -> dict:
    """The recording entry ``rid`` of a catalog document (its ``bin1`` object embedded)."""
    entry = doc["sources"].get(rid)
    if entry is None or entry.get("driver") != "npx_recording":
        recs = [n for n, e in doc["sources"].items() if e.get("driver") == "npx_recording"]
        close = difflib.get_close_matches(rid, recs, n=3)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else f"; recordings: {recs[:10]}"
        raise EntryNotFound(f"catalog {catalog} has no recording {rid!r}{hint} (add it with npx2020 add-recording)")
    obj = (entry.get("args") or {}).get("recording")
    if not isinstance(obj, dict) or obj.get("recording_format") != "bin1":
        raise CatalogError(f"catalog {catalog}: recording {rid!r} does not embed a bin1 object")
    return entry


def link_sortings(doc: dict, rid: str, names: list[str]) -> None:
    """List sorting IDs in their recording's ``metadata.sortings``."""
    meta = doc["sources"][rid].setdefault("metadata", {})
    meta["sortings"] = list(dict.fromkeys([*(meta.get("sortings") or []), *names]))
