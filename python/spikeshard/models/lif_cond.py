"""``LIFCond``: leaky integrate-and-fire with exponential synaptic conductances, NEST's
``iaf_cond_exp`` (PyNN's ``IF_cond_exp``)."""

from __future__ import annotations

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
from .substeps import conductance_substeps

#: The parameters every conductance-based model here shares with NEST's (snake_case).
CONDUCTANCE_PARAMETERS = (
    Parameter("c_m", 250.0, "pF", "membrane capacitance", low=0.0, low_inclusive=False,
              plausible=units.CAPACITANCE_PF),
    Parameter("g_l", 16.6667, "nS", "leak conductance", low=0.0, low_inclusive=False),
    Parameter("e_l", -70.0, "mV", "leak reversal potential"),
    Parameter("e_ex", 0.0, "mV", "excitatory reversal potential"),
    Parameter("e_in", -85.0, "mV", "inhibitory reversal potential"),
    Parameter("tau_syn_ex", 0.0002, "s", "decay time of the excitatory conductance", low=0.0,
              low_inclusive=False, plausible=units.TIME_CONSTANT),
    Parameter("tau_syn_in", 0.002, "s", "decay time of the inhibitory conductance", low=0.0,
              low_inclusive=False, plausible=units.TIME_CONSTANT),
    Parameter("i_e", 0.0, "pA", "constant input current"),
    Parameter("t_ref", 0.002, "s", "absolute refractory period", low=0.0,
              plausible=units.TIME_CONSTANT),
)

#: The longest integration sub-step by default (s); see ``substeps.conductance_substeps``.
DEFAULT_MAX_SUBSTEP = 1e-4


def max_substep_parameter(default: float) -> Parameter:
    return Parameter("max_substep", default, "s",
                     "longest integration sub-step (also at most tau_syn / 8)", low=0.0,
                     low_inclusive=False, plausible=units.TIME_CONSTANT)


def conductance_constants(params: Mapping[str, float], dt: float) -> KernelConstants:
    """Constants shared by the conductance-based models: sub-steps, the membrane's
    conductances and reversal potentials, the current and the refractory period."""
    return {
        **conductance_substeps(params, dt),
        "inv_c_m": 1.0 / params["c_m"],
        **{name: params[name] for name in ("g_l", "e_l", "e_ex", "e_in", "i_e")},
        "refractory_steps": refractory_steps(params["t_ref"], dt),
    }


def add_conductance_input(g_ex: FloatArray, g_in: FloatArray, input_ex: FloatArray,
                          input_in: FloatArray) -> None:
    """A step's input after the step: excitatory weights (nS) add to g_ex; inhibitory ones
    arrive negative (the sign selects the receptor) and add their magnitude to g_in."""
    g_ex += input_ex
    g_in -= input_in


