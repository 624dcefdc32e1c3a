"""``spikeshard.nengo.Simulator``: nengo's reference simulator with its step run in Rust,
on one process or split into components over MPI ranks (nengo_mpi's API).

The model is built by nengo's own builder, without its optimiser (see
:mod:`spikeshard.nengo.build`), and its signals live in nengo's own ``SignalDict``, so what
a nengo user reads or writes (``sim.data``, ``sim.signals``, ``sim.model``, probes,
pickling) behaves as with ``nengo.Simulator``. Then:

1. :mod:`~spikeshard.nengo.lowering` turns every operator it supports into calls of a Rust
   program (recorded, :mod:`~spikeshard.nengo.recording`); the rest run their own nengo
   step functions, in the same order;
2. :mod:`~spikeshard.nengo.partition` places the operators in components (one unless a
   ``partitioner`` or ``assignments`` says otherwise) and the components on ranks;
3. :mod:`~spikeshard.nengo.plan` makes each rank's plan, and
   :mod:`~spikeshard.nengo.runtime` runs this rank's: each component on its own arrays,
   cut signals exchanged every step. With one component, every array is the
   ``SignalDict``'s; with several, each component owns its signals and ``sim.signals`` is
   the merged view (every signal's array from the component that writes it).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Hashable, Mapping
from typing import Any

import nengo
import numpy as np
from nengo.builder import Model
from nengo.builder.signal import SignalDict
from nengo.cache import get_default_decoder_cache
from nengo.exceptions import SimulatorClosed, ValidationError
from nengo.simulator import SimulationData
from nengo.utils.numpy import maxint
from nengo.utils.progress import Progress, ProgressTracker

from spikeshard._engine import NengoProgram
from spikeshard.comm import SerialComm, launched_by_mpirun
from spikeshard.errors import UnsupportedError
from spikeshard.nengo import cluster
from spikeshard.nengo.build import init_signals, make_steps, recording_builds, step_order
from spikeshard.nengo.cluster import exchange_for, run_rank
from spikeshard.nengo.lowering import NoiseState, Refill, lower
from spikeshard.nengo.operands import Unsupported, float_array, operand
from spikeshard.nengo.partition import (
    ModelPartition,
    PartitionError,
    PartitionReport,
    check_assignments,
    partition_model,
    partition_report,
    unit_of,
)
from spikeshard.nengo.plan import RankPlan, make_plans
from spikeshard.nengo.recording import BaseIndex, Call, RecordingProgram
from spikeshard.nengo.runtime import RankRuntime, unpack_samples
from spikeshard.partition import Partitioner
from spikeshard.threads import check_threads, default_threads

logger = logging.getLogger(__name__)

#: Steps per call into Rust when nothing runs in Python (bounds probe buffers and lets the
#: progress bar move).
CHUNK_STEPS = 1000

#: Components of every model when no partitioner or assignments are given (an integer;
#: default: the number of ranks): lets nengo's test suite run every model split in one
#: process (see README.md).
COMPONENTS_VARIABLE = "SPIKESHARD_NENGO_COMPONENTS"


class Simulator(nengo.Simulator):
    """A drop-in for ``nengo.Simulator`` that steps the model in Rust, optionally split
    into components (nengo_mpi's ``Partitioner`` and ``assignments``).

    Parameters
    ----------
    network, dt, seed, model, progress_bar
        As for ``nengo.Simulator``: ``dt`` in seconds; ``seed`` seeds the processes'
        random streams (``network.seed + 1`` when not given).
    optimize : bool
        nengo's operator-merging optimiser is never run (its result depends on object
        addresses, so results would change from one process to the next). With
        ``optimize=True`` (the default) spikeshard lays out each component's signals so that
        consecutive operators of one kind (resets, copies, elementwise products, neuron
        populations of one type, synapses of one kind) touch consecutive memory, and runs
        each such run as one Rust operator: every element gets the same arithmetic, so the
        results are the same bits as with ``optimize=False``, which runs every operator on
        its own.
    partitioner : spikeshard.Partitioner, optional
        How to split the model into components (``n_components``, ``func``; see
        :mod:`spikeshard.nengo.partition`). With one process every component runs here,
        with the same results.
    assignments : mapping, optional
        The component of each network, ensemble or node (``{ensemble: 0, ...}``), instead
        of a partitioner.
    threads : int, optional
        Threads for the large operators (neuron populations of at least
        ``spikeshard._engine.PARALLEL_MIN_NEURONS``, dense and block products of at least
        ``PARALLEL_MIN_PRODUCTS`` multiply-adds). Default: ``SPIKESHARD_THREADS``, else 1, as
        nengo's own simulator (see benchmarks/README.md for what more threads gained).
        Results are the same bits for any number of threads.

    Attributes
    ----------
    python_operators : list of (operator, reason)
        The operators that run in Python, each with the reason it could not run in Rust.
    n_components : int
        The components the model is split into.
    """

    def __init__(
        self,
        network: nengo.Network | None,
        dt: float = 0.001,
        seed: int | None = None,
        model: nengo.builder.Model | None = None,
        progress_bar: Any = True,
        optimize: bool = True,
        partitioner: Partitioner | None = None,
        assignments: Mapping[Hashable, int] | None = None,
        threads: int | None = None,
    ) -> None:
        self.closed = True  # as nengo's: __del__ must not warn if checking the arguments fails
        self._cluster = cluster.active()
        if self._cluster is None and launched_by_mpirun():
            raise UnsupportedError(
                "spikeshard.nengo.Simulator under mpirun needs its launcher, which runs the "
                "script once, on rank 0, and serves the model's components on the other "
                "ranks: mpirun -np N python -m spikeshard.nengo script.py"
            )
        n_ranks = 1 if self._cluster is None else self._cluster.size
        self.progress_bar = progress_bar
        self.optimize = check_optimize(optimize)
        self.partitioner, self.assignments = check_placement(partitioner, assignments)
        self.threads = check_threads(threads if threads is not None else env_threads())
        self.python_operators: list[tuple[Any, str]] = []

        if model is None:
            model = Model(
                dt=float(dt),
                label=f"{network}, dt={dt:f}",
                decoder_cache=get_default_decoder_cache(),
            )
        self.model = model
        with ProgressTracker(progress_bar, Progress("Building", "Build")) as tracker:
            with recording_builds(model) as record:
                if network is not None:
                    model.build(network, progress=tracker.next_stage("Building", "Build"))
            self.dg, self._step_order = step_order(model)
        self.signals = self._all_signals = init_signals(model)
        self._sim_data = model.params
        self.data = SimulationData(self._sim_data)

        self._lower()
        self._partition = partition_model(
            network,
            self._step_order,
            model.operators,
            record,
            self._python_ops,
            n_ranks,
            self.partitioner
            or (default_partitioner(n_ranks) if network is not None else None),
            self.assignments,
        )
        plans = make_plans(
            self._step_order,
            self._partition,
            self._op_calls,
            self._python_ops,
            [
                (k, self._component_of(p), call, self._probe_size(p))
                for p, k, call in self._rust_probes
            ],
            [(k, call) for k, _, call in self._refills],
            self._base_index,
            self.dt,
        )
        self._plan: RankPlan = plans[0]
        #: Each rank's probes, to read its gathered samples.
        self._rank_probes = [plan.probes for plan in plans]
        #: Each rank's refilled operators, to send it what reset draws for them.
        self._rank_refills = [plan.refills for plan in plans]
        primary = dict(enumerate(self._base_index.arrays))
        self._runtime: RankRuntime | None = RankRuntime(
            self._plan, self.threads, primary, fuse=self.optimize
        )
        self._move_signals(self._runtime.moved)
        if self._cluster is not None:
            self._sim_id = self._cluster.build(plans, self.threads, self.optimize)
            self._exchange = exchange_for(self._cluster.comm, self._plan, self._sim_id)
            self.signals = rank_signals(self._all_signals, self._base_index, plans)
        del plans

        if seed is None:
            if network is not None and network.seed is not None:
                seed = network.seed + 1
            else:
                # As nengo: numpy's global generator, so np.random.seed(...) fixes it.
                seed = np.random.randint(maxint)  # noqa: NPY002
        self.closed = False
        self.reset(seed=seed)

    # -- lowering ------------------------------------------------------------------------

    def _lower(self) -> None:
        """Records the Rust program calls of every operator (a dry run over the model's own
        signals: what Rust refuses runs in Python), and of every probe."""
        self._base_index = index = BaseIndex(self.signals)
        recorder = RecordingProgram(NengoProgram(), index)
        self._op_calls: list[list[Call]] = []
        self._python_ops: set[int] = set()
        self._refills: list[tuple[int, Refill, Call]] = []
        for k, op in enumerate(self._step_order):
            mark = len(recorder.calls)
            try:
                refill = lower(op, self.signals, self.dt, recorder)
            except Unsupported as reason:
                del recorder.calls[mark:]
                self.python_operators.append((op, str(reason)))
                self._python_ops.add(k)
                self._op_calls.append([])
                continue
            calls = recorder.calls[mark:]
            self._op_calls.append(calls)
            if refill is not None:
                self._refills.append((k, refill, calls[-1]))
        self._rust_probes: list[tuple[nengo.Probe, int, Call]] = []
        self._python_probes: list[nengo.Probe] = []
        for k, probe in enumerate(self.model.probes):
            signal = self.signals[self.model.sig[probe]["in"]]
            try:
                array = float_array(signal, "probed signal")
            except Unsupported:
                self._python_probes.append(probe)
                continue
            recorder.add_probe(operand(array), self._probe_period(probe))
            self._rust_probes.append((probe, k, recorder.calls[-1]))
        if self.python_operators:
            logger.info(
                "%d of %d operators run in Python: %s",
                len(self.python_operators),
                len(self._step_order),
                "; ".join(sorted({reason for _, reason in self.python_operators})),
            )

    def _move_signals(self, moved: dict[int, np.ndarray]) -> None:
        """Points the model's ``SignalDict`` at the arrays the runtime laid out anew for
        fusion (their views are made again from them when next asked for)."""
        bases = self._base_index.bases
        for b, array in moved.items():
            self._base_index.arrays[b] = array
            dict.__setitem__(self._all_signals, bases[b], array)
        moved_ids = {id(bases[b]) for b in moved}
        for key in [k for k in dict.keys(self._all_signals) if k.base is not k]:
            if id(key.base) in moved_ids:
                dict.__delitem__(self._all_signals, key)

    def _component_of(self, probe: nengo.Probe) -> int:
        components = self._partition.unit_component
        return components[unit_of(probe.target)] if components else 0

    @property
    def n_components(self) -> int:
        return self._partition.n_components

    def partition_report(self) -> PartitionReport:
        """Neurons and operators per component and per rank, the cut connections with their
        dimensions, and the partners of each rank (``print`` it for a table)."""
        return partition_report(self._partition)

    @property
    def partition(self) -> ModelPartition:
        """Where every operator and component runs (see :mod:`spikeshard.nengo.partition`)."""
        return self._partition

    # -- nengo.Simulator's interface -----------------------------------------------------

    def reset(self, seed: int | None = None) -> None:
        """Resets signals, processes and probes, as ``nengo.Simulator.reset``."""
        if self.closed:
            raise SimulatorClosed("Cannot reset closed Simulator.")
        runtime = self._runtime
        assert runtime is not None
        if seed is not None:
            self.seed = seed
        for key in self.signals:
            self.signals.reset(key)
        runtime.reset()
        # nengo makes every operator's step function here, in step order; only the Python
        # operators and the tables drawn by make_step need theirs, and the others take the
        # same draws from the generator, so every process gets the seed it gets in nengo.
        # All of this happens here, on rank 0, which sends the other ranks what it drew.
        self.rng = np.random.RandomState(self.seed)
        component = self._partition.op_component
        refilled = {k for k, _, _ in self._refills}
        component_signals: dict[int, SignalDict] = {}

        def signals_for(k: int) -> SignalDict | None:
            if k in self._python_ops:
                c = max(component[k], 0)  # a time update in Python: one component
                if c not in component_signals:
                    component_signals[c] = self._component_signals(c)
                return component_signals[c]
            return self._all_signals if k in refilled else None

        steps = make_steps(self._step_order, signals_for, self.dt, self.rng)
        self._python_steps = {
            (k, c): steps[k] for kind, k, c in self._plan.items if kind == "python"
        }
        drawn: dict[int, tuple[str, Any]] = {}
        for k, refill, recorded in self._refills:
            state = refill(steps[k], self._all_signals)
            # A table is filled in place in the recorded call's own array (its second
            # argument), which this rank's program reads.
            drawn[k] = ("noise", state) if isinstance(state, NoiseState) else (
                "table", recorded.args[1]
            )
        data = [
            [(drawn[k][0], index, drawn[k][1]) for k, _, index in refills]
            for refills in self._rank_refills
        ]
        for kind, index, value in data[0]:
            if kind == "noise":
                runtime.program.set_noise_state(runtime.results[index], *value)
        if self._cluster is not None:
            self._cluster.reset(self._sim_id, data)
        self.clear_probes()
        self._probe_step_time()

    def _component_signals(self, component: int) -> SignalDict:
        """A ``SignalDict`` of component ``component``'s arrays (for its Python operators);
        signals the Rust program never addresses (sparse, empty) are the model's own."""
        assert self._runtime is not None
        signals = SignalDict()
        for key, value in dict.items(self._all_signals):
            if key.base is key:
                dict.__setitem__(signals, key, value)
        bases = self._base_index.bases
        for b, array in self._runtime.signal_arrays(component).items():
            dict.__setitem__(signals, bases[b], array)
        return signals

    def close(self) -> None:
        """Closes the simulator; the Rust program lets go of the signals (on every rank)."""
        if self._cluster is not None and self._runtime is not None:
            self._cluster.close(self._sim_id)
        self._runtime = None
        super().close()

    def __getstate__(self) -> dict[str, Any]:
        if self._cluster is not None:
            raise UnsupportedError(
                "a simulator split over MPI ranks cannot be pickled (its signals live on "
                "several ranks)"
            )
        return super().__getstate__()

    def step(self) -> None:
        """Advances the simulator by one step (``dt`` seconds)."""
        self.run_steps(1, progress_bar=False)

    def run_steps(self, steps: int, progress_bar: Any = None) -> None:
        """Simulates ``steps`` steps of ``dt``, with a progress bar when asked."""
        if self.closed or self._runtime is None:
            raise SimulatorClosed("Simulator cannot run because it is closed.")
        if steps < 0:
            raise ValidationError(f"Must be non-negative (got {steps})", attr="steps")
        if progress_bar is None:
            progress_bar = self.progress_bar
        with ProgressTracker(progress_bar, Progress("Simulating", "Simulation", steps)) as tracker:
            done = 0
            while done < steps:
                chunk = min(CHUNK_STEPS, steps - done)
                self._advance(chunk)
                done += chunk
                tracker.total_progress.step(chunk)
        self._probe_step_time()

    def _advance(self, steps: int) -> None:
        runtime = self._runtime
        assert runtime is not None
        after_step = self._probe_in_python if self._python_probes else None
        if self._cluster is not None:
            self._cluster.run(self._sim_id, steps)
            gathered = run_rank(
                self._cluster.comm, runtime, self._exchange, steps, self._python_steps, after_step
            )
            assert gathered is not None
            self._store_samples(gathered)
            return
        try:
            runtime.run(steps, self._python_steps, after_step=after_step)
        finally:  # what was recorded before a Python operator raised is kept, as in nengo
            self._store_samples([runtime.pack_samples()])

    def _store_samples(self, packed: list[np.ndarray]) -> None:
        """Appends every rank's packed probe samples to ``sim.data``."""
        probes = self.model.probes
        for probe_list, samples in zip(self._rank_probes, packed, strict=True):
            for k, rows in unpack_samples(probe_list, samples).items():
                shape = self._probe_shape(probes[k])
                self._sim_data[probes[k]].extend(rows.reshape((len(rows), *shape)))

    def _probe_in_python(self) -> None:
        self._probe_step_time()
        for probe in self._python_probes:
            if self.n_steps % self._probe_period(probe) < 1:
                self._sim_data[probe].append(self.signals[self.model.sig[probe]["in"]].copy())

    def _probe_period(self, probe: nengo.Probe) -> float:
        """Steps between samples, as nengo's ``_probe`` computes it."""
        return 1.0 if probe.sample_every is None else probe.sample_every / self.dt

    def _probe_shape(self, probe: nengo.Probe) -> tuple[int, ...]:
        return tuple(self.model.sig[probe]["in"].shape)

    def _probe_size(self, probe: nengo.Probe) -> int:
        return int(np.prod(self._probe_shape(probe)))


