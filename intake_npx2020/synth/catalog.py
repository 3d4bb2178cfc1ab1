"""A synthetic recording as catalog entries: its files added to a store, and an intake v1 YAML catalog."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..sources.catalog import store_beside, write_catalog_file
from .probe import UV_PER_BIT
from .result import SynthResult

__all__ = ["write_catalog"]


def write_catalog(result: SynthResult, store_dir: str | Path, catalog_path: str | Path, name: str,
                  chunk_seconds: float = 1.0, metadata: dict | None = None) -> dict:
    """Add the recording and its ground truth to a store and write an intake v1 YAML catalog.

    Parameters
    ----------
    result : SynthResult
    store_dir : path-like
        Store root receiving the files; the entries read it relative to the catalog file (``read_roots``).
    catalog_path : path-like
        YAML file to write (an existing file is replaced).
    name : str
        Recording id; entries are ``name``, ``name:ground_truth`` and ``name:drift``.
    chunk_seconds : float
        ``chunk_seconds`` argument of the recording entry.
    metadata : dict, optional
        Extra metadata for the recording entry.

    Returns
    -------
    dict
        The catalog as written.
    """
    uri = _add_files(result, store_dir)
    sources = _sources(result, name, uri, chunk_seconds, metadata)
    for entry in sources.values():  # readable with no environment set, wherever the directory goes
        entry["args"]["storage_options"] = store_beside(store_dir, catalog_path)
    return write_catalog_file(catalog_path, sources,
                              {"description": "synthetic Neuropixels recordings (intake_npx2020.synth)"},
                              header=f"{name}: synthetic recording, ground truth and drift; bytes in "
                                     f"{Path(store_dir).name}/ beside this file")


def _add_files(result: SynthResult, store_dir: str | Path) -> dict[str, str]:
    """Add the raw file and the ground-truth arrays to the store at ``store_dir``; their URIs by role."""
    from ..store.engine import get_store

    store = get_store({"store": str(store_dir)})

    def add(path: Path) -> str:
        try:  # same filesystem: no copy of a multi-GB file
            return store.add_file(path, link="hard").uri
        except OSError:
            return store.add_file(path).uri

    return {k: add(p) for k, p in [("raw", result.raw_path), ("times", result.times_path),
                                   ("labels", result.labels_path), ("timestamps", result.timestamps_path),
                                   ("positions", result.positions_path)]}


def _sources(result: SynthResult, name: str, uri: dict[str, str], chunk_seconds: float,
             metadata: dict | None) -> dict:
    """The three entries: the recording, its ground-truth sorting and its imposed drift."""
    meta = {"kind": "recording", "synthetic": True, "probe": result.probe,
            "drift": bool(np.any(result.positions != 0)), "drift_protocol": result.drift, "seed": result.seed,
            "num_units": int(result.units["unit_id"].size), "duration_s": result.duration,
            "sampling_frequency": result.sampling_frequency, "gain_to_uV": UV_PER_BIT, **(metadata or {})}
    return {
        name: {"driver": "npx_recording",
               "args": {"recording": result.bin1_object(uri["raw"]), "chunk_seconds": chunk_seconds},
               "metadata": meta},
        f"{name}:ground_truth": {"driver": "npx_sorting",
                                 "args": {"sorting": result.npy1_object(uri["times"], uri["labels"])},
                                 "metadata": {"kind": "sorting", "recording_id": name, "ground_truth": True}},
        f"{name}:drift": {"driver": "npx_drift",
                          "args": {"timestamps": uri["timestamps"], "positions": uri["positions"]},
                          "metadata": {"kind": "drift", "recording_id": name,
                                       "units": "um", "sign": "+y displacement of units"}}}
