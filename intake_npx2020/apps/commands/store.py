"""``npx2020 add | serve | fetch | cache``: bytes into, out of and around the store."""

from __future__ import annotations

import argparse

from ...errors import ContentNotFound
from .common import open_catalog_arg, port_number, store_options


def _cmd_add(args) -> int:
    from ...store import get_store

    store = get_store(store_options(args))
    for path in args.files:
        uri, new = store.add_file(path, link=args.link, progress=None)
        print(f"{uri}\t{'added' if new else 'already in store (confirmed)'}: {path}")
    return 0


def _cmd_serve(args) -> int:
    from ...store.config import default_store_dir
    from ...store.serve import make_server

    root = args.root or default_store_dir()
    server = make_server(root, args.host, args.port, quiet=not args.verbose, link_dirs=args.link_dir or ())
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
    from ...store import get_store
    from ...sources.fetching import said
    from ...store.download import fetch

    store = get_store(store_options(args))
    progress = False if args.no_progress else None
    for item in args.items:
        if item.startswith(("sha1://", "sha1dir://", "kachery:")):
            f = fetch(store, item, progress=progress, discard_partial=args.discard_partial)
            print(f"{f.uri}\t{said(f)}; complete in {store.own.path}")
        else:
            for line in _fetch_entry(args, item, store if args.store else None, progress):
                print(line)
    return 0


def _fetch_entry(args, item: str, store, progress) -> list[str]:
    from ...sources.catalog import find_entry
    from ...sources.fetching import fetch_entry

    cat = open_catalog_arg(args)
    name = find_entry(cat, item)
    src = cat[name]
    if not src.uris():
        raise ContentNotFound(f"entry {item!r} names no sha1:// data "
                              f"({src.metadata.get('unavailable', 'no URIs')})")
    return fetch_entry(cat, name, store, progress, args.discard_partial)


def _cmd_cache(args) -> int:
    from ...store import get_store

    store = get_store(store_options(args))
    own = store.own
    blobs = own.cached_blobs()
    total = sum(s for _, s, _ in blobs)
    cap = store.config.cache_max
    stale = own.tmp.leftovers()
    print(f"store: {own.path}")
    print(f"cached (evictable) blobs: {len(blobs)}, {total / 1e9:.3f} GB; cap: "
          f"{f'{cap / 1e9} GB' if cap else 'none'}")
    print(f"leftovers of interrupted writes: {len(stale)}, {sum(x.size for x in stale) / 1e6:.3f} MB; "
          f"writes in progress: {max(0, own.tmp.in_flight() - len(stale))}")
    if args.clear:
        left, removed = own.clear()
        print(f"cleared; {left} bytes of cache left (added files are kept); {len(removed)} leftovers removed")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``add``, ``serve``, ``fetch`` and ``cache``."""
    a = sub.add_parser("add", help="hash a local file, write its manifest and put it in the store")
    a.add_argument("files", nargs="+")
    a.add_argument("--link", nargs="?", const="hard", choices=["hard", "sym"],
                   help="link instead of copying (hard link by default; 'sym' across filesystems)")
    a.add_argument("--store", help="store root (default: $NPX2020_STORE or the user cache dir)")
    a.set_defaults(func=_cmd_add)

    s = sub.add_parser("serve", help="serve a store over HTTP (read-only, with Range)")
    s.add_argument("root", nargs="?", help="store root (default: our store)")
    s.add_argument("--port", type=port_number, default=8080, help="port (0: any free port; default 8080)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--verbose", action="store_true", help="log every request")
    s.add_argument("--link-dir", action="append", metavar="DIR",
                   help="also serve files added with --link sym that point into DIR (repeatable; default: none)")
    s.set_defaults(func=_cmd_serve)

    f = sub.add_parser("fetch", help="download every byte of catalog entries (or sha1:// URIs) into the store: from "
                       "stores, mirrors, live kachery, then the entry's original sources; resumable, verified")
    f.add_argument("items", nargs="+", metavar="ID_OR_URI")
    f.add_argument("--store")
    f.add_argument("--catalog", help="catalog YAML (default: the 2020 collection)")
    f.add_argument("--discard-partial", action="store_true",
                   help="remove the partial download when a download fails or its bytes are not the catalog's "
                        "file (default: keep it, and a rerun resumes)")
    f.add_argument("--no-progress", action="store_true", help="no progress bar")
    f.set_defaults(func=_cmd_fetch)

    c = sub.add_parser("cache", help="show (or --clear) the cache of our store")
    c.add_argument("--clear", action="store_true", help="remove all cached blobs except added files")
    c.add_argument("--store")
    c.set_defaults(func=_cmd_cache)
