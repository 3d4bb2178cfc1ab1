#!/usr/bin/env python
"""Estimate the share of mutants of ``store/`` and ``formats/`` the test suite kills, from a random sample.

mutmut runs every mutant against the tests that cover its function and, on this 2-core machine, needs about an
hour per 1,000 mutants; ``store/`` and ``formats/`` have about 9,500. This script draws a seeded random sample of
the mutants that ``mutmut`` generated (the names in ``mutants/**/*.py.meta``) and runs each against the in-process
test files of its module (``pytest -x`` with ``MUTANT_UNDER_TEST`` set, as mutmut does), so that the kill rate of
the whole can be stated with a confidence interval. See ``docs/mutation-testing.md``.

Usage, from the copy of the tree in which ``mutmut run`` generated ``mutants/``::

    python /path/to/tools/mutation_sample.py --sample 120 --seed 4242 --jobs 2 > sample.log
    python /path/to/tools/mutation_sample.py --summary sample.log

Each line of the log: ``KILLED``/``survived``/``timeout``/``rc=N``, the mutant's name, pytest's last line.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

STORE_CORE = ["test_mutants_sample.py", "test_mutants_sample2.py", "test_mutants_store.py", "test_mutants_engine.py",
              "test_mutants_misc.py", "test_mutants_misc_2.py", "test_mutants_misc_3.py", "test_mutants_misc_4.py",
              "test_direct.py", "test_uri.py", "test_local.py", "test_store.py", "test_failover.py",
              "test_hostile_paths.py", "test_hostile_objects.py", "test_hostile_mirrors.py", "test_fs.py",
              "test_leftovers.py"]
FORMATS = ["test_mutants_sample.py", "test_mutants_sample2.py", "test_mutants_formats.py", "test_mutants_formats_2.py",
           "test_mutants_formats_3.py", "test_mutants_formats_4.py", "test_formats.py",
           "test_hostile_objects.py", "test_add.py", "test_conventions_probe.py", "test_conventions_units.py",
           "test_catalog.py", "test_drivers.py", "test_arrays.py", "test_legacy.py", "test_adapters.py",
           "test_conventions_bridges.py", "test_export.py"]
_HTTP = ["test_kachery.py", "test_stubs.py", "test_download.py", "test_mutants_http.py", "test_mutants_http_2.py"]
_PACKED = ["test_packed.py", "test_mutants_pack.py", "test_mutants_pack_2.py", "test_mutants_pack_3.py",
           "test_mutants_pack_4.py", "test_mutants_pack_5.py"]
BY_MODULE = {"serve": ["test_serve.py", "test_serve_load.py", "test_publish.py", *_PACKED[1:]],
             "safeopen": ["test_serve.py", *_PACKED[1:]],
             "download": ["test_cli.py", *_HTTP], "kachery": _HTTP,
             "kachery_keys": _HTTP, "remote_http": _HTTP, "partial": _HTTP,
             "origin": ["test_cli.py", *_HTTP], "origins": ["test_cli.py", *_HTTP],
             "pack": _PACKED, "packed": _PACKED, "packplan": _PACKED, "packindex": _PACKED, "pco": _PACKED,
             "deadline": ["test_hostile_deadline.py", *_HTTP[3:]], "mirror": ["test_hostile_deadline.py"],
             "config": ["test_cli_errors.py", "test_cli.py"], "ingest": ["test_add.py", "test_cli.py"],
             "blocks": ["test_arrays.py", "test_perf_paths.py"], "writeback": ["test_perf_paths.py"],
             "engine": ["test_perf_paths.py", "test_arrays.py", "test_hostile_deadline.py"],
             "capacity": ["test_store_load.py"], "tmpfiles": ["test_store_load.py"]}
# need files that mutmut does not copy into mutants/ (tools/, catalogs/)
DESELECT = ["tests/test_catalog.py::test_open_both_ways"]


def mutant_names(root: str = "mutants") -> list[str]:
    """Every mutant mutmut generated under ``root``, sorted."""
    names: list[str] = []
    for meta in glob.glob(os.path.join(root, "intake_npx2020", "*", "*.py.meta")):
        with open(meta) as f:
            names += list(json.load(f)["exit_code_by_key"])
    return sorted(names)


def test_files(name: str, root: str = "mutants") -> list[str]:
    """The in-process test files that exercise the module of mutant ``name``, existing under ``root/tests``."""
    package, module = name.split(".")[1:3]
    files = FORMATS if package == "formats" else STORE_CORE + BY_MODULE.get(module, [])
    return [f"tests/{f}" for f in dict.fromkeys(files) if os.path.exists(os.path.join(root, "tests", f))]


def run_one(name: str, root: str = "mutants", timeout: float = 900.0) -> str:
    """One log line: the verdict on mutant ``name`` (``KILLED`` when a test failed with it switched on)."""
    env = dict(os.environ, MUTANT_UNDER_TEST=name)
    args = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m",
            "not slow and not browser and not cluster", *sum((["--deselect", d] for d in DESELECT), []),
            *test_files(name, root)]
    try:
        r = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timeout   {name}  []"
    last = (r.stdout.strip().splitlines() or ["?"])[-1]
    verdict = {0: "survived", 1: "KILLED"}.get(r.returncode, f"rc={r.returncode}")
    return f"{verdict:9} {name}  [{last}]"


def summary(lines: list[str]) -> str:
    """Killed / run, with a 95 % Wilson interval; timeouts and other exits are listed apart, not counted."""
    verdicts = [ln.split()[0] for ln in lines if ln.strip()]
    killed, survived = verdicts.count("KILLED"), verdicts.count("survived")
    n = killed + survived
    if not n:
        return "no verdicts"
    p, z = killed / n, 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (f"{killed} of {n} killed = {100 * p:.1f} % (95 % interval {100 * (centre - half):.1f}–"
            f"{100 * (centre + half):.1f} %); {len(verdicts) - n} other (timeouts, errors)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample", type=int, default=100, help="mutants to draw (default 100)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    ap.add_argument("--exclude", help="a file of mutant names not to draw (e.g. an earlier sample)")
    ap.add_argument("--summary", metavar="LOG", help="only summarise a log written earlier")
    a = ap.parse_args(argv)
    if a.summary:
        with open(a.summary) as f:
            print(summary(f.readlines()))
        return 0
    names = mutant_names()
    if a.exclude:
        with open(a.exclude) as f:
            names = sorted(set(names) - set(f.read().split()))
    picked = random.Random(a.seed).sample(names, min(a.sample, len(names)))
    with ThreadPoolExecutor(a.jobs) as ex:
        for line in ex.map(run_one, picked):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
