"""Write a hybrid into a catalog: the hybrid entry, its ``:ground_truth`` sorting and, if it moves, its ``:drift``."""

from __future__ import annotations

from pathlib import Path


from ..errors import CatalogError
from ..sources.catalog import open_catalog, store_beside, write_catalog_file
from ..store.engine import get_store
from .draw import draw_injection
from .params import ROUNDING_RULE, HybridParams
from .storage import save_injection

__all__ = ["write_hybrid", "hybrid_entries"]


def _motion(cat, parent_id: str, motion):
    """``motion`` resolved: ``"parent"`` is the parent's ``:drift`` entry if it has one that moves; an entry ID is
    read."""
    if isinstance(motion, str):
        if motion == "none":
            return None, None
        entry = f"{parent_id}:drift" if motion == "parent" else motion
        if entry not in cat:
            if motion == "parent":
                return None, None
            raise CatalogError(f"no drift entry {entry!r} in the catalog")
        table = cat[entry].read()
        if motion == "parent" and not table["position"].any():   # a drift entry of zeros: nothing moves
            return None, None
        return table, entry
    return motion, None


def _raw_catalog(path: Path) -> tuple[dict, str]:
    """The catalog file as a dict (JSON or YAML body) and its leading comment lines."""
    import yaml

    text = path.read_text(encoding="utf-8")
    header = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#")
                       for line in text.splitlines() if line.startswith("#"))
    return yaml.safe_load(text) or {}, header


def _options(parent_entry: dict, store_dir: Path, catalog_path: Path) -> dict:
    """The parent entry's storage options, with the store beside the catalog added as a read root."""
    opts = dict((parent_entry.get("args") or {}).get("storage_options") or {})
    roots = list(opts.get("read_roots") or [])
    for root in store_beside(store_dir, catalog_path)["read_roots"]:
        if root not in roots:
            roots.append(root)
    return {**opts, "read_roots": roots}


def hybrid_entries(hybrid_id: str, parent_id: str, injection_obj: dict, parent_meta: dict, options: dict,
                   drift_from: str | None) -> dict:
    """The catalog entries of a hybrid: ``hybrid_id``, ``<hybrid_id>:ground_truth`` and, with motion, ``:drift``."""
    info = injection_obj["info"]
    keep = {k: parent_meta[k] for k in ("lab", "probe", "region", "duration_s", "num_channels", "sampling_frequency",
                                        "gain_to_uV") if k in parent_meta}
    moving = injection_obj["motion"] is not None
    entries = {hybrid_id: {
        "driver": "npx_hybrid", "description": f"{parent_id} with {len(info['rates_hz'])} injected units "
                                               f"({info['templates']} templates, seed {info['seed']})",
        "args": {"parent": parent_id, "injection": injection_obj, "storage_options": options},
        "metadata": {"kind": "recording", "hybrid": True, "parent_id": parent_id, **keep, "drift": moving,
                     "seed": info["seed"], "injected_units": len(info["rates_hz"]), "rounding": ROUNDING_RULE,
                     "ground_truth": f"{hybrid_id}:ground_truth", "motion_from": drift_from}},
        f"{hybrid_id}:ground_truth": {
            "driver": "npx_sorting", "description": f"the units injected into {hybrid_id}",
            "args": {"sorting": injection_obj["spikes"], "storage_options": options},
            "metadata": {"kind": "sorting", "recording_id": hybrid_id, "ground_truth": True, "sorter": "injected",
                         "unit_count": len(info["rates_hz"])}}}
    if moving:
        entries[f"{hybrid_id}:drift"] = {
            "driver": "npx_drift", "description": f"displacement of the units injected into {hybrid_id}",
            "args": {**injection_obj["motion"], "storage_options": options},
            "metadata": {"kind": "drift", "recording_id": hybrid_id, "units": "um",
                         "sign": "+y displacement of units", "from": drift_from}}
    return entries


def write_hybrid(catalog_path, parent_id: str, hybrid_id: str, params: HybridParams | None = None,
                 motion="parent", sorting: str | None = None, store_dir=None, overwrite: bool = False) -> dict:
    """Add a hybrid of ``parent_id`` to a catalog file, in one call.

    Parameters
    ----------
    catalog_path : path-like
        An intake v1 catalog (rewritten with a JSON body, which is YAML; its leading comments kept).
    parent_id : str
        A recording entry of that catalog (``npx_recording`` or another ``npx_hybrid``).
    hybrid_id : str
        ID of the new entry; ``<hybrid_id>:ground_truth`` (the injected spikes, ``npx_sorting`` over ``npy1``
        arrays) and, when the units move, ``<hybrid_id>:drift`` are written too.
    params : HybridParams, optional
    motion : {"parent", "none"} or str or DataFrame or (timestamps, positions)
        What the injected units move with: ``"parent"`` the parent's ``:drift`` entry when it has one; a drift
        entry's ID; a table (``time`` + ``position``/``displacement``, e.g. a motion estimate) or knots.
    sorting : str, optional
        A sorting entry of the same recording whose units give the templates (``params.templates="sorting"``).
    store_dir : path-like, optional
        Where the injection's arrays go (default: ``store/`` beside the catalog); entries read it relative to
        the catalog file.
    overwrite : bool
        Replace entries of the same IDs.

    Returns
    -------
    dict
        The entries written, by ID.
    """
    path = Path(catalog_path)
    cat = open_catalog(path)
    if parent_id not in cat:
        raise CatalogError(f"catalog {str(path)!r} has no entry {parent_id!r}")
    raw, header = _raw_catalog(path)
    sources = raw.get("sources") or {}
    if hybrid_id in sources and not overwrite:
        raise CatalogError(f"catalog {str(path)!r} already has an entry {hybrid_id!r} (overwrite=True replaces it)")
    params = params or HybridParams()
    table, drift_from = _motion(cat, parent_id, motion)
    spikes = cat[sorting].read() if sorting else None
    if params.templates == "sorting" and spikes is None:
        raise CatalogError("templates='sorting' needs sorting=<a sorting entry of the parent recording>")
    injection = draw_injection(cat[parent_id].to_dask(), params, table, spikes)
    store_dir = Path(store_dir) if store_dir else path.resolve().parent / "store"
    obj = save_injection(injection, get_store({"store": str(store_dir)}))
    if sorting:
        obj["info"]["template_sorting"] = sorting
    entries = hybrid_entries(hybrid_id, parent_id, obj, dict(sources[parent_id].get("metadata") or {}),
                             _options(sources[parent_id], store_dir, path), drift_from)
    for key in [k for k in sources if k == hybrid_id or k.startswith(f"{hybrid_id}:")]:
        del sources[key]
    sources.update(entries)
    meta = {k: v for k, v in (raw.get("metadata") or {}).items() if k != "version"}
    write_catalog_file(path, sources, meta, header=header)
    return entries
