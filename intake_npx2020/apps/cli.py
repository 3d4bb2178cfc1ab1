"""The ``npx2020`` command."""

from __future__ import annotations

import argparse
import sys

from ..errors import NPXError


def _cmd_add(args) -> int:
    from ..store.engine import get_store

    store = get_store({"store": args.store} if args.store else None)
    for path in args.files:
        uri, new = store.add_file(path, link=args.link, progress=None)
        print(f"{uri}\t{'added' if new else 'already in store (confirmed)'}: {path}")
    return 0


def _cmd_serve(args) -> int:
    from ..store.config import default_store_dir
    from ..store.serve import make_server

    root = args.root or default_store_dir()
    server = make_server(root, args.host, args.port, quiet=not args.verbose)
    host, port = server.server_address[:2]
    print(f"serving {root} at http://{host}:{port} (read-only; Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _cmd_fetch(args) -> int:
    from ..store.engine import get_store

    store = get_store({"store": args.store} if args.store else None)
    for item in args.items:
        uris = [item] if item.startswith(("sha1://", "sha1dir://")) else _entry_uris(args, item)
        for uri in uris:
            n = store.fetch(uri, progress=None)
            print(f"{uri}\tfetched {n} bytes; complete in {store.own.path}")
    return 0


def _entry_uris(args, item: str) -> list[str]:
    from ..sources.catalog import find_entry

    cat = _open(args)
    src = cat[find_entry(cat, item)]
    uris = src.uris()
    if not uris:
        raise ValueError(f"entry {item!r} names no sha1:// data ({src.metadata.get('unavailable', 'no URIs')})")
    return uris


def _cmd_export(args) -> int:
    from .export import export

    channels = [int(c) for c in args.channels.split(",")] if args.channels else None
    out = export(args.id, args.to, format=args.format, start=args.start, end=args.end, channels=channels,
                 catalog=_open(args), overwrite=args.overwrite)
    print(f"wrote {out['path']}: {out['bytes'] / 1e6:.1f} MB of traces in {out['stored_bytes'] / 1e6:.1f} MB "
          f"(compression ratio {out['compression_ratio']:.2f})")
    return 0


def _cmd_cache(args) -> int:
    from ..store.engine import get_store

    store = get_store({"store": args.store} if args.store else None)
    blobs = store.own.cached_blobs()
    total = sum(s for _, s, _ in blobs)
    print(f"store: {store.own.path}")
    print(f"cached (evictable) blobs: {len(blobs)}, {total / 1e9:.3f} GB; cap: "
          f"{store.config.cache_max / 1e9 if store.config.cache_max else 'none'}"
          f"{' GB' if store.config.cache_max else ''}")
    if args.clear:
        left = store.own.evict(0)
        print(f"cleared; {left} bytes of cache left (added files are kept)")
    return 0


def _open(args):
    from ..sources.catalog import open_catalog

    return open_catalog(args.catalog)


def _cmd_ls(args) -> int:
    import pandas as pd

    from ..sources.catalog import catalog_table

    cat = _open(args)
    if args.search:
        cat = cat.search(args.search)
    table = catalog_table(cat)
    if args.kind:
        table = table[table["kind"] == args.kind]
    if table.empty:
        print("no entries match")
        return 0
    cols = [c for c in ["kind", "lab", "probe", "duration_s", "num_channels", "drift", "recording_id", "sorter"]
            if c in table and table[c].notna().any()]
    with pd.option_context("display.max_rows", None, "display.width", 200, "display.max_colwidth", 40):
        view = table[cols].astype(object)
        print(view.where(view.notna(), "").to_string())
    return 0


def _cmd_info(args) -> int:
    import yaml

    from ..sources.catalog import describe_entry, find_entry

    cat = _open(args)
    name = find_entry(cat, args.id)
    d = describe_entry(cat, name)
    driver = d.get("plugin") or d.get("driver")
    out = {"id": name, "driver": driver[0] if isinstance(driver, list) else driver, "description": d.get("description"),
           "metadata": {k: v for k, v in (d.get("metadata") or {}).items() if k != "catalog_dir"}}
    src = cat[name]
    if getattr(src, "container", None) == "xarray":
        s = src.spec
        out["data"] = {"raw": s.raw, "shape (frames, channels)": [s.num_frames, s.num_channels],
                       "raw_num_channels": s.raw_num_channels, "sampling_frequency": s.sampling_frequency,
                       "duration_s": round(s.duration, 3), "object_sha1": s.object_sha1,
                       "bytes local": src.store.has_local(s.raw)}
    print(yaml.safe_dump(out, sort_keys=False, allow_unicode=True, width=120))
    return 0


def _cmd_demo(args) -> int:
    from .demo import format_summary, run_demo

    summary = run_demo(args.out, duration=args.duration, probe=args.probe, seed=args.seed,
                       scheduler=args.scheduler, workers=args.workers)
    print(format_summary(summary))
    return 0


def _cmd_view(args) -> int:
    try:
        from .view import check_gui_deps, serve_viewer

        check_gui_deps()
    except ImportError as err:
        print(f"npx2020 view: error: {err}", file=sys.stderr)
        return 1
    server, url = serve_viewer(args.catalog, port=args.port, address=args.address, store=args.store)
    print(f"npx2020 viewer at {url} (intake GUI at {url}intake; Ctrl-C to stop)", flush=True)
    if args.show:
        import webbrowser

        webbrowser.open(url)
    server.wait()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="npx2020", description="The neuropixels-data-sep-2020 collection as an intake catalog.")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("add", help="hash a local file, write its manifest and put it in the store")
    a.add_argument("files", nargs="+")
    a.add_argument("--link", nargs="?", const="hard", choices=["hard", "sym"],
                   help="link instead of copying (hard link by default; 'sym' across filesystems)")
    a.add_argument("--store", help="store root (default: $NPX2020_STORE or the user cache dir)")
    a.set_defaults(func=_cmd_add)

    s = sub.add_parser("serve", help="serve a store over HTTP (read-only, with Range)")
    s.add_argument("root", nargs="?", help="store root (default: our store)")
    s.add_argument("--port", type=int, default=8080, help="port (0: any free port; default 8080)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--verbose", action="store_true", help="log every request")
    s.set_defaults(func=_cmd_serve)

    f = sub.add_parser("fetch", help="download every byte of catalog entries (or sha1:// URIs) into the store")
    f.add_argument("items", nargs="+", metavar="ID_OR_URI")
    f.add_argument("--store")
    f.add_argument("--catalog", help="catalog YAML (default: the 2020 collection)")
    f.set_defaults(func=_cmd_fetch)

    e = sub.add_parser("export", help="write a recording (window) as MATLAB-readable .dat or compressed zarr")
    e.add_argument("id", help="recording ID or label")
    e.add_argument("--to", required=True, help="output directory (must not exist)")
    e.add_argument("--format", choices=["dat", "zarr"], default="dat")
    e.add_argument("--start", type=float, help="start time in s")
    e.add_argument("--end", type=float, help="end time in s")
    e.add_argument("--channels", help="comma-separated channel ids")
    e.add_argument("--overwrite", action="store_true")
    e.add_argument("--catalog", help="catalog YAML (default: the 2020 collection)")
    e.set_defaults(func=_cmd_export)

    d = sub.add_parser("demo", help="generate a drift dataset, serve it over HTTP, analyse it with dask")
    d.add_argument("--duration", type=float, default=120.0, help="seconds of recording (default 120)")
    d.add_argument("--probe", choices=["NP1", "NP2"], default="NP1")
    d.add_argument("--out", default="npx2020-demo", help="output directory (default ./npx2020-demo)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--scheduler", choices=["distributed", "threads", "processes", "sync"], default="distributed")
    d.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    d.set_defaults(func=_cmd_demo)

    ls = sub.add_parser("ls", help="list the catalog's entries")
    ls.add_argument("--search", help="only entries whose description or metadata contain this text")
    ls.add_argument("--kind", choices=["recording", "sorting", "drift"])
    ls.add_argument("--catalog", help="catalog YAML (default: the 2020 collection)")
    ls.set_defaults(func=_cmd_ls)

    i = sub.add_parser("info", help="show one entry")
    i.add_argument("id", help="entry ID or original label")
    i.add_argument("--catalog", help="catalog YAML (default: the 2020 collection)")
    i.set_defaults(func=_cmd_info)

    c = sub.add_parser("cache", help="show (or --clear) the cache of our store")
    c.add_argument("--clear", action="store_true", help="remove all cached blobs except added files")
    c.add_argument("--store")
    c.set_defaults(func=_cmd_cache)

    v = sub.add_parser("view", help="browse the catalog and see traces, spikes and drift in a web browser")
    v.add_argument("catalog", nargs="?", help="catalog YAML (default: the 2020 collection)")
    v.add_argument("--port", type=int, default=0, help="port (default: a free one, printed)")
    v.add_argument("--address", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    v.add_argument("--store", help="another local store root to read (a store/ beside the catalog is read too)")
    v.add_argument("--show", action="store_true", help="open the page in the default web browser")
    v.set_defaults(func=_cmd_view)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (NPXError, ValueError, KeyError, OSError) as err:
        print(f"npx2020 {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
