"""Facts about a recording read from its SpikeGLX ``.meta`` file, as probeinterface reads it.

Drift dataset1's NP2.0 probe has its real meta (``data/cortexlab-drift-dataset1.p2_g0_t0.imec0.ap.meta``, the
file probeinterface ships as ``tests/data/spikeglx/p2_g0_t0.imec0.ap.meta``, MIT licence). Its ``fileSHA1`` and
``fileSizeBytes`` are SpikeGLX's own record of the raw file, a check of the catalog's URI independent of kachery.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

DATA_DIR = Path(__file__).resolve().parent / "data"
DATASET1_META = DATA_DIR / "cortexlab-drift-dataset1.p2_g0_t0.imec0.ap.meta"


class MetaFacts(NamedTuple):
    """What a SpikeGLX AP-band meta says about its raw file and probe."""

    file_sha1: str  # lowercase
    file_size: int
    sampling_frequency: float
    saved_channels: int
    gain_to_uV: float
    probe_part_number: str
    probe_description: str
    positions: list  # [x, y] um per saved AP channel, x from the shank's left edge


def edge_relative_positions(probe) -> list:
    """Contact positions (µm) in channel order with x measured from the shank's left edge.

    probeinterface >= 0.3 puts the first electrode column at x = 0 and the shank outline 27 µm (NP2.0) to its
    left; earlier versions measured x from the shank edge. Subtracting the outline's left edge gives the same
    numbers with every version, and the convention of the catalog's NP1.0 positions (x in {11, 27, 43, 59}).
    """
    import numpy as np

    pos = np.array(probe.contact_positions, dtype=float)
    pos[:, 0] -= float(np.min(probe.probe_planar_contour[:, 0]))
    order = np.argsort(probe.device_channel_indices)
    return [[float(x), float(y)] for x, y in pos[order]]


def read_meta(path: Path = DATASET1_META) -> MetaFacts:
    """Read the facts of an NP2.0 (or NP1.0) AP meta with probeinterface (``parse_spikeglx_meta``, ``read_spikeglx``)."""
    import probeinterface

    meta = probeinterface.parse_spikeglx_meta(path)
    probe = probeinterface.read_spikeglx(path)
    gain = float(probe.annotations["ap_gain"])
    uv_per_bit = float(meta["imAiRangeMax"]) / int(meta["imMaxInt"]) / gain * 1e6
    return MetaFacts(
        file_sha1=meta["fileSHA1"].lower(),
        file_size=int(meta["fileSizeBytes"]),
        sampling_frequency=float(meta["imSampRate"]),
        saved_channels=int(meta["nSavedChans"]),
        gain_to_uV=uv_per_bit,
        probe_part_number=meta["imDatPrb_pn"],
        probe_description=str(probe.annotations.get("description", "")),
        positions=edge_relative_positions(probe),
    )
