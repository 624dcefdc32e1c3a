"""Monitors: what to record, and what was recorded.

A monitor is declared with its source, the neurons it watches, a window ``[start, stop)`` of
model time and a gather mode:

- ``gather="root"`` (default): after every run the data are gathered on rank 0;
- ``gather="all"``: on every rank;
- ``gather="local"``: each rank keeps the data of the neurons it owns.

Every rank calls ``Network.run``, so the gathering happens there, at the end of each run.
Reading a monitor never communicates: ``if rank == 0: print(mon.count, mon.spikes)`` is safe.
``count`` and ``mean_rate()`` are the totals over all ranks on every rank, whatever the mode;
the data themselves (``spikes``, ``traces``, ``rate``) are read where the mode put them, and
reading them on a rank that holds none raises ``SimulationError`` saying where they are.

The recording interface (``bind``, ``add_run``) is what the run loop calls on every rank, in
declaration order: ``bind`` when the network is built, ``add_run`` after each run with the
gathered data. Declarations only: this module never talks MPI and imports no engine.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _validate
from .arrays import FloatArray, IntArray
from .errors import NetworkError, SimulationError
from .population import Population, PopulationSlice

#: Where a monitor's data are held after each run (see the module docstring).
GATHER_MODES = ("root", "all", "local")
#: The rank that holds the data of ``gather="root"`` monitors.
ROOT = 0


def _record_ids(source: Population, record: Any, name: str) -> IntArray | None:
    """None for every neuron, else sorted unique population-local ids."""
    if record is None or record is True:
        return None
    if record is False:
        raise NetworkError(f"{name} record = False: expected True, None or a list of ids")
    ids = np.asarray(record)
    if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
        raise NetworkError(f"{name} record = {record!r}: expected a list of neuron ids")
    if ids.size and (ids.min() < 0 or ids.max() >= source.n):
        bad = ids[(ids < 0) | (ids >= source.n)][0]
        raise NetworkError(
            f"{name} record contains {bad}: {source.name} has ids 0..{source.n - 1}"
        )
    return np.unique(ids.astype(np.int64))


def _source_and_record(source: Any, record: Any, name: str
                       ) -> tuple[Population, IntArray | None]:
    """A Population with its record ids; a slice ``pop[a:b]`` records ids a..b-1."""
    if isinstance(source, PopulationSlice):
        if record is not None:
            raise NetworkError(f"{name}: give a population slice or record=, not both")
        return source.population, np.arange(source.start, source.stop, dtype=np.int64)
    if not isinstance(source, Population):
        raise NetworkError(f"source = {source!r}: expected a Population or a slice pop[a:b]")
    return source, _record_ids(source, record, name)


def _gather_mode(gather: Any) -> str:
    if gather not in GATHER_MODES:
        raise NetworkError(f"gather = {gather!r}: expected one of {list(GATHER_MODES)}")
    return str(gather)


def whole_steps(name: str, seconds: float, dt: float) -> int:
    """``seconds`` as a whole number of steps of ``dt``, else a NetworkError naming it."""
    steps = seconds / dt
    rounded = int(round(steps))
    if abs(steps - rounded) > 1e-6 * max(1.0, abs(steps)):
        raise NetworkError(
            f"{name} = {seconds!r} s is not a whole number of steps of dt = {dt!r} s"
        )
    return rounded


@dataclass(frozen=True)
class RecordingContext:
    """What a monitor is told when its network is built (``Monitor.bind``).

    ``owned_ids``: the population-local ids of the monitor's source that this rank owns.
    ``description``: the network's description (populations, models, parameters,
    projections, seed, versions), written with the data into files.
    """

    dt: float
    rank: int
    n_ranks: int
    owned_ids: IntArray
    description: dict[str, Any] = field(default_factory=dict)


class Monitor:
    """What every monitor shares: source population, label, window, gather mode."""

    kind = "monitor"

    def __init__(self, source: Population, label: str | None, gather: str, start: float,
                 stop: float | None) -> None:
        self.source = source
        self.label = _validate.label(label)
        self.gather = _gather_mode(gather)
        self.start = _validate.real("start", start, low=0.0)
        self.stop = None if stop is None else _validate.real("stop", stop, low=0.0)
        if self.stop is not None and self.stop < self.start:
            raise NetworkError(f"stop = {self.stop!r} s: expected stop >= start = {start!r} s")
        self.context: RecordingContext | None = None
        self.reset()

    @property
    def name(self) -> str:
        """The monitor's name in files and messages: its label, else its population's."""
        return self.label or self.source.name

    def reset(self) -> None:
        """Forget everything recorded (and the build it was bound to)."""
        self.context = None
        #: Seconds of model time recorded so far (the overlap of runs with the window).
        self.duration = 0.0

    # ------------------------------------------------------------------ recording interface

    def bind(self, context: RecordingContext) -> None:
        """Called on every rank when the network is built: the step, this rank, and the
        neurons it owns. Checks that ``start``/``stop`` are whole steps."""
        self.window_steps(context.dt)
        self.context = context

    def window_steps(self, dt: float) -> tuple[int, int | None]:
        """The recorded steps ``[first, stop)``: a step s is recorded when its end time
        ``(s + 1) * dt`` lies in ``(start, stop]``."""
        return (whole_steps(f"{self.kind} start", self.start, dt),
                None if self.stop is None else whole_steps(f"{self.kind} stop", self.stop, dt))

    def recorded_steps(self, dt: float, first_step: int, n_steps: int) -> tuple[int, int]:
        """The part ``[a, b)`` of steps ``[first_step, first_step + n_steps)`` in the window
        (``a == b`` when none is)."""
        low, high = self.window_steps(dt)
        a = max(first_step, low)
        b = first_step + n_steps if high is None else min(first_step + n_steps, high)
        return a, max(a, b)

    @property
    def holds_data(self) -> bool:
        """Whether this rank holds the recorded data (by the gather mode); True before the
        first build."""
        if self.context is None:
            return True
        return self.gather != "root" or self.context.rank == ROOT

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes what this rank holds of the monitor to an HDF5 file (needs h5py: ``pip
        install 'spikeshard[hdf5]'``), with the network's description; read it back with
        ``spikeshard.load(path)``. With ``gather="root"`` call it on rank 0."""
        self._check_held("save()")
        from .output import as_part, save_monitor

        save_monitor(self, path, as_part(self))

    def _check_held(self, what: str) -> None:
        if self.holds_data:
            return
        assert self.context is not None
        raise SimulationError(
            f"{self!r}.{what}: the data were gathered on rank {ROOT} only (gather='root') and "
            f"this is rank {self.context.rank}; read them under `if rank == {ROOT}:`, or "
            "declare the monitor with gather='all' (every rank) or gather='local' (each "
            "rank its own neurons)"
        )


