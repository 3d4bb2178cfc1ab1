"""The ``npx_hybrid`` intake driver: a recording entry plus known injected units, as a lazy DataArray."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from intake.source.base import DataSource, Schema

from .._version import __version__
from ..errors import CatalogError
from ..store.engine import get_store

__all__ = ["HybridSource", "parent_source"]


def parent_source(parent, cat=None, label: str = "hybrid", storage_options: dict | None = None):
    """The parent recording as a source (or a DataArray, kept as is).

    ``parent`` is an entry ID of ``cat``; a ``bin1`` recording object; the arguments of an ``npx_recording``
    (``{"recording": …, "chunk_seconds": …}``) or of an ``npx_hybrid`` (``{"parent": …, "injection": …}``)
    entry; a source; or an ``xarray.DataArray``.
    """
    from ..sources.drivers import RecordingSource

    if isinstance(parent, str):
        if cat is None or parent not in cat:
            where = "its catalog" if cat is not None else "no catalog (the source was not made by one)"
            raise CatalogError(f"{label}: parent entry {parent!r} is not in {where}; give the parent's "
                               "recording object instead, or open the hybrid through its catalog")
        return cat[parent]
    if isinstance(parent, Mapping):
        args = dict(parent)
        if "recording_format" in args:
            args = {"recording": args}
        opts = {**(storage_options or {}), **(args.pop("storage_options", None) or {})} or None
        if "injection" in args:
            return HybridSource(storage_options=opts, metadata={"id": f"{label} parent"}, **args)
        return RecordingSource(storage_options=opts, metadata={"id": f"{label} parent"}, **args)
    return parent


class HybridSource(DataSource):
    """A recording with known units injected (``npx_hybrid``): an ``xarray.DataArray`` like ``npx_recording``'s.

    A window reads only that window of the parent, plus the injected spikes that touch it (see
    :class:`~intake_npx2020.groundtruth.reader.HybridTraces`); chunks are the parent's.

    Parameters
    ----------
    parent : str or mapping
        The parent entry's ID in the same catalog, or its recording object / entry arguments (see
        :func:`parent_source`).
    injection : mapping
        The injection object (:func:`~intake_npx2020.groundtruth.storage.save_injection`): units, templates,
        spikes (an ``npy1`` sorting object), scales and motion, arrays by ``sha1://`` URI.
    storage_options : dict, optional
    metadata : dict, optional
    """

    name = "npx_hybrid"
    container = "xarray"
    partition_access = True
    version = __version__

    def __init__(self, parent, injection: Mapping, storage_options: dict | None = None,
                 metadata: dict | None = None):
        super().__init__(storage_options=storage_options, metadata=metadata)
        self.parent = parent
        self.injection_object = injection
        self._parent = self._injection = None

    @property
    def label(self) -> str:
        return self.metadata.get("id") or self.name

    def __repr__(self) -> str:
        return f"<HybridSource {self.label!r}>"

    @property
    def parent_source(self):
        """The parent recording's source (resolved once)."""
        if self._parent is None:
            self._parent = parent_source(self.parent, getattr(self, "cat", None), self.label, self.storage_options)
        return self._parent

    @property
    def store(self):
        """The :class:`~intake_npx2020.store.Store` this entry reads its injection through."""
        return get_store(self.storage_options or None)

    @property
    def spec(self):
        """The parent's ``bin1`` spec: the raw bytes this hybrid reads (``npx2020 info`` shows them)."""
        return self.parent_source.spec

    def uris(self) -> list[str]:
        """The ``sha1://`` URIs of every file this entry reads: the parent's, then the injection's arrays."""
        from ..formats.objects import leaves

        own = [v for v in leaves(self.injection_object) if isinstance(v, str) and v.startswith("sha1://")]
        parent = self.parent_source
        return (parent.uris() if hasattr(parent, "uris") else []) + own

    def parent_dask(self):
        """The parent recording as its lazy DataArray."""
        p = self.parent_source
        return p if hasattr(p, "dims") else p.to_dask()

    @property
    def injection(self):
        """The :class:`~intake_npx2020.groundtruth.injection.Injection` (arrays read once, verified)."""
        if self._injection is None:
            from .storage import load_injection

            x = self.parent_dask()
            pos = np.stack([x["x"].values, x["y"].values], axis=1)
            self._injection = load_injection(self.injection_object, self.store, pos, f"hybrid {self.label}")
        return self._injection

    def _get_schema(self):
        obj = self.injection_object
        n, c = int(obj["num_frames"]), int(obj["num_channels"])
        chunks = self.parent_dask().data.chunks[0]          # the parent's chunks (no data bytes read)
        return Schema(dtype=np.dtype("int16"), shape=(n, c), npartitions=len(chunks),
                      extra_metadata={"sampling_frequency": float(obj["sampling_frequency"]), "num_channels": c,
                                      "injected_units": len(obj["units"]["unit_id"])})

    def to_dask(self):
        """The hybrid recording, lazily: the parent's DataArray (coords, chunks) with the injected spikes added."""
        from .reader import hybrid_dataarray

        self._load_metadata()
        return hybrid_dataarray(self.parent_dask(), self.injection, self.label,
                                {"parent": self.parent if isinstance(self.parent, str) else None})

    def _get_partition(self, i: int):
        x = self.to_dask()
        c = x.data.chunks[0]
        a = int(np.sum(c[:i]))
        return x.isel(time=slice(a, a + c[i])).load()

    def read(self):
        """Load the whole hybrid into memory (small recordings only: use ``to_dask()``)."""
        return self.to_dask().load()

    def truth(self):
        """The injected spikes: ``unit_id``, ``sample_index``, ``time`` (the ground truth of this hybrid)."""
        import pandas as pd

        inj = self.injection
        df = pd.DataFrame({"unit_id": inj.labels, "sample_index": inj.times, "time": inj.times / inj.sampling_frequency})
        df.attrs["sampling_frequency"] = inj.sampling_frequency
        return df

    def to_spikeinterface(self):
        """A lazy spikeinterface ``BaseRecording`` of the hybrid (extra ``[spikeinterface]``)."""
        from .si_recording import to_si_recording

        return to_si_recording(self.to_dask())

    def _close(self):
        pass
