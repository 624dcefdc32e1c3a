"""Building one rank's share of a network: turns the declarations into engine calls.

Everything here is computed the same way on every rank without communication: global ids
(populations numbered in the order they were added), random-stream keys (from the seed and
each object's index) and the exchange interval (the smallest delay any projection allows).
A rank then adds only its own neurons and the synapses that end on them.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _engine, rng
from .distributions import Normal, Uniform
from .engines import Engine
from .errors import NetworkError
from .monitors import SpikeMonitor, StateMonitor
from .population import Population
from .projection import Projection
from .stimuli import PoissonInput

U32Array = npt.NDArray[np.uint32]

#: Exchange interval (steps) when the network has no projections.
DEFAULT_INTERVAL = 100
_MAX_GIDS = 2**32 - 1


@dataclass
class Layout:
    """The network as every rank sees it: ordered objects and global id ranges."""

    populations: list[Population]
    first_gid: list[int]
    projections: list[Projection]
    stimuli: list[PoissonInput]
    spike_monitors: list[SpikeMonitor]
    state_monitors: list[StateMonitor]

    def index(self, population: Population) -> int:
        for i, p in enumerate(self.populations):
            if p is population:
                return i
        raise NetworkError(
            f"{population!r} is used by a projection, stimulus or monitor but was not added "
            "to the network"
        )

    @property
    def n_neurons(self) -> int:
        return sum(p.n for p in self.populations)


def make_layout(objects: Iterable[Any]) -> Layout:
    """Sorts declared objects by kind (keeping their order) and checks references."""
    layout = Layout([], [], [], [], [], [])
    kinds: list[tuple[type, list[Any]]] = [
        (Population, layout.populations), (Projection, layout.projections),
        (PoissonInput, layout.stimuli), (SpikeMonitor, layout.spike_monitors),
        (StateMonitor, layout.state_monitors),
    ]
    for obj in objects:
        for kind, bucket in kinds:
            if isinstance(obj, kind):
                if not any(o is obj for o in bucket):
                    bucket.append(obj)
                break
        else:
            raise NetworkError(
                f"cannot add {obj!r} to a Network: expected Population, Projection, "
                "PoissonInput, SpikeMonitor or StateMonitor"
            )
    gid = 0
    for pop in layout.populations:
        layout.first_gid.append(gid)
        gid += pop.n
    if gid > _MAX_GIDS:
        raise NetworkError(f"the network has {gid} neurons: at most {_MAX_GIDS} are supported")
    for proj in layout.projections:
        layout.index(proj.pre), layout.index(proj.post)
    for source in [m.source for m in layout.spike_monitors]:
        layout.index(source)
    for source in [m.source for m in layout.state_monitors]:
        layout.index(source)
    for stim in layout.stimuli:
        layout.index(stim.resolve_target(layout.populations))
    return layout


def _describe(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape,
                hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest())
    if isinstance(value, Population):
        return ("population", value.label, value.n)
    return repr(value)


def fingerprint(layout: Layout, seed: int, dt: float) -> str:
    """A hash of everything that defines the network, to check all ranks build the same."""
    parts: list[Any] = [seed, repr(dt)]
    for pop in layout.populations:
        parts.append((pop.model.__module__, pop.model.__qualname__, pop.n, pop.label,
                      sorted(pop.params.items()),
                      sorted((k, _describe(v)) for k, v in pop.initial.items())))
    for proj in layout.projections:
        parts.append((layout.index(proj.pre), layout.index(proj.post), proj.topology,
                      proj.probability, proj.degree, proj.allow_autapses, proj.allow_multapses,
                      _describe(proj.pre_ids), _describe(proj.post_ids),
                      _describe(proj.weight), _describe(proj.delay)))
    for stim in layout.stimuli:
        target = stim.resolve_target(layout.populations)
        parts.append((layout.index(target), stim.rate_hz, stim.weight, stim.n))
    for mon in layout.spike_monitors:
        parts.append(("spikes", layout.index(mon.source), _describe(mon.record)))
    for smon in layout.state_monitors:
        parts.append(("state", layout.index(smon.source), smon.variables,
                      _describe(smon.record)))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


# ---------------------------------------------------------------- weights and delays


def _round_steps(steps: float) -> int:
    """Rounds half away from zero, as Rust's f64::round (delays are positive)."""
    return int(math.floor(steps + 0.5))


@dataclass(frozen=True)
class ValueRule:
    """A weight or delay rule in the engine's terms (delays in steps)."""

    kind: str
    params: tuple[float, ...] = ()
    values: npt.NDArray[np.float64] | None = None


def weight_rule(weight: Any) -> ValueRule:
    if isinstance(weight, Uniform):
        return ValueRule("uniform", (weight.low, weight.high))
    if isinstance(weight, Normal):
        return ValueRule("normal", (weight.mean, weight.std, weight.low, weight.high))
    if np.ndim(weight) == 0:
        return ValueRule("constant", (float(weight),))
    return ValueRule("per_connection", values=np.asarray(weight, dtype=np.float64))


