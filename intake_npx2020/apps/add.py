"""``npx2020 add-recording`` / ``add-sorting``: a lab's files into the store beside a catalog, and entries into it.

A recording (SpikeGLX, Open Ephys binary, or a raw file described by hand) is read and checked first, then hashed
once with a progress bar (a SpikeGLX ``fileSHA1`` is compared before anything is stored), placed in the store
(copied, or linked), given a ``bin1`` object whose JSON is stored too (its sha1 is the 2020 ``recordingPath``
rule) and an entry in the catalog. The catalog is created if missing, with its store beside it (``store/``), and
reads it relative to itself, so the directory can be moved, zipped or published (:mod:`.publish`).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import ConfigError, InvalidInputFile
from ..formats.foreign import RawRecording, SortingInput, check_spikes
from ..sources.authoring import (catalog_lock, link_sortings, load_catalog_doc, put_entries, recording_entry,
                                 recording_of, sorting_entries)
from ..sources.catalog import store_beside, write_catalog_file
from ..store.engine import get_store
from ..store.ingest import add_file

__all__ = ["Added", "read_recording", "read_sorting_input", "add_recording", "add_sorting", "store_dir_of",
           "write_doc"]

_HEADER = ("intake catalog written by intake_npx2020 (npx2020 add-recording / add-sorting); the body is JSON.\n"
           "Its bytes are in store/ beside this file: open it with intake.open_catalog(this file).")


class Added(NamedTuple):
    """What an add did: the catalog, its store, each entry's status and each stored file's URI (by role)."""

    catalog: Path
    store: Path
    status: dict[str, str]
    uris: dict[str, str]


def store_dir_of(catalog: str | Path) -> Path:
    """The store beside a catalog: ``<catalog dir>/store``."""
    return Path(catalog).resolve().parent / "store"


def read_recording(path: str | Path, fmt: str | None = None, stream: str | None = None,
                   channels: int | None = None, rate: str | None = None, geometry: str | None = None,
                   gain: float | None = None, probe: str | None = None) -> RawRecording:
    """Read a recording's own metadata: ``fmt`` ``spikeglx``, ``openephys`` or ``raw`` (default: from the files)."""
    from ..formats.openephys import read_openephys
    from ..formats.rawbin import read_raw
    from ..formats.spikeglx import read_spikeglx

    p = Path(path)
    if not p.exists():
        raise InvalidInputFile(f"{p}: no such file or folder")
    if fmt is None:
        if p.suffix == ".meta" or (p.suffix == ".bin" and p.with_suffix(".meta").is_file()):
            fmt = "spikeglx"
        elif p.is_dir() or p.name == "continuous.dat" or (p.parent / "structure.oebin").is_file():
            fmt = "openephys"
        else:
            fmt = "raw"
    if fmt == "spikeglx":
        return read_spikeglx(p)
    if fmt == "openephys":
        return read_openephys(p, stream, geometry)
    missing = [f"--{k}" for k, v in (("channels", channels), ("rate", rate), ("geometry", geometry)) if v is None]
    if missing:
        raise ConfigError(f"{p}: a raw file has no metadata of its own; give {', '.join(missing)} (SpikeGLX needs "
                          "the .meta beside the .bin, Open Ephys the structure.oebin of the recording)")
    return read_raw(p, channels, rate, geometry, gain, probe)


def _sha1_check(rec: RawRecording):
    def check(h: str) -> None:
        if rec.expect_sha1 and h != rec.expect_sha1:
            raise InvalidInputFile(f"{rec.sha1_field} = {rec.expect_sha1.upper()} but {rec.path} hashes to "
                                   f"{h.upper()}: the file changed or is corrupt since it was recorded; nothing "
                                   "was added")
    return check


def write_doc(catalog: str | Path, doc: dict) -> None:
    """Write a catalog document (JSON body) with this module's header."""
    catalog = Path(catalog)
    meta = {k: v for k, v in doc["metadata"].items() if k != "version"}
    meta.setdefault("description", f"recordings and sortings of {catalog.resolve().parent.name}")
    write_catalog_file(catalog, doc["sources"], meta, header=_HEADER)


