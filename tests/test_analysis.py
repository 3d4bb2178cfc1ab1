"""Known answers for the dask-native analysis chain on a synthetic NP1 recording with imposed drift."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from intake_npx2020 import analysis as an
from intake_npx2020 import synth
from intake_npx2020.arrays import lazy_traces_of

FS = 30000.0
DURATION = 20.0          # steps at 4, 8, 12 and 16 s: on 2-s bin edges
TOL_SAMPLES = 12          # 0.4 ms
TOL_UM = 40.0
# spikes forced exactly on / next to 1-s chunk boundaries (frame, unit); the units are large and isolated
BOUNDARY_SPIKES = [(5 * 30000, 28), (11 * 30000 - 1, 11), (17 * 30000, 12), (19 * 30000 + 1, 36)]


def memmap_traces(r: synth.SynthResult, chunk_seconds: float = 1.0):
    """The recording as a DataArray over a numpy.memmap of raw.bin (mapped columns only)."""
    import dask.array as da

    from intake_npx2020.arrays import recording_dataarray

    mm = np.memmap(r.raw_path, dtype="<i2", mode="r", shape=(r.num_frames, r.raw_num_channels))
    cols = [r.channel_map[int(c)] for c in r.channel_ids]
    data = da.from_array(mm, chunks=(int(chunk_seconds * r.sampling_frequency), -1))[:, cols]
    return recording_dataarray(data, r.sampling_frequency, r.channel_ids, r.positions_xy,
                               attrs={"gain_to_uV": synth.UV_PER_BIT})


@pytest.fixture(scope="module")
def rec(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_steps")
    return synth.generate(out, duration=DURATION, probe="NP1", num_units=40, drift="steps", seed=7,
                          extra_spikes=BOUNDARY_SPIKES, progress=False)


@pytest.fixture(scope="module")
def traces(rec):
    return memmap_traces(rec)


@pytest.fixture(scope="module")
def detection(traces):
    t0 = time.perf_counter()
    noise = an.noise_levels(traces, scheduler="threads")
    t1 = time.perf_counter()
    peaks = an.detect_spikes(traces, noise=noise, scheduler="threads")
    t2 = time.perf_counter()
    print(f"\nnoise {t1 - t0:.1f} s, detection of {DURATION:.0f} s x 384 ch {t2 - t1:.1f} s, {len(peaks)} peaks")
    return noise, peaks


def good_units(r: synth.SynthResult) -> np.ndarray:
    """Well-isolated units: amplitude ≥ 6× the noise σ of their peak channel, no other unit within 40 µm."""
    u = r.units
    d = np.hypot(u["x"][:, None] - u["x"][None], u["y"][:, None] - u["y"][None])
    np.fill_diagonal(d, np.inf)
    return (u["amplitude"] >= 6 * r.noise_sigma[u["peak_channel"]]) & (d.min(axis=1) > 40.0)


def match(r: synth.SynthResult, peaks: pd.DataFrame, max_um: float) -> tuple[np.ndarray, np.ndarray]:
    """Per GT spike: the nearest detection within 12 samples and ``max_um`` of the unit's drifted position
    (index into ``peaks``, or -1); per detection: whether it is within those bounds of some GT spike."""
    st, sl = r.spike_times, r.spike_labels
    gx = r.units["x"][sl]
    gy = r.units["y"][sl] + r.displacement(st / r.sampling_frequency)
    ps = peaks["sample_index"].to_numpy()
    px, py = peaks["x"].to_numpy(), peaks["y"].to_numpy()
    lo = np.searchsorted(ps, st - TOL_SAMPLES, "left")
    hi = np.searchsorted(ps, st + TOL_SAMPLES, "right")
    best = np.full(st.size, -1)
    used = np.zeros(ps.size, bool)
    for i in np.flatnonzero(hi > lo):
        j = np.arange(lo[i], hi[i])
        d = np.hypot(px[j] - gx[i], py[j] - gy[i])
        if d.min() <= max_um:
            best[i] = j[np.argmin(d)]
            used[j[d <= max_um]] = True
    return best, used


def bin_truth(r: synth.SynthResult, times: np.ndarray, bin_s: float) -> np.ndarray:
    """Imposed displacement averaged over each time bin."""
    return np.array([r.displacement(np.linspace(t - bin_s / 2, t + bin_s / 2, 401)).mean() for t in times])


# --------------------------------------------------------------------------------------------- filtering

def test_public_names_settings_and_errors():
    import dataclasses

    import xarray as xr

    from intake_npx2020.analysis import (bandpass, channel_neighbours, detect_spikes, drift_raster,  # noqa: F401
                                         estimate_motion, localize_peaks, noise_levels)
    from intake_npx2020.analysis.params import FilterParams, MotionParams
    from intake_npx2020.errors import ConfigError, InvalidObject

    assert sorted(an.__all__) == sorted(["bandpass", "noise_levels", "detect_spikes", "localize_peaks",
                                         "drift_raster", "estimate_motion", "channel_neighbours"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        FilterParams(FS).order = 4
    assert MotionParams().bin_s == 2.0 and FilterParams(FS, cmr=True).label().endswith("+ CMR")
    with pytest.raises(ConfigError, match="weight"):
        an.drift_raster(pd.DataFrame({"time": [0.5], "y": [10.0], "amplitude": [-50.0]}), weight="depth")
    with pytest.raises(InvalidObject, match="sampling_frequency"):
        an.bandpass(xr.DataArray(np.zeros((10, 2), np.int16), dims=("time", "channel")))



def test_bandpass_is_lazy_and_matches_sosfiltfilt(traces):
    import dask.array as da
    import scipy.signal as ss

    filt = an.bandpass(traces)
    assert isinstance(filt.data, da.Array) and filt.dtype == np.float32
    assert filt.dims == ("time", "channel") and filt.chunks == traces.chunks
    a, b = int(2 * FS), int(5 * FS)
    got = filt[a:b, :8].values
    raw = traces[int(1.5 * FS):int(5.5 * FS), :8].values.astype(np.float64)
    sos = ss.butter(3, [300, 6000], btype="bandpass", fs=FS, output="sos")
    ref = ss.sosfiltfilt(sos, raw, axis=0)[int(0.5 * FS):int(3.5 * FS)]
    err = np.abs(got - ref).max()
    assert err < 0.02 * np.abs(ref).max(), err            # across chunk boundaries at 3 s and 4 s


def test_noise_levels_known_answer(rec, detection):
    noise, _ = detection
    assert noise.dims == ("channel",) and noise.sizes["channel"] == 384
    n = 1 << 16
    response = an.filters.power_response(n, FS, 300.0, 6000.0, 3).astype(float)
    gain = np.sqrt(np.mean(response ** 2))             # σ factor of the filter
    expected = np.sqrt(rec.noise_sigma ** 2 + rec.params["common_noise"] ** 2) * gain
    ratio = noise.values / expected
    print(f"\nnoise estimate / truth: median {np.median(ratio):.3f}, range {ratio.min():.3f}–{ratio.max():.3f}")
    assert 0.95 < np.median(ratio) < 1.08
    assert ratio.min() > 0.85 and ratio.max() < 1.25


# --------------------------------------------------------------------------------------------- detection

def test_detection_recall_and_precision(rec, detection):
    _, peaks = detection
    good = good_units(rec)
    assert good.sum() >= 12
    best, _ = match(rec, peaks, TOL_UM)
    hit = best >= 0
    sel = good[rec.spike_labels]
    recall = hit[sel].mean()
    per_unit = pd.Series(hit[sel]).groupby(rec.spike_labels[sel]).mean()
    _, used = match(rec, peaks, 2 * TOL_UM)
    precision = used.mean()
    print(f"\nrecall (well-isolated units, {good.sum()} units, {sel.sum()} spikes) {recall:.4f}; "
          f"recall (all) {hit.mean():.4f}; precision {precision:.4f} ({len(peaks)} detections, "
          f"{rec.spike_times.size} GT spikes); worst unit {per_unit.min():.3f}")
    assert recall >= 0.90
    assert per_unit.min() >= 0.80
    assert precision >= 0.95
    assert len(peaks) <= 1.1 * rec.spike_times.size


def test_peak_table_layout(traces, detection):
    _, peaks = detection
    assert list(peaks.columns) == ["sample_index", "time", "channel", "channel_index", "amplitude", "x", "y"]
    assert peaks["sample_index"].dtype == np.int64 and peaks["amplitude"].dtype == np.float32
    assert peaks["sample_index"].is_monotonic_increasing
    assert not peaks.duplicated(["sample_index", "channel"]).any()
    np.testing.assert_allclose(peaks["time"], peaks["sample_index"] / FS)
    assert (peaks["amplitude"] < 0).all()
    assert peaks["x"].between(traces["x"].min().item(), traces["x"].max().item()).all()


def test_spikes_on_chunk_boundaries_detected_once(rec, detection):
    _, peaks = detection
    good = good_units(rec)
    for frame, unit in BOUNDARY_SPIKES:
        assert good[unit], f"fixture assumption: unit {unit} is well isolated"
        y_true = rec.units["y"][unit] + rec.displacement(frame / FS)
        near = peaks[(peaks["sample_index"] - frame).abs() <= TOL_SAMPLES]
        near = near[np.hypot(near["x"] - rec.units["x"][unit], near["y"] - y_true) <= TOL_UM]
        assert len(near) == 1, (frame, unit, near)
        assert abs(int(near["sample_index"].iloc[0]) - frame) <= 1


def test_detection_does_not_depend_on_chunking(rec, detection):
    noise, _ = detection
    piece = memmap_traces(rec).isel(time=slice(int(4.5 * FS), int(6.5 * FS)))    # holds the 5-s boundary spike
    results = []
    for chunks in (int(FS), int(0.37 * FS), int(2 * FS)):
        tr = piece.chunk({"time": chunks})
        results.append(an.detect_spikes(tr, noise=noise, scheduler="threads"))
    ref = results[0]
    assert ref["sample_index"].min() >= 4.5 * FS and (ref["sample_index"] == 5 * 30000).any()
    for other in results[1:]:
        pd.testing.assert_frame_equal(ref[["sample_index", "channel"]], other[["sample_index", "channel"]])
        np.testing.assert_allclose(ref["amplitude"], other["amplitude"], atol=0.05)
        np.testing.assert_allclose(ref[["x", "y"]], other[["x", "y"]], atol=0.05)


def test_same_result_on_threads_processes_and_synchronous(rec, detection):
    noise, _ = detection
    piece = rec.to_dataarray(chunk_seconds=1.0).isel(time=slice(0, int(2 * FS)))
    out = {s: an.detect_spikes(piece, noise=noise.values, scheduler=s) for s in ("synchronous", "threads", "processes")}
    assert len(out["synchronous"]) > 100
    pd.testing.assert_frame_equal(out["synchronous"], out["threads"])
    pd.testing.assert_frame_equal(out["synchronous"], out["processes"])


def test_distributed_client_and_lazy_graph(rec, detection):
    distributed = pytest.importorskip("distributed")
    noise, _ = detection
    piece = rec.to_dataarray(chunk_seconds=1.0).isel(time=slice(int(9 * FS), int(11 * FS)))
    eager = an.detect_spikes(piece, noise=noise.values, scheduler="synchronous")
    lazy = an.detect_spikes(piece, compute=False)        # noise estimated inside the same graph
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        on_client = an.detect_spikes(piece, noise=noise.values)
        from_graph = client.compute(lazy).result()
    pd.testing.assert_frame_equal(eager, on_client)
    assert abs(len(from_graph) - len(eager)) <= 0.05 * len(eager)
    assert from_graph["sample_index"].min() >= 9 * FS


def test_localization_and_relocalization(rec, traces, detection):
    _, peaks = detection
    best, _ = match(rec, peaks, TOL_UM)
    sel = good_units(rec)[rec.spike_labels] & (best >= 0)
    st, sl = rec.spike_times[sel], rec.spike_labels[sel]
    y_err = np.abs(peaks["y"].to_numpy()[best[sel]] - rec.units["y"][sl] - rec.displacement(st / FS))
    print(f"\nlocalization |y error| (well-isolated units): median {np.median(y_err):.1f} µm, "
          f"90th percentile {np.percentile(y_err, 90):.1f} µm")
    assert np.median(y_err) < 8.0
    sub = peaks[peaks["time"] < 3.0]
    again = an.localize_peaks(traces, sub.drop(columns=["x", "y"]), scheduler="threads")
    np.testing.assert_allclose(again[["x", "y"]].to_numpy(), sub[["x", "y"]].to_numpy(), atol=1e-3)


# --------------------------------------------------------------------------------------------- motion

def test_drift_raster(detection):
    _, peaks = detection
    raster = an.drift_raster(peaks, bin_s=2.0, bin_um=5.0)
    assert raster.dims == ("time", "depth")
    assert raster.sizes["time"] == int(DURATION / 2)
    assert int(raster.sum()) == len(peaks)
    np.testing.assert_allclose(raster["time"].values, np.arange(1.0, DURATION, 2.0))


def relative_to_first_bin(values: np.ndarray, motion: pd.DataFrame) -> np.ndarray:
    """``values`` minus their value at the motion's reference: its first bin with an estimate."""
    first = np.flatnonzero(np.isfinite(motion["displacement"].to_numpy()))[0]
    return values - values[first]


