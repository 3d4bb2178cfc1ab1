"""The five Svoboda-lab recordings and their curated sortings, whose URIs were never published (§4, §6.2, §7)."""

from __future__ import annotations

from dataclasses import dataclass

from intake_npx2020.formats.builders import bin1_object

from .collection import UPSTREAM_FILE_URL
from .entries import recording_entry, sorting_entry
from .geometry import PHASE3B_REFERENCE_SITES, np1_position, np2_four_shank_position
from .notes import GAIN_NP1_NOTE, NP1_GAIN_TO_UV
from .provenance import Provenance


@dataclass(frozen=True)
class SvobodaSession:
    """One Svoboda-lab session (§4, §6.2, §7)."""

    name: str  # e.g. SC026_080619_g0_tcat_imec0
    raw: str
    raw_num_channels: int
    num_frames: int
    size_bytes: int
    probe: str  # NP1 or NP2 4-shank
    description: str
    region: str
    hemisphere: str | None
    insertion_depth_mm: float
    single_units: int
    mat_uri: str
    meta_uri: str

    @property
    def recording_id(self) -> str:
        """The collection's recording ID."""
        return f"svoboda-{self.name}"

    @property
    def source_file(self) -> str:
        """The SpikeGLX/CatGT file name encoded in the raw URI."""
        return self.raw.split("/")[3].split("?")[0]


_TASK = "of an awake, head-fixed mouse performing a trial-based behavioural task."
SVOBODA_SESSIONS = [
    SvobodaSession(
        name="SC026_080619_g0_tcat_imec0",
        raw="sha1://f94ac8b42c423e551ad461f57c1cecf6cd5bc9d2/SC026_080619_g0_tcat.imec0.ap.bin"
        "?manifest=c3f82c2d10106b3739fca0ecb298c7330b6df72a",
        raw_num_channels=302,
        num_frames=125876837,
        size_bytes=76029609548,
        probe="NP1",
        description=f"A Phase 3B Neuropixels probe was inserted 2.9 mm into secondary motor cortex {_TASK}",
        region="secondary motor cortex",
        hemisphere=None,
        insertion_depth_mm=2.9,
        single_units=201,
        mat_uri="sha1://bb21a7cc8b9e409cd61ed1fc521937f72797ddad/data.mat?manifest=a736aa493def3770401301b9d2a946fd6fe5aff3",
        meta_uri="sha1://5f19fdf70696cf85b76208e41f08c0ac6b7e1e03/SC026_080619_g0_tcat.imec0.ap.meta",
    ),
    SvobodaSession(
        name="SC022_030319_g0_tcat_imec2",
        raw="sha1://9e7e76e467a28454ad9b76d29cb99d5330fffd5b/SC022_030319_g0_tcat.imec2.ap.bin"
        "?manifest=fc0b2783b88b61a5b84ac7a3dbd7fd9984557805",
        raw_num_channels=385,
        num_frames=145720955,
        size_bytes=112205135350,
        probe="NP1",
        description=f"A Phase 3B Neuropixels probe was inserted 4.5 mm into left hemisphere striatum {_TASK}",
        region="striatum",
        hemisphere="left",
        insertion_depth_mm=4.5,
        single_units=119,
        mat_uri="sha1://a7c467b959a66f072b5aa6ef7c13d9118b26942b/SC022_030319_g0_tcat.imec2.ap.mat"
        "?manifest=0970f173ad47c76212f4f16dd028d0850cda8745",
        meta_uri="sha1://a2bc30784266288cd6bd0b8c861dd182e538ed3c/SC022_030319_g0_tcat.imec2.ap.meta",
    ),
    SvobodaSession(
        name="SC026_080619_g0_tcat_imec2",
        raw="sha1://712b436030d1ab068eaf69c58172fffb261670ae/SC026_080619_g0_tcat.imec2.ap.bin"
        "?manifest=68c5ccc714a430143a435aee277f5c4209161e83",
        raw_num_channels=385,
        num_frames=125876788,
        size_bytes=96925126760,
        probe="NP1",
        description=(
            "A Phase 3B Neuropixels probe was inserted 4.7 mm into the left hemisphere hippocampus&thalamus " + _TASK
        ),
        region="hippocampus&thalamus",
        hemisphere="left",
        insertion_depth_mm=4.7,
        single_units=119,
        mat_uri="sha1://273707a53a5eb401441cd56dafdc3187bd6ae79f/SC026_080619_g0_tcat.imec2.ap.mat"
        "?manifest=dac1ac15f32067879408fa9f693c09891f6a51c1",
        meta_uri="sha1://1d9affa941e8953d61b9b80f4f8175b009384fa5/SC026_080619_g0_tcat.imec2.ap.meta",
    ),
    SvobodaSession(
        name="SC035_011020_g0_tcat_imec0",
        raw="sha1://ec1543ce5b040e5e56901859bf208b6f0afa4bb0/SC035_011020_g0_tcat.imec0.ap.bin"
        "?manifest=5cfb7bc0670ae892b2d84b81c402e0bb543578d0",
        raw_num_channels=385,
        num_frames=110328467,
        size_bytes=84952919590,
        probe="NP2 4-shank",
        description=(
            "A 2.0 4-shank Neuropixels probe was inserted 1 mm into the right hemisphere secondary motor cortex " + _TASK
        ),
        region="secondary motor cortex",
        hemisphere="right",
        insertion_depth_mm=1.0,
        single_units=93,
        mat_uri="sha1://dfb054655a665b5e9ad69c63a187b6da92a75c59/SC035_011020_g0_tcat.imec0.ap.2.mat"
        "?manifest=c25f9a710cdb810b833357d5aa3d64111d18ff2a",
        meta_uri="sha1://d11e93ae6d760a3fb57da1b8d91a86d5caae7a73/SC035_011020_g0_tcat.imec0.ap.meta",
    ),
    SvobodaSession(
        name="SC035_010920_g0_tcat_imec1",
        raw="sha1://cf2c025650d86d70381515fde10d45fcb2672771/SC035_010920_g0_tcat.imec1.ap.bin"
        "?manifest=a22aa64d9972d5901d3a66f0a8f12c406b836ba5",
        raw_num_channels=385,
        num_frames=113662997,
        size_bytes=87520507690,
        probe="NP2 4-shank",
        description=f"A 2.0 4-shank Neuropixels probe was inserted 4.75 mm into the left hemisphere medulla {_TASK}",
        region="medulla",
        hemisphere="left",
        insertion_depth_mm=4.75,
        single_units=70,
        mat_uri="sha1://b4e759aa392a0896314a635dc60ae2ac1ba8fd1c/SC035_010920_g0_tcat.imec1.ap.mat"
        "?manifest=49f19bf45aa6c26329e8fa50843fe41f80bf913b",
        meta_uri="sha1://64300f49706a2d455b7fc0b6f17c2627623ad76f/SC035_010920_g0_tcat.imec1.ap.meta",
    ),
]

