"""intake 2 data types and readers, beside the v1 drivers (``intake.readers`` API, registered by subclassing).

``import intake`` imports this module through the ``intake.imports`` entry point, so it imports nothing heavy:
the readers build the v1 source of the same arguments on first read, and return what it returns.

Data types (what an entry *is*): :class:`NpxRecording` (a 2020 ``bin1`` object or the ``sha1://`` URI of its
JSON), :class:`NpxSorting` (``npy1``/``npy2``/``h5_v1`` object or URI, optional unit filter), :class:`NpxDrift`
(the manipulator's ``.npy`` URIs); each with ``storage_options``. Readers (what you get):

=============================  ======================  =====================================================
reader                         output                  as the v1 driver's
=============================  ======================  =====================================================
``NpxRecordingReader``         ``xarray:DataArray``    ``to_dask()`` (lazy int16, CF attrs, probe coords)
``NpxRecordingSIReader``       spikeinterface          ``to_spikeinterface()`` (extra ``[spikeinterface]``)
``NpxSortingReader``           ``pandas:DataFrame``    ``read()`` (``unit_id``, ``sample_index``, ``time``)
``NpxSortingSIReader``         spikeinterface          ``to_spikeinterface()``
``NpxDriftReader``             ``pandas:DataFrame``    ``read()`` (``time``, ``position``)
=============================  ======================  =====================================================

>>> import intake                                                             # doctest: +SKIP
>>> cat = intake.from_yaml_file("npx2020-v2.yaml")                              # doctest: +SKIP
>>> cat["cortexlab-single-phase-3"].read()          # xarray.DataArray          # doctest: +SKIP
>>> NpxRecording(obj).to_reader("xarray:DataArray").read()      # any bin1 object   # doctest: +SKIP
"""

from __future__ import annotations

from intake.readers import datatypes
from intake.readers.readers import BaseReader

__all__ = ["NpxRecording", "NpxSorting", "NpxDrift", "NpxRecordingReader", "NpxRecordingSIReader",
           "NpxSortingReader", "NpxSortingSIReader", "NpxDriftReader"]


class NpxRecording(datatypes.BaseData):
    """A recording of the collection: the 2020 ``bin1`` object (or the ``sha1://`` URI of its JSON)."""

    structure = {"array"}

    def __init__(self, recording, storage_options: dict | None = None, metadata: dict | None = None):
        super().__init__(metadata)
        self.recording = recording
        self.storage_options = storage_options


class NpxSorting(datatypes.BaseData):
    """A spike sorting: the 2020 object (``npy1``, ``npy2``, ``h5_v1``) or its URI, with an optional unit filter."""

    structure = {"table"}

    def __init__(self, sorting, units_csv: str | None = None, units_filter: dict | None = None,
                 storage_options: dict | None = None, metadata: dict | None = None):
        super().__init__(metadata)
        self.sorting = sorting
        self.units_csv = units_csv
        self.units_filter = units_filter
        self.storage_options = storage_options


class NpxDrift(datatypes.BaseData):
    """Imposed probe motion: ``sha1://`` URIs of the manipulator's timestamps and positions (``.npy``)."""

    structure = {"table"}

    def __init__(self, timestamps: str, positions: str, storage_options: dict | None = None,
                 metadata: dict | None = None):
        super().__init__(metadata)
        self.timestamps = timestamps
        self.positions = positions
        self.storage_options = storage_options


def _recording_source(data: NpxRecording, metadata: dict, chunk_seconds: float):
    from .drivers import RecordingSource

    return RecordingSource(data.recording, chunk_seconds, data.storage_options, metadata=dict(metadata))


def _sorting_source(data: NpxSorting, metadata: dict):
    from .drivers import SortingSource

    return SortingSource(data.sorting, data.units_csv, data.units_filter, data.storage_options,
                         metadata=dict(metadata))


class NpxRecordingReader(BaseReader):
    """Lazy, dask-backed ``xarray.DataArray`` of int16 counts (dims ``time``, ``channel``), as ``to_dask()``."""

    implements = {NpxRecording}
    imports = {"intake_npx2020", "xarray", "dask"}
    output_instance = "xarray:DataArray"

    def _read(self, data: NpxRecording, chunk_seconds: float = 1.0, **kwargs):
        return _recording_source(data, self.metadata, chunk_seconds).to_dask()

    def discover(self, **kwargs):
        """The first second (or chunk) of the recording, read."""
        x = self.read(**kwargs)
        return x.isel(time=slice(0, x.chunks[0][0])).load()


class NpxRecordingSIReader(BaseReader):
    """A lazy, picklable spikeinterface ``BaseRecording`` with the probe attached, as ``to_spikeinterface()``."""

    implements = {NpxRecording}
    imports = {"intake_npx2020", "spikeinterface"}
    output_instance = "spikeinterface.core.baserecording:BaseRecording"

    def _read(self, data: NpxRecording, prefer_local_binary: bool = True, **kwargs):
        return _recording_source(data, self.metadata, 1.0).to_spikeinterface(prefer_local_binary)


class NpxSortingReader(BaseReader):
    """Spikes as a ``pandas.DataFrame`` (``unit_id``, ``sample_index``, ``time``), sorted by time."""

    implements = {NpxSorting}
    imports = {"intake_npx2020", "pandas"}
    output_instance = "pandas:DataFrame"

    def _read(self, data: NpxSorting, **kwargs):
        return _sorting_source(data, self.metadata).read()


class NpxSortingSIReader(BaseReader):
    """A spikeinterface sorting that reloads from its object, as ``to_spikeinterface()``."""

    implements = {NpxSorting}
    imports = {"intake_npx2020", "spikeinterface"}
    output_instance = "spikeinterface.core.basesorting:BaseSorting"

    def _read(self, data: NpxSorting, **kwargs):
        return _sorting_source(data, self.metadata).to_spikeinterface()


class NpxDriftReader(BaseReader):
    """Imposed drift as a ``pandas.DataFrame`` of ``time`` (s) and ``position`` (µm)."""

    implements = {NpxDrift}
    imports = {"intake_npx2020", "pandas"}
    output_instance = "pandas:DataFrame"

    def _read(self, data: NpxDrift, **kwargs):
        from .drivers import DriftSource

        return DriftSource(data.timestamps, data.positions, data.storage_options, metadata=dict(self.metadata)).read()