def test_motion_matches_imposed_steps(rec, detection):
    _, peaks = detection
    motion = an.estimate_motion(peaks, bin_s=2.0)
    assert list(motion.columns) == ["time", "displacement"]
    truth = relative_to_first_bin(bin_truth(rec, motion["time"].to_numpy(), 2.0), motion)
    err = motion["displacement"].to_numpy() - truth         # no offset fitted: both are 0 on the first bin
    rms = np.sqrt(np.mean(err ** 2))
    print(f"\nrigid motion RMS error vs imposed 50-µm steps (first bin = 0): {rms:.2f} µm; max "
          f"{np.abs(err).max():.2f} µm; estimate {np.round(motion['displacement'].to_numpy(), 1).tolist()}")
    assert motion["displacement"].iloc[0] == 0.0
    assert rms <= 3.0 and np.abs(err).max() <= 5.0
    # sign: bins fully on the 50-µm plateaus sit ~50 µm above bins fully at rest
    up = motion["displacement"][np.isclose(truth, 50.0, atol=0.5)].mean()
    rest = motion["displacement"][np.isclose(truth, 0.0, atol=0.5)].mean()
    assert 45.0 < up - rest < 55.0
    again = an.estimate_motion(an.drift_raster(peaks, bin_s=2.0, bin_um=5.0))
    np.testing.assert_allclose(again["displacement"], motion["displacement"])
    everything = an.estimate_motion(peaks, bin_s=2.0, time_horizon_s=DURATION)
    np.testing.assert_allclose(everything["displacement"], motion["displacement"])
    near = an.estimate_motion(peaks, bin_s=2.0, time_horizon_s=6.0)
    assert np.sqrt(np.mean((near["displacement"].to_numpy() - truth) ** 2)) <= 3.0