class SpikeMonitor(Monitor):
    """Records the spikes of a population, of a slice ``pop[a:b]``, or of the ids in
    ``record``, within the model-time window ``(start, stop]`` (seconds).

    After a run, ``spikes`` is ``(times_s, ids)`` sorted by time then id, with population-
    local ids; ``count`` is the number of spikes (over all ranks, on every rank); ``rates()``
    gives per-neuron rates in Hz. Spike times are end-of-step times ``(step + 1) * dt`` (as
    NEST), or the interpolated threshold crossing for models with precise spike times
    (Hodgkin–Huxley). ``gather`` says where the spikes are held (module docstring).
    """

    kind = "SpikeMonitor"

    def __init__(self, source: Population | PopulationSlice, record: Sequence[int] | None = None,
                 label: str | None = None, *, gather: str = "root", start: float = 0.0,
                 stop: float | None = None) -> None:
        population, self.record = _source_and_record(source, record, "SpikeMonitor")
        super().__init__(population, label, gather, start, stop)

    def reset(self) -> None:
        super().reset()
        self._times: list[FloatArray] = []
        self._ids: list[IntArray] = []
        self._count = 0
        self._held_ids: IntArray | None = None
        self._joined: tuple[FloatArray, IntArray] | None = None

    # ------------------------------------------------------------------ recording interface

    def bind(self, context: RecordingContext) -> None:
        super().bind(context)
        recorded = self.recorded_ids
        if self.gather == "local":
            self._held_ids = recorded[np.isin(recorded, context.owned_ids)]
        else:
            self._held_ids = recorded if self.holds_data else np.zeros(0, dtype=np.int64)

    def add_run(self, duration: float, count: int,
                spikes: tuple[FloatArray, IntArray] | None) -> None:
        """Adds one run: ``duration`` seconds recorded, ``count`` spikes over all ranks, and
        the spikes this rank holds, sorted by time then id (None where it holds none)."""
        self.duration += duration
        self._count += int(count)
        if spikes is not None:
            times, ids = spikes
            if len(times):
                self._times.append(np.asarray(times, dtype=np.float64))
                self._ids.append(np.asarray(ids, dtype=np.int64))
                self._joined = None

    # ------------------------------------------------------------------ reading

    @property
    def spikes(self) -> tuple[FloatArray, IntArray]:
        """(times in s, population-local ids), sorted by time then id."""
        self._check_held("spikes")
        if self._joined is None:
            if not self._times:
                self._joined = np.zeros(0), np.zeros(0, dtype=np.int64)
            else:
                # Each run's spikes are sorted and later runs are later: joining keeps order.
                self._joined = np.concatenate(self._times), np.concatenate(self._ids)
                self._times, self._ids = [self._joined[0]], [self._joined[1]]
        return self._joined

    @property
    def times(self) -> FloatArray:
        return self.spikes[0]

    @property
    def ids(self) -> IntArray:
        return self.spikes[1]

    @property
    def count(self) -> int:
        """Total number of recorded spikes, over all ranks (on every rank)."""
        return self._count

    @property
    def recorded_ids(self) -> IntArray:
        """The population-local ids this monitor records (on all ranks together)."""
        return np.arange(self.source.n) if self.record is None else self.record

    @property
    def held_ids(self) -> IntArray:
        """The ids whose spikes this rank holds: all recorded ids where the data are
        gathered, this rank's own with ``gather="local"``, none elsewhere."""
        return self.recorded_ids if self._held_ids is None else self._held_ids

    def rates(self) -> FloatArray:
        """Firing rate (Hz) of each neuron of ``held_ids`` over all runs so far."""
        ids = self.held_ids
        if self.duration <= 0:
            self._check_held("rates()")
            return np.zeros(len(ids))
        counts = np.bincount(self.spikes[1], minlength=self.source.n)[ids]
        return counts / self.duration

    def mean_rate(self) -> float:
        """Mean firing rate over all recorded neurons (Hz), the same on every rank."""
        n = len(self.recorded_ids)
        if self.duration <= 0 or n == 0:
            return 0.0
        return self._count / (n * self.duration)

    def spike_trains(self) -> dict[int, FloatArray]:
        """Spike times (s) per held neuron id."""
        times, ids = self.spikes
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        wanted = self.held_ids
        starts = np.searchsorted(sorted_ids, wanted, side="left")
        stops = np.searchsorted(sorted_ids, wanted, side="right")
        return {int(i): times[order[a:b]] for i, a, b in zip(wanted, starts, stops, strict=True)}

    def to_neo(self) -> list[Any]:
        """One ``neo.SpikeTrain`` per held neuron (times in s, ``t_start``/``t_stop`` the
        recorded window, annotated with its id and population), for Elephant and other neo
        tools (needs neo: ``pip install 'spikeshard[neo]'``)."""
        from .neo_export import spike_trains

        return spike_trains(self)

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Raster plot (needs matplotlib: ``pip install spikeshard[plot]``)."""
        from .plotting import raster

        return raster(self, ax=ax, **kwargs)

    def __repr__(self) -> str:
        return f"SpikeMonitor({self.name}, count={self.count})"


class StateMonitor(Monitor):
    """Records state variables of some neurons every ``interval`` seconds (default: every
    step), within the model-time window ``(start, stop]``.

    After a run, ``traces[var]`` has shape (n_samples, n_ids) and ``t`` the sample times in
    s: the state at the end of the steps whose end time is a multiple of ``interval``
    (``(step + 1) * dt``, as NEST's multimeter). Columns follow ``held_ids`` (all of
    ``record``, sorted, where the data are gathered). ``monitor.v`` is
    ``monitor.traces["v"]``. ``interval`` must be a whole number of steps.
    """

    kind = "StateMonitor"

    def __init__(self, source: Population | PopulationSlice, variables: Sequence[str] = ("v",),
                 record: Sequence[int] | bool = (0,), label: str | None = None, *,
                 interval: float | None = None, gather: str = "root", start: float = 0.0,
                 stop: float | None = None) -> None:
        if isinstance(source, PopulationSlice):
            population, ids = _source_and_record(source, None, "StateMonitor")
        else:
            population, ids = _source_and_record(source, record, "StateMonitor")
        if isinstance(variables, str):
            variables = [variables]
        variables = list(variables)
        if not variables:
            raise NetworkError("StateMonitor variables is empty: name at least one variable")
        names = population.model.state_names()
        for var in variables:
            if var not in names:
                raise NetworkError(
                    f"StateMonitor variable {var!r}: {population.model.__name__} has state "
                    f"variables {list(names)}"
                )
        repeated = sorted({v for v in variables if variables.count(v) > 1})
        if repeated:
            raise NetworkError(
                f"StateMonitor variables = {variables!r} names {repeated[0]!r} twice: name "
                "each variable once"
            )
        self.variables = variables
        self.record: IntArray = np.arange(population.n) if ids is None else ids
        self.interval = (None if interval is None
                         else _validate.real("interval", interval, low=0.0, low_open=True))
        super().__init__(population, label, gather, start, stop)

    def reset(self) -> None:
        super().reset()
        self._chunks: dict[str, list[FloatArray]] = {v: [] for v in self.variables}
        self._t: list[FloatArray] = []
        self._n_samples = 0
        self._held_ids: IntArray | None = None

    # ------------------------------------------------------------------ recording interface

    def bind(self, context: RecordingContext) -> None:
        super().bind(context)
        self.interval_steps(context.dt)
        if self.gather == "local":
            self._held_ids = self.record[np.isin(self.record, context.owned_ids)]
        else:
            self._held_ids = self.record if self.holds_data else np.zeros(0, dtype=np.int64)

    def interval_steps(self, dt: float) -> int:
        """Steps between samples (1 without ``interval``)."""
        if self.interval is None:
            return 1
        return max(1, whole_steps("StateMonitor interval", self.interval, dt))

    def sample_steps(self, dt: float, first_step: int, n_steps: int) -> IntArray:
        """The steps of ``[first_step, first_step + n_steps)`` sampled: in the window, and
        ending on a multiple of the interval."""
        a, b = self.recorded_steps(dt, first_step, n_steps)
        k = self.interval_steps(dt)
        first = a + (-(a + 1)) % k  # the first s >= a with (s + 1) % k == 0
        return np.arange(first, b, k, dtype=np.int64)

    def add_run(self, duration: float, t: FloatArray,
                traces: dict[str, FloatArray] | None) -> None:
        """Adds one run: ``duration`` seconds recorded, the sample times ``t`` (s), and the
        traces this rank holds, each (len(t), len(held_ids)) (None where it holds none)."""
        self.duration += duration
        self._n_samples += len(t)
        self._t.append(np.asarray(t, dtype=np.float64))
        if traces is not None:
            for var in self.variables:
                self._chunks[var].append(np.asarray(traces[var], dtype=np.float64))

    # ------------------------------------------------------------------ reading

    @property
    def held_ids(self) -> IntArray:
        """The ids whose traces this rank holds (the columns of ``traces``)."""
        return self.record if self._held_ids is None else self._held_ids

    @property
    def traces(self) -> dict[str, FloatArray]:
        """{variable: array (n_samples, len(held_ids))}."""
        self._check_held("traces")
        width = len(self.held_ids)
        out = {}
        for var, chunks in self._chunks.items():
            if len(chunks) > 1:
                chunks[:] = [np.concatenate(chunks)]
            out[var] = chunks[0] if chunks else np.zeros((0, width))
        return out

    @property
    def t(self) -> FloatArray:
        """Sample times (s), the same on every rank."""
        if len(self._t) > 1:
            self._t[:] = [np.concatenate(self._t)]
        return self._t[0] if self._t else np.zeros(0)

    @property
    def n_samples(self) -> int:
        return self._n_samples

    def __getattr__(self, name: str) -> FloatArray:
        if name.startswith("_") or name not in self.__dict__.get("variables", []):
            raise AttributeError(name)
        return self.traces[name]

    def to_neo(self) -> list[Any]:
        """One ``neo.AnalogSignal`` per variable (samples × held neurons, with the
        variable's unit; ``array_annotations["id"]`` are the neuron ids), or an
        ``IrregularlySampledSignal`` where the samples are not evenly spaced (needs neo)."""
        from .neo_export import analog_signals

        return analog_signals(self)

    def plot(self, variable: str | None = None, ax: Any = None) -> Any:
        """Plot traces of ``variable`` (default: the first) against time (needs matplotlib)."""
        from .plotting import traces

        return traces(self, variable or self.variables[0], ax=ax)

    def __repr__(self) -> str:
        return f"StateMonitor({self.name}, variables={self.variables})"


class RateMonitor(Monitor):
    """The population rate: spikes of the whole population per bin of ``bin_width``
    seconds, divided by its size and the bin width (Hz per neuron), within the window
    ``(start, stop]``.

    After a run, ``rate`` holds one value per completed bin and ``t`` the start of each bin
    (s; bin j covers spike times in ``(t[j], t[j] + bin_width]``). A bin is reported once a
    run has passed its end. With ``gather="local"`` each rank holds the rate of its own
    neurons. ``bin_width`` must be a whole number of steps.
    """

    kind = "RateMonitor"

    def __init__(self, source: Population, bin_width: float, label: str | None = None, *,
                 gather: str = "root", start: float = 0.0, stop: float | None = None) -> None:
        if not isinstance(source, Population):
            raise NetworkError(f"source = {source!r}: expected a Population")
        self.bin_width = _validate.real("bin_width", bin_width, low=0.0, low_open=True)
        super().__init__(source, label, gather, start, stop)

    def reset(self) -> None:
        super().reset()
        self._rates: list[FloatArray] = []
        self._count = 0
        self._n_neurons = self.source.n

    def bind(self, context: RecordingContext) -> None:
        super().bind(context)
        self.bin_steps(context.dt)
        self._n_neurons = (len(context.owned_ids) if self.gather == "local"
                           else self.source.n)

    def bin_steps(self, dt: float) -> int:
        return whole_steps("RateMonitor bin_width", self.bin_width, dt)

    def completed_bins(self, dt: float, first_step: int, n_steps: int) -> tuple[int, int]:
        """Bins ``[a, b)`` that end within ``[first_step, first_step + n_steps)``: bin j
        covers steps ``[low + j k, low + (j + 1) k)`` of the window starting at step low."""
        low, high = self.window_steps(dt)
        k = self.bin_steps(dt)
        end = first_step + n_steps if high is None else min(first_step + n_steps, high)
        done_before = max(0, (first_step - low) // k)
        done_after = max(0, (end - low) // k)
        return done_before, max(done_before, done_after)

    def add_run(self, duration: float, count: int, spike_counts: FloatArray | None) -> None:
        """Adds one run's completed bins: ``spike_counts`` per bin held here (None where none
        is held), ``count`` spikes over all ranks in them, ``duration`` s recorded."""
        self.duration += duration
        self._count += int(count)
        if spike_counts is not None:
            counts = np.asarray(spike_counts, dtype=np.float64)
            self._rates.append(counts / (max(self._n_neurons, 1) * self.bin_width))

    @property
    def n_neurons(self) -> int:
        """Neurons the rate is over: the population, or with ``gather="local"`` this rank's
        own neurons of it."""
        return self._n_neurons

    @property
    def rate(self) -> FloatArray:
        """Population rate per bin (Hz per neuron)."""
        self._check_held("rate")
        if len(self._rates) > 1:
            self._rates[:] = [np.concatenate(self._rates)]
        return self._rates[0] if self._rates else np.zeros(0)

    @property
    def t(self) -> FloatArray:
        """Start of each reported bin (s)."""
        self._check_held("t")
        return self.start + np.arange(len(self.rate), dtype=np.float64) * self.bin_width

    @property
    def count(self) -> int:
        """Spikes in the reported bins, over all ranks (on every rank)."""
        return self._count

    def mean_rate(self) -> float:
        """Mean rate over the reported bins (Hz per neuron), the same on every rank."""
        if self.duration <= 0:
            return 0.0
        return self._count / (self.source.n * self.duration)

    def to_neo(self) -> Any:
        """The rate as a ``neo.AnalogSignal`` in Hz, one sample per bin (needs neo)."""
        from .neo_export import rate_signal

        return rate_signal(self)

    def __repr__(self) -> str:
        return f"RateMonitor({self.name}, bin_width={self.bin_width!r})"


AnyMonitor = SpikeMonitor | StateMonitor | RateMonitor


def monitor_duration(monitor: Monitor, dt: float, first_step: int, n_steps: int) -> float:
    """Seconds of a run of ``n_steps`` from ``first_step`` that ``monitor`` records."""
    if isinstance(monitor, RateMonitor):
        a, b = monitor.completed_bins(dt, first_step, n_steps)
        return (b - a) * monitor.bin_steps(dt) * dt
    a, b = monitor.recorded_steps(dt, first_step, n_steps)
    return (b - a) * dt
