"""A model written by a user in numpy runs on the numpy engine with the same semantics."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import spikeshard as ss
from spikeshard.models import NeuronModel, Parameter, StateVariable


class CountingNeuron(NeuronModel):
    """Fires every ``period`` steps plus once per unit of accumulated input (for tests)."""

    name = "counting"
    weight_unit = "1"
    receptors = 1
    parameters = (Parameter("period", 10.0, "steps", "steps between spikes", low=1.0),)
    state_variables = (StateVariable("count", "1", "steps since last spike"),
                       StateVariable("received", "1", "summed input"))

    @classmethod
    def constants(cls, params, dt):
        return np.array([params["period"]])

    @classmethod
    def update(cls, constants, state, input_ex, input_in, ctx):
        count, received = state
        received += input_ex
        count += 1.0
        spike = count >= constants[0]
        count[spike] = 0.0
        return spike, None


def test_numpy_only_model_is_not_rust_supported():
    assert not ss._rust_supports_model(CountingNeuron)
    assert ss._rust_supports_model(ss.models.LIF)
    assert ss._rust_supports_model(ss.models.HodgkinHuxleyNeuron)


def test_rust_supports_model_takes_a_class_name_or_a_kernel_name():
    assert ss._rust_supports_model("HodgkinHuxleyNeuron")
    assert ss._rust_supports_model("lif_delta")
    assert not ss._rust_supports_model("CountingNeuron")
    with pytest.raises(ss.ModelError, match="'NoSuchNeuron'.*known models.*'LIF'"):
        ss._rust_supports_model("NoSuchNeuron")
    with pytest.raises(ss.ModelError, match="expected a neuron model class or its name"):
        ss._rust_supports_model(3)


def test_auto_backend_runs_a_user_model_on_numpy_and_the_others_on_rust():
    src = ss.Population(CountingNeuron, n=5, params={"period": 4.0})
    tgt = ss.Population(CountingNeuron, n=2, params={"period": 1000.0})
    lif = ss.Population(ss.models.LIF, n=3, params={"i_e": 500.0})
    proj = ss.Projection(src, tgt, weight=0.5, delay=0.0003)
    mon = ss.SpikeMonitor(src)
    vm = ss.StateMonitor(tgt, variables=["received"], record=[0, 1])
    net = ss.Network(src, tgt, lif, proj, mon, vm)
    with pytest.warns(ss.PerformanceWarning, match=r"CountingNeuron\[5\] \(CountingNeuron\)"
                      r".*run on the numpy engine.*no Rust kernel.*stay on the Rust engine"):
        net.run(0.002, dt=1e-4, backend="auto", progress=False)
    assert net.engine == "rust+numpy"
    assert mon.count == 5 * 5  # steps 3, 7, 11, 15, 19
    # All 5 sources spike at steps 3, 7, 11, ...; each adds 0.5 to both targets 3 steps
    # later, so the sample after step 6, 10, 14, 18 grows by 2.5.
    expected = np.array([2.5 * ((s - 6) // 4 + 1) if s >= 6 else 0.0 for s in range(20)])
    np.testing.assert_array_equal(vm.received[:, 0], expected)
    with pytest.raises(ss.UnsupportedError, match="CountingNeuron"):
        ss.Network(ss.Population(CountingNeuron, 2)).run(0.001, backend="rust")


def test_a_mixed_network_gives_the_numpy_engines_spikes():
    """LIF populations driving a user model and driven by it: the mixed engine (LIF on Rust,
    the user model on numpy) gives the bits of the whole network on the numpy engine."""

    def run(backend):
        drive = ss.Population(CountingNeuron, n=20, params={"period": 7.0})
        lif = ss.Population(ss.models.LIF, n=60, params={"i_e": 360.0},
                            initial={"v": ss.Uniform(-70.0, -56.0)})
        counter = ss.Population(CountingNeuron, n=10, params={"period": 1e6})
        objects = [
            drive, lif, counter,
            ss.Projection(drive, lif, weight=ss.Normal(80.0, 30.0), topology="random",
                          probability=0.3, delay=ss.Uniform(2e-4, 1e-3)),
            ss.Projection(lif, counter, weight=1.0, topology="random", probability=0.5,
                          delay=3e-4),
            ss.Projection(lif, lif, weight=-40.0, topology="random", probability=0.1,
                          delay=5e-4),
        ]
        monitors = [ss.SpikeMonitor(lif), ss.StateMonitor(counter, ["received"], record=[0, 9]),
                    ss.StateMonitor(lif, ["v"], record=[0, 59])]
        net = ss.Network(*objects, *monitors, seed=3, threads=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ss.PerformanceWarning)
            net.run(0.05, dt=1e-4, backend=backend, progress=False)
        return net.engine, monitors

    engine, mixed = run("auto")
    assert engine == "rust+numpy"
    _, numpy = run("numpy")
    assert mixed[0].count > 100
    np.testing.assert_array_equal(mixed[0].spikes[0], numpy[0].spikes[0])
    np.testing.assert_array_equal(mixed[0].spikes[1], numpy[0].spikes[1])
    np.testing.assert_array_equal(mixed[1].received, numpy[1].received)
    assert mixed[1].received[-1, 0] > 0
    np.testing.assert_array_equal(mixed[2].v, numpy[2].v)


def test_the_warning_comes_once_per_build_and_not_for_rust_only_networks():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = ss.Network(ss.Population(CountingNeuron, 2), ss.Population(ss.models.LIF, 2))
        net.run(0.001, progress=False)
        net.run(0.001, progress=False)
        ss.Network(ss.Population(ss.models.LIF, 2)).run(0.001, progress=False)
    assert [type(w.message) for w in caught] == [ss.PerformanceWarning]
