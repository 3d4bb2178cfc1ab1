"""Caveats shared by entries of several sources, as written into the catalog (self-contained: no reference files).

Every fact the user needs is stated in the text itself, or cited by public URL.
"""

from __future__ import annotations

from .collection import UPSTREAM_FILE_URL

NP1_GAIN_TO_UV = 2.34375  # NP1.0 AP band, gain 500, 10-bit ADC (libraries.md §3/§4)
OPEN_EPHYS_GAIN_TO_UV = 0.195  # Open Ephys int16 scaling of NP1 data (LSB 12 = 2.34375 / 12)

GAIN_NP1_NOTE = "gain_to_uV: NP1.0 AP gain 500 (2.34375 uV/bit) assumed; no gain is stored upstream"

_SUBRECORDING_CODE = UPSTREAM_FILE_URL.format(
    path="neuropixels_data_sep_2020/prepare_datasets/create_subrecording_object.py"
)
#: datasets.md §9.2: the extracts were written from spikeextractors' (channels, frames) traces.
TRANSPOSE_NOTE = (
    "on-disk layout: 10-s extracts may be channel-major (upstream wrote spikeextractors' (channels, frames) traces "
    "with tofile(), while readers assume (frames, channels) interleaved; the file size is the same either way); "
    f"compare with the parent by byte range before trusting them ({_SUBRECORDING_CODE})"
)
