"""What a recording or sorting found on disk is, once read from its own files, before it enters the store.

The readers (:mod:`.spikeglx`, :mod:`.openephys`, :mod:`.rawbin`, :mod:`.phy`, :mod:`.sifolder`) return a
:class:`RawRecording` or a :class:`SortingInput`; the checks here are shared by all of them. Every refusal is an
:class:`~intake_npx2020.errors.InvalidInputFile` naming the file and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InvalidInputFile, InvalidObject
from .fields import sample_indices, unit_labels
from .npyio import npy_from_path

__all__ = ["RawRecording", "Curation", "SortingInput", "frames_in", "number_as_given", "read_index_npy",
           "check_spikes", "plain_scalar"]


@dataclass(frozen=True)
class RawRecording:
    """A raw interleaved int16 file and what its metadata says about it.

    Attributes
    ----------
    path : Path
        The raw file (frames × ``raw_num_channels`` int16, no header).
    raw_num_channels : int
        Columns per frame, every saved channel included (e.g. 385 with the SpikeGLX sync channel).
    num_frames : int
    samplerate : int or float
        As the source states it (``30000`` and ``30000.0`` give different object hashes; kept as given).
    channel_ids, columns : list of int
        The electrode channels and the raw column of each.
    positions : list of [x, y]
        Position (µm) of each channel, as the geometry reader gives it.
    gain_to_uV : float, list of float or None
        µV per bit: one number when every channel has the same gain, else one per channel.
    source_format : str
        ``"spikeglx"``, ``"openephys"`` or ``"raw"``.
    probe, probe_detail : str or None
        Short probe name (``NP1``, ``NP2``, ``NP2 4-shank`` …) and the part number / description.
    sync_channel : int or None
        Raw column of a saved sync channel, not among ``channel_ids``.
    expect_sha1 : str or None
        The file's sha1 as its metadata states it (SpikeGLX ``fileSHA1``), lowercase.
    sha1_field : str
        Where ``expect_sha1`` comes from, for the error message.
    side_files : tuple of Path
        The metadata files read (``.meta``, ``structure.oebin``, ``settings.xml``, geometry).
    extra : dict
        Metadata worth keeping in the catalog entry (serial numbers, creation time, stream name …).
    """

    path: Path
    raw_num_channels: int
    num_frames: int
    samplerate: int | float
    channel_ids: list[int]
    columns: list[int]
    positions: list[list[float]]
    gain_to_uV: float | list[float] | None
    source_format: str
    probe: str | None = None
    probe_detail: str | None = None
    sync_channel: int | None = None
    expect_sha1: str | None = None
    sha1_field: str = ""
    side_files: tuple[Path, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def size_bytes(self) -> int:
        return self.num_frames * 2 * self.raw_num_channels

    @property
    def duration_s(self) -> float:
        return self.num_frames / float(self.samplerate)


@dataclass(frozen=True)
class Curation:
    """A unit table file and the value of one of its columns that marks the units kept (e.g. ``group == good``)."""

    table: Path
    column: str
    value: str
    curated: bool
    suffix: str
    unit_ids: tuple[int, ...]


@dataclass(frozen=True)
class SortingInput:
    """Spike times and labels read from a sorter's output, checked to be integral, non-negative and paired.

    ``times_file``/``labels_file`` are the files to add verbatim (then their bytes, and so the object hash, are the
    sorter's); ``None`` means the arrays must be written as ``.npy`` files first.
    """

    times: np.ndarray
    labels: np.ndarray
    source_format: str
    sorter: str
    times_file: Path | None = None
    labels_file: Path | None = None
    samplerate: float | None = None
    rate_field: str = ""
    units: list[dict] = field(default_factory=list)
    curation: Curation | None = None
    side_files: tuple[Path, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def unit_ids(self) -> np.ndarray:
        return np.unique(self.labels)


def plain_scalar(v):
    """A numpy scalar as the Python value JSON can hold (NaN as ``None``)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def number_as_given(text: str, what: str) -> int | float:
    """A number from metadata text: ``int`` if written as an integer, else ``float`` (finite, above zero)."""
    t = str(text).strip()
    try:
        value = int(t) if t.lstrip("+").isdigit() else float(t)
    except ValueError:
        raise InvalidInputFile(f"{what} must be a number, got {t!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise InvalidInputFile(f"{what} must be a finite number above zero, got {t!r}")
    return value


def frames_in(path: Path, num_channels: int, what: str) -> int:
    """Frames of an int16 file of ``num_channels`` columns; its size must be a whole number of frames."""
    if num_channels < 1:
        raise InvalidInputFile(f"{what} = {num_channels}: a recording needs at least one channel")
    size = path.stat().st_size
    if size % (2 * num_channels):
        raise InvalidInputFile(f"{path}: {size} bytes is not a whole number of frames of {num_channels} int16 "
                               f"channels ({what}); the channel count is wrong or the file is truncated")
    return size // (2 * num_channels)


def read_index_npy(path: Path, labels: bool = False) -> np.ndarray:
    """An ``.npy`` of spike times (``labels=False``) or unit labels, validated, as int64 ``(n,)``."""
    what = f"{path}: {'unit labels' if labels else 'spike times'}"
    try:
        a = npy_from_path(str(path), what)
        return unit_labels(a, what) if labels else sample_indices(a, what)
    except InvalidInputFile:
        raise
    except InvalidObject as err:
        raise InvalidInputFile(str(err)) from None


def check_spikes(s: SortingInput, num_frames: int, what: str) -> None:
    """Refuse spikes that do not pair with labels or fall outside a recording of ``num_frames`` frames."""
    tf = s.times_file or "spike times"
    if len(s.times) != len(s.labels):
        raise InvalidInputFile(f"{tf}: {len(s.times)} spike times but {s.labels_file or 'labels'} has "
                               f"{len(s.labels)} labels; they must pair one to one")
    if s.times.size and int(s.times.max()) >= num_frames:
        bad = int(s.times.max())
        raise InvalidInputFile(f"{tf}: spike time {bad} (sample index) is beyond {what}, which has {num_frames} "
                               f"frames; is this the sorting of that recording?")
