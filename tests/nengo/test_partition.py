"""Splitting nengo models into components in one process: the results are the bits of the
unsplit run, the placement rules hold, and broken assignments name the objects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import nengo
import numpy as np
import pytest

import spikeshard.nengo as snengo
from spikeshard.nengo import Partitioner, PartitionError, Simulator
from spikeshard.partition import even_partitioner
from tests.nengo.networks import NETWORKS, assignments_for, build

ROOT = Path(__file__).resolve().parents[2]
RUN_S = 0.15


def run(name: str, **placement: Any) -> tuple[dict[str, np.ndarray], Simulator]:
    net, probes = build(name)
    with Simulator(net, progress_bar=False, **placement) as sim:
        sim.run(RUN_S)
        data = {key: np.array(sim.data[p]) for key, p in probes.items()}
    return data, sim


def assert_same_bits(expected: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> None:
    assert expected.keys() == got.keys()
    for key in expected:
        assert got[key].tobytes() == expected[key].tobytes(), key


@pytest.mark.parametrize("name", list(NETWORKS))
def test_split_runs_give_the_bits_of_one_component(name):
    reference, single = run(name)
    assert single.n_components == 1
    split = 0
    placements = [
        {"partitioner": Partitioner(2)},
        {"partitioner": Partitioner(3, func=snengo.metis_partitioner)},
        {"partitioner": Partitioner(5, func=snengo.random_partitioner)},
    ]
    for placement in placements:
        data, sim = run(name, **placement)
        assert_same_bits(reference, data)
        split += sim.n_components > 1 and bool(sim.partition.cut)
    net, probes = build(name)
    with Simulator(net, progress_bar=False, assignments=assignments_for(name, net)) as sim:
        sim.run(RUN_S)
        assert_same_bits(reference, {k: np.array(sim.data[p]) for k, p in probes.items()})
        assert sim.n_components > 1 and sim.partition.cut
    assert split >= 2, "the partitioners split the model"
    assert any(np.any(v) for k, v in reference.items() if k.endswith("spikes"))


def test_every_signal_of_the_merged_view_equals_the_unsplit_run():
    net, _ = NETWORKS["random_graph"]()
    with Simulator(net, progress_bar=False) as one, Simulator(
        net, progress_bar=False, partitioner=Partitioner(3)
    ) as three:
        one.run(0.05)
        three.run(0.05)
        for (sig, a), (sig2, b) in zip(one.signals.items(), three.signals.items(), strict=True):
            assert sig.shape == sig2.shape  # the same signal (names may hold addresses)
            assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), sig.name
        assert three.n_components == 3 and three.partition.cut


def test_reset_and_run_again_match_one_component():
    results = []
    for placement in ({}, {"partitioner": Partitioner(3)}):
        net, probes = NETWORKS["python_nodes"]()
        with Simulator(net, progress_bar=False, **placement) as sim:
            sim.run(0.05)
            sim.reset(seed=3)
            sim.run_steps(7)
            sim.step()
            sim.run(0.02)
            results.append({k: np.array(sim.data[p]) for k, p in probes.items()})
    assert_same_bits(*results)


def test_python_objects_stay_in_component_zero():
    net, _ = NETWORKS["python_nodes"]()
    with Simulator(net, progress_bar=False, partitioner=Partitioner(5)) as sim:
        for node in net.all_nodes:
            assert sim.partition.unit_component[node] == 0
        for op, _ in sim.python_operators:
            k = sim.step_order.index(op)
            assert sim.partition.op_component[k] == 0
        assert sim.partition.component_rank[0] == 0


def test_connections_without_synapse_keep_their_ends_together():
    with nengo.Network(seed=1) as net:
        a, b, c = (nengo.Ensemble(20, 1, label=x) for x in "abc")
        nengo.Connection(a, b, synapse=None)
        nengo.Connection(b, c)
    with Simulator(net, progress_bar=False, partitioner=Partitioner(3)) as sim:
        components = sim.partition.unit_component
        assert components[a] == components[b] != components[c]
    with pytest.raises(PartitionError, match=r"'a'.* 0 and .*'b'.* 1.*no synapse"):
        Simulator(net, progress_bar=False, assignments={a: 0, b: 1})


def test_learning_rules_keep_pre_post_and_error_together():
    net, _ = NETWORKS["pes_learning"]()
    stim_pre, post, error = net.all_ensembles[:3]
    with Simulator(net, progress_bar=False, partitioner=Partitioner(3)) as sim:
        components = sim.partition.unit_component
        assert components[stim_pre] == components[post] == components[error]
    with pytest.raises(PartitionError, match="learning rule"):
        Simulator(net, progress_bar=False, assignments={stim_pre: 0, post: 1})
    with pytest.raises(PartitionError, match="learning rule's error"):
        Simulator(net, progress_bar=False, assignments={error: 1, post: 0})


def test_python_objects_assigned_elsewhere_are_refused_by_name():
    with nengo.Network(seed=1) as net:
        stim = nengo.Node(lambda t: t, label="stim")
        ens = nengo.Ensemble(20, 1)
        nengo.Connection(stim, ens)
    with pytest.raises(PartitionError, match="'stim'.* component 2.*Python.*component 0"):
        Simulator(net, progress_bar=False, assignments={stim: 2})


def test_assignments_propagate_from_networks_to_their_children():
    with nengo.Network(seed=1) as net:
        top = nengo.Ensemble(20, 1, label="top")
        with nengo.Network() as sub:
            inner = nengo.Ensemble(20, 1, label="inner")
            own = nengo.Ensemble(20, 1, label="own")
            with nengo.Network() as subsub:
                deep = nengo.Ensemble(20, 1, label="deep")
        loose = nengo.Ensemble(20, 1, label="loose")
        partner = nengo.Ensemble(20, 1, label="partner")
        nengo.Connection(top, inner)
        nengo.Connection(inner, deep)
        nengo.Connection(own, loose)
        nengo.Connection(partner, loose, synapse=None)
    assignments = {sub: 2, own: 1, subsub: 3, partner: 1}
    with Simulator(net, progress_bar=False, assignments=assignments) as sim:
        placed = {e.label: sim.partition.unit_component[e] for e in net.all_ensembles}
    # Components are renumbered in order of first use: 0, 1, 2, 3 stay as they are.
    assert placed == {"top": 0, "inner": 2, "own": 1, "deep": 3, "loose": 1, "partner": 1}


def test_bad_assignments_and_partitioners_are_named():
    with nengo.Network() as net:
        ens = nengo.Ensemble(10, 1)
        conn = nengo.Connection(ens, ens)
    outside = nengo.Ensemble(10, 1, add_to_container=False)
    with pytest.raises(PartitionError, match="Connection; place networks"):
        Simulator(net, progress_bar=False, assignments={conn: 1})
    with pytest.raises(PartitionError, match="not part of the model"):
        Simulator(net, progress_bar=False, assignments={outside: 1})
    with pytest.raises(PartitionError, match="spiking API only"):
        Simulator(net, progress_bar=False, partitioner=Partitioner(2, blocks_per_component=3))

    def bad(graph, n):
        return [n] * graph.n_vertices

    with nengo.Network() as two:
        a, b = nengo.Ensemble(10, 1), nengo.Ensemble(10, 1)
        c = nengo.Ensemble(10, 1)
        nengo.Connection(a, b)
        nengo.Connection(b, c)
    with pytest.raises(PartitionError, match=r"bad returned components outside \[0, 2\)"):
        Simulator(two, progress_bar=False, partitioner=Partitioner(2, func=bad))
    with pytest.raises(ValueError, match="splits populations"):
        Simulator(two, progress_bar=False, partitioner=Partitioner(2, func=even_partitioner))


def test_partition_report_counts_neurons_operators_cuts_and_partners():
    net, _ = NETWORKS["stream"]()
    with Simulator(net, progress_bar=False, partitioner=Partitioner(3)) as sim:
        report = sim.partition_report()
    assert len(report.components) == 3
    assert sum(neurons for _, neurons, _ in report.components) == 6 * 40
    n_ops = len(sim.step_order)
    # the time update runs in every component
    assert sum(ops for _, _, ops in report.components) == n_ops + 2
    assert report.cut and all(dims == 4 for _, _, _, dims in report.cut)
    assert report.ranks == [([0, 1, 2], 240, n_ops + 2)]
    assert report.sends == [{}]  # one rank: nothing crosses ranks
    text = str(report)
    assert "3 components on 1 ranks" in text and "4 dimensions" in text


def test_the_default_partitioner_balances_neurons():
    with nengo.Network(seed=1) as net:
        big = nengo.Ensemble(300, 1)
        small = [nengo.Ensemble(100, 1) for _ in range(3)]
        for s in small:
            nengo.Connection(big, s)
    with Simulator(net, progress_bar=False, partitioner=Partitioner(2)) as sim:
        report = sim.partition_report()
    assert sorted(n for _, n, _ in report.components) == [300, 300]


DETERMINISM_SCRIPT = """
import hashlib, sys
import numpy as np
sys.path.insert(0, {root!r})
junk = [object() for _ in range(int(sys.argv[1]))]  # moves every later object's address
from tests.nengo.networks import random_graph
import spikeshard.nengo as snengo
net, probes = random_graph(12, p_connect=0.4)
with snengo.Simulator(net, progress_bar=False, optimize=True) as sim:
    sim.run(0.2)
    digest = hashlib.sha256()
    for key in sorted(probes):
        digest.update(np.ascontiguousarray(sim.data[probes[key]]).tobytes())
print(digest.hexdigest())
"""


def test_results_do_not_depend_on_the_process():
    """nengo's optimiser orders by object address; without it, two processes with other
    hash seeds and other addresses give the same bits."""
    script = DETERMINISM_SCRIPT.format(root=str(ROOT))
    digests = set()
    for junk, hash_seed in ((0, "1"), (5000, "2"), (123, "3")):
        done = subprocess.run(
            [sys.executable, "-c", script, str(junk)],
            capture_output=True, text=True, env={"PYTHONHASHSEED": hash_seed,
                                                  "PATH": "/usr/bin:/bin"},
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        digests.add(done.stdout.strip())
    assert len(digests) == 1


def test_optimize_is_kept_and_checked():
    with nengo.Network() as net:
        nengo.Ensemble(10, 1)
    for optimize in (True, False):
        with Simulator(net, progress_bar=False, optimize=optimize) as sim:
            assert sim.optimize is optimize
    with pytest.raises(ValueError, match="optimize must be True or False"):
        Simulator(net, progress_bar=False, optimize="yes")