class RankSignals(SignalDict):
    """``sim.signals`` on rank 0 of an MPI run: the signals of rank 0's components. Another
    rank's signal raises a ``KeyError`` that says where it lives (probe it instead: reading
    results never communicates)."""

    def __init__(self, remote: dict[Any, int]) -> None:
        super().__init__()
        self._remote = remote

    def __getitem__(self, key: Any) -> Any:
        try:
            return super().__getitem__(key)
        except KeyError:
            base = getattr(key, "base", key)
            if base in self._remote:
                raise KeyError(
                    f"signal {key.name!r} lives on rank {self._remote[base]}: under MPI "
                    "sim.signals holds the signals of rank 0's components; probe it to see "
                    "it on rank 0"
                ) from None
            raise


def rank_signals(signals: SignalDict, index: BaseIndex, plans: list[RankPlan]) -> RankSignals:
    """The signals of ``plans[0]``'s components (their arrays from ``signals``, the model's
    ``SignalDict``), knowing where every other base signal lives."""
    remote: dict[Any, int] = {}
    for plan in plans[:0:-1]:  # the lowest rank that holds a base is named
        remote.update({index.bases[b]: plan.rank for b in plan.bases})
    local = RankSignals(remote)
    held = set(plans[0].bases)
    for key, value in dict.items(signals):
        if key.base is not key:
            continue
        b = index.index_of.get(id(key))
        if b is None or b in held:
            dict.__setitem__(local, key, value)
            remote.pop(key, None)
    return local


