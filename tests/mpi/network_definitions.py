"""The networks the MPI tests run (imported by run_networks.py under mpirun and by
test_mpi.py for the one-process reference), each returning (network, monitors, duration, dt)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import spikeshard as ss
from spikeshard.models import LIFDelta, NeuronModel, Parameter, StateVariable
from tests.helpers import brunel, cuba


def cuba_network(threads: int) -> tuple[Any, list, float, float]:
    net, monitors = cuba(n=1000, threads=threads)
    return net, monitors, 0.1, 1e-4


def brunel_network(threads: int) -> tuple[Any, list, float, float]:
    """Brunel delta network with delay 1.5 ms, PoissonInput and a StateMonitor."""
    net, monitors = brunel(n_exc=800, threads=threads)
    return net, monitors, 0.1, 1e-4


def hh_tutorial_network(threads: int) -> tuple[Any, list, float, float]:
    """The SC-NeuroCore tutorial's HH network at a tenth of its size, driven hard enough to
    fire (see tutorials/02_asynchronous_irregular.py), at dt = 1 ms."""
    initial = {"v": ss.Uniform(-70.0, -60.0)}
    exc = ss.Population(ss.models.HodgkinHuxleyNeuron, n=1000, label="exc", initial=initial)
    inh = ss.Population(ss.models.HodgkinHuxleyNeuron, n=250, label="inh", initial=initial)
    objects = [
        exc, inh,
        ss.Projection(exc, exc, weight=0.2, topology="random", probability=0.02),
        ss.Projection(exc, inh, weight=0.5, topology="random", probability=0.05),
        ss.Projection(inh, exc, weight=-1.0, topology="random", probability=0.05),
        ss.PoissonInput(n=1000, rate_hz=300.0, weight=4.0, dt=0.001),
    ]
    monitors = [ss.SpikeMonitor(exc), ss.SpikeMonitor(inh),
                ss.StateMonitor(exc, variables=["v", "m"], record=[0, 999])]
    return ss.Network(*objects, *monitors, seed=9, threads=threads), monitors, 0.2, 1e-3


def mixed_network(threads: int, **placement: Any) -> tuple[Any, list, float, float]:
    """Poisson sources, distributions of weights and delays, all topologies."""
    src = ss.Population(ss.models.PoissonSource, n=97, params={"rate_hz": 30.0})
    a = ss.Population(ss.models.LIF, n=101, params={"i_e": 320.0},
                      initial={"v": ss.Uniform(-70.0, -56.0)})
    b = ss.Population(ss.models.LIFDelta, n=53, params={"i_e": 380.0})
    objects: list = [src, a, b]
    objects += [
        ss.Projection(src, a, weight=ss.Normal(40.0, 20.0, low=0.0), topology="random",
                      probability=0.3, delay=ss.Uniform(0.0005, 0.002)),
        ss.Projection(a, b, weight=0.5, topology="fixed_outdegree", outdegree=7, delay=0.001),
        ss.Projection(b, a, weight=-80.0, topology="fixed_indegree", indegree=9,
                      allow_multapses=False, delay=0.0012),
        ss.Projection(b, b, weight=0.2, topology="all_to_all", allow_autapses=False,
                      delay=0.0008),
        ss.Projection(a, a, weight=ss.Uniform(-30.0, 50.0), topology="one_to_one",
                      delay=0.0009),
        ss.Projection(a, b, weight=[0.3, -0.4, 1.5], connections=([0, 50, 100], [52, 1, 1]),
                      delay=[0.0005, 0.0025, 0.0011]),
        ss.PoissonInput(target=b, rate_hz=200.0, weight=1.0, n=40),
    ]
    monitors = [ss.SpikeMonitor(src), ss.SpikeMonitor(a), ss.SpikeMonitor(b),
                ss.StateMonitor(a, variables=["v", "i_syn_ex"], record=[0, 50, 100])]
    if "assignments" in placement:  # name this network's populations and slices
        placement = {"assignments": {src: 2, a[0:50]: 1, a[50:101]: 3, b: 0}}
    net = ss.Network(*objects, *monitors, seed=5, threads=threads, **placement)
    return net, monitors, 0.1, 1e-4


def recording_network(threads: int) -> tuple[Any, list, float, float]:
    """Every kind of monitor in every gather mode, with windows, intervals and slices."""
    a = ss.Population(LIFDelta, n=90, label="a", initial={"v": ss.Uniform(-70.0, -56.0)})
    b = ss.Population(ss.models.LIF, n=40, label="b", params={"i_e": 360.0})
    objects: list = [
        a, b,
        ss.Projection(a, b, weight=30.0, topology="random", probability=0.2, delay=0.001),
        ss.Projection(b, a, weight=-2.0, topology="random", probability=0.3, delay=0.0015),
        ss.PoissonInput(target=a, rate_hz=3000.0, weight=1.0),
    ]
    monitors = [
        ss.SpikeMonitor(a),
        ss.SpikeMonitor(a[10:50], gather="all", start=0.02, stop=0.08, label="a_window"),
        ss.SpikeMonitor(b, record=[1, 7, 20, 39], gather="local"),
        ss.StateMonitor(a, ["v"], record=[0, 33, 89], interval=0.0005, gather="all"),
        ss.StateMonitor(b, ["i_syn_ex", "v"], record=True, gather="local", start=0.01,
                        stop=0.05),
        ss.StateMonitor(b, ["v"], record=[39, 0, 20], label="b_v"),
        ss.RateMonitor(a, bin_width=0.005),
        ss.RateMonitor(b, bin_width=0.002, gather="local", start=0.004),
        ss.RateMonitor(a, bin_width=0.003, gather="all", label="a_3ms"),
    ]
    return ss.Network(*objects, *monitors, seed=21, threads=threads), monitors, 0.1, 1e-4


class NanProbe(LIFDelta):
    """LIFDelta (numpy only) with a state ``x`` that is NaN for every third neuron and v
    elsewhere: recorded NaN must gather as NaN, not as a marker of another rank's column."""

    rust_kernel = None
    state_variables = (*LIFDelta.state_variables,
                       StateVariable("x", "mV", "NaN for every third neuron, else v"))

    @classmethod
    def update(cls, constants: Any, state: list, input_ex: Any, input_in: Any,
               ctx: Any) -> Any:
        result = LIFDelta.update(constants, state[:2], input_ex, input_in, ctx)
        state[2][:] = np.where(ctx.gids % 3 == 0, np.nan, state[0])
        return result


