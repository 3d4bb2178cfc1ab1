"""What the viewer shows, as plain numpy/pandas: the entry table, its filters, geometry, spikes, peaks, drift.

Nothing here imports panel or HoloViews, so it is tested without a browser. Trace windows and their layout
are in :mod:`.traces`. Every data access goes through the window asked for (``isel`` on the lazy array, then
``.values``); the geometry is read from the catalog entry alone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["TABLE_COLUMNS", "ANY", "viewer_table", "filter_table", "entry_storage_options", "open_entry",
           "channel_geometry", "window_peaks", "depth_range", "drift_overlay", "thin", "sorting_tables",
           "unavailable_message", "entry_details"]

#: Columns of the viewer's catalog table (besides the entry id, its index).
TABLE_COLUMNS = ["kind", "label", "lab", "probe", "region", "duration_s", "num_channels", "recording",
                 "has_sorting", "has_drift", "unit_count", "object_status"]

#: Value of a yes/no filter that keeps everything.
ANY = "any"


# ------------------------------------------------------------------------------------------------ table

def viewer_table(cat) -> pd.DataFrame:
    """The catalog table with what the viewer filters on; reads no data bytes.

    Parameters
    ----------
    cat : intake catalog
        A catalog of ``npx_recording`` / ``npx_sorting`` / ``npx_drift`` entries.

    Returns
    -------
    pandas.DataFrame
        :func:`~intake_npx2020.catalog.catalog_table` plus ``recording`` (the recording an entry belongs to),
        ``has_sorting`` (that recording has a sorting entry), ``has_drift`` (it has imposed drift: flagged in
        its metadata or a drift entry exists) and ``text`` (what the search box matches).
    """
    from ...sources.catalog import catalog_table, describe_entry, entry_text

    table = catalog_table(cat)
    kind = table["kind"].astype("string").fillna("")
    rec_id = table["recording_id"].astype("string")
    recording = rec_id.where(kind != "recording", pd.Series(table.index, index=table.index, dtype="string"))
    table["recording"] = recording.fillna("")
    sorted_recs = set(table.loc[kind == "sorting", "recording"])
    drift_recs = set(table.loc[kind == "drift", "recording"])
    drift_recs |= set(table.index[(kind == "recording") & table["drift"].fillna(False).astype(bool)])
    table["has_sorting"] = table["recording"].isin(sorted_recs) & (table["recording"] != "")
    table["has_drift"] = table["recording"].isin(drift_recs) & (table["recording"] != "")
    table["text"] = [entry_text(name, describe_entry(cat, name)) for name in table.index]
    return table


def _yes_no(series: pd.Series, choice: str) -> pd.Series:
    if choice in (None, "", ANY):
        return pd.Series(True, index=series.index)
    want = str(choice).lower() in ("yes", "true", "1")
    return series.fillna(False).astype(bool) == want


def _one_of(series: pd.Series, values) -> pd.Series:
    if not values:
        return pd.Series(True, index=series.index)
    return series.astype("string").isin([str(v) for v in values]).fillna(False).astype(bool)


def filter_table(table: pd.DataFrame, search: str = "", kinds=(), labs=(), probes=(), drift: str = ANY,
                 has_sorting: str = ANY) -> pd.DataFrame:
    """Rows of :func:`viewer_table` that match every filter.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`viewer_table`.
    search : str
        Every word must occur in the entry's id, description or metadata values (as ``cat.search``).
    kinds, labs, probes : sequence of str
        Keep rows whose value is one of these; empty keeps all.
    drift, has_sorting : {"any", "yes", "no"}
        Filter on ``has_drift`` / ``has_sorting``.

    Returns
    -------
    pandas.DataFrame
    """
    keep = pd.Series(True, index=table.index)
    for word in (search or "").lower().split():
        keep &= table["text"].str.contains(word, regex=False)
    keep &= _one_of(table["kind"], kinds) & _one_of(table["lab"], labs) & _one_of(table["probe"], probes)
    keep &= _yes_no(table["has_drift"], drift) & _yes_no(table["has_sorting"], has_sorting)
    return table[keep.to_numpy(bool)]


# ------------------------------------------------------------------------------------------------ entries

def entry_storage_options(catalog_path: str | Path | None, store: str | Path | None = None) -> dict | None:
    """Extra read roots for the viewer: ``store`` if given, and a ``store/`` folder beside the catalog.

    ``npx2020 demo --out DIR`` writes ``DIR/catalog.yaml`` with its bytes in ``DIR/store``, so the viewer
    finds them without ``NPX2020_STORE``. The roots are read-only; the cache stays the usual store.

    Returns
    -------
    dict or None
        ``{"read_roots": [...]}``, or ``None`` when there is nothing to add.
    """
    roots = [Path(store).expanduser().resolve()] if store else []
    if catalog_path:
        beside = Path(catalog_path).expanduser().resolve().parent / "store"
        if (beside / "sha1").is_dir():
            roots.append(beside)
    roots = list(dict.fromkeys(str(r) for r in roots))
    return {"read_roots": roots} if roots else None


def open_entry(cat, name: str, storage_options: dict | None = None):
    """``cat[name]``, with ``storage_options`` merged into the entry's own (read roots appended)."""
    src = cat[name]
    if not storage_options:
        return src
    own = dict(src.storage_options or {})
    merged = {**own, **{k: v for k, v in storage_options.items() if k != "read_roots"}}
    roots = _as_list(own.get("read_roots")) + _as_list(storage_options.get("read_roots"))
    if roots:
        merged["read_roots"] = list(dict.fromkeys(roots))
    return src(storage_options=merged)


