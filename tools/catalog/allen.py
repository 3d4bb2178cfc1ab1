"""The Allen Institute recordings (two full, two 10-s extracts) and their curated sortings (§2, §4.2, §6.2)."""

from __future__ import annotations

from dataclasses import dataclass

from intake_npx2020.formats.builders import bin1_object, npy1_object

from .entries import historic_h5_meta, recording_entry, sorting_entry
from .geometry import np1_position
from .notes import OPEN_EPHYS_GAIN_TO_UV, TRANSPOSE_NOTE
from .origins import allen_sources
from .provenance import Provenance, check_hash

ALLEN_UNCERTAIN_COMMON = [
    "samplerate: 30000 is labelled a guess upstream",
    "gain_to_uV: 0.195 uV/bit is the Open Ephys int16 scaling of NP1 data (int16 values are multiples of 12, "
    "2.34375 / 12 = 0.1953); not stored upstream",
]
ALLEN_COMMON = dict(
    lab="allen",
    contributor="J. Siegle (Allen Institute)",
    probe="NP1",
    probe_detail="NP1.0-pattern geometry; Open Ephys continuous.dat (probe version not recorded)",
    gain_to_uV=OPEN_EPHYS_GAIN_TO_UV,
)
ALL384 = list(range(384))
EXTRACT_PARENT = "allen_mouse419112_probeE"


@dataclass(frozen=True)
class AllenSession:
    """One full Allen recording (§4.2, §2)."""

    mouse: str
    raw: str
    previous_raw: str
    computed_sha1: str
    historic_sha1: str  # object with previous_raw, a verified upstream recordingPath

    @property
    def recording_id(self) -> str:
        """The collection's recording ID."""
        return f"allen_mouse{self.mouse}_probeE"


ALLEN_SESSIONS = [
    AllenSession(
        mouse="419112",
        raw="sha1://39ae3fcccd3803170dd97fc9a8799e7169214419/allen_mouse419112_probeE.dat"
        "?manifest=f021b78c2fac87af872d6e6cf3f7505194395692",
        previous_raw="sha1://39ae3fcccd3803170dd97fc9a8799e7169214419/continuous.dat"
        "?manifest=31942d7d97ff3a46fa1dbca72d8dc048bd65d5ce",
        computed_sha1="b9e372c912d9ad8840da4e1f1928dda3a0dbffb6",
        historic_sha1="cbb77e0b79223ce5117bd36d7a7ea98ca0cd6454",
    ),
    AllenSession(
        mouse="415148",
        raw="sha1://c5acd91cfde60bc8ba619f5b03245fe6c034f682/allen_mouse415148_probeE.dat"
        "?manifest=8c99b1ffd502dc5281fc569e652d45b787df5ebc",
        previous_raw="sha1://c5acd91cfde60bc8ba619f5b03245fe6c034f682/continuous.dat"
        "?manifest=8c99b1ffd502dc5281fc569e652d45b787df5ebc",
        computed_sha1="c85a38526c4bb6f5d6df8fa74590f9fe1c45fb68",
        historic_sha1="35f51666b5e91552f40eff56c3f1c9bf7258b062",
    ),
]


@dataclass(frozen=True)
class AllenExtract:
    """One 10-s extract of ``allen_mouse419112_probeE`` (verified, §4.2)."""

    suffix: str  # appended to the parent ID
    label_detail: str
    description: str
    raw: str
    num_channels: int
    sha1: str
    basename_suffix: str  # appended to the parent ID in the recordingPath basename
    channels: list[int] | str


