"""Monitors: what SpikeMonitor and StateMonitor hold after one or more runs, resets, the
progress bar, the plotting helpers, and the clear errors for bad record ids, sources and
variables."""

from __future__ import annotations

import numpy as np
import pytest

import spikeshard as ss
from spikeshard.errors import NetworkError
from spikeshard.models import LIF, LIFDelta, PoissonSource
from spikeshard.monitors import RecordingContext
from tests.helpers import ENGINES, esc, two_pops

DT = 1e-4


def driven(n=20, seed=3, rate_hz=4000.0, record=None):
    """LIFDelta neurons under Poisson drive (tens of Hz each), a full and a partial spike
    monitor and a state monitor on v and refractory."""
    pop = ss.Population(LIFDelta, n, label="exc", params={"t_ref": 0.002},
                        initial={"v": ss.Uniform(-70.0, -56.0)})
    full = ss.SpikeMonitor(pop)
    part = ss.SpikeMonitor(pop, record=record if record is not None else [7, 1, 3, 1])
    vm = ss.StateMonitor(pop, ["v", "refractory"], record=[0, 4, 9])
    net = ss.Network(pop, ss.PoissonInput(pop, rate_hz=rate_hz, weight=1.0), full, part, vm,
                     seed=seed)
    return net, full, part, vm


# ------------------------------------------------------------------ SpikeMonitor


def test_spike_monitor_count_order_and_times(backend):
    net, full, _, _ = driven()
    net.run(0.1, dt=DT, backend=backend, progress=False)
    times, ids = full.spikes
    assert full.count == len(times) == len(ids) > 50
    # Sorted by time, then id.
    order = np.lexsort((ids, times))
    np.testing.assert_array_equal(order, np.arange(len(times)))
    # Same-step spikes exist, so the id order within a step is really tested.
    assert len(np.unique(times)) < len(times)
    # End-of-step times (step + 1) * dt within the run.
    steps = times / DT
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-6)
    assert times.min() >= DT and times.max() <= 0.1 + 1e-12
    assert ids.dtype.kind == "i" and ids.min() >= 0 and ids.max() < 20
    np.testing.assert_array_equal(full.times, times)
    np.testing.assert_array_equal(full.ids, ids)


def test_the_recording_interface_fills_a_monitor_run_by_run():
    # What the run loop does on every rank: bind at build, add_run after each run.
    mon = ss.SpikeMonitor(ss.Population(LIF, 6), record=[0, 1, 4, 5])
    mon.bind(RecordingContext(dt=0.001, rank=0, n_ranks=1, owned_ids=np.arange(6)))
    mon.add_run(0.002, 4, (np.array([0.001, 0.001, 0.002, 0.002]), np.array([0, 4, 1, 5])))
    mon.add_run(0.002, 3, (np.array([0.003, 0.004, 0.004]), np.array([0, 0, 1])))
    times, ids = mon.spikes
    np.testing.assert_array_equal(times, [0.001, 0.001, 0.002, 0.002, 0.003, 0.004, 0.004])
    np.testing.assert_array_equal(ids, [0, 4, 1, 5, 0, 0, 1])
    assert mon.count == 7 and mon.duration == pytest.approx(0.004)
    np.testing.assert_allclose(mon.rates(), np.array([3, 2, 1, 1]) / 0.004)
    assert mon.mean_rate() == pytest.approx(7 / (4 * 0.004))


def test_spike_monitor_is_the_same_on_both_engines():
    results = []
    for backend in ENGINES:
        net, full, part, _ = driven()
        net.run(0.05, dt=DT, backend=backend, progress=False)
        results.append((full.spikes, part.spikes))
    for (a_times, a_ids), (b_times, b_ids) in zip(*results, strict=True):
        np.testing.assert_array_equal(a_ids, b_ids)
        np.testing.assert_array_equal(a_times, b_times)


def test_record_restricts_ids(backend):
    net, full, part, _ = driven()
    net.run(0.1, dt=DT, backend=backend, progress=False)
    np.testing.assert_array_equal(part.recorded_ids, [1, 3, 7])
    times, ids = part.spikes
    keep = np.isin(full.ids, [1, 3, 7])
    np.testing.assert_array_equal(ids, full.ids[keep])
    np.testing.assert_array_equal(times, full.times[keep])
    assert 0 < part.count < full.count
    assert set(part.spike_trains()) == {1, 3, 7}
    assert part.rates().shape == (3,)


