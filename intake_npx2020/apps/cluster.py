"""Dask worker processes tuned for this workload: glibc malloc settings, and a ``LocalCluster`` that uses them.

``distributed`` starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536``. Setting that variable turns off glibc's
dynamic mmap threshold, so every array above 128 kB is a fresh ``mmap``: a filter block (≈150 MB of FFT buffers)
then costs ≈25k page faults per call instead of ≈1.3k, 30 % more time per task, and the page zeroing contends for
memory bandwidth between workers. :data:`WORKER_ENVIRON` keeps freed arrays up to 32 MB in the heap and returns
memory to the OS only above 256 MB of free heap.
"""

from __future__ import annotations

from contextlib import contextmanager

from ..extras import require

__all__ = ["WORKER_ENVIRON", "worker_environ", "local_cluster"]

#: Environment set in a worker process before it starts (``distributed.nanny.pre-spawn-environ``).
WORKER_ENVIRON = {"MALLOC_TRIM_THRESHOLD_": str(256 << 20), "MALLOC_MMAP_THRESHOLD_": str(32 << 20)}


@contextmanager
def worker_environ(environ: dict | None = None):
    """Within this block, nannies (``LocalCluster``, ``dask worker`` started from Python) spawn workers with
    :data:`WORKER_ENVIRON` (or ``environ``) on top of ``distributed.nanny.pre-spawn-environ``.

    A nanny writes those variables into this process's ``os.environ`` before it spawns a worker; they are put back
    as they were when the block ends, so later clusters and subprocesses do not inherit them. (A nanny that
    restarts a worker sets them again itself.) For workers started from the command line, put the same keys under
    ``distributed.nanny.pre-spawn-environ`` in the workers' dask config file (environment variables cannot carry
    them: dask lower-cases their names).
    """
    import os

    import dask

    current = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    merged = {**current, **(environ or WORKER_ENVIRON)}
    saved = {k: os.environ.get(k) for k in merged}
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": merged}):
            yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def local_cluster(n_workers: int | None = None, threads_per_worker: int = 1, **kwargs):
    """A ``distributed.LocalCluster`` of worker processes started with :data:`WORKER_ENVIRON`.

    Parameters
    ----------
    n_workers : int, optional
        Default: one per core.
    threads_per_worker : int
        Default 1: the analysis tasks hold the GIL part of the time, so processes scale better than threads.
    **kwargs
        Passed to ``LocalCluster`` (e.g. ``host``, ``dashboard_address``, ``memory_limit``).

    Returns
    -------
    distributed.LocalCluster
    """
    import os

    LocalCluster = require("dask.distributed", "analysis", "a LocalCluster").LocalCluster

    kwargs.setdefault("processes", True)
    with worker_environ():
        return LocalCluster(n_workers=n_workers or os.cpu_count() or 1, threads_per_worker=threads_per_worker,
                            **kwargs)
