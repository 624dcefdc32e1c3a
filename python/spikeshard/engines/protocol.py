"""``Engine``: what the per-rank build and the run loop need from an engine, as a Python
``Protocol`` of its own. ``RustEngine`` (a thin wrapper over the native ``NetworkRunner``),
``NumpyEngine`` and ``MixedEngine`` (both, each population on one) implement it; nothing
above this package knows which one it holds.

Projections arrive as an ``_engine.ProjectionSpec``: the rule, not the synapses. Both engines
draw a rank's synapses from it with the same Rust code, so connectivity is written once.
Declarations only: this module imports no engine and runs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..arrays import FloatArray, U32Array, U64Array

if TYPE_CHECKING:
    from .._engine import ProjectionSpec
    from ..models.base import KernelConstants, NeuronModel


class Engine(Protocol):
    """One rank's neurons, synapses, drives and recorders, stepped interval by interval.

    Populations, projections, drives and recorders are numbered in the order they are added
    (the ``int`` each ``add_*`` returns). Times are steps of the engine's ``dt``.
    """

    name: str

    def add_population(self, model: type[NeuronModel], constants: KernelConstants, key: int,
                       first_gid: int, size: int, locals_: U32Array,
                       state: list[FloatArray]) -> int:
        """Adds the neurons ``locals_`` (population-local ids, ascending) of a population of
        ``size`` whose first global id is ``first_gid``, with their start ``state`` (one
        array per state variable) and the model's ``constants``; ``key`` keys its random
        stream."""
        ...

    def add_projection(self, post: int, spec: ProjectionSpec) -> int:
        """Draws the synapses of ``spec`` that end on this rank's neurons of population
        ``post``; returns how many there are."""
        ...

    def add_drive(self, population: int, targets: U32Array, weight: float, key: int,
                  n_chunks: int, cdf: FloatArray) -> None:
        """A Poisson input to the local positions ``targets``: every step each adds
        ``count * weight``, a count drawn ``n_chunks`` times against the cumulative table
        ``cdf`` (see ``rng.poisson_chunks``)."""
        ...

    def add_spike_recorder(self, population: int, ids: U32Array | None, first_step: int,
                           stop_step: int | None) -> int:
        """Keeps the spikes of the population-local ``ids`` (every neuron: None) emitted in
        steps ``[first_step, stop_step)`` for ``take_spikes``; returns the recorder's id.
        Nothing else of the population is kept."""
        ...

    def add_state_recorder(self, population: int, variable: int, ids: U32Array,
                           first_step: int, stop_step: int | None, every: int) -> int:
        """Samples state variable ``variable`` of the population-local ``ids`` (sorted) after
        each step ``s`` of ``[first_step, stop_step)`` with ``(s + 1) % every == 0``;
        returns the recorder's id (for ``take_state``)."""
        ...

    def add_rate_recorder(self, population: int, first_step: int, stop_step: int | None,
                          bin_steps: int) -> int:
        """Counts the population's spikes on this rank per bin of ``bin_steps`` steps from
        ``first_step`` (until ``stop_step``); returns the recorder's id (for ``take_rate``)."""
        ...

    def longest_interval(self) -> int | None:
        """The longest exchange interval (steps) this rank's synapses allow, None without
        synapses: the smallest delay, or one step more where the engine can complete an
        interval's last step after delivering its spikes."""
        ...

    def prepare(self, interval: int, max_delay_steps: int) -> None:
        """Sizes the delay buffers for exchanges every ``interval`` steps and delays up to
        ``max_delay_steps``; called before the first step (and again if the interval
        changes)."""
        ...

    def advance(self, n_steps: int) -> U64Array:
        """Steps ``n_steps`` (at most one interval) and returns this rank's spikes packed
        ``step << 32 | gid``, sorted."""
        ...

    def deliver(self, spikes: U64Array) -> None:
        """Delivers every rank's spikes of the last interval (packed, sorted) to the synapses
        that end here."""
        ...

    def run(self, n_steps: int, interval: int) -> None:
        """One process: advances and delivers interval by interval for ``n_steps``."""
        ...

    def take_spikes(self, recorder: int) -> tuple[U64Array, FloatArray]:
        """A spike recorder's spikes since the last call, packed ``step << 32 | gid`` and
        sorted, with their sub-step times (s); the times are empty for models without
        precise spike times."""
        ...

    def take_state(self, recorder: int) -> tuple[U32Array, FloatArray]:
        """A state recorder's samples since the last call: the columns this rank holds
        (positions in its ``ids``, ascending) and the values, one row per sampled step. A
        rank holding none of the ids returns no columns (and no rows)."""
        ...

    def take_rate(self, recorder: int, until_step: int) -> U64Array:
        """A rate recorder's spike counts of the bins that end at or before ``until_step``
        and were not taken yet (zeros where this rank has no neuron of the population)."""
        ...

    def recording_bytes(self) -> int:
        """Bytes this rank's recorders hold (recorded data not yet taken, selections)."""
        ...

    def spikes_emitted(self) -> int:
        """Spikes this rank's neurons emitted since the engine was made."""
        ...

    def phase_times(self) -> tuple[float, float]:
        """Wall seconds spent (updating neurons, delivering spikes) since it was made."""
        ...

    def get_state(self, population: int, variable: int) -> FloatArray:
        """State variable ``variable`` of this rank's neurons of the population."""
        ...

    def synapse_footprint(self) -> tuple[int, int]:
        """(synapses held, bytes they take) on this rank."""
        ...

    def source_gids(self) -> U32Array:
        """The global ids of the neurons that have synapses on this rank, ascending."""
        ...

    # Checkpoints (``checkpoint.py``): the state comes back as the populations' start state;
    # the step and the input already buffered are set before the first step.

    def longest_delay(self) -> int:
        """The longest delay (steps) of the synapses on this rank, 0 without synapses: input
        is buffered at most this many steps ahead."""
        ...

    def start_at(self, step: int) -> None:
        """Makes ``step`` the next step to compute; only before the first step."""
        ...

    def get_input(self, population: int, lags: int) -> FloatArray:
        """The input buffered for this rank's neurons of the population for the steps
        ``step .. step + lags``: an array (receptors, lags, local neurons)."""
        ...

    def add_input(self, population: int, values: FloatArray) -> None:
        """Adds ``values`` (as ``get_input`` gives them) to the buffered input."""
        ...
