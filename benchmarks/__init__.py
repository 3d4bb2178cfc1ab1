"""Benchmarks for intake_npx2020: every figure is a ratio against a baseline measured in the same process,
on the same file, with the page cache warm (each file is read once before any timing).

Run everything from the repository root::

    python -m benchmarks            # all modules, full sizes
    python -m benchmarks --quick    # smaller sizes (a few minutes less)
    python -m benchmarks.bench_store --quick --profile

Ratio convention: ``ratio = baseline time / our time`` (so > 1 means we are faster, 1 means equal speed).

This module holds the shared machinery: a session with a temporary directory (generated data, stores,
a loopback mirror process), timing helpers, the :class:`Figure` record and the table printer.
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import datetime
import io
import json
import os
import platform
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["Figure", "Session", "median_time", "warm", "main_for", "print_table", "cpu_model", "profile_text",
           "run_parts"]

FS = 30_000          # samples per second
RAW_C = 385          # raw columns of a Neuropixels 1.0 bin1 file
MB = 1e6


# -- records ---------------------------------------------------------------------------------------------
@dataclass
class Figure:
    """One measured figure: our median time vs a baseline's median time on the same data."""

    issue: str                      # "store" or "catalog"
    name: str                       # what was measured
    ours_s: float | None            # median seconds, ours
    baseline: str = ""              # what the baseline is
    base_s: float | None = None     # median seconds, baseline
    goal: str = ""                  # the goal, in words (e.g. "ratio >= 0.8", "< 1 s")
    met: bool | None = None         # goal met? None when there is no goal (informational row)
    nbytes: int | None = None       # bytes moved per timed operation (for MB/s)
    note: str = ""
    ours_all: list[float] = field(default_factory=list)
    base_all: list[float] = field(default_factory=list)
    error: str | None = None
    profile: Callable | None = field(default=None, repr=False, compare=False)  # one run of "ours", for cProfile
    # or: a setup returning (fn, cleanup), when the run needs state made outside the profiled call
    profile_setup: Callable | None = field(default=None, repr=False, compare=False)

    @property
    def ratio(self) -> float | None:
        if self.ours_s and self.base_s:
            return self.base_s / self.ours_s
        return None

    def mbps(self, t: float | None) -> float | None:
        return self.nbytes / MB / t if (self.nbytes and t) else None

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("profile", None)
        d.pop("profile_setup", None)
        d["ratio"] = self.ratio
        d["ours_MBps"] = self.mbps(self.ours_s)
        d["base_MBps"] = self.mbps(self.base_s)
        return d


def judge(fig: Figure, min_ratio: float | None = None, max_seconds: float | None = None,
          min_mbps: float | None = None) -> Figure:
    """Fill ``goal`` and ``met`` from thresholds (all given thresholds must hold)."""
    goals, ok = [], True
    if min_ratio is not None:
        goals.append(f"ratio >= {min_ratio:g}")
        ok &= fig.ratio is not None and fig.ratio >= min_ratio
    if max_seconds is not None:
        goals.append(f"< {max_seconds:g} s")
        ok &= fig.ours_s is not None and fig.ours_s < max_seconds
    if min_mbps is not None:
        goals.append(f">= {min_mbps:g} MB/s")
        m = fig.mbps(fig.ours_s)
        ok &= m is not None and m >= min_mbps
    fig.goal = ", ".join(goals)
    fig.met = bool(ok) if goals else None
    return fig


