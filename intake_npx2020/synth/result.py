"""What :func:`~.generator.generate` wrote: the ground truth, its files on disk, and its 2020 objects."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..arrays import recording_dataarray
from ..formats.builders import bin1_object, npy1_object
from .probe import UV_PER_BIT

__all__ = ["SynthResult"]


@dataclass
class SynthResult:
    """What :func:`~.generator.generate` wrote, and the ground truth to check analyses against.

    Attributes
    ----------
    out_dir, raw_path, times_path, labels_path, timestamps_path, positions_path, units_path : Path
        The files written (``raw.bin``, ``spike_times.npy``, ``spike_labels.npy``, ``manip.timestamps.npy``,
        ``manip.positions.npy``, ``units.json``; ``synth.json`` holds everything else).
    num_frames, raw_num_channels : int
        Frames in ``raw.bin`` and int16 columns per frame.
    sampling_frequency : float
    channel_ids : ndarray of int64
    channel_map : dict
        Channel id → raw column.
    channel_positions : dict
        Channel id → ``[x, y]`` in µm (probeinterface coordinates).
    spike_times, spike_labels : ndarray of int64
        Ground-truth trough sample of every spike (sorted) and its unit id.
    timestamps, positions : ndarray of float64
        Imposed displacement (µm along +y) at knots; linear interpolation between them is exact.
    units : dict of ndarray
        Per unit: ``unit_id``, ``x``, ``y``, ``z`` (µm, at zero displacement), ``amplitude`` (peak-channel
        trough, ADC counts), ``amplitude_uv``, ``firing_rate`` (Hz), ``decay_um``, ``peak_channel``.
    noise_sigma : ndarray of float64
        Per-channel standard deviation of the white noise (ADC counts, before common mode).
    """

    out_dir: Path
    num_frames: int
    raw_num_channels: int
    sampling_frequency: float
    probe: str
    drift: str | None
    seed: int
    channel_ids: np.ndarray
    channel_map: dict
    channel_positions: dict
    spike_times: np.ndarray
    spike_labels: np.ndarray
    timestamps: np.ndarray
    positions: np.ndarray
    units: dict
    noise_sigma: np.ndarray
    elapsed: float = float("nan")
    params: dict = field(default_factory=dict)

    raw_path = property(lambda self: self.out_dir / "raw.bin")
    times_path = property(lambda self: self.out_dir / "spike_times.npy")
    labels_path = property(lambda self: self.out_dir / "spike_labels.npy")
    timestamps_path = property(lambda self: self.out_dir / "manip.timestamps.npy")
    positions_path = property(lambda self: self.out_dir / "manip.positions.npy")
    units_path = property(lambda self: self.out_dir / "units.json")

    @property
    def duration(self) -> float:
        """Recording length in seconds."""
        return self.num_frames / self.sampling_frequency

    @property
    def realtime_factor(self) -> float:
        """Seconds of recording generated per second of wall time."""
        return self.duration / self.elapsed

    @property
    def positions_xy(self) -> np.ndarray:
        """Channel positions as an array of shape (channels, 2), in ``channel_ids`` order."""
        return np.array([self.channel_positions[int(c)] for c in self.channel_ids], dtype=float)

    @property
    def _samplerate(self) -> int | float:
        """The sampling frequency as the 2020 objects store it (an int when it is whole)."""
        fs = self.sampling_frequency
        return int(fs) if float(fs).is_integer() else float(fs)

    def displacement(self, t) -> np.ndarray:
        """Imposed displacement (µm along +y) at time(s) ``t`` in seconds."""
        return np.interp(np.asarray(t, dtype=float), self.timestamps, self.positions)

    def bin1_object(self, raw_uri: str) -> dict:
        """The collection's ``bin1`` recording object for ``raw.bin`` stored at ``raw_uri``."""
        ids = [int(c) for c in self.channel_ids]
        return bin1_object(raw_uri, self.raw_num_channels, self.num_frames, [self.channel_map[c] for c in ids],
                           [[float(v) for v in self.channel_positions[c]] for c in ids], self._samplerate, ids)

    def npy1_object(self, times_uri: str, labels_uri: str) -> dict:
        """The collection's ``npy1`` sorting object for the ground-truth spike times and labels."""
        return npy1_object(times_uri, labels_uri, self._samplerate)

    def to_dataarray(self, chunk_seconds: float = 1.0):
        """``raw.bin`` as a lazy, dask-backed ``xarray.DataArray`` (int16, dims ``("time", "channel")``).

        Each task reads its own frames from the file by path, so the graph pickles (processes, distributed).
        """
        import dask.array as da

        step = max(1, int(round(chunk_seconds * self.sampling_frequency)))
        cols = np.array([self.channel_map[int(c)] for c in self.channel_ids], dtype=np.int64)
        blocks = []
        for f0 in range(0, self.num_frames, step):
            f1 = min(self.num_frames, f0 + step)
            blocks.append(da.from_delayed(
                _delayed_read(str(self.raw_path), f0, f1, self.raw_num_channels, cols),
                shape=(f1 - f0, len(cols)), dtype=np.int16))
        attrs = {"source": str(self.raw_path), "raw_num_channels": self.raw_num_channels,
                 "units": "ADC counts (raw int16)", "gain_to_uV": UV_PER_BIT}
        return recording_dataarray(da.concatenate(blocks, axis=0), self.sampling_frequency, self.channel_ids,
                                   self.positions_xy, attrs=attrs)

    def save(self) -> None:
        """Write the ground truth next to ``raw.bin``: the ``.npy`` arrays, ``units.json`` and ``synth.json``."""
        np.save(self.times_path, self.spike_times.astype(np.int64))
        np.save(self.labels_path, self.spike_labels.astype(np.int64))
        np.save(self.timestamps_path, self.timestamps.astype(np.float64))
        np.save(self.positions_path, self.positions.astype(np.float64))
        self.units_path.write_text(json.dumps({k: np.asarray(v).tolist() for k, v in self.units.items()}))
        meta = {"num_frames": self.num_frames, "raw_num_channels": self.raw_num_channels,
                "sampling_frequency": self.sampling_frequency, "probe": self.probe, "drift": self.drift,
                "seed": self.seed, "channel_ids": self.channel_ids.tolist(),
                "channel_map": {str(k): v for k, v in self.channel_map.items()},
                "channel_positions": {str(k): v for k, v in self.channel_positions.items()},
                "noise_sigma": self.noise_sigma.tolist(), "elapsed": self.elapsed, "params": self.params,
                "sign_convention": "positions: displacement of the units along +y (µm) in probe coordinates"}
        (self.out_dir / "synth.json").write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, out_dir: str | Path) -> "SynthResult":
        """Read back a result written by :func:`~.generator.generate` (``synth.json`` and the ``.npy`` files)."""
        out_dir = Path(out_dir)
        meta = json.loads((out_dir / "synth.json").read_text())
        units = {k: np.asarray(v) for k, v in json.loads((out_dir / "units.json").read_text()).items()}
        return cls(
            out_dir=out_dir, num_frames=meta["num_frames"], raw_num_channels=meta["raw_num_channels"],
            sampling_frequency=meta["sampling_frequency"], probe=meta["probe"], drift=meta["drift"],
            seed=meta["seed"], channel_ids=np.asarray(meta["channel_ids"], dtype=np.int64),
            channel_map={int(k): v for k, v in meta["channel_map"].items()},
            channel_positions={int(k): v for k, v in meta["channel_positions"].items()},
            spike_times=np.load(out_dir / "spike_times.npy"), spike_labels=np.load(out_dir / "spike_labels.npy"),
            timestamps=np.load(out_dir / "manip.timestamps.npy"), positions=np.load(out_dir / "manip.positions.npy"),
            units=units, noise_sigma=np.asarray(meta["noise_sigma"]), elapsed=meta.get("elapsed", float("nan")),
            params=meta.get("params", {}))


def _read_frames(path: str, f0: int, f1: int, num_columns: int, cols: np.ndarray) -> np.ndarray:
    """Frames ``[f0, f1)`` of an interleaved int16 file, columns ``cols``."""
    block = np.fromfile(path, dtype="<i2", count=(f1 - f0) * num_columns, offset=2 * f0 * num_columns)
    return np.ascontiguousarray(block.reshape(f1 - f0, num_columns)[:, cols])


def _delayed_read(*args):
    import dask

    return dask.delayed(_read_frames, pure=True)(*args)
