"""Command line of ``tools/build_catalog.py``: write, print or check the shipped catalogs (intake v1 and intake 2)."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from pathlib import Path

from . import assemble, intake2, render

REPO_ROOT = Path(__file__).resolve().parents[2]
CATALOG_PATH = REPO_ROOT / "intake_npx2020" / "sources" / "catalogs" / "npx2020.yaml"
CATALOG_V2_PATH = CATALOG_PATH.with_name("npx2020-v2.yaml")


def _check(path: Path, text: str) -> int:
    """Compare ``text`` with the file at ``path``: 0 if equal, else print a short diff and return 1."""
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if current == text:
        print(f"{path}: up to date")
        return 0
    diff = difflib.unified_diff(current.splitlines(), text.splitlines(), "committed", "regenerated", lineterm="", n=1)
    sys.stdout.write("\n".join(list(diff)[:60]) + "\n")
    print(f"{path}: OUT OF DATE -- run tools/build_catalog.py", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Build the catalog and write it, print it (``--stdout``) or compare it with the file (``--check``).

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 1 if ``--check`` finds the file out of date, else 0.
    """
    parser = argparse.ArgumentParser(description="Generate intake_npx2020/sources/catalogs/npx2020.yaml")
    parser.add_argument("--check", action="store_true", help="compare with the file; exit 1 if it differs")
    parser.add_argument("--stdout", action="store_true", help="print the catalog instead of writing it")
    parser.add_argument("--output", type=Path, default=CATALOG_PATH, help=f"default: {CATALOG_PATH}")
    parser.add_argument("--output-v2", type=Path, default=CATALOG_V2_PATH, help=f"default: {CATALOG_V2_PATH}")
    args = parser.parse_args(argv)

    catalog = assemble.build_catalog()
    text = render.render_catalog(catalog)
    text_v2 = intake2.render_intake2(intake2.build_intake2(catalog))
    if args.stdout:
        sys.stdout.write(text)
        return 0
    if args.check:
        return _check(args.output, text) | _check(args.output_v2, text_v2)
    for path, body in ((args.output, text), (args.output_v2, text_v2)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
        print(f"wrote {path} ({len(body)} bytes)")
    return 0