ALLEN_EXTRACTS = [
    AllenExtract(
        "-ch0-7.10sec", "ch 0-7, 10 sec", "Subset of channels and first 10 seconds of",
        "sha1://b65c9fd24d21c2d16c206046853eb08cd3fde991/raw.bin?manifest=85a75aa2261e0f0ff79d7aea59a8fe3c4a47c131",
        8, "e3f764b72eafa0704cb4fef23d101e10e5404043", "-ch0-7-10sec.json", list(range(8)),
    ),
    AllenExtract(
        "-10sec", "10 sec", "First 10 seconds of",
        "sha1://caae5fe47b4a5653646acb1bd0eb3254c3be5347/raw.bin?manifest=cddf9305089b92889237fc5678a0cdccaa47ca34",
        384, "ac7415d7c8a15d8b99a9ee19504fcdaeaece722a", "-10sec.json", "all 384 channels",
    ),
]


def allen_full_object(raw: str) -> dict:
    """The full Allen bin1 object for a raw URI (identity map, NP1 float positions, §5)."""
    return bin1_object(raw, 384, 105000000, ALL384, [np1_position(c) for c in ALL384])


def _full_recording(s: AllenSession) -> tuple[str, dict]:
    """A full recording: computed, and the same object with the previous raw URI is verified."""
    rec_id = s.recording_id
    historic = allen_full_object(s.previous_raw)
    check_hash(f"{rec_id} (previous raw URI)", historic, Provenance("verified", s.historic_sha1))
    return recording_entry(
        rec_id,
        label=f"{rec_id} (full)",
        description="A one hour neuropixels recording from Allen Institute",
        obj=allen_full_object(s.raw),
        prov=Provenance(
            "computed",
            s.computed_sha1,
            f"same object with previous_raw hashes to the upstream recordingPath {s.historic_sha1}",
        ),
        source="Open Ephys continuous.dat (Allen Institute)",
        recording_path_basename=f"{rec_id}.json",
        uncertain=[
            *ALLEN_UNCERTAIN_COMMON,
            "num_frames: inferred upstream from the file size and the guessed rate",
            "channel_map: identity is an upstream placeholder ('need the actual geom file'); positions "
            "equal channel_info.csv",
            "recording_path: the final index was never committed; the path is computed",
        ],
        extra={
            "previous_raw": s.previous_raw,
            "historic_recording_path": f"sha1://{s.historic_sha1}/{rec_id}.json",
            "aux": {"channel_info_csv": "sha1://349d7f018f4f09da5c230a9d46e07c2aeffbc1e2/channel_info.csv"},
            "sources": allen_sources(s.mouse, 105000000 * 2 * 384),
        },
        **ALLEN_COMMON,
    )


def _extract_recording(e: AllenExtract) -> tuple[str, dict]:
    """A 10-s extract of ``allen_mouse419112_probeE`` (verified against the 2020-08-24 ``recordingPath``)."""
    n = e.num_channels
    obj = bin1_object(e.raw, n, 300000, list(range(n)), [np1_position(c, int) for c in range(n)])
    return recording_entry(
        f"{EXTRACT_PARENT}{e.suffix}",
        label=f"{EXTRACT_PARENT} ({e.label_detail})",
        description=f"{e.description} {EXTRACT_PARENT}",
        obj=obj,
        prov=Provenance("verified", e.sha1, "recordingPath (2020-08-24 index)"),
        parent=EXTRACT_PARENT,
        recording_path_basename=f"{EXTRACT_PARENT}{e.basename_suffix}",
        uncertain=[*ALLEN_UNCERTAIN_COMMON, TRANSPOSE_NOTE],
        extra={"extract": {"frames": [0, 300000], "channels": e.channels}},
        **ALLEN_COMMON,
    )


def allen_recordings() -> list[tuple[str, dict]]:
    """The two full Allen recordings (computed) and the two 419112 extracts (verified)."""
    return [_full_recording(s) for s in ALLEN_SESSIONS] + [_extract_recording(e) for e in ALLEN_EXTRACTS]


