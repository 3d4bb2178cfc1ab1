"""The raw file: noise plus rendered spikes, rounded to int16 and written one chunk of frames at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from .noise import Noise
from .render import Renderer

__all__ = ["write_raw", "progress_reporter"]

_SYNC_VALUE = 64              # SpikeGLX sync bit 6


def write_raw(path: Path, noise: Noise, renderer: Renderer, num_frames: int, num_columns: int,
              num_channels: int, step: int, fs: float, sync: bool, report: Callable[[int], None]) -> None:
    """Write ``num_frames`` interleaved int16 frames of ``num_columns`` columns to ``path``, ``step`` at a time.

    Columns ``[0, num_channels)`` hold noise plus spikes; a further column (NP1) holds a 1 Hz TTL square wave
    (0 / 64) if ``sync``, else zeros. ``report(frames_done)`` is called after each chunk.
    """
    half_period = int(round(fs / 2))
    with open(path, "wb") as fh:
        buf_all = np.empty((min(step, num_frames), num_channels), dtype=np.float32)
        out_all = np.zeros((min(step, num_frames), num_columns), dtype="<i2")
        for f0 in range(0, num_frames, step):
            f1 = min(num_frames, f0 + step)
            buf, out = buf_all[:f1 - f0], out_all[:f1 - f0]
            noise.fill(f0, f1, buf)
            renderer.add(f0, f1, buf)
            np.rint(buf, out=buf)
            np.clip(buf, -32768, 32767, out=buf)
            out[:, :num_channels] = buf
            if num_columns > num_channels and sync:
                out[:, num_channels] = _SYNC_VALUE * ((np.arange(f0, f1) // half_period) % 2)
            fh.write(memoryview(out).cast("B"))
            report(f1)


def progress_reporter(progress: bool | Callable[[int, int], None] | None, total: int):
    """``(report(frames_done), bar)``: a call to ``progress(done, total)``, or a progress bar to close after."""
    if callable(progress):
        return (lambda done: progress(done, total)), None
    from ..progress import progress_bar

    bar = progress_bar(total, "synth", progress, unit="frames")
    state = {"done": 0}

    def report(done: int) -> None:
        bar.update(done - state["done"])
        state["done"] = done

    return report, bar