def test_rates_mean_rate_and_spike_trains(backend):
    net, full, part, _ = driven()
    net.run(0.05, dt=DT, backend=backend, progress=False)
    net.run(0.05, progress=False)
    assert full.duration == pytest.approx(0.1)
    rates = full.rates()
    assert rates.shape == (20,)
    counts = np.bincount(full.ids, minlength=20)
    np.testing.assert_allclose(rates, counts / 0.1)
    assert full.mean_rate() == pytest.approx(full.count / (0.1 * 20))
    assert 10.0 < full.mean_rate() < 500.0
    np.testing.assert_allclose(part.rates(), counts[[1, 3, 7]] / 0.1)
    assert part.mean_rate() == pytest.approx(part.count / (0.1 * 3))
    trains = full.spike_trains()
    assert sorted(trains) == list(range(20))
    for i, train in trains.items():
        np.testing.assert_array_equal(train, full.times[full.ids == i])
        assert np.all(np.diff(train) > 0)
    assert sum(len(t) for t in trains.values()) == full.count


def test_empty_monitor_before_any_run():
    pop = ss.Population(LIF, 4)
    mon = ss.SpikeMonitor(pop)
    assert mon.count == 0
    times, ids = mon.spikes
    assert times.shape == (0,) and ids.shape == (0,)
    np.testing.assert_array_equal(mon.rates(), np.zeros(4))
    assert mon.mean_rate() == 0.0
    assert all(len(t) == 0 for t in mon.spike_trains().values())


def test_silent_population_has_zero_rates(backend):
    pop = ss.Population(LIF, 5)
    mon = ss.SpikeMonitor(pop)
    ss.Network(pop, mon).run(0.02, dt=DT, backend=backend, progress=False)
    assert mon.count == 0 and mon.duration == pytest.approx(0.02)
    np.testing.assert_array_equal(mon.rates(), 0.0)


def test_spike_times_match_the_membrane_trace(backend):
    """A spike at t means the sample at t shows the reset value and the neuron is
    refractory: spike times and samples are both end-of-step times."""
    pop = ss.Population(LIFDelta, 2, params={"i_e": 900.0, "v_reset": -65.0})
    spikes = ss.SpikeMonitor(pop)
    vm = ss.StateMonitor(pop, ["v", "refractory"], record=True)
    ss.Network(pop, spikes, vm).run(0.05, dt=DT, backend=backend, progress=False)
    assert spikes.count >= 4
    index = np.round(spikes.times / DT).astype(int) - 1
    np.testing.assert_allclose(vm.t[index], spikes.times)
    np.testing.assert_array_equal(vm.v[index, spikes.ids], -65.0)
    np.testing.assert_array_equal(vm.refractory[index, spikes.ids], 20.0)
    assert np.all(vm.v[index - 1, spikes.ids] < -55.0)
    # Regular firing: equal intervals.
    intervals = np.diff(spikes.spike_trains()[0])
    np.testing.assert_allclose(intervals, intervals[0])


# ------------------------------------------------------------------ StateMonitor


def test_state_monitor_shapes_and_times(backend):
    net, _, _, vm = driven()
    net.run(0.03, dt=DT, backend=backend, progress=False)
    n_steps = 300
    assert set(vm.traces) == {"v", "refractory"}
    assert vm.traces["v"].shape == (n_steps, 3)
    assert vm.traces["refractory"].shape == (n_steps, 3)
    np.testing.assert_allclose(vm.t, (np.arange(n_steps) + 1) * DT)
    np.testing.assert_array_equal(vm.v, vm.traces["v"])
    np.testing.assert_array_equal(vm.refractory, vm.traces["refractory"])
    np.testing.assert_array_equal(vm.record, [0, 4, 9])
    assert np.all(np.isfinite(vm.v))
    assert np.all((vm.v >= -80.0) & (vm.v < -55.0))
    # The neurons differ: each column is its own neuron.
    assert not np.array_equal(vm.v[:, 0], vm.v[:, 1])
    # The last sample is the state at the end of the run.
    np.testing.assert_array_equal(vm.v[-1], net.get_state(net.populations[0], "v")[[0, 4, 9]])


def test_state_monitor_unknown_attribute():
    vm = ss.StateMonitor(ss.Population(LIF, 2), ["v"])
    with pytest.raises(AttributeError):
        vm.i_syn_ex  # noqa: B018
    with pytest.raises(AttributeError):
        vm.nothing  # noqa: B018


