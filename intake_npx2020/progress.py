"""Progress bars for long operations: shown on a terminal, silent otherwise."""

from __future__ import annotations

import sys


def progress_bar(total: int | None, desc: str, enabled: bool | None = None, unit: str = "B"):
    """A ``tqdm`` bar (context manager with ``update``); ``enabled=None`` means "if stderr is a terminal"."""
    from tqdm.auto import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    scale = unit == "B"
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=scale, unit_divisor=1024 if scale else 1000,
                disable=not enabled, leave=False, dynamic_ncols=True)
