"""Command line of ``tools/build_catalog.py``: write, print or check the shipped catalog."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from pathlib import Path

from . import assemble, render

REPO_ROOT = Path(__file__).resolve().parents[2]
CATALOG_PATH = REPO_ROOT / "intake_npx2020" / "sources" / "catalogs" / "npx2020.yaml"


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
    args = parser.parse_args(argv)

    text = render.render_catalog(assemble.build_catalog())
    if args.stdout:
        sys.stdout.write(text)
        return 0
    if args.check:
        return _check(args.output, text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text)} bytes)")
    return 0
