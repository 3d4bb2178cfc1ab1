"""Small recordings and sortings in the formats labs have: SpikeGLX, Open Ephys binary, phy, spikeinterface.

The SpikeGLX ``.meta`` is the real one of cortexlab drift dataset1 (``tests/data``), with the fields that describe
the file (size, sha1, saved channels) rewritten for the small file written beside it. The Open Ephys
``settings.xml`` is a minimal GUI 0.6 one with a Neuropixels 1.0 probe (``NP_PROBE``), which probeinterface reads.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"
META = DATA / "cortexlab-drift-dataset1.p2_g0_t0.imec0.ap.meta"
OE_STREAM = "Neuropix-PXI-100.ProbeA-AP"


def raw_int16(frames: int, channels: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(-2000, 2000, (frames, channels), dtype=np.int16)


def write_spikeglx(folder: Path, frames: int = 3000, saved: list[int] | None = None, seed: int = 0,
                   **override: str) -> tuple[Path, np.ndarray]:
    """``<folder>/run_g0_t0.imec0.ap.bin`` + ``.meta``; ``saved`` AP channels (default all 384) and the sync channel.

    ``override`` sets meta fields after the others are computed (to write a wrong one).
    """
    folder.mkdir(parents=True, exist_ok=True)
    ap = list(range(384)) if saved is None else list(saved)
    raw = raw_int16(frames, len(ap) + 1, seed)
    bin_path = folder / "run_g0_t0.imec0.ap.bin"
    bin_path.write_bytes(raw.tobytes())
    subset = "0:384" if saved is None else ",".join(map(str, ap + [384]))
    fields = {"fileSizeBytes": str(raw.nbytes), "fileSHA1": hashlib.sha1(raw.tobytes()).hexdigest().upper(),
              "fileTimeSecs": repr(frames / 30000), "nSavedChans": str(len(ap) + 1),
              "snsApLfSy": f"{len(ap)},0,1", "snsSaveChanSubset": subset, **override}
    lines = []
    for line in META.read_text().splitlines():
        key = line.split("=", 1)[0].lstrip("~")
        lines.append(f"{line.split('=', 1)[0]}={fields[key]}" if key in fields else line)
    bin_path.with_suffix(".meta").write_text("\n".join(lines) + "\n")
    return bin_path, raw


def _settings_xml(n: int = 384) -> str:
    from probeinterface.neuropixels_tools import build_neuropixels_probe

    pos = build_neuropixels_probe(probe_part_number="PRB_1_4_0480_1").contact_positions[:n]
    attrs = [" ".join(f'CH{i}="{v}"' for i, v in enumerate(col)) for col in
             (["0"] * n, [f"{x:g}" for x in pos[:, 0]], [f"{y:g}" for y in pos[:, 1]])]
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<SETTINGS>
  <INFO><VERSION>0.6.4</VERSION><PLUGIN_API_VERSION>8</PLUGIN_API_VERSION><DATE>1 Mar 2023 10:00:00</DATE></INFO>
  <SIGNALCHAIN>
    <PROCESSOR name="Neuropix-PXI" pluginName="Neuropix-PXI" libraryName="Neuropix-PXI" libraryVersion="0.4.1"
               processorType="2" nodeId="100">
      <STREAM name="ProbeA-AP" sample_rate="30000.0" channel_count="{n}"/>
      <STREAM name="ProbeA-LFP" sample_rate="2500.0" channel_count="{n}"/>
      <EDITOR displayName="Neuropix-PXI">
        <NP_PROBE slot="2" port="1" dock="1" probe_serial_number="18005107562" probe_part_number="PRB_1_4_0480_1"
                  probe_name="Neuropixels 1.0" isEnabled="1">
          <CHANNELS {attrs[0]}/>
          <ELECTRODE_XPOS {attrs[1]}/>
          <ELECTRODE_YPOS {attrs[2]}/>
        </NP_PROBE>
      </EDITOR>
    </PROCESSOR>
    <PROCESSOR name="Record Node" pluginName="Record Node" processorType="8" nodeId="101"/>
  </SIGNALCHAIN>
</SETTINGS>
"""


def write_openephys(session: Path, frames: int = 3000, seed: int = 1, num_channels: int = 384,
                    settings: bool = True) -> tuple[Path, np.ndarray]:
    """An Open Ephys 0.6 binary recording of one Neuropixels AP stream; returns (recording folder, raw)."""
    node = session / "Record Node 101"
    rec = node / "experiment1" / "recording1"
    stream = rec / "continuous" / OE_STREAM
    stream.mkdir(parents=True, exist_ok=True)
    raw = raw_int16(frames, num_channels, seed)
    (stream / "continuous.dat").write_bytes(raw.tobytes())
    np.save(stream / "sample_numbers.npy", np.arange(1000, 1000 + frames, dtype=np.int64))
    channels = [{"channel_name": f"CH{i + 1}", "bit_volts": 0.1949999928474426, "units": "uV"}
                for i in range(num_channels)]
    oebin = {"GUI version": "0.6.4", "continuous": [
        {"folder_name": OE_STREAM + "/", "sample_rate": 30000.0, "source_processor_name": "Neuropix-PXI",
         "stream_name": "ProbeA-AP", "num_channels": num_channels, "channels": channels}], "events": [], "spikes": []}
    (rec / "structure.oebin").write_text(json.dumps(oebin, indent=2))
    if settings:
        (node / "settings.xml").write_text(_settings_xml())
    return rec, raw


def spikes(num_frames: int, n: int = 400, units: int = 6, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    times = np.sort(rng.integers(0, num_frames, n)).astype(np.uint64)
    return times, rng.integers(0, units, n).astype(np.int32)


def write_phy(folder: Path, num_frames: int, seed: int = 2, sample_rate: float = 30000.0,
              groups: dict[int, str] | None = None) -> tuple[Path, np.ndarray, np.ndarray]:
    """A Kilosort/phy folder: spike_times (uint64 column), spike_clusters (int32), params.py, cluster tables."""
    folder.mkdir(parents=True, exist_ok=True)
    times, labels = spikes(num_frames, seed=seed)
    np.save(folder / "spike_times.npy", times.reshape(-1, 1))
    np.save(folder / "spike_clusters.npy", labels)
    (folder / "params.py").write_text(f"dat_path = 'run_g0_t0.imec0.ap.bin'\nn_channels_dat = 385\n"
                                      f"dtype = 'int16'\noffset = 0\nsample_rate = {sample_rate}\n"
                                      "hp_filtered = False\n")
    groups = groups if groups is not None else {0: "good", 1: "mua", 2: "good", 3: "noise", 4: "good", 5: "mua"}
    (folder / "cluster_group.tsv").write_text("cluster_id\tgroup\n" +
                                              "".join(f"{u}\t{g}\n" for u, g in groups.items()))
    (folder / "cluster_KSLabel.tsv").write_text("cluster_id\tKSLabel\n" +
                                                "".join(f"{u}\t{'good' if u % 2 else 'mua'}\n" for u in groups))
    (folder / "cluster_ContamPct.tsv").write_text("cluster_id\tContamPct\n" +
                                                  "".join(f"{u}\t{u * 1.5}\n" for u in groups))
    return folder, times.astype(np.int64), labels.astype(np.int64)
