"""The 2020 package's entry points, ``load_recording`` / ``load_sorting``, over a catalog."""

from __future__ import annotations

from ..compat.seed import Recording, Sorting
from .catalog import find_entry, open_catalog

__all__ = ["load_recording", "load_sorting"]


def load_recording(id_or_label: str, download: bool = False, catalog=None, progress: bool | None = None) -> Recording:
    """A recording by its 2020 ID or label, e.g. ``"cortexlab-single-phase-3 (ch 0-7, 10 sec)"``.

    Parameters
    ----------
    id_or_label : str
    download : bool
        Fetch the whole raw file into the store first (with a progress bar); otherwise lazy.
    catalog : intake catalog, optional
        Default: the 2020 collection.
    progress : bool, optional
        Show a progress bar while downloading (default: when on a terminal).
    """
    cat = open_catalog() if catalog is None else catalog
    src = cat[find_entry(cat, id_or_label, "recording")]
    if download:
        src.store.fetch(src.spec.raw, progress=progress)
    return src.to_recording()


def load_sorting(id_or_label: str, catalog=None) -> Sorting:
    """A sorting by its 2020 ID or label, e.g. ``"cortexlab-single-phase-3:curated"``."""
    cat = open_catalog() if catalog is None else catalog
    return cat[find_entry(cat, id_or_label, "sorting")].to_sorting()
