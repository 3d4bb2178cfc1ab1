"""The whole catalog: every source's entries, cross-linked, under the collection metadata."""

from __future__ import annotations

from .allen import allen_recordings, allen_sortings
from .collection import catalog_metadata
from .contributed import hennig_sortings, spyking_circus_sortings
from .cortexlab import cortexlab_recordings, cortexlab_sortings
from .drift import drift_entries, drift_recordings
from .svoboda import svoboda_recordings, svoboda_sortings


def build_catalog() -> dict:
    """Assemble the whole catalog as a plain Python object.

    Returns
    -------
    dict
        ``{"metadata": ..., "sources": ...}`` with recordings, then sortings, then drift entries,
        each group in upstream order; each recording's ``metadata.sortings`` lists its sortings.

    Raises
    ------
    AssertionError
        If two entries share an ID, or a drift entry names an unknown recording.
    """
    recordings = dict(cortexlab_recordings() + drift_recordings() + allen_recordings() + svoboda_recordings())
    sortings = dict(
        cortexlab_sortings() + allen_sortings() + svoboda_sortings() + spyking_circus_sortings() + hennig_sortings()
    )
    drift = dict(drift_entries())
    for sort_id, entry in sortings.items():
        recordings[entry["metadata"]["recording_id"]]["metadata"]["sortings"].append(sort_id)
    for drift_id, entry in drift.items():
        if entry["metadata"]["recording_id"] not in recordings:
            raise AssertionError(f"{drift_id}: no recording {entry['metadata']['recording_id']}")
    sources = {**recordings, **sortings, **drift}
    if len(sources) != len(recordings) + len(sortings) + len(drift):
        raise AssertionError("duplicate entry IDs")
    return {"metadata": catalog_metadata(len(recordings), len(sortings), len(drift)), "sources": sources}
