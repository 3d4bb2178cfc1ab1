"""Hybrid recordings: the known answer (hybrid − parent = the injected waveforms at the ground-truth times, by the
stated int16 rule), over random windows, channel subsets, threads and worker processes; catalogs; determinism."""

from __future__ import annotations

import pickle

import intake
import numpy as np
import pytest

from intake_npx2020 import groundtruth as gt
from intake_npx2020 import synth
from intake_npx2020.arrays import recording_dataarray
from intake_npx2020.sources.catalog import open_catalog

PARENT = "synthetic-np1-drift"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    """A 3 s synthetic drift recording in a catalog, with a hybrid of dense, fast units moving with its drift."""
    root = tmp_path_factory.mktemp("gt")
    result = synth.generate(root / "synth", duration=3.0, num_units=12, drift="triangle", drift_amplitude=40.0,
                            seed=5, progress=False)
    path = root / "catalog.yaml"
    synth.write_catalog(result, root / "store", path, PARENT)
    params = gt.HybridParams(num_units=6, rates=(40.0, 80.0), amplitudes_uv=(150.0, 400.0), seed=11)
    gt.write_hybrid(path, PARENT, "hybrid", params)
    return path, result


def reference(obj, store_cat, positions, f0: int, f1: int, channels) -> np.ndarray:
    """The injected signal on frames [f0, f1) of ``channels``, from the entry's stored truth by the model's
    formula written out again here: float64 sum in ground-truth order, then ``np.rint``."""
    inj = store_cat["hybrid"].injection                      # its arrays, as stored
    truth = store_cat["hybrid:ground_truth"].read()          # the companion entry: the same spikes
    assert np.array_equal(truth["sample_index"].to_numpy(), inj.times)
    u = obj["units"]
    x, y, z, lam, amp = (np.asarray(u[k], float) for k in ("x", "y", "z", "decay_um", "amplitude"))
    trough = np.asarray(u["trough"])
    wf = inj.templates.waveforms
    ts, ps = inj.motion
    out = np.zeros((f1 - f0, len(channels)))
    pos = positions[channels]
    allpos = positions
    for t, label, sc in zip(inj.times, truth["unit_id"].to_numpy(), inj.scales):
        k = int(np.flatnonzero(np.asarray(u["unit_id"]) == label)[0])
        start = int(t) - int(trough[k])
        a, b = max(start, f0), min(start + wf.shape[1], f1)
        if b <= a:
            continue
        dy = np.interp(t / inj.sampling_frequency, ts, ps)
        d0 = np.sqrt((allpos[:, 0] - x[k]) ** 2 + (allpos[:, 1] - y[k]) ** 2 + z[k] ** 2).min()
        a0 = amp[k] / (np.exp(-d0 / lam[k]) - np.exp(-6.0))
        d = np.sqrt((pos[:, 0] - x[k]) ** 2 + (pos[:, 1] - y[k] - dy) ** 2 + z[k] ** 2)
        g = a0 * np.clip(np.exp(-d / lam[k]) - np.exp(-6.0), 0.0, None)
        out[a - f0:b - f0] += wf[k][a - start:b - start, None] * g[None, :] * sc
    return np.rint(out).astype(np.int32)