SVOBODA_RATE_NOTE = (
    "samplerate: upstream stores SampleRate from the .mat (a MATLAB double, so a JSON float; SpikeGLX rates are "
    "not exactly 30 kHz, e.g. imSampRate=29999.4325 in a related SC035 .meta); 30000.0 is a placeholder"
)
NP2_4SHANK_DETAIL = "NP2.0 4-shank; horizontal stripe at the bottom of bank 0, 96 channels per shank"
NP2_4SHANK_UNCERTAIN = [
    "channel_ids/channel_map/channel_positions: upstream uses siteMap/xcoords/ycoords from the .mat (not "
    "available offline); reconstructed as 384 channels, identity map, 96 consecutive channels per shank",
    "channel_positions: x = 250*shank + 32*(k%2), y = 15*(k//2), k = ch%96 (bank-0 bottom rows); the real "
    "NP2.0 4-shank hardware channel order differs and the .mat may use another x/y origin",
    "gain_to_uV: NP2.0 gain not recorded",
]


def svoboda_geometry(s: SvobodaSession) -> tuple[list[int], list[list[float]], list[str]]:
    """Best-knowledge channel map and positions of a Svoboda session.

    Parameters
    ----------
    s : SvobodaSession
        The session.

    Returns
    -------
    tuple
        ``(channel_map, positions, uncertain)``. NP1.0 (Phase 3B): AP columns ``0..raw-2`` (the last
        column is the sync channel) minus the Phase 3B reference site 191, with NP1 float positions.
        NP2.0 4-shank: 384 channels, identity map, :func:`np2_four_shank_position`.
    """
    if s.probe == "NP2 4-shank":
        cols = list(range(384))
        return cols, [np2_four_shank_position(c) for c in cols], list(NP2_4SHANK_UNCERTAIN)
    ap_columns = s.raw_num_channels - 1
    cols = [c for c in range(ap_columns) if c not in PHASE3B_REFERENCE_SITES]
    uncertain = [
        "channel_ids/channel_map/channel_positions: upstream uses siteMap/xcoords/ycoords from the .mat (not "
        f"available offline); reconstructed as AP columns 0..{ap_columns - 1} minus the Phase 3B reference site "
        "191, with NP1 positions of bank 0",
        GAIN_NP1_NOTE,
    ]
    if s.raw_num_channels != 385:
        uncertain.insert(
            1,
            f"{s.raw_num_channels} saved channels assumed to be AP columns 0..{ap_columns - 1} (bank-0 electrodes) "
            "plus sync; the upstream doc says 299 channels are usable but not which, so this keeps "
            f"{len(cols)}",
        )
    return cols, [np1_position(c) for c in cols], uncertain


