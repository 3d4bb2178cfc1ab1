"""Synthetic recordings: determinism, streaming, layout, drift ground truth, collection objects."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from intake_npx2020 import synth
from intake_npx2020.synth.units import make_units, spike_trains

FS = 30000.0


def sha1_file(path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def raw(r: synth.SynthResult) -> np.memmap:
    return np.memmap(r.raw_path, dtype="<i2", mode="r", shape=(r.num_frames, r.raw_num_channels))


@pytest.fixture(scope="module")
def np1(tmp_path_factory):
    return synth.generate(tmp_path_factory.mktemp("np1"), duration=4.0, probe="NP1", num_units=20,
                          drift="steps", seed=3, chunk_seconds=1.0, progress=False)


# --------------------------------------------------------------------------------------------- bytes

def test_same_seed_same_bytes_any_chunking(np1, tmp_path):
    again = synth.generate(tmp_path / "a", duration=4.0, probe="NP1", num_units=20, drift="steps", seed=3,
                           chunk_seconds=0.37, progress=False)
    assert sha1_file(again.raw_path) == sha1_file(np1.raw_path)
    for name in ("spike_times.npy", "spike_labels.npy", "manip.timestamps.npy", "manip.positions.npy"):
        assert sha1_file(again.out_dir / name) == sha1_file(np1.out_dir / name), name
    other = synth.generate(tmp_path / "b", duration=4.0, probe="NP1", num_units=20, drift="steps", seed=4,
                           progress=False)
    assert sha1_file(other.raw_path) != sha1_file(np1.raw_path)


def test_chunk_size_not_dividing_noise_blocks(tmp_path):
    """Chunks of odd sizes (crossing noise blocks and spikes anywhere) give the same bytes."""
    kw = dict(duration=1.5, probe="NP2", num_units=30, drift="triangle", seed=11, progress=False,
              firing_rates=(40.0, 60.0))
    a = synth.generate(tmp_path / "a", chunk_seconds=1.5, **kw)
    b = synth.generate(tmp_path / "b", chunk_seconds=0.0123, **kw)
    assert sha1_file(a.raw_path) == sha1_file(b.raw_path)


def test_file_size_and_layout_np1(np1):
    assert np1.raw_num_channels == 385 and np1.num_frames == int(4.0 * FS)
    assert np1.raw_path.stat().st_size == np1.num_frames * 2 * np1.raw_num_channels
    assert list(np1.channel_ids) == list(range(384))
    assert np1.channel_map == {c: c for c in range(384)}                    # column 384 (sync) is unmapped
    pos = np1.positions_xy
    np.testing.assert_array_equal(pos[:4], [[16, 0], [48, 0], [0, 20], [32, 20]])
    np.testing.assert_array_equal(pos[-1], [32, 3820])
    sync = np.asarray(raw(np1)[:, 384])
    assert set(np.unique(sync)) == {0, 64}
    assert sync[0] == 0 and sync[int(FS / 2)] == 64 and sync[int(FS)] == 0


def test_file_size_and_layout_np2(tmp_path):
    r = synth.generate(tmp_path, duration=0.5, probe="NP2", num_units=5, drift=None, seed=0, progress=False)
    assert r.raw_num_channels == 384
    assert r.raw_path.stat().st_size == r.num_frames * 2 * 384
    pos = r.positions_xy
    np.testing.assert_array_equal(pos[:4], [[0, 0], [32, 0], [0, 15], [32, 15]])
    np.testing.assert_array_equal(pos[-1], [32, 2865])
    with pytest.raises(ValueError, match="unknown probe"):
        synth.generate(tmp_path / "x", duration=0.1, probe="NP3", progress=False)


def test_noise_statistics(np1):
    data = np.asarray(raw(np1)[:int(FS), :384], dtype=float)
    expected = np.sqrt(np1.noise_sigma ** 2 + np1.params["common_noise"] ** 2)
    # median absolute deviation is insensitive to the (sparse) spikes
    mad = np.median(np.abs(data - np.median(data, axis=0)), axis=0) / 0.6745
    ratio = mad / expected
    assert 0.93 < np.median(ratio) < 1.07, np.median(ratio)
    assert 5.0 <= np1.noise_sigma.min() and np1.noise_sigma.max() <= 8.0
    # common mode: channels far apart are correlated at ρ ≈ cm² / (σ1 σ2)
    rho = np.corrcoef(data[:, 10], data[:, 300])[0, 1]
    cm2 = np1.params["common_noise"] ** 2
    assert abs(rho - cm2 / (expected[10] * expected[300])) < 0.02


# --------------------------------------------------------------------------------------------- spikes

def test_ground_truth_files(np1):
    times, labels = np.load(np1.times_path), np.load(np1.labels_path)
    assert times.dtype == np.int64 and labels.dtype == np.int64
    assert np.all(np.diff(times) >= 0) and times.min() >= 0 and times.max() < np1.num_frames
    np.testing.assert_array_equal(times, np1.spike_times)
    np.testing.assert_array_equal(labels, np1.spike_labels)
    assert set(np.unique(labels)) <= set(range(20))
    for u in range(20):
        t = times[labels == u]
        assert np.all(np.diff(t) >= int(0.002 * FS) - 1), u                 # 2 ms refractory period
    units = json.loads(np1.units_path.read_text())
    assert len(units["x"]) == 20 and {"x", "y", "z", "amplitude", "firing_rate"} <= set(units)
    amp_uv = np.asarray(units["amplitude_uv"])
    assert amp_uv.min() >= 50 and amp_uv.max() <= 250
    np.testing.assert_allclose(np.asarray(units["amplitude"]) * synth.UV_PER_BIT, amp_uv)


def test_firing_rates_and_depth_spread(tmp_path):
    r = synth.generate(tmp_path, duration=0.1, probe="NP1", num_units=40, drift=None, seed=5, progress=False)
    rates = r.units["firing_rate"]
    assert rates.min() >= 2.0 and rates.max() <= 15.0
    y = r.units["y"]
    assert y.min() < 600 and y.max() > 3200                                  # spread over the 3.84 mm shank
    # trains: mean rate over a long (unrendered) stretch matches each unit's rate
    times, labels = spike_trains(5, make_units(5, 40, r.positions_xy, FS, (50, 250), (2, 15)),
                                 int(200 * FS), FS, 0.002, None)
    counts = np.bincount(labels, minlength=40) / 200.0
    assert np.all(np.abs(counts - rates) < 4 * np.sqrt(rates / 200.0) + 0.05)


def test_rendered_spike_shape_and_position(tmp_path):
    """Without noise the trace is the sum of templates: a forced spike's trough is on the right frame,
    the peak channel carries the unit's amplitude, and amplitude decays with distance."""
    frame = 30000                                                            # exactly on a chunk boundary
    r = synth.generate(tmp_path, duration=2.0, probe="NP1", num_units=3, drift=None, seed=2, progress=False,
                       noise_range=(0.0, 0.0), common_noise=0.0, amplitude_jitter=0.0, firing_rates=(0.01, 0.01),
                       extra_spikes=[(frame, 1)])
    data = np.asarray(raw(r)[:, :384], dtype=float)
    u = 1
    assert frame in r.spike_times[r.spike_labels == u]
    others = r.spike_times[r.spike_labels != u]
    assert np.all(np.abs(others - frame) > 90), "test assumption: forced spike is alone"
    peak = r.units["peak_channel"][u]
    win = data[frame - 30:frame + 60]
    assert np.argmin(win[:, peak]) == 30
    assert abs(win[30, peak] + r.units["amplitude"][u]) <= 0.5 + 1e-9        # int16 rounding only
    assert win[:, peak].max() > 0.1 * r.units["amplitude"][u]                # biphasic: positive lobe after
    assert np.argmax(win[:, peak]) > 30
    trough = -win[30]
    d = np.hypot(r.positions_xy[:, 0] - r.units["x"][u], r.positions_xy[:, 1] - r.units["y"][u])
    assert trough[d > 250].max() == 0                                        # sparse template
    assert (trough[d < 60] > 0).sum() >= 6
    assert np.corrcoef(d[trough > 2], np.log(trough[trough > 2]))[0, 1] < -0.9   # decays with distance


