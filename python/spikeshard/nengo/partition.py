"""Which component simulates which nengo object, which operators follow them, and which
rank runs each component (nengo_mpi's partitioning, for nengo 4).

1. **Clusters.** Ensembles and nodes are the units placed. Units that cannot be separated
   are merged into one cluster before partitioning: the two ends of a connection without a
   synapse (its value is used in the step it is computed), of a connection with a learning
   rule, and a learning rule's error connection with the learned connection; every unit that
   owns an operator running in Python (a ``Node`` function, a process or neuron type the
   Rust program does not step), which form one cluster that stays in component 0, on rank 0,
   where the user's script and its Python objects live; and each cluster without neurons
   with the cluster it exchanges the most dimensions with (as nengo_mpi: a component of
   nodes only would add communication and save no work).
2. **Components.** A :class:`~spikeshard.partition.Partitioner` places the clusters: its
   function sees a :class:`~spikeshard.partition.WeightedGraph` whose vertices are the
   clusters (work: neurons) and whose edges are the connections between them (weight: the
   dimensions crossing); or the user's ``assignments`` place objects and networks (an
   object takes the component of its nearest assigned enclosing network, and an object
   left unassigned that of its cluster, else component 0).
3. **Operators.** Every operator follows the object whose build made it; a connection
   between components is cut after its synapse: the synapse runs with the pre object, and
   the filtered value crosses to the post object's component, which reads it one step
   later (nengo's synapses are "update" operators), so no delay is added. A check over
   every signal then guarantees the split is exact: all writers of a signal are in one
   component, and another component reads it only if it is written by update operators.
   A partitioner's choice that breaks this is mended by merging components (logged);
   assignments that break it raise a :class:`PartitionError` naming the objects.
4. **Ranks.** Component 0 runs on rank 0; the others go, heaviest first, to the rank with
   the fewest neurons so far (ties to the lower rank).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
from nengo import Connection, Ensemble, Network, Node, Probe
from nengo.base import ObjView
from nengo.builder.operator import Operator, TimeUpdate
from nengo.connection import LearningRule
from nengo.ensemble import Neurons

from spikeshard.errors import SpikeshardError
from spikeshard.nengo.build import BuildRecord
from spikeshard.partition import (
    Partitioner,
    WeightedGraph,
    work_balanced_partitioner,
)

logger = logging.getLogger(__name__)

#: The component of an operator every component runs (the model's TimeUpdate).
EVERY_COMPONENT = -1


class PartitionError(SpikeshardError, ValueError):
    """Objects placed in components that the model does not allow to be separated."""


#: An ``Ensemble`` or a ``Node``: what is placed in components.
Unit: TypeAlias = Any


def unit_of(obj: Any) -> Unit:
    """The ensemble or node that ``obj`` (a connection end or probe target) belongs to."""
    if isinstance(obj, ObjView):
        obj = obj.obj
    if isinstance(obj, Neurons):
        return obj.ensemble
    if isinstance(obj, LearningRule):
        return unit_of(obj.connection.pre_obj)
    if isinstance(obj, Connection):
        return unit_of(obj.pre_obj)
    if isinstance(obj, (Ensemble, Node)):
        return obj
    raise PartitionError(f"cannot place {obj!r}: not part of an ensemble or node")


def name(obj: Any) -> str:
    """How errors and reports name a nengo object."""
    return str(obj)


def learning_rules(conn: Connection) -> list[LearningRule]:
    rule = conn.learning_rule
    if rule is None:
        return []
    if isinstance(rule, LearningRule):
        return [rule]
    return list(rule.values()) if isinstance(rule, dict) else list(rule)


def why_inseparable(conn: Connection, record: BuildRecord) -> str | None:
    """Why the ends of ``conn`` must share a component, or None if it may be cut."""
    if conn not in record.after_synapse:
        return "it has no synapse (its value is used in the step it is computed)"
    if learning_rules(conn):
        return "it has a learning rule"
    if isinstance(conn.post_obj, LearningRule):
        return "it carries a learning rule's error"
    if isinstance(conn.pre_obj, LearningRule):
        return "it starts at a learning rule"
    return None


# ------------------------------------------------------------------------------ clusters


class UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> int:
        """Joins the sets of i and j; the lower root stays the root (deterministic)."""
        a, b = self.find(i), self.find(j)
        if a != b:
            a, b = min(a, b), max(a, b)
            self.parent[b] = a
        return a


@dataclass
class Clusters:
    """Units (ensembles and nodes) grouped into clusters that cannot be separated."""

    units: list[Unit]
    index: dict[Unit, int]
    cluster_of_unit: list[int]  #: cluster index of each unit
    members: list[list[int]]  #: units of each cluster, in unit order
    neurons: list[int]  #: neurons of each cluster
    pinned: int | None  #: the cluster that must stay in component 0 (Python objects)
    #: Why units were joined: (unit a, unit b, reason naming the connection or operator).
    bonds: list[tuple[int, int, str]]
    #: Connections between different clusters, each with the dimensions that cross.
    cut_candidates: list[tuple[Connection, int, int, int]]

    @property
    def n_clusters(self) -> int:
        return len(self.members)

    def graph(self) -> WeightedGraph:
        work = np.asarray(self.neurons, dtype=np.float64)
        sources = [a for _, a, _, _ in self.cut_candidates]
        targets = [b for _, _, b, _ in self.cut_candidates]
        weights = [float(d) for _, _, _, d in self.cut_candidates]
        return WeightedGraph(
            work=work,
            edges=(
                np.asarray(sources, dtype=np.int64),
                np.asarray(targets, dtype=np.int64),
                np.asarray(weights, dtype=np.float64),
            ),
        )


def connection_dimensions(conn: Connection) -> int:
    """Values a cut connection sends per step: its filtered output."""
    return int(conn.size_out)


def make_clusters(
    network: Network, record: BuildRecord, python_units: Iterable[Unit]
) -> Clusters:
    """Merges the units of ``network`` that cannot be separated (see the module docstring).
    ``python_units`` own operators that run in Python."""
    units: list[Unit] = [*network.all_ensembles, *network.all_nodes]
    index = {unit: k for k, unit in enumerate(units)}
    joined = UnionFind(len(units))
    bonds: list[tuple[int, int, str]] = []

    def join(a: Unit, b: Unit, reason: str) -> None:
        i, j = index[a], index[b]
        if joined.find(i) != joined.find(j):
            bonds.append((i, j, reason))
        joined.union(i, j)

    for conn in network.all_connections:
        reason = why_inseparable(conn, record)
        if reason is not None:
            join(unit_of(conn.pre_obj), unit_of(conn.post_obj), f"{name(conn)}: {reason}")
    python = sorted({index[u] for u in python_units if u in index})
    for k in python[1:]:
        join(units[python[0]], units[k], "both run Python code (they stay on rank 0)")
    pinned_unit = python[0] if python else None

    def clusters_now() -> dict[int, list[int]]:
        groups: dict[int, list[int]] = defaultdict(list)
        for k in range(len(units)):
            groups[joined.find(k)].append(k)
        return groups

    # Clusters without neurons go with the cluster they exchange most dimensions with.
    neurons_of = [u.n_neurons if isinstance(u, Ensemble) else 0 for u in units]
    groups = clusters_now()
    if any(neurons_of):
        for root in sorted(groups):
            group = groups[root]
            if sum(neurons_of[k] for k in group) or (
                pinned_unit is not None and joined.find(pinned_unit) == joined.find(root)
            ):
                continue
            exchange: dict[int, int] = defaultdict(int)
            for conn in network.all_connections:
                a, b = index[unit_of(conn.pre_obj)], index[unit_of(conn.post_obj)]
                ra, rb = joined.find(a), joined.find(b)
                if ra == rb:
                    continue
                if ra == joined.find(root):
                    exchange[rb] += connection_dimensions(conn)
                elif rb == joined.find(root):
                    exchange[ra] += connection_dimensions(conn)
            if not exchange:
                continue
            best = max(sorted(exchange), key=lambda r: exchange[r])
            join(units[group[0]], units[best], "a cluster without neurons joins its neighbour")

    groups = clusters_now()
    roots = sorted(groups)  # by first unit: deterministic
    cluster_of_root = {root: c for c, root in enumerate(roots)}
    cluster_of_unit = [cluster_of_root[joined.find(k)] for k in range(len(units))]
    members = [groups[root] for root in roots]
    cuts = []
    for conn in network.all_connections:
        a = cluster_of_unit[index[unit_of(conn.pre_obj)]]
        b = cluster_of_unit[index[unit_of(conn.post_obj)]]
        if a != b:
            cuts.append((conn, a, b, connection_dimensions(conn)))
    return Clusters(
        units=units,
        index=index,
        cluster_of_unit=cluster_of_unit,
        members=members,
        neurons=[sum(neurons_of[k] for k in m) for m in members],
        pinned=None if pinned_unit is None else cluster_of_unit[pinned_unit],
        bonds=bonds,
        cut_candidates=cuts,
    )


# ---------------------------------------------------------------------------- components


def components_from_partitioner(
    clusters: Clusters, partitioner: Partitioner, n_ranks: int
) -> list[int]:
    """The component of every cluster, as ``partitioner`` places them (the cluster of
    Python objects in component 0)."""
    if partitioner.blocks_per_component_given:
        raise PartitionError(
            "Partitioner(blocks_per_component=...) applies to the spiking API only; "
            "nengo models are partitioned by clusters of objects"
        )
    n_components = partitioner.n_components or n_ranks
    n = clusters.n_clusters
    if n_components == 1 or n == 0:
        return [0] * n
    if n <= n_components:
        order = list(range(n))
        if clusters.pinned is not None:
            order.remove(clusters.pinned)
            order.insert(0, clusters.pinned)
        component = [0] * n
        for c, cluster in enumerate(order):
            component[cluster] = c
        return component
    func = partitioner.function(work_balanced_partitioner)
    placed = np.asarray(func(clusters.graph(), n_components))
    if placed.shape != (n,) or not np.issubdtype(placed.dtype, np.integer):
        raise PartitionError(
            f"partition function {getattr(func, '__name__', func)} returned "
            f"{placed.dtype} of shape {placed.shape}: expected one integer component per "
            f"cluster ({n},)"
        )
    if placed.min() < 0 or placed.max() >= n_components:
        raise PartitionError(
            f"partition function {getattr(func, '__name__', func)} returned components "
            f"outside [0, {n_components})"
        )
    component = [int(c) for c in placed]
    if clusters.pinned is not None and component[clusters.pinned] != 0:
        # Swap so that the Python objects' component is component 0 (rank 0).
        c = component[clusters.pinned]
        component = [0 if x == c else c if x == 0 else x for x in component]
    return component


def check_assignments(assignments: Any) -> dict[Any, int]:
    """``assignments`` as {object: component}: keys networks, ensembles (or their neurons)
    and nodes; values integers >= 0."""
    if not isinstance(assignments, Mapping):
        raise PartitionError(
            f"assignments must map nengo objects to components, got "
            f"{type(assignments).__name__}"
        )
    checked: dict[Any, int] = {}
    for obj, component in assignments.items():
        if (
            isinstance(component, (bool, np.bool_))
            or not isinstance(component, (int, np.integer))
            or component < 0
        ):
            raise PartitionError(
                f"assignments[{name(obj)}] must be a component index >= 0, got {component!r}"
            )
        key = obj.ensemble if isinstance(obj, Neurons) else obj
        if not isinstance(key, (Network, Ensemble, Node)):
            raise PartitionError(
                f"assignments: {name(obj)} is a {type(obj).__name__}; place networks, "
                "ensembles and nodes (connections and probes follow their objects)"
            )
        checked[key] = int(component)
    return checked


def assigned_components(
    network: Network, assignments: Mapping[Any, int]
) -> dict[Unit, int]:
    """Each unit's component from ``assignments``: its own, else that of its nearest
    assigned enclosing network (units under no assigned network are left out)."""
    placed: dict[Unit, int] = {}
    seen: set[int] = set()

    def visit(net: Network, inherited: int | None) -> None:
        seen.add(id(net))
        here = assignments.get(net, inherited)
        for unit in [*net.ensembles, *net.nodes]:
            component = assignments.get(unit, here)
            if component is not None:
                placed[unit] = component
        for sub in net.networks:
            visit(sub, here)

    visit(network, None)
    for obj in assignments:
        if isinstance(obj, Network) and id(obj) not in seen:
            raise PartitionError(f"assignments: {name(obj)} is not part of the model")
        if isinstance(obj, (Ensemble, Node)) and obj not in placed:
            raise PartitionError(f"assignments: {name(obj)} is not part of the model")
    return placed


def components_from_assignments(
    clusters: Clusters, network: Network, assignments: Mapping[Any, int]
) -> list[int]:
    """The component of every cluster from the user's ``assignments``; a cluster whose
    units are given different components, or Python objects placed outside component 0,
    raise a :class:`PartitionError` naming them."""
    placed = assigned_components(network, assignments)
    component: list[int | None] = [None] * clusters.n_clusters
    decided_by: list[int | None] = [None] * clusters.n_clusters
    for k, unit in enumerate(clusters.units):
        if unit not in placed:
            continue
        c = clusters.cluster_of_unit[k]
        if component[c] is None:
            component[c], decided_by[c] = placed[unit], k
        elif component[c] != placed[unit]:
            first = decided_by[c]
            assert first is not None
            raise PartitionError(
                f"assignments place {name(clusters.units[first])} in component "
                f"{component[c]} and {name(unit)} in component {placed[unit]}, but they "
                f"cannot be separated: {explain_bond(clusters, first, k)}"
            )
    result = [0 if c is None else c for c in component]
    pinned = clusters.pinned
    if pinned is not None and result[pinned] != 0:
        python = ", ".join(name(clusters.units[k]) for k in clusters.members[pinned])
        raise PartitionError(
            f"assignments place {python} in component {result[pinned]}: objects that run "
            "Python code (and those they cannot be separated from) must be in component 0, "
            "which runs on rank 0 with the script"
        )
    return result


def explain_bond(clusters: Clusters, a: int, b: int) -> str:
    """The chain of reasons that joins units ``a`` and ``b``."""
    links: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for i, j, reason in clusters.bonds:
        links[i].append((j, reason))
        links[j].append((i, reason))
    # Breadth-first search for the path of bonds from a to b.
    previous: dict[int, tuple[int, str] | None] = {a: None}
    frontier = [a]
    while frontier and b not in previous:
        nxt = []
        for i in frontier:
            for j, reason in links[i]:
                if j not in previous:
                    previous[j] = (i, reason)
                    nxt.append(j)
        frontier = nxt
    reasons = []
    node = b
    while previous.get(node) is not None:
        i, reason = previous[node]  # type: ignore[misc]
        reasons.append(reason)
        node = i
    return "; ".join(reversed(reasons)) or "they are one cluster"


# ----------------------------------------------------------------------------- operators


def operator_units(
    order: list[Operator], operators: list[Operator], record: BuildRecord
) -> list[Unit | None]:
    """The unit each operator of ``order`` follows (None: the model's own operators)."""
    position = {id(op): k for k, op in enumerate(operators)}
    owner = record.owner_of_each_operator(len(operators))
    units: list[Unit | None] = []
    for op in order:
        k = position[id(op)]
        obj = owner[k]
        if obj is None:
            units.append(None)
        elif isinstance(obj, Connection):
            after = record.after_synapse.get(obj)
            end = obj.post_obj if after is not None and k >= after else obj.pre_obj
            units.append(unit_of(end))
        elif isinstance(obj, Probe):
            units.append(unit_of(obj.target))
        else:
            units.append(unit_of(obj))
    return units


@dataclass
class SignalUse:
    """How the operators of each component use one base signal."""

    writers: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    readers: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    set_or_inc: bool = False  #: written by an operator that sets or increments it


def signal_uses(order: list[Operator], component: list[int]) -> dict[Any, SignalUse]:
    """Per base signal: which operators (step-order indices) of which component write and
    read it. The operators every component runs are left out (each component has its own
    copy of what they write)."""
    uses: dict[Any, SignalUse] = defaultdict(SignalUse)
    for k, op in enumerate(order):
        c = component[k]
        if c == EVERY_COMPONENT:
            continue
        for sig in (*op.sets, *op.incs):
            use = uses[sig.base]
            use.writers[c].append(k)
            use.set_or_inc = True
        for sig in op.updates:
            uses[sig.base].writers[c].append(k)
        for sig in op.reads:
            uses[sig.base].readers[c].append(k)
    return uses


@dataclass
class Conflict:
    """Two components that share a signal in a way a split cannot reproduce exactly."""

    signal: Any
    writer: int  #: an operator (step-order index) of the first component
    other: int  #: an operator of the second component
    both_write: bool  #: True: both write it; False: the second reads it in the same step


def conflicts(order: list[Operator], component: list[int]) -> list[Conflict]:
    found = []
    for base, use in signal_uses(order, component).items():
        writers = sorted(use.writers)
        if len(writers) > 1:
            found.append(
                Conflict(base, use.writers[writers[0]][0], use.writers[writers[1]][0], True)
            )
            continue
        if not writers or not use.set_or_inc:
            continue
        owner = writers[0]
        for reader in sorted(use.readers):
            if reader != owner:
                found.append(Conflict(base, use.writers[owner][0], use.readers[reader][0], False))
    return found


def describe(conflict: Conflict, order: list[Operator], units: list[Unit | None],
             component: list[int]) -> str:
    def who(k: int) -> str:
        unit = units[k]
        owner = "the model" if unit is None else name(unit)
        return f"{type(order[k]).__name__} of {owner} (component {component[k]})"

    what = "also writes" if conflict.both_write else "reads, in the same step,"
    return (
        f"{who(conflict.other)} {what} signal {conflict.signal.name!r} that "
        f"{who(conflict.writer)} writes; only a synapse's output may cross components"
    )


def merge_conflicts(
    order: list[Operator], component: list[int], units: list[Unit | None]
) -> list[int]:
    """Joins components until no signal is shared in a way a split cannot reproduce;
    each merge is logged."""
    component = list(component)
    while True:
        found = conflicts(order, component)
        if not found:
            return component
        first = found[0]
        a, b = component[first.writer], component[first.other]
        keep, gone = min(a, b), max(a, b)
        logger.info(
            "components %d and %d merged: %s", keep, gone, describe(first, order, units, component)
        )
        component = [keep if c == gone else c for c in component]


# --------------------------------------------------------------------------------- ranks


def ranks_of_components(neurons: list[int], n_ranks: int) -> list[int]:
    """Component 0 on rank 0; the others, heaviest first, to the rank with the fewest
    neurons so far (ties: the lower component, the lower rank)."""
    rank = [0] * len(neurons)
    load = [0] * n_ranks
    if neurons:
        load[0] = neurons[0]
    for c in sorted(range(1, len(neurons)), key=lambda c: (-neurons[c], c)):
        r = min(range(n_ranks), key=lambda r: (load[r], r))
        rank[c] = r
        load[r] += neurons[c]
    return rank


# ------------------------------------------------------------------------------ the result


@dataclass
class ModelPartition:
    """Where everything of a built nengo model runs."""

    n_ranks: int
    #: Component of each operator of the step order (EVERY_COMPONENT: all of them).
    op_component: list[int]
    #: Rank of each component.
    component_rank: list[int]
    #: Unit each operator follows (None: the model's own).
    op_unit: list[Unit | None]
    #: Component of each ensemble and node.
    unit_component: dict[Unit, int]
    #: Connections cut between components: (connection, pre component, post component,
    #: dimensions).
    cut: list[tuple[Connection, int, int, int]]

    @property
    def n_components(self) -> int:
        return len(self.component_rank)

    def components_on(self, rank: int) -> list[int]:
        return [c for c, r in enumerate(self.component_rank) if r == rank]


def one_component(order: list[Operator], n_ranks: int = 1) -> ModelPartition:
    """Everything in component 0 (a model built without a network, or one component)."""
    return ModelPartition(
        n_ranks=n_ranks,
        op_component=[EVERY_COMPONENT if isinstance(op, TimeUpdate) else 0 for op in order],
        component_rank=[0],
        op_unit=[None] * len(order),
        unit_component={},
        cut=[],
    )


def partition_model(
    network: Network | None,
    order: list[Operator],
    operators: list[Operator],
    record: BuildRecord,
    python_ops: set[int],
    n_ranks: int,
    partitioner: Partitioner | None,
    assignments: Mapping[Any, int] | None,
) -> ModelPartition:
    """Places the model's operators in components and the components on ranks (see the
    module docstring). ``python_ops``: step-order indices of the operators that run in
    Python."""
    if network is None:
        if assignments or (partitioner is not None and (partitioner.n_components or 1) > 1):
            raise PartitionError(
                "a model given without its network cannot be partitioned: pass the network"
            )
        return one_component(order, n_ranks)
    if any(isinstance(order[k], TimeUpdate) for k in python_ops):
        # Every component steps its own time; a time update in Python (a float32 model)
        # cannot be repeated per component.
        logger.info("the time update runs in Python: the model runs as one component")
        return one_component(order, n_ranks)
    units = operator_units(order, operators, record)
    python_units = {units[k] for k in python_ops if units[k] is not None}
    clusters = make_clusters(network, record, python_units)
    if assignments is not None:
        cluster_component = components_from_assignments(clusters, network, assignments)
    else:
        cluster_component = components_from_partitioner(
            clusters, partitioner or Partitioner(), n_ranks
        )
    unit_component = {
        unit: cluster_component[clusters.cluster_of_unit[k]]
        for k, unit in enumerate(clusters.units)
    }
    op_component = []
    for op, unit in zip(order, units, strict=True):
        if isinstance(op, TimeUpdate) and unit is None:
            op_component.append(EVERY_COMPONENT)
        else:
            # Operators made outside any object's build (a model built beforehand) go
            # where the Python objects go: component 0.
            op_component.append(0 if unit is None else unit_component[unit])
    if assignments is not None:
        found = conflicts(order, op_component)
        if found:
            raise PartitionError(
                "assignments split what cannot be split: "
                + describe(found[0], order, units, op_component)
            )
    else:
        merged = merge_conflicts(order, op_component, units)
        if merged != op_component:
            relabel = {}
            for old, new in zip(op_component, merged, strict=True):
                relabel[old] = new
            unit_component = {u: relabel.get(c, c) for u, c in unit_component.items()}
            op_component = merged
    # Components numbered 0..n-1 in order of first use (component 0 stays 0).
    used = sorted({c for c in op_component if c != EVERY_COMPONENT} | {0})
    renumber = {c: k for k, c in enumerate(used)}
    op_component = [c if c == EVERY_COMPONENT else renumber[c] for c in op_component]
    unit_component = {u: renumber.get(c, 0) for u, c in unit_component.items()}
    neurons = [0] * len(used)
    for unit, c in unit_component.items():
        if isinstance(unit, Ensemble):
            neurons[c] += unit.n_neurons
    cut = []
    for conn in network.all_connections:
        a = unit_component[unit_of(conn.pre_obj)]
        b = unit_component[unit_of(conn.post_obj)]
        if a != b:
            cut.append((conn, a, b, connection_dimensions(conn)))
    return ModelPartition(
        n_ranks=n_ranks,
        op_component=op_component,
        component_rank=ranks_of_components(neurons, n_ranks),
        op_unit=units,
        unit_component=unit_component,
        cut=cut,
    )




# ---------------------------------------------------------------------------- the report


@dataclass
class PartitionReport:
    """Neurons and operators per component and per rank, the cut connections with the
    dimensions they send per step, and each rank's partners (``str()`` gives a table)."""

    #: Per component: (rank, neurons, operators).
    components: list[tuple[int, int, int]]
    #: Per rank: (components, neurons, operators).
    ranks: list[tuple[list[int], int, int]]
    #: (connection, pre component, post component, dimensions).
    cut: list[tuple[Connection, int, int, int]]
    #: Per rank: {partner rank: values sent per step}.
    sends: list[dict[int, int]]

    def __str__(self) -> str:
        lines = [f"{len(self.components)} components on {len(self.ranks)} ranks"]
        lines.append("component  rank  neurons  operators")
        for c, (rank, neurons, ops) in enumerate(self.components):
            lines.append(f"{c:>9}  {rank:>4}  {neurons:>7}  {ops:>9}")
        lines.append("rank  components  neurons  operators  sends to (values per step)")
        for r, (comps, neurons, ops) in enumerate(self.ranks):
            sends = ", ".join(f"{t}: {n}" for t, n in sorted(self.sends[r].items())) or "-"
            lines.append(
                f"{r:>4}  {','.join(map(str, comps)) or '-':>10}  {neurons:>7}  {ops:>9}  {sends}"
            )
        lines.append(f"{len(self.cut)} cut connections")
        for conn, a, b, dims in self.cut:
            lines.append(f"  {name(conn)}: component {a} -> {b}, {dims} dimensions")
        return "\n".join(lines)


def partition_report(partition: ModelPartition) -> PartitionReport:
    n = partition.n_components
    neurons = [0] * n
    for unit, c in partition.unit_component.items():
        if isinstance(unit, Ensemble):
            neurons[c] += unit.n_neurons
    ops = [0] * n
    for c in partition.op_component:
        if c == EVERY_COMPONENT:
            ops = [x + 1 for x in ops]
        else:
            ops[c] += 1
    rank_of = partition.component_rank
    ranks = []
    for r in range(partition.n_ranks):
        comps = partition.components_on(r)
        ranks.append((comps, sum(neurons[c] for c in comps), sum(ops[c] for c in comps)))
    sends: list[dict[int, int]] = [defaultdict(int) for _ in range(partition.n_ranks)]
    for _, a, b, dims in partition.cut:
        if rank_of[a] != rank_of[b]:
            sends[rank_of[a]][rank_of[b]] += dims
    return PartitionReport(
        components=[(rank_of[c], neurons[c], ops[c]) for c in range(n)],
        ranks=ranks,
        cut=list(partition.cut),
        sends=[dict(s) for s in sends],
    )
