"""``MixedEngine``: a rank whose populations run on two engines, those with a Rust kernel on
the Rust engine and the others (a user's numpy model) on the numpy engine.

Each population lives on exactly one of the two; a projection is built by the engine that
holds its target. Both advance the same interval, their spikes are merged (sorted) and every
spike is delivered to both, so each target sums its input in the order a single engine would
(spike, projection, synapse): the results are those of each population on its engine, for
any number of ranks and threads. Intervals are as long as both engines allow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._engine import ProjectionSpec
from ..arrays import FloatArray, U32Array, U64Array
from ..models.base import KernelConstants, NeuronModel
from .numpy_engine import NumpyEngine
from .protocol import Engine
from .rust import RustEngine, rust_supports_model


@dataclass(frozen=True)
class _Placed:
    """Where a population or recorder of the mixed engine lives: engine and its own index."""

    engine: Engine
    index: int


class MixedEngine:
    """The Rust engine for the populations it implements, the numpy engine for the rest."""

    name = "rust+numpy"

    def __init__(self, dt: float, threads: int = 1) -> None:
        self.rust = RustEngine(dt, threads)
        self.numpy = NumpyEngine(dt)
        self._populations: list[_Placed] = []
        # Recorders of each kind, numbered across both engines.
        self._spike_recorders: list[_Placed] = []
        self._state_recorders: list[_Placed] = []
        self._rate_recorders: list[_Placed] = []

    @property
    def threads(self) -> int:
        return self.rust.threads

    def add_population(self, model: type[NeuronModel], constants: KernelConstants, key: int,
                       first_gid: int, size: int, locals_: U32Array,
                       state: list[FloatArray]) -> int:
        engine: Engine = self.rust if rust_supports_model(model) else self.numpy
        index = engine.add_population(model, constants, key, first_gid, size, locals_, state)
        self._populations.append(_Placed(engine, index))
        return len(self._populations) - 1

    def add_projection(self, post: int, spec: ProjectionSpec) -> int:
        placed = self._populations[post]
        return placed.engine.add_projection(placed.index, spec)

    def add_drive(self, population: int, targets: U32Array, weight: float, key: int,
                  n_chunks: int, cdf: FloatArray) -> None:
        placed = self._populations[population]
        placed.engine.add_drive(placed.index, targets, weight, key, n_chunks, cdf)

    def add_spike_recorder(self, population: int, ids: U32Array | None, first_step: int,
                           stop_step: int | None) -> int:
        placed = self._populations[population]
        index = placed.engine.add_spike_recorder(placed.index, ids, first_step, stop_step)
        self._spike_recorders.append(_Placed(placed.engine, index))
        return len(self._spike_recorders) - 1

    def add_state_recorder(self, population: int, variable: int, ids: U32Array,
                           first_step: int, stop_step: int | None, every: int) -> int:
        placed = self._populations[population]
        index = placed.engine.add_state_recorder(placed.index, variable, ids, first_step,
                                                 stop_step, every)
        self._state_recorders.append(_Placed(placed.engine, index))
        return len(self._state_recorders) - 1

    def add_rate_recorder(self, population: int, first_step: int, stop_step: int | None,
                          bin_steps: int) -> int:
        placed = self._populations[population]
        index = placed.engine.add_rate_recorder(placed.index, first_step, stop_step, bin_steps)
        self._rate_recorders.append(_Placed(placed.engine, index))
        return len(self._rate_recorders) - 1

    def longest_interval(self) -> int | None:
        limits = [limit for limit in (self.rust.longest_interval(),
                                      self.numpy.longest_interval()) if limit is not None]
        return min(limits) if limits else None

    def prepare(self, interval: int, max_delay_steps: int) -> None:
        self.rust.prepare(interval, max_delay_steps)
        self.numpy.prepare(interval, max_delay_steps)

    def advance(self, n_steps: int) -> U64Array:
        spikes = np.concatenate([self.rust.advance(n_steps), self.numpy.advance(n_steps)])
        return np.sort(spikes)

    def deliver(self, spikes: U64Array) -> None:
        self.rust.deliver(spikes)
        self.numpy.deliver(spikes)

    def run(self, n_steps: int, interval: int) -> None:
        done = 0
        while done < n_steps:
            m = min(interval, n_steps - done)
            self.deliver(self.advance(m))
            done += m

    def take_spikes(self, recorder: int) -> tuple[U64Array, FloatArray]:
        placed = self._spike_recorders[recorder]
        return placed.engine.take_spikes(placed.index)

    def take_state(self, recorder: int) -> tuple[U32Array, FloatArray]:
        placed = self._state_recorders[recorder]
        return placed.engine.take_state(placed.index)

    def take_rate(self, recorder: int, until_step: int) -> U64Array:
        placed = self._rate_recorders[recorder]
        return placed.engine.take_rate(placed.index, until_step)

    def recording_bytes(self) -> int:
        return self.rust.recording_bytes() + self.numpy.recording_bytes()

    def spikes_emitted(self) -> int:
        return self.rust.spikes_emitted() + self.numpy.spikes_emitted()

    def phase_times(self) -> tuple[float, float]:
        (rust_update, rust_delivery), (numpy_update, numpy_delivery) = (
            self.rust.phase_times(), self.numpy.phase_times())
        return rust_update + numpy_update, rust_delivery + numpy_delivery

    def get_state(self, population: int, variable: int) -> FloatArray:
        placed = self._populations[population]
        return placed.engine.get_state(placed.index, variable)

    def longest_delay(self) -> int:
        return max(self.rust.longest_delay(), self.numpy.longest_delay())

    def start_at(self, step: int) -> None:
        self.rust.start_at(step)
        self.numpy.start_at(step)

    def get_input(self, population: int, lags: int) -> FloatArray:
        placed = self._populations[population]
        return placed.engine.get_input(placed.index, lags)

    def add_input(self, population: int, values: FloatArray) -> None:
        placed = self._populations[population]
        placed.engine.add_input(placed.index, values)

    def source_gids(self) -> U32Array:
        return np.union1d(self.rust.source_gids(), self.numpy.source_gids()).astype(np.uint32)

    def synapse_footprint(self) -> tuple[int, int]:
        (n_rust, bytes_rust), (n_numpy, bytes_numpy) = (self.rust.synapse_footprint(),
                                                        self.numpy.synapse_footprint())
        return n_rust + n_numpy, bytes_rust + bytes_numpy
