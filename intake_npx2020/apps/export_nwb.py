"""The ``nwb`` export: a recording window as an NWB file, written by neuroconv from the spikeinterface bridge.

The window is the bridge recording (probe model, gain, ``inter_sample_shift``) with the chosen channels and
frames, so the ``ElectricalSeries`` holds the int16 counts with ``conversion`` = gain × 1e-6 (V per count) and
``starting_time`` = the window's start (s); the electrodes table has the probe's contact positions (``rel_x``,
``rel_y``, µm), ``electrode_name`` (probeinterface's contact ids) and ``group_name`` (the shank). neuroconv
0.10 takes positions from a ``location`` property that spikeinterface 0.105 no longer sets, so it is set here.

NWB requires a session start time; the 2020 collection does not record one, so the file says 1970-01-01 UTC
and its ``session_description`` says the time is unknown. Extra ``[nwb]`` (neuroconv, pynwb, spikeinterface).
"""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path

from ..extras import require

__all__ = ["write_nwb"]

UNKNOWN_START = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _metadata(src, meta: dict) -> dict:
    what = src.metadata.get("description") or src.metadata.get("label") or meta["id"]
    return {"NWBFile": {
        "session_description": (f"{meta['id']} ({what}), frames {meta['start_frame']}–"
                                f"{meta['start_frame'] + meta['num_frames']} of {meta['source_uri']}; exported "
                                "by intake_npx2020; the session start time is not known (1970-01-01 stands in)"),
        "identifier": str(uuid.uuid4()), "session_start_time": UNKNOWN_START,
        "experiment_description": "neuropixels-data-sep-2020 (https://github.com/flatironinstitute/"
                                  "neuropixels-data-sep-2020)",
        "lab": src.metadata.get("lab") or "unknown"}}


def write_nwb(src, x, out: Path, meta: dict, progress=None) -> Path:
    """Write the window ``x`` of the catalog entry ``src`` to ``out / "recording.nwb"``; return that path."""
    tools = require("neuroconv.tools.spikeinterface", "nwb", "NWB export")
    require("pynwb", "nwb", "NWB export")
    f0, n = meta["start_frame"], meta["num_frames"]
    rec = src.to_spikeinterface().select_channels(list(x["channel"].values)).frame_slice(f0, f0 + n)
    if rec.get_time_info()["t_start"] in (None, 0.0) and f0:
        rec.shift_times(f0 / meta["sampling_frequency"])
    rec.set_property("location", rec.get_channel_locations())   # neuroconv's rel_x / rel_y
    path = out / "recording.nwb"
    tools.write_recording_to_nwbfile(rec, nwbfile_path=path, metadata=_metadata(src, meta), overwrite=True,
                                     verbose=bool(progress))
    return path
