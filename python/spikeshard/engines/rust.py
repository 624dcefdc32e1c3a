"""The Rust engine: `spikeshard._engine.NetworkRunner`, holding a rank's neurons and synapses.
Every computing call releases the GIL; a single-process run stays in Rust between progress
updates."""

from __future__ import annotations

import numpy as np

from .. import _engine
from .._engine import ProjectionSpec
from ..arrays import FloatArray, U32Array, U64Array
from ..errors import ModelError, UnsupportedError
from ..models.base import KernelConstants, NeuronModel

#: Smallest block worth handing to a thread: every block looks up the row of every spike, so
#: smaller blocks cost more in delivery than they gain in balance (measured in
#: benchmarks/README.md, "Block sizes").
MIN_BLOCK_SIZE = 1024
#: Largest block: the Rust engine's default, with which one ring-buffer slot of a block
#: (8 bytes a neuron) stays in the L1 cache while spikes are delivered into it.
MAX_BLOCK_SIZE: int = _engine.DEFAULT_BLOCK_SIZE


def rust_supports_model(model: type[NeuronModel] | str) -> bool:
    """Whether the compiled Rust engine implements ``model`` (exported as
    ``spikeshard._rust_supports_model``, SC-NeuroCore's name).

    ``model`` is a model class, or its name: a class name (``"LIF"``, or a user model's
    class name) or a Rust kernel name (``"lif"``). A class is supported when its
    ``rust_kernel`` names one of ``_engine.supported_kernels()``. Populations of models for
    which this is False run on the numpy engine with ``backend="auto"`` (the others stay on
    Rust) and are refused by ``backend="rust"``.
    """
    if isinstance(model, str):
        return _supports_name(model)
    if not (isinstance(model, type) and issubclass(model, NeuronModel)):
        raise ModelError(f"model = {model!r}: expected a neuron model class or its name")
    return model.rust_kernel is not None and model.rust_kernel in _engine.supported_kernels()


def _supports_name(name: str) -> bool:
    if name in _engine.supported_kernels():
        return True
    classes = [cls for cls in _model_classes() if cls.__name__ == name or cls.name == name]
    answers = {rust_supports_model(cls) for cls in classes}
    if len(answers) == 1:
        return answers.pop()
    known = sorted({cls.__name__ for cls in _model_classes()})
    if not classes:
        raise ModelError(f"model = {name!r}: no neuron model class or Rust kernel has this "
                         f"name; known models: {known}")
    raise ModelError(f"model = {name!r}: several model classes have this name and only some "
                     "have a Rust kernel; pass the class itself")