def _windows(n_frames: int, n_channels: int, count: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        f0 = int(rng.integers(0, n_frames - 10))
        f1 = int(min(n_frames, f0 + rng.integers(1, 20000)))
        chans = np.sort(rng.choice(n_channels, size=int(rng.integers(1, 60)), replace=False))
        yield f0, f1, chans


@pytest.mark.parametrize("opener", ["npx", "intake"])
def test_hybrid_minus_parent_is_the_injected_waveforms(catalog, opener):
    path, _ = catalog
    cat = open_catalog(path) if opener == "npx" else intake.open_catalog(str(path))
    h, x = cat["hybrid"].to_dask(), cat[PARENT].to_dask()
    assert h.dtype == np.int16 and h.shape == x.shape and h.data.chunks == x.data.chunks
    obj = cat["hybrid"].injection_object
    positions = np.stack([x["x"].values, x["y"].values], axis=1)
    seen = 0
    for f0, f1, chans in _windows(h.shape[0], h.shape[1], 12, seed=1):
        hw = h.isel(time=slice(f0, f1), channel=chans).values.astype(np.int32)
        pw = x.isel(time=slice(f0, f1), channel=chans).values.astype(np.int32)
        ref = reference(obj, cat, positions, f0, f1, chans)
        assert np.array_equal(hw - pw, np.clip(pw + ref, -32768, 32767) - pw)
        seen += int(np.count_nonzero(ref))
    assert seen > 1000  # the windows did meet injected spikes


def test_every_window_agrees_with_the_whole(catalog):
    path, _ = catalog
    cat = open_catalog(path)
    h, x = cat["hybrid"].to_dask(), cat[PARENT].to_dask()
    whole = h.values.astype(np.int32) - x.values
    for f0, f1, chans in _windows(h.shape[0], h.shape[1], 15, seed=2):
        part = h.data[f0:f1][:, chans].compute(scheduler="threads").astype(np.int32)
        assert np.array_equal(part - x.values[f0:f1][:, chans], whole[f0:f1][:, chans])
    assert np.array_equal(h[1234].values.astype(np.int32) - x[1234].values, whole[1234])      # one frame
    assert np.array_equal(h.data[100:3000:7].compute().astype(np.int32) - x.values[100:3000:7], whole[100:3000:7])


@pytest.mark.cluster
def test_hybrid_in_worker_processes(catalog):
    path, _ = catalog
    cat = open_catalog(path)
    h, x = cat["hybrid"].to_dask(), cat[PARENT].to_dask()
    got = h.data.compute(scheduler="processes", num_workers=2)
    assert np.array_equal(got, h.data.compute(scheduler="sync"))
    reader = pickle.loads(pickle.dumps(gt.reader.reader_of(h)))
    assert isinstance(reader, gt.HybridTraces)
    assert np.array_equal(reader[5000:9000], got[5000:9000])
    assert not np.array_equal(got, x.values)


def test_catalog_entries(catalog):
    path, result = catalog
    cat = intake.open_catalog(str(path))
    assert {"hybrid", "hybrid:ground_truth", "hybrid:drift"} <= set(cat)
    drift = cat["hybrid:drift"].read()
    assert np.allclose(drift["position"], result.positions) and np.allclose(drift["time"], result.timestamps)
    truth = cat["hybrid:ground_truth"].read()
    assert set(truth["unit_id"]) == set(range(6)) and truth["sample_index"].is_monotonic_increasing
    meta = cat["hybrid"].metadata
    assert meta["hybrid"] and meta["parent_id"] == PARENT and meta["rounding"] == gt.ROUNDING_RULE
    assert "{" in path.read_text()  # JSON body: human-readable, valid YAML
    with pytest.raises(Exception, match="already has an entry"):
        gt.write_hybrid(path, PARENT, "hybrid")


def test_deterministic_from_seed(catalog):
    path, _ = catalog
    x = open_catalog(path)[PARENT].to_dask()
    a, b = (gt.draw_injection(x, gt.HybridParams(num_units=4, seed=3)) for _ in range(2))
    c = gt.draw_injection(x, gt.HybridParams(num_units=4, seed=4))
    assert a.token == b.token != c.token
    truth = synth.SynthResult.load(path.parent / "synth")
    assert not np.array_equal(a.times[:20], truth.spike_times[:20])  # never the parent's own trains


def test_templates_from_a_sorting_and_a_nested_hybrid(catalog, tmp_path):
    path, result = catalog
    cat = open_catalog(path)
    x = cat[PARENT].to_dask()
    spikes = cat[f"{PARENT}:ground_truth"].read()
    p = gt.HybridParams(num_units=3, templates="sorting", amplitudes_uv=None, template_spikes=30, seed=2,
                        y_offset_um=100.0)
    inj = gt.draw_injection(x, p, sorting=spikes)
    assert inj.templates.kind == "dense" and len(inj.info["source_units"]) == 3
    biggest = {int(u): a for u, a in zip(result.units["unit_id"], result.units["amplitude"])}
    for u, measured in zip(inj.info["source_units"], inj.info["measured_amplitude"]):
        assert 0.6 * biggest[u] < measured < 1.4 * biggest[u] + 10   # the mean waveform found the unit
    h = gt.hybrid_dataarray(x, inj)
    nested = gt.hybrid_dataarray(h, gt.draw_injection(h, gt.HybridParams(num_units=2, seed=9)))
    d1 = h.values.astype(np.int32) - x.values
    d2 = nested.values.astype(np.int32) - h.values
    assert np.count_nonzero(d1) and np.count_nonzero(d2) and not np.array_equal(d1, d2)


def test_rounding_and_clipping_rule():
    """Near full scale the sum is clipped to int16; elsewhere hybrid − parent = rint(injected) exactly."""
    n, c = 6000, 8
    pos = np.stack([np.zeros(c), np.arange(c) * 20.0], axis=1)
    parent = np.full((n, c), 32700, np.int16)
    parent[:, :4] = 0
    x = recording_dataarray(parent, 30000.0, np.arange(c), pos)
    inj = gt.draw_injection(x, gt.HybridParams(num_units=1, rates=[50.0], amplitudes_uv=[2000.0], seed=1))
    h = gt.hybrid_dataarray(x, inj).values.astype(np.int32)
    assert h.max() == 32767 and (h[:, 4:] >= 32700 - 2000).all()
    block = parent.copy()
    clipped = inj.add_into(block, 0)
    assert clipped > 0 and np.array_equal(block, h)
    assert np.array_equal(parent, x.values)  # the parent's own buffer is untouched


def test_spike_features_find_the_units(catalog):
    path, result = catalog
    cat = open_catalog(path)
    spikes = cat[f"{PARENT}:ground_truth"].read()
    feats = gt.spike_features(spikes, cat[PARENT].to_dask(), scheduler="threads")
    assert list(spikes.columns) == list(feats.columns[:len(spikes.columns)]) and len(feats) == len(spikes)
    assert (feats["amplitude"] < 0).all() and feats["y"].notna().all()
    units = gt.unit_features(feats)
    true_y = dict(zip(result.units["unit_id"].tolist(), result.units["y"]))
    err = np.abs(units["depth"].to_numpy() - np.array([true_y[u] for u in units.index]))
    assert np.median(err) < 25.0        # within about a row pair of contacts, drift (≤ 40 µm) included
    assert "amplitude" not in spikes    # never joined by default


def test_parent_given_as_its_object_or_as_a_dataarray(catalog):
    """Outside a catalog the parent is its recording object (or entry arguments); an ID needs the catalog."""
    path, _ = catalog
    cat = open_catalog(path)
    src = cat["hybrid"]
    parent_args = dict(cat._entries[PARENT].describe()["args"])
    parent_args["storage_options"] = {"read_roots": [str(path.parent / "store")]}
    direct = gt.HybridSource(parent=parent_args, injection=src.injection_object,
                             storage_options={"read_roots": [str(path.parent / "store")]})
    assert np.array_equal(direct.to_dask()[:20000].values, src.to_dask()[:20000].values)
    by_object = gt.HybridSource(parent=parent_args["recording"], injection=src.injection_object,
                                storage_options={"read_roots": [str(path.parent / "store")]})
    assert np.array_equal(by_object.read_partition(1).values, src.to_dask()[30000:60000].values)
    from_array = gt.hybrid_dataarray(cat[PARENT].to_dask(), src.injection)
    assert np.array_equal(from_array[:20000].values, src.to_dask()[:20000].values)
    orphan = gt.HybridSource(parent=PARENT, injection=src.injection_object)
    with pytest.raises(Exception, match="not in no catalog|is not in"):
        orphan.to_dask()
    assert len(src.uris()) == 1 + 6 and src.truth()["unit_id"].nunique() == 6