def test_spikes_follow_the_drift(tmp_path):
    """The peak channel of a unit moves by the imposed displacement."""
    r = synth.generate(tmp_path, duration=5.0, probe="NP1", num_units=1, drift="steps", seed=1, progress=False,
                       noise_range=(0.0, 0.0), common_noise=0.0, amplitude_jitter=0.0, firing_rates=(0.01, 0.01),
                       extra_spikes=[(int(0.5 * FS), 0), (int(1.5 * FS), 0)], chunk_seconds=2.0)
    assert r.displacement(0.5) == 0 and r.displacement(1.5) == 50
    data = raw(r)
    ys = []
    for f in (int(0.5 * FS), int(1.5 * FS)):
        trough = -np.asarray(data[f, :384], dtype=float)
        w = np.clip(trough, 0, None)
        ys.append((w * r.positions_xy[:, 1]).sum() / w.sum())
    assert abs((ys[1] - ys[0]) - 50.0) < 3.0


# --------------------------------------------------------------------------------------------- drift

@pytest.mark.parametrize("kind", ["triangle", "steps"])
@pytest.mark.parametrize("duration", [20.0, 60.0, 600.0, 1800.0])
def test_drift_protocols(kind, duration):
    ts, ps = synth.drift_protocol(kind, duration)
    assert ts.dtype == np.float64 and ps.dtype == np.float64 and ts.shape == ps.shape
    assert np.all(np.diff(ts) > 0) and ts[0] == 0.0 and ts[-1] == duration
    assert ps.min() == 0.0 and ps.max() == 50.0
    t = np.linspace(0, duration, 200001)
    d = np.interp(t, ts, ps)
    assert np.all(d[t <= 0.2 * duration] == 0) and np.all(d[t >= 0.8 * duration + 1e-3] == 0)
    frames = np.arange(0, int(duration * FS) + 1, 7) / FS
    dd = np.interp(frames, ts, ps)
    if kind == "steps":
        assert set(np.unique(dd)) == {0.0, 50.0}                              # instantaneous at sample resolution
        assert np.count_nonzero(np.diff(dd)) == 4
    else:
        # two full 0 → 50 → 0 cycles with constant-speed ramps
        assert np.count_nonzero(ps == 50.0) == 2
        slopes = np.abs(np.diff(ps) / np.diff(ts))[1:-1]
        np.testing.assert_allclose(slopes, slopes[0])


