"""``npx2020 export | demo | view``: write a window out, run the demo, browse the catalog."""

from __future__ import annotations

import argparse

from .common import open_catalog_arg, port_number


def _cmd_export(args) -> int:
    from ..export import export

    channels = [int(c) for c in args.channels.split(",")] if args.channels else None
    out = export(args.id, args.to, format=args.format, start=args.start, end=args.end, channels=channels,
                 catalog=open_catalog_arg(args), overwrite=args.overwrite)
    print(f"wrote {out['path']}: {out['bytes'] / 1e6:.1f} MB of traces in {out['stored_bytes'] / 1e6:.1f} MB "
          f"(compression ratio {out['compression_ratio']:.2f})")
    return 0


def _cmd_demo(args) -> int:
    from ..demo import format_summary, run_demo

    summary = run_demo(args.out, duration=args.duration, probe=args.probe, seed=args.seed,
                       scheduler=args.scheduler, workers=args.workers, packed=args.packed)
    print(format_summary(summary))
    return 0


def _cmd_view(args) -> int:
    from ..view import check_gui_deps, serve_viewer

    check_gui_deps()
    server, url = serve_viewer(args.catalog, port=args.port, address=args.address, store=args.store)
    print(f"npx2020 viewer at {url} (intake GUI at {url}intake; Ctrl-C to stop)", flush=True)
    if args.show:
        import webbrowser

        webbrowser.open(url)
    server.wait()
    return 0


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < 1e7:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``export``, ``demo`` and ``view``."""
    e = sub.add_parser("export", help="write a recording (window) as MATLAB/Octave-readable .dat, zarr or NWB")
    e.add_argument("id", help="recording ID or label")
    e.add_argument("--to", required=True, help="output directory, or file for nwb (must not exist)")
    e.add_argument("--format", choices=["dat", "zarr", "nwb"], default="dat", help="nwb needs the [nwb] extra")
    e.add_argument("--start", type=float, help="start time in s")
    e.add_argument("--end", type=float, help="end time in s")
    e.add_argument("--channels", help="comma-separated channel ids")
    e.add_argument("--overwrite", action="store_true")
    e.add_argument("--catalog", help="catalog YAML (default: the 2020 collection)")
    e.set_defaults(func=_cmd_export)

    d = sub.add_parser("demo", help="generate a drift dataset, serve it over HTTP, analyse it with dask")
    d.add_argument("--duration", type=_positive, default=60.0, help="seconds of recording (default 60)")
    d.add_argument("--probe", choices=["NP1", "NP2"], default="NP1")
    d.add_argument("--out", default="npx2020-demo", help="output directory (default ./npx2020-demo)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--scheduler", choices=["distributed", "threads", "processes", "sync"], default="distributed")
    d.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    d.add_argument("--packed", action="store_true", help="pack the store into a compressed mirror (npx2020 pack) "
                   "and serve that; the summary gives bytes on the wire per raw byte")
    d.set_defaults(func=_cmd_demo)

    v = sub.add_parser("view", help="browse the catalog and see traces, spikes and drift in a web browser")
    v.add_argument("catalog", nargs="?", help="catalog YAML (default: the 2020 collection)")
    v.add_argument("--port", type=port_number, default=0, help="port (default: a free one, printed)")
    v.add_argument("--address", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    v.add_argument("--store", help="another local store root to read (a store/ beside the catalog is read too)")
    v.add_argument("--show", action="store_true", help="open the page in the default web browser")
    v.set_defaults(func=_cmd_view)
