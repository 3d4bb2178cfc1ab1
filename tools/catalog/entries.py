"""The layout of one catalog entry: ``npx_recording`` and ``npx_sorting`` entries with their metadata."""

from __future__ import annotations

from collections.abc import Iterable

from intake_npx2020.formats.builders import h5_v1_object

from .provenance import Json, Provenance, check_hash, provenance_fields, uri_hash

CHUNK_SECONDS = 1.0


def _shape_fields(rec_id: str, data: dict, recorded_size_bytes: int | None) -> dict:
    """Duration, channel counts, frames and file size of a ``bin1`` object's data, in catalog order.

    Raises
    ------
    AssertionError
        If an upstream file size is given and differs from ``num_frames * 2 * raw_num_channels``.
    """
    size = data["num_frames"] * 2 * data["raw_num_channels"]
    if recorded_size_bytes is not None and recorded_size_bytes != size:
        raise AssertionError(f"{rec_id}: recorded size {recorded_size_bytes} != num_frames*2*C = {size}")
    return {
        "duration_s": round(data["num_frames"] / data["samplerate"], 4),
        "num_channels": len(data["channel_ids"]),
        "raw_num_channels": data["raw_num_channels"],
        "sampling_frequency": data["samplerate"],
        "num_frames": data["num_frames"],
        "size_bytes": size,
        "size_source": "upstream" if recorded_size_bytes is not None else "computed",
    }


def recording_entry(rec_id: str, *, label: str, description: str, obj: dict, prov: Provenance, lab: str,
                    contributor: str, probe: str, probe_detail: str | None, region: str | None = None,
                    source: str | None = None, parent: str | None = None, drift: bool = False,
                    gain_to_uV: float | None = None, recorded_size_bytes: int | None = None,
                    recording_path_basename: str | None = None, uncertain: Iterable[str] = (),
                    extra: dict | None = None) -> tuple[str, dict]:
    """Build one ``npx_recording`` catalog entry.

    Parameters
    ----------
    rec_id : str
        Original ``recordingId``.
    label, description : str
        Original ``recordingLabel`` and index ``description``.
    obj : dict
        The ``bin1`` object (embedded verbatim as ``args.recording``).
    prov : Provenance
        Provenance of ``obj``; a known hash is asserted here.
    lab, contributor, probe, probe_detail, region, source, parent, drift, gain_to_uV
        Metadata users filter on (see the catalog header and datasets.md §4.3).
    recorded_size_bytes : int, optional
        File size recorded upstream; if given it must equal ``num_frames*2*raw_num_channels``.
    recording_path_basename : str, optional
        Basename of the upstream ``recordingPath``; the path is filled in when the hash is trusted.
    uncertain : iterable of str
        What is guessed.
    extra : dict, optional
        Further metadata appended at the end (kept in the given order).

    Returns
    -------
    tuple of (str, dict)
        The entry name and the entry; ``metadata.sortings`` is filled in by the assembly.
    """
    obj_sha1 = check_hash(rec_id, obj, prov)
    trusted = prov.status in ("verified", "computed")
    path = f"sha1://{obj_sha1}/{recording_path_basename}" if trusted and recording_path_basename else None
    metadata = {
        "kind": "recording", "label": label, "lab": lab, "contributor": contributor, "probe": probe,
        "probe_detail": probe_detail, "region": region, **_shape_fields(rec_id, obj["data"], recorded_size_bytes),
        "dtype": "int16", "drift": drift, "gain_to_uV": gain_to_uV, "parent": parent, "source": source,
        "recording_path": path, **provenance_fields(obj_sha1, prov, uncertain), "sortings": [], **(extra or {}),
    }
    args = {"recording": obj, "chunk_seconds": CHUNK_SECONDS}
    return rec_id, {"description": description, "driver": "npx_recording", "args": args, "metadata": metadata}


def sorting_entry(sort_id: str, *, recording_id: str, label: str, description: str, sorting: Json,
                  prov: Provenance, sorter: str, curated: bool, contributed: bool, sorting_format: str | None,
                  unit_count: int | None = None, sorting_path: str | None = None, uncertain: Iterable[str] = (),
                  extra_args: dict | None = None, extra: dict | None = None) -> tuple[str, dict]:
    """Build one ``npx_sorting`` catalog entry.

    Parameters
    ----------
    sort_id : str
        Original ``sortingId``.
    recording_id : str
        The recording this sorting belongs to.
    label, description : str
        Original ``sortingLabel`` and index ``description``.
    sorting : dict, str or None
        The sorting object, a ``sha1://`` URI of the object, or ``None`` when it was never published.
    prov : Provenance
        Provenance; a known hash of a dict object is asserted here.
    sorter, curated, contributed, sorting_format, unit_count
        Metadata users filter on.
    sorting_path : str, optional
        Upstream ``sortingPath`` where known.
    uncertain : iterable of str
        What is guessed.
    extra_args : dict, optional
        Further driver arguments (e.g. a unit filter).
    extra : dict, optional
        Further metadata appended at the end.

    Returns
    -------
    tuple of (str, dict)
        The entry name and the entry.
    """
    if isinstance(sorting, dict):
        obj_sha1: str | None = check_hash(sort_id, sorting, prov)
    else:
        obj_sha1 = uri_hash(sorting) if isinstance(sorting, str) else None
    metadata = {
        "kind": "sorting", "label": label, "recording_id": recording_id, "sorter": sorter, "curated": curated,
        "contributed": contributed, "format": sorting_format, "unit_count": unit_count,
        "sorting_path": sorting_path, **provenance_fields(obj_sha1, prov, uncertain), **(extra or {}),
    }
    args = {"sorting": sorting, **(extra_args or {})}
    return sort_id, {"description": description, "driver": "npx_sorting", "args": args, "metadata": metadata}


def historic_h5_meta(sorting_path: str, h5_path: str, note: str | None = None) -> dict:
    """Metadata describing a superseded ``h5_v1`` sorting of the 2020-08-24 index (§6.4)."""
    meta: dict = {"historic_sorting_path": sorting_path, "historic_sorting": h5_v1_object(h5_path)}
    if note:
        meta["historic_note"] = note
    return meta
