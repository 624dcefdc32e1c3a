"""From the engine to the monitors: what each rank recorded, selected for each monitor, then
gathered as the monitor's mode says.

At build, ``plan_recording`` asks the engine to record what the monitors need on this rank.
During a run, ``Recording.take`` moves the engine's recorded data of the steps done so far
into per-monitor ``LocalPart``s (this rank's neurons only); files are written from those
parts (``output.py``). At the end of every run — which all ranks call — ``Recording.finish``
gathers each monitor's parts of the run (one Allgather of counts for all monitors, then one
Gatherv or Allgatherv per monitor and array) and hands them to the monitors through their
recording interface. Reading a monitor afterwards never communicates.

Talks to the engine through its protocol and to other ranks through ``comm``; it never
imports an engine or MPI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import packed_spikes
from .arrays import FloatArray, IntArray, U32Array, U64Array
from .comm import Comm
from .engines import Engine
from .errors import SimulationError
from .layout import Layout
from .monitors import (
    ROOT,
    Monitor,
    RateMonitor,
    RecordingContext,
    SpikeMonitor,
    StateMonitor,
    monitor_duration,
)


@dataclass
class LocalPart:
    """One monitor's data recorded on this rank over some steps.

    Spikes: ``times`` (s) and population-local ``ids``, sorted by time then id. Traces:
    sample ``t`` (s) and ``traces[var]`` of shape (len(t), len(ids)) for this rank's ``ids``.
    Rates: ``bin_counts``, the spikes of this rank's neurons in each bin completed.
    """

    times: FloatArray = field(default_factory=lambda: np.zeros(0))
    ids: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    t: FloatArray = field(default_factory=lambda: np.zeros(0))
    traces: dict[str, FloatArray] = field(default_factory=dict)
    bin_counts: FloatArray = field(default_factory=lambda: np.zeros(0))


def join_parts(parts: list[LocalPart], monitor: Monitor) -> LocalPart:
    """Consecutive parts of one monitor as one part."""
    if len(parts) == 1:
        return parts[0]
    joined = LocalPart()
    if not parts:
        if isinstance(monitor, StateMonitor):
            joined.traces = {v: np.zeros((0, 0)) for v in monitor.variables}
        return joined
    joined.times = np.concatenate([p.times for p in parts])
    joined.ids = np.concatenate([p.ids for p in parts])
    joined.t = np.concatenate([p.t for p in parts])
    joined.bin_counts = np.concatenate([p.bin_counts for p in parts])
    if isinstance(monitor, StateMonitor):
        joined.ids = parts[0].ids
        joined.traces = {v: np.concatenate([p.traces[v] for p in parts])
                         for v in monitor.variables}
    return joined


@dataclass
class _Plan:
    """How one monitor's data are found on this rank: its engine recorders (a StateMonitor
    has one per variable)."""

    monitor: Monitor
    population: int  # layout index
    owned_ids: IntArray  # this rank's population-local ids of the source
    recorders: list[int]


def plan_recording(layout: Layout, engine: Engine, engine_population: list[int],
                   owned: Callable[[int], U32Array], dt: float) -> list[_Plan]:
    """Asks ``engine`` to record what each monitor needs of this rank's neurons: the spikes
    of its neurons in its window, samples of its variables every interval, or spike counts
    per bin. Nothing else is recorded."""
    plans = []
    for monitor in layout.monitors:
        index = layout.index(monitor.source)
        population = engine_population[index]
        first, stop = monitor.window_steps(dt)
        if isinstance(monitor, SpikeMonitor):
            ids = None if monitor.record is None else monitor.record.astype(np.uint32)
            recorders = [engine.add_spike_recorder(population, ids, first, stop)]
        elif isinstance(monitor, StateMonitor):
            names = monitor.source.model.state_names()
            every = monitor.interval_steps(dt)
            recorders = [engine.add_state_recorder(population, names.index(var),
                                                   monitor.record.astype(np.uint32), first,
                                                   stop, every)
                         for var in monitor.variables]
        else:
            assert isinstance(monitor, RateMonitor)
            recorders = [engine.add_rate_recorder(population, first, stop,
                                                  monitor.bin_steps(dt))]
        plans.append(_Plan(monitor, index, np.asarray(owned(index), dtype=np.int64),
                           recorders))
    return plans


def _spike_times(packed: U64Array, offsets: FloatArray, precise: bool, dt: float
                 ) -> tuple[FloatArray, IntArray]:
    """(times in s, global ids) of packed spikes."""
    steps, gids = packed_spikes.unpack(packed)
    steps_f = steps.astype(np.float64)
    times = steps_f * dt + offsets if precise else (steps_f + 1.0) * dt
    return times, gids.astype(np.int64)


def _sorted_by_time_then_id(times: FloatArray, ids: IntArray) -> tuple[FloatArray, IntArray]:
    order = np.lexsort((ids, times))
    return times[order], ids[order]


class Recording:
    """This rank's recording for one build: takes data from the engine during runs and
    gathers it into the monitors at the end of each."""

    def __init__(self, layout: Layout, dt: float, plans: list[_Plan]) -> None:
        self.layout = layout
        self.dt = dt
        self.plans = plans
        self.pending: list[list[LocalPart]] = [[] for _ in plans]
        self.description: dict[str, Any] = {}
        #: The next step whose data is still in the engine.
        self.taken_until = 0
        #: The most bytes the engine held for the monitors (before each take).
        self.peak_engine_bytes = 0

    def bind(self, rank: int, n_ranks: int, description: dict[str, Any]) -> None:
        """Tells every monitor its build (the recording interface's ``bind``)."""
        self.description = description
        for plan in self.plans:
            plan.monitor.bind(RecordingContext(self.dt, rank, n_ranks, plan.owned_ids,
                                               description))

    def take(self, engine: Engine, first_step: int, until_step: int) -> list[LocalPart]:
        """Moves what the engine recorded in steps ``[first_step, until_step)`` into one
        new part per monitor (kept for ``finish``), and returns the parts."""
        self.peak_engine_bytes = max(self.peak_engine_bytes, engine.recording_bytes())
        parts = []
        for k, plan in enumerate(self.plans):
            monitor = plan.monitor
            if isinstance(monitor, SpikeMonitor):
                part = self._take_spikes(engine, plan, monitor)
            elif isinstance(monitor, StateMonitor):
                part = self._take_traces(engine, plan, monitor, first_step, until_step)
            else:
                assert isinstance(monitor, RateMonitor)
                counts = engine.take_rate(plan.recorders[0], until_step)
                part = LocalPart(bin_counts=np.asarray(counts, dtype=np.float64))
            self.pending[k].append(part)
            parts.append(part)
        self.taken_until = until_step
        return parts

    def _take_spikes(self, engine: Engine, plan: _Plan, monitor: SpikeMonitor) -> LocalPart:
        packed, offsets = engine.take_spikes(plan.recorders[0])
        precise = monitor.source.model.precise_spike_times
        times, gids = _spike_times(np.asarray(packed, dtype=np.uint64),
                                   np.asarray(offsets, dtype=np.float64), precise, self.dt)
        ids = gids - self.layout.first_gid[plan.population]
        if precise:
            # Sorted by step then id; within a step, sub-step times order them.
            times, ids = _sorted_by_time_then_id(times, ids)
        return LocalPart(times=times, ids=ids)

    def _take_traces(self, engine: Engine, plan: _Plan, monitor: StateMonitor,
                     first_step: int, until_step: int) -> LocalPart:
        steps = monitor.sample_steps(self.dt, first_step, until_step - first_step)
        traces = {}
        columns = np.zeros(0, dtype=np.int64)
        for var, recorder in zip(monitor.variables, plan.recorders, strict=True):
            held, values = engine.take_state(recorder)
            columns = np.asarray(held, dtype=np.int64)
            if len(columns) == 0:
                values = np.zeros((len(steps), 0))
            elif values.shape[0] != len(steps):
                raise SimulationError(
                    f"{monitor!r}: the engine sampled {values.shape[0]} steps, expected "
                    f"{len(steps)}")
            # Only this rank's columns, with their ids: nothing marks another rank's.
            traces[var] = values
        return LocalPart(t=_end_times(steps, self.dt), ids=monitor.record[columns],
                         traces=traces)

    # ------------------------------------------------------------------ end of a run

    def finish(self, comm: Comm, first_step: int, n_steps: int) -> None:
        """Gathers the run's parts of every monitor as its mode says and hands them to the
        monitors. Every rank calls it, with the same monitors in the same order."""
        joined = [join_parts(parts, plan.monitor)
                  for parts, plan in zip(self.pending, self.plans, strict=True)]
        self.pending = [[] for _ in self.plans]
        sizes = np.array([_local_size(part, plan.monitor)
                          for part, plan in zip(joined, self.plans, strict=True)],
                         dtype=np.int64)
        spike_counts = np.array([_spike_count(part, plan.monitor)
                                 for part, plan in zip(joined, self.plans, strict=True)],
                                dtype=np.int64)
        per_rank = comm.allgather_counts(np.concatenate([sizes, spike_counts]))
        n = len(self.plans)
        for k, (plan, part) in enumerate(zip(self.plans, joined, strict=True)):
            monitor = plan.monitor
            duration = monitor_duration(monitor, self.dt, first_step, n_steps)
            counts, total = per_rank[:, k], int(per_rank[:, n + k].sum())
            root = None if monitor.gather == "all" else ROOT
            local = monitor.gather == "local" or comm.size == 1
            if isinstance(monitor, SpikeMonitor):
                spikes = (part.times, part.ids) if local else _gather_spikes(
                    comm, part, counts, root)
                monitor.add_run(duration, total, spikes)
            elif isinstance(monitor, StateMonitor):
                t = _end_times(monitor.sample_steps(self.dt, first_step, n_steps), self.dt)
                traces = part.traces if local else _gather_traces(
                    comm, part, monitor, counts, root, len(t))
                monitor.add_run(duration, t, traces)
            else:
                assert isinstance(monitor, RateMonitor)
                bins = part.bin_counts if local else _gather_bins(comm, part, counts, root)
                monitor.add_run(duration, total, bins)


def _end_times(steps: IntArray, dt: float) -> FloatArray:
    """End times (s) of steps: when the state sampled after them holds."""
    return (steps.astype(np.float64) + 1.0) * dt


def _local_size(part: LocalPart, monitor: Monitor) -> int:
    """What this rank sends of a monitor: spikes, trace columns, or bins."""
    if isinstance(monitor, StateMonitor):
        return len(part.ids)
    if isinstance(monitor, RateMonitor):
        return len(part.bin_counts)
    return len(part.times)


def _spike_count(part: LocalPart, monitor: Monitor) -> int:
    """The spikes a monitor's part holds (for ``count`` on every rank)."""
    if isinstance(monitor, RateMonitor):
        return int(part.bin_counts.sum())
    return len(part.times)


def _gather_spikes(comm: Comm, part: LocalPart, counts: IntArray, root: int | None
                   ) -> tuple[FloatArray, IntArray] | None:
    times = comm.gather_array(part.times, counts, root)
    ids = comm.gather_array(part.ids, counts, root)
    if times is None or ids is None:
        return None
    # Rank after rank, each sorted: one sort puts them in (time, id) order.
    return _sorted_by_time_then_id(times, ids)


def _gather_traces(comm: Comm, part: LocalPart, monitor: StateMonitor, columns: IntArray,
                   root: int | None, n_samples: int) -> dict[str, FloatArray] | None:
    """Every rank's own columns with their ids, placed by id (the columns are sorted ids)."""
    ids = comm.gather_array(part.ids, columns, root)
    gathered = {var: comm.gather_array(np.ascontiguousarray(part.traces[var].T).ravel(),
                                       columns * n_samples, root)
                for var in monitor.variables}
    if ids is None:
        return None
    position = np.searchsorted(monitor.record, ids)
    traces = {}
    for var, flat in gathered.items():
        assert flat is not None
        out = np.empty((n_samples, len(monitor.record)))
        # Column-major blocks, rank after rank: row c of the transposed data is column c.
        out[:, position] = flat.reshape(len(ids), n_samples).T
        traces[var] = out
    return traces


def _gather_bins(comm: Comm, part: LocalPart, counts: IntArray, root: int | None
                 ) -> FloatArray | None:
    gathered = comm.gather_array(part.bin_counts, counts, root)
    if gathered is None:
        return None
    n_bins = int(counts[0]) if len(counts) else 0
    return gathered.reshape(len(counts), n_bins).sum(axis=0) if n_bins else np.zeros(0)
