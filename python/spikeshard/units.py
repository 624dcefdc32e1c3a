"""Units: every value with a unit has exactly one, documented where the value is declared.

=============  =====================================================================
quantity       unit
=============  =====================================================================
time           seconds (``dt``, ``duration``, delays, time constants, ``t_ref``)
rate           Hz
voltage        mV
current        pA (LIF; the Hodgkin–Huxley model takes µA/cm²)
capacitance    pF (LIF; the Hodgkin–Huxley model takes µF/cm²)
conductance    nS
=============  =====================================================================

A value that is almost certainly in another unit — NEST's habit of milliseconds (``tau_m=10``,
``dt=0.1``, ``delay=1.5``) or SI farads (``c_m=250e-12``) — is refused with an error saying
which unit was expected and what was probably meant. Each model parameter declares its own
plausible range (``Parameter(..., plausible=(low, high))``); ``dt`` and delays have theirs
here. A value outside it is accepted when the user states its unit with one of the helpers
below, which return the value in spikeshard's unit marked as deliberate::

    ss.Population(ss.models.LIF, 10, params={"tau_m": ss.seconds(2.0)})  # a slow neuron
    net.run(1.0, dt=ss.ms(0.1))                                          # = 0.0001 s

Declarations only: nothing here imports an engine or talks MPI.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import SpikeshardError

#: Milliseconds per second: models that integrate in ms (as NEST) convert ``dt`` with it.
MS_PER_S = 1000.0
#: ``dt`` of this many seconds or more is almost certainly NEST's milliseconds.
DT_PLAUSIBLE_BELOW_S = 0.01
#: Plausible magnitudes of a time constant or refractory period in seconds: below one second.
TIME_CONSTANT: tuple[float | None, float | None] = (None, 1.0)
#: Plausible magnitudes of a capacitance in pF (below 0.001 pF is farads).
CAPACITANCE_PF: tuple[float | None, float | None] = (1e-3, None)
#: A delay above this many seconds is almost certainly in milliseconds.
DELAY_PLAUSIBLE_UP_TO_S = 1.0


class UnitError(SpikeshardError, ValueError):
    """A value is almost certainly given in another unit than the one spikeshard takes."""


class Explicit(float):
    """A number whose unit the user stated (``ss.seconds(2.0)``): spikeshard's unit, taken
    as meant even where it is unusual."""

    unit: str = ""

    def __repr__(self) -> str:
        return f"{float(self)!r} {self.unit}".rstrip()


class ExplicitArray(np.ndarray):
    """An array whose unit the user stated (``ss.seconds([1.0, 2.0])``)."""

    unit: str = ""


def _explicit(value: Any, factor: float, unit: str) -> Any:
    if np.ndim(value) == 0:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                             np.floating)):
            raise UnitError(f"{value!r}: expected a number (of {unit})")
        number = Explicit(float(value) * factor)
        number.unit = unit
        return number
    array = (np.asarray(value, dtype=np.float64) * factor).view(ExplicitArray)
    array.unit = unit
    return array


def seconds(value: Any) -> Any:
    """``value`` seconds, taken as meant even where unusual (a time constant of 2 s)."""
    return _explicit(value, 1.0, "s")


def ms(value: Any) -> Any:
    """``value`` milliseconds, in seconds (``ms(1.5) == 0.0015``)."""
    return _explicit(value, 1e-3, "s")


def us(value: Any) -> Any:
    """``value`` microseconds, in seconds."""
    return _explicit(value, 1e-6, "s")


def mV(value: Any) -> Any:  # noqa: N802 (the unit's own spelling)
    """``value`` millivolts, taken as meant."""
    return _explicit(value, 1.0, "mV")


def pA(value: Any) -> Any:  # noqa: N802
    """``value`` picoamperes, taken as meant."""
    return _explicit(value, 1.0, "pA")


def pF(value: Any) -> Any:  # noqa: N802
    """``value`` picofarads, taken as meant."""
    return _explicit(value, 1.0, "pF")


def nS(value: Any) -> Any:  # noqa: N802
    """``value`` nanosiemens, taken as meant."""
    return _explicit(value, 1.0, "nS")


def hz(value: Any) -> Any:
    """``value`` hertz, taken as meant."""
    return _explicit(value, 1.0, "Hz")


def is_explicit(value: Any) -> bool:
    """Whether the user stated the unit of ``value`` (a number or array from a helper here,
    or a distribution whose bounds came from one)."""
    if isinstance(value, (Explicit, ExplicitArray)):
        return True
    bounds = getattr(value, "bounds", None)
    return bounds is not None and any(isinstance(b, Explicit) for b in
                                      (*bounds, getattr(value, "mean", None)))


#: What a value outside its range was probably meant as: (unit, outside above?) ->
#: (the unit it looks like, factor from that unit to ours, the helper that takes it).
_LIKELY_UNITS: dict[tuple[str, bool], tuple[str, float, str | None]] = {
    ("s", True): ("milliseconds (NEST's unit)", 1e-3, "ss.ms"),
    ("pF", False): ("farads", 1e12, None),
    ("nS", False): ("siemens", 1e9, None),
    ("pA", False): ("amperes", 1e12, None),
    ("mV", False): ("volts", 1e3, None),
}

#: The helper that states each unit, as a user spells it (time's are exported at the top).
_HELPER_OF_UNIT = {"s": "ss.seconds", "mV": "ss.units.mV", "pA": "ss.units.pA",
                   "pF": "ss.units.pF", "nS": "ss.units.nS", "Hz": "ss.units.hz"}


def check_plausible(what: str, name: str, value: Any, unit: str, low: float | None,
                    high: float | None, *, high_inclusive: bool = False) -> None:
    """Raises UnitError if ``value`` (a number, an array, or a distribution's bounds and
    mean) has a magnitude outside ``[low, high)`` (``[low, high]`` with ``high_inclusive``) in
    ``unit`` and the user did not state its unit. Zero is always plausible. ``what`` names
    the declaration (e.g. "LIF parameter")."""
    if is_explicit(value):
        return
    magnitudes = [abs(x) for x in _typical_numbers(value) if math.isfinite(x) and x != 0.0]
    if not magnitudes:
        return
    biggest, smallest = max(magnitudes), min(magnitudes)
    above = high is not None and (biggest > high if high_inclusive else biggest >= high)
    below = low is not None and smallest < low
    if not (above or below):
        return
    if above:
        limit = (f"above {_fmt(high)} {unit}" if high_inclusive
                 else f"of {_fmt(high)} {unit} or more")
    else:
        limit = f"below {_fmt(low)} {unit} in magnitude"
    scalar = np.ndim(value) == 0 and getattr(value, "bounds", None) is None
    shown = _fmt(float(value)) if scalar else _describe(value)
    message = (f"{what} {name} = {shown}".lstrip()
               + f": spikeshard takes {name} in {unit}, and a value {limit} is almost "
               "certainly in another unit.")
    likely = _LIKELY_UNITS.get((unit, above))
    helper = _HELPER_OF_UNIT.get(unit)
    if likely is not None:
        meant, factor, from_helper = likely
        if scalar:
            message += f" If you wrote {meant}, write {name}={_fmt(float(value) * factor)}"
            message += f" (or {from_helper}({shown}))." if from_helper else "."
        else:
            message += f" If you wrote {meant}, multiply by {factor:g}"
            message += f" ({from_helper} does)." if from_helper else "."
    if helper is not None:
        if scalar:
            message += f" If you do mean {shown} {unit}, write {helper}({shown})."
        else:
            message += (f" If you do mean {unit}, pass the values through {helper}(...) "
                        "(a distribution: its bounds).")
    raise UnitError(message)


def _typical_numbers(value: Any) -> list[float]:
    """The numbers a value stands for: itself, an array's entries' extremes, or a
    distribution's bounds and mean."""
    if np.ndim(value) > 0:
        array = np.abs(np.asarray(value, dtype=np.float64))
        array = array[np.isfinite(array) & (array != 0.0)]
        return [float(array.min()), float(array.max())] if array.size else []
    bounds = getattr(value, "bounds", None)
    if bounds is not None:
        mean = getattr(value, "mean", None)
        return [float(x) for x in (*bounds, *(() if mean is None else (mean,)))]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return []
    return [float(value)]


def _describe(value: Any) -> str:
    if np.ndim(value) > 0:
        return f"an array of magnitude up to {_fmt(float(np.abs(np.asarray(value)).max()))}"
    return repr(value)


def _fmt(number: float | None) -> str:
    return "None" if number is None else f"{number:.6g}"


def check_dt(what: str, dt: Any) -> None:
    """A time step of 0.01 s or more is almost certainly milliseconds."""
    check_plausible(what, "dt", dt, "s", None, DT_PLAUSIBLE_BELOW_S)


def check_delay(delay: Any) -> None:
    """A delay above a second is almost certainly milliseconds."""
    check_plausible("Projection", "delay", delay, "s", None, DELAY_PLAUSIBLE_UP_TO_S,
                    high_inclusive=True)