ALLEN_CURATION = (
    "ISI violations < 0.01, amplitude cutoff < 0.01, presence ratio >= 0.99, nearest-neighbours hit rate > 0.96, "
    "SNR > 3.0, then manual inspection (76 units across both Allen recordings)"
)
#: (mouse, npy1 object, computed hash, description suffix, extra metadata) of each curated sorting (§6.2).
ALLEN_SORTINGS = [
    (
        "419112",
        npy1_object(
            "sha1://57029ae68643881f5d4015397be87ba0d4815b52/curated_unit_times.npy"
            "?manifest=80b52bf7cd37ef7fb0d4ba5d1dfa543ffb207ce1",
            "sha1://61762d8f0bdac57db64ceec1636e0009af0f02ef/curated_unit_IDs.npy"
            "?manifest=f716950fadb97a5a154d8762220194af6381e2c1",
        ),
        "e22a1a23388b95c15ac9720a1b06088c825e4512",
        "",
        {
            "unused_unit_channels_npy": "sha1://8b3a98b9d45c1c62eb4402245800e278873bd8e5/curated_unit_channels.npy"
            "?manifest=91e899e3d4649f3ae457f6bf0926211dea8aa8fe",
            **historic_h5_meta(
                "sha1://b857f38c34345d108a8289f4bfd420ff94e3daae/allen_mouse419112_probeE-curated.json",
                "sha1://e244c7ba28d79fd68cc1c8d5bc2748fe3790955a/sorting.h5"
                "?manifest=367d1125131da88b11f3a996e4cc81a1ffd4f321",
            ),
        },
    ),
    (
        "415148",
        npy1_object(
            "sha1://4c717829e3ce6530349a38bd5f72fac216916276/curated_unit_times.npy"
            "?manifest=557d7cf852892b6f333b9355a3ea2293558b2a29",
            "sha1://f55da958a7725edf8bde63eecf1d53edcb9de76d/curated_unit_IDs.npy"
            "?manifest=e028ca15c01ea5f53e2bd341ab001741e7842084",
        ),
        "fcb7a45de2e7ea901f13ad16cecc82a8def46ee5",
        " **Updated 9 Sep 2020**",
        {
            "superseded_labels_npy": "sha1://7f2079292b1ef29264b9152073d09dfa3b4dcbe7/curated_unit_channels.npy"
            "?manifest=2b35e2b83c9af0431b8aa1ab69e1846e21f24668",
            **historic_h5_meta(
                "sha1://7135951997c2d49604a49ee9267a7f7e3e5710be/allen_mouse415148_probeE-curated.json",
                "sha1://8d1725dd47ae32e363dd4d54f978f683876b3bce/sorting.h5"
                "?manifest=23c94835a7b89e1f997d3e2cb85d293c2df90d87",
                note="labels were unit channels, not unit IDs (fixed upstream 2020-09-09)",
            ),
        },
    ),
]


def _curated(mouse: str, obj: dict, sha: str, suffix: str, extra: dict) -> tuple[str, dict]:
    """One curated npy1 sorting (computed hash: the final index was never committed)."""
    rec_id = f"allen_mouse{mouse}_probeE"
    return sorting_entry(
        f"{rec_id}:curated",
        recording_id=rec_id,
        label=f"{rec_id} Curated",
        description=f"Curated spike sorting for {rec_id}{suffix}",
        sorting=obj,
        prov=Provenance("computed", sha, "no upstream reference (final index never committed)"),
        sorter="kilosort2/quality-metric curated",
        curated=True,
        contributed=False,
        sorting_format="npy1",
        sorting_path=f"sha1://{sha}/{rec_id}-curated.json",
        uncertain=[
            "sorter: Kilosort2 (the Allen pipeline) is not stated upstream; only the curation criteria are",
            "sorting_path: the final index was never committed; the path is computed",
        ],
        extra={"curation": ALLEN_CURATION, **extra},
    )


def allen_sortings() -> list[tuple[str, dict]]:
    """The two Allen curated npy1 sortings (computed hashes, §6.2)."""
    return [_curated(*spec) for spec in ALLEN_SORTINGS]
