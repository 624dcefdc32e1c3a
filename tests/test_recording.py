"""What monitors record in one process: windows (start/stop), sampling intervals, slices,
population rates, gather modes, and the errors for what cannot be recorded. Under MPI:
tests/mpi/test_mpi_recording.py."""

from __future__ import annotations

import re

import numpy as np
import pytest

import spikeshard as ss
from spikeshard.errors import NetworkError, SimulationError
from spikeshard.models import LIF, LIFDelta
from spikeshard.monitors import RecordingContext

DT = 1e-4


def driven(*monitors_of, n: int = 30, seed: int = 4):
    """LIFDelta neurons under Poisson drive with the monitors ``monitors_of(pop)`` makes."""
    pop = ss.Population(LIFDelta, n, label="exc", initial={"v": ss.Uniform(-70.0, -56.0)})
    monitors = [make(pop) for make in monitors_of]
    net = ss.Network(pop, ss.PoissonInput(pop, rate_hz=4000.0, weight=1.0), *monitors,
                     seed=seed)
    return net, monitors


def test_a_window_records_only_spikes_in_start_to_stop(backend):
    net, (full, window) = driven(ss.SpikeMonitor,
                                 lambda p: ss.SpikeMonitor(p, start=0.01, stop=0.03))
    net.run(0.02, dt=DT, backend=backend, progress=False)
    net.run(0.02, progress=False)
    keep = (full.times > 0.01 + 1e-12) & (full.times <= 0.03 + 1e-12)
    np.testing.assert_array_equal(window.times, full.times[keep])
    np.testing.assert_array_equal(window.ids, full.ids[keep])
    assert 0 < window.count < full.count
    assert window.duration == pytest.approx(0.02) and full.duration == pytest.approx(0.04)
    assert window.mean_rate() == pytest.approx(window.count / (30 * 0.02))


def test_a_slice_records_its_neurons(backend):
    net, (full, part) = driven(ss.SpikeMonitor, lambda p: ss.SpikeMonitor(p[5:12]))
    net.run(0.03, dt=DT, backend=backend, progress=False)
    np.testing.assert_array_equal(part.recorded_ids, np.arange(5, 12))
    keep = (full.ids >= 5) & (full.ids < 12)
    np.testing.assert_array_equal(part.ids, full.ids[keep])
    np.testing.assert_array_equal(part.times, full.times[keep])
    vm = ss.StateMonitor(ss.Population(LIF, 9)[2:4], ["v"])
    np.testing.assert_array_equal(vm.record, [2, 3])


def test_interval_samples_every_kth_step_in_the_window(backend):
    net, (every, sparse) = driven(
        lambda p: ss.StateMonitor(p, ["v", "refractory"], record=[0, 7, 29]),
        lambda p: ss.StateMonitor(p, ["v", "refractory"], record=[0, 7, 29], interval=0.0005,
                                  start=0.002, stop=0.0131))
    net.run(0.0073, dt=DT, backend=backend, progress=False)
    net.run(0.0127, progress=False)
    # Steps ending on a multiple of 0.5 ms, after 2 ms and up to 13.1 ms.
    np.testing.assert_allclose(sparse.t, np.arange(0.0025, 0.01301, 0.0005))
    rows = np.round(sparse.t / DT).astype(int) - 1
    for var in ("v", "refractory"):
        np.testing.assert_array_equal(sparse.traces[var], every.traces[var][rows])
    assert sparse.n_samples == len(sparse.t) == 22


def test_rate_monitor_counts_the_population_per_bin(backend):
    net, (spikes, rate, late) = driven(
        ss.SpikeMonitor, lambda p: ss.RateMonitor(p, bin_width=0.002),
        lambda p: ss.RateMonitor(p, bin_width=0.0015, start=0.003, stop=0.0165))
    net.run(0.0123, dt=DT, backend=backend, progress=False)
    # Only completed bins are reported: six of 2 ms so far.
    assert len(rate.rate) == 6
    net.run(0.0177, progress=False)
    assert len(rate.rate) == 15 and len(late.rate) == 9
    for mon, start, width, n_bins in ((rate, 0.0, 0.002, 15), (late, 0.003, 0.0015, 9)):
        edges = start + np.arange(n_bins + 1) * width
        # Bins are (t, t + width]: spike times are end-of-step times.
        counts = np.histogram(spikes.times - 1e-9, bins=edges)[0]
        np.testing.assert_allclose(mon.rate, counts / (30 * width), rtol=1e-12)
        np.testing.assert_allclose(mon.t, edges[:-1])
        assert mon.count == counts.sum()
        assert mon.mean_rate() == pytest.approx(counts.sum() / (30 * n_bins * width))
    assert rate.count > 50


