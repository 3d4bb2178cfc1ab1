"""Where the original raw files can be had today: each entry's ``metadata.sources`` (public homes only).

A source is ``{url, offset, size, note, verified}``: bytes ``[offset, offset + size)`` of ``url`` are believed to
be the catalog's file. ``verified: false`` means nobody has yet hashed those bytes against the catalog's sha1:
``npx2020 fetch`` checks them before admitting anything. Facts and their sources are in each note.
"""

from __future__ import annotations

from intake_npx2020.store.origin import figshare_download_url

FIGSHARE_RECORD = "https://doi.org/10.6084/m9.figshare.14024495"
ALLEN_BUCKET = "https://allen-brain-observatory.s3.us-west-2.amazonaws.com/visual-coding-neuropixels/raw-data"
#: Allen ecephys session and probeE probe ids (mouse -> (session, probe)); sessions from the deepinterpolation
#: example paths (AllenInstitute/deepinterpolation), probe ids from the session's probe list: probeE is the fifth
#: if ids rise in A..F order (to be confirmed against visual-coding-neuropixels/ecephys-cache/probes.csv)
ALLEN_PROBES = {"419112": ("778998620", "792626853"), "415148": ("771160300", "773621948")}


def drift_dataset1_sources(size: int) -> list[dict]:
    """figshare 14024495 'dataset1' (file 26476589), whose p2 meta records the catalog's sha1 (``fileSHA1``)."""
    return [{
        "url": figshare_download_url(26476589),
        "offset": 0,
        "size": size,
        "note": f"figshare {FIGSHARE_RECORD} 'dataset1' (file id 26476589, as used by cwindolf/dartsort's "
                "dredge demo); the SpikeGLX meta of this probe records fileSHA1 = the catalog's sha1. The figshare "
                "file may be an archive of the dataset1 folder (p1/, p2/, manip.*.npy): then the raw file "
                "p2/p2_g0_t0.imec0.ap.bin is inside it and `npx2020 fetch` stops at the first bytes; download it, "
                "unpack it and `npx2020 add` the .bin",
        "verified": False,
    }]


def allen_sources(mouse: str, size: int) -> list[dict]:
    """The anonymous Allen S3 ``spike_band.dat`` of the session and probe (AllenSDK: 'around 80 TB of raw data')."""
    session, probe = ALLEN_PROBES[mouse]
    return [{
        "url": f"{ALLEN_BUCKET}/{session}/{probe}/spike_band.dat",
        "offset": 0,
        "size": size,
        "note": f"Allen Brain Observatory Visual Coding, anonymous S3 (bucket allen-brain-observatory, us-west-2): "
                f"mouse {mouse} = ecephys session {session}, probeE = probe {probe} (inferred from id order). The "
                "catalog's file (105,000,000 frames, 'one hour') may be an excerpt of spike_band.dat at an unknown "
                "offset: a hash test of the 10-s extract (first 230,400,000 bytes, both layouts) settles it",
        "verified": False,
    }]


def cortexlab_sources(size: int) -> list[dict]:
    """The cortexlab page of the single Phase 3 recording (also on UCL's research data repository)."""
    return [{
        "url": "http://data.cortexlab.net/singlePhase3/data/Hopkins_20160722_g0_t0.imec.ap_CAR.bin",
        "offset": 0,
        "size": size,
        "note": "cortexlab singlePhase3 page (listed on the Steinmetz lab page); the file name is the one Kilosort's "
                "rez.mat of this recording names, with the same size. The dataset is also on UCL's research data "
                "repository (https://rdr.ucl.ac.uk/articles/dataset/Recording_with_a_Neuropixels_probe/25232962/1); "
                "whether that holds the 87 GB ap_CAR.bin is not known. Whether the host honours Range is not known",
        "verified": False,
    }]
