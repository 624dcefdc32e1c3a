"""``Izhikevich``: the Izhikevich (2003) neuron as NEST's ``izhikevich`` model computes it,
a discrete map with one forward-Euler step per ``dt``, so the Rust kernel, this numpy kernel
and NEST agree to the last bit."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from .. import units
from .base import FloatArray, KernelConstants, NeuronModel, Parameter, StateVariable, StepContext


class Izhikevich(NeuronModel):
    """Izhikevich (2003) neuron, NEST's ``izhikevich`` (``consistent_integration = True``).

    With ``h = dt`` in ms, every step::

        v <- v + h (0.04 v² + 5 v + 140 - u + I + i_e) + input
        u <- u + h a (b v_old - u_old)          (both from the values before the step)
        v <- max(v, v_min)
        if v >= v_th: spike; v <- c; u <- u + d

    Parameters (units as NEST): ``a``, ``b`` (dimensionless, per ms and per mV in the 2003
    paper), ``c`` (mV, reset), ``d`` (mV, added to u at a spike), ``i_e`` (pA: the equation's
    current, in mV/ms), ``v_th`` (mV, 30), ``v_min`` (mV, lower bound, default none).

    Synaptic weights are jumps of ``v`` in **mV**, added in the step they arrive (one
    receptor: positive and negative weights summed). Injected currents (``i_e``,
    ``StepCurrent``, ``DCSource``) are in pA and enter as ``I``. State: ``v`` (mV, starts at
    -65) and ``u`` (starts at -13, NEST's ``0.2 * -65``). A spike is the step in which ``v``
    reaches ``v_th``; its time is the end of the step (as NEST). There is no refractory
    period. The arithmetic is NEST's, operation for operation, so traces equal NEST's.
    """

    name = "izhikevich"
    rust_kernel = "izhikevich"
    weight_unit = "mV"
    receptors = 1
    parameters = (
        Parameter("a", 0.02, "1", "time scale of the recovery variable u (per ms)"),
        Parameter("b", 0.2, "1", "sensitivity of u to v (per mV)"),
        Parameter("c", -65.0, "mV", "reset potential after a spike"),
        Parameter("d", 8.0, "mV", "increment of u at a spike"),
        Parameter("i_e", 0.0, "pA", "constant input current"),
        Parameter("v_th", 30.0, "mV", "spike cut-off potential"),
        Parameter("v_min", -math.inf, "mV", "lower bound of v", allow_infinite=True),
    )
    state_variables = (
        StateVariable("v", "mV", "membrane potential", -65.0),
        StateVariable("u", "mV", "recovery variable", 0.2 * -65.0),
    )

    @classmethod
    def constants(cls, params: Mapping[str, float], dt: float) -> KernelConstants:
        return {
            "h": dt * units.MS_PER_S,
            **{name: params[name] for name in ("a", "b", "c", "d", "i_e", "v_th", "v_min")},
        }

    @classmethod
    def update(cls, constants: KernelConstants, state: list[FloatArray], input_ex: FloatArray,
               input_in: FloatArray, ctx: StepContext
               ) -> tuple[npt.NDArray[np.bool_], FloatArray | None]:
        c = constants
        v, u = state
        v_old, u_old = v.copy(), u.copy()
        injected = 0.0 if ctx.current is None else ctx.current
        # NEST's expression, evaluated left to right: ((((0.04 v) v + 5 v) + 140) - u) + I + i_e
        drive = 0.04 * v_old * v_old + 5.0 * v_old + 140.0 - u_old + injected + c["i_e"]
        v += c["h"] * drive + input_ex
        u += c["h"] * c["a"] * (c["b"] * v_old - u_old)
        np.maximum(v, c["v_min"], out=v)
        spike = v >= c["v_th"]
        v[spike] = c["c"]
        u[spike] += c["d"]
        return spike, None
