"""Declarations in the engine's terms: a projection as an ``_engine.ProjectionSpec``, its
weight and delay as value rules (delays in steps of ``dt``), and the exchange interval those
delays allow.

Pure functions of the layout, ``dt`` and the seed, the same on every rank; nothing here
draws a synapse (the engine does, from the spec) or holds per-neuron data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _engine, rng, time_steps
from .distributions import Normal, Uniform
from .errors import NetworkError
from .layout import Layout

#: Exchange interval (steps) when the network has no projections.
DEFAULT_INTERVAL = 100


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


def delay_steps_rule(delay: Any, dt: float, where: str) -> tuple[ValueRule, int, int | None]:
    """(rule in steps, smallest possible delay in steps, largest in steps or None if
    unbounded) of a delay declared in seconds.

    A delay, or a distribution's lower bound, shorter than ``dt`` is an error; a Normal
    without a lower bound is clipped at ``dt``. A given delay becomes the whole steps NEST
    would make of it (``time_steps.delay_steps``).
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
    # Given delays are rounded to steps as NEST rounds them (time_steps.delay_steps); drawn
    # ones are drawn in steps and rounded to the nearest step by the engine.
    if np.ndim(delay) == 0:
        check(float(delay), "")
        steps = max(1, int(time_steps.delay_steps(float(delay), dt)))
        return ValueRule("constant", (float(steps),)), steps, steps
    seconds = np.asarray(delay, dtype=np.float64)
    if seconds.size:
        check(float(seconds.min()), "minimum")
    in_steps = np.maximum(time_steps.delay_steps(seconds, dt), 1)
    low = int(in_steps.min()) if seconds.size else 1
    high = int(in_steps.max()) if seconds.size else 1
    return ValueRule("per_connection", values=in_steps.astype(np.float64)), low, high


def projection_spec(layout: Layout, index: int, dt: float, seed: int
                    ) -> tuple[_engine.ProjectionSpec, int, int | None]:
    """The engine spec of projection ``index`` and its delay bounds in steps."""
    proj = layout.projections[index]
    pre, post = layout.index(proj.pre), layout.index(proj.post)
    where = f"projection {index} ({proj.pre.name} -> {proj.post.name})"
    delay_steps, low_steps, high_steps = delay_steps_rule(proj.delay, dt, where)
    if high_steps is not None and high_steps > _engine.MAX_DELAY_STEPS:
        raise NetworkError(f"{where}: delay of {high_steps} steps exceeds the limit of "
                           f"{_engine.MAX_DELAY_STEPS} steps")
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
        delay_kind=delay_steps.kind, delay_params=list(delay_steps.params),
        delay_values=delay_steps.values, keys=keys,
    )
    return spec, low_steps, high_steps


def exchange_interval(layout: Layout, dt: float) -> tuple[int, int]:
    """(interval = smallest delay of any projection, largest bounded delay), both in steps."""
    lows, highs = [DEFAULT_INTERVAL], [0]
    for i, proj in enumerate(layout.projections):
        _, low_steps, high_steps = delay_steps_rule(
            proj.delay, dt, f"projection {i} ({proj.pre.name} -> {proj.post.name})")
        lows.append(low_steps)
        highs.append(high_steps or 0)
    return min(lows), max(highs)
