"""dask's default scheduler without importing ``distributed`` when no distributed client can exist.

With no scheduler configured, every ``compute()`` runs ``from distributed import get_client`` to look for a client;
in a fresh process that import alone costs ≈ 90 ms, more than reading the first second of a recording. No client
can exist in a process that has not imported ``distributed``, so :func:`auto_get` looks for one only when
``distributed`` is already imported, and otherwise runs dask's threaded scheduler — the default dask would pick for
arrays and data frames. Installed as ``dask.config["scheduler"]`` only when no scheduler is configured, so a
``Client`` (which sets the config), ``dask.config.set(scheduler=…)`` and ``compute(scheduler=…)`` all still win.
"""

from __future__ import annotations

import sys

__all__ = ["auto_get", "install_default_scheduler"]


def auto_get(dsk, keys, **kwargs):
    """Run a graph on the current distributed client if there is one, else on dask's threaded scheduler."""
    if "distributed" in sys.modules:
        from distributed import get_client

        try:
            return get_client().get(dsk, keys, **kwargs)
        except ValueError:  # no client
            pass
    from dask.threaded import get

    return get(dsk, keys, **kwargs)


def install_default_scheduler() -> None:
    """Make :func:`auto_get` dask's scheduler when none is configured (idempotent)."""
    import dask

    if dask.config.get("scheduler", None) is None:
        dask.config.set(scheduler=auto_get)
