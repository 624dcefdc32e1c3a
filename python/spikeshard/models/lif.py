"""Leaky integrate-and-fire models with exact integration: ``LIF`` (exponential synaptic
currents, NEST's iaf_psc_exp) and ``LIFDelta`` (voltage jumps, NEST's iaf_psc_delta)."""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from .. import units
from ..errors import ModelError
from .base import (
    FloatArray,
    KernelConstants,
    NeuronModel,
    Parameter,
    StateVariable,
    StepContext,
    refractory_steps,
)

#: pA / pF is V/s; the membrane equations are in mV and s.
_MV_PER_S_PER_PA_PER_PF = 1000.0

_COMMON = (
    Parameter("tau_m", 0.01, "s", "membrane time constant", low=0.0, low_inclusive=False,
              plausible=units.TIME_CONSTANT),
    Parameter("c_m", 250.0, "pF", "membrane capacitance", low=0.0, low_inclusive=False,
              plausible=units.CAPACITANCE_PF),
    Parameter("v_rest", -70.0, "mV", "resting potential E_L"),
    Parameter("v_th", -55.0, "mV", "spike threshold"),
    Parameter("v_reset", -70.0, "mV", "reset potential"),
    Parameter("t_ref", 0.002, "s", "absolute refractory period", low=0.0,
              plausible=units.TIME_CONSTANT),
    Parameter("i_e", 0.0, "pA", "constant bias current"),
)


def _check_reset(model: str, params: Mapping[str, float]) -> None:
    if params["v_reset"] >= params["v_th"]:
        raise ModelError(
            f"{model} parameter 'v_reset' = {params['v_reset']} mV must lie below "
            f"'v_th' = {params['v_th']} mV"
        )


def _psc_propagator(tau_syn: float, tau_m: float, c_m: float, dt: float) -> float:
    """Membrane response (mV per pA) over one step to an exponential current, computed as
    NEST's ``IAFPropagatorExp`` does (in ms): ``gamma exp(-h/tau_syn) expm1(h/beta)`` with
    ``beta = tau_syn tau_m / (tau_m - tau_syn)``, which stays accurate when tau_syn is close
    to tau_m (no difference of two nearly equal exponentials), and the limit
    ``h/c_m exp(-h/tau_m)`` where that is not a positive normal number (tau_syn == tau_m)."""
    h, tau_syn_ms, tau_m_ms = dt * units.MS_PER_S, tau_syn * units.MS_PER_S, tau_m * units.MS_PER_S
    singular = h * (1 / c_m) * math.exp(-h * (1 / tau_m_ms))
    if tau_syn_ms == tau_m_ms:
        return singular
    gamma = tau_syn_ms * tau_m_ms / (tau_m_ms - tau_syn_ms) / c_m
    inv_beta = (tau_m_ms - tau_syn_ms) / (tau_syn_ms * tau_m_ms)
    p32 = gamma * math.exp(-h * (1 / tau_syn_ms)) * math.expm1(h * inv_beta)
    return p32 if p32 > 0 and math.isfinite(p32) and p32 >= sys.float_info.min else singular


def _membrane(params: Mapping[str, float], dt: float) -> tuple[float, float]:
    """(p22, v_const): over a step without input, ``v <- v_const + p22 * v`` with
    ``v_const = (v_rest + R i_e)(1 - p22)``, the exact solution."""
    one_minus_p22 = -math.expm1(-dt / params["tau_m"])
    r_i = _MV_PER_S_PER_PA_PER_PF * params["tau_m"] / params["c_m"] * params["i_e"]
    return 1.0 - one_minus_p22, (params["v_rest"] + r_i) * one_minus_p22


