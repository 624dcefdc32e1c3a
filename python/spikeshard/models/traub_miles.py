"""``TraubMilesHH``: the Traub-Miles Hodgkin-Huxley neuron of Brette et al. (2007)'s COBAHH
benchmark (NEST's ``hh_cond_exp_traub``, Brian2's COBAHH example), with exponential synaptic
conductances. It is a member of the Hodgkin-Huxley family: the integration (sub-steps,
classes of neurons, spike detection) is ``hodgkin_huxley.hh_update``'s; this module holds its
rate functions, synapses and parameters. The executable specification of the Rust kernel
``traub_miles`` (``rust/src/engine/models/traub_miles.rs``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from .. import units
from .base import FloatArray, KernelConstants, Parameter, StateVariable, StepContext
from .hodgkin_huxley import _VTRAP_SMALL, HodgkinHuxleyFamily, _vtrap, _vtrap_taylor, hh_update

#: exp(-x/360) to the powers 9, 20, 72, 90 gives exp(-x/40), exp(-x/18), exp(-x/5) and
#: exp(-x/4) (360 = lcm(4, 5, 18, 40)): one exponential per evaluation of the six rates.
_NEG_INV_360 = -1.0 / 360.0
#: The rates are evaluated at x = v - v_t limited to +-this (mV), where the product of their
#: four denominators stays finite.
_X_LIMIT = 400.0


def rate_functions(x: npt.ArrayLike) -> tuple[FloatArray, ...]:
    """The six rates (1/ms) at x = v - v_t (mV) in their textbook form (Traub & Miles 1991 as
    Brette et al. 2007 give them): alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n. For the
    initial state and as a readable reference; the kernels use one exponential."""
    x = np.asarray(x, dtype=np.float64)
    alpha_m = 0.32 * (13.0 - x) / (np.exp((13.0 - x) / 4.0) - 1.0)
    beta_m = 0.28 * (x - 40.0) / (np.exp((x - 40.0) / 5.0) - 1.0)
    alpha_h = 0.128 * np.exp((17.0 - x) / 18.0)
    beta_h = 4.0 / (1.0 + np.exp((40.0 - x) / 5.0))
    alpha_n = 0.032 * (15.0 - x) / (np.exp((15.0 - x) / 5.0) - 1.0)
    beta_n = 0.5 * np.exp((10.0 - x) / 40.0)
    return alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n


def steady_state_gates(x: float) -> tuple[float, float, float]:
    """m, h, n at rest at x = v - v_t (mV), where x is not 13, 15 or 40 mV."""
    am, bm, ah, bh, an, bn = (float(r) for r in rate_functions(x))
    return am / (am + bm), ah / (ah + bh), an / (an + bn)


def traub_rates(c: KernelConstants, v_r: FloatArray) -> tuple[FloatArray, ...]:
    """The six rates from one exponential, as the Rust kernel computes them."""
    x = np.clip(v_r - c["v_t"], -_X_LIMIT, _X_LIMIT)
    b = np.exp(x * _NEG_INV_360)
    b2 = b * b
    b4 = b2 * b2
    b8 = b4 * b4
    e40 = b8 * b
    b16 = b8 * b8
    b18 = b16 * b2
    e18 = b18 * b2
    b36 = b18 * b18
    e5 = b36 * b36
    e4 = e5 * b18
    # alpha_m = 0.32 (13 - x) / (exp((13 - x)/4) - 1) = 1.28 vtrap((x - 13)/4)
    num_am, den_am = _vtrap(x * 0.25 + -3.25, e4, c["k_am"])
    # beta_m = 0.28 (x - 40) / (exp((x - 40)/5) - 1) = 1.4 vtrap((40 - x)/5), whose
    # exp(-y) = k_bm / e5: numerator and denominator multiplied by e5.
    y_bm = x * -0.2 + 8.0
    small = np.abs(y_bm) < _VTRAP_SMALL
    num_bm = np.where(small, _vtrap_taylor(y_bm), y_bm * e5)
    den_bm = np.where(small, 1.0, e5 - c["k_bm"])
    # beta_h = 4 / (1 + exp((40 - x)/5))
    den_bh = e5 * c["k_bh"] + 1.0
    # alpha_n = 0.032 (15 - x) / (exp((15 - x)/5) - 1) = 0.16 vtrap((x - 15)/5)
    num_an, den_an = _vtrap(x * 0.2 + -3.0, e5, c["k_an"])
    # One division gives the four reciprocals.
    p12, p34 = den_am * den_bm, den_bh * den_an
    q = 1.0 / (p12 * p34)
    q12, q34 = q * p34, q * p12
    return (1.28 * num_am * (q12 * den_bm), 1.4 * num_bm * (q12 * den_am), c["c_ah"] * e18,
            4.0 * (q34 * den_an), 0.16 * num_an * (q34 * den_bh), c["c_bn"] * e40)


def conductance_synapses(c: KernelConstants, g_ex: FloatArray, g_in: FloatArray,
                         injected: FloatArray | float) -> tuple[FloatArray, FloatArray]:
    """Conductances with reversal potentials: drive g_ex e_ex + g_in e_in (+ the injected
    current) and conductance g_ex + g_in."""
    return g_ex * c["e_ex"] + (g_in * c["e_in"] + injected), g_ex + g_in


_V_T = -63.0
_E_L = -60.0
_M_INIT, _H_INIT, _N_INIT = steady_state_gates(_E_L - _V_T)


class TraubMilesHH(HodgkinHuxleyFamily):
    r"""The Traub-Miles Hodgkin-Huxley neuron of the COBAHH benchmark (Brette et al. 2007;
    NEST ``hh_cond_exp_traub``, Brian2's COBAHH example) with exponential synaptic
    conductances. Parameters and defaults are NEST's (a 20,000 µm² patch: 200 pF).

    Equations (v in mV, t in ms, x = v - v_t)::

        c_m dv/dt = g_l (e_l - v) + g_ex (e_ex - v) + g_in (e_in - v)
                    - g_na m^3 h (v - e_na) - g_k n^4 (v - e_k) + i_e + I
        dx/dt = alpha_x (1 - x) - beta_x x                  for the gates m, h, n
        alpha_m = 0.32 (13 - x) / (exp((13 - x)/4) - 1)
        beta_m = 0.28 (x - 40) / (exp((x - 40)/5) - 1)
        alpha_h = 0.128 exp((17 - x)/18)          beta_h = 4 / (1 + exp((40 - x)/5))
        alpha_n = 0.032 (15 - x) / (exp((15 - x)/5) - 1)
        beta_n = 0.5 exp((10 - x)/40)
        dg_ex/dt = -g_ex / tau_syn_ex                        dg_in/dt = -g_in / tau_syn_in

    Spike: an upward crossing of ``v_spike`` (-20 mV, the threshold of Brian2's COBAHH), timed
    within the step by interpolating between the sub-steps around it (sub-step spike times);
    no refractory period is needed (v must fall below ``v_spike`` before it can cross again).
    NEST's ``hh_cond_exp_traub`` instead reports the end of the step in which v, above
    ``v_t + 30`` mV, starts to fall (the peak of the action potential, about 0.2-0.3 ms
    later), and ignores peaks for ``t_ref`` (2 ms) after one; the spike counts agree.

    Integration as ``HodgkinHuxleyNeuron`` (ETDRK4/RK4 sub-steps, active and quiet neurons);
    the step's input is added to the conductances after the step, as NEST adds it.

    Units: ``c_m`` pF; ``g_na``, ``g_k``, ``g_l`` nS; ``e_na``, ``e_k``, ``e_l``, ``v_t``,
    ``e_ex``, ``e_in``, ``v_spike``, ``v_active`` mV; ``i_e`` pA; ``tau_syn_ex``, ``tau_syn_in``,
    ``max_substep``, ``max_substep_quiet`` s. Synaptic weights are conductance jumps in **nS**
    (negative ones onto ``g_in``, with their magnitude). State: ``v`` (mV, starts at ``e_l``
    of the defaults, -60), ``m``, ``h``, ``n`` (their steady state there), ``g_ex``, ``g_in``
    (nS, 0).
    """

    name = "traub_miles"
    rust_kernel = "traub_miles"
    weight_unit = "nS"
    current_unit: ClassVar[str | None] = "pA"
    relative_cost = 8.0
    #: The sodium activation relaxes at about 17/ms at rest: treated exponentially above
    #: 0.5/h (5/ms at h = 0.1 ms) rather than 2.5/h, quiet neurons keep their one sub-step per
    #: 0.1 ms step and spike times stay within 0.01 ms of a tight reference over 0.3 s
    #: (0.11 ms with 2.5/h; tests/engines/test_reference_models.py).
    stiff_factor: ClassVar[float] = 0.5

    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("c_m", 200.0, "pF", "membrane capacitance", low=0.0, low_inclusive=False,
                  plausible=units.CAPACITANCE_PF),
        Parameter("g_na", 20000.0, "nS", "maximal sodium conductance", low=0.0),
        Parameter("g_k", 6000.0, "nS", "maximal potassium (delayed rectifier) conductance",
                  low=0.0),
        Parameter("g_l", 10.0, "nS", "leak conductance", low=0.0),
        Parameter("e_na", 50.0, "mV", "sodium reversal potential"),
        Parameter("e_k", -90.0, "mV", "potassium reversal potential"),
        Parameter("e_l", _E_L, "mV", "leak reversal potential"),
        Parameter("v_t", _V_T, "mV", "offset of the rate functions (sets the threshold, "
                  "about v_t + 13 mV)"),
        Parameter("e_ex", 0.0, "mV", "excitatory reversal potential"),
        Parameter("e_in", -80.0, "mV", "inhibitory reversal potential"),
        Parameter("tau_syn_ex", 0.005, "s", "decay time of the excitatory conductance",
                  low=0.0, low_inclusive=False, plausible=units.TIME_CONSTANT),
        Parameter("tau_syn_in", 0.01, "s", "decay time of the inhibitory conductance",
                  low=0.0, low_inclusive=False, plausible=units.TIME_CONSTANT),
        Parameter("i_e", 0.0, "pA", "constant input current"),
        Parameter("v_spike", -20.0, "mV", "a spike is an upward crossing of this potential"),
        Parameter("max_substep", 2.5e-5, "s",
                  "longest integration sub-step of an active neuron (see v_active)", low=0.0,
                  low_inclusive=False, plausible=units.TIME_CONSTANT),
        Parameter("max_substep_quiet", 1e-4, "s",
                  "longest integration sub-step of a quiet neuron (see v_active)", low=0.0,
                  low_inclusive=False, plausible=units.TIME_CONSTANT),
        Parameter("v_active", -55.0, "mV",
                  "a neuron is active in a step (integrated with max_substep) if v is above "
                  "this potential or would reach it within the step at its present rate"),
    )

    state_variables: ClassVar[tuple[StateVariable, ...]] = (
        StateVariable("v", "mV", "membrane potential", _E_L),
        StateVariable("m", "1", "sodium activation gate", _M_INIT),
        StateVariable("h", "1", "sodium inactivation gate", _H_INIT),
        StateVariable("n", "1", "potassium activation gate", _N_INIT),
        StateVariable("g_ex", "nS", "excitatory conductance", 0.0),
        StateVariable("g_in", "nS", "inhibitory conductance", 0.0),
    )

    @classmethod
    def constants(cls, params: Mapping[str, float], dt: float) -> KernelConstants:
        # With x = v - v_t, the rates' exponentials as the powers of exp(-x/360) times these.
        return {
            **cls.family_constants(params, dt),
            "v_t": params["v_t"],
            "k_am": math.exp(13.0 / 4.0),
            "k_bm": math.exp(-8.0),
            "c_ah": 0.128 * math.exp(17.0 / 18.0),
            "k_bh": math.exp(8.0),
            "k_an": math.exp(3.0),
            "c_bn": 0.5 * math.exp(0.25),
            "e_ex": params["e_ex"],
            "e_in": params["e_in"],
        }

    @classmethod
    def update(cls, constants: KernelConstants, state: list[FloatArray], input_ex: FloatArray,
               input_in: FloatArray, ctx: StepContext
               ) -> tuple[npt.NDArray[np.bool_], FloatArray | None]:
        spiked, offsets = hh_update(constants, state, ctx, traub_rates, conductance_synapses)
        # Excitatory weights add to g_ex; inhibitory ones arrive negative and add their
        # magnitude to g_in.
        state[4] += input_ex
        state[5] -= input_in
        return spiked, offsets
