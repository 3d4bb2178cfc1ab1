"""The two NP2.0 recordings with imposed drift and their ground truth (``npx_drift``) entries (§4, §5, §7, §8)."""

from __future__ import annotations

from dataclasses import dataclass

from intake_npx2020.formats.builders import bin1_object

from .entries import recording_entry
from .origins import drift_dataset1_sources
from .provenance import Provenance, uri_hash
from .spikeglx import MetaFacts, read_meta


@dataclass(frozen=True)
class DriftSession:
    """Inputs of one imposed-drift NP2.0 session (§4, §7, §8)."""

    name: str  # dataset1 / dataset2
    raw: str
    num_frames: int
    size_bytes: int
    source: str
    meta_uri: str
    timestamps_uri: str
    positions_uri: str
    known_prefix: dict | None = None  # first values quoted in the upstream doc (dataset1 only)
    extra_uncertain: tuple[str, ...] = ()

    @property
    def recording_id(self) -> str:
        """The collection's recording ID."""
        return f"cortexlab-drift-{self.name}"


META_SOURCE = ("the SpikeGLX meta of dataset1's NP2 probe (probeinterface tests/data/spikeglx/"
               "p2_g0_t0.imec0.ap.meta, read with probeinterface.read_spikeglx)")
DRIFT_RECORDING_UNCERTAIN = [
    "channel_ids/channel_map: the 384 AP channels in saved order with the identity map (the meta saves 0:384, "
    "bank 0, then the sync channel); upstream took chanMap0ind from NP2_kilosortChanMap.mat (not available "
    "offline), which might leave some channels out",
    "channel_positions: x is measured from the shank's left edge (27 and 59 um), as the catalog's NP1.0 positions "
    "are; the upstream NP2_kilosortChanMap.mat may put the origin elsewhere (the relative geometry is the same)",
]
DATASET2_UNCERTAIN = [
    "geometry, gain_to_uV, samplerate and raw_num_channels are those of dataset1's meta: dataset2 uses the same "
    "probe type (PRB2_1_2_0640_0) by every account, but its own meta is not public",
    "geometry: upstream reuses dataset1's NP2_kilosortChanMap.mat ('assuming same as dataset1')",
]


DRIFT_CHANMAP_MAT = "sha1://4693f77e3883861f28dc2a634f0e1e5776bc7167/dataset1/NP2_kilosortChanMap.mat"
DRIFT_POSITIONS_URI = "sha1://9d4e8e9265573707cd1890eefa50fda6a8bd8ae5/manip.positions.npy"
DRIFT_SESSIONS = [
    DriftSession(
        name="dataset1",
        raw="sha1://294a665f4e4de1c7377a47182941d22da45d6ff7/steinmetz_dataset1.p2_g0_t0.imec0.ap.bin"
        "?manifest=dc01ff169e44b538e3c009b10783b43f57c068e6",
        num_frames=58708634,
        size_bytes=45205648180,
        source="steinmetz_dataset1.p2_g0_t0.imec0.ap.bin (SpikeGLX)",
        meta_uri="sha1://6cd209edd2221d8814f12ad883220482a5bde3ff/dataset1/p2_g0_t0.imec0.ap.meta",
        timestamps_uri="sha1://1117aac1f15e441fc82854a736e52e4b87e6d90c/dataset1/manip.timestamps_p2.npy",
        positions_uri=DRIFT_POSITIONS_URI,
        known_prefix={"timestamps": [0.0, 580.1500031], "positions": [0.0, 0.0, 50.0, 0.0, 50.0]},
    ),
    DriftSession(
        name="dataset2",
        raw="sha1://840a6e81e9c7e6e0f9aedc8a17ce32fb22fe3eb3/steinmetz_dataset2.p2_g1_t0.imec0.ap.bin"
        "?manifest=e73b452d6e09b6495024b85835b21a7a72dd6a5a",
        num_frames=80649144,
        size_bytes=62099840880,
        source="steinmetz_dataset2.p2_g1_t0.imec0.ap.bin (SpikeGLX)",
        meta_uri="sha1://b7d175b3ddbe73d802244b209be58230a965f394/p2_g1_t0.imec0.ap.meta",
        timestamps_uri="sha1://b03ea67a69cbbcba214582cf6de1154bcf6b1f92/manip.timestamps.npy",
        positions_uri=DRIFT_POSITIONS_URI,
        extra_uncertain=tuple(DATASET2_UNCERTAIN),
    ),
]
DRIFT_PROTOCOL = (
    "after ~10 min of recording a Sensapex manipulator moves the probe 10 steps forward and 10 alternating steps "
    "back, each at 1 um/s for 50 s (triangle wave: period 100 s, amplitude 50 um, 1000 s in all), then ~10 more "
    "minutes are recorded; a sync signal marks the start and end of the motion"
)