def _as_list(value) -> list[str]:
    """Read roots as a list of paths, normalised (``a//store`` and ``a/store`` are one root)."""
    if not value:
        return []
    roots = [v for v in value.split(",") if v] if isinstance(value, str) else [str(v) for v in value]
    return [r if "://" in r else os.path.normpath(r) for r in roots]


def unavailable_message(name: str, err: BaseException) -> str:
    """A user-facing explanation of why an entry cannot be shown (markdown)."""
    from ...errors import ContentNotFound

    text = str(err).strip() or type(err).__name__
    if isinstance(err, (ContentNotFound, FileNotFoundError)):
        head = f"**The bytes of `{name}` are not available here.**"
        how = ("Get them with `npx2020 add FILE` (a copy from the original source), point `NPX2020_STORE` at a "
               "store that has them, or set `NPX2020_MIRRORS` to a mirror.")
        return f"{head} {how}\n\n<small>{type(err).__name__}: {text}</small>"
    return f"**`{name}` cannot be shown:** {type(err).__name__}: {text}"


def channel_geometry(src) -> pd.DataFrame:
    """Channel positions of a recording entry from its catalog object alone (no data bytes are read).

    Parameters
    ----------
    src : RecordingSource
        A catalog entry; its ``recording`` object (embedded in the entry's arguments, or a small JSON
        object read by URI) lists every channel's position.

    Returns
    -------
    pandas.DataFrame
        ``x``, ``y`` (µm) and ``channel`` (id), in the recording's channel order.
    """
    spec = src.spec
    return pd.DataFrame({"x": spec.locations[:, 0], "y": spec.locations[:, 1],
                         "channel": np.asarray(spec.channel_ids)})


# ------------------------------------------------------------------------------------------------ spikes

def thin(frame: pd.DataFrame, max_rows: int | None) -> pd.DataFrame:
    """At most ``max_rows`` evenly spaced rows of ``frame`` (all of it when it is short enough)."""
    if not max_rows or len(frame) <= max_rows:
        return frame
    return frame.iloc[np.linspace(0, len(frame) - 1, max_rows).astype(int)]


def sorting_tables(src, max_spikes: int | None = 5_000_000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Spikes (``time``, ``unit_id``; evenly thinned to ``max_spikes`` for the raster) and units of a sorting.

    Returns
    -------
    spikes : pandas.DataFrame
    units : pandas.DataFrame
        ``unit_id``, ``num_spikes``, ``firing_rate`` (Hz).
    """
    spikes = thin(src.read()[["time", "unit_id"]], max_spikes)
    units = src.units().reset_index()
    return spikes, units


def window_peaks(x, start: float, duration: float, threshold: float = 5.0) -> pd.DataFrame:
    """Detected spike peaks (``time``, ``y``, ``amplitude`` …) in one window of a recording.

    Only the window's frames are read (the noise is estimated within it too).
    """
    from ...analysis import detect_spikes
    from .traces import frames

    f0, f1 = frames(x, start, duration)
    part = x.isel(time=slice(f0, f1))
    seconds = min(5.0, (f1 - f0) / float(x.attrs["sampling_frequency"]))
    return detect_spikes(part, threshold=threshold, noise_seconds=seconds, scheduler="threads")


def depth_range(y: np.ndarray, pad: float = 0.03) -> tuple[float, float]:
    """The span of ``y`` (every peak's depth, µm) widened by ``pad`` of it on each side, for the drift axis."""
    y = np.asarray(y, float)
    y = y[np.isfinite(y)]
    if not y.size:
        return 0.0, 1.0
    lo, hi = float(y.min()), float(y.max())
    margin = max(pad * (hi - lo), 10.0)
    return lo - margin, hi + margin


def drift_overlay(drift: pd.DataFrame, peaks_y: np.ndarray, t0: float, t1: float,
                  levels=(0.25, 0.75)) -> list[pd.DataFrame]:
    """The imposed drift drawn over a peak raster: one ``(time, y)`` curve per depth quantile of the peaks.

    Each curve is ``quantile(peaks_y) + position(t) - position(t0)``, i.e. the motion the imposed drift
    predicts for units at that depth, relative to the start of the window.
    """
    if drift is None or not len(drift) or not len(peaks_y):
        return []
    t = np.linspace(t0, t1, 400)
    ts = np.asarray(drift["time"], float)
    ps = np.asarray(drift["position"], float)
    disp = np.interp(t, ts, ps) - np.interp(t0, ts, ps)
    return [pd.DataFrame({"time": t, "y": float(np.quantile(peaks_y, q)) + disp}) for q in levels]


def entry_details(cat, name: str) -> dict[str, Any]:
    """Description and metadata of an entry (no data bytes), for the detail pane."""
    from ...sources.catalog import describe_entry

    d = describe_entry(cat, name)
    meta = {k: v for k, v in (d.get("metadata") or {}).items() if k != "catalog_dir"}
    return {"id": name, "description": d.get("description") or "", "metadata": meta}