def test_state_monitor_before_any_run():
    vm = ss.StateMonitor(ss.Population(LIF, 5), ["v", "i_syn_ex"], record=[1, 2])
    assert vm.v.shape == (0, 2) and vm.t.shape == (0,)


def test_state_monitor_record_all_and_multiple_variables(backend):
    pop = ss.Population(LIF, 4, params={"i_e": 300.0},
                        initial={"v": [-70.0, -65.0, -60.0, -58.0]})
    vm = ss.StateMonitor(pop, ["i_syn_ex", "v"], record=True)
    net = ss.Network(pop, vm)
    net.run(0.005, dt=DT, backend=backend, progress=False)
    assert vm.variables == ["i_syn_ex", "v"]
    np.testing.assert_array_equal(vm.record, np.arange(4))
    assert vm.v.shape == vm.i_syn_ex.shape == (50, 4)
    np.testing.assert_array_equal(vm.i_syn_ex, 0.0)  # no input
    # Exact integration towards v_rest + i_e * tau_m / c_m = -58 mV.
    p22 = np.exp(-DT / 0.01)
    expected = -58.0 + (np.array([-70.0, -65.0, -60.0, -58.0]) + 58.0) * p22
    np.testing.assert_allclose(vm.v[0], expected, rtol=0, atol=1e-9)


def test_recording_continues_across_runs(backend):
    net, full, _, vm = driven()
    net.run(0.02, dt=DT, backend=backend, progress=False)
    first_count = full.count
    first_v = vm.v.copy()
    net.run(0.03, progress=False)
    assert net.t == pytest.approx(0.05)
    assert vm.v.shape == (500, 3)
    np.testing.assert_allclose(vm.t, (np.arange(500) + 1) * DT)
    np.testing.assert_array_equal(vm.v[:200], first_v)
    assert full.count >= first_count
    assert full.times[first_count:].min(initial=1.0) > 0.02 - 1e-12
    # Two runs give what one run of the whole duration gives.
    once, full_once, _, vm_once = driven()
    once.run(0.05, dt=DT, backend=backend, progress=False)
    np.testing.assert_array_equal(vm.v, vm_once.v)
    np.testing.assert_array_equal(full.times, full_once.times)
    np.testing.assert_array_equal(full.ids, full_once.ids)


def test_reset_clears_monitors_and_rerun_reproduces(backend):
    net, full, part, vm = driven()
    net.run(0.04, dt=DT, backend=backend, progress=False)
    spikes, v = full.spikes, vm.v.copy()
    assert full.count > 0
    net.reset()
    assert net.t == 0.0 and not net.is_built
    assert full.count == 0 and part.count == 0 and full.duration == 0.0
    assert vm.v.shape == (0, 3) and vm.t.shape == (0,)
    net.run(0.04, dt=DT, backend=backend, progress=False)
    np.testing.assert_array_equal(full.spikes[0], spikes[0])
    np.testing.assert_array_equal(full.spikes[1], spikes[1])
    np.testing.assert_array_equal(vm.v, v)
    np.testing.assert_allclose(vm.t, (np.arange(400) + 1) * DT)


def test_monitors_of_two_populations_and_two_monitors_of_one():
    a = ss.Population(LIFDelta, 3, label="a", params={"i_e": 900.0})
    b = ss.Population(LIFDelta, 2, label="b")
    mon_a, mon_a2, mon_b = ss.SpikeMonitor(a), ss.SpikeMonitor(a, record=[2]), ss.SpikeMonitor(b)
    proj = ss.Projection(a, b, weight=20.0, delay=1e-3)
    ss.Network(a, b, proj, mon_a, mon_a2, mon_b).run(0.03, dt=DT, progress=False)
    assert mon_a.count > 0 and mon_b.count > 0
    np.testing.assert_array_equal(mon_a2.times, mon_a.times[mon_a.ids == 2])
    assert mon_b.ids.max() < 2  # population-local ids, not global ones
    # b spikes one delay after a (3 x 20 mV arrive together).
    assert mon_b.times[0] == pytest.approx(mon_a.times[0] + 1e-3)


# ------------------------------------------------------------------ progress bar


