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
        self._recorders: list[_Placed] = []

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

    def record_spikes(self, population: int) -> None:
        placed = self._populations[population]
        placed.engine.record_spikes(placed.index)

    def add_recorder(self, population: int, variable: int, ids: U32Array) -> int:
        placed = self._populations[population]
        self._recorders.append(
            _Placed(placed.engine, placed.engine.add_recorder(placed.index, variable, ids)))
        return len(self._recorders) - 1

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

    def take_spikes(self, population: int) -> tuple[U64Array, FloatArray]:
        placed = self._populations[population]
        return placed.engine.take_spikes(placed.index)

    def take_recorder(self, recorder: int, n_columns: int) -> FloatArray:
        placed = self._recorders[recorder]
        return placed.engine.take_recorder(placed.index, n_columns)

    def get_state(self, population: int, variable: int) -> FloatArray:
        placed = self._populations[population]
        return placed.engine.get_state(placed.index, variable)

    def source_gids(self) -> U32Array:
        return np.union1d(self.rust.source_gids(), self.numpy.source_gids()).astype(np.uint32)

    def synapse_footprint(self) -> tuple[int, int]:
        (n_rust, bytes_rust), (n_numpy, bytes_numpy) = (self.rust.synapse_footprint(),
                                                        self.numpy.synapse_footprint())
        return n_rust + n_numpy, bytes_rust + bytes_numpy