def test_drift_files_reproduce_displacement(np1):
    ts, ps = np.load(np1.timestamps_path), np.load(np1.positions_path)
    assert ts.dtype == np.float64 and ps.dtype == np.float64 and ts.ndim == 1 and ts.shape == ps.shape
    t = np.arange(np1.num_frames) / FS
    np.testing.assert_array_equal(np.interp(t, ts, ps), np1.displacement(t))
    assert np1.displacement(0.5) == 0.0 and np1.displacement(1.2) == 50.0 and np1.displacement(2.0) == 0.0
    none_ts, none_ps = synth.drift_protocol(None, 10.0)
    np.testing.assert_array_equal(none_ps, [0.0, 0.0])
    with pytest.raises(ValueError, match="unknown drift"):
        synth.drift_protocol("zigzag", 10.0)


# --------------------------------------------------------------------------------------------- objects

def test_bin1_and_npy1_objects(np1):
    obj = np1.bin1_object("sha1://" + "a" * 40 + "/raw.bin")
    assert list(obj) == ["recording_format", "data"] and obj["recording_format"] == "bin1"
    data = obj["data"]
    assert list(data) == ["raw", "raw_num_channels", "num_frames", "samplerate", "channel_ids", "channel_map",
                          "channel_positions"]
    assert data["raw_num_channels"] == 385 and data["num_frames"] == np1.num_frames
    assert data["samplerate"] == 30000 and isinstance(data["samplerate"], int)
    assert data["channel_ids"] == list(range(384))
    assert list(data["channel_map"])[:3] == ["0", "1", "2"] and data["channel_map"]["383"] == 383
    assert data["channel_positions"]["1"] == [48.0, 0.0]
    assert all(isinstance(v, float) for v in data["channel_positions"]["5"])
    text = json.dumps(obj)
    assert text.startswith('{"recording_format": "bin1", "data": {"raw": "sha1://')
    srt = np1.npy1_object("sha1://t/spike_times.npy", "sha1://l/spike_labels.npy")
    assert srt == {"sorting_format": "npy1", "data": {"times_npy_uri": "sha1://t/spike_times.npy",
                                                      "labels_npy_uri": "sha1://l/spike_labels.npy",
                                                      "samplerate": 30000}}
    assert list(srt["data"]) == ["times_npy_uri", "labels_npy_uri", "samplerate"]


