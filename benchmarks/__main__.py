"""``python -m benchmarks [--quick] [--profile] [--json FILE]``: every ``bench_*`` module, one table of ratios."""

import importlib
import pkgutil
import sys

from . import main_for

FIRST = ("bench_store", "bench_catalog")  # run in this order; any other bench_* module follows, by name


def modules():
    pkg = importlib.import_module("benchmarks")
    found = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name.startswith("bench_"))
    names = [n for n in FIRST if n in found] + [n for n in found if n not in FIRST]
    return [importlib.import_module(f"benchmarks.{n}") for n in names]


if __name__ == "__main__":
    sys.exit(main_for(*modules()))
