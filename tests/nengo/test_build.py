"""The build: the work nengo repeats is done once with the same values; optimize=True fuses
operators with the same results."""

from __future__ import annotations

import nengo
import numpy as np
import pytest

from spikeshard.nengo import Simulator
from spikeshard.nengo.build import NENGO_GET_SS, state_space
from tests.nengo.networks import NETWORKS, build


def shared_decoders_network() -> nengo.Network:
    """Connections from one ensemble that share decoders (the same function, evaluation
    points and solver) and some that do not (slices, functions, solvers, eval points)."""
    with nengo.Network(seed=4) as net:
        pre = nengo.Ensemble(80, 2)
        posts = [nengo.Ensemble(30, 2) for _ in range(3)]
        nengo.Connection(nengo.Node([0.3, -0.1]), pre)
        for post in posts:
            nengo.Connection(pre, post)  # these three share decoders
        nengo.Connection(pre[0], posts[0][1])
        nengo.Connection(pre, posts[1], function=lambda x: x ** 2)
        nengo.Connection(pre, posts[2], solver=nengo.solvers.LstsqL2(reg=0.02))
        nengo.Connection(pre, posts[0], eval_points=np.full((20, 2), 0.1))
        nengo.Connection(pre, posts[1], solver=nengo.solvers.LstsqL2(weights=True))
    return net


def test_decoders_built_once_are_nengos_bit_for_bit():
    net = shared_decoders_network()
    reference = nengo.Simulator(net, progress_bar=False, optimize=False)
    with Simulator(net, progress_bar=False) as sim:
        for conn in net.all_connections:
            expected, got = reference.data[conn].weights, sim.data[conn].weights
            assert np.asarray(got).tobytes() == np.asarray(expected).tobytes(), conn
    reference.close()


@pytest.mark.parametrize(
    "synapse", [nengo.Lowpass(0.005), nengo.Alpha(0.003), nengo.LinearFilter([1], [0.01, 1])]
)
def test_synapses_are_discretised_as_nengo_does(synapse):
    for dt in (0.001, 0.0005):
        expected = NENGO_GET_SS(synapse, dt)
        got = state_space(synapse, dt)
        assert all(np.array_equal(e, g) for e, g in zip(expected, got, strict=True))
        assert state_space(synapse, dt) is got  # computed once


@pytest.mark.parametrize("name", ["stream", "random_graph", "python_nodes", "pes_learning"])
def test_optimize_fuses_operators_with_the_same_bits(name):
    results, n_ops = [], []
    for optimize in (False, True):
        net, probes = build(name)
        with Simulator(net, progress_bar=False, optimize=optimize) as sim:
            sim.run(0.1)
            results.append({k: np.array(sim.data[p]) for k, p in probes.items()})
            n_ops.append(sim._runtime.program.n_ops)
    for key in results[0]:
        assert results[0][key].tobytes() == results[1][key].tobytes(), key
    assert n_ops[1] < n_ops[0], "consecutive operators of one kind were fused"


def test_fused_signals_stay_the_models_signals():
    """Fusing lays signals out anew: sim.signals follows, writes through it reach the
    program, and reading a view gives the current values."""
    net, probes = NETWORKS["stream"]()
    with Simulator(net, progress_bar=False) as sim:
        ens = net.all_ensembles[0]
        voltage = sim.model.sig[ens.neurons]["voltage"]
        sim.run(0.01)
        sim.signals[voltage] = 0.75  # set every neuron's voltage
        before = sim.signals[voltage].copy()
        sim.step()
        assert not np.array_equal(sim.signals[voltage], before)
        assert np.array_equal(sim.data[probes["mid.voltage"]][-1],
                              sim.signals[sim.model.sig[net.all_ensembles[3].neurons]["voltage"]])
