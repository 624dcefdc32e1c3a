"""Which rank owns which neurons. Computed identically on every rank, without communication
(and checked once at build).

Default: every population is split into contiguous, near-equal slices, one per rank (the
SC-NeuroCore table: 10,000 neurons on 4 ranks = 2,500 each; the first ``n % ranks`` ranks get
one more). As in nengo_mpi, a ``Partitioner(n_components, func)`` or explicit
``assignments={population_or_slice: component}`` can place neurons on *components* instead;
component ``c`` runs on rank ``c % n_ranks``, so any number of ranks works with any number of
components (ranks without a component simply own no neurons).

A partition function sees the network as a :class:`WeightedGraph`: vertices weighted by
their work, edges by what would cross between components if they were cut, and returns a
component per vertex. The spiking API's vertices are neuron blocks (contiguous pieces of
populations; edges: the expected synapses between blocks); the nengo backend's
(``spikeshard.nengo``) are clusters of nengo objects that must be simulated together
(work: their neurons; edges: the dimensions of the connections between them). The same
:class:`Partitioner` and partition functions serve both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _validate
from .arrays import FloatArray, IntArray, U32Array
from .errors import NetworkError, UnsupportedError
from .layout import Layout
from .population import Population, PopulationSlice


def even_slice(n: int, n_parts: int, part: int) -> tuple[int, int]:
    """The [start, stop) slice of ``n`` items owned by ``part`` of ``n_parts``."""
    base, extra = divmod(n, n_parts)
    start = part * base + min(part, extra)
    return start, start + base + (1 if part < extra else 0)


# ---------------------------------------------------------------- the graph of neuron blocks


@dataclass
class WeightedGraph:
    """What a partition function sees: ``work[v]`` is the relative cost of vertex v;
    ``edges`` = (source vertex, target vertex, weight) arrays, the weight being what would
    cross between components if the edge were cut."""

    work: FloatArray
    edges: tuple[IntArray, IntArray, FloatArray]

    @property
    def n_vertices(self) -> int:
        return len(self.work)


@dataclass
class PartitionGraph(WeightedGraph):
    """The spiking API's graph: neuron blocks and the expected synapses between them.

    ``population[b]``, ``start[b]``, ``stop[b]``: block b is neurons [start, stop) of that
    population (layout index). ``work[b]``: relative cost of stepping the block and
    receiving its synapses. ``edges``: (source block, target block, expected synapses).
    """

    population: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    start: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    stop: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def n_blocks(self) -> int:
        return len(self.population)

    def blocks_of(self, population: int) -> IntArray:
        return np.flatnonzero(self.population == population)


#: Per-synapse cost relative to one LIF neuron update (for the work estimate).
SYNAPSE_COST = 0.05


def expected_synapses(proj: Any, pre_range: tuple[int, int], post_range: tuple[int, int]
                      ) -> float:
    """Expected synapses of ``proj`` from pre neurons ``pre_range`` onto post neurons
    ``post_range`` (population-local [start, stop)); exact for listed connections."""
    n_i, n_j = pre_range[1] - pre_range[0], post_range[1] - post_range[0]
    overlap = max(0, min(pre_range[1], post_range[1]) - max(pre_range[0], post_range[0]))
    same = proj.pre is proj.post and not proj.allow_autapses
    if proj.topology == "random":
        return proj.probability * (n_i * n_j - (overlap if same else 0))
    if proj.topology == "all_to_all":
        return float(n_i * n_j - (overlap if same else 0))
    if proj.topology == "one_to_one":
        return float(overlap)
    if proj.topology == "fixed_indegree":
        return proj.degree * n_j * n_i / proj.pre.n
    if proj.topology == "fixed_outdegree":
        return proj.degree * n_i * n_j / proj.post.n
    pre_ids, post_ids = proj.pre_ids, proj.post_ids
    inside = ((pre_ids >= pre_range[0]) & (pre_ids < pre_range[1])
              & (post_ids >= post_range[0]) & (post_ids < post_range[1]))
    return float(np.count_nonzero(inside))


def make_graph(layout: Layout, blocks_per_population: int) -> PartitionGraph:
    """Splits every population into up to ``blocks_per_population`` contiguous blocks."""
    population, start, stop = [], [], []
    for index, pop in enumerate(layout.populations):
        n_blocks = min(pop.n, blocks_per_population)
        for b in range(n_blocks):
            s, e = even_slice(pop.n, n_blocks, b)
            population.append(index)
            start.append(s)
            stop.append(e)
    graph_population = np.array(population, dtype=np.int64)
    graph_start = np.array(start, dtype=np.int64)
    graph_stop = np.array(stop, dtype=np.int64)
    work = np.array([
        (e - s) * layout.populations[p].model.relative_cost
        for p, s, e in zip(population, start, stop, strict=True)
    ], dtype=np.float64)
    sources, targets, weights = [], [], []
    for proj in layout.projections:
        pre_blocks = np.flatnonzero(graph_population == layout.index(proj.pre))
        post_blocks = np.flatnonzero(graph_population == layout.index(proj.post))
        for i in pre_blocks:
            for j in post_blocks:
                expected = expected_synapses(proj, (graph_start[i], graph_stop[i]),
                                              (graph_start[j], graph_stop[j]))
                if expected > 0:
                    sources.append(i)
                    targets.append(j)
                    weights.append(expected)
                    work[j] += SYNAPSE_COST * expected
    edges = (np.array(sources, dtype=np.int64), np.array(targets, dtype=np.int64),
             np.array(weights, dtype=np.float64))
    return PartitionGraph(work=work, edges=edges, population=graph_population,
                          start=graph_start, stop=graph_stop)


# ---------------------------------------------------------------- partition functions

PartitionFunction = Callable[[Any, int], npt.ArrayLike]


def even_partitioner(graph: PartitionGraph, n_components: int) -> IntArray:
    """Every population split into contiguous, near-equal runs of blocks, one per component
    (the spiking API's default; its graph has populations)."""
    if not isinstance(graph, PartitionGraph):
        raise NetworkError(
            "even_partitioner splits populations (spiking API); for nengo models use "
            "work_balanced_partitioner, metis_partitioner or random_partitioner")
    component = np.zeros(graph.n_blocks, dtype=np.int64)
    for p in np.unique(graph.population):
        blocks = graph.blocks_of(int(p))
        component[blocks] = np.arange(len(blocks)) * n_components // len(blocks)
    return component


def work_balanced_partitioner(graph: WeightedGraph, n_components: int) -> IntArray:
    """Greedy balance of estimated work (spiking API: neuron updates weighted by model cost,
    plus incoming synapses; nengo: neurons): the heaviest vertex goes to the least-loaded
    component, and so on (ties to the lower index)."""
    component = np.zeros(graph.n_vertices, dtype=np.int64)
    load = np.zeros(n_components)
    for b in sorted(range(graph.n_vertices), key=lambda b: (-graph.work[b], b)):
        c = int(np.argmin(load))
        component[b] = c
        load[c] += graph.work[b]
    return component


def metis_partitioner(graph: WeightedGraph, n_components: int) -> IntArray:
    """METIS (through pymetis): balanced work (vertex weights), least weight on cut edges
    (spiking API: expected synapses; nengo: dimensions crossing). Needs
    ``pip install 'spikeshard[metis]'``."""
    try:
        import pymetis
    except ImportError:
        raise UnsupportedError(
            "metis_partitioner needs pymetis: pip install 'spikeshard[metis]'"
        ) from None
    if n_components == 1 or graph.n_vertices <= n_components:
        return np.arange(graph.n_vertices, dtype=np.int64) % n_components
    sources, targets, weights = graph.edges
    # METIS wants an undirected graph without self loops and integer weights.
    keep = sources != targets
    pairs: dict[tuple[int, int], float] = {}
    for i, j, w in zip(sources[keep], targets[keep], weights[keep], strict=True):
        key = (int(min(i, j)), int(max(i, j)))
        pairs[key] = pairs.get(key, 0.0) + float(w)
    neighbours: list[list[tuple[int, int]]] = [[] for _ in range(graph.n_vertices)]
    for (i, j), w in sorted(pairs.items()):
        weight = max(1, int(round(w)))
        neighbours[i].append((j, weight))
        neighbours[j].append((i, weight))
    xadj, adjncy, eweights = [0], [], []
    for row in neighbours:
        for j, w in row:
            adjncy.append(j)
            eweights.append(w)
        xadj.append(len(adjncy))
    vweights = [max(1, int(round(w))) for w in graph.work]
    adjacency = pymetis.CSRAdjacency(adj_starts=xadj, adjacent=adjncy)
    _, parts = pymetis.part_graph(n_components, adjacency, vweights=vweights, eweights=eweights)
    return np.asarray(parts, dtype=np.int64)


def random_partitioner(graph: WeightedGraph, n_components: int, seed: int = 0) -> IntArray:
    """Each vertex to a uniformly drawn component (``numpy.random.RandomState(seed)``; the
    same seed gives the same partition). Another seed: ``functools.partial(
    random_partitioner, seed=...)``."""
    rng = np.random.RandomState(seed)
    return rng.randint(0, n_components, size=graph.n_vertices).astype(np.int64)


class Partitioner:
    """Splits a model into ``n_components`` components with ``func`` (nengo_mpi's API), for
    the spiking API (``Network(partitioner=...)``) and the nengo backend
    (``spikeshard.nengo.Simulator(partitioner=...)``).

    Parameters
    ----------
    n_components : int, optional
        Number of components (default: the number of ranks). The spiking API maps component
        c to rank ``c % n_ranks``; the nengo backend spreads components over ranks balanced
        by their neurons.
    func : callable, optional
        ``func(graph, n_components) -> component per vertex`` (see :class:`WeightedGraph`).
        Default: balance neurons (the spiking API splits every population evenly with
        ``even_partitioner``; the nengo backend uses ``work_balanced_partitioner`` on the
        neurons of its clusters). Also provided: ``metis_partitioner`` (pymetis) and
        ``random_partitioner``.
    blocks_per_component : int, optional
        Spiking API only (the nengo backend refuses it): each population is cut into up to
        ``blocks_per_component * n_components`` blocks for ``func`` to place (default 4).
    """

    def __init__(self, n_components: int | None = None, func: PartitionFunction | None = None,
                 blocks_per_component: int | None = None) -> None:
        self.n_components = (None if n_components is None
                             else _validate.count("n_components", n_components, minimum=1))
        if func is not None and not callable(func):
            raise NetworkError(f"func = {func!r}: expected a partition function")
        self.func = func
        self.blocks_per_component_given = blocks_per_component is not None
        self.blocks_per_component = _validate.count(
            "blocks_per_component", 4 if blocks_per_component is None else blocks_per_component,
            minimum=1)

    def function(self, default: PartitionFunction) -> PartitionFunction:
        """``func``, or the API's ``default`` when none was given."""
        return default if self.func is None else self.func

    def __repr__(self) -> str:
        name = "default" if self.func is None else getattr(self.func, "__name__", repr(self.func))
        return f"Partitioner(n_components={self.n_components}, func={name})"


# ---------------------------------------------------------------- the partition itself


@dataclass
class Partition:
    """Owner of every neuron, as ranges: ``ranges[p]`` lists (start, stop, rank) covering
    population p."""

    n_ranks: int
    ranges: list[list[tuple[int, int, int]]]

    def locals(self, population: int, rank: int) -> U32Array:
        """Population-local ids of ``population`` owned by ``rank``, ascending."""
        pieces = [np.arange(s, e, dtype=np.uint32)
                  for s, e, r in self.ranges[population] if r == rank and e > s]
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint32)

    def neurons_per_rank(self) -> IntArray:
        counts = np.zeros(self.n_ranks, dtype=np.int64)
        for ranges in self.ranges:
            for s, e, r in ranges:
                counts[r] += e - s
        return counts

    def fingerprint(self) -> str:
        return hashlib.sha256(repr(self.ranges).encode()).hexdigest()[:16]

    def cut_fraction(self, graph: PartitionGraph) -> float:
        """Expected fraction of synapses whose source and target are on different ranks."""
        sources, targets, weights = graph.edges
        if weights.sum() == 0:
            return 0.0
        rank_of_block = np.array([self._rank_at(int(graph.population[b]), int(graph.start[b]))
                                  for b in range(graph.n_blocks)])
        crossing = rank_of_block[sources] != rank_of_block[targets]
        return float(weights[crossing].sum() / weights.sum())

    def _rank_at(self, population: int, neuron: int) -> int:
        for s, e, r in self.ranges[population]:
            if s <= neuron < e:
                return r
        raise IndexError(neuron)


