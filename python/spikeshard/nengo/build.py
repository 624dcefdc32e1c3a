"""Building a nengo model for spikeshard: nengo's own builder, a schedule that does not
depend on the process, and a record of which nengo object made which operator.

nengo's operator-merging optimiser is never run: it keeps operators in sets ordered by
object address, so the order of the additions into a signal (an ensemble's input) changes
from one process to the next, and the last bits of the results with it. Without it the step
order is nengo's topological sort of the operators in creation order, the same in every
process and on every rank (and the build is many times faster).

The record (:class:`BuildRecord`) is what partitioning needs: for every operator, the
top-level nengo object whose build made it (an ``Ensemble``, ``Node``, ``Connection`` or
``Probe``; a probe's own connection and a connection's learning rules count as the probe and
the connection), and for every connection with a synapse, where its operators after the
synapse begin (the part that moves to the post object's component when the connection is
cut).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from nengo import Connection, Ensemble, Node, Probe
from nengo.builder import Model
from nengo.builder.operator import Operator
from nengo.builder.processes import SimProcess
from nengo.builder.signal import SignalDict
from nengo.utils.graphs import toposort
from nengo.utils.numpy import maxint
from nengo.utils.simulator import operator_dependency_graph

#: The nengo objects operators are attributed to (everything else is built inside them).
OWNER_TYPES = (Ensemble, Node, Connection, Probe)


@dataclass
class BuildRecord:
    """Which object's build added which operators (indices into ``model.operators``)."""

    #: (object, first operator, end) per top-level object, in build order.
    owners: list[tuple[Any, int, int]] = field(default_factory=list)
    #: For a connection with a synapse: the index of its first operator after the synapse.
    after_synapse: dict[Connection, int] = field(default_factory=dict)

    def owner_of_each_operator(self, n_operators: int) -> list[Any]:
        """The owning object of operators ``0..n_operators`` (None: made outside any
        object's build, e.g. the model's own ``TimeUpdate``)."""
        owner: list[Any] = [None] * n_operators
        for obj, start, end in self.owners:
            owner[start:end] = [obj] * (end - start)
        return owner


class RecordingBuilder:
    """Stands in for a model's builder while it builds: records, for each top-level object,
    the operators its build adds, and for each connection where its synapse ends. Builds
    are delegated unchanged."""

    def __init__(self, inner: Any, record: BuildRecord) -> None:
        self.inner = inner
        self.record = record
        self._stack: list[Any] = []

    def build(self, model: Model, obj: Any, *args: Any, **kwargs: Any) -> Any:
        outermost = not any(isinstance(o, OWNER_TYPES) for o in self._stack)
        parent = self._stack[-1] if self._stack else None
        start = len(model.operators)
        self._stack.append(obj)
        try:
            built = self.inner.build(model, obj, *args, **kwargs)
        finally:
            self._stack.pop()
        end = len(model.operators)
        if outermost and isinstance(obj, OWNER_TYPES):
            self.record.owners.append((obj, start, end))
        if isinstance(parent, Connection) and obj is parent.synapse and obj is not None:
            self.record.after_synapse[parent] = end
        return built


@contextmanager
def recording_builds(model: Model) -> Iterator[BuildRecord]:
    """Records the builds into ``model`` inside the ``with`` block; the model keeps its own
    builder (so it pickles as nengo's)."""
    inner = model.builder
    record = BuildRecord()
    model.builder = RecordingBuilder(inner, record)
    try:
        yield record
    finally:
        model.builder = inner


def step_order(model: Model) -> tuple[dict[Operator, Any], list[Operator]]:
    """nengo's dependency graph of the operators and its topological order (operators
    with a ``make_step``), without the optimiser: both depend only on creation order."""
    graph = operator_dependency_graph(model.operators)
    return graph, [op for op in toposort(graph) if hasattr(op, "make_step")]


def init_signals(model: Model) -> SignalDict:
    """A ``SignalDict`` with every signal of the model at its initial value."""
    signals = SignalDict()
    for op in model.operators:
        op.init_signals(signals)
    return signals


def skip_draws(op: Operator, rng: np.random.RandomState) -> None:
    """Draws from ``rng`` what ``op.make_step`` would have drawn (see ``Process.get_rng``)."""
    if isinstance(op, SimProcess) and op.process.seed is None:
        rng.randint(maxint)


def make_steps(
    order: list[Operator],
    needed: Callable[[int], Any],
    dt: float,
    rng: np.random.RandomState,
) -> dict[int, Callable[[], None]]:
    """nengo's step functions of the operators ``needed`` says need one, in step order.

    ``needed(index)`` returns the ``SignalDict`` to make operator ``index``'s step with, or
    None for an operator that runs in Rust and needs none: its ``make_step`` is skipped and
    only the draws it would have taken from ``rng`` are taken, so every step function gets
    the generator state it gets under ``nengo.Simulator`` (and no filter is discretised for
    nothing).
    """
    steps = {}
    for index, op in enumerate(order):
        signals = needed(index)
        if signals is not None:
            steps[index] = op.make_step(signals, dt, rng)
        else:
            skip_draws(op, rng)
    return steps
