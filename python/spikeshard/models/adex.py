"""``AdEx``: the adaptive exponential integrate-and-fire neuron with exponential synaptic
conductances, NEST's ``aeif_cond_exp`` (PyNN's ``EIF_cond_exp_isfa_ista``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from .. import units
from ..errors import ModelError
from .base import FloatArray, KernelConstants, NeuronModel, Parameter, StateVariable, StepContext
from .lif_cond import (
    CONDUCTANCE_PARAMETERS,
    add_conductance_input,
    conductance_constants,
    max_substep_parameter,
)

#: The longest integration sub-step by default (s): the exponential upswing is resolved to
#: this (a spike's reset is placed at the end of the sub-step that crosses v_peak).
DEFAULT_MAX_SUBSTEP = 1e-5

_NEST_DEFAULTS = {"c_m": 281.0, "g_l": 30.0, "e_l": -70.6, "t_ref": 0.0}


class AdEx(NeuronModel):
    """Adaptive exponential integrate-and-fire neuron (Brette & Gerstner 2005) with
    exponential synaptic conductances, NEST's ``aeif_cond_exp`` (PyNN
    ``EIF_cond_exp_isfa_ista``); parameters and defaults are NEST's.

    ``c_m dv/dt = -g_l (v - e_l) + g_l delta_t exp((v - v_th)/delta_t) - g_ex (v - e_ex)
    - g_in (v - e_in) - w + i_e + I``, ``tau_w dw/dt = a (v - e_l) - w``,
    ``dg_x/dt = -g_x / tau_syn_x``. The equations read ``min(v, v_peak)`` for ``v`` (as
    NEST), so the exponential stays finite.

    Spike: ``v >= v_peak`` (``v_th`` if ``delta_t`` is 0) at the end of an integration
    sub-step; then ``v <- v_reset``, ``w <- w + b`` and the membrane is held at ``v_reset``
    (while ``w`` and the conductances evolve) for the rest of the step and ``t_ref`` (whole
    steps, as NEST rounds it). The spike's time is the end of the step, as NEST reports it;
    a neuron spikes at most once per step (a second crossing in the same step resets it
    again but is not a second spike). The step's input is added to the conductances after
    the step, as NEST adds it.

    Integration: ``n_sub`` equal sub-steps per step, each of at most ``max_substep`` (default
    0.01 ms) and ``tau_syn / 8``, one classical Runge-Kutta step of (v, w) each, the
    conductances exact at every stage. NEST integrates with adaptive RKF45 steps and resets
    at the end of the adaptive step that crosses ``v_peak``, which is where ``max_substep``
    matters.

    Units: ``c_m`` pF; ``g_l``, ``a`` nS; ``e_l``, ``e_ex``, ``e_in``, ``v_th``, ``v_peak``,
    ``v_reset``, ``delta_t`` mV; ``tau_w``, ``tau_syn_ex``, ``tau_syn_in``, ``t_ref``,
    ``max_substep`` s; ``b``, ``i_e`` pA. Synaptic weights are conductance jumps in **nS**
    (negative ones onto ``g_in``, with their magnitude). State: ``v`` (mV, starts at
    ``e_l``), ``w`` (pA), ``g_ex``, ``g_in`` (nS), ``refractory`` (steps left).
    """

    name = "adex"
    rust_kernel = "adex"
    weight_unit = "nS"
    parameters = (
        *(replace(p, default=_NEST_DEFAULTS.get(p.name, p.default))
          for p in CONDUCTANCE_PARAMETERS),
        Parameter("v_th", -50.4, "mV", "spike initiation threshold of the exponential"),
        Parameter("delta_t", 2.0, "mV", "slope factor of the exponential (0: none)", low=0.0),
        Parameter("v_peak", 0.0, "mV", "spike detection potential"),
        Parameter("v_reset", -60.0, "mV", "reset potential"),
        Parameter("a", 4.0, "nS", "subthreshold adaptation"),
        Parameter("b", 80.5, "pA", "spike-triggered adaptation"),
        Parameter("tau_w", 0.144, "s", "adaptation time constant", low=0.0,
                  low_inclusive=False, plausible=units.TIME_CONSTANT),
        max_substep_parameter(DEFAULT_MAX_SUBSTEP),
    )
    state_variables = (
        StateVariable("v", "mV", "membrane potential", initial="e_l"),
        StateVariable("w", "pA", "adaptation current"),
        StateVariable("g_ex", "nS", "excitatory conductance"),
        StateVariable("g_in", "nS", "inhibitory conductance"),
        StateVariable("refractory", "steps", "refractory steps left"),
    )

    @classmethod
    def check_params(cls, params: Mapping[str, float]) -> None:
        name = cls.__name__
        if params["v_peak"] < params["v_th"]:
            raise ModelError(f"{name} parameter 'v_peak' = {params['v_peak']} mV must not lie "
                             f"below 'v_th' = {params['v_th']} mV")
        detect = params["v_peak"] if params["delta_t"] > 0 else params["v_th"]
        if params["v_reset"] >= detect:
            raise ModelError(f"{name} parameter 'v_reset' = {params['v_reset']} mV must lie "
                             f"below the spike detection potential ({detect} mV)")
        if params["delta_t"] > 0:
            exponent = (params["v_peak"] - params["v_th"]) / params["delta_t"]
            limit = math.log(np.finfo(np.float64).max / (params["g_l"] * params["delta_t"]))
            if exponent >= limit:
                raise ModelError(
                    f"{name}: (v_peak - v_th) / delta_t = {exponent:g} would overflow the "
                    f"exponential current (at most {limit:g}): lower v_peak or raise delta_t")

    @classmethod
    def constants(cls, params: Mapping[str, float], dt: float) -> KernelConstants:
        spiking = params["delta_t"] > 0
        return {
            **conductance_constants(params, dt),
            "v_th": params["v_th"],
            # g_l delta_t exp((v - v_th) / delta_t); without the exponential both are 0.
            "spike_factor": params["g_l"] * params["delta_t"],
            "inv_delta_t": 1.0 / params["delta_t"] if spiking else 0.0,
            "v_peak": params["v_peak"],
            "v_detect": params["v_peak"] if spiking else params["v_th"],
            "v_reset": params["v_reset"],
            "a": params["a"],
            "b": params["b"],
            "inv_tau_w": 1.0 / (params["tau_w"] * units.MS_PER_S),
        }

    @classmethod
    def update(cls, constants: KernelConstants, state: list[FloatArray], input_ex: FloatArray,
               input_in: FloatArray, ctx: StepContext
               ) -> tuple[npt.NDArray[np.bool_], FloatArray | None]:
        c = constants
        v, w, g_ex, g_in, refractory = state
        current = c["i_e"] if ctx.current is None else ctx.current + c["i_e"]
        held = refractory > 0.5
        spike = np.zeros(v.shape, dtype=bool)

        def derivatives(v: FloatArray, w: FloatArray, ge: FloatArray, gi: FloatArray
                        ) -> tuple[FloatArray, FloatArray]:
            vc = np.where(held, c["v_reset"], np.minimum(v, c["v_peak"]))
            i_spike = c["spike_factor"] * np.exp((vc - c["v_th"]) * c["inv_delta_t"])
            dv = (c["g_l"] * (c["e_l"] - vc) + i_spike + ge * (c["e_ex"] - vc)
                  + gi * (c["e_in"] - vc) - w + current) * c["inv_c_m"]
            dw = (c["a"] * (vc - c["e_l"]) - w) * c["inv_tau_w"]
            return np.where(held, 0.0, dv), dw

        for _ in range(int(c["n_sub"])):
            ge_mid, gi_mid = g_ex * c["p_ex_half"], g_in * c["p_in_half"]
            ge_end, gi_end = g_ex * c["p_ex_full"], g_in * c["p_in_full"]
            v1, w1 = derivatives(v, w, g_ex, g_in)
            v2, w2 = derivatives(v + c["h_half"] * v1, w + c["h_half"] * w1, ge_mid, gi_mid)
            v3, w3 = derivatives(v + c["h_half"] * v2, w + c["h_half"] * w2, ge_mid, gi_mid)
            v4, w4 = derivatives(v + c["h"] * v3, w + c["h"] * w3, ge_end, gi_end)
            v += c["h_sixth"] * ((v1 + v4) + 2.0 * (v2 + v3))
            w += c["h_sixth"] * ((w1 + w4) + 2.0 * (w2 + w3))
            g_ex[:], g_in[:] = ge_end, gi_end
            crossed = ~held & (v >= c["v_detect"])
            v[:] = np.where(held | crossed, c["v_reset"], v)
            w[:] = np.where(crossed, w + c["b"], w)
            # Held for the rest of the step and t_ref steps (NEST's counts + 1, counted
            # down at the end of the step); without t_ref the neuron integrates on.
            if c["refractory_steps"] > 0:
                refractory[:] = np.where(crossed, c["refractory_steps"] + 1.0, refractory)
                held = held | crossed
            spike |= crossed
        refractory[:] = np.where(refractory > 0.5, refractory - 1.0, refractory)
        add_conductance_input(g_ex, g_in, input_ex, input_in)
        return spike, None
