"""``Network``: the container users build and run. It holds declarations; ``build`` turns
them into a rank's engine and ``run`` advances it (continuing time across calls)."""

from __future__ import annotations

import logging
import math
import os
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from . import _validate, memory, units
from .arrays import FloatArray
from .build import BuiltRank, agree_on_interval, build_rank
from .checkpoint import (
    Checkpoint,
    PopulationPart,
    Restorer,
    open_checkpoint,
    write_index,
    write_part,
)
from .comm import Comm, LocalExchange, SpikeExchange, world
from .description import describe
from .engines import Engine, rust_supports_model
from .engines.mixed import MixedEngine
from .engines.numpy_engine import NumpyEngine
from .engines.rust import RustEngine
from .errors import NetworkError, PerformanceWarning, SimulationError, UnsupportedError
from .exchange import check_exchange, plan_exchange
from .fingerprint import check_ranks_agree, fingerprint
from .layout import Layout, make_layout
from .memory import MemoryEstimate
from .monitors import RateMonitor
from .output import DEFAULT_FLUSH_EVERY_S, OutputWriter
from .packed_spikes import MAX_STEPS
from .partition import (
    Partition,
    Partitioner,
    PartitionGraph,
    default_partition,
    make_graph,
    partition_from_assignments,
    partition_from_partitioner,
)
from .population import Population
from .simulate import run_steps
from .threads import check_threads, default_threads
from .timing import Timers, format_report

logger = logging.getLogger("spikeshard")

BACKENDS = ("auto", "rust", "numpy", "mpi")
#: The default seed (a fixed one, as NEST: the same script gives the same result).
DEFAULT_SEED = 12345
DEFAULT_DT = 1e-4


def _flatten(objects: Iterable[Any]) -> list[Any]:
    flat: list[Any] = []
    for obj in objects:
        if isinstance(obj, (list, tuple, set)):
            flat.extend(_flatten(obj))
        else:
            flat.append(obj)
    return flat


