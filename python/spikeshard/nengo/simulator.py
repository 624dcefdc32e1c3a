"""``spikeshard.nengo.Simulator``: nengo's reference simulator with its step run in Rust.

The model is built by nengo's own builder and optimiser, and the signals live in nengo's own
``SignalDict``, so everything a nengo user reads or writes (``sim.data``, ``sim.signals``,
``sim.model``, probes, pickling) behaves as with ``nengo.Simulator``. What changes is who
steps the operators: each one that :mod:`spikeshard.nengo.lowering` supports runs in a Rust
program directly on those arrays; the rest run their own nengo step functions, in the same
order. A model whose operators all run in Rust advances many steps per call into Rust, and
its probes are sampled there too.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Hashable, Mapping
from functools import partial
from typing import Any

import nengo
import numpy as np
from nengo.exceptions import SimulatorClosed, ValidationError
from nengo.utils.progress import Progress, ProgressTracker

from spikeshard._engine import NengoProgram
from spikeshard.comm import SerialComm, launched_by_mpirun
from spikeshard.errors import UnsupportedError
from spikeshard.nengo.lowering import Refill, lower
from spikeshard.nengo.operands import Unsupported, float_array, operand
from spikeshard.threads import check_threads, default_threads

logger = logging.getLogger(__name__)

#: Steps per call into Rust when nothing runs in Python (bounds probe buffers and lets the
#: progress bar move).
CHUNK_STEPS = 1000


class Simulator(nengo.Simulator):
    """A drop-in for ``nengo.Simulator`` that steps the model in Rust.

    Parameters
    ----------
    network, dt, seed, model, progress_bar, optimize
        As for ``nengo.Simulator``: ``dt`` in seconds; ``seed`` seeds the processes'
        random streams (``network.seed + 1`` when not given).
    partitioner : object, optional
        nengo_mpi's ``Partitioner`` (``n_components``, ``func``): how to split the model's
        components over MPI ranks. With one process every component runs here.
    assignments : mapping, optional
        Explicit component of each nengo object (``{ensemble: 0, ...}``), instead of a
        partitioner. With one process every component runs here.
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
    """

    def __init__(
        self,
        network: nengo.Network | None,
        dt: float = 0.001,
        seed: int | None = None,
        model: nengo.builder.Model | None = None,
        progress_bar: Any = True,
        optimize: bool = True,
        partitioner: Any = None,
        assignments: Mapping[Hashable, int] | None = None,
        threads: int | None = None,
    ) -> None:
        self.closed = True  # as nengo's: __del__ must not warn if checking the arguments fails
        if launched_by_mpirun():
            raise UnsupportedError(
                "spikeshard.nengo.Simulator runs a nengo model in one process; distributing it "
                "over MPI ranks is not implemented yet: run the script without mpirun"
            )
        self.partitioner = partitioner
        self.assignments = check_assignments(assignments, partitioner)
        self.threads = check_threads(threads if threads is not None else env_threads())
        self._program: NengoProgram | None = None
        self._plan: list[tuple[str, int]] = []
        self._calls: list[Callable[[], None]] = []
        self._refills: list[tuple[int, Refill]] = []
        self._rust_probes: list[tuple[nengo.Probe, int, tuple[int, ...]]] = []
        self._python_probes: list[nengo.Probe] = []
        self.python_operators: list[tuple[Any, str]] = []
        super().__init__(
            network, dt=dt, seed=seed, model=model, progress_bar=progress_bar, optimize=optimize
        )

    # -- building the Rust program -------------------------------------------------------

    def _compile(self) -> None:
        """Lowers the operator order into Rust segments and Python steps (done once)."""
        program = NengoProgram(threads=self.threads)
        plan: list[tuple[str, int]] = []
        in_segment = 0
        for index, op in enumerate(self._step_order):
            try:
                refill = lower(op, self.signals, self.dt, program)
                in_segment += 1
            except Unsupported as reason:
                self.python_operators.append((op, str(reason)))
                if in_segment:
                    plan.append(("rust", program.end_segment()))
                    in_segment = 0
                plan.append(("python", index))
                continue
            if refill is not None:
                self._refills.append((index, refill))
        if in_segment:
            plan.append(("rust", program.n_segments - 1))
        for probe in self.model.probes:
            signal = self.signals[self.model.sig[probe]["in"]]
            try:
                array = float_array(signal, "probed signal")
            except Unsupported:
                self._python_probes.append(probe)
                continue
            probe_id = program.add_probe(operand(array), self._probe_period(probe))
            self._rust_probes.append((probe, probe_id, array.shape))
        self._program, self._plan = program, plan
        if self.python_operators:
            logger.info(
                "%d of %d operators run in Python: %s",
                len(self.python_operators),
                len(self._step_order),
                "; ".join(sorted({reason for _, reason in self.python_operators})),
            )

    @property
    def _runs_in_rust_only(self) -> bool:
        return not self.python_operators and not self._python_probes

    # -- nengo.Simulator's interface -----------------------------------------------------

    def reset(self, seed: int | None = None) -> None:
        """Resets signals, processes and probes, as ``nengo.Simulator.reset``."""
        # nengo's reset remakes every operator's step function in order, so the processes
        # draw the same seeds from the simulator's random state as under nengo.Simulator.
        super().reset(seed=seed)
        if self._program is None:
            self._compile()
        assert self._program is not None
        # Tables drawn by make_step (WhiteSignal) are read from the step functions just made.
        for index, refill in self._refills:
            refill(self._steps[index])
        self._program.clear_samples()
        program = self._program
        calls: list[Callable[[], None]] = []
        for kind, item in self._plan:
            calls.append(
                partial(program.run_segment, item) if kind == "rust" else self._steps[item]
            )
        self._calls = calls

    def close(self) -> None:
        """Closes the simulator; the Rust program lets go of the signals."""
        self._program, self._calls, self._refills = None, [], []
        super().close()

    def step(self) -> None:
        """Advances the simulator by one step (``dt`` seconds)."""
        self.run_steps(1, progress_bar=False)

    def run_steps(self, steps: int, progress_bar: Any = None) -> None:
        """Simulates ``steps`` steps of ``dt``, with a progress bar when asked."""
        if self.closed or self._program is None:
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
        assert self._program is not None
        try:
            if self._runs_in_rust_only:
                self._program.run_steps(steps)
            else:
                old_err = np.seterr(invalid="raise", divide="ignore")
                try:
                    for _ in range(steps):
                        for call in self._calls:
                            call()
                        self._program.record_probes()
                        if self._python_probes:
                            self._probe_in_python()
                finally:
                    np.seterr(**old_err)
        finally:
            self._collect_probes()

    def _probe_in_python(self) -> None:
        self._probe_step_time()
        for probe in self._python_probes:
            if self.n_steps % self._probe_period(probe) < 1:
                self._sim_data[probe].append(self.signals[self.model.sig[probe]["in"]].copy())

    def _probe_period(self, probe: nengo.Probe) -> float:
        """Steps between samples, as nengo's ``_probe`` computes it."""
        return 1.0 if probe.sample_every is None else probe.sample_every / self.dt

    def _collect_probes(self) -> None:
        assert self._program is not None
        for probe, probe_id, shape in self._rust_probes:
            size = int(np.prod(shape))
            samples = self._program.take_samples(probe_id, size)
            self._sim_data[probe].extend(samples.reshape((len(samples), *shape)))


def env_threads() -> int:
    """``SPIKESHARD_THREADS`` if set (checked as ``Network`` checks it), else 1."""
    return default_threads(SerialComm()) if os.environ.get("SPIKESHARD_THREADS") else 1


def check_assignments(
    assignments: Mapping[Hashable, int] | None, partitioner: Any
) -> dict[Hashable, int] | None:
    """Validates ``assignments`` (object -> component, non-negative ints)."""
    if assignments is None:
        return None
    if partitioner is not None:
        raise ValidationError(
            "give either a partitioner or assignments, not both", attr="assignments"
        )
    if not isinstance(assignments, Mapping):
        raise ValidationError(
            f"assignments must map nengo objects to components, got {type(assignments).__name__}",
            attr="assignments",
        )
    checked = {}
    for obj, component in assignments.items():
        if (
            isinstance(component, bool)
            or not isinstance(component, (int, np.integer))
            or component < 0
        ):
            raise ValidationError(
                f"assignments[{obj}] must be a component index >= 0, got {component!r}",
                attr="assignments",
            )
        checked[obj] = int(component)
    return checked
