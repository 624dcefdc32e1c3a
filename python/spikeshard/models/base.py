"""The neuron model interface: a parameter spec, state variables, constants and a numpy kernel.

A model is a class (users pass the class itself: ``Population(LIF, n=100)``). It declares

- ``parameters``: every parameter with its default, unit and allowed range;
- ``state_variables``: the per-neuron arrays, in the order both engines store them;
- ``constants(params, dt)``: the numbers the kernels need (propagators, thresholds), by name,
  computed once in Python so that the Rust and numpy engines use identical values (the Rust
  kernel reads each constant by its name and refuses missing or unknown names);
- ``update(...)``: the numpy kernel, advancing all neurons of a block by one step. It is the
  executable specification that the Rust kernel named ``rust_kernel`` must reproduce.

A user-written model that sets ``rust_kernel = None`` runs on the numpy engine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from .. import time_steps, units
from ..arrays import FloatArray
from ..errors import ModelError

#: A kernel's constants by name (``NeuronModel.constants``).
KernelConstants = dict[str, float]


@dataclass(frozen=True)
class Parameter:
    """One model parameter: default value, unit, the open/closed range it must lie in, and
    the range of magnitudes it plausibly has in its unit.

    ``plausible = (low, high)``: a value whose magnitude is below ``low`` or ``high`` or more
    (either may be None; zero always passes) is almost certainly in another unit — a time
    constant of 10 "seconds" is NEST's 10 ms — and raises ``units.UnitError`` saying what
    was probably meant, unless the user states the unit (``ss.seconds(10.0)``). Time
    constants and refractory periods use ``plausible=units.TIME_CONSTANT``.
    """

    name: str
    default: float
    unit: str
    doc: str
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    #: Whether +-inf is a meaningful value (e.g. "no lower bound").
    allow_infinite: bool = False
    plausible: tuple[float | None, float | None] | None = None

    def validate(self, value: object, model: str) -> float:
        """Returns ``value`` as a float, or raises naming the model, parameter and range."""
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ModelError(
                f"{model} parameter {self.name!r} = {value!r}: expected a real number "
                f"in {self.unit}"
            )
        number = float(value)
        if math.isnan(number) or (math.isinf(number) and not self.allow_infinite):
            raise ModelError(
                f"{model} parameter {self.name!r} = {number!r}: expected a finite number "
                f"in {self.unit}"
            )
        too_low = self.low is not None and (
            number < self.low or (number == self.low and not self.low_inclusive)
        )
        too_high = self.high is not None and (
            number > self.high or (number == self.high and not self.high_inclusive)
        )
        if too_low or too_high:
            raise ModelError(
                f"{model} parameter {self.name!r} = {number!r} {self.unit}: expected a value "
                f"in {self._range_text()}"
            )
        if self.plausible is not None:
            units.check_plausible(f"{model} parameter", self.name, value, self.unit,
                                  *self.plausible)
        return number

    def _range_text(self) -> str:
        left = "-inf" if self.low is None else repr(self.low)
        right = "inf" if self.high is None else repr(self.high)
        left_bracket = "[" if self.low_inclusive and self.low is not None else "("
        right_bracket = "]" if self.high_inclusive and self.high is not None else ")"
        return f"{left_bracket}{left}, {right}{right_bracket}"


@dataclass(frozen=True)
class StateVariable:
    """A per-neuron state array; ``initial`` names the parameter giving its start value, or
    is a number."""

    name: str
    unit: str
    doc: str
    initial: str | float = 0.0


@dataclass
class StepContext:
    """What a kernel may know about the step besides state and input."""

    step: int
    dt: float
    gids: npt.NDArray[np.uint32]
    key: int
    #: Current injected by current sources (``StepCurrent``, ``DCSource``) during this step,
    #: per neuron, in the model's ``current_unit``; None when the population has none.
    current: FloatArray | None = None
    extra: dict[str, object] = field(default_factory=dict)


class NeuronModel:
    """Base class of all neuron models. Subclass it to write a model of your own."""

    #: Short model name used in messages and as the Rust kernel's name.
    name: ClassVar[str] = "model"
    parameters: ClassVar[tuple[Parameter, ...]] = ()
    state_variables: ClassVar[tuple[StateVariable, ...]] = ()
    #: Name of the Rust kernel implementing this model, or None for numpy only.
    rust_kernel: ClassVar[str | None] = None
    #: Unit of a synaptic weight onto this model.
    weight_unit: ClassVar[str] = ""
    #: Whether spikes carry a sub-step time (the kernel returns offsets).
    precise_spike_times: ClassVar[bool] = False
    #: Whether the model accepts synaptic input at all (a Poisson source does not).
    receives_input: ClassVar[bool] = True
    #: Input channels: 2 (positive weights → ``input_ex``, negative → ``input_in``) or 1
    #: (all weights summed into ``input_ex``; ``input_in`` is then empty).
    receptors: ClassVar[int] = 2
    #: Cost of one neuron update relative to a LIF neuron (for work-balanced partitions).
    relative_cost: ClassVar[float] = 1.0
    #: Unit of an injected current (``StepCurrent``, ``DCSource``, ``i_e``), or None if the
    #: model takes no current (``update`` then never gets ``ctx.current``).
    current_unit: ClassVar[str | None] = "pA"

    @classmethod
    def parameter_names(cls) -> tuple[str, ...]:
        return tuple(p.name for p in cls.parameters)

    @classmethod
    def state_names(cls) -> tuple[str, ...]:
        return tuple(s.name for s in cls.state_variables)

    @classmethod
    def resolve_params(cls, params: Mapping[str, object] | None) -> dict[str, float]:
        """Defaults overridden by ``params``; unknown names and bad values raise ModelError."""
        given = dict(params or {})
        known = {p.name: p for p in cls.parameters}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ModelError(
                f"{cls.__name__} has no parameter {unknown[0]!r}; "
                f"its parameters are {sorted(known)}"
            )
        resolved = {
            name: spec.validate(given.get(name, spec.default), cls.__name__)
            for name, spec in known.items()
        }
        cls.check_params(resolved)
        return resolved

    @classmethod
    def check_params(cls, params: Mapping[str, float]) -> None:
        """Cross-parameter checks (e.g. reset below threshold); raise ModelError."""

    @classmethod
    def initial_values(cls, params: Mapping[str, float]) -> dict[str, float]:
        """The scalar start value of every state variable."""
        return {
            s.name: float(params[s.initial]) if isinstance(s.initial, str) else float(s.initial)
            for s in cls.state_variables
        }

    @classmethod
    def check_dt(cls, params: Mapping[str, float], dt: float) -> None:
        """Raise ModelError if the model cannot run at ``dt`` (seconds)."""

    @classmethod
    def constants(cls, params: Mapping[str, float], dt: float) -> KernelConstants:
        """The kernel constants for step ``dt`` (seconds), by name: what ``update`` (and the
        Rust kernel, which reads them by these names) needs."""
        raise NotImplementedError(f"{cls.__name__}.constants")

    @classmethod
    def update(
        cls,
        constants: KernelConstants,
        state: list[FloatArray],
        input_ex: FloatArray,
        input_in: FloatArray,
        ctx: StepContext,
    ) -> tuple[npt.NDArray[np.bool_], FloatArray | None]:
        """Advances all neurons by one step, in place.

        ``input_ex``/``input_in`` hold this step's summed synaptic input per receptor
        (``input_in`` is empty for one-receptor models). Returns the spike flags and, for
        models with precise spike times, the time of each crossing in seconds from the start
        of the step (else None).
        """
        raise NotImplementedError(f"{cls.__name__}.update")


def refractory_steps(t_ref: float, dt: float) -> float:
    """Whole steps of a refractory period, counted as NEST counts them (t_ref on NEST's
    1 µs grid, rounded up to whole steps: ``time_steps.refractory_steps``)."""
    return float(time_steps.refractory_steps(t_ref, dt))
