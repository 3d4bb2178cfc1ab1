"""``npx2020 pack``: write a packed (compressed, hash-verified) mirror from a store or from catalog entries."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...errors import CatalogError

__all__ = ["register"]


def _plan_catalog(args):
    """Blobs and chunked files of the chosen entries (default: every entry), read through each entry's store."""
    from ...sources.catalog import find_entry, open_catalog
    from ...store.packplan import plan_uris

    cat = open_catalog(args.source)
    names = [find_entry(cat, e) for e in args.entries] if args.entries else list(cat)
    pairs, skipped = [], []
    for name in names:
        src = cat[name]
        uris = src.uris() if hasattr(src, "uris") else []
        if not uris:
            skipped.append(name)
        pairs.extend((src.store, u) for u in uris)
    return plan_uris(pairs), skipped


def _cmd_pack(args) -> int:
    from ...extras import require
    from ...store.pack import TMP_DIR, Packer
    from ...store.packplan import plan_store, reader_store

    require("pcodec", "compress", "npx2020 pack")
    source, dest = Path(args.source), Path(args.dest)
    if source.is_dir():
        if args.entries:
            raise CatalogError(f"--entries needs a catalog file, but {source} is a store directory")
        blobs, files = plan_store(reader_store(source, dest / TMP_DIR / "reader"), source)
        skipped = []
    elif source.is_file():
        (blobs, files), skipped = _plan_catalog(args)
    else:
        raise FileNotFoundError(f"{source}: no such store directory or catalog file")
    packer = Packer(dest, jobs=args.jobs, progress=False if args.no_progress else None)
    r = packer.run(blobs, files, label=f"pack {dest.name}")
    for name in skipped:
        print(f"{name}\tno sha1:// data; nothing packed")
    ratio = f"{r.ratio:.3f}" if r.ratio is not None else "—"
    print(f"packed {r.files} chunked files into {dest}: {r.chunks_pco} chunks compressed, {r.chunks_raw} raw, "
          f"{r.chunk_bytes / 1e6:.1f} MB stored in {r.stored_bytes / 1e6:.1f} MB (ratio {ratio}); "
          f"{r.blobs} blobs copied as they are ({r.blob_bytes / 1e6:.1f} MB); "
          f"{r.chunks_kept + r.blobs_kept} objects already there and verified")
    for line in r.failed:
        print(f"not packed: {line}", file=sys.stderr)
    if r.failed:
        print(f"{len(r.failed)} items could not be packed; run again to resume once their bytes can be had",
              file=sys.stderr)
    return 1 if r.failed else 0


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of jobs, got {text!r}") from None
    if not 1 <= n <= 256:
        raise argparse.ArgumentTypeError(f"jobs must be between 1 and 256, got {n}")
    return n


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``pack``."""
    p = sub.add_parser("pack", help="write a packed mirror (chunks compressed, same sha1s) from a store or catalog "
                       "entries: static files for nginx, a bucket or `npx2020 serve`; resumable")
    p.add_argument("source", metavar="STORE_OR_CATALOG",
                   help="a store directory (every blob in it), or a catalog YAML (its entries' files)")
    p.add_argument("dest", metavar="DEST", help="the mirror directory (created; an earlier packing is resumed)")
    p.add_argument("--entries", nargs="+", metavar="ID", help="only these catalog entries (IDs or labels)")
    p.add_argument("--jobs", type=_jobs, help="chunks compressed at once (default: the number of CPUs)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_pack)