def _model_classes() -> list[type[NeuronModel]]:
    """Every NeuronModel subclass defined so far (spikeshard's and the user's)."""
    found: list[type[NeuronModel]] = []
    pending = list(NeuronModel.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def block_size(n_local: int, threads: int) -> int:
    """Neurons per block: the population split evenly into blocks of at most MAX_BLOCK_SIZE,
    and with several threads into up to two blocks per thread as long as blocks keep
    MIN_BLOCK_SIZE neurons. Results do not depend on it."""
    n_blocks = max(1, -(-n_local // MAX_BLOCK_SIZE))
    if threads > 1:
        n_blocks = max(n_blocks, min(2 * threads, n_local // MIN_BLOCK_SIZE))
    return max(1, -(-n_local // n_blocks))


class RustEngine:
    """The ``Engine`` on the native ``NetworkRunner`` with ``threads`` rayon threads."""

    name = "rust"

    def __init__(self, dt: float, threads: int = 1) -> None:
        self.runner = _engine.NetworkRunner(dt, threads)
        # (receptors, local neurons) of each population, to shape its buffered input.
        self._shapes: list[tuple[int, int]] = []

    @property
    def threads(self) -> int:
        return int(self.runner.n_threads)

    def add_population(self, model: type[NeuronModel], constants: KernelConstants, key: int,
                       first_gid: int, size: int, locals_: U32Array,
                       state: list[FloatArray]) -> int:
        if model.rust_kernel is None or not rust_supports_model(model):
            raise UnsupportedError(
                f"model {model.__name__} has no Rust kernel; use backend='numpy' or 'auto'"
            )
        index = int(self.runner.add_population(
            model.rust_kernel, constants, key, first_gid, size, locals_, state,
            block_size(len(locals_), self.threads)))
        self._shapes.append((model.receptors, len(locals_)))
        return index

    def add_projection(self, post: int, spec: ProjectionSpec) -> int:
        return int(self.runner.add_projection(post, spec))

    def add_drive(self, population: int, targets: U32Array, weight: float, key: int,
                  n_chunks: int, cdf: FloatArray) -> None:
        self.runner.add_drive(population, targets, weight, key, n_chunks, cdf)

    def add_spike_recorder(self, population: int, ids: U32Array | None, first_step: int,
                           stop_step: int | None) -> int:
        ids = None if ids is None else np.ascontiguousarray(ids, dtype=np.uint32)
        return int(self.runner.add_spike_recorder(population, ids, first_step, stop_step))

    def add_state_recorder(self, population: int, variable: int, ids: U32Array,
                           first_step: int, stop_step: int | None, every: int) -> int:
        return int(self.runner.add_state_recorder(
            population, variable, np.ascontiguousarray(ids, dtype=np.uint32), first_step,
            stop_step, every))

    def add_rate_recorder(self, population: int, first_step: int, stop_step: int | None,
                          bin_steps: int) -> int:
        return int(self.runner.add_rate_recorder(population, first_step, stop_step, bin_steps))

    def longest_interval(self) -> int | None:
        return self.runner.longest_interval()

    def prepare(self, interval: int, max_delay_steps: int) -> None:
        self.runner.prepare(interval, max_delay_steps)

    def advance(self, n_steps: int) -> U64Array:
        return np.asarray(self.runner.advance(n_steps))

    def deliver(self, spikes: U64Array) -> None:
        self.runner.deliver(np.ascontiguousarray(spikes, dtype=np.uint64))

    def run(self, n_steps: int, interval: int) -> None:
        self.runner.run(n_steps, interval)

    def take_spikes(self, recorder: int) -> tuple[U64Array, FloatArray]:
        packed, offsets = self.runner.take_spikes(recorder)
        return np.asarray(packed), np.asarray(offsets)

    def take_state(self, recorder: int) -> tuple[U32Array, FloatArray]:
        columns, values = self.runner.take_state(recorder)
        return np.asarray(columns), np.asarray(values)

    def take_rate(self, recorder: int, until_step: int) -> U64Array:
        return np.asarray(self.runner.take_rate(recorder, until_step))

    def recording_bytes(self) -> int:
        return int(self.runner.recording_bytes())

    def spikes_emitted(self) -> int:
        return int(self.runner.spikes_emitted())

    def phase_times(self) -> tuple[float, float]:
        update_s, delivery_s = self.runner.phase_times()
        return float(update_s), float(delivery_s)

    def get_state(self, population: int, variable: int) -> FloatArray:
        return np.asarray(self.runner.get_state(population, variable))

    def longest_delay(self) -> int:
        return int(self.runner.max_delay)

    def start_at(self, step: int) -> None:
        self.runner.start_at(step)

    def get_input(self, population: int, lags: int) -> FloatArray:
        receptors, n = self._shapes[population]
        return np.asarray(self.runner.get_input(population, lags)).reshape(receptors, lags, n)

    def add_input(self, population: int, values: FloatArray) -> None:
        self.runner.add_input(population, values.shape[1],
                              np.ascontiguousarray(values, dtype=np.float64).ravel())

    def source_gids(self) -> U32Array:
        return np.asarray(self.runner.source_gids())

    def synapse_footprint(self) -> tuple[int, int]:
        n, nbytes = self.runner.synapse_footprint()
        return int(n), int(nbytes)
