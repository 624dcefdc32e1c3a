"""Building a nengo model for spikeshard: nengo's own builder, a schedule that does not
depend on the process, and a record of which nengo object made which operator.

nengo's operator-merging optimiser is never run: it keeps operators in sets ordered by
object address, so the order of the additions into a signal (an ensemble's input) changes
from one process to the next, and the last bits of the results with it. Without it the step
order is nengo's topological sort of the operators in creation order, the same in every
process and on every rank (and the build is many times faster).

The build does no work twice (:class:`BuildMemo`): nengo solves the decoders of every
connection from the activities of its pre ensemble, so the connections of one ensemble with
the same function, evaluation points and solver get the same decoders, computed once here;
and every synapse is discretised once per distinct filter and time step. The values are the
ones nengo computes, bit for bit.

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
from functools import lru_cache
from typing import Any

import numpy as np
from nengo import Connection, Direct, Ensemble, Node, Probe
from nengo.builder import Model
from nengo.builder.operator import Operator
from nengo.builder.processes import SimProcess
from nengo.builder.signal import SignalDict
from nengo.solvers import Lstsq, LstsqL2, LstsqL2nz
from nengo.synapses import LinearFilter
from nengo.utils.filter_design import cont2discrete, tf2ss
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


#: Solvers whose decoders depend only on the activities and targets (no random draws, not
#: the post object's encoders).
DETERMINISTIC_SOLVERS = (LstsqL2, LstsqL2nz, Lstsq)


def decoder_key(model: Model, solver: Any, conn: Connection) -> tuple[Any, ...] | None:
    """What the decoders nengo's ``build_decoders`` solves for ``conn`` depend on, when that
    is all: the pre ensemble (its built encoders, gains, biases and evaluation points),
    the slice of it, and the solver; None where the connection's function, evaluation
    points or solver make them its own."""
    pre = conn.pre_obj
    if (
        type(solver) not in DETERMINISTIC_SOLVERS
        or solver.weights
        or conn.function is not None
        or conn.eval_points is not None
        or not isinstance(pre, Ensemble)
        or isinstance(pre.neuron_type, Direct)
        or pre not in model.params
    ):
        return None
    return (id(pre), repr(conn.pre_slice), type(solver), repr(solver))


@dataclass
class BuildMemo:
    """Results nengo's builder would compute again for the same inputs, by input."""

    decoders: dict[tuple[Any, ...], tuple[Any, np.ndarray, Any]] = field(default_factory=dict)


@lru_cache(maxsize=512)
def discretise(
    num: tuple[float, ...], den: tuple[float, ...], analog: bool, method: str, dt: float
) -> tuple[np.ndarray, ...]:
    """``LinearFilter._get_ss``: the state-space matrices of a filter (read-only arrays)."""
    A, B, C, D = tf2ss(np.array(num), np.array(den))
    if analog and len(A) > 0:
        A, B, C, D, _ = cont2discrete((A, B, C, D), dt, method=method)
    matrices = tuple(np.asarray(m) for m in (A, B, C, D))
    for m in matrices:
        m.setflags(write=False)
    return matrices


#: nengo's own discretisation (replaced by the memoized one while a model builds).
NENGO_GET_SS = LinearFilter._get_ss


def state_space(synapse: LinearFilter, dt: float) -> tuple[np.ndarray, ...]:
    """``synapse._get_ss(dt)``, each distinct filter and time step computed once."""
    if type(synapse)._get_ss not in (NENGO_GET_SS, _memoized_get_ss):
        return tuple(synapse._get_ss(dt))  # a subclass with its own discretisation
    return discretise(
        tuple(np.ravel(synapse.num).tolist()),
        tuple(np.ravel(synapse.den).tolist()),
        bool(synapse.analog),
        str(synapse.method),
        float(dt),
    )


def _memoized_get_ss(self: LinearFilter, dt: float) -> tuple[np.ndarray, ...]:
    return state_space(self, dt)


class RecordingBuilder:
    """Stands in for a model's builder while it builds: records, for each top-level object,
    the operators its build adds, and for each connection where its synapse ends; builds
    the decoders a connection shares with another once (:func:`decoder_key`). Other builds
    are delegated unchanged."""

    def __init__(self, inner: Any, record: BuildRecord) -> None:
        self.inner = inner
        self.record = record
        self.memo = BuildMemo()
        self._stack: list[Any] = []

    def build(self, model: Model, obj: Any, *args: Any, **kwargs: Any) -> Any:
        key = None
        if isinstance(obj, DETERMINISTIC_SOLVERS) and args:
            key = decoder_key(model, obj, args[0])
        if key is not None and key in self.memo.decoders:
            eval_points, decoders, info = self.memo.decoders[key]
            return eval_points, decoders.copy(), dict(info)
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
        if key is not None:
            eval_points, decoders, info = built
            self.memo.decoders[key] = (eval_points, decoders.copy(), dict(info))
        return built


@contextmanager
def recording_builds(model: Model) -> Iterator[BuildRecord]:
    """Records the builds into ``model`` inside the ``with`` block; the model keeps its own
    builder (so it pickles as nengo's)."""
    inner = model.builder
    record = BuildRecord()
    model.builder = RecordingBuilder(inner, record)
    get_ss = LinearFilter._get_ss
    LinearFilter._get_ss = _memoized_get_ss
    try:
        yield record
    finally:
        LinearFilter._get_ss = get_ss
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
