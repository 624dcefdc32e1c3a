"""A model written by a user in numpy runs on the numpy engine with the same semantics."""

from __future__ import annotations

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


def test_auto_backend_runs_a_user_model_with_rust_models_on_numpy():
    src = ss.Population(CountingNeuron, n=5, params={"period": 4.0})
    tgt = ss.Population(CountingNeuron, n=2, params={"period": 1000.0})
    lif = ss.Population(ss.models.LIF, n=3, params={"i_e": 500.0})
    proj = ss.Projection(src, tgt, weight=0.5, delay=0.0003)
    mon = ss.SpikeMonitor(src)
    vm = ss.StateMonitor(tgt, variables=["received"], record=[0, 1])
    net = ss.Network(src, tgt, lif, proj, mon, vm)
    net.run(0.002, dt=1e-4, backend="auto", progress=False)
    assert net.engine == "numpy"
    assert mon.count == 5 * 5  # steps 3, 7, 11, 15, 19
    # All 5 sources spike at steps 3, 7, 11, ...; each adds 0.5 to both targets 3 steps
    # later, so the sample after step 6, 10, 14, 18 grows by 2.5.
    expected = np.array([2.5 * ((s - 6) // 4 + 1) if s >= 6 else 0.0 for s in range(20)])
    np.testing.assert_array_equal(vm.received[:, 0], expected)
    with pytest.raises(ss.UnsupportedError, match="CountingNeuron"):
        ss.Network(ss.Population(CountingNeuron, 2)).run(0.001, backend="rust")