def _recording(s: SvobodaSession) -> tuple[str, dict]:
    """The reconstructed ``bin1`` recording entry of one session."""
    channel_map, positions, geometry_uncertain = svoboda_geometry(s)
    obj = bin1_object(s.raw, s.raw_num_channels, s.num_frames, channel_map, positions, samplerate=30000.0)
    np1 = s.probe == "NP1"
    return recording_entry(
        s.recording_id,
        label=s.recording_id,
        description=s.description,
        obj=obj,
        prov=Provenance("reconstructed"),
        lab="svoboda",
        contributor="S. Chen (Svoboda lab)",
        probe=s.probe,
        probe_detail="Phase 3B" if np1 else NP2_4SHANK_DETAIL,
        region=s.region,
        source=f"{s.source_file} (SpikeGLX + CatGT)",
        gain_to_uV=NP1_GAIN_TO_UV if np1 else None,
        recorded_size_bytes=s.size_bytes,
        uncertain=[*geometry_uncertain, SVOBODA_RATE_NOTE],
        extra={
            "hemisphere": s.hemisphere,
            "insertion_depth_mm": s.insertion_depth_mm,
            "aux": {"mat": s.mat_uri, "meta": s.meta_uri},
        },
    )


def svoboda_recordings() -> list[tuple[str, dict]]:
    """The five Svoboda-lab recordings (reconstructed objects)."""
    return [_recording(s) for s in SVOBODA_SESSIONS]


SVOBODA_CURATION = (
    "Kilosort2, then manual curation in JRCLUST: SNR > 6, ISI violation < 0.5 % or < 5 counts, isolation distance "
    "> 100; only units whose JRCLUST notes contain 'single' are kept"
)
_PREPARE_CODE = UPSTREAM_FILE_URL.format(
    path="neuropixels_data_sep_2020/prepare_datasets/prepare_svoboda_datasets.py"
)
#: How to rebuild the unpublished npy1 object from the .mat (datasets.md §7), as the upstream prepare code does.
SVOBODA_UNAVAILABLE = (
    "the npy1 object was built at prepare time from the .mat and its times/labels URIs were never published. "
    "To use it: get the .mat (metadata.mat_uri), keep spikes with spikeClusters > 0 of units whose clusterNotes "
    "(note j belongs to unit j+1) contain 'single', take samplerate = SampleRate[0][0], store times and labels as "
    ".npy (`npx2020 add`) and point args.sorting at an npy1 object; the upstream prepare_recording() does the "
    f"same ({_PREPARE_CODE})"
)


def _curated(s: SvobodaSession) -> tuple[str, dict]:
    """The curated sorting entry of one session: no object (``unavailable``), how to rebuild it instead."""
    sort_id = f"{s.recording_id}:curated"
    curation = SVOBODA_CURATION
    if s.region == "medulla":
        curation += "; for this medulla recording: 1 ms refractory period and amplitude > 100 uV instead"
    return sorting_entry(
        sort_id,
        recording_id=s.recording_id,
        label=sort_id,
        description=f"Curated spike sorting for {s.recording_id}",
        sorting=None,
        prov=Provenance("unavailable"),
        sorter="kilosort2/jrclust curated",
        curated=True,
        contributed=False,
        sorting_format="npy1",
        unit_count=s.single_units,
        uncertain=[
            "dtype: times and labels come straight from the .mat, probably float64 (MATLAB doubles); "
            "cast to int64 after checking they are integral",
        ],
        extra={
            "curation": curation,
            "unavailable": SVOBODA_UNAVAILABLE,
            "mat_uri": s.mat_uri,
            "unit_labels": "ADD_UNIT_LABEL notes exist only in the labbox feed "
            "sha1://964933faf311bbc69efbf0b8c1b541e77f5a3073/feed.json",
        },
    )


def svoboda_sortings() -> list[tuple[str, dict]]:
    """The five Svoboda curated sortings, whose npy URIs were never published (§6.2, §7)."""
    return [_curated(s) for s in SVOBODA_SESSIONS]