class LIFCond(NeuronModel):
    """Leaky integrate-and-fire neuron with exponential synaptic conductances, NEST's
    ``iaf_cond_exp`` (PyNN ``IF_cond_exp``); parameters and defaults are NEST's.

    ``c_m dv/dt = g_l (e_l - v) + g_ex (e_ex - v) + g_in (e_in - v) + i_e + I``,
    ``dg_x/dt = -g_x / tau_syn_x``. Within a step (as NEST): the membrane and conductances
    are integrated over the step (the membrane is frozen while refractory); the step's input
    is added to the conductances; a refractory neuron counts down and stays at ``v_reset``;
    otherwise ``v >= v_th`` is a spike (its time the end of the step), ``v`` is reset and held
    for ``t_ref`` (whole steps, as NEST rounds it). As in NEST, the membrane equation reads
    ``min(v, v_th)``.

    Integration: ``n_sub`` equal sub-steps per step, each of at most ``max_substep`` and at
    most ``tau_syn / 8``; per sub-step one classical Runge-Kutta step of ``v`` with the
    conductances exact at every stage (no exponential is evaluated per neuron, so the Rust
    kernel gives the numpy kernel's bits). RK4 is stable while
    ``(g_l + g_ex + g_in) h / c_m < 2.7``: 7,000 nS of conductance at 250 pF with h = 0.1 ms.

    Units: ``c_m`` pF; ``g_l`` nS; ``e_l``, ``e_ex``, ``e_in``, ``v_th``, ``v_reset`` mV;
    ``tau_syn_ex``, ``tau_syn_in``, ``t_ref``, ``max_substep`` s; ``i_e`` pA. Synaptic weights
    are conductance jumps in **nS**: positive onto ``g_ex``, negative ones onto ``g_in`` with
    their magnitude (as NEST). State: ``v`` (mV, starts at ``e_l``), ``g_ex``, ``g_in`` (nS),
    ``refractory`` (steps left).
    """

    name = "lif_cond"
    rust_kernel = "lif_cond"
    weight_unit = "nS"
    parameters = (
        *CONDUCTANCE_PARAMETERS,
        Parameter("v_th", -55.0, "mV", "spike threshold"),
        Parameter("v_reset", -60.0, "mV", "reset potential"),
        max_substep_parameter(DEFAULT_MAX_SUBSTEP),
    )
    state_variables = (
        StateVariable("v", "mV", "membrane potential", initial="e_l"),
        StateVariable("g_ex", "nS", "excitatory conductance"),
        StateVariable("g_in", "nS", "inhibitory conductance"),
        StateVariable("refractory", "steps", "refractory steps left"),
    )

    @classmethod
    def check_params(cls, params: Mapping[str, float]) -> None:
        if params["v_reset"] >= params["v_th"]:
            raise ModelError(f"{cls.__name__} parameter 'v_reset' = {params['v_reset']} mV "
                             f"must lie below 'v_th' = {params['v_th']} mV")

    @classmethod
    def constants(cls, params: Mapping[str, float], dt: float) -> KernelConstants:
        return {**conductance_constants(params, dt), "v_th": params["v_th"],
                "v_reset": params["v_reset"]}

    @classmethod
    def update(cls, constants: KernelConstants, state: list[FloatArray], input_ex: FloatArray,
               input_in: FloatArray, ctx: StepContext
               ) -> tuple[npt.NDArray[np.bool_], FloatArray | None]:
        c = constants
        v, g_ex, g_in, refractory = state
        free = refractory <= 0.5
        current = c["i_e"] if ctx.current is None else ctx.current + c["i_e"]

        def dv(v: FloatArray, ge: FloatArray, gi: FloatArray) -> FloatArray:
            vc = np.minimum(v, c["v_th"])
            return (c["g_l"] * (c["e_l"] - vc) + ge * (c["e_ex"] - vc) + gi * (c["e_in"] - vc)
                    + current) * c["inv_c_m"]

        for _ in range(int(c["n_sub"])):
            ge_mid, gi_mid = g_ex * c["p_ex_half"], g_in * c["p_in_half"]
            ge_end, gi_end = g_ex * c["p_ex_full"], g_in * c["p_in_full"]
            k1 = dv(v, g_ex, g_in)
            k2 = dv(v + c["h_half"] * k1, ge_mid, gi_mid)
            k3 = dv(v + c["h_half"] * k2, ge_mid, gi_mid)
            k4 = dv(v + c["h"] * k3, ge_end, gi_end)
            v[:] = np.where(free, v + c["h_sixth"] * ((k1 + k4) + 2.0 * (k2 + k3)), v)
            g_ex[:], g_in[:] = ge_end, gi_end
        add_conductance_input(g_ex, g_in, input_ex, input_in)
        spike = free & (v >= c["v_th"])
        v[:] = np.where(spike | ~free, c["v_reset"], v)
        refractory[:] = np.where(spike, c["refractory_steps"],
                                 np.where(free, refractory, refractory - 1.0))
        return spike, None