def env_threads() -> int:
    """``SPIKESHARD_THREADS`` if set (checked as ``Network`` checks it), else 1."""
    return default_threads(SerialComm()) if os.environ.get("SPIKESHARD_THREADS") else 1


def default_partitioner(n_ranks: int) -> Partitioner:
    """``Partitioner(n)`` with n from ``SPIKESHARD_NENGO_COMPONENTS``, else the number of
    ranks."""
    value = os.environ.get(COMPONENTS_VARIABLE, str(n_ranks))
    if not value.isdigit() or int(value) < 1:
        raise PartitionError(f"{COMPONENTS_VARIABLE} = {value!r}: expected an integer >= 1")
    return Partitioner(int(value))


def check_optimize(optimize: Any) -> bool:
    """``optimize`` as a bool (see :class:`Simulator`)."""
    if not isinstance(optimize, (bool, np.bool_)):
        raise ValidationError(f"optimize must be True or False, got {optimize!r}", attr="optimize")
    return bool(optimize)


def check_placement(
    partitioner: Any, assignments: Any
) -> tuple[Partitioner | None, dict[Any, int] | None]:
    """``partitioner`` (a :class:`~spikeshard.Partitioner`) or ``assignments``, checked."""
    if partitioner is not None and assignments is not None:
        raise PartitionError("give either a partitioner or assignments, not both")
    if partitioner is not None and not isinstance(partitioner, Partitioner):
        raise PartitionError(
            f"partitioner = {partitioner!r}: expected a spikeshard.nengo.Partitioner"
        )
    return partitioner, None if assignments is None else check_assignments(assignments)

