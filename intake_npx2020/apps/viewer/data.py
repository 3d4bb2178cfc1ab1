"""What the viewer shows, as plain numpy/pandas: the entry table, its filters, trace windows, spikes, drift.

Nothing here imports panel or HoloViews, so it is tested without a browser. Every data access goes through
the window asked for (``isel`` on the lazy array, then ``.values``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["TABLE_COLUMNS", "ANY", "Window", "viewer_table", "filter_table", "entry_storage_options", "open_entry",
           "load_window", "clip_limit", "traces_offsets", "traces_lines", "decimate_minmax", "window_peaks",
           "drift_overlay", "thin", "sorting_tables", "unavailable_message", "entry_details"]

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
    if not value:
        return []
    return [v for v in value.split(",") if v] if isinstance(value, str) else [str(v) for v in value]


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


# ------------------------------------------------------------------------------------------------ traces

@dataclass(frozen=True)
class Window:
    """A block of traces: ``data`` (frames × channels, float32), its times and channels."""

    data: np.ndarray
    time: np.ndarray
    channel: np.ndarray
    x: np.ndarray
    y: np.ndarray
    index: np.ndarray
    sampling_frequency: float

    @property
    def t0(self) -> float:
        return float(self.time[0]) if self.time.size else 0.0

    @property
    def t1(self) -> float:
        return float(self.time[-1]) + 1.0 / self.sampling_frequency if self.time.size else 0.0


def _frames(x, start: float, duration: float) -> tuple[int, int]:
    fs = float(x.attrs["sampling_frequency"])
    n = int(x.sizes["time"])
    f0 = int(np.clip(round(start * fs), 0, max(0, n - 1)))
    f1 = int(np.clip(f0 + max(1, round(duration * fs)), f0 + 1, n))
    return f0, f1


def load_window(x, start: float, duration: float, channel_start: int = 0, num_channels: int | None = None,
                center: bool = True) -> Window:
    """Read one window of a recording, and nothing more.

    Parameters
    ----------
    x : xarray.DataArray
        ``("time", "channel")`` traces, lazy (``RecordingSource.to_dask()``).
    start, duration : float
        Seconds; clipped to the recording.
    channel_start, num_channels : int
        Channel positions (not ids) ``[channel_start, channel_start + num_channels)``, clipped.
    center : bool
        Subtract each channel's median over the window (removes DC offsets so the heat map is readable;
        estimated from at most ~3000 evenly spaced frames).

    Returns
    -------
    Window
    """
    f0, f1 = _frames(x, start, duration)
    nch = int(x.sizes["channel"])
    c0 = int(np.clip(channel_start, 0, max(0, nch - 1)))
    c1 = nch if num_channels is None else int(np.clip(c0 + max(1, int(num_channels)), c0 + 1, nch))
    block = x.isel(time=slice(f0, f1), channel=slice(c0, c1))
    data = np.asarray(block.values, dtype=np.float32)
    if center and data.size:
        step = max(1, data.shape[0] // 3000)  # the median of ~3000 evenly spaced frames is plenty
        data -= np.median(data[::step], axis=0, keepdims=True)
    fs = float(x.attrs["sampling_frequency"])
    return Window(data=data, time=np.arange(f0, f1) / fs, channel=np.asarray(block["channel"].values),
                  x=np.asarray(block["x"].values, float), y=np.asarray(block["y"].values, float),
                  index=np.arange(c0, c1), sampling_frequency=fs)


def clip_limit(data: np.ndarray, q: float = 99.5, max_samples: int = 200_000) -> float:
    """The ``q``-th percentile of ``|data|`` (from at most ``max_samples`` evenly spaced values): a colour range
    that keeps the noise visible next to large spikes."""
    flat = data.reshape(-1)
    if not flat.size:
        return 1.0
    sample = np.abs(flat[::max(1, flat.size // max_samples)])
    return float(np.percentile(sample, q)) or float(sample.max()) or 1.0


def traces_offsets(w: Window, max_traces: int = 32) -> tuple[np.ndarray, float]:
    """Which columns of ``w`` to draw as traces (at most ``max_traces``, evenly spread) and their spacing.

    Returns
    -------
    columns : numpy.ndarray
        Column positions in ``w.data``.
    spacing : float
        Vertical offset between consecutive traces (6 × the median robust σ), in data units.
    """
    n = w.data.shape[1]
    cols = np.unique(np.linspace(0, n - 1, min(n, max_traces)).round().astype(int)) if n else np.zeros(0, int)
    if not w.data.size:
        return cols, 1.0
    mad = np.median(np.abs(w.data[:, cols]), axis=0) / 0.6745
    spacing = float(6 * np.median(mad)) or float(np.ptp(w.data)) or 1.0
    return cols, spacing


def traces_lines(w: Window, max_traces: int = 32, bins: int = 2000) -> tuple[np.ndarray, np.ndarray, list]:
    """Up to ``max_traces`` channels of ``w`` as one polyline, offset vertically and separated by NaN.

    Returns
    -------
    t, v : numpy.ndarray
        Concatenated (min/max decimated) traces, ``NaN`` between channels.
    ticks : list of (float, str)
        Offset of each trace and its channel id, for the y axis.
    """
    cols, spacing = traces_offsets(w, max_traces)
    ts, vs, ticks = [], [], []
    for k, c in enumerate(cols):
        t, v = decimate_minmax(w.time, w.data[:, c], bins)
        ts += [t, [np.nan]]
        vs += [v + k * spacing, [np.nan]]
        ticks.append((k * spacing, str(w.channel[c])))
    if not ts:
        return np.zeros(0), np.zeros(0), []
    return np.concatenate(ts), np.concatenate(vs).astype(np.float32), ticks


def decimate_minmax(t: np.ndarray, v: np.ndarray, bins: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Keep the min and max of ``v`` in each of ``bins`` time bins (a line that looks the same when drawn).

    Returns ``(t, v)`` unchanged when they are short enough.
    """
    n = v.shape[0]
    if n <= 2 * bins:
        return t, v
    edges = np.linspace(0, n, bins + 1).astype(int)
    lo = np.minimum.reduceat(v, edges[:-1])
    hi = np.maximum.reduceat(v, edges[:-1])
    tt = np.repeat(t[edges[:-1]], 2)
    vv = np.empty(2 * bins, dtype=v.dtype)
    vv[0::2], vv[1::2] = lo, hi
    return tt, vv


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

    f0, f1 = _frames(x, start, duration)
    part = x.isel(time=slice(f0, f1))
    seconds = min(5.0, (f1 - f0) / float(x.attrs["sampling_frequency"]))
    return detect_spikes(part, threshold=threshold, noise_seconds=seconds, scheduler="threads")


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
