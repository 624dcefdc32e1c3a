"""Stimuli: inputs declared on populations, generated inside the engine per step."""

from __future__ import annotations

from . import _validate, units
from .errors import NetworkError
from .population import Population


class PoissonInput:
    """Independent Poisson spike trains into each of some neurons of a population.

    Every driven neuron receives its own Poisson train of rate ``rate_hz``; each input spike
    adds ``weight`` (in the target model's weight unit) to the neuron's input in the step it
    falls in (no delay). Drawn from the network seed with a counter-based generator, so the
    input is the same on any number of ranks.

    Parameters
    ----------
    target : Population, optional
        The driven population. If omitted (as in SC-NeuroCore's tutorial), the input drives
        the first ``n`` neurons of the **first population added to the network**.
    rate_hz : float
        Rate of each neuron's input train, in Hz (>= 0).
    weight : float
        Weight of one input spike (positive excites, negative inhibits).
    n : int, optional
        Drive only population-local neurons ``0 .. n-1`` (default: all of ``target``).
    dt : float, optional
        Accepted for compatibility with SC-NeuroCore; must equal the network's ``dt`` when
        given (seconds).
    label : str, optional
    """

    def __init__(
        self,
        target: Population | None = None,
        rate_hz: float = 0.0,
        weight: float = 1.0,
        n: int | None = None,
        dt: float | None = None,
        label: str | None = None,
    ) -> None:
        if target is not None and not isinstance(target, Population):
            raise NetworkError(f"target = {target!r}: expected a Population or None")
        self.target = target
        self.rate_hz = _validate.real("rate_hz", rate_hz, low=0.0)
        self.weight = _validate.real("weight", weight)
        self.n = None if n is None else _validate.count("n", n, minimum=1)
        if target is not None and self.n is not None and self.n > target.n:
            raise NetworkError(f"n = {self.n}: target {target.name} has only {target.n} neurons")
        if target is not None and not target.model.receives_input:
            raise NetworkError(f"target = {target.name}: its model takes no input")
        self.dt = None if dt is None else _validate.real("dt", dt, low=0.0, low_open=True)
        if dt is not None:
            units.check_dt("PoissonInput", dt)
        self.label = _validate.label(label)

    def resolve_target(self, populations: list[Population]) -> Population:
        """The driven population: ``target`` or the network's first population."""
        if self.target is not None:
            return self.target
        if not populations:
            raise NetworkError("PoissonInput without target needs a population in the network")
        first = populations[0]
        if self.n is not None and self.n > first.n:
            raise NetworkError(
                f"PoissonInput n = {self.n}: the first population {first.name} has only "
                f"{first.n} neurons"
            )
        return first

    def check_dt(self, dt: float) -> None:
        if self.dt is not None and abs(self.dt - dt) > 1e-12 * max(dt, self.dt):
            raise NetworkError(
                f"PoissonInput dt = {self.dt!r} differs from the network's dt = {dt!r}"
            )

    def __repr__(self) -> str:
        return f"PoissonInput(rate_hz={self.rate_hz}, weight={self.weight}, n={self.n})"
