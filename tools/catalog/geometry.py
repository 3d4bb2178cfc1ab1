"""Probe site positions (µm) in this dataset's conventions (§5)."""

from __future__ import annotations

NP1_X = [43, 11, 59, 27]
PHASE3A_REFERENCE_SITES = frozenset({36, 75, 112, 151, 188, 227, 264, 303, 340, 379})
PHASE3B_REFERENCE_SITES = frozenset({191})
NP2_4SHANK_PITCH_UM = 250
NP2_4SHANK_PER_SHANK = 96


def np1_position(col: int, cast: type = float) -> list:
    """Position ``[x, y]`` (µm) of NP1.0 bank-0 site ``col`` in this dataset's convention.

    Parameters
    ----------
    col : int
        Raw column (= bank-0 electrode index, 0..383).
    cast : type
        ``float`` for full recordings, ``int`` for the 10-s extracts (§3).

    Returns
    -------
    list
        ``[x, y]`` with ``x = [43, 11, 59, 27][col % 4]`` and ``y = 20 * (col // 2 + 1)`` (§5).
    """
    return [cast(NP1_X[col % 4]), cast(20 * (col // 2 + 1))]


def np2_single_shank_position(ch: int) -> list[float]:
    """Position of NP2.0 single-shank channel ``ch`` (bank 0): ``[32*(ch%2), 15*(ch//2)]`` µm.

    This is probeinterface's NP2000 bank-0 layout (libraries.md §4); the dataset's own
    ``NP2_kilosortChanMap.mat`` may use another x offset.
    """
    return [float(32 * (ch % 2)), float(15 * (ch // 2))]


def np2_four_shank_position(ch: int) -> list[float]:
    """Position of channel ``ch`` of an NP2.0 4-shank probe in a bank-0 "horizontal stripe".

    Assumes channels ``96*s .. 96*s+95`` sit on shank ``s`` in the bottom 48 rows, two columns
    per shank: with ``k = ch % 96``, ``x = 250*s + 32*(k % 2)`` and ``y = 15*(k // 2)`` µm
    (250 µm shank pitch, 32 µm column pitch, 15 µm row pitch; x spans 0..782 like probeinterface's
    NP2010/NP2013/NP2014). The real hardware channel order is in the ``.mat`` and is not known
    offline, so this is a reconstruction.
    """
    shank, k = divmod(ch, NP2_4SHANK_PER_SHANK)
    return [float(NP2_4SHANK_PITCH_UM * shank + 32 * (k % 2)), float(15 * (k // 2))]