def _merge(ranges: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    merged: list[tuple[int, int, int]] = []
    for s, e, r in sorted(ranges):
        if merged and merged[-1][1] == s and merged[-1][2] == r:
            merged[-1] = (merged[-1][0], e, r)
        elif e > s:
            merged.append((s, e, r))
    return merged


def default_partition(layout: Layout, n_ranks: int) -> Partition:
    return Partition(n_ranks, [
        [(*even_slice(pop.n, n_ranks, r), r) for r in range(n_ranks)]
        for pop in layout.populations
    ])


def partition_from_partitioner(layout: Layout, n_ranks: int, partitioner: Partitioner
                               ) -> tuple[Partition, PartitionGraph]:
    n_components = partitioner.n_components or n_ranks
    graph = make_graph(layout, partitioner.blocks_per_component * n_components)
    func = partitioner.function(even_partitioner)
    component = np.asarray(func(graph, n_components), dtype=np.int64)
    if component.shape != (graph.n_blocks,):
        raise NetworkError(
            f"partition function returned shape {component.shape}: expected one component "
            f"per block ({graph.n_blocks},)"
        )
    if graph.n_blocks and (component.min() < 0 or component.max() >= n_components):
        raise NetworkError(
            f"partition function returned components outside [0, {n_components})"
        )
    ranges: list[list[tuple[int, int, int]]] = [[] for _ in layout.populations]
    for b in range(graph.n_blocks):
        ranges[int(graph.population[b])].append(
            (int(graph.start[b]), int(graph.stop[b]), int(component[b]) % n_ranks))
    return Partition(n_ranks, [_merge(r) for r in ranges]), graph


def partition_from_assignments(layout: Layout, n_ranks: int,
                               assignments: Mapping[Any, int]) -> Partition:
    """Explicit placement: populations or slices (``pop[a:b]``) → component. Neurons of an
    assigned population left out of every slice go to component 0; populations not
    mentioned are split evenly over all ranks."""
    assigned: dict[int, list[tuple[int, int, int]]] = {}
    for key, component in assignments.items():
        component = _validate.count(f"assignments[{key!r}]", component)
        if isinstance(key, Population):
            pop, start, stop = key, 0, key.n
        elif isinstance(key, PopulationSlice):
            pop, start, stop = key.population, key.start, key.stop
        else:
            raise NetworkError(
                f"assignments key {key!r}: expected a Population or a slice pop[a:b]")
        assigned.setdefault(layout.index(pop), []).append((start, stop, component % n_ranks))
    ranges = []
    for index, pop in enumerate(layout.populations):
        if index not in assigned:
            ranges.append([(*even_slice(pop.n, n_ranks, r), r) for r in range(n_ranks)])
            continue
        owner = np.full(pop.n, -1, dtype=np.int64)
        for start, stop, rank in assigned[index]:
            if np.any(owner[start:stop] >= 0):
                raise NetworkError(f"assignments place neurons of {pop.name} twice")
            owner[start:stop] = rank
        owner[owner < 0] = 0
        change = np.flatnonzero(np.diff(owner)) + 1
        bounds = np.concatenate(([0], change, [pop.n]))
        ranges.append([(int(s), int(e), int(owner[s])) for s, e in zip(bounds[:-1], bounds[1:],
                                                                       strict=True)])
    return Partition(n_ranks, ranges)