def add_recording(path: str | Path, rid: str, catalog: str | Path = "catalog.yaml", link: str | None = None,
                  info: dict | None = None, description: str | None = None, replace: bool = False,
                  progress: bool | None = None, **read_options) -> Added:
    """Add a recording file to the store beside ``catalog`` and an entry ``rid`` to the catalog.

    Parameters
    ----------
    path : path-like
        SpikeGLX ``.ap.bin`` (or its ``.meta``), an Open Ephys ``continuous.dat`` (or its stream or recording
        folder), or a raw ``.bin``/``.dat`` (then ``channels``, ``rate`` and ``geometry`` are needed).
    rid : str
        Entry ID.
    catalog : path-like
        The catalog YAML (created if missing).
    link : {None, "hard", "sym"}
        Link the file into the store instead of copying it (it must not change afterwards).
    info : dict, optional
        Metadata to set (``lab``, ``region``, …).
    replace : bool
        Replace a different entry of the same ID (else that is refused).
    **read_options
        ``fmt``, ``stream``, ``channels``, ``rate``, ``geometry``, ``gain``, ``probe`` (see :func:`read_recording`).

    Raises
    ------
    InvalidInputFile
        The files cannot be read correctly (the message names the file and the field); nothing is stored.
    """
    catalog = Path(catalog)
    rec = read_recording(path, **read_options)
    store = get_store({"store": str(store_dir_of(catalog)), "use_kachery": False})
    raw = add_file(store.own, rec.path, link, progress=progress, check=_sha1_check(rec))
    obj, entry = recording_entry(rec, raw.uri, rid, store_beside(store_dir_of(catalog), catalog), info,
                                 description)
    store.put_bytes(json.dumps(obj).encode())  # the object's JSON: its sha1 is the recordingPath
    with catalog_lock(catalog):
        doc = load_catalog_doc(catalog)
        status = put_entries(doc, {rid: entry}, replace, catalog)
        write_doc(catalog, doc)
    return Added(catalog, store_dir_of(catalog), status, {"raw": raw.uri})


def read_sorting_input(path: str | Path, labels: str | Path | None = None) -> SortingInput:
    """Read a phy/Kilosort folder, a spikeinterface sorting folder, or ``.npy`` times (+ ``labels``)."""
    from ..formats.phy import is_phy_folder, read_phy
    from ..formats.sifolder import is_si_folder, read_npy_pair, read_si_folder

    p = Path(path)
    if is_phy_folder(p):
        return read_phy(p)
    if is_si_folder(p):
        return read_si_folder(p)
    if p.is_file() and p.suffix == ".npy":
        if labels is None:
            raise ConfigError(f"{p}: spike times as .npy need their unit labels: --labels LABELS.npy")
        return read_npy_pair(p, labels)
    raise InvalidInputFile(f"{p}: not a phy/Kilosort folder (spike_times.npy), a spikeinterface sorting folder "
                           "(si_folder.json) or a .npy of spike times")


def _check_rate(s: SortingInput, rec_rate: float, rid: str) -> None:
    if s.samplerate is not None and abs(s.samplerate - rec_rate) > 1e-3 * rec_rate:
        raise InvalidInputFile(f"{s.rate_field} = {s.samplerate:g} Hz but recording {rid} is sampled at "
                               f"{rec_rate:g} Hz; is this the sorting of that recording?")


def _store_spikes(store, s: SortingInput) -> tuple[str, str]:
    """URIs of the times and labels files: the sorter's own files, else ``.npy`` files written from the arrays."""
    if s.times_file is not None and s.labels_file is not None:
        return add_file(store.own, s.times_file).uri, add_file(store.own, s.labels_file).uri
    with tempfile.TemporaryDirectory(prefix="npx2020-sorting-") as tmp:
        tf, lf = Path(tmp) / "spike_times.npy", Path(tmp) / "spike_labels.npy"
        np.save(tf, np.ascontiguousarray(s.times, dtype=np.int64))
        np.save(lf, np.ascontiguousarray(s.labels, dtype=np.int64))
        return add_file(store.own, tf).uri, add_file(store.own, lf).uri


def add_sorting(path: str | Path, rid: str, sid: str, catalog: str | Path = "catalog.yaml",
                labels: str | Path | None = None, info: dict | None = None, description: str | None = None,
                replace: bool = False) -> Added:
    """Add a sorting of recording ``rid`` (already in ``catalog``) as entry ``sid`` (and ``sid:curated``).

    Raises
    ------
    InvalidInputFile
        Spike times negative, not integral, beyond the recording, or not paired with labels; a sorter's rate
        that is not the recording's; unreadable unit tables. Nothing is stored or written then.
    EntryNotFound
        ``rid`` is not a recording of the catalog.
    """
    catalog = Path(catalog)
    s = read_sorting_input(path, labels)
    with catalog_lock(catalog):
        doc = load_catalog_doc(catalog)
        data = recording_of(doc, rid, catalog)["args"]["recording"]["data"]
        check_spikes(s, int(data["num_frames"]), f"recording {rid} of {catalog}")
        _check_rate(s, float(data["samplerate"]), rid)
        store = get_store({"store": str(store_dir_of(catalog)), "use_kachery": False})
        times_uri, labels_uri = _store_spikes(store, s)
        table_uri = add_file(store.own, s.curation.table).uri if s.curation else None
        obj, entries = sorting_entries(s, times_uri, labels_uri, data["samplerate"], sid, rid,
                                       store_beside(store_dir_of(catalog), catalog), table_uri, info, description)
        store.put_bytes(json.dumps(obj).encode())
        status = put_entries(doc, entries, replace, catalog)
        link_sortings(doc, rid, list(entries))
        write_doc(catalog, doc)
    uris = {"times": times_uri, "labels": labels_uri, **({"units_table": table_uri} if table_uri else {})}
    return Added(catalog, store_dir_of(catalog), status, uris)