def test_motion_reference_is_the_first_bin_with_an_estimate():
    """Triangle drift from synth's protocol, peaks only from 20 s on: the first 10 bins are empty (NaN) and
    the reference is the bin at 20-22 s, where the imposed drift is near its 50-µm top, not 0."""
    duration, bin_s = 60.0, 2.0
    ts, ps = synth.drift_protocol("triangle", duration)
    rng = np.random.default_rng(3)
    tables = []
    for y0 in rng.uniform(100.0, 3000.0, 40):
        t = np.sort(rng.uniform(0.0, duration, rng.poisson(8 * duration)))
        tables.append(pd.DataFrame({"time": t, "y": y0 + np.interp(t, ts, ps) + rng.normal(0.0, 3.0, t.size)}))
    peaks = pd.concat(tables).sort_values("time", ignore_index=True)
    peaks = peaks[peaks["time"] >= 20.0]
    motion = an.estimate_motion(peaks, bin_s=bin_s, time_range=(0.0, duration))
    d = motion["displacement"].to_numpy()
    assert np.isnan(d[:10]).all() and np.isfinite(d[10:]).all() and d[10] == 0.0
    imposed = np.array([np.interp(np.linspace(t - bin_s / 2, t + bin_s / 2, 401), ts, ps).mean()
                        for t in motion["time"]])
    assert imposed[10] > 40.0
    err = d[10:] - relative_to_first_bin(imposed, motion)[10:]
    print(f"\nmotion vs imposed triangle (reference: bin at {motion['time'][10]:.0f} s): "
          f"max |error| {np.abs(err).max():.2f} µm")
    assert np.abs(err).max() <= 2.0
    assert "first" in motion.attrs["reference"]


