"""``npx2020 add-recording | add-sorting | include | publish``: grow a catalog of your own and publish it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ...errors import ConfigError

_FORMATS = ("spikeglx", "openephys", "raw")


def _info(args) -> dict:
    """Metadata from ``--lab``, ``--region``, ``--sorter`` and ``--meta KEY=VALUE`` (a JSON value, else text)."""
    out = {k: getattr(args, k) for k in ("lab", "region", "sorter") if getattr(args, k, None)}
    for item in args.meta or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--meta {item!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def _report(added, opener: str) -> None:
    for name, status in added.status.items():
        print(f"{name}\t{status}")
    for role, uri in added.uris.items():
        print(f"  {role}: {uri}")
    print(f"catalog: {added.catalog} (bytes in {added.store}); {opener}")


def _cmd_add_recording(args) -> int:
    from ..add import add_recording

    added = add_recording(args.path, args.id, args.catalog, args.link, _info(args), args.description, args.replace,
                          False if args.no_progress else None, fmt=args.format, stream=args.stream,
                          channels=args.channels, rate=args.rate, geometry=args.geometry, gain=args.gain,
                          probe=args.probe)
    _report(added, f"open with intake.open_catalog({str(args.catalog)!r})[{args.id!r}].to_dask()")
    return 0


def _cmd_add_sorting(args) -> int:
    from ..add import add_sorting

    added = add_sorting(args.path, args.recording, args.id, args.catalog, args.labels, _info(args),
                        args.description, args.replace)
    _report(added, f"open with intake.open_catalog({str(args.catalog)!r})[{args.id!r}].read()")
    return 0


def _cmd_include(args) -> int:
    from ...sources.authoring import catalog_lock, load_catalog_doc, put_entries
    from ...sources.nested import nested_entry
    from ..add import write_doc

    args.catalog = Path(args.catalog)
    with catalog_lock(args.catalog):
        doc = load_catalog_doc(args.catalog)
        status = put_entries(doc, {args.id: nested_entry(args.target, args.catalog, args.description)},
                             args.replace, args.catalog)
        write_doc(args.catalog, doc)
    print(f"{args.id}\t{status[args.id]}: {args.target} (intake.open_catalog({str(args.catalog)!r})[{args.id!r}])")
    return 0


def _cmd_publish(args) -> int:
    from ..publish import publish

    p = publish(args.catalog, args.dest, "hard" if args.link else None, False if args.no_progress else None,
                not args.no_compress)
    print(f"published {len(p.catalogs)} catalog(s) to {p.dest}: {p.new_blobs} new blobs ({p.new_bytes} bytes), "
          f"{p.present_blobs} already there; mirror {p.total_bytes} bytes")
    if p.packed_files:
        print(f"compressed form of {p.packed_files} chunked file(s): {p.new_chunks} new chunks, {p.kept_chunks} "
              f"already there; {p.packed_bytes} bytes")
    print(f"upload {p.dest}/ to any static host (or `npx2020 serve {p.dest}`), then "
          "intake.open_catalog(\"https://HOST/PATH/catalog.yaml\")")
    return 0


def _add_recording_parser(sub) -> None:
    a = sub.add_parser("add-recording", help="add a SpikeGLX, Open Ephys or raw recording to a catalog (and its "
                       "store beside it)")
    a.add_argument("path", help="SpikeGLX .ap.bin (or .meta); Open Ephys continuous.dat or recording folder; raw "
                   ".bin/.dat with --channels/--rate/--geometry")
    a.add_argument("--id", required=True, help="entry ID")
    a.add_argument("--catalog", default="catalog.yaml",
                   help="catalog YAML, created if missing (default ./catalog.yaml)")
    a.add_argument("--link", nargs="?", const="hard", choices=["hard", "sym"],
                   help="link the file into the store instead of copying it (it must not change afterwards)")
    a.add_argument("--format", choices=_FORMATS, help="default: from the files")
    a.add_argument("--stream", help="Open Ephys stream (folder_name) when the recording has several")
    a.add_argument("--channels", type=int, help="raw: int16 columns per frame")
    a.add_argument("--rate", help="raw: sampling rate in Hz (kept as written: 30000 or 30000.0)")
    a.add_argument("--geometry", help="probeinterface .json/.prb, or a table of x,y per column (.csv/.tsv/.npy)")
    a.add_argument("--gain", type=float, help="raw: µV per bit")
    a.add_argument("--probe", help="raw: probe name for the catalog (e.g. NP1)")
    a.add_argument("--lab")
    a.add_argument("--region")
    _common(a)
    a.add_argument("--no-progress", action="store_true", help="no progress bar")
    a.set_defaults(func=_cmd_add_recording)


def _common(p) -> None:
    p.add_argument("--description", help="entry description (default: made from the metadata)")
    p.add_argument("--meta", action="append", metavar="KEY=VALUE", help="metadata to set (repeatable; JSON values)")
    p.add_argument("--replace", action="store_true", help="replace a different entry of the same ID")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``add-recording``, ``add-sorting``, ``include`` and ``publish``."""
    _add_recording_parser(sub)
    s = sub.add_parser("add-sorting", help="add a phy/Kilosort, spikeinterface or .npy sorting of a recording")
    s.add_argument("path", help="phy/Kilosort folder, spikeinterface sorting folder, or spike times .npy")
    s.add_argument("--recording", required=True, help="ID of the recording (in the same catalog)")
    s.add_argument("--id", required=True, help="entry ID (curated good units become ID:curated)")
    s.add_argument("--catalog", default="catalog.yaml")
    s.add_argument("--labels", help="unit labels .npy, with spike times given as .npy")
    s.add_argument("--sorter", help="sorter name for the catalog (default: from the files)")
    _common(s)
    s.set_defaults(func=_cmd_add_sorting)

    i = sub.add_parser("include", help="include another catalog in a catalog (nested), e.g. the 2020 collection")
    i.add_argument("target", help="'npx2020' (the shipped 2020 collection), a catalog path, or an http(s) URL")
    i.add_argument("--id", required=True, help="entry ID of the nested catalog")
    i.add_argument("--catalog", default="catalog.yaml")
    i.add_argument("--description")
    i.add_argument("--replace", action="store_true")
    i.set_defaults(func=_cmd_include)

    p = sub.add_parser("publish", help="write a static directory (catalog + mirror of its blobs) anyone can open "
                       "by URL")
    p.add_argument("catalog")
    p.add_argument("dest")
    p.add_argument("--link", action="store_true", help="hard-link blobs from local stores instead of copying")
    p.add_argument("--no-compress", action="store_true",
                   help="skip the compressed form of chunked files (pack indexes and .pco chunks)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_publish)
