"""The numpy engine: the same data layout and semantics as the Rust engine, written for
clarity. It runs any model (including user models without a Rust kernel) and is the
executable specification: the Rust engine must produce the same spikes.

Semantics of one step ``s`` (time ``s*dt`` to ``(s+1)*dt``) of a population:
1. input = ring buffer slot ``s % ring_len`` (per receptor: excitatory and inhibitory, or
   one summing every weight);
2. each Poisson drive adds ``count * weight`` to the input of its neurons (a count is the
   number of entries of the drive's cumulative Poisson table below a uniform draw);
3. the model kernel updates the state and flags spikes; the slot is cleared;
4. spikes are collected as packed ``s << GID_BITS | gid`` (``packed_spikes``);
5. recorders keep what they asked for of the step: the spikes of their neurons if ``s`` is
   in their window ``[first, stop)``, the state of their neurons if also ``(s + 1) % every
   == 0``, and the step's spike count in bin ``(s - first) // every``.
After each interval (at most the smallest delay), every spike of the interval is delivered:
for each spike in (step, gid) order, each projection in order, each synapse of the source's
row in order, the weight is added to slot ``(step + delay) % ring_len`` of its target
(positive weights to the excitatory receptor, negative to the inhibitory one).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .. import _engine, packed_spikes, rng
from .._engine import ProjectionSpec
from ..arrays import FloatArray, U32Array, U64Array
from ..models.base import KernelConstants, NeuronModel, StepContext


@dataclass
class _Table:
    pre_first_gid: int
    pre_n: int
    offsets: np.ndarray
    targets: np.ndarray
    weights: FloatArray
    delay_steps: np.ndarray


@dataclass
class _Drive:
    key: int
    targets: np.ndarray  # local positions
    weight: float
    n_chunks: int
    cdf: FloatArray


@dataclass
class _Window:
    """Steps ``[first, stop)``; a sampling recorder samples those with ``(s + 1) % every
    == 0``, a rate recorder counts per bin of ``every`` steps from ``first``."""

    first: int
    stop: int | None
    every: int = 1

    def contains(self, step: int) -> bool:
        return step >= self.first and (self.stop is None or step < self.stop)

    def samples(self, step: int) -> bool:
        return self.contains(step) and (step + 1) % self.every == 0

    def completed_bins(self, until: int) -> int:
        end = until if self.stop is None else min(until, self.stop)
        return max(0, end - self.first) // self.every


@dataclass
class _SpikeRecorder:
    window: _Window
    selected: np.ndarray | None  # local positions recorded (sorted), or None for every one
    spikes: list[U64Array] = field(default_factory=list)
    offsets: list[FloatArray] = field(default_factory=list)


@dataclass
class _StateRecorder:
    variable: int
    positions: np.ndarray  # local positions of the recorded ids this rank holds
    columns: np.ndarray  # their positions in the recorder's ids
    window: _Window
    values: list[FloatArray] = field(default_factory=list)


@dataclass
class _RateRecorder:
    window: _Window
    next_bin: int = 0
    counts: dict[int, int] = field(default_factory=dict)


@dataclass
class _Population:
    model: type[NeuronModel]
    constants: KernelConstants
    key: int
    first_gid: int
    size: int
    locals: U32Array
    state: list[FloatArray]
    gids: U32Array
    ring_len: int = 0
    ring_ex: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    ring_in: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    tables: list[_Table] = field(default_factory=list)
    drives: list[_Drive] = field(default_factory=list)
    spike_recorders: list[_SpikeRecorder] = field(default_factory=list)
    state_recorders: list[_StateRecorder] = field(default_factory=list)
    rate_recorders: list[_RateRecorder] = field(default_factory=list)


class NumpyEngine:
    name = "numpy"

    def __init__(self, dt: float) -> None:
        self.dt = dt
        self.threads = 1
        self.step = 0
        self.populations: list[_Population] = []
        self.min_delay_steps: int | None = None
        self.max_delay_steps = 0
        self.spike_recorders: list[_SpikeRecorder] = []
        self.state_recorders: list[_StateRecorder] = []
        self.rate_recorders: list[_RateRecorder] = []
        self.n_spikes = 0
        self.update_s = 0.0
        self.delivery_s = 0.0

    def add_population(self, model: type[NeuronModel], constants: KernelConstants, key: int,
                       first_gid: int, size: int, locals_: U32Array,
                       state: list[FloatArray]) -> int:
        locals_ = np.asarray(locals_, dtype=np.uint32)
        self.populations.append(_Population(
            model=model, constants=constants, key=key,
            first_gid=first_gid, size=size, locals=locals_,
            state=[np.array(v, dtype=np.float64) for v in state],
            gids=(locals_ + np.uint32(first_gid)).astype(np.uint32),
        ))
        return len(self.populations) - 1

    def add_projection(self, post: int, spec: ProjectionSpec) -> int:
        pop = self.populations[post]
        table = _engine.build_synapse_table(spec, pop.locals)
        delay_steps = np.asarray(table["delays"], dtype=np.int64)
        pop.tables.append(_Table(
            pre_first_gid=spec.pre_first_gid,
            pre_n=spec.pre_n,
            offsets=np.asarray(table["offsets"], dtype=np.int64),
            targets=np.asarray(table["targets"], dtype=np.int64),
            weights=np.asarray(table["weights"], dtype=np.float64),
            delay_steps=delay_steps,
        ))
        if delay_steps.size:
            low = int(delay_steps.min())
            self.min_delay_steps = (low if self.min_delay_steps is None
                                    else min(self.min_delay_steps, low))
            self.max_delay_steps = max(self.max_delay_steps, int(delay_steps.max()))
        return int(delay_steps.size)

    def add_drive(self, population: int, targets: U32Array, weight: float, key: int,
                  n_chunks: int, cdf: FloatArray) -> None:
        pop = self.populations[population]
        positions = np.searchsorted(pop.locals, targets)
        positions = positions[positions < len(pop.locals)]
        positions = positions[np.isin(pop.locals[positions], targets)]
        if positions.size:
            pop.drives.append(_Drive(key, np.unique(positions), weight, n_chunks,
                                     np.asarray(cdf, dtype=np.float64)))

    def add_spike_recorder(self, population: int, ids: U32Array | None, first_step: int,
                           stop_step: int | None) -> int:
        pop = self.populations[population]
        selected = (None if ids is None
                    else np.flatnonzero(np.isin(pop.locals, np.asarray(ids, np.uint32))))
        recorder = _SpikeRecorder(_Window(first_step, stop_step), selected)
        pop.spike_recorders.append(recorder)
        self.spike_recorders.append(recorder)
        return len(self.spike_recorders) - 1

    def add_state_recorder(self, population: int, variable: int, ids: U32Array,
                           first_step: int, stop_step: int | None, every: int) -> int:
        pop = self.populations[population]
        ids = np.asarray(ids, dtype=np.uint32)
        columns = np.flatnonzero(np.isin(ids, pop.locals))
        positions = np.searchsorted(pop.locals, ids[columns])
        recorder = _StateRecorder(variable, positions, columns,
                                  _Window(first_step, stop_step, every))
        pop.state_recorders.append(recorder)
        self.state_recorders.append(recorder)
        return len(self.state_recorders) - 1

    def add_rate_recorder(self, population: int, first_step: int, stop_step: int | None,
                          bin_steps: int) -> int:
        recorder = _RateRecorder(_Window(first_step, stop_step, bin_steps))
        self.populations[population].rate_recorders.append(recorder)
        self.rate_recorders.append(recorder)
        return len(self.rate_recorders) - 1

    def longest_interval(self) -> int | None:
        return self.min_delay_steps

    def prepare(self, interval: int, max_delay_steps: int) -> None:
        if interval < 1 or (self.min_delay_steps is not None and interval > self.min_delay_steps):
            raise ValueError(
                f"invalid interval = {interval}: expected at least one step and at most the "
                f"smallest delay ({self.min_delay_steps} steps)")
        # Spikes are delivered at the end of their interval: pending input then arrives
        # within the longest delay after the interval's last step (see rust/src/engine/ring.rs).
        needed = max(max_delay_steps, self.max_delay_steps) + 1
        for pop in self.populations:
            if needed <= pop.ring_len:
                continue
            n = len(pop.locals)
            n_in = n if pop.model.receptors == 2 else 0
            ex, inh = np.zeros((needed, n)), np.zeros((needed, n_in))
            for lag in range(pop.ring_len):
                arrival = self.step + lag
                ex[arrival % needed] = pop.ring_ex[arrival % pop.ring_len]
                inh[arrival % needed] = pop.ring_in[arrival % pop.ring_len]
            pop.ring_len, pop.ring_ex, pop.ring_in = needed, ex, inh

    def advance(self, n_steps: int) -> U64Array:
        started = time.perf_counter()
        spikes: list[U64Array] = []
        for step in range(self.step, self.step + n_steps):
            for pop in self.populations:
                spikes.append(self._step(pop, step))
        self.step += n_steps
        local = np.sort(np.concatenate(spikes)) if spikes else np.zeros(0, dtype=np.uint64)
        self.n_spikes += len(local)
        self.update_s += time.perf_counter() - started
        return local

    def _step(self, pop: _Population, step: int) -> U64Array:
        slot = step % pop.ring_len
        input_ex, input_in = pop.ring_ex[slot], pop.ring_in[slot]
        for drive in pop.drives:
            target_input = input_ex if drive.weight >= 0 or input_in.size == 0 else input_in
            for chunk in range(drive.n_chunks):
                sub = rng.subkey(drive.key, step * drive.n_chunks + chunk)
                u = rng.uniform(rng.bits(sub, pop.gids[drive.targets]))
                counts = rng.poisson_count(u, drive.cdf)
                target_input[drive.targets] += counts.astype(np.float64) * drive.weight
        ctx = StepContext(step=step, dt=self.dt, gids=pop.gids, key=pop.key)
        spiked, offsets = pop.model.update(pop.constants, pop.state, input_ex, input_in, ctx)
        input_ex[:] = 0.0
        input_in[:] = 0.0
        index = np.flatnonzero(spiked)
        packed = packed_spikes.pack(step, pop.gids[index])
        self._record(pop, step, index, packed, offsets)
        return packed

    def _record(self, pop: _Population, step: int, index: np.ndarray, packed: U64Array,
                offsets: FloatArray | None) -> None:
        """What the recorders keep of step ``step`` (spikes at local positions ``index``)."""
        for spike_recorder in pop.spike_recorders:
            if spike_recorder.window.contains(step):
                keep = (slice(None) if spike_recorder.selected is None
                        else np.isin(index, spike_recorder.selected))
                spike_recorder.spikes.append(packed[keep])
                if offsets is not None:
                    spike_recorder.offsets.append(np.asarray(offsets)[index][keep])
        for state_recorder in pop.state_recorders:
            if state_recorder.window.samples(step):
                values = pop.state[state_recorder.variable][state_recorder.positions]
                state_recorder.values.append(values.copy())
        for rate_recorder in pop.rate_recorders:
            if rate_recorder.window.contains(step) and len(index):
                window = rate_recorder.window
                bin_index = (step - window.first) // window.every
                rate_recorder.counts[bin_index] = (rate_recorder.counts.get(bin_index, 0)
                                                   + len(index))

    def deliver(self, spikes: U64Array) -> None:
        spikes = np.asarray(spikes, dtype=np.uint64)
        if spikes.size == 0:
            return
        started = time.perf_counter()
        packed_steps, packed_gids = packed_spikes.unpack(spikes)
        steps, gids = packed_steps.astype(np.int64), packed_gids.astype(np.int64)
        for pop in self.populations:
            self._deliver_to(pop, steps, gids)
        self.delivery_s += time.perf_counter() - started

    def _deliver_to(self, pop: _Population, steps: np.ndarray, gids: np.ndarray) -> None:
        order_spike, order_table, slots, targets, weights = [], [], [], [], []
        for t, table in enumerate(pop.tables):
            spike_pos = np.flatnonzero(
                (gids >= table.pre_first_gid) & (gids < table.pre_first_gid + table.pre_n))
            rows = gids[spike_pos] - table.pre_first_gid
            starts, stops = table.offsets[rows], table.offsets[rows + 1]
            lengths = stops - starts
            total = int(lengths.sum())
            if total == 0:
                continue
            # Synapse indices of all selected rows, row after row.
            first_of_row = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
            synapses = first_of_row + np.arange(total)
            spike_of_synapse = np.repeat(spike_pos, lengths)
            order_spike.append(spike_of_synapse)
            order_table.append(np.full(total, t))
            slots.append((steps[spike_of_synapse] + table.delay_steps[synapses]) % pop.ring_len)
            targets.append(table.targets[synapses])
            weights.append(table.weights[synapses])
        if not weights:
            return
        # Spike by spike, then projection, then synapse (lexsort is stable).
        order = np.lexsort((np.concatenate(order_table), np.concatenate(order_spike)))
        slot, target, weight = (np.concatenate(a)[order] for a in (slots, targets, weights))
        excitatory = (weight >= 0) | (pop.model.receptors == 1)
        np.add.at(pop.ring_ex, (slot[excitatory], target[excitatory]), weight[excitatory])
        inhibitory = ~excitatory
        np.add.at(pop.ring_in, (slot[inhibitory], target[inhibitory]), weight[inhibitory])

    def run(self, n_steps: int, interval: int) -> None:
        done = 0
        while done < n_steps:
            m = min(interval, n_steps - done)
            self.deliver(self.advance(m))
            done += m

    def take_spikes(self, recorder: int) -> tuple[U64Array, FloatArray]:
        spike_recorder = self.spike_recorders[recorder]
        packed = (np.concatenate(spike_recorder.spikes) if spike_recorder.spikes
                  else np.zeros(0, np.uint64))
        offsets = (np.concatenate(spike_recorder.offsets) if spike_recorder.offsets
                   else np.zeros(0))
        spike_recorder.spikes, spike_recorder.offsets = [], []
        # Steps in order, each step's spikes sorted: already in (step, gid) order.
        return packed, offsets

    def take_state(self, recorder: int) -> tuple[U32Array, FloatArray]:
        state_recorder = self.state_recorders[recorder]
        columns = state_recorder.columns.astype(np.uint32)
        rows = len(state_recorder.values) if len(columns) else 0
        values = (np.stack(state_recorder.values) if rows
                  else np.zeros((0, len(columns))))
        state_recorder.values = []
        return columns, values

    def take_rate(self, recorder: int, until_step: int) -> U64Array:
        rate_recorder = self.rate_recorders[recorder]
        done = max(rate_recorder.window.completed_bins(until_step), rate_recorder.next_bin)
        bins = range(rate_recorder.next_bin, done)
        counts = np.array([rate_recorder.counts.pop(b, 0) for b in bins], dtype=np.uint64)
        rate_recorder.next_bin = done
        return counts

    def recording_bytes(self) -> int:
        spikes = sum(sum(a.nbytes for a in r.spikes) + sum(a.nbytes for a in r.offsets)
                     + (0 if r.selected is None else r.selected.nbytes)
                     for r in self.spike_recorders)
        states = sum(sum(a.nbytes for a in r.values) for r in self.state_recorders)
        return spikes + states + 16 * sum(len(r.counts) for r in self.rate_recorders)

    def spikes_emitted(self) -> int:
        return self.n_spikes

    def phase_times(self) -> tuple[float, float]:
        return self.update_s, self.delivery_s

    def get_state(self, population: int, variable: int) -> FloatArray:
        return self.populations[population].state[variable].copy()

    def longest_delay(self) -> int:
        return self.max_delay_steps

    def start_at(self, step: int) -> None:
        if self.step != 0 or self.n_spikes:
            raise ValueError(f"start_at({step}): the engine has already stepped to {self.step}")
        self.step = step

    def _buffered(self, pop: _Population, lags: int) -> tuple[list[FloatArray], np.ndarray]:
        """The population's rings (one per receptor) and the slots of the next ``lags``
        steps that they hold (input cannot wait longer than the rings reach)."""
        rings = [pop.ring_ex, pop.ring_in][:pop.model.receptors]
        return rings, (self.step + np.arange(min(lags, pop.ring_len))) % max(pop.ring_len, 1)

    def get_input(self, population: int, lags: int) -> FloatArray:
        pop = self.populations[population]
        rings, slots = self._buffered(pop, lags)
        values = np.zeros((pop.model.receptors, lags, len(pop.locals)))
        for receptor, ring in enumerate(rings):
            values[receptor, :len(slots)] = ring[slots]
        return values

    def add_input(self, population: int, values: FloatArray) -> None:
        pop = self.populations[population]
        rings, slots = self._buffered(pop, values.shape[1])
        if np.any(values[:, len(slots):]):
            raise ValueError(f"add_input: input arrives more than the longest delay "
                             f"({self.max_delay_steps} steps) after step {self.step}")
        for receptor, ring in enumerate(rings):
            ring[slots] += values[receptor, :len(slots)]

    def source_gids(self) -> U32Array:
        rows = [np.flatnonzero(np.diff(t.offsets)) + t.pre_first_gid
                for pop in self.populations for t in pop.tables]
        gids = np.unique(np.concatenate(rows)) if rows else np.zeros(0, dtype=np.int64)
        return gids.astype(np.uint32)

    def synapse_footprint(self) -> tuple[int, int]:
        tables = [t for pop in self.populations for t in pop.tables]
        n = sum(len(t.targets) for t in tables)
        nbytes = sum(t.offsets.nbytes + t.targets.nbytes + t.weights.nbytes + t.delay_steps.nbytes
                     for t in tables)
        return n, nbytes

