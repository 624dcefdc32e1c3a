"""Building one rank's share of a network: turns the declarations into engine calls.

Everything here is computed the same way on every rank without communication: global ids
(from the layout), random-stream keys (from the seed and each object's index) and the
exchange interval (from the specs). A rank then adds only its own neurons and the synapses
that end on them. It calls the engine through its protocol and never talks MPI; the ranks'
agreement on the interval is gathered by the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import rng
from .arrays import FloatArray, U32Array
from .distributions import Normal, Uniform
from .engines import Engine
from .layout import Layout
from .population import Population
from .recording import Recording, plan_recording
from .specs import exchange_interval, projection_spec
from .timing import Timers


def initial_state(pop: Population, index: int, locals_: U32Array, seed: int
                  ) -> list[FloatArray]:
    """Start values of a population's state variables for the given local ids."""
    defaults = pop.model.initial_values(pop.params)
    state = []
    for v, name in enumerate(pop.model.state_names()):
        value = pop.initial.get(name, defaults[name])
        if isinstance(value, (Uniform, Normal)):
            key = rng.initial_value_key(seed, index, v)
            state.append(value.draw(key, locals_))
        elif np.ndim(value) == 0:
            state.append(np.full(len(locals_), float(value)))
        else:
            state.append(np.asarray(value, dtype=np.float64)[locals_])
    return state


@dataclass
class BuiltRank:
    """A rank's engine with the bookkeeping the run loop needs."""

    engine: Engine
    layout: Layout
    dt: float
    interval: int
    engine_population: list[int]
    recording: Recording
    local_synapses: int = 0
    #: This rank's time per phase, and every rank's as gathered after the last run.
    timers: Timers = field(default_factory=Timers)
    timers_per_rank: list[Timers] = field(default_factory=list)


def build_rank(layout: Layout, dt: float, seed: int, engine: Engine,
               owned: Callable[[int, Population], U32Array]) -> BuiltRank:
    """Adds this rank's neurons, synapses, drives and recorders to ``engine``."""
    interval, max_delay_steps = exchange_interval(layout, dt)
    engine_population = []
    for i, pop in enumerate(layout.populations):
        pop.model.check_dt(pop.params, dt)
        locals_ = owned(i, pop)
        engine_population.append(engine.add_population(
            pop.model, pop.model.constants(pop.params, dt),
            rng.derive_key(seed, rng.Purpose.SOURCE, i), layout.first_gid[i], pop.n, locals_,
            initial_state(pop, i, locals_, seed)))
    built = BuiltRank(engine, layout, dt, interval, engine_population,
                      Recording(layout, dt, []))
    for j, proj in enumerate(layout.projections):
        spec, _, _ = projection_spec(layout, j, dt, seed)
        built.local_synapses += engine.add_projection(
            engine_population[layout.index(proj.post)], spec)
    for k, stim in enumerate(layout.stimuli):
        stim.check_dt(dt)
        target = stim.resolve_target(layout.populations)
        ids = np.arange(stim.n if stim.n is not None else target.n, dtype=np.uint32)
        n_chunks, cdf = rng.poisson_chunks(stim.rate_hz * dt)
        engine.add_drive(engine_population[layout.index(target)], ids, stim.weight,
                         rng.derive_key(seed, rng.Purpose.DRIVE, k), n_chunks, cdf)
    plans = plan_recording(layout, engine, engine_population,
                           lambda i: owned(i, layout.populations[i]), dt)
    built.recording = Recording(layout, dt, plans)
    engine.prepare(interval, max_delay_steps)
    return built


def agree_on_interval(built: BuiltRank, longest_per_rank: list[int | None]) -> None:
    """Lengthens the exchange interval to the longest that every rank's engine allows, given
    each rank's ``Engine.longest_interval()`` (None: no synapses there, so no limit). Where
    every engine completes an interval's last step after its spikes are delivered (Rust,
    LIF), that is one step more than the smallest delay: fewer exchanges, the same results."""
    limits = [longest for longest in longest_per_rank if longest is not None]
    if limits and min(limits) > built.interval:
        built.interval = min(limits)
        built.engine.prepare(built.interval, exchange_interval(built.layout, built.dt)[1])
