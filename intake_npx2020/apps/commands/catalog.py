"""``npx2020 ls | info``: what the catalog holds, as a table that fits the terminal, or one entry in full."""

from __future__ import annotations

import argparse
import shutil

from .common import open_catalog_arg

_LS_COLUMNS = ["kind", "lab", "probe", "duration_s", "num_channels", "drift", "recording_id", "sorter", "description"]


def fit_table(table, width: int) -> str:
    """``table`` as text no wider than ``width`` columns: drop trailing columns, then shorten long cells."""
    view = table.astype(object)
    view = view.where(view.notna(), "")
    text = view.to_string()
    while len(view.columns) > 1 and max(map(len, text.splitlines())) > width:
        widest = max(view.columns, key=lambda c: view[c].astype(str).str.len().max())
        longest = int(view[widest].astype(str).str.len().max())
        if longest > 24:
            view[widest] = view[widest].astype(str).map(lambda s, n=max(12, longest // 2): s if len(s) <= n else s[:n - 1] + "…")
        else:
            view = view.drop(columns=view.columns[-1])
        text = view.to_string()
    return text


def _cmd_ls(args) -> int:
    from ...sources.catalog import catalog_table

    cat = open_catalog_arg(args)
    if args.search:
        cat = cat.search(args.search)
    table = catalog_table(cat)
    if args.kind:
        table = table[table["kind"] == args.kind]
    if table.empty:
        what = " ".join(f"{k} {v!r}" for k, v in (("search", args.search), ("kind", args.kind)) if v)
        print(f"no entries match{' ' + what if what else ''}; `npx2020 ls` lists them all")
        return 0
    cols = [c for c in _LS_COLUMNS if c in table and table[c].notna().any() and (table[c].astype(str) != "").any()]
    print(fit_table(table[cols], shutil.get_terminal_size((120, 24)).columns))
    return 0


def _cmd_info(args) -> int:
    import yaml

    from ...sources.catalog import describe_entry, find_entry

    cat = open_catalog_arg(args)
    name = find_entry(cat, args.id)
    d = describe_entry(cat, name)
    driver = d.get("plugin") or d.get("driver")
    out = {"id": name, "driver": driver[0] if isinstance(driver, list) else driver,
           "description": d.get("description"),
           "metadata": {k: v for k, v in (d.get("metadata") or {}).items() if k not in ("catalog_dir", "sources")}}
    sources = (d.get("metadata") or {}).get("sources")
    if sources:  # where the original file can be had: `npx2020 fetch ID` downloads and verifies it from there
        out["sources"] = sources
    src = cat[name]
    if getattr(src, "container", None) == "xarray":
        s = src.spec
        out["data"] = {"raw": s.raw, "shape (frames, channels)": [s.num_frames, s.num_channels],
                       "raw_num_channels": s.raw_num_channels, "sampling_frequency": s.sampling_frequency,
                       "duration_s": round(s.duration, 3), "object_sha1": s.object_sha1,
                       "bytes local": src.store.has_local(s.raw)}
    print(yaml.safe_dump(out, sort_keys=False, allow_unicode=True, width=120))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``ls`` and ``info``."""
    ls = sub.add_parser("ls", help="list the catalog's entries")
    ls.add_argument("--search", help="only entries whose ID, description or metadata contain every word")
    ls.add_argument("--kind", choices=["recording", "sorting", "drift"])
    ls.add_argument("--catalog", help="catalog YAML (default: the 2020 collection)")
    ls.set_defaults(func=_cmd_ls)

    i = sub.add_parser("info", help="show one entry")
    i.add_argument("id", help="entry ID or original label")
    i.add_argument("--catalog", help="catalog YAML (default: the 2020 collection)")
    i.set_defaults(func=_cmd_info)
