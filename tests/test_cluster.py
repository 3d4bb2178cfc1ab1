"""Worker processes started by ``local_cluster`` get the malloc environment; the dask config and this
process's environment are as they were afterwards."""

from __future__ import annotations

import os

import dask
import pytest

from intake_npx2020.apps.cluster import WORKER_ENVIRON, local_cluster, worker_environ

pytestmark = pytest.mark.cluster


def _malloc_env() -> dict:
    return {k: os.environ.get(k) for k in WORKER_ENVIRON}


def test_worker_environ_is_scoped():
    before = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    with worker_environ():
        inside = dask.config.get("distributed.nanny.pre-spawn-environ")
        assert {k: str(v) for k, v in inside.items() if k in WORKER_ENVIRON} == WORKER_ENVIRON
        assert all(k in inside for k in before)      # distributed's own settings are kept
    assert dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}) == before


def test_local_cluster_workers_start_with_it():
    distributed = pytest.importorskip("distributed")
    before = _malloc_env()
    with local_cluster(n_workers=1, dashboard_address=None, host="127.0.0.1") as cluster, \
            distributed.Client(cluster) as client:
        (env,) = client.run(_malloc_env).values()
        assert env == WORKER_ENVIRON
        assert client.submit(sum, [1, 2, 3]).result() == 6
        assert _malloc_env() == before          # the nanny's writes to os.environ were put back