class LIF(NeuronModel):
    """Current-based leaky integrate-and-fire neuron with exponential synaptic currents
    (NEST ``iaf_psc_exp``), integrated exactly.

    ``dv/dt = -(v - v_rest)/tau_m + (i_syn_ex + i_syn_in + i_e)/c_m``,
    ``di_syn_x/dt = -i_syn_x/tau_syn_x``. When ``v >= v_th`` the neuron spikes, ``v`` is set
    to ``v_reset`` and held there for ``t_ref``. Within a step, as NEST: the membrane
    propagates (unless refractory), the currents decay, the step's input is added to the
    currents, then the threshold is checked.

    Parameters (units): tau_m [s], c_m [pF], v_rest, v_th, v_reset [mV], t_ref [s],
    tau_syn_ex, tau_syn_in [s], i_e [pA]. Synaptic weights are current jumps in **pA**
    (positive → excitatory current, negative → inhibitory). State: v [mV], i_syn_ex,
    i_syn_in [pA], refractory (steps left).
    """

    name = "lif"
    rust_kernel = "lif"
    weight_unit = "pA"
    parameters = (
        *_COMMON,
        Parameter("tau_syn_ex", 0.002, "s", "excitatory synaptic time constant",
                  low=0.0, low_inclusive=False, plausible=units.TIME_CONSTANT),
        Parameter("tau_syn_in", 0.002, "s", "inhibitory synaptic time constant",
                  low=0.0, low_inclusive=False, plausible=units.TIME_CONSTANT),
    )
    state_variables = (
        StateVariable("v", "mV", "membrane potential", initial="v_rest"),
        StateVariable("i_syn_ex", "pA", "excitatory synaptic current"),
        StateVariable("i_syn_in", "pA", "inhibitory synaptic current"),
        StateVariable("refractory", "steps", "refractory steps left"),
    )

    @classmethod
    def check_params(cls, params: Mapping[str, float]) -> None:
        _check_reset(cls.__name__, params)

    @classmethod
    def constants(cls, params: Mapping[str, float], dt: float) -> KernelConstants:
        p22, v_const = _membrane(params, dt)
        tau_m, c_m = params["tau_m"], params["c_m"]
        return {
            "p22": p22,
            "p11_ex": math.exp(-dt / params["tau_syn_ex"]),
            "p11_in": math.exp(-dt / params["tau_syn_in"]),
            "p21_ex": _psc_propagator(params["tau_syn_ex"], tau_m, c_m, dt),
            "p21_in": _psc_propagator(params["tau_syn_in"], tau_m, c_m, dt),
            "v_const": v_const,
            "v_th": params["v_th"],
            "v_reset": params["v_reset"],
            "refractory_steps": refractory_steps(params["t_ref"], dt),
        }

    @classmethod
    def update(cls, constants: KernelConstants, state: list[FloatArray], input_ex: FloatArray,
               input_in: FloatArray, ctx: StepContext
               ) -> tuple[npt.NDArray[np.bool_], FloatArray | None]:
        c = constants
        v, i_ex, i_in, refractory = state
        active = refractory <= 0.5
        v_free = c["v_const"] + c["p21_ex"] * i_ex + c["p21_in"] * i_in + c["p22"] * v
        v_now = np.where(active, v_free, v)
        refractory_now = np.where(active, refractory, refractory - 1.0)
        # "+ 0.0" as the Rust kernel (which adds a sparse input afterwards): -0.0 -> 0.0.
        i_ex *= c["p11_ex"]
        i_ex += 0.0
        i_ex += input_ex
        i_in *= c["p11_in"]
        i_in += 0.0
        i_in += input_in
        spike = v_now >= c["v_th"]
        v[:] = np.where(spike, c["v_reset"], v_now)
        refractory[:] = np.where(spike, c["refractory_steps"], refractory_now)
        return spike, None


class LIFDelta(NeuronModel):
    """Leaky integrate-and-fire neuron with voltage-jump synapses (NEST ``iaf_psc_delta``),
    integrated exactly.

    ``dv/dt = -(v - v_rest)/tau_m + i_e/c_m``; an input spike of weight w moves ``v`` by w
    **mV** at its arrival. Input arriving during the refractory period is discarded (NEST's
    default). ``v`` is bounded below by ``v_min``.

    Parameters (units): tau_m [s], c_m [pF], v_rest, v_th, v_reset, v_min [mV], t_ref [s],
    i_e [pA]. Weights in **mV**. State: v [mV], refractory (steps left).
    """

    name = "lif_delta"
    rust_kernel = "lif_delta"
    weight_unit = "mV"
    receptors = 1
    parameters = (
        *_COMMON,
        Parameter("v_min", -math.inf, "mV", "lower bound of the membrane potential",
                  allow_infinite=True),
    )
    state_variables = (
        StateVariable("v", "mV", "membrane potential", initial="v_rest"),
        StateVariable("refractory", "steps", "refractory steps left"),
    )

    @classmethod
    def check_params(cls, params: Mapping[str, float]) -> None:
        _check_reset(cls.__name__, params)

    @classmethod
    def constants(cls, params: Mapping[str, float], dt: float) -> KernelConstants:
        p22, v_const = _membrane(params, dt)
        return {
            "p22": p22,
            "v_const": v_const,
            "v_th": params["v_th"],
            "v_reset": params["v_reset"],
            "v_min": params["v_min"],
            "refractory_steps": refractory_steps(params["t_ref"], dt),
        }

    @classmethod
    def update(cls, constants: KernelConstants, state: list[FloatArray], input_ex: FloatArray,
               input_in: FloatArray, ctx: StepContext
               ) -> tuple[npt.NDArray[np.bool_], FloatArray | None]:
        c = constants
        v, refractory = state
        active = refractory <= 0.5
        v_free = np.maximum(c["v_const"] + c["p22"] * v + input_ex, c["v_min"])
        v_now = np.where(active, v_free, v)
        refractory_now = np.where(active, refractory, refractory - 1.0)
        spike = v_now >= c["v_th"]
        v[:] = np.where(spike, c["v_reset"], v_now)
        refractory[:] = np.where(spike, c["refractory_steps"], refractory_now)
        return spike, None