# -- timing ----------------------------------------------------------------------------------------------
def median_time(fn: Callable[[], object], repeats: int, warmup: int = 1) -> list[float]:
    """Wall-clock seconds of ``fn()`` for ``repeats`` runs after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Time several callables round-robin (A B C A B C …) so background noise hits them alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    out: dict[str, list[float]] = {k: [] for k in fns}
    for r in range(repeats):
        items = list(fns.items())
        if r % 2:
            items.reverse()
        for k, fn in items:
            t0 = time.perf_counter()
            fn()
            out[k].append(time.perf_counter() - t0)
    return out


def med(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def warm(path: str | os.PathLike, block: int = 64 << 20) -> float:
    """Read a file once so it sits in the page cache; returns seconds taken."""
    t0 = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(block)
        while f.readinto(buf):
            pass
    return time.perf_counter() - t0


def profile_text(fn: Callable[[], object], top: int = 18, sort: str = "tottime") -> str:
    """Run ``fn`` once under cProfile — in the calling thread *and* in every thread started meanwhile (e.g. the
    store's fetch pool) — and return the top entries of the merged stats, by ``sort`` and by cumulative time.

    Threads that already existed (e.g. dask's shared pool) are not seen: profile dask with the sync scheduler.
    """
    import threading

    thread_profiles: list[cProfile.Profile] = []

    def hook(frame, event, arg):  # first event in a new thread: replace this hook with a C profiler
        p = cProfile.Profile()
        thread_profiles.append(p)
        p.enable()

    pr = cProfile.Profile()
    threading.setprofile(hook)
    pr.enable()
    try:
        fn()
    finally:
        pr.disable()
        threading.setprofile(None)
    s = io.StringIO()
    st = pstats.Stats(pr, stream=s)
    for p in thread_profiles:
        try:
            st.add(p)
        except (TypeError, ValueError):
            pass
    st.strip_dirs()
    print(f"(merged profile of the calling thread and {len(thread_profiles)} thread(s) started during the run; "
          "lock waits in one thread overlap work in others)", file=s)
    st.sort_stats(sort).print_stats(top)
    st.sort_stats("cumulative").print_stats(top)
    keep = [ln for ln in s.getvalue().splitlines() if ln.strip() and not ln.startswith("   List reduced")]
    return "\n".join(keep)


# -- machine ---------------------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_line() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError):
        mem = float("nan")
    return (f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC · {cpu_model()} · "
            f"{os.cpu_count()} cores · {mem:.0f} GB RAM · Python {platform.python_version()} · "
            f"numpy {np.__version__} · load avg {load[0]:.2f}")


# -- session: temp dir, generated data, stores, loopback mirror ---------------------------------------------
class Session:
    """Everything the benchmarks share in one process; ``close()`` (also at exit) removes it all."""

    def __init__(self, quick: bool = False, repeats: int | None = None, profile: bool = False,
                 keep: bool = False, only: list[str] | None = None):
        self.quick = quick
        self.only = only or []
        self.repeats = repeats or (3 if quick else 5)
        self.profile = profile
        self.keep = keep
        self.tmp = Path(tempfile.mkdtemp(prefix="npx2020-bench-"))
        self._raw: dict[int, Path] = {}
        self._uris: dict[str, str] = {}
        self._server: subprocess.Popen | None = None
        self.base_url: str | None = None
        self.figures: list[Figure] = []
        atexit.register(self.close)

    # stores
    @property
    def source_store(self) -> Path:
        """The store holding the generated files (added with hard links); also the mirror's root."""
        return self.tmp / "source-store"

    def storage_options(self, **extra) -> dict:
        so = {"store": str(self.source_store), "mirrors": [], "use_kachery": False}
        so.update(extra)
        return so

    def store(self):
        from intake_npx2020.store import get_store

        return get_store(self.storage_options())

    def fresh_store_dir(self, tag: str) -> Path:
        d = Path(tempfile.mkdtemp(prefix=f"cold-{tag}-", dir=self.tmp))
        return d

    # data
    def raw_file(self, seconds: int, seed: int = 0) -> Path:
        """A raw bin1 file: ``seconds`` × 30 kHz × 385 int16 columns, noise with a per-column offset."""
        if seconds in self._raw:
            return self._raw[seconds]
        path = self.tmp / "data" / f"raw-{seconds}s.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(seed + seconds)
        offset = rng.integers(-200, 200, RAW_C, dtype=np.int16)
        t0 = time.perf_counter()
        with open(path, "wb") as f:
            for _ in range(seconds):
                block = rng.integers(-64, 64, size=(FS, RAW_C), dtype=np.int16)
                block += offset
                f.write(block.data)
        log(f"generated {path.name}: {path.stat().st_size / 1e9:.2f} GB in {time.perf_counter() - t0:.1f} s")
        self._raw[seconds] = path
        return path

    def add(self, path: Path) -> str:
        """Add a file to the source store (hard link, so the store's blob and ``path`` are one inode)."""
        key = str(path)
        if key not in self._uris:
            t0 = time.perf_counter()
            self._uris[key] = self.store().add_file(path, link="hard", progress=False).uri
            log(f"added {path.name} to the source store in {time.perf_counter() - t0:.1f} s: {self._uris[key]}")
        return self._uris[key]

    def bin1_object(self, seconds: int, num_channels: int = 384) -> tuple[dict, Path]:
        """The 2020 ``bin1`` object for :meth:`raw_file` (channels 0..n-1 mapped to the first n raw columns)."""
        path = self.raw_file(seconds)
        uri = self.add(path)
        ids = list(range(num_channels))
        obj = {"recording_format": "bin1", "data": {
            "raw": uri, "raw_num_channels": RAW_C, "num_frames": seconds * FS, "samplerate": 30000,
            "channel_ids": ids, "channel_map": {str(i): i for i in ids},
            "channel_positions": {str(i): [float(16 * (i % 4)), float(20 * (i // 2))] for i in ids}}}
        return obj, path

    # loopback mirror in its own process (no shared GIL with the client)
    def mirror(self) -> str:
        if self._server is None:
            self.source_store.mkdir(parents=True, exist_ok=True)
            p = subprocess.Popen([sys.executable, "-m", "intake_npx2020", "serve", str(self.source_store),
                                  "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            line = p.stdout.readline()
            m = re.search(r"(http://127\.0\.0\.1:\d+)", line)
            if not m:
                p.terminate()
                raise RuntimeError(f"`npx2020 serve` did not start: {line!r} {p.stderr.read()}")
            self._server, self.base_url = p, m.group(1)
            log(f"mirror process pid {p.pid} serving {self.source_store} at {self.base_url}")
        return self.base_url

    def close(self) -> None:
        if self._server is not None:
            self._server.terminate()
            try:
                self._server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._server.kill()
            self._server = None
        if self.tmp.exists() and not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


def log(msg: str) -> None:
    print(f"  · {msg}", file=sys.stderr, flush=True)


# -- running and printing ------------------------------------------------------------------------------------
def _fmt_t(t: float | None) -> str:
    if t is None:
        return "—"
    if t < 1e-3:
        return f"{t * 1e6:.0f} µs"
    if t < 1:
        return f"{t * 1e3:.1f} ms"
    return f"{t:.2f} s"


def _fmt_mbps(x: float | None) -> str:
    return "" if x is None else (f"{x / 1000:.2f} GB/s" if x >= 1000 else f"{x:.0f} MB/s")


def print_table(figures: list[Figure], file=None) -> None:
    """A markdown table: figure, ours, baseline, ratio (baseline time / our time), goal, met."""
    file = file or sys.stdout
    rows = [("issue", "figure", "ours", "baseline", "base time", "ratio", "goal", "met")]
    for f in figures:
        if f.error:
            rows.append((f.issue, f.name, "ERROR", f.baseline, "", "", f.goal, "error: " + f.error[:60]))
            continue
        ours = _fmt_t(f.ours_s) + (f" ({_fmt_mbps(f.mbps(f.ours_s))})" if f.nbytes else "")
        base = _fmt_t(f.base_s) + (f" ({_fmt_mbps(f.mbps(f.base_s))})" if f.nbytes and f.base_s else "")
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "—"
        met = {True: "met", False: "NOT met", None: ""}[f.met]
        rows.append((f.issue, f.name + (f" [{f.note}]" if f.note else ""), ours, f.baseline or "—",
                     base if f.base_s else "—", ratio, f.goal or "—", met))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, r in enumerate(rows):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |", file=file)
        if k == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|", file=file)


def run_parts(s: "Session", issue: str, parts) -> list[Figure]:
    """Run each ``part(s)`` of a module; a part that fails becomes an error row instead of stopping the run."""
    figs: list[Figure] = []
    for part in parts:
        if s.only and not any(w in part.__name__ for w in s.only):
            continue
        t0 = time.perf_counter()
        try:
            figs.extend(part(s))
        except Exception as err:
            traceback.print_exc()
            figs.append(Figure(issue, part.__name__.strip("_").replace("_", " "), None,
                               error=f"{type(err).__name__}: {err}"))
        log(f"{part.__name__.strip('_')} took {time.perf_counter() - t0:.0f} s")
    return figs


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats")
    p.add_argument("--repeats", type=int, help="timed repeats per figure (median reported; default 5, quick 3)")
    p.add_argument("--profile", action="store_true",
                   help="cProfile one run of 'ours' for every figure short of its goal and print the top entries")
    p.add_argument("--json", help="also write the figures as JSON to this file")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (its path is printed)")
    p.add_argument("--only", action="append", metavar="PART",
                   help="run only the parts whose function name contains PART (repeatable), e.g. --only cluster")
    return p


def run_modules(modules, args) -> list[Figure]:
    """Run ``module.run(session)`` for each module; print the table (and profiles); return the figures."""
    print(f"# intake_npx2020 benchmarks{' (--quick)' if args.quick else ''}")
    print(f"machine: {machine_line()}")
    print("page cache: warm (every file is read once before timing); times are medians of repeats; "
          "ratio = baseline time / our time (> 1: we are faster)\n", flush=True)
    session = Session(quick=args.quick, repeats=args.repeats, profile=args.profile, keep=args.keep,
                      only=args.only)
    if args.keep:
        print(f"temporary directory (kept): {session.tmp}")
    figures: list[Figure] = []
    try:
        for mod in modules:
            name = mod.__name__.rsplit(".", 1)[-1]
            log(f"running {name}")
            t0 = time.perf_counter()
            try:
                figs = mod.run(session)
            except Exception as err:  # keep going: report the failure as a row
                traceback.print_exc()
                figs = [Figure(getattr(mod, "ISSUE", name), name, None, error=f"{type(err).__name__}: {err}")]
            figures.extend(figs)
            log(f"{name} done in {time.perf_counter() - t0:.0f} s")
        print()
        print_table(figures)
        print(f"\nafter the run: load avg {os.getloadavg()[0]:.2f}")
        if args.profile:
            done = set()
            for f in figures:
                if f.met is False and (f.profile or f.profile_setup) and f.name not in done:
                    done.add(f.name)
                    print(f"\n## profile of ours for: {f.issue} / {f.name} (short of {f.goal})\n", flush=True)
                    try:
                        if f.profile_setup is not None:
                            fn, cleanup = f.profile_setup()
                            try:
                                print(profile_text(fn))
                            finally:
                                cleanup()
                        else:
                            print(profile_text(f.profile))
                    except Exception as err:
                        print(f"profile failed: {type(err).__name__}: {err}")
        if args.json:
            Path(args.json).write_text(json.dumps({"machine": machine_line(), "quick": args.quick,
                                                   "figures": [f.to_json() for f in figures]}, indent=1))
    finally:
        session.close()
    return figures


def main_for(*modules) -> int:
    names = ", ".join(m.__name__.rsplit(".", 1)[-1] for m in modules)
    args = parser(f"intake_npx2020 benchmarks: {names}").parse_args()
    figs = run_modules(modules, args)
    return 1 if any(f.error for f in figs) else 0
