"""Intake drivers (v1 ``DataSource``): ``npx_recording``, ``npx_sorting``, ``npx_drift``.

Arguments are the 2020 index's objects verbatim, so an object pasted into a new catalog entry works.
``discover()`` and ``describe()`` answer from the catalog alone: no data bytes are read until
``to_dask()``/``read()`` is computed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from intake.source.base import DataSource, Schema

from .._version import __version__
from ..errors import ContentNotFound, InvalidArgument, UnknownUnit
from ..extras import require
from ..formats import Bin1Recording, load_object, read_drift, read_sorting
from ..formats.objects import leaves
from ..store.engine import get_store
from .fetching import register_sources

__all__ = ["RecordingSource", "SortingSource", "DriftSource"]


class _Base(DataSource):
    version = __version__

    @property
    def store(self):
        """The :class:`~intake_npx2020.store.Store` this entry reads through (its ``storage_options`` applied)."""
        return get_store(self.storage_options or None)

    @property
    def label(self) -> str:
        """The entry's ID (``metadata.id``), else its name in the catalog."""
        return self.metadata.get("id") or self.name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label!r}>"

    def _close(self):
        pass

    def discover(self) -> dict:
        """As intake's, in plain YAML-safe values (dtype as a string, shape as a list); reads no data bytes."""
        from .plain import plain

        return plain(super().discover())

    def uris(self) -> list[str]:
        """The ``sha1://`` URIs of every file this entry reads (for ``npx2020 fetch``)."""
        data_args = {k: v for k, v in self._captured_init_kwargs.items() if k not in ("metadata", "storage_options")}
        schemes = ("sha1://", "sha1dir://", "kachery:")
        return [v for v in leaves(data_args) if isinstance(v, str) and v.startswith(schemes)]

    def fetch(self, progress: bool | None = None, discard_partial: bool = False) -> list[str]:
        """Make every file of this entry whole and verified in its store, as ``npx2020 fetch ID`` does: from the
        stores, mirrors, live kachery, then ``metadata.sources`` (an extract is derived from its parent, which
        needs the catalog). Returns one line per file saying what was done."""
        from .fetching import fetch_entry

        cat = self.cat if self.cat is not None else {self.name: self}
        return fetch_entry(cat, self.name, progress=progress, discard_partial=discard_partial)


