"""A raw interleaved int16 ``.bin``/``.dat`` with no metadata of its own: channels, rate and geometry given by hand."""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidInputFile
from .foreign import RawRecording, frames_in, number_as_given
from .probegeom import load_geometry

__all__ = ["read_raw"]


def read_raw(path: str | Path, num_channels: int, samplerate: str | float, geometry: str | Path,
             gain_to_uV: float | None = None, probe: str | None = None) -> RawRecording:
    """A raw file of ``num_channels`` int16 columns at ``samplerate`` Hz, positions from ``geometry``.

    Parameters
    ----------
    path : path-like
    num_channels : int
        Columns per frame (every saved channel, sync included).
    samplerate : str or float
        Hz; text is kept as written (``"30000"`` an int, ``"30000.0"`` a float) for the object hash.
    geometry : path-like
        probeinterface ``.json``/``.prb`` (wired), or a table of x, y per column (see
        :func:`~.probegeom.load_geometry`).
    gain_to_uV : float, optional
    probe : str, optional
        Probe name for the catalog (default: from the geometry file, if it says).

    Raises
    ------
    InvalidInputFile
        The size is not a whole number of frames of ``num_channels``; the geometry does not fit.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputFile(f"{path}: no such file")
    frames = frames_in(path, int(num_channels), f"--channels {num_channels}")
    rate = number_as_given(samplerate, f"{path}: --rate")
    ids, cols, pos, short, detail = load_geometry(geometry, int(num_channels))
    gain = None if gain_to_uV is None else float(number_as_given(gain_to_uV, f"{path}: --gain"))
    return RawRecording(path, int(num_channels), frames, rate, ids, cols, pos, gain, "raw", probe or short, detail,
                        side_files=(Path(geometry),))