class Network:
    """A spiking network: populations, projections, stimuli and monitors.

    Parameters
    ----------
    *objects
        Populations, Projections, PoissonInputs, SpikeMonitors, StateMonitors, RateMonitors
        (or lists of them). Populations are numbered in the order added (their global ids follow).
    seed : int, optional
        Seeds every random choice (connectivity, weights, delays, initial states, inputs).
        The same seed gives the same spikes for any number of ranks and threads.
        Default: a fixed seed (12345), as NEST.
    threads : int, optional
        Threads per rank for the Rust engine. Default: ``SPIKESHARD_THREADS`` or the cores
        of the machine divided by the ranks running on it.
    partitioner : Partitioner, optional
        Places neurons on components (nengo_mpi's API); default: every population split
        evenly over the ranks.
    assignments : dict, optional
        ``{population or pop[a:b]: component}``; components run on rank ``c % n_ranks``.
    exchange : str
        How spikes cross MPI ranks: ``"allgather"`` (every rank receives every spike),
        ``"alltoall"`` (each spike goes only to the ranks holding synapses from its neuron)
        or ``"auto"`` (default: whichever is expected to be cheaper for this network and
        partition, decided at build the same way on every rank). Results are the same.
    """

    def __init__(self, *objects: Any, seed: int | None = None, threads: int | None = None,
                 label: str | None = None, partitioner: Partitioner | None = None,
                 assignments: dict[Any, int] | None = None, exchange: str = "auto") -> None:
        if partitioner is not None and not isinstance(partitioner, Partitioner):
            raise NetworkError(f"partitioner = {partitioner!r}: expected a Partitioner")
        if partitioner is not None and assignments is not None:
            raise NetworkError("give either partitioner or assignments, not both")
        if assignments is not None and not isinstance(assignments, dict):
            raise NetworkError(f"assignments = {assignments!r}: expected a dict")
        self.partitioner = partitioner
        self.assignments = assignments
        self.exchange = check_exchange(exchange)
        self._exchange: SpikeExchange = LocalExchange()
        self._partition: Partition | None = None
        self._synapses_per_rank: list[int] = []
        self._objects: list[Any] = []
        self.seed = DEFAULT_SEED if seed is None else _validate.count("seed", seed)
        if self.seed >= 2**64:
            raise NetworkError(f"seed = {self.seed}: expected an integer in [0, 2**64)")
        self.threads = None if threads is None else check_threads(threads)
        self.label = _validate.label(label)
        self._built: BuiltRank | None = None
        self._writer: OutputWriter | None = None
        self._comm: Comm | None = None
        self._step = 0
        self.add(*objects)

    # ------------------------------------------------------------------ declaring

    def add(self, *objects: Any) -> None:
        """Adds declarations; fails once the network is built (``reset()`` first)."""
        if self._built is not None:
            raise SimulationError("the network is already built; call reset() before adding")
        new = _flatten(objects)
        make_layout([*self._objects, *new])  # validates kinds and references
        self._objects.extend(new)

    @property
    def populations(self) -> list[Population]:
        return [o for o in self._objects if isinstance(o, Population)]

    # ------------------------------------------------------------------ building

    @property
    def is_built(self) -> bool:
        return self._built is not None

    @property
    def dt(self) -> float | None:
        return None if self._built is None else self._built.dt

    @property
    def t(self) -> float:
        """Simulated time so far (s)."""
        return 0.0 if self._built is None else self._step * self._built.dt

    @property
    def engine(self) -> str | None:
        """The engine this rank runs on, once built: "rust", "numpy", or "rust+numpy" (the
        populations of models without a Rust kernel on numpy, the others on Rust)."""
        return None if self._built is None else self._built.engine.name

    @property
    def comm(self) -> Comm | None:
        return self._comm

    @property
    def engine_threads(self) -> int | None:
        """Threads this rank's engine runs on, once built (``threads`` or its default)."""
        return None if self._built is None else int(getattr(self._built.engine, "threads", 1))

    @property
    def spike_exchange(self) -> str | None:
        """The spike exchange in use once built: "local" (one process), "allgather" or
        "alltoall" (see ``exchange``)."""
        return None if self._built is None else self._exchange.name

    @property
    def exchanged_bytes(self) -> tuple[int, int]:
        """(bytes sent, bytes received) by this rank in spike exchanges so far."""
        return self._exchange.bytes_sent, self._exchange.bytes_received

    @property
    def recording_bytes(self) -> int:
        """The most memory (bytes) this rank's engine has held for the monitors' recordings
        between two takes (the end of each run, or each flush of an output file)."""
        return 0 if self._built is None else self._built.recording.peak_engine_bytes

    @property
    def local_synapses(self) -> int:
        """Synapses built on this rank."""
        return 0 if self._built is None else self._built.local_synapses

    def build(self, dt: float = DEFAULT_DT, backend: str = "auto") -> None:
        """Builds this rank's share of the network for time step ``dt`` (s)."""
        self._build(dt, backend, None)

    def _build(self, dt: float, backend: str, checkpoint: Checkpoint | None) -> None:
        """``build``, from a checkpoint's state and step if given."""
        checked_dt = _validate.real("dt", dt, low=0.0, low_open=True)
        units.check_dt("", dt)
        dt = checked_dt
        if backend not in BACKENDS:
            raise NetworkError(f"backend = {backend!r}: expected one of {list(BACKENDS)}")
        if self._built is not None:
            if not math.isclose(dt, self._built.dt, rel_tol=1e-12):
                raise SimulationError(
                    f"dt = {dt!r}: the network was built with dt = {self._built.dt!r}; "
                    "call reset() to change it"
                )
            if backend in ("rust", "numpy") and backend != self._built.engine.name:
                raise SimulationError(
                    f"backend = {backend!r}: the network was built on the "
                    f"{self._built.engine.name!r} engine; call reset() to change it"
                )
            return
        started = time.perf_counter()
        layout = make_layout(self._objects)
        if not layout.populations:
            raise NetworkError("the network has no populations")
        comm = world(require_mpi=backend == "mpi")
        partition = self._make_partition(layout, comm.size)
        check_ranks_agree(comm, fingerprint(layout, self.seed, dt), partition, backend,
                          self.exchange)
        restorer = None
        if checkpoint is not None:
            checkpoint.check(fingerprint(layout, self.seed, dt, monitors=False))
            for monitor in layout.monitors:
                if isinstance(monitor, RateMonitor):
                    monitor.check_resumable_at(dt, checkpoint.step)
            comm.agree("restore_state (the checkpoint's step)", checkpoint.step,
                       "restore_state")
            restorer = Restorer(checkpoint)
        engine = self._make_engine(layout, backend, dt, comm)
        self._built = build_rank(layout, dt, self.seed, engine,
                                 lambda index, _: partition.locals(index, comm.rank),
                                 None if restorer is None else restorer.start_state)
        self._partition = partition
        self._built.timers.build = time.perf_counter() - started
        # Gathered now (build is collective anyway) so the report can be asked on one rank.
        gathered = comm.allgather_object((self._built.local_synapses, engine.longest_interval(),
                                          self._built.timers.build),
                                         "build: gather synapse counts")
        self._synapses_per_rank = [synapses for synapses, _, _ in gathered]
        self._built.timers_per_rank = [Timers(build=build) for _, _, build in gathered]
        agree_on_interval(self._built, [longest for _, longest, _ in gathered])
        self._exchange = plan_exchange(comm, self.exchange, partition, layout.first_gid,
                                       engine.source_gids, self._built.interval * dt)
        if restorer is not None:
            restorer.finish(engine, self._built.engine_population, self._built.recording)
        self._built.recording.bind(comm.rank, comm.size,
                                   describe(layout, self.seed, dt, comm.size))
        self._writer = None
        self._comm = comm
        self._step = 0 if checkpoint is None else checkpoint.step
        logger.info("spikeshard: rank %d/%d runs the %s engine with %d thread(s)",
                    comm.rank, comm.size, engine.name, getattr(engine, "threads", 1))

    def _make_partition(self, layout: Layout, n_ranks: int) -> Partition:
        if self.assignments is not None:
            return partition_from_assignments(layout, n_ranks, self.assignments)
        if self.partitioner is not None:
            return partition_from_partitioner(layout, n_ranks, self.partitioner)[0]
        return default_partition(layout, n_ranks)

    def estimate_memory(self, n_ranks: int = 1, dt: float | None = None,
                        threads: int = 1) -> list[MemoryEstimate]:
        """Expected memory per rank (bytes, by what holds them) if this network were built
        on ``n_ranks`` ranks with ``threads`` threads each at time step ``dt`` (s; default
        the built one or 0.1 ms), computed from the declarations without building anything
        and without communicating (see ``spikeshard.memory``)."""
        n_ranks = _validate.count("n_ranks", n_ranks, 1)
        threads = check_threads(threads)
        if dt is None:
            dt = self._built.dt if self._built is not None else DEFAULT_DT
        dt = _validate.real("dt", dt, low=0.0, low_open=True)
        layout = make_layout(self._objects)
        return memory.estimate(layout, self._make_partition(layout, n_ranks), dt, threads)

    def partition_report(self) -> str:
        """Neurons and synapses per rank and the expected fraction of synapses between ranks
        (may be called on any rank alone)."""
        if self._built is None or self._comm is None or self._partition is None:
            raise SimulationError("the network is not built yet: call build() or run()")
        synapses = self._synapses_per_rank
        neurons = self._partition.neurons_per_rank()
        graph: PartitionGraph = make_graph(self._built.layout, 4 * self._comm.size)
        cut = self._partition.cut_fraction(graph)
        lines = [f"partition over {self._comm.size} rank(s)",
                 f"{'rank':>6} {'neurons':>10} {'synapses':>12}"]
        for rank in range(self._comm.size):
            lines.append(f"{rank:>6} {int(neurons[rank]):>10} {int(synapses[rank]):>12}")
        lines.append(f"expected fraction of synapses between ranks: {cut:.3f}")
        return "\n".join(lines)

    def _make_engine(self, layout: Layout, backend: str, dt: float, comm: Comm) -> Engine:
        """The rank's engine: Rust, numpy, or both (Rust for the populations it implements,
        numpy for the others), as ``backend`` asks and the models allow."""
        on_numpy = [p for p in layout.populations if not rust_supports_model(p.model)]
        if backend == "numpy":
            return NumpyEngine(dt)
        if not on_numpy:
            return RustEngine(dt, self.threads or default_threads(comm))
        models = sorted({p.model.__name__ for p in on_numpy})
        if backend == "rust":
            raise UnsupportedError(
                f"backend='rust': model(s) {models} have no Rust kernel; use "
                "backend='numpy' or 'auto'"
            )
        mixed = len(on_numpy) < len(layout.populations)
        if comm.rank == 0:
            names = ", ".join(f"{p.name} ({p.model.__name__})" for p in on_numpy)
            others = ("the other populations stay on the Rust engine" if mixed
                      else "there is no other population")
            warnings.warn(
                f"spikeshard: population(s) {names} run on the numpy engine (numpy code per "
                f"step, typically ten times slower per neuron than Rust): model(s) {models} "
                f"have no Rust kernel (rust_kernel is None or not compiled in); {others}. "
                "docs/extending.md says how to give a model a Rust kernel.",
                PerformanceWarning, stacklevel=4)
        return MixedEngine(dt, self.threads or default_threads(comm)) if mixed else NumpyEngine(dt)

    # ------------------------------------------------------------------ running

    def run(self, duration: float, dt: float | None = None, backend: str = "auto",
            progress: bool | None = None, output: str | os.PathLike[str] | None = None,
            flush_every: float = DEFAULT_FLUSH_EVERY_S) -> None:
        """Simulates ``duration`` seconds, continuing from where the last run ended.

        ``dt`` (s) is used when the network is built (default 0.1 ms); a later run must use
        the same ``dt``. ``backend``: "auto" (Rust where every model has a Rust kernel, MPI
        when launched by mpirun), "rust", "numpy" or "mpi". ``progress``: True shows a
        progress bar with the real-time factor on rank 0 (stderr) and leaves a one-line
        summary, False shows nothing, None shows both for runs longer than two seconds.

        ``output``: an HDF5 file (needs h5py) to which every rank writes what the monitors
        record, every ``flush_every`` seconds of model time, at the end of the run and on
        SIGTERM; read it with ``spikeshard.load(output)`` (see ``output.py`` for the layout).
        Later runs with the same ``output`` continue the file; a new path starts a new one.
        """
        duration = _validate.real("duration", duration, low=0.0)
        if progress is not None:
            _validate.flag("progress", progress)
        flush_every = _validate.real("flush_every", flush_every, low=0.0, low_open=True)
        if output is not None and not isinstance(output, (str, os.PathLike)):
            raise NetworkError(f"output = {output!r}: expected a file path or None")
        self.build(DEFAULT_DT if dt is None and self._built is None
                   else (dt if dt is not None else self._built.dt),  # type: ignore[union-attr]
                   backend)
        assert self._built is not None and self._comm is not None
        steps = duration / self._built.dt
        if self._step + steps > MAX_STEPS:
            raise NetworkError(
                f"duration = {duration!r} s: a network runs at most {MAX_STEPS} steps in all "
                f"({MAX_STEPS * self._built.dt:.6g} s at dt = {self._built.dt!r} s; "
                f"{self.t!r} s have run)")
        n_steps = int(round(steps))
        if abs(steps - n_steps) > 1e-6:
            raise NetworkError(
                f"duration = {duration!r} s is not a whole number of steps of "
                f"dt = {self._built.dt!r} s"
            )
        # Before any step, so ranks asked for different durations (even one step apart)
        # fail together instead of exchanging spikes out of step.
        # The flush steps of an output file too: they split the run the same way everywhere.
        flush_steps = None if output is None else max(1, int(round(flush_every / self._built.dt)))
        self._comm.agree("run (first step, steps, output's flush steps) with dt = "
                         f"{self._built.dt!r} s", (self._step, n_steps, flush_steps), "run")
        if n_steps == 0:
            return
        writer = self._writer_for(output, flush_steps)
        run_steps(self._built, self._comm, self._exchange, self._step, n_steps, progress,
                  writer)
        self._step += n_steps

    def _writer_for(self, output: str | os.PathLike[str] | None, flush_steps: int | None
                    ) -> OutputWriter | None:
        """The output file's writer: the current one for the same path, else a new one."""
        assert self._built is not None and self._comm is not None
        if output is None or flush_steps is None:
            return None
        writer = self._writer
        if writer is None or writer.path != Path(output):
            recording = self._built.recording
            writer = OutputWriter(output, [p.monitor for p in recording.plans], self._comm.rank,
                                  self._comm.size, recording.description, self._built.dt,
                                  flush_steps)
            # The file holds the runs from this one on: nothing recorded before is in it.
            self._writer = writer
        writer.flush_every_steps = flush_steps
        return writer

    @property
    def timers(self) -> Timers:
        """This rank's wall time per phase (build, update, delivery, exchange, recording),
        with the model time simulated and the spikes emitted; never communicates."""
        if self._built is None:
            return Timers()
        return self._built.timers.copy()

    @property
    def timers_per_rank(self) -> list[Timers]:
        """Every rank's ``timers`` as of the end of the last run (gathered then, so reading
        them never communicates)."""
        return [] if self._built is None else [t.copy() for t in self._built.timers_per_rank]

    def report(self) -> str:
        """Time per phase and rank with the imbalance between ranks (``spikeshard.report``);
        may be called on any rank alone."""
        layout = make_layout(self._objects)
        return format_report(self.timers_per_rank, layout.n_neurons)

    def reset(self) -> None:
        """Returns to time 0 with the initial state and clears the monitors; the next run
        rebuilds (with the same seed, so with the same connectivity)."""
        self._built = None
        self._writer = None
        self._step = 0
        layout = make_layout(self._objects)
        for monitor in layout.monitors:
            monitor.reset()

    # ------------------------------------------------------------------ checkpoints

    def save_state(self, path: str | os.PathLike[str]) -> None:
        """Saves what the network needs to continue from ``t`` into the directory ``path``:
        every neuron's state, the input already on its way to it (the ring buffers) and the
        step. Under MPI every rank calls it: each writes its part, rank 0 the index (see
        ``checkpoint.py``).

        ``restore_state(path)`` on the network declared again by the same script (and seed)
        continues the run bit for bit, on any number of ranks and threads. Connectivity and
        random streams are rebuilt from the seed, so they are not saved; neither are the
        monitors' recordings (keep them with ``run(output=...)`` or ``Monitor.save``).
        """
        if not isinstance(path, (str, os.PathLike)):
            raise NetworkError(f"path = {path!r}: expected a directory path")
        if self._built is None or self._comm is None or self._partition is None:
            raise SimulationError("save_state: the network is not built yet; run() first")
        comm, built, partition = self._comm, self._built, self._partition
        layout, engine, directory = built.layout, built.engine, Path(path)
        comm.agree("save_state (path, step)", (str(directory), self._step), "save_state")
        lags = max(1, *comm.allgather_object(engine.longest_delay(), "save_state"))
        parts = []
        for i, pop in enumerate(layout.populations):
            e, ids = built.engine_population[i], partition.locals(i, comm.rank)
            n_state = len(pop.model.state_names())
            state = (np.stack([engine.get_state(e, v) for v in range(n_state)]) if n_state
                     else np.zeros((0, len(ids))))
            parts.append(PopulationPart(ids, state, engine.get_input(e, lags)))
        try:
            written: Any = write_part(directory, self._step, comm.rank, comm.size, parts)
        except OSError as error:
            written = OSError(f"rank {comm.rank}: {error}")
        gathered = comm.allgather_object(
            (written, [part.id_range() for part in parts]), "save_state")
        failed = [str(w) for w, _ in gathered if isinstance(w, OSError)]
        if not failed and comm.rank == 0:
            try:
                write_index(directory, {
                    "fingerprint": fingerprint(layout, self.seed, built.dt, monitors=False),
                    "dt": built.dt, "step": self._step, "ranks": comm.size, "lags": lags,
                    "populations": [pop.name for pop in layout.populations],
                }, [{"file": w, "ranges": ranges} for w, ranges in gathered])
            except OSError as error:
                failed.append(f"rank 0 (the index): {error}")
        failed = comm.allgather_object(failed, "save_state")[0]
        if failed:
            raise SimulationError(f"save_state: cannot write {str(directory)!r}: "
                                  + "; ".join(failed))

    def restore_state(self, path: str | os.PathLike[str], backend: str = "auto") -> None:
        """Continues from the checkpoint ``save_state`` wrote in ``path``: builds the network
        (with the checkpoint's ``dt``) from its state, at its ``t``. The network must be the
        one that was saved, declared again (its populations, projections, stimuli and seed;
        the monitors may differ: they record from the checkpoint on), and must not have run
        (``reset()`` first). Under MPI every rank calls it, on any number of ranks."""
        if not isinstance(path, (str, os.PathLike)):
            raise NetworkError(f"path = {path!r}: expected a directory path")
        if self._built is not None and self._step > 0:
            raise SimulationError(
                f"restore_state: the network has run (t = {self.t!r} s); restore into the "
                "network declared again, or call reset() first")
        checkpoint = open_checkpoint(path)
        self._built = None
        self._build(checkpoint.dt, backend, checkpoint)

    def get_state(self, population: Population, variable: str) -> FloatArray:
        """A state variable of every neuron of ``population`` (gathered from all ranks: under
        MPI every rank must call it)."""
        if self._built is None or self._comm is None:
            raise SimulationError("the network is not built yet: call build() or run()")
        layout = self._built.layout
        index = layout.index(population)
        names = population.model.state_names()
        if variable not in names:
            raise NetworkError(
                f"variable = {variable!r}: {population.model.__name__} has {list(names)}")
        local = self._built.engine.get_state(self._built.engine_population[index],
                                             names.index(variable))
        return self._comm.allgather_array(local, "get_state")

    def __repr__(self) -> str:
        layout = make_layout(self._objects)
        return (f"Network({len(layout.populations)} populations, {layout.n_neurons} neurons, "
                f"{len(layout.projections)} projections, seed={self.seed})")


def report(net: Network) -> str:
    """Wall time per phase (build, neuron update, delivery, exchange, recording) of every
    rank, with the imbalance between ranks, as of the end of the last run. Reads what every
    rank gathered then: call it on any rank alone (``if rank == 0: print(report(net))``)."""
    return net.report()