def nan_states_network(threads: int) -> tuple[Any, list, float, float]:
    pop = ss.Population(NanProbe, n=61, label="nan", params={"i_e": 500.0},
                        initial={"v": ss.Uniform(-70.0, -56.0)})
    monitors = [ss.StateMonitor(pop, ["x", "v"], record=True),
                ss.StateMonitor(pop, ["x"], record=[0, 1, 2, 60], gather="all", label="some"),
                ss.SpikeMonitor(pop)]
    return ss.Network(pop, *monitors, seed=2, threads=threads), monitors, 0.05, 1e-4


class BurstCounter(NeuronModel):
    """A user's numpy model (no Rust kernel): counts its input and fires when the count
    passes a threshold, then starts again."""

    name = "burst_counter"
    weight_unit = "1"
    receptors = 1
    parameters = (Parameter("threshold", 3.0, "1", "input that makes a spike", low=0.0),)
    state_variables = (StateVariable("count", "1", "input since the last spike"),)

    @classmethod
    def constants(cls, params, dt):
        return {"threshold": params["threshold"]}

    @classmethod
    def update(cls, constants, state, input_ex, input_in, ctx):
        (count,) = state
        count += input_ex
        spike = count >= constants["threshold"]
        count[spike] = 0.0
        return spike, None


def user_model_network(threads: int) -> tuple[Any, list, float, float]:
    """LIF and Poisson sources on Rust, a user's numpy model between them (rust+numpy)."""
    src = ss.Population(ss.models.PoissonSource, n=80, params={"rate_hz": 40.0})
    lif = ss.Population(ss.models.LIF, n=120, params={"i_e": 300.0},
                        initial={"v": ss.Uniform(-70.0, -56.0)})
    counter = ss.Population(BurstCounter, n=30, initial={"count": np.linspace(0.0, 2.9, 30)})
    objects = [
        src, lif, counter,
        ss.Projection(src, counter, weight=1.0, topology="random", probability=0.1,
                      delay=ss.Uniform(2e-4, 1e-3)),
        ss.Projection(counter, lif, weight=ss.Normal(120.0, 40.0), topology="random",
                      probability=0.4, delay=3e-4),
        ss.Projection(lif, lif, weight=-60.0, topology="random", probability=0.1, delay=6e-4),
        ss.Projection(lif, counter, weight=0.5, topology="random", probability=0.05,
                      delay=4e-4),
    ]
    monitors = [ss.SpikeMonitor(counter), ss.SpikeMonitor(lif),
                ss.StateMonitor(counter, variables=["count"], record=[0, 29])]
    return ss.Network(*objects, *monitors, seed=4, threads=threads), monitors, 0.1, 1e-4


#: The mixed network placed in other ways; spikes must not depend on placement.
PLACEMENTS: dict[str, dict[str, Any]] = {
    "mixed_metis_5": {"partitioner": ss.Partitioner(5, func=ss.metis_partitioner)},
    "mixed_balanced_1": {"partitioner": ss.Partitioner(1, func=ss.work_balanced_partitioner)},
    "mixed_even_7": {"partitioner": ss.Partitioner(7)},
    "mixed_assignments": {"assignments": True},
    # Each spike only to the ranks holding its targets (every rank count, also with a
    # partition that leaves some ranks without neurons).
    "mixed_alltoall": {"exchange": "alltoall"},
    "mixed_metis_alltoall": {"partitioner": ss.Partitioner(5, func=ss.metis_partitioner),
                             "exchange": "alltoall"},
}

NETWORKS: dict[str, Callable[[int], tuple[Any, list, float, float]]] = {
    "cuba": cuba_network,
    "brunel": brunel_network,
    "hh_tutorial": hh_tutorial_network,
    "mixed": mixed_network,
    "recording": recording_network,
    "nan_states": nan_states_network,
    "user_model": user_model_network,
}

for _name, _placement in PLACEMENTS.items():
    NETWORKS[_name] = lambda threads, _placement=_placement: mixed_network(threads, **_placement)

#: Checkpoints: (network restored, network whose checkpoint it restores). The 2-rank launch
#: (one thread) runs each saved network half-way and saves it; the 3- and 4-rank launches
#: and the 2-rank launch with two threads restore it and finish the run.
CHECKPOINTS = (("user_model", "user_model"), ("mixed", "mixed"), ("brunel", "brunel"),
               ("mixed_metis_5", "mixed"))