def test_motion_cross_check_with_spikeinterface(rec, detection):
    """spikeinterface's ``decentralized`` rigid estimator on the same recording and peaks."""
    pytest.importorskip("spikeinterface")
    import spikeinterface.core as sc
    from probeinterface import Probe
    from spikeinterface.core.node_pipeline import base_peak_dtype
    from spikeinterface.sortingcomponents.motion import estimate_motion as si_estimate_motion

    _, peaks = detection
    recording = sc.read_binary(str(rec.raw_path), sampling_frequency=FS, num_channels=rec.raw_num_channels,
                               dtype="int16", gain_to_uV=synth.UV_PER_BIT, offset_to_uV=0.0)
    recording = recording.select_channels(recording.channel_ids[:384])
    probe = Probe(ndim=2, si_units="um")
    probe.set_contacts(positions=rec.positions_xy, shapes="square", shape_params={"width": 12})
    probe.set_device_channel_indices(np.arange(384))
    recording = recording.set_probe(probe) or recording          # in place (returns None) in 0.105
    si_peaks = np.zeros(len(peaks), dtype=base_peak_dtype)
    si_peaks["sample_index"] = peaks["sample_index"]
    si_peaks["channel_index"] = peaks["channel_index"]
    si_peaks["amplitude"] = peaks["amplitude"]
    locations = np.zeros(len(peaks), dtype=[("x", "float64"), ("y", "float64")])
    locations["x"], locations["y"] = peaks["x"], peaks["y"]
    motion = si_estimate_motion(recording, si_peaks, locations, method="decentralized", rigid=True, bin_s=2.0)
    si_t = np.asarray(motion.temporal_bins_s[0])
    si_d = np.asarray(motion.displacement[0]).ravel()
    ours = an.estimate_motion(peaks, bin_s=2.0)
    np.testing.assert_allclose(si_t, ours["time"])
    truth = bin_truth(rec, si_t, 2.0)

    def rms(d):
        e = d - truth
        return float(np.sqrt(np.mean((e - e.mean()) ** 2)))

    corr = np.corrcoef(si_d, ours["displacement"])[0, 1]
    print(f"\nspikeinterface decentralized: RMS vs truth {rms(si_d):.2f} µm; "
          f"ours {rms(ours['displacement'].to_numpy()):.2f} µm; correlation ours/SI {corr:.4f}")
    assert corr > 0.97
    assert rms(ours["displacement"].to_numpy()) <= rms(si_d) + 1.0