def test_load_round_trip_and_dataarray(np1):
    back = synth.SynthResult.load(np1.out_dir)
    assert back.bin1_object("u") == np1.bin1_object("u")
    np.testing.assert_array_equal(back.spike_times, np1.spike_times)
    np.testing.assert_allclose(back.units["y"], np1.units["y"])
    da = np1.to_dataarray(chunk_seconds=0.5)
    assert da.dims == ("time", "channel") and da.dtype == np.int16 and da.shape == (np1.num_frames, 384)
    assert da.chunks[0][0] == int(0.5 * FS) and len(da.chunks[1]) == 1
    assert da.attrs["sampling_frequency"] == FS
    np.testing.assert_array_equal(da["y"].values, np1.positions_xy[:, 1])
    np.testing.assert_array_equal(da[14000:16000].values, raw(np1)[14000:16000, :384])
    import pickle

    pickle.loads(pickle.dumps(da.data.dask))                                  # graph holds paths, not data


def test_write_catalog(np1, tmp_path):
    import yaml

    from intake_npx2020.store import get_store

    cat_path = tmp_path / "cat" / "synth.yaml"
    store_dir = tmp_path / "store"
    synth.write_catalog(np1, store_dir, cat_path, "synth-np1-steps")
    cat = yaml.safe_load(cat_path.read_text())
    src = cat["sources"]
    assert list(src) == ["synth-np1-steps", "synth-np1-steps:ground_truth", "synth-np1-steps:drift"]
    rec = src["synth-np1-steps"]
    assert rec["driver"] == "npx_recording" and rec["args"]["chunk_seconds"] == 1.0
    assert rec["metadata"]["kind"] == "recording" and rec["metadata"]["drift"] is True
    assert rec["metadata"]["probe"] == "NP1"
    obj = rec["args"]["recording"]
    assert list(obj["data"]) == list(np1.bin1_object("x")["data"])
    assert obj["data"]["raw"].startswith("sha1://")
    gt = src["synth-np1-steps:ground_truth"]
    assert gt["driver"] == "npx_sorting" and gt["metadata"]["recording_id"] == "synth-np1-steps"
    assert gt["args"]["sorting"]["sorting_format"] == "npy1"
    dr = src["synth-np1-steps:drift"]
    assert dr["driver"] == "npx_drift" and dr["metadata"]["kind"] == "drift"
    store = get_store({"store": str(store_dir)})
    head = bytes(store.read(obj["data"]["raw"], 0, 4096))
    assert head == np1.raw_path.read_bytes()[:4096]
    ts_bytes = bytes(store.read(dr["args"]["timestamps"]))
    assert ts_bytes == np1.timestamps_path.read_bytes()


# --------------------------------------------------------------------------------------------- speed

def test_progress_and_speed(tmp_path):
    calls = []
    r = synth.generate(tmp_path, duration=10.0, probe="NP1", num_units=40, drift="triangle", seed=0,
                       progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (r.num_frames, r.num_frames) and len(calls) == 10
    print(f"\nsynth NP1 385 columns, 40 units: {r.duration:.0f} s in {r.elapsed:.2f} s "
          f"= {r.realtime_factor:.1f}x real time")
    assert r.realtime_factor > 0.5                                           # very generous; typically 4-6x