def test_rate_monitor_is_the_same_on_both_engines_and_for_any_split_of_the_run():
    results = []
    for backend, splits in (("rust", [0.03]), ("numpy", [0.0051, 0.0049, 0.02])):
        net, (rate,) = driven(lambda p: ss.RateMonitor(p, bin_width=0.001))
        for i, duration in enumerate(splits):
            net.run(duration, dt=DT if i == 0 else None, backend=backend, progress=False)
        results.append(rate.rate)
    np.testing.assert_array_equal(*results)


@pytest.mark.parametrize(("make", "text"), [
    (lambda p: ss.StateMonitor(p, ["v"], interval=0.00015), "StateMonitor interval = 0.00015 s"),
    (lambda p: ss.SpikeMonitor(p, start=0.00005), "SpikeMonitor start = 5e-05 s"),
    (lambda p: ss.SpikeMonitor(p, stop=0.01234567), "SpikeMonitor stop = 0.01234567 s"),
    (lambda p: ss.RateMonitor(p, bin_width=0.00025), "RateMonitor bin_width = 0.00025 s"),
])
def test_times_that_are_not_whole_steps_are_refused_at_build(make, text):
    pop = ss.Population(LIF, 3)
    net = ss.Network(pop, make(pop))
    with pytest.raises(NetworkError, match=re.escape(text + " is not a whole number of steps")):
        net.run(0.001, dt=DT, progress=False)


@pytest.mark.parametrize(("make", "text"), [
    (lambda p: ss.StateMonitor(p, ["v", "i_syn_ex", "v"]), "names 'v' twice"),
    (lambda p: ss.SpikeMonitor(p, gather="rank0"), "gather = 'rank0': expected one of"),
    (lambda p: ss.StateMonitor(p, gather=None), "gather = None"),
    (lambda p: ss.SpikeMonitor(p, start=0.02, stop=0.01), "stop = 0.01 s: expected stop >="),
    (lambda p: ss.SpikeMonitor(p, start=-1.0), "start = -1.0"),
    (lambda p: ss.StateMonitor(p, interval=0.0), "interval = 0.0"),
    (lambda p: ss.RateMonitor(p, bin_width=-0.001), "bin_width = -0.001"),
    (lambda p: ss.RateMonitor(p[0:2], bin_width=0.001), "expected a Population"),
    (lambda p: ss.SpikeMonitor(p[0:2], record=[1]), "give a population slice or record="),
    (lambda p: ss.SpikeMonitor(p, record=False), "record = False"),
])
def test_bad_monitor_arguments(make, text):
    with pytest.raises(NetworkError, match=re.escape(text)):
        make(ss.Population(LIF, 3))


def test_data_gathered_on_rank_zero_are_refused_elsewhere_but_totals_are_not():
    # A rank other than 0 of a gather="root" monitor, as the run loop leaves it there.
    pop = ss.Population(LIF, 4)
    spikes, state, rate = (ss.SpikeMonitor(pop), ss.StateMonitor(pop, ["v"]),
                           ss.RateMonitor(pop, bin_width=0.001))
    context = RecordingContext(dt=DT, rank=1, n_ranks=2, owned_ids=np.arange(2, 4))
    for mon in (spikes, state, rate):
        mon.bind(context)
        assert not mon.holds_data
    spikes.add_run(0.01, 12, None)
    state.add_run(0.01, np.arange(1, 101) * DT, None)
    rate.add_run(0.01, 12, None)
    assert spikes.count == 12 and spikes.mean_rate() == pytest.approx(12 / (4 * 0.01))
    assert rate.count == 12 and rate.mean_rate() == pytest.approx(12 / (4 * 0.01))
    np.testing.assert_allclose(state.t, np.arange(1, 101) * DT)
    message = re.escape("gathered on rank 0 only (gather='root') and this is rank 1")
    for read in (lambda: spikes.spikes, lambda: spikes.rates(), lambda: spikes.spike_trains(),
                 lambda: state.traces, lambda: state.v, lambda: rate.rate):
        with pytest.raises(SimulationError, match=message):
            read()


