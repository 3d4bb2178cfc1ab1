"""dask.distributed with worker processes: graphs pickle, workers open stores and mirrors themselves,
share one on-disk cache safely, never fetch a chunk twice on one machine, and agree with one process."""

import numpy as np
import pytest
from helpers import CX_COLS, FaultServer, bin1_object, put_file, random_bytes

from intake_npx2020.sources.drivers import RecordingSource

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=2, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as lc, \
            Client(lc) as client:
        yield client


def test_cluster_reads_through_mirror_once(tmp_path, cluster):
    raw = np.frombuffer(random_bytes(120_000 * 385 * 2, seed=8), "<i2").reshape(120_000, 385)
    bounds = [0, 7_000_000, 20_000_000, 33_000_000, 52_000_000, 70_000_000, raw.nbytes]
    src_root = tmp_path / "mirror-root"
    uri = put_file(src_root, raw.tobytes(), bounds)
    server = FaultServer(src_root)
    try:
        so = {"store": str(tmp_path / "shared-cache"), "mirrors": [server.url], "use_kachery": False}
        x = RecordingSource(bin1_object(uri, 385, 120_000, CX_COLS), chunk_seconds=0.25, storage_options=so).to_dask()
        stats = x.data.astype("f8").std(axis=0)
        got = cluster.compute([x.data.max(axis=0), x.data.min(axis=0), stats], sync=True)
        ref = raw[:, CX_COLS]
        np.testing.assert_array_equal(got[0], ref.max(axis=0))
        np.testing.assert_array_equal(got[1], ref.min(axis=0))
        np.testing.assert_allclose(got[2], ref.astype("f8").std(axis=0))
        ranged = [r for _, r, _ in server.log if r]
        assert len(ranged) == len(set(ranged)) == len(bounds) - 1  # each chunk crossed HTTP exactly once
        worker_pids = cluster.run(lambda: __import__("os").getpid())
        assert len(set(worker_pids.values())) == 2
        window = x.isel(time=slice(31_000, 47_000), channel=[3, 100, 373]).compute()
        np.testing.assert_array_equal(window.values, ref[31_000:47_000, [3, 100, 373]])
    finally:
        server.close()


def test_analysis_on_worker_processes_equals_one_process(tmp_path, cluster):
    import pandas as pd

    from intake_npx2020 import analysis

    raw = np.frombuffer(random_bytes(90_000 * 385 * 2, seed=9), "<i2").reshape(90_000, 385)
    bounds = [0, 11_000_000, 40_000_000, raw.nbytes]
    src_root = tmp_path / "mirror-root"
    uri = put_file(src_root, raw.tobytes(), bounds)
    server = FaultServer(src_root)
    try:
        so = {"store": str(tmp_path / "cache"), "mirrors": [server.url], "use_kachery": False}
        x = RecordingSource(bin1_object(uri, 385, 90_000, CX_COLS), chunk_seconds=0.5, storage_options=so).to_dask()
        noise = analysis.noise_levels(x, scheduler="threads")
        lazy = analysis.detect_spikes(x, threshold=4.0, noise=noise, compute=False)
        assert len(lazy.__dask_graph__()) == 1 + x.data.numblocks[0] + 2      # reads inside the detection tasks
        ref = lazy.compute(scheduler="threads")
        got = cluster.compute(lazy, sync=True)
        assert len(ref) > 20
        pd.testing.assert_frame_equal(got, ref)
        std = analysis.bandpass(x).data.std(axis=0)
        np.testing.assert_allclose(cluster.compute(std, sync=True), std.compute(scheduler="threads"), rtol=1e-6)
    finally:
        server.close()
