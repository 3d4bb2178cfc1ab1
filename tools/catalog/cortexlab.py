"""The cortexlab single Phase 3 recording, its two 10-s extracts and its curated sortings (§4, §5, §6)."""

from __future__ import annotations

from intake_npx2020.formats.builders import bin1_object, npy1_object

from .collection import COMMITTED_INDEX_URL
from .entries import historic_h5_meta, recording_entry, sorting_entry
from .geometry import PHASE3A_REFERENCE_SITES, np1_position
from .notes import GAIN_NP1_NOTE, NP1_GAIN_TO_UV, TRANSPOSE_NOTE
from .origins import cortexlab_sources
from .provenance import Provenance

CX_ID = "cortexlab-single-phase-3"
CX_COLS = [c for c in range(384) if c not in PHASE3A_REFERENCE_SITES]  # 374 raw columns
CX_COMMON = dict(
    lab="cortexlab",
    contributor="N. Steinmetz (cortexlab)",
    probe="NP1",
    probe_detail="Phase 3A (inferred from the 10 removed reference sites)",
    gain_to_uV=NP1_GAIN_TO_UV,
)
INDEX_PATH = "recordingPath (2020-08-24 index)"
CX_CURATED = npy1_object(
    "sha1://2d8264241321fda3b6c987412b353232068c3e93/spike_times.npy?manifest=b7f91b25b95252cdeb299b8249a622d49eddabcc",
    "sha1://cd893db02d086b332ee46d56b2373dd0350bf471/spike_clusters.npy?manifest=6efc0362d708fa3a9ae5ce9280898a54e6e5d189",
)
CX_CLUSTER_GROUPS_CSV = "sha1://d7d12256973a2d7f48edefdb4d8bb03f68e59aa5/cluster_groups.csv"


def _full_recording() -> tuple[str, dict]:
    """The full recording (verified against the 2020-08-24 ``recordingPath``)."""
    obj = bin1_object(
        "sha1://1b8592f0240603ae1019379cb47bad6475503aaf/tmp.dat?manifest=d05ca5b6e60e0fa8f2ff6f2f2ed822ff37da49c9",
        385, 113208768, CX_COLS, [np1_position(c) for c in CX_COLS],
    )
    return recording_entry(
        CX_ID,
        label="cortexlab-single-phase-3 (full)",
        description=(
            'A "Phase3" Neuropixels electrode array was inserted into the brain of an awake, '
            "head-fixed mouse for about an hour."
        ),
        obj=obj,
        prov=Provenance("verified", "8b222e25bc4d9c792e4490ca322b5338e0795596", INDEX_PATH),
        source="http://data.cortexlab.net/singlePhase3 (Hopkins_20160722_g0_t0.imec.ap_CAR.bin)",
        recorded_size_bytes=87170751360,
        recording_path_basename="cortexlab-single-phase-3.json",
        uncertain=["probe_detail: Phase 3A is inferred", GAIN_NP1_NOTE],
        extra={
            "preprocessing": "common-average referenced at source (file name ends _CAR); not high-pass filtered",
            "sync_channel": 384,
            "aux": {
                "channel_map_npy": "sha1://b4de65964a758201db09f1e00d70ce40bca3a87e/channel_map.npy",
                "channel_positions_npy": "sha1://434c1bca7fd857bc5a1c9215bd890025d082fe8d/channel_positions.py",
                "source_dir": "sha1dir://d40edb4e52ad5abef2c1689f7b04164fbf65271b.cortexlab-single-phase-3",
            },
            "sources": cortexlab_sources(87170751360),
        },
        **CX_COMMON,
    )


def _ten_seconds() -> tuple[str, dict]:
    """The first 10 s of all 374 mapped channels (verified)."""
    obj = bin1_object(
        "sha1://446c3616d33c21042f2188adaa91e8986ab3ce4f/raw.bin?manifest=ce7824de34b3096f5e7599721e470947275ecf43",
        374, 300000, list(range(374)), [np1_position(c, int) for c in CX_COLS],
    )
    return recording_entry(
        f"{CX_ID}.10sec",
        label="cortexlab-single-phase-3 (10 sec)",
        description="Extracted 10 seconds of data from the beginning of the recording",
        obj=obj,
        prov=Provenance("verified", "4184f3c842745e9e48b4e5aeb0a2019912837e5f", INDEX_PATH),
        parent=CX_ID,
        recording_path_basename="cortexlab-single-phase-3-10sec.json",
        uncertain=[TRANSPOSE_NOTE, GAIN_NP1_NOTE],
        extra={"extract": {"frames": [0, 300000], "channels": "all 374 mapped channels"}},
        **CX_COMMON,
    )