def check_meta(s: DriftSession, facts: MetaFacts) -> None:
    """Assert that dataset1's meta describes the catalog's raw file (SpikeGLX's own sha1 and size of it)."""
    if facts.file_sha1 != uri_hash(s.raw) or facts.file_size != s.size_bytes:
        raise AssertionError(f"{s.recording_id}: meta fileSHA1/fileSizeBytes {facts.file_sha1}/{facts.file_size} "
                             f"do not match the raw URI {s.raw} of {s.size_bytes} bytes")
    if facts.saved_channels != 385 or facts.file_size != s.num_frames * 2 * facts.saved_channels:
        raise AssertionError(f"{s.recording_id}: meta nSavedChans {facts.saved_channels} does not give num_frames")


def _drift_recording(s: DriftSession, facts: MetaFacts) -> tuple[str, dict]:
    """The ``bin1`` recording entry of one session: rate, channels, geometry and gain from dataset1's meta."""
    rec_id = s.recording_id
    if s.name == "dataset1":
        check_meta(s, facts)
    obj = bin1_object(s.raw, facts.saved_channels, s.num_frames, list(range(384)), facts.positions,
                      int(facts.sampling_frequency))
    return recording_entry(
        rec_id,
        label=rec_id,
        description=f"Neuropixels 2 recording with imposed drift ({s.name}).",
        obj=obj,
        prov=Provenance("reconstructed"),
        lab="cortexlab",
        contributor="N. Steinmetz (cortexlab)",
        probe="NP2",
        probe_detail=f"{facts.probe_description} ({facts.probe_part_number}), bank 0; the NP1.0 stream of the "
                     "same session is not in the collection",
        source=s.source,
        drift=True,
        gain_to_uV=facts.gain_to_uV,
        recorded_size_bytes=s.size_bytes,
        uncertain=[*DRIFT_RECORDING_UNCERTAIN, *s.extra_uncertain],
        extra={
            "facts_from": META_SOURCE + ("" if s.name == "dataset1" else " (dataset1's, assumed for dataset2)"),
            "drift_ground_truth": f"{rec_id}:drift",
            "aux": {"chanmap_mat": DRIFT_CHANMAP_MAT, "meta": s.meta_uri},
            **({"sources": drift_dataset1_sources(s.size_bytes)} if s.name == "dataset1" else {}),
        },
    )


def drift_recordings() -> list[tuple[str, dict]]:
    """The two NP2.0 recordings with imposed drift (reconstructed objects, §4, §5)."""
    facts = read_meta()
    return [_drift_recording(s, facts) for s in DRIFT_SESSIONS]


def _ground_truth(s: DriftSession) -> tuple[str, dict]:
    """The ``npx_drift`` entry of one session: manipulator timestamps and positions (§8)."""
    rec_id = s.recording_id
    uncertain = [
        "timestamps: probably seconds from recording start on the NP2 clock",
        "positions: probably manipulator displacement in um",
        "values beyond the first few are unknown offline",
    ]
    if s.name == "dataset2":
        uncertain += [
            "timestamps: unconfirmed (the upstream doc comments this URI out as 'In progress')",
            "positions: dataset2 is given the same positions file as dataset1",
        ]
    metadata = {
        "kind": "drift",
        "label": f"{rec_id} imposed drift",
        "recording_id": rec_id,
        "num_points": 22,
        "time_unit": "s",
        "position_unit": "um",
        "known_prefix": s.known_prefix,
        "load_note": "arrays are .npy; squeeze() gives shape (22,)",
        "protocol": DRIFT_PROTOCOL,
        "object_status": "source" if s.name == "dataset1" else "unconfirmed",
        "uncertain": uncertain,
    }
    return f"{rec_id}:drift", {
        "description": f"Imposed probe motion (manipulator timestamps and positions) for {rec_id}",
        "driver": "npx_drift",
        "args": {"timestamps": s.timestamps_uri, "positions": s.positions_uri},
        "metadata": metadata,
    }


def drift_entries() -> list[tuple[str, dict]]:
    """The two imposed-drift ground-truth entries (``npx_drift``)."""
    return [_ground_truth(s) for s in DRIFT_SESSIONS]
