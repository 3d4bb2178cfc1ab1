"""``npx2020 hybrid | evaluate``: write a hybrid recording into a catalog; score a sorting against a truth."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import open_catalog_arg


def _floats(text: str) -> tuple[float, ...] | list[float]:
    """``"2,10"`` → the range ``(2.0, 10.0)``; ``"[5,6,7]"`` or one value → a list, one per unit."""
    listed = text.startswith("[")
    try:
        vals = [float(v) for v in text.strip("[]").split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None
    if not vals:
        raise argparse.ArgumentTypeError(f"expected numbers, got {text!r}")
    return list(vals) if listed or len(vals) != 2 else tuple(vals)


def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected unit ids separated by commas, got {text!r}") from None


def _cmd_hybrid(args) -> int:
    from ...groundtruth import HybridParams, write_hybrid

    sorting = None if args.templates == "model" else args.templates
    params = HybridParams(num_units=args.units, rates=args.rates, seed=args.seed,
                          amplitudes_uv=None if args.amplitudes == "measured" else _floats(args.amplitudes),
                          templates="model" if sorting is None else "sorting", template_units=args.template_units,
                          y_offset_um=args.y_offset, refractory_ms=args.refractory_ms)
    entries = write_hybrid(args.catalog, args.parent, args.id, params, motion=args.motion, sorting=sorting,
                           store_dir=args.store, overwrite=args.overwrite)
    inj = entries[args.id]["args"]["injection"]
    print(f"wrote {', '.join(entries)} into {args.catalog}: {len(inj['units']['unit_id'])} units injected into "
          f"{args.parent} ({inj['templates']['kind']} templates, seed {args.seed}"
          f"{', moving with ' + str(entries[args.id]['metadata']['motion_from']) if inj['motion'] else ''})")
    return 0


def _sorting_arg(text: str, cat):
    """An entry ID of the catalog, or a CSV file of ``unit_id``, ``sample_index``."""
    if text.endswith(".csv") and Path(text).is_file():
        import pandas as pd

        return pd.read_csv(text)
    from ...sources.catalog import find_entry

    return cat[find_entry(cat, text)]


def _cmd_evaluate(args) -> int:
    from ...groundtruth import evaluate

    cat = open_catalog_arg(args)
    ev = evaluate(_sorting_arg(args.sorting, cat), _sorting_arg(args.truth, cat), tolerance_ms=args.tolerance_ms)
    s = ev.summary
    cols = ["accuracy", "recall", "precision", "tp", "fn", "fp", "tested_unit_id", "agreement"]
    print(ev.performance[cols].round(3).to_string())
    print(f"{s['matched_units']} of {s['num_gt_units']} ground-truth units matched among {s['num_tested_units']} "
          f"sorted; mean accuracy {s['mean_accuracy']:.3f}, recall {s['mean_recall']:.3f}, precision "
          f"{s['mean_precision']:.3f}; well detected (accuracy ≥ 0.8): {s['well_detected_units']}; tolerance "
          f"{s['tolerance_ms']:g} ms ({s['tolerance_frames']} frames)")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name in ("performance", "matching", "agreement", "confusion"):
            getattr(ev, name).to_csv(out / f"{name}.csv")
        ev.figure(out / "evaluation.png", title=f"{args.sorting} vs {args.truth}")
        print(f"tables and figure in {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``hybrid`` and ``evaluate``."""
    h = sub.add_parser("hybrid", help="add a hybrid (a recording plus known injected units) to a catalog")
    h.add_argument("parent", help="ID of the recording entry to inject into")
    h.add_argument("id", help="ID of the new entry (its truth is ID:ground_truth)")
    h.add_argument("--catalog", required=True, help="catalog YAML to add the entries to (rewritten)")
    h.add_argument("--units", type=int, default=10, help="units to inject (default 10)")
    h.add_argument("--rates", type=_floats, default=(2.0, 10.0), help="Hz: LO,HI range or [r1,r2,…] (default 2,10)")
    h.add_argument("--amplitudes", default="80,200",
                   help="µV: LO,HI range or [a1,…]; 'measured' keeps a sorting's template amplitudes (default 80,200)")
    h.add_argument("--templates", default="model", help="'model' (synthetic units) or a sorting entry ID")
    h.add_argument("--template-units", type=_ints, help="with a sorting: its unit ids to copy (default the largest)")
    h.add_argument("--y-offset", type=float, default=0.0, help="µm to move sorting templates along the probe")
    h.add_argument("--motion", default="parent", help="'parent' (its :drift entry if any), 'none', or a drift entry")
    h.add_argument("--refractory-ms", type=float, default=2.0)
    h.add_argument("--seed", type=int, default=0)
    h.add_argument("--store", help="store for the injected arrays (default: store/ beside the catalog)")
    h.add_argument("--overwrite", action="store_true", help="replace entries of the same ID")
    h.set_defaults(func=_cmd_hybrid)

    e = sub.add_parser("evaluate", help="score a sorting against a ground truth (or a curated sorting)")
    e.add_argument("sorting", help="sorting entry ID (or a CSV file of unit_id,sample_index)")
    e.add_argument("--truth", required=True, help="ground-truth entry: a sorting, or a hybrid (its injected units)")
    e.add_argument("--catalog", help="catalog YAML (default: the 2020 collection)")
    e.add_argument("--tolerance-ms", type=float, default=0.4, help="spike match tolerance (default 0.4 ms)")
    e.add_argument("--out", help="directory for the tables (CSV) and the figure")
    e.set_defaults(func=_cmd_evaluate)