class RecordingSource(_Base):
    """A ``bin1`` recording as a dask-backed ``xarray.DataArray`` (int16, dims ``time``, ``channel``).

    Parameters
    ----------
    recording : mapping or str
        The 2020 ``bin1`` recording object, or the ``sha1://`` URI of its JSON.
    chunk_seconds : float
        Time extent of one dask chunk / intake partition (all channels per chunk).
    storage_options : dict, optional
        ``store``, ``mirrors``, … (default: ``NPX2020_STORE`` / ``NPX2020_MIRRORS`` from the environment).
    metadata : dict, optional
    """

    name = "npx_recording"
    container = "xarray"
    partition_access = True

    def __init__(self, recording: Mapping | str, chunk_seconds: float = 1.0, storage_options: dict | None = None,
                 metadata: dict | None = None):
        super().__init__(storage_options=storage_options, metadata=metadata)
        self.recording = recording
        self.chunk_seconds = float(chunk_seconds)  # intake templates hand arguments over as strings
        if not self.chunk_seconds > 0:
            raise InvalidArgument(f"chunk_seconds must be positive, got {chunk_seconds!r}")
        self._spec: Bin1Recording | None = None

    @property
    def spec(self) -> Bin1Recording:
        """The validated recording object (reads the object JSON only if given as a URI)."""
        if self._spec is None:
            obj = load_object(self.recording, self.store, f"recording {self.label}")
            self._spec = Bin1Recording.from_object(obj, f"recording {self.label}")
            register_sources(self)  # "not found" errors about its raw file name metadata.sources
        return self._spec

    @property
    def chunk_frames(self) -> int:
        return max(1, int(round(self.chunk_seconds * self.spec.sampling_frequency)))

    def _get_schema(self):
        from ..arrays import coord_names

        s = self.spec
        return Schema(dtype="int16", shape=(s.num_frames, s.num_channels),
                      npartitions=math.ceil(s.num_frames / self.chunk_frames),
                      extra_metadata={"sampling_frequency": s.sampling_frequency, "num_channels": s.num_channels,
                                      "chunk_frames": self.chunk_frames, "uri": s.raw,
                                      "dims": {"time": s.num_frames, "channel": s.num_channels},
                                      "coords": coord_names(s.locations, self.metadata.get("probe"))})

    def uris(self) -> list[str]:
        """The raw file's URI, after the object's own URI when the entry names the object by URI."""
        own = [self.recording] if isinstance(self.recording, str) else []
        return own + [self.spec.raw]

    def to_dask(self):
        """The whole recording, lazily: ``xarray.DataArray`` backed by one dask task per chunk."""
        from ..arrays import to_xarray

        self._load_metadata()
        return to_xarray(self.spec, self.chunk_seconds, self.storage_options or None, self.label, self.trace_attrs())

    def trace_attrs(self) -> dict:
        """Attributes the entry's metadata gives its traces: gain, probe (and what is guessed about it), lab."""
        from ..formats.neuropixels import probe_notes

        attrs = {k: self.metadata.get(k) for k in ("gain_to_uV", "probe", "lab")}
        return {**attrs, **(probe_notes(self.metadata.get("uncertain")) if attrs["probe"] else {})}

    def _get_partition(self, i: int):
        c = self.chunk_frames
        return self.to_dask().isel(time=slice(i * c, (i + 1) * c)).load()

    def read(self):
        """Load the whole recording into memory (refused if it would not fit: use ``to_dask()``)."""
        import psutil

        self._load_metadata()
        need = self.spec.num_frames * self.spec.num_channels * 2
        avail = psutil.virtual_memory().available
        if need > avail // 2:
            raise MemoryError(f"{self.label}: reading all {need / 1e9:.1f} GB into memory would exceed half of the "
                              f"{avail / 1e9:.1f} GB available; use to_dask() and select a window, or read_partition(i)")
        return self.to_dask().load()

    def to_spikeinterface(self, prefer_local_binary: bool = True):
        """A lazy, picklable spikeinterface ``BaseRecording`` with the probe attached (extra ``[spikeinterface]``).

        A raw file that is whole in a local store is opened with ``read_binary``; otherwise reads go through
        the store (and its mirrors) chunk by chunk.
        """
        from ..compat.spikeinterface import to_recording

        return to_recording(self.spec, self.storage_options or None, self.metadata.get("gain_to_uV"),
                            prefer_local_binary, probe=self.metadata.get("probe"))

    def to_spikeextractors(self):
        """A spikeextractors ``RecordingExtractor`` (the 2020 API; extra ``[spikeextractors]``)."""
        from ..compat.spikeextractors import to_recording_extractor

        return to_recording_extractor(self.spec, self.storage_options or None, self.metadata.get("gain_to_uV"))

    def to_recording(self):
        """The seed-compatible recording object (``get_traces``, ``get_channel_locations``, …)."""
        from ..compat.seed import Recording

        self._load_metadata()
        return Recording(self.spec, self.storage_options or None, self.label, self.trace_attrs())