def _eight_channels() -> tuple[str, dict]:
    """Channels 0-7, first 10 s: the correct 8-channel ``recordingObject``, not the buggy path (§9.1)."""
    obj = bin1_object(
        "sha1://bbd7fba0f4187b23bf002cbc3d240c7467e1e6a2/raw.bin?manifest=3578300115fc5f7f7a6268b813590c2cf1172cb4",
        8, 300000, list(range(8)), [np1_position(c, int) for c in CX_COLS[:8]],
    )
    return recording_entry(
        f"{CX_ID}-ch0-7.10sec",
        label="cortexlab-single-phase-3 (ch 0-7, 10 sec)",
        description="Extracted a subset of channels and 10 seconds of data from the beginning of the recording",
        obj=obj,
        prov=Provenance(
            "verified",
            "515932f62e037278617b47ed642237d0abf02e6b",
            "recordingObject of the 2020-08-24 index (its recordingPath is buggy, see upstream_recording_path)",
        ),
        parent=CX_ID,
        uncertain=[TRANSPOSE_NOTE, GAIN_NP1_NOTE],
        extra={
            "extract": {"frames": [0, 300000], "channels": list(range(8))},
            "upstream_recording_path": "sha1://4184f3c842745e9e48b4e5aeb0a2019912837e5f/"
            "cortexlab-single-phase-3-ch0-7-10sec.json",
            "upstream_bug": (
                "the upstream recordingPath points at the 374-channel 10-s object (still in HEAD), so the "
                "original load_recording() returns 374 channels; this entry embeds the correct 8-channel "
                f"recordingObject of the same index entry instead ({COMMITTED_INDEX_URL})"
            ),
        },
        **CX_COMMON,
    )


def cortexlab_recordings() -> list[tuple[str, dict]]:
    """The single Phase 3 recording and its two 10-s extracts (§4, §5: all verified)."""
    return [_full_recording(), _ten_seconds(), _eight_channels()]


CX_SORTING_COMMON = dict(
    recording_id=CX_ID,
    sorter="kilosort/phy curated",
    curated=True,
    contributed=False,
    sorting_format="npy1",
    uncertain=["sorter: Kilosort + phy curation is the source's (2016) practice, not stated in the upstream repo"],
)


def _curated() -> tuple[str, dict]:
    """The curated sorting (verified against the 2020-08-10 ``sortingPath``)."""
    return sorting_entry(
        f"{CX_ID}:curated",
        label="cortexlab-single-phase-3 Curated",
        description=f"Curated spike sorting for {CX_ID}",
        sorting=CX_CURATED,
        prov=Provenance("verified", "b27b023e76354ccc50d6f7a3ce0ac026f3f911ea", "sortingPath (2020-08-10 index)"),
        unit_count=675,
        sorting_path="sha1://b27b023e76354ccc50d6f7a3ce0ac026f3f911ea/cortexlab-single-phase-3-curated.json",
        extra={
            "unit_count_source": "upstream README (675 units; unit_ids[3] == 8 has 6022 spikes)",
            **historic_h5_meta(
                "sha1://49ef67b14be0c19b103735c160d84c95d484483a/cortexlab-single-phase-3-curated.json",
                "sha1://d51ecfb6f590536ffbf031bd9f31ac7c2bd0745a/sorting.h5"
                "?manifest=4783ca193e64d63ec8bc0ad53b769a8446d38096",
            ),
        },
        **CX_SORTING_COMMON,
    )


def _curated_good() -> tuple[str, dict]:
    """The good units of the curated sorting (derived: a unit filter on the verified object)."""
    return sorting_entry(
        f"{CX_ID}:curated_good",
        label="cortexlab-single-phase-3 Curated (good units)",
        description=f"Curated spike sorting for {CX_ID} (good units only)",
        sorting=CX_CURATED,
        prov=Provenance(
            "derived",
            "b27b023e76354ccc50d6f7a3ce0ac026f3f911ea",
            "the embedded object is the verified :curated object; units are filtered by units_csv",
        ),
        extra_args={"units_csv": CX_CLUSTER_GROUPS_CSV, "units_filter": {"group": "good"}},
        extra={
            "note": (
                "upstream re-stored the good units as new npy files (labels float64) whose URIs were never "
                "published; this entry derives the same units from the :curated arrays by keeping clusters "
                "whose `group` is `good` in cluster_groups.csv (tab-separated: cluster_id, group)"
            ),
            **historic_h5_meta(
                "sha1://374a0d19d5afc659670aef4395306e5c0836dc22/cortexlab-single-phase-3-curated.json",
                "sha1://950e42c5c164c1ed5a97df90ecf0d54f4b3c7b1a/sorting.h5"
                "?manifest=5a23fdcdf8f8bd6b4b275e4ab02d6bdc46bb0b8b",
            ),
        },
        **CX_SORTING_COMMON,
    )


def cortexlab_sortings() -> list[tuple[str, dict]]:
    """The cortexlab curated sorting (verified) and its good-units view (derived)."""
    return [_curated(), _curated_good()]