@pytest.fixture(scope="module")
def catalog_traces(rec, tmp_path_factory):
    """The same recording through a catalog and our store: what ``cat[name].to_dask()`` gives users."""
    import intake_npx2020

    out = tmp_path_factory.mktemp("synth_catalog")
    synth.write_catalog(rec, out / "store", out / "catalog.yaml", "steps")
    entry = intake_npx2020.open_catalog(out / "catalog.yaml")["steps"]
    return entry(storage_options={"store": str(out / "store")}).to_dask()


def _layer_tasks(graph, prefix: str) -> int:
    return sum(len(layer) for name, layer in graph.layers.items() if name.startswith(prefix))


def test_catalog_traces_are_read_window_by_window(rec, catalog_traces, detection):
    noise, peaks = detection
    x = catalog_traces
    lazy, _ = lazy_traces_of(x.data)
    assert lazy is not None and lazy.shape == x.shape
    lazy_peaks = an.detect_spikes(x, noise=noise, compute=False)
    graph = lazy_peaks.__dask_graph__()
    n_chunks = x.data.numblocks[0]
    # the reader alone + one layer: a task per chunk, the shared arguments and the concatenation
    assert len(graph.layers) == 2 and len(graph) == 1 + n_chunks + 2
    assert _layer_tasks(graph, "npx2020-detect-") == n_chunks + 2
    got = lazy_peaks.compute(scheduler="threads")
    pd.testing.assert_frame_equal(got, peaks)
    piece = slice(int(4.5 * FS), int(6.5 * FS))
    np.testing.assert_array_equal(an.bandpass(x).isel(time=piece).values,
                                  an.bandpass(memmap_traces(rec)).isel(time=piece).values)


def test_sliced_traces_use_neighbouring_chunks(rec, catalog_traces, detection):
    noise, peaks = detection
    piece = catalog_traces.isel(time=slice(int(3 * FS), int(7 * FS)), channel=slice(None))
    assert lazy_traces_of(piece.data)[0] is None
    lazy_peaks = an.detect_spikes(piece, noise=noise, compute=False)
    assert _layer_tasks(lazy_peaks.__dask_graph__(), "npx2020-detect-") == piece.data.numblocks[0] + 2
    got = lazy_peaks.compute(scheduler="threads")
    inner = (peaks["time"] >= 3.05) & (peaks["time"] < 6.95)      # away from the piece's own ends
    mask = (got["time"] >= 3.05) & (got["time"] < 6.95)
    pd.testing.assert_frame_equal(got[mask].reset_index(drop=True), peaks[inner].reset_index(drop=True))


def test_hour_long_graph_is_one_task_per_chunk():
    import intake_npx2020

    x = intake_npx2020.open_catalog()["cortexlab-single-phase-3"].to_dask()
    assert x.sizes["time"] / x.attrs["sampling_frequency"] > 3600
    lazy_peaks = an.detect_spikes(x, noise=np.ones(x.sizes["channel"]), compute=False)
    n_chunks = x.data.numblocks[0]
    assert len(lazy_peaks.__dask_graph__()) == 1 + n_chunks + 2      # the reader, a task per chunk, 2 more
    filtered = an.bandpass(x).data
    assert filtered.numblocks == (n_chunks, 1) and len(filtered.dask) == 1 + n_chunks + 1
