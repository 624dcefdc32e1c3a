"""Engines step the neurons a rank owns. Both implement the same small protocol (`Engine`);
the Rust engine is the fast path, the numpy engine runs any model and is the executable
specification the Rust engine is tested against."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from .._engine import ProjectionSpec
from ..models.base import NeuronModel

U64Array = npt.NDArray[np.uint64]
U32Array = npt.NDArray[np.uint32]
FloatArray = npt.NDArray[np.float64]


class Engine(Protocol):
    """What the build and run loop need from an engine (one per rank)."""

    name: str

    def add_population(self, model: type[NeuronModel], constants: FloatArray, key: int,
                       first_gid: int, size: int, locals_: U32Array,
                       state: list[FloatArray]) -> int: ...

    def add_projection(self, post: int, spec: ProjectionSpec) -> int: ...

    def add_drive(self, population: int, targets: U32Array, weight: float, key: int,
                  n_chunks: int, cdf: FloatArray) -> None: ...

    def record_spikes(self, population: int) -> None: ...

    def add_recorder(self, population: int, variable: int, ids: U32Array) -> int: ...

    def longest_interval(self) -> int | None:
        """The longest exchange interval (steps) this rank's synapses allow, None without
        synapses: the smallest delay, or one step more where the engine can complete an
        interval's last step after delivering its spikes."""
        ...

    def prepare(self, interval: int, max_delay: int) -> None: ...

    def advance(self, n_steps: int) -> U64Array: ...

    def deliver(self, spikes: U64Array) -> None: ...

    def run(self, n_steps: int, interval: int) -> None: ...

    def take_spikes(self, population: int) -> tuple[U64Array, FloatArray]:
        """The spikes recorded since the last call, packed ``step << 32 | gid`` and sorted,
        with their sub-step times (s); the times may be empty for models without precise
        spike times."""
        ...

    def take_recorder(self, recorder: int, n_columns: int) -> FloatArray: ...

    def get_state(self, population: int, variable: int) -> FloatArray: ...

    def synapse_footprint(self) -> tuple[int, int]: ...

    def source_gids(self) -> U32Array:
        """The global ids of the neurons that have synapses on this rank, ascending."""
        ...


def rust_supports_model(model: type[NeuronModel]) -> bool:
    """Whether the compiled Rust engine implements ``model``."""
    from .. import _engine

    return model.rust_kernel is not None and model.rust_kernel in _engine.supported_kernels()
