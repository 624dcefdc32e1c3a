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
    """How one monitor's data are found on this rank."""

    monitor: Monitor
    population: int  # layout index
    engine_population: int
    owned_ids: IntArray  # this rank's population-local ids of the source
    recorders: list[int] = field(default_factory=list)  # StateMonitor: one per variable
    columns: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    next_bin: int = 0  # RateMonitor: the first bin not yet reported
    carried: float = 0.0  # RateMonitor: spikes already counted in bin ``next_bin``


def plan_recording(layout: Layout, engine: Engine, engine_population: list[int],
                   owned: Callable[[int], U32Array]) -> list[_Plan]:
    """Asks ``engine`` to record what the monitors need from this rank's neurons."""
    plans = []
    spikes_recorded: set[int] = set()
    for monitor in layout.monitors:
        index = layout.index(monitor.source)
        plan = _Plan(monitor, index, engine_population[index],
                     np.asarray(owned(index), dtype=np.int64))
        if isinstance(monitor, StateMonitor):
            names = monitor.source.model.state_names()
            plan.columns = np.flatnonzero(np.isin(monitor.record, plan.owned_ids))
            plan.recorders = [
                engine.add_recorder(plan.engine_population, names.index(var),
                                    monitor.record.astype(np.uint32))
                for var in monitor.variables]
        elif index not in spikes_recorded:
            engine.record_spikes(plan.engine_population)
            spikes_recorded.add(index)
        plans.append(plan)
    return plans


def _spike_times(packed: U64Array, offsets: FloatArray, precise: bool, dt: float
                 ) -> tuple[FloatArray, IntArray, IntArray]:
    """(times in s, global ids, steps) of packed spikes."""
    steps, gids = packed_spikes.unpack(packed)
    steps_f = steps.astype(np.float64)
    times = steps_f * dt + offsets if precise else (steps_f + 1.0) * dt
    return times, gids.astype(np.int64), steps.astype(np.int64)


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
        #: The next step whose data is still in the engine.
        self.taken_until = 0

    def bind(self, rank: int, n_ranks: int, description: dict[str, Any]) -> None:
        """Tells every monitor its build (the recording interface's ``bind``)."""
        for plan in self.plans:
            plan.monitor.bind(RecordingContext(self.dt, rank, n_ranks, plan.owned_ids,
                                               description))

    def take(self, engine: Engine, first_step: int, until_step: int) -> list[LocalPart]:
        """Moves what the engine recorded in steps ``[first_step, until_step)`` into one
        new part per monitor (kept for ``finish``), and returns the parts."""
        n_steps = until_step - first_step
        spikes: dict[int, tuple[FloatArray, IntArray, IntArray]] = {}
        parts = []
        for k, plan in enumerate(self.plans):
            monitor = plan.monitor
            if isinstance(monitor, StateMonitor):
                part = self._take_traces(engine, plan, monitor, first_step, n_steps)
            else:
                if plan.population not in spikes:
                    spikes[plan.population] = self._take_spikes(engine, plan)
                times, gids, steps = spikes[plan.population]
                ids = gids - self.layout.first_gid[plan.population]
                if isinstance(monitor, SpikeMonitor):
                    part = self._select_spikes(monitor, times, ids, steps, first_step, n_steps)
                else:
                    assert isinstance(monitor, RateMonitor)
                    part = self._count_bins(plan, monitor, steps, first_step, n_steps)
            self.pending[k].append(part)
            parts.append(part)
        self.taken_until = until_step
        return parts

    def _take_spikes(self, engine: Engine, plan: _Plan
                     ) -> tuple[FloatArray, IntArray, IntArray]:
        packed, offsets = engine.take_spikes(plan.engine_population)
        precise = plan.monitor.source.model.precise_spike_times
        return _spike_times(np.asarray(packed, dtype=np.uint64),
                            np.asarray(offsets, dtype=np.float64), precise, self.dt)

    def _select_spikes(self, monitor: SpikeMonitor, times: FloatArray, ids: IntArray,
                       steps: IntArray, first_step: int, n_steps: int) -> LocalPart:
        a, b = monitor.recorded_steps(self.dt, first_step, n_steps)
        keep = (steps >= a) & (steps < b)
        if monitor.record is not None:
            keep &= np.isin(ids, monitor.record)
        times, ids = times[keep], ids[keep]
        if monitor.source.model.precise_spike_times:
            times, ids = _sorted_by_time_then_id(times, ids)
        return LocalPart(times=times, ids=ids)

    def _take_traces(self, engine: Engine, plan: _Plan, monitor: StateMonitor,
                     first_step: int, n_steps: int) -> LocalPart:
        steps = monitor.sample_steps(self.dt, first_step, n_steps)
        samples = steps - first_step
        traces = {}
        for var, recorder in zip(monitor.variables, plan.recorders, strict=True):
            values = engine.take_recorder(recorder, len(monitor.record))
            if len(plan.columns) == 0:
                traces[var] = np.zeros((len(samples), 0))
                continue
            if values.shape[0] != n_steps:
                raise RuntimeError(
                    f"engine returned {values.shape[0]} samples for {n_steps} steps")
            # Only this rank's columns: the others are not its neurons (no in-band marker).
            traces[var] = values[samples][:, plan.columns]
        return LocalPart(t=_end_times(steps, self.dt), ids=monitor.record[plan.columns],
                         traces=traces)

    def _count_bins(self, plan: _Plan, monitor: RateMonitor, steps: IntArray,
                    first_step: int, n_steps: int) -> LocalPart:
        low, _ = monitor.window_steps(self.dt)
        k = monitor.bin_steps(self.dt)
        a, b = monitor.recorded_steps(self.dt, first_step, n_steps)
        _, done = monitor.completed_bins(self.dt, first_step, n_steps)
        in_window = steps[(steps >= a) & (steps < b)]
        bins = (in_window - low) // k - plan.next_bin
        width = done - plan.next_bin + 1
        counts = np.bincount(bins, minlength=width).astype(np.float64)[:width]
        counts[0] += plan.carried
        # Bins only complete in order: ``done`` never falls behind ``next_bin``.
        assert done >= plan.next_bin
        reported = counts[:done - plan.next_bin]
        plan.carried = float(counts[done - plan.next_bin])
        plan.next_bin = done
        return LocalPart(bin_counts=reported)

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
