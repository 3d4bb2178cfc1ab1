"""Run in a fresh process: open a published catalog by URL and save what every entry reads (test_publish).

Usage: ``python publish_client.py URL OUT_DIR``. Writes ``OUT_DIR/<id>.npy`` (recordings: the whole array, and
``<id>.window.npy``, channels 5–14 of a window read first; sortings: sample_index and unit_id stacked) for every
entry, nested catalogs included (``<catalog>.<id>``), and
``OUT_DIR/report.json`` with the IDs, each entry's store and mirrors, and the files in the user's store before and
after reading.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import intake
import numpy as np


def _files(root: str) -> int:
    p = Path(root)
    return sum(1 for f in p.rglob("*") if f.is_file() and "sha1" in f.parts) if p.exists() else 0


def _walk(cat, prefix: str, out: Path, report: dict) -> None:
    for name in cat:
        src = cat[name]
        key = f"{prefix}{name}"
        if isinstance(src, intake.catalog.Catalog):
            report["catalogs"].append(key)
            if name != "npx2020":  # the shipped 2020 collection: listed, its bytes are elsewhere
                _walk(src, f"{key}.", out, report)
            else:
                report["npx2020_entries"] = len(list(src))
            continue
        store = src.store
        report["stores"].setdefault(key, {"store": store.config.store, "mirrors": list(store.config.mirrors),
                                          "files_before": _files(store.config.store)})
        if src.container == "xarray":
            x = src.to_dask()
            n = x.shape[0]
            a, b = int(0.955 * n), min(n, int(0.955 * n) + 400)  # read first, alone: crosses a 20 MB chunk edge
            window = x.isel(channel=slice(5, 15)).sel(time=slice(a / x.sampling_frequency, b / x.sampling_frequency))
            np.save(out / f"{key.replace(':', '_')}.window.npy", window.values)
            report["windows"][key] = [a, b]
            arr = x.values
        else:
            df = src.read()
            arr = np.stack([df.sample_index.to_numpy(), df.unit_id.to_numpy()])
        np.save(out / f"{key.replace(':', '_')}.npy", arr)
        report["stores"][key]["files_after"] = _files(store.config.store)


def main() -> None:
    url, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    cat = intake.open_catalog(url)
    report = {"ids": list(cat), "catalogs": [], "stores": {}, "windows": {}}
    import intake_npx2020  # the package's own opener reads the same catalog by URL

    report["npx_ids"] = list(intake_npx2020.open_catalog(url))
    _walk(cat, "", out, report)
    (out / "report.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
