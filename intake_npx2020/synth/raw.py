"""The raw file: noise plus rendered spikes, rounded to int16 and written one chunk of frames at a time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
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
    n = min(step, num_frames)
    buf_all = np.empty((n, num_channels), dtype=np.float32)
    # two output buffers: one chunk is written by the writer thread while the next is computed
    outs = [np.zeros((n, num_columns), dtype="<i2") for _ in range(2)]
    pending = [None, None]
    with open(path, "wb") as fh, ThreadPoolExecutor(1, thread_name_prefix="npx2020-synth-write") as writer:
        for i, f0 in enumerate(range(0, num_frames, step)):
            f1 = min(num_frames, f0 + step)
            if pending[i % 2] is not None:
                pending[i % 2].result()
            buf, out = buf_all[:f1 - f0], outs[i % 2][:f1 - f0]
            noise.fill(f0, f1, buf)
            renderer.add(f0, f1, buf)
            np.rint(buf, out=buf)
            np.clip(buf, -32768, 32767, out=buf)
            out[:, :num_channels] = buf
            if num_columns > num_channels and sync:
                out[:, num_channels] = _SYNC_VALUE * ((np.arange(f0, f1) // half_period) % 2)
            pending[i % 2] = writer.submit(_write, fh, out, report, f1)
        for fut in pending:
            if fut is not None:
                fut.result()


def _write(fh, out: np.ndarray, report: Callable[[int], None], done: int) -> None:
    fh.write(memoryview(out).cast("B"))
    report(done)


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
