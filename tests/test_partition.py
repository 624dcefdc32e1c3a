"""Partitioning, in one process: which rank owns which neurons for the even default, the
partition functions (even, work-balanced, METIS) on the block graph, and explicit
assignments. Every partition must cover each population exactly once; the MPI tests check
that the spikes do not depend on it."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import spikeshard as ss
from spikeshard.errors import NetworkError, UnsupportedError
from spikeshard.layout import make_layout
from spikeshard.models import LIF
from spikeshard.partition import (
    SYNAPSE_COST,
    Partition,
    default_partition,
    even_partitioner,
    even_slice,
    make_graph,
    metis_partitioner,
    partition_from_assignments,
    partition_from_partitioner,
    work_balanced_partitioner,
)
from tests.helpers import esc


def assert_covers_each_population_once(partition: Partition, sizes: list[int]) -> None:
    for population, size in enumerate(sizes):
        owned = np.concatenate([partition.locals(population, rank)
                                for rank in range(partition.n_ranks)])
        np.testing.assert_array_equal(np.sort(owned), np.arange(size))
    assert partition.neurons_per_rank().sum() == sum(sizes)


def two_groups(n: int = 200):
    """Two populations, each densely connected to itself and not to the other."""
    a = ss.Population(LIF, n, label="a")
    b = ss.Population(LIF, n, label="b")
    return make_layout([a, b, ss.Projection(a, a, topology="random", probability=0.5),
                        ss.Projection(b, b, topology="random", probability=0.5)])


# ------------------------------------------------------------------ the even default


@pytest.mark.parametrize(("n", "parts", "sizes"), [
    (10_000, 4, [2500] * 4),           # SC-NeuroCore's table
    (2_500, 4, [625] * 4),
    (10, 3, [4, 3, 3]),                 # the first n % parts parts get one more
    (2, 4, [1, 1, 0, 0]),               # more parts than items: some own nothing
    (0, 3, [0, 0, 0]),
])
def test_even_slices_are_contiguous_near_equal_and_cover(n, parts, sizes):
    slices = [even_slice(n, parts, part) for part in range(parts)]
    assert [stop - start for start, stop in slices] == sizes
    assert slices[0][0] == 0 and slices[-1][1] == n
    assert all(slices[i][1] == slices[i + 1][0] for i in range(parts - 1))


@pytest.mark.parametrize("n_ranks", [1, 2, 3, 4, 7])
def test_default_partition_splits_every_population_evenly(n_ranks):
    sizes = [10_000, 2_500, 5]
    layout = make_layout([ss.Population(LIF, n) for n in sizes])
    partition = default_partition(layout, n_ranks)
    assert_covers_each_population_once(partition, sizes)
    for population, n in enumerate(sizes):
        for rank in range(n_ranks):
            start, stop = even_slice(n, n_ranks, rank)
            np.testing.assert_array_equal(partition.locals(population, rank),
                                          np.arange(start, stop, dtype=np.uint32))
    assert partition.locals(0, 0).dtype == np.uint32


def test_partition_fingerprint_and_cut_fraction():
    layout = two_groups()
    one, two = default_partition(layout, 1), default_partition(layout, 2)
    assert one.fingerprint() == default_partition(layout, 1).fingerprint()
    assert one.fingerprint() != two.fingerprint()
    graph = make_graph(layout, 8)
    assert one.cut_fraction(graph) == 0.0
    # Halving each population cuts half of each population's synapses.
    assert two.cut_fraction(graph) == pytest.approx(0.5)


# ------------------------------------------------------------------ the block graph


def test_graph_blocks_tile_each_population_and_weigh_their_work():
    a, b = ss.Population(LIF, 100, label="a"), ss.Population(LIF, 10, label="b")
    layout = make_layout([a, b, ss.Projection(a, b)])  # all_to_all: 1,000 synapses
    graph = make_graph(layout, 4)
    for population, n in enumerate((100, 10)):
        blocks = graph.blocks_of(population)
        assert len(blocks) == 4
        assert graph.start[blocks[0]] == 0 and graph.stop[blocks[-1]] == n
        np.testing.assert_array_equal(graph.start[blocks[1:]], graph.stop[blocks[:-1]])
    sources, targets, expected = graph.edges
    assert expected.sum() == pytest.approx(1000.0)
    assert set(graph.population[sources]) == {0} and set(graph.population[targets]) == {1}
    sizes = graph.stop - graph.start
    received = np.bincount(targets, weights=expected, minlength=graph.n_blocks)
    np.testing.assert_allclose(graph.work, sizes * 1.0 + SYNAPSE_COST * received)


def test_graph_of_a_population_smaller_than_the_block_count():
    layout = make_layout([ss.Population(LIF, 3)])
    graph = make_graph(layout, 8)
    assert graph.n_blocks == 3 and list(graph.stop - graph.start) == [1, 1, 1]


# ------------------------------------------------------------------ partition functions


def test_even_partitioner_gives_each_component_a_contiguous_equal_share():
    graph = make_graph(make_layout([ss.Population(LIF, 800), ss.Population(LIF, 80)]), 8)
    component = even_partitioner(graph, 4)
    for population in (0, 1):
        blocks = graph.blocks_of(population)
        assert list(component[blocks]) == [0, 0, 1, 1, 2, 2, 3, 3]


def test_work_balanced_partitioner_balances_the_estimated_work():
    # Population b receives every synapse, so its blocks weigh far more than a's.
    a, b = ss.Population(LIF, 400, label="a"), ss.Population(LIF, 40, label="b")
    layout = make_layout([a, b, ss.Projection(a, b)])
    graph = make_graph(layout, 12)
    component = work_balanced_partitioner(graph, 3)
    load = np.bincount(component, weights=graph.work, minlength=3)
    assert load.max() - load.min() <= graph.work.max()
    even_load = np.bincount(even_partitioner(graph, 3), weights=graph.work, minlength=3)
    assert load.max() <= even_load.max()
    assert set(component) == {0, 1, 2}


def test_partitioner_components_run_round_robin_on_ranks():
    layout = make_layout([ss.Population(LIF, 700)])
    partition, graph = partition_from_partitioner(layout, 3, ss.Partitioner(7))
    assert graph.n_blocks == 28
    assert_covers_each_population_once(partition, [700])
    for start, stop, rank in partition.ranges[0]:
        # Component c of 7 holds neurons [100c, 100c + 100) and runs on rank c % 3.
        assert rank == (start // 100) % 3 and stop > start
    assert list(partition.neurons_per_rank()) == [300, 200, 200]


@pytest.mark.parametrize(("func", "text"), [
    (lambda graph, n: np.zeros(graph.n_blocks + 1), "expected one component per block"),
    (lambda graph, n: np.full(graph.n_blocks, n), "components outside [0, 2)"),
    (lambda graph, n: -np.ones(graph.n_blocks), "components outside [0, 2)"),
])
def test_bad_partition_functions_are_refused(func, text):
    layout = make_layout([ss.Population(LIF, 50)])
    with pytest.raises(NetworkError, match=esc(text)):
        partition_from_partitioner(layout, 2, ss.Partitioner(2, func=func))


@pytest.mark.parametrize(("kwargs", "text"), [
    (dict(n_components=0), "n_components = 0"),
    (dict(n_components=1.5), "n_components = 1.5"),
    (dict(func=3), "func = 3: expected a partition function"),
    (dict(blocks_per_component=0), "blocks_per_component = 0"),
])
def test_bad_partitioner_arguments(kwargs, text):
    with pytest.raises(NetworkError, match=esc(text)):
        ss.Partitioner(**kwargs)


def test_metis_keeps_connected_groups_together():
    layout = two_groups()
    graph = make_graph(layout, 8)
    component = metis_partitioner(graph, 2)
    assert component.shape == (graph.n_blocks,) and set(component) == {0, 1}
    # METIS cuts no synapse where the even split cuts half of them.
    partition, _ = partition_from_partitioner(layout, 2, ss.Partitioner(2, func=metis_partitioner))
    assert_covers_each_population_once(partition, [200, 200])
    assert partition.cut_fraction(graph) == 0.0
    load = np.bincount(component, weights=graph.work)
    assert load.min() > 0.4 * load.sum()


def test_metis_without_pymetis_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pymetis", None)  # import pymetis raises ImportError
    graph = make_graph(two_groups(), 8)
    with pytest.raises(UnsupportedError, match=esc("pip install 'spikeshard[metis]'")):
        metis_partitioner(graph, 2)


# ------------------------------------------------------------------ explicit assignments


def test_assignments_place_populations_and_slices():
    a, b, c = (ss.Population(LIF, n, label=label) for n, label in ((100, "a"), (10, "b"),
                                                                     (9, "c")))
    layout = make_layout([a, b, c])
    partition = partition_from_assignments(layout, 3, {a[0:30]: 1, a[60:100]: 5, b: 2})
    assert_covers_each_population_once(partition, [100, 10, 9])
    # a: [0, 30) on component 1, [60, 100) on component 5 = rank 2, the rest on component 0.
    assert partition.ranges[0] == [(0, 30, 1), (30, 60, 0), (60, 100, 2)]
    assert partition.ranges[1] == [(0, 10, 2)]
    # c is not mentioned: split evenly over all ranks.
    assert partition.ranges[2] == [(0, 3, 0), (3, 6, 1), (6, 9, 2)]


def test_bad_assignments():
    a = ss.Population(LIF, 10, label="a")
    layout = make_layout([a])
    with pytest.raises(NetworkError, match=esc("assignments place neurons of a twice")):
        partition_from_assignments(layout, 2, {a[0:6]: 0, a[5:10]: 1})
    with pytest.raises(NetworkError, match=esc("assignments key 'a': expected a Population")):
        partition_from_assignments(layout, 2, {"a": 0})
    with pytest.raises(NetworkError, match=esc("assignments[")):
        partition_from_assignments(layout, 2, {a: -1})
    with pytest.raises(NetworkError, match=esc("was not added to the network")):
        partition_from_assignments(layout, 2, {ss.Population(LIF, 3): 0})


# ------------------------------------------------------------------ through the Network


def test_partition_report_on_one_rank():
    a = ss.Population(LIF, 40, label="a")
    net = ss.Network(a, ss.Projection(a, a, topology="fixed_indegree", indegree=5), seed=1,
                     threads=1)
    with pytest.raises(ss.SimulationError, match="not built yet"):
        net.partition_report()
    net.build(1e-4)
    report = net.partition_report().splitlines()
    assert report[0] == "partition over 1 rank(s)"
    assert report[2].split() == ["0", "40", "200"]
    assert report[-1] == "expected fraction of synapses between ranks: 0.000"