def test_local_monitors_hold_this_ranks_neurons():
    pop = ss.Population(LIF, 6)
    spikes = ss.SpikeMonitor(pop, record=[0, 2, 3, 5], gather="local")
    state = ss.StateMonitor(pop, ["v"], record=[1, 4, 5], gather="local")
    context = RecordingContext(dt=DT, rank=1, n_ranks=2, owned_ids=np.arange(3, 6))
    spikes.bind(context)
    state.bind(context)
    np.testing.assert_array_equal(spikes.held_ids, [3, 5])
    np.testing.assert_array_equal(state.held_ids, [4, 5])
    assert state.traces["v"].shape == (0, 2)


@pytest.mark.parametrize("gather", ["root", "all", "local"])
def test_every_gather_mode_holds_everything_in_one_process(gather):
    net, (spikes, state, rate) = driven(
        lambda p: ss.SpikeMonitor(p, gather=gather),
        lambda p: ss.StateMonitor(p, ["v"], record=[3, 1], gather=gather),
        lambda p: ss.RateMonitor(p, bin_width=0.001, gather=gather))
    reference, (ref_spikes, ref_state, ref_rate) = driven(
        ss.SpikeMonitor, lambda p: ss.StateMonitor(p, ["v"], record=[1, 3]),
        lambda p: ss.RateMonitor(p, bin_width=0.001))
    for network in (net, reference):
        network.run(0.01, dt=DT, progress=False)
    np.testing.assert_array_equal(spikes.ids, ref_spikes.ids)
    np.testing.assert_array_equal(state.v, ref_state.v)
    np.testing.assert_array_equal(state.held_ids, [1, 3])
    np.testing.assert_array_equal(rate.rate, ref_rate.rate)


def _recording_bytes(monitor_of, n: int, duration: float, backend: str = "rust") -> int:
    pop = ss.Population(LIFDelta, n, initial={"v": ss.Uniform(-70.0, -56.0)})
    net = ss.Network(pop, ss.PoissonInput(pop, rate_hz=3000.0, weight=1.0), monitor_of(pop),
                     seed=1)
    net.run(duration, dt=DT, backend=backend, progress=False)
    return net.recording_bytes


@pytest.mark.slow
def test_recording_a_subset_costs_memory_of_the_subset_not_the_population():
    """The engine's own byte count: spikes and samples of 1,000 of 200,000 neurons."""
    big, subset = 200_000, 1_000
    all_spikes = _recording_bytes(ss.SpikeMonitor, big, 0.02)
    some_spikes = _recording_bytes(lambda p: ss.SpikeMonitor(p[5_000:5_000 + subset]), big,
                                   0.02)
    # About 1/200 of the spikes (and 4 bytes per selected neuron); Vec growth may double.
    assert all_spikes > 200_000
    assert some_spikes < 4 * all_spikes * subset / big + 8 * subset
    # Sampled state: 8 bytes a sample, plus 8 bytes of selection per neuron; nothing grows
    # with the other 199,000 neurons.
    every_step = _recording_bytes(
        lambda p: ss.StateMonitor(p, ["v"], record=np.arange(0, big, big // subset)), big,
        0.005)
    samples = 50 * subset * 8
    assert samples <= every_step <= 2 * samples + 8 * subset
    every_tenth = _recording_bytes(
        lambda p: ss.StateMonitor(p, ["v"], record=np.arange(subset), interval=0.001), big,
        0.005)
    assert every_tenth <= 2 * samples / 10 + 8 * subset


def test_the_numpy_engine_counts_recorded_bytes_too():
    small = _recording_bytes(lambda p: ss.SpikeMonitor(p[0:10]), 400, 0.02, backend="numpy")
    large = _recording_bytes(ss.SpikeMonitor, 400, 0.02, backend="numpy")
    assert 0 < small < large / 10