class SortingSource(_Base):
    """A sorting as a ``pandas.DataFrame`` of spikes (``unit_id``, ``sample_index``, ``time``), sorted by time.

    Parameters
    ----------
    sorting : mapping or str or None
        The 2020 sorting object (``npy1``, ``npy2``, ``h5_v1``) or the ``sha1://`` URI of its JSON;
        ``None`` when the object was never published (``metadata["unavailable"]`` says why).
    units_csv : str, optional
        ``sha1://`` URI of a unit table (e.g. phy ``cluster_groups.csv``) used with ``units_filter``.
    units_filter : mapping, optional
        ``{column: value}`` that a unit's row must match to be kept (e.g. ``{"group": "good"}``).
    """

    name = "npx_sorting"
    container = "dataframe"
    partition_access = False

    def __init__(self, sorting: Mapping | str | None, units_csv: str | None = None,
                 units_filter: Mapping | None = None, storage_options: dict | None = None,
                 metadata: dict | None = None):
        super().__init__(storage_options=storage_options, metadata=metadata)
        self.sorting = sorting
        self.units_csv = units_csv
        self.units_filter = units_filter
        self._arrays = None

    def _get_schema(self):
        return Schema(dtype={"unit_id": "int64", "sample_index": "int64", "time": "float64"}, shape=(None, 3),
                      npartitions=1, extra_metadata={})

    @property
    def arrays(self):
        """:class:`~intake_npx2020.formats.SpikeArrays` (loaded once)."""
        if self._arrays is None:
            if self.sorting is None:
                why = self.metadata.get("unavailable", "the sorting object is not known")
                raise ContentNotFound(f"sorting {self.label}: {why}")
            self._arrays = read_sorting(self.sorting, self.store, f"sorting {self.label}",
                                        self.units_csv, self.units_filter)
        return self._arrays

    def read(self):
        from ..tables import spikes_frame

        return spikes_frame(self.arrays)

    def _get_partition(self, i: int):
        return self.read()

    def to_dask(self):
        dd = require("dask.dataframe", "dataframe", "a dask DataFrame of spikes")

        return dd.from_pandas(self.read(), npartitions=1)

    def units(self):
        """Unit table: ``num_spikes`` and ``firing_rate`` (Hz over the recording's duration if known)."""
        from ..tables import units_frame

        return units_frame(self.arrays, self.metadata.get("duration_s"))

    def spike_train(self, unit_id: int) -> np.ndarray:
        """Sample indices of one unit's spikes (int64, sorted)."""
        a = self.arrays
        if unit_id not in set(a.unit_ids.tolist()):
            raise UnknownUnit(f"sorting {self.label} has no unit {unit_id!r}")
        return a.sample_index[a.unit_id == unit_id]

    def spike_trains(self) -> dict[int, np.ndarray]:
        """Every unit's spike train, ``{unit_id: sample indices}``."""
        from ..tables import spike_trains

        return spike_trains(self.arrays)

    def to_spikeinterface(self):
        """A spikeinterface sorting that reloads from this entry's object (extra ``[spikeinterface]``)."""
        from ..compat.spikeinterface import to_sorting

        return to_sorting(self.arrays, self.sorting, self.units_csv, self.units_filter, self.storage_options or None)

    def to_spikeextractors(self):
        """A spikeextractors ``SortingExtractor`` (the 2020 API; extra ``[spikeextractors]``)."""
        from ..compat.spikeextractors import to_sorting_extractor

        return to_sorting_extractor(self.arrays, self.sorting, self.units_csv, self.units_filter,
                                    self.storage_options or None)

    def to_sorting(self):
        """The seed-compatible sorting object (``get_unit_ids``, ``get_unit_spike_train``)."""
        from ..compat.seed import Sorting

        return Sorting(self.arrays, self.label)

    def to_pynapple(self):
        """A ``pynapple.TsGroup``: spike times in s per unit, the unit table as metadata (extra ``[pynapple]``)."""
        from ..compat.pynapple import to_tsgroup

        return to_tsgroup(self.arrays, self.metadata.get("duration_s"))


class DriftSource(_Base):
    """Imposed drift as a ``pandas.DataFrame`` of ``time`` (s) and ``position`` (µm).

    Parameters
    ----------
    timestamps, positions : str
        ``sha1://`` URIs of the manipulator's ``.npy`` arrays.
    """

    name = "npx_drift"
    container = "dataframe"
    partition_access = False

    def __init__(self, timestamps: str, positions: str, storage_options: dict | None = None,
                 metadata: dict | None = None):
        super().__init__(storage_options=storage_options, metadata=metadata)
        self.timestamps = timestamps
        self.positions = positions

    def _get_schema(self):
        return Schema(dtype={"time": "float64", "position": "float64"}, shape=(None, 2), npartitions=1,
                      extra_metadata={})

    def read(self):
        from ..tables import drift_frame

        return drift_frame(*read_drift(self.timestamps, self.positions, self.store))

    def _get_partition(self, i: int):
        return self.read()

    def to_dask(self):
        dd = require("dask.dataframe", "dataframe", "a dask DataFrame of spikes")

        return dd.from_pandas(self.read(), npartitions=1)
