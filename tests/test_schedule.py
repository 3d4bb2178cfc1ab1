"""dask's default scheduler: no ``distributed`` import for a first sample, a distributed client still used."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from helpers import CX_COLS


def test_first_sample_does_not_import_distributed(recording, tmp_path):
    from helpers import write_catalog

    obj, raw = recording
    path = write_catalog(tmp_path / "cat.yaml", {"rec": {"driver": "npx_recording", "args": {"recording": obj}}})
    code = ("import sys, intake_npx2020, numpy as np\n"
            f"x = intake_npx2020.open_catalog({str(path)!r})['rec'].to_dask()[:3000].values\n"
            "print(x.shape, 'distributed' in sys.modules, int(x.astype(np.int64).sum()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    shape, imported, total = out.stdout.rsplit(maxsplit=2)[0], out.stdout.split()[-2], int(out.stdout.split()[-1])
    assert imported == "False"
    assert total == int(raw[:3000, CX_COLS].astype(np.int64).sum())


def test_explicit_scheduler_still_wins(recording):
    import dask

    from intake_npx2020.sources.drivers import RecordingSource

    x = RecordingSource(recording=recording[0]).to_dask()
    with dask.config.set(scheduler="sync"):
        assert int(x[:100].sum().compute()) == int(recording[1][:100, CX_COLS].astype(np.int64).sum())
    assert int(x[:100].sum().compute(scheduler="threads")) == int(recording[1][:100, CX_COLS].astype(np.int64).sum())


@pytest.mark.cluster
def test_a_distributed_client_is_used(recording):
    from distributed import Client, get_task_stream

    from intake_npx2020.sources.drivers import RecordingSource

    x = RecordingSource(recording=recording[0]).to_dask()
    with Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0") as client:
        with get_task_stream(client=client) as ts:
            total = int(x[:60000].astype("i8").sum().compute())
        assert len(ts.data) > 0
    assert total == int(recording[1][:60000, CX_COLS].astype(np.int64).sum())
    with Client(processes=False, n_workers=1, dashboard_address=":0", set_as_default=False) as client:
        with get_task_stream(client=client) as ts:  # not the default client: dask would not use it either
            int(x[:1000].sum().compute())
        assert len(ts.data) == 0