def test_progress_true_writes_a_bar(capsys):
    net, full, _, _ = driven()
    net.run(0.01, dt=DT, progress=True)
    err = capsys.readouterr().err
    assert "from t=0 s:" in err and "/0.010 s" in err
    # The bar is cleared and a summary line stays (tests/test_progress.py).
    assert err.endswith("neurons\n") and "0.01 s of model time" in err.splitlines()[-1]
    assert full.duration == pytest.approx(0.01)


def test_progress_false_writes_nothing(capsys):
    net, _, _, _ = driven()
    net.run(0.01, dt=DT, progress=False)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_progress_none_is_silent_for_short_runs(capsys):
    net, _, _, _ = driven()
    net.run(0.01, dt=DT)
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------ plotting


@pytest.fixture
def pyplot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_spike_monitor_plot(pyplot):
    net, full, part, _ = driven()
    net.run(0.02, dt=DT, progress=False)
    ax = full.plot()
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), full.times)
    np.testing.assert_array_equal(line.get_ydata(), full.ids)
    assert ax.get_xlabel() == "time (s)"
    fig, own = pyplot.subplots()
    assert part.plot(ax=own) is own


def test_raster_of_several_monitors_stacks_them(pyplot):
    from spikeshard import plotting

    net, full, part, _ = driven()
    net.run(0.02, dt=DT, progress=False)
    ax = plotting.raster(full, part)
    first, second = ax.get_lines()
    np.testing.assert_array_equal(second.get_ydata(), part.ids + 20)
    assert ax.get_legend() is not None
    limited = plotting.raster(full, max_neurons=5)
    assert np.all(limited.get_lines()[0].get_ydata() < 5)


def test_population_rate_and_rate_plot(pyplot):
    from spikeshard import plotting

    net, full, _, _ = driven()
    net.run(0.05, dt=DT, progress=False)
    centres, rate = plotting.population_rate(full, bin_s=0.01)
    np.testing.assert_allclose(centres, [0.005, 0.015, 0.025, 0.035, 0.045])
    assert rate.sum() * 0.01 * 20 == pytest.approx(full.count)
    ax = plotting.rates(full, bin_s=0.01)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), rate)


def test_state_monitor_plot(pyplot):
    net, _, _, vm = driven()
    net.run(0.02, dt=DT, progress=False)
    ax = vm.plot()
    lines = ax.get_lines()
    assert len(lines) == 3
    np.testing.assert_array_equal(lines[1].get_ydata(), vm.v[:, 1])
    np.testing.assert_allclose(lines[1].get_xdata(), vm.t)
    assert ax.get_ylabel() == "v (mV)"
    assert vm.plot("refractory").get_ylabel() == "refractory (steps)"


# ------------------------------------------------------------------ bad arguments



@pytest.mark.parametrize("monitor", [ss.SpikeMonitor, ss.StateMonitor])
@pytest.mark.parametrize(
    ("record", "text"),
    [([0, 5], "record contains 5: a has ids 0..4"), ([-1, 2], "record contains -1"),
     ([0.5], "record = [0.5]: expected a list of neuron ids"), (3, "record = 3"),
     ([[0, 1]], "record = [[0, 1]]"), ([True, False], "record = [True, False]")],
)
def test_monitor_record_ids(monitor, record, text):
    a, _ = two_pops()
    with pytest.raises(NetworkError, match=esc(text)):
        monitor(a, record=record)


@pytest.mark.parametrize("monitor", [ss.SpikeMonitor, ss.StateMonitor])
def test_monitor_source_and_label(monitor):
    a, _ = two_pops()
    with pytest.raises(NetworkError, match=esc("source = 'a': expected a Population")):
        monitor("a")
    with pytest.raises(NetworkError, match=esc("label = 7: expected a string")):
        monitor(a, label=7)


@pytest.mark.parametrize(
    ("model", "variables", "text"),
    [(LIF, ["u"], "StateMonitor variable 'u': LIF has state variables ['v', 'i_syn_ex',"),
     (LIF, ["v", "V"], "StateMonitor variable 'V'"),
     (LIFDelta, "i_syn_ex", "StateMonitor variable 'i_syn_ex': LIFDelta"),
     (PoissonSource, ("v",), "StateMonitor variable 'v': PoissonSource has state variables []"),
     (LIF, [], "StateMonitor variables is empty")],
)
def test_state_monitor_variables(model, variables, text):
    pop = ss.Population(model, 3)
    with pytest.raises(NetworkError, match=esc(text)):
        ss.StateMonitor(pop, variables)