def delay_rule(delay: Any, dt: float, where: str) -> tuple[ValueRule, int, int | None]:
    """(rule in steps, smallest possible delay in steps, largest or None if unbounded).

    A delay, or a distribution's lower bound, shorter than ``dt`` is an error; a Normal
    without a lower bound is clipped at ``dt``.
    """
    tolerance = 1e-9

    def check(low: float, text: str) -> None:
        if low < dt * (1 - tolerance):
            raise NetworkError(
                f"{where}: delay{' ' + text if text else ''} = {low!r} s is shorter than the "
                f"time step dt = {dt!r} s; delays must be at least one step"
            )

    if delay is None:
        return ValueRule("constant", (1.0,)), 1, 1
    if isinstance(delay, Uniform):
        check(delay.low, "lower bound")
        return (ValueRule("uniform", (delay.low / dt, delay.high / dt)),
                max(1, _round_steps(delay.low / dt)), _round_steps(delay.high / dt))
    if isinstance(delay, Normal):
        low = dt if delay.low == -math.inf else delay.low
        check(low, "lower bound")
        high = None if delay.high == math.inf else _round_steps(delay.high / dt)
        return (ValueRule("normal", (delay.mean / dt, delay.std / dt, low / dt,
                                     delay.high / dt)),
                max(1, _round_steps(low / dt)), high)
    if np.ndim(delay) == 0:
        check(float(delay), "")
        steps = _round_steps(float(delay) / dt)
        return ValueRule("constant", (float(delay) / dt,)), steps, steps
    seconds = np.asarray(delay, dtype=np.float64)
    if seconds.size:
        check(float(seconds.min()), "minimum")
    in_steps = seconds / dt
    low = max(1, _round_steps(float(in_steps.min()))) if seconds.size else 1
    high = _round_steps(float(in_steps.max())) if seconds.size else 1
    return ValueRule("per_connection", values=in_steps), low, high


def projection_spec(layout: Layout, index: int, dt: float, seed: int
                    ) -> tuple[_engine.ProjectionSpec, int, int | None]:
    """The engine spec of projection ``index`` and its delay bounds in steps."""
    proj = layout.projections[index]
    pre, post = layout.index(proj.pre), layout.index(proj.post)
    where = f"projection {index} ({proj.pre.name} -> {proj.post.name})"
    delay, low, high = delay_rule(proj.delay, dt, where)
    if high is not None and high > 65535:
        raise NetworkError(f"{where}: delay of {high} steps exceeds the limit of 65535 steps")
    weight = weight_rule(proj.weight)
    keys = (rng.derive_key(seed, rng.Purpose.CONNECT, index),
            rng.derive_key(seed, rng.Purpose.WEIGHT, index),
            rng.derive_key(seed, rng.Purpose.DELAY, index))
    spec = _engine.ProjectionSpec(
        index=index, pre_first_gid=layout.first_gid[pre], pre_n=proj.pre.n,
        post_n=proj.post.n, same_population=pre == post,
        allow_autapses=proj.allow_autapses, rule=proj.topology,
        probability=proj.probability, degree=proj.degree, multapses=proj.allow_multapses,
        pre_ids=proj.pre_ids, post_ids=proj.post_ids,
        weight_kind=weight.kind, weight_params=list(weight.params), weight_values=weight.values,
        delay_kind=delay.kind, delay_params=list(delay.params), delay_values=delay.values,
        keys=keys,
    )
    return spec, low, high


def exchange_interval(layout: Layout, dt: float) -> tuple[int, int]:
    """(interval in steps = smallest delay of any projection, largest bounded delay)."""
    lows, highs = [DEFAULT_INTERVAL], [0]
    for i, proj in enumerate(layout.projections):
        _, low, high = delay_rule(proj.delay, dt,
                                  f"projection {i} ({proj.pre.name} -> {proj.post.name})")
        lows.append(low)
        highs.append(high or 0)
    return min(lows), max(highs)


# ---------------------------------------------------------------- per-rank build


def initial_state(pop: Population, index: int, locals_: U32Array, seed: int
                  ) -> list[npt.NDArray[np.float64]]:
    """Start values of a population's state variables for the given local ids."""
    defaults = pop.model.initial_values(pop.params)
    state = []
    for v, name in enumerate(pop.model.state_names()):
        value = pop.initial.get(name, defaults[name])
        if isinstance(value, (Uniform, Normal)):
            key = rng.derive_key(seed, rng.Purpose.INITIAL, index * 1024 + v)
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
    spike_recording: dict[int, int]  # layout population index -> engine population
    recorders: list[tuple[StateMonitor, str, int]] = field(default_factory=list)
    local_synapses: int = 0


def build_rank(layout: Layout, dt: float, seed: int, engine: Engine,
               owned: Callable[[int, Population], U32Array]) -> BuiltRank:
    """Adds this rank's neurons, synapses, drives and recorders to ``engine``."""
    interval, max_delay = exchange_interval(layout, dt)
    engine_population = []
    for i, pop in enumerate(layout.populations):
        pop.model.check_dt(pop.params, dt)
        locals_ = owned(i, pop)
        engine_population.append(engine.add_population(
            pop.model, pop.model.constants(pop.params, dt),
            rng.derive_key(seed, rng.Purpose.SOURCE, i), layout.first_gid[i], pop.n, locals_,
            initial_state(pop, i, locals_, seed)))
    built = BuiltRank(engine, layout, dt, interval, engine_population, {})
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
    for mon in layout.spike_monitors:
        i = layout.index(mon.source)
        if i not in built.spike_recording:
            engine.record_spikes(engine_population[i])
            built.spike_recording[i] = engine_population[i]
    for smon in layout.state_monitors:
        i = layout.index(smon.source)
        names = smon.source.model.state_names()
        for var in smon.variables:
            recorder = engine.add_recorder(engine_population[i], names.index(var),
                                           smon.record.astype(np.uint32))
            built.recorders.append((smon, var, recorder))
    engine.prepare(interval, max_delay)
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
