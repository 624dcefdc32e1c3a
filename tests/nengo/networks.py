"""nengo networks the split and MPI tests run: nengo_mpi's stream and random-graph networks,
PES learning, Python nodes, ensemble arrays, and a network without a seed. Each function
returns (network, {name: probe}); every network probes decoded outputs, an ensemble's
``input``, and neuron voltages and spikes."""

from __future__ import annotations

from collections.abc import Callable

import nengo
import numpy as np

Probes = dict[str, nengo.Probe]


def _neuron_probes(ens: nengo.Ensemble, tag: str) -> Probes:
    return {
        f"{tag}.input": nengo.Probe(ens, "input"),
        f"{tag}.voltage": nengo.Probe(ens.neurons, "voltage"),
        f"{tag}.spikes": nengo.Probe(ens.neurons),
    }


def stream(n_ensembles: int = 6, seed: int | None = 1) -> tuple[nengo.Network, Probes]:
    """nengo_mpi's stream: a ring of 4-D ensembles, each into the next through a synapse."""
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node([0.5, -0.3, 0.2, 0.1])
        ens = [nengo.Ensemble(40, 4) for _ in range(n_ensembles)]
        nengo.Connection(stim, ens[0], synapse=None)
        for i, pre in enumerate(ens):
            nengo.Connection(pre, ens[(i + 1) % n_ensembles], synapse=0.005)
        probes = {f"ens{i}": nengo.Probe(e, synapse=0.01) for i, e in enumerate(ens)}
        probes.update(_neuron_probes(ens[n_ensembles // 2], "mid"))
    return net, probes


def random_graph(n_ensembles: int = 10, p_connect: float = 0.25, seed: int = 2
                 ) -> tuple[nengo.Network, Probes]:
    """nengo_mpi's random graph: each ordered pair of ensembles connected with p_connect."""
    rng = np.random.RandomState(seed)
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node([0.4, -0.2])
        ens = [nengo.Ensemble(30, 2) for _ in range(n_ensembles)]
        nengo.Connection(stim, ens[0], synapse=None)
        for i in range(n_ensembles):
            for j in range(n_ensembles):
                if i != j and rng.uniform() < p_connect:
                    nengo.Connection(ens[i], ens[j], synapse=0.005, transform=0.7)
        probes = {f"ens{i}": nengo.Probe(e, synapse=0.01) for i, e in enumerate(ens)}
        probes.update(_neuron_probes(ens[-1], "last"))
    return net, probes


def pes_learning(seed: int = 3) -> tuple[nengo.Network, Probes]:
    """A connection learning a function with PES, its error computed in an ensemble, and
    ensembles around it that may be split off."""
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(nengo.processes.WhiteSignal(1.0, high=5, seed=4))
        pre = nengo.Ensemble(60, 1)
        post = nengo.Ensemble(60, 1)
        error = nengo.Ensemble(60, 1)
        nengo.Connection(stim, pre)
        learned = nengo.Connection(pre, post, function=lambda x: 0.0,
                                   learning_rule_type=nengo.PES(learning_rate=3e-4))
        nengo.Connection(post, error)
        nengo.Connection(stim, error, transform=-1)
        nengo.Connection(error, learned.learning_rule)
        after = [nengo.Ensemble(40, 1) for _ in range(3)]
        nengo.Connection(post, after[0])
        nengo.Connection(after[0], after[1])
        nengo.Connection(after[1], after[2])
        probes = {
            "post": nengo.Probe(post, synapse=0.01),
            "weights": nengo.Probe(learned, "weights", sample_every=0.01),
            "after": nengo.Probe(after[2], synapse=0.01),
        }
        probes.update(_neuron_probes(post, "post"))
    return net, probes


def python_nodes(seed: int = 4) -> tuple[nengo.Network, Probes]:
    """Python functions in nodes and on a connection (they stay on rank 0), driving and
    reading ensembles that may be split off."""
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(lambda t: [np.sin(10 * t), np.cos(7 * t)])
        ens = [nengo.Ensemble(50, 2) for _ in range(4)]
        for e in ens:
            nengo.Connection(stim, e)
        sink = nengo.Node(lambda t, x: x * 2.0, size_in=2)
        nengo.Connection(ens[3], sink)
        nengo.Connection(ens[1], ens[2], function=lambda x: x ** 2)
        nengo.Connection(ens[2], ens[3], synapse=0.01)
        probes = {"sink": nengo.Probe(sink), "ens2": nengo.Probe(ens[2], synapse=0.01)}
        probes.update(_neuron_probes(ens[3], "ens3"))
    return net, probes


def ensemble_arrays(seed: int = 5) -> tuple[nengo.Network, Probes]:
    """Two ensemble arrays in a chain (their passthrough nodes join each array into one
    cluster) and an ensemble after them."""
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node([0.3, -0.4, 0.5])
        a = nengo.networks.EnsembleArray(30, n_ensembles=3)
        b = nengo.networks.EnsembleArray(30, n_ensembles=3)
        out = nengo.Ensemble(60, 3)
        nengo.Connection(stim, a.input)
        nengo.Connection(a.output, b.input, transform=-0.5)
        nengo.Connection(b.output, out)
        probes = {"a": nengo.Probe(a.output, synapse=0.01), "out": nengo.Probe(out, synapse=0.01)}
        probes.update(_neuron_probes(b.ensembles[1], "b1"))
    return net, probes


def no_seed() -> tuple[nengo.Network, Probes]:
    """The stream without any seed: everything is drawn from numpy's global generator."""
    return stream(4, seed=None)


NETWORKS: dict[str, Callable[[], tuple[nengo.Network, Probes]]] = {
    "stream": stream,
    "random_graph": random_graph,
    "pes_learning": pes_learning,
    "python_nodes": python_nodes,
    "ensemble_arrays": ensemble_arrays,
    "no_seed": no_seed,
}


def assignments_for(name: str, net: nengo.Network) -> dict:
    """Explicit components for the objects of network ``name`` (networks too), split as far
    as the model allows."""
    ens = net.all_ensembles
    if name == "pes_learning":
        return {ens[3]: 1, ens[4]: 2, ens[5]: 1}
    if name == "ensemble_arrays":
        a, b = net.networks
        return {a: 1, b: 2, net.ensembles[0]: 1}
    return {e: (i % 3) for i, e in enumerate(ens)}


def build(name: str) -> tuple[nengo.Network, Probes]:
    """Network ``name``, with numpy's global generator seeded before it is made and before
    it is built (the network without a seed draws from it, as nengo does)."""
    np.random.seed(7)  # noqa: NPY002
    net, probes = NETWORKS[name]()
    np.random.seed(8)  # noqa: NPY002
    return net, probes
