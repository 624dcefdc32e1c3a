"""The Hodgkin-Huxley neuron (classic squid giant axon, per unit membrane area).

This module is the executable specification of the ``hodgkin_huxley`` Rust kernel
(``rust/src/engine/models/hodgkin_huxley.rs``): both engines run the same integration scheme
with the same formulas in the same order, so they agree to round-off (the Rust kernel uses a
vectorised ``exp`` within an ulp of numpy's and fused multiply-adds; over 100 ms of spiking
the membrane potentials differ by about 1e-9 mV).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import ClassVar

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
)
from .substeps import n_substeps

#: A variable whose own relaxation rate lambda (1/ms) exceeds STIFF_FACTOR / h (h the sub-step)
#: gets an exponential treatment: the part of lambda above STIFF_FACTOR / h goes into the linear
#: term of the exponential integrator, the rest stays with the explicit Runge-Kutta part.
#: Classical RK4 is stable up to h * lambda = 2.78 on the negative real axis; 2.5 leaves some
#: room for lambda to grow within a sub-step, and 2.0 was no more accurate but slower (more
#: sub-steps take the exponential path, e.g. in the after-hyperpolarisation at h = 0.25 ms).
STIFF_FACTOR = 2.5

#: exp(-(v + 65)/720) raised to 9, 36, 40 and 72 gives the rate exponentials with denominators
#: 80, 20, 18 and 10 mV (720 = lcm(10, 18, 20, 80)): one exp per rate evaluation.
_NEG_INV_720 = -1.0 / 720.0
#: Below this |x| the removable singularity of x / (1 - exp(-x)) is evaluated by its Taylor
#: series 1 + x/2 + x^2/12 - x^4/720 (error < 5e-13 at the cutoff). Above it the direct quotient
#: loses about 1.6e-14/|x| (the exponential comes from a chain of products), also < 5e-13.
_VTRAP_SMALL = 0.05
_INV_12 = 1.0 / 12.0
_INV_720 = 1.0 / 720.0
#: A sub-step in which v would move by more than this (mV, at its initial rate) also takes the
#: membrane's stiffness at the predicted end of the sub-step into account; this keeps very strong
#: drive (thousands of µA/cm²) from driving the explicit stages unstable.
_VIOLENT_DV = 20.0
#: The rate functions are evaluated at v limited to this range (mV), where they stay finite
#: (beyond it they overflow); a membrane potential outside it is far from physiological.
_V_RATE_LIMIT = 1000.0
#: Below |z| = 0.5 the exponential-integrator weights are evaluated by Taylor series (their
#: closed forms cancel catastrophically near z = 0); at z = 0 these give exactly RK4's weights.
_ETD_TAYLOR_LIMIT = 0.5


def _series(terms: list[tuple[int, int]], n: int) -> tuple[float, ...]:
    """Coefficients c_k = sum(w / (k + d)!) of a phi-function combination, lowest first."""
    return tuple(float(sum(Fraction(w, math.factorial(k + d)) for w, d in terms)) for k in range(n))


# Taylor coefficients (lowest degree first) of phi1(x) = (e^x - 1)/x for |x| <= 0.25 and of
# the Cox-Matthews ETDRK4 weights w1 = phi1 - 3 phi2 + 4 phi3, w2 = 2 phi2 - 4 phi3,
# w4 = 4 phi3 - phi2 for |z| <= 0.5 (truncation < 2e-17). The Rust kernel holds the same values.
_PHI1_TAYLOR = _series([(1, 1)], 12)
_W1_TAYLOR = _series([(1, 1), (-3, 2), (4, 3)], 15)
_W2_TAYLOR = _series([(2, 2), (-4, 3)], 15)
_W4_TAYLOR = _series([(4, 3), (-1, 2)], 15)
#: RK4's weights, which the ETD weights reduce to at z = 0.
_SIXTH = _W1_TAYLOR[0]
_THIRD = _W2_TAYLOR[0]

#: The constants of one sub-step length, given twice (names prefixed ``fine_`` for active
#: neurons and ``quiet_`` for quiet ones); the Rust kernel reads them by these names.
_MODE_NAMES = ("n_sub", "h", "h_half", "h_seconds", "lambda0", "p_ex_half", "p_ex_full",
               "p_in_half", "p_in_full")

#: Resting potential the state starts from (mV).
V_INIT = -65.0


def rate_functions(v: npt.ArrayLike) -> tuple[FloatArray, ...]:
    """The six rate functions (1/ms) at membrane potential ``v`` (mV), in their textbook form:
    alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n. Used for the initial state and as a
    readable reference; the kernels use an equivalent form with one exponential."""
    v = np.asarray(v, dtype=np.float64)
    alpha_m = 0.1 * (v + 40.0) / (1.0 - np.exp(-(v + 40.0) / 10.0))
    beta_m = 4.0 * np.exp(-(v + 65.0) / 18.0)
    alpha_h = 0.07 * np.exp(-(v + 65.0) / 20.0)
    beta_h = 1.0 / (1.0 + np.exp(-(v + 35.0) / 10.0))
    alpha_n = 0.01 * (v + 55.0) / (1.0 - np.exp(-(v + 55.0) / 10.0))
    beta_n = 0.125 * np.exp(-(v + 65.0) / 80.0)
    return alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n


def steady_state_gates(v: float) -> tuple[float, float, float]:
    """m, h, n at rest at the potential ``v`` (mV), where v is not -40 or -55 mV."""
    am, bm, ah, bh, an, bn = (float(r) for r in rate_functions(v))
    return am / (am + bm), ah / (ah + bh), an / (an + bn)


_M_INIT, _H_INIT, _N_INIT = steady_state_gates(V_INIT)


def _vtrap(x: FloatArray, e10: FloatArray, k: float) -> tuple[FloatArray, FloatArray]:
    """x / (1 - e) with e = e10 k = exp(-x), as a numerator and a denominator that never
    vanish."""
    small = np.abs(x) < _VTRAP_SMALL
    return np.where(small, _vtrap_taylor(x), x), np.where(small, 1.0, -e10 * k + 1.0)


def _vtrap_taylor(x: FloatArray) -> FloatArray:
    """x / (1 - exp(-x)) = 1 + x/2 + x²/12 - x⁴/720 + ..., for |x| < _VTRAP_SMALL."""
    return x * (x * (-x * x * _INV_720 + _INV_12) + 0.5) + 1.0


#: The rate functions of a family member: alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n
#: (1/ms) from the constants and v (mV, within +-_V_RATE_LIMIT).
Rates = Callable[[KernelConstants, FloatArray], tuple[FloatArray, ...]]
#: The synapses of a family member: (drive, conductance) from the constants, the synaptic
#: variables (ex, in) and the injected current; the synaptic current is drive - g v.
Synapses = Callable[[KernelConstants, FloatArray, FloatArray, FloatArray | float],
                    tuple[FloatArray, FloatArray | float]]


def squid_rates(c: KernelConstants, v_r: FloatArray) -> tuple[FloatArray, ...]:
    """The squid axon's rates from one exponential: exp(-(v + 65)/720) to the powers 9, 36,
    40, 72 gives the exponentials with denominators 80, 20, 18, 10 mV."""
    b = np.exp((v_r + 65.0) * _NEG_INV_720)
    b2 = b * b
    b4 = b2 * b2
    b8 = b4 * b4
    e80 = b8 * b
    e40 = e80 * e80
    e20 = e40 * e40
    e18 = e20 * b4
    e10 = e20 * e20
    num_m, den_m = _vtrap(v_r * 0.1 + 4.0, e10, c["k_m"])
    num_n, den_n = _vtrap(v_r * 0.1 + 5.5, e10, c["k_n"])
    den_h = e10 * c["k_h"] + 1.0
    # One division gives the three reciprocals 1/den_m, 1/den_n, 1/den_h.
    dd = den_m * den_n
    q = 1.0 / (dd * den_h)
    qh = q * den_h
    return (num_m * (qh * den_n), 4.0 * e18, 0.07 * e20, q * dd,
            0.1 * num_n * (qh * den_m), 0.125 * e80)


def current_synapses(c: KernelConstants, i_ex: FloatArray, i_in: FloatArray,
                     injected: FloatArray | float) -> tuple[FloatArray, float]:
    """Synaptic currents: they and the injected current add to the drive; no conductance."""
    return i_ex + i_in + injected, 0.0


def _membrane(
    c: KernelConstants, y: FloatArray, syn: tuple[FloatArray, FloatArray | float]
) -> tuple[FloatArray, FloatArray]:
    """dv/dt (mV/ms) and the total membrane conductance, with the synapses' (drive, g)."""
    v, m, h, n = y
    syn_drive, syn_g = syn
    g_na = c["g_na"] * (m * m * m * h)
    n2 = n * n
    g_k = c["g_k"] * (n2 * n2)
    g_total = g_na + g_k + c["g_l"] + syn_g
    # sum of g_x (e_x - v) + i_e + i_syn, as (sum of g_x e_x + i_e + i_syn) - g_total v
    drive = g_na * c["e_na"] + (g_k * c["e_k"] + (c["gl_el_ie"] + syn_drive))
    return (drive - g_total * v) * c["inv_c_m"], g_total


def _derivatives(
    c: KernelConstants, y: FloatArray, syn: tuple[FloatArray, FloatArray | float],
    rates: Rates, with_rates: bool = False
) -> tuple[FloatArray, FloatArray | None]:
    """dy/dt (per ms) of y = (v, m, h, n) stacked as rows, and optionally each variable's own
    relaxation rate -d(dy_i/dt)/dy_i (1/ms): g_total/c_m for v and alpha + beta for a gate."""
    # Gates are evaluated clipped to [0, 1], where they live: the stages of a sub-step that is
    # unstable under extreme drive (thousands of µA/cm²) stay bounded and the next sub-steps
    # recover. Ordinary spiking rarely leaves [0, 1], and then by ~0.01 in a stage value.
    y = np.concatenate([y[:1], np.clip(y[1:], 0.0, 1.0)])
    v, m, h, n = y
    alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n = rates(
        c, np.clip(v, -_V_RATE_LIMIT, _V_RATE_LIMIT))
    lam = np.empty_like(y)
    f = np.empty_like(y)
    f[0], g_total = _membrane(c, y, syn)
    lam[0] = g_total * c["inv_c_m"]
    lam[1] = alpha_m + beta_m
    lam[2] = alpha_h + beta_h
    lam[3] = alpha_n + beta_n
    # dx/dt = alpha (1 - x) - beta x = alpha - (alpha + beta) x
    f[1] = alpha_m - lam[1] * m
    f[2] = alpha_h - lam[2] * h
    f[3] = alpha_n - lam[3] * n
    return f, (lam if with_rates else None)


def _horner(coefficients: tuple[float, ...], x: FloatArray) -> FloatArray:
    acc = np.full_like(x, coefficients[-1])
    for coefficient in coefficients[-2::-1]:
        acc = acc * x + coefficient
    return acc


def _etd_weights(
    mode: KernelConstants, lin: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """exp(z/2), exp(z), (h/2) phi1(z/2), w1(z), w2(z), w4(z) for z = h * lin (lin <= 0)."""
    z = mode["h"] * lin
    zh = mode["h_half"] * lin
    e2 = np.exp(zh)
    e = e2 * e2
    small = z > -_ETD_TAYLOR_LIMIT
    # Closed forms, evaluated where |z| >= 0.5 (elsewhere on z = -1 and e2 as it is, which
    # keeps them finite, and discarded).
    zs = np.where(small, -1.0, z)
    es = e2
    inv_z = 1.0 / zs
    iz3 = inv_z * inv_z * inv_z
    ee = es * es
    phi1h = np.where(small, _horner(_PHI1_TAYLOR, zh), (es - 1.0) * (2.0 * inv_z))
    w1 = np.where(
        small, _horner(_W1_TAYLOR, z), (-4.0 - zs + ee * (4.0 - 3.0 * zs + zs * zs)) * iz3
    )
    w2 = np.where(small, _horner(_W2_TAYLOR, z), (4.0 + 2.0 * zs + ee * (2.0 * zs - 4.0)) * iz3)
    w4 = np.where(
        small, _horner(_W4_TAYLOR, z), (-4.0 - 3.0 * zs - zs * zs + ee * (4.0 - zs)) * iz3
    )
    return e2, e, mode["h_half"] * phi1h, w1, w2, w4


def _advance(
    c: KernelConstants, mode: KernelConstants, y: FloatArray, syn_ex: FloatArray,
    syn_in: FloatArray, injected: FloatArray | float, rates: Rates, synapses: Synapses,
) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_], FloatArray]:
    """All sub-steps of one step for the neurons in the columns of y = (v, m, h, n), with the
    sub-step constants ``mode``. Returns y, the synaptic variables, the spike flags and
    offsets."""
    n_neurons = y.shape[1]
    crossed_at = np.full(n_neurons, -1.0)
    v_before = np.zeros(n_neurons)
    v_after = np.ones(n_neurons)
    h = mode["h"]
    h_half = mode["h_half"]
    for j in range(int(mode["n_sub"])):
        syn_start = synapses(c, syn_ex, syn_in, injected)
        syn_mid = synapses(c, syn_ex * mode["p_ex_half"], syn_in * mode["p_in_half"], injected)
        syn_end = synapses(c, syn_ex * mode["p_ex_full"], syn_in * mode["p_in_full"], injected)
        f0, lam = _derivatives(c, y, syn_start, rates, with_rates=True)
        assert lam is not None
        # Where v moves far within the sub-step (a strong synaptic kick), the gates can open so
        # far that the membrane's rate at the start of the sub-step understates its stiffness:
        # take the larger of that and the rate at Euler-predicted gates (kept in [0, 1]).
        violent = np.abs(h * f0[0]) > _VIOLENT_DV
        if np.any(violent):
            g_pred = np.clip(y + h * f0, 0.0, 1.0)
            lam_v_pred = _membrane(c, g_pred, syn_start)[1] * c["inv_c_m"]
            lam[0] = np.where(violent, np.maximum(lam[0], lam_v_pred), lam[0])
        excess = lam - mode["lambda0"]
        lin = np.where(excess > 0.0, -excess, 0.0)
        if np.any(lin != 0.0):
            e2, e, a2, w1, w2, w4 = _etd_weights(mode, lin)
            n0 = f0 - lin * y
            ya = e2 * y + a2 * n0
            na = _derivatives(c, ya, syn_mid, rates)[0] - lin * ya
            yb = e2 * y + a2 * na
            nb = _derivatives(c, yb, syn_mid, rates)[0] - lin * yb
            yc = e2 * ya + a2 * (2.0 * nb - n0)
            nc = _derivatives(c, yc, syn_end, rates)[0] - lin * yc
            y_new = e * y + h * ((w1 * n0 + w2 * (na + nb)) + w4 * nc)
        else:
            # The same formulas with lin = 0 (weights 1/6, 1/3, 1/6): classical RK4.
            ya = y + h_half * f0
            na = _derivatives(c, ya, syn_mid, rates)[0]
            yb = y + h_half * na
            nb = _derivatives(c, yb, syn_mid, rates)[0]
            yc = ya + h_half * (2.0 * nb - f0)
            nc = _derivatives(c, yc, syn_end, rates)[0]
            y_new = y + h * ((_SIXTH * f0 + _THIRD * (na + nb)) + _SIXTH * nc)
        # Keep the state's gates in [0, 1] as well (see _derivatives).
        y_new[1:] = np.clip(y_new[1:], 0.0, 1.0)
        first = (crossed_at < 0.0) & (y[0] < c["v_spike"]) & (y_new[0] >= c["v_spike"])
        crossed_at = np.where(first, float(j), crossed_at)
        v_before = np.where(first, y[0], v_before)
        v_after = np.where(first, y_new[0], v_after)
        syn_ex = syn_ex * mode["p_ex_full"]
        syn_in = syn_in * mode["p_in_full"]
        y = y_new
    spiked = crossed_at >= 0.0
    fraction = (c["v_spike"] - v_before) / (v_after - v_before)
    offsets = np.where(spiked, (crossed_at + fraction) * mode["h_seconds"], 0.0)
    return y, syn_ex, syn_in, spiked, offsets


def hh_update(
    c: KernelConstants, state: list[FloatArray], ctx: StepContext, rates: Rates,
    synapses: Synapses,
) -> tuple[npt.NDArray[np.bool_], FloatArray]:
    """One step of a member of the Hodgkin-Huxley family without its input (which the model
    adds to its synaptic variables afterwards): the active neurons with the fine sub-steps, the
    quiet ones with the coarse ones. Returns the spike flags and their offsets (s)."""
    fine = {name: c["fine_" + name] for name in _MODE_NAMES}
    quiet = {name: c["quiet_" + name] for name in _MODE_NAMES}
    v, m, h, n, syn_ex, syn_in = state
    injected: FloatArray | float = 0.0 if ctx.current is None else ctx.current
    y = np.stack([v, m, h, n])
    spiked = np.zeros(v.shape[0], dtype=bool)
    offsets = np.zeros(v.shape[0])
    groups: list[tuple[KernelConstants, npt.NDArray[np.intp] | slice]]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if fine == quiet:
            groups = [(fine, slice(None))]
        else:
            # Active: above v_active, or heading there within the step at the present rate.
            dv = _membrane(c, y, synapses(c, syn_ex, syn_in, injected))[0]
            active = (v > c["v_active"]) | (v + c["dt_ms"] * dv > c["v_active"])
            groups = [(fine, np.flatnonzero(active)), (quiet, np.flatnonzero(~active))]
        for mode, idx in groups:
            inj = injected if np.ndim(injected) == 0 else np.asarray(injected)[idx]
            y_new, ex, inh, spiked_g, offsets_g = _advance(
                c, mode, y[:, idx], syn_ex[idx], syn_in[idx], inj, rates, synapses)
            v[idx], m[idx], h[idx], n[idx] = y_new
            syn_ex[idx], syn_in[idx] = ex, inh
            spiked[idx] = spiked_g
            offsets[idx] = offsets_g
    return spiked, offsets


class HodgkinHuxleyFamily(NeuronModel):
    """What the members of the Hodgkin-Huxley family share: the integration's parameters
    (``max_substep``, ``max_substep_quiet``, ``v_active``), their constants, and the cell's
    (``c_m``, ``g_na``, ``g_k``, ``g_l``, ``e_na``, ``e_k``, ``e_l``, ``i_e``, ``v_spike``). A
    member adds its rate functions and synapses (see ``hh_update``)."""

    precise_spike_times: ClassVar[bool] = True
    #: A variable's relaxation rate above ``stiff_factor / h`` is integrated exponentially
    #: (see ``STIFF_FACTOR``).
    stiff_factor: ClassVar[float] = STIFF_FACTOR

    @classmethod
    def check_params(cls, params: Mapping[str, float]) -> None:
        if params["max_substep_quiet"] < params["max_substep"]:
            raise ModelError(
                f"{cls.__name__}: max_substep_quiet = {params['max_substep_quiet']!r} s is "
                f"shorter than max_substep = {params['max_substep']!r} s; the quiet sub-step "
                "must be at least as long"
            )

    @classmethod
    def n_substeps(cls, max_substep: float, dt: float) -> int:
        """Sub-steps per step of ``dt`` seconds: ceil(dt / max_substep), at least 1."""
        return n_substeps(dt, max_substep)

    @classmethod
    def _mode_constants(
        cls, params: Mapping[str, float], dt: float, max_substep: float, prefix: str
    ) -> KernelConstants:
        n_sub = cls.n_substeps(max_substep, dt)
        h_ms = dt * units.MS_PER_S / n_sub
        tau_ex_ms = params["tau_syn_ex"] * units.MS_PER_S
        tau_in_ms = params["tau_syn_in"] * units.MS_PER_S
        mode = {
            "n_sub": float(n_sub),
            "h": h_ms,
            "h_half": 0.5 * h_ms,
            "h_seconds": dt / n_sub,
            "lambda0": cls.stiff_factor / h_ms,
            "p_ex_half": math.exp(-0.5 * h_ms / tau_ex_ms),
            "p_ex_full": math.exp(-h_ms / tau_ex_ms),
            "p_in_half": math.exp(-0.5 * h_ms / tau_in_ms),
            "p_in_full": math.exp(-h_ms / tau_in_ms),
        }
        return {prefix + name: mode[name] for name in _MODE_NAMES}

    @classmethod
    def family_constants(cls, params: Mapping[str, float], dt: float) -> KernelConstants:
        """The constants every member has: both classes' sub-steps and the cell's."""
        return {
            **cls._mode_constants(params, dt, params["max_substep"], "fine_"),
            **cls._mode_constants(params, dt, params["max_substep_quiet"], "quiet_"),
            "inv_c_m": 1.0 / params["c_m"],
            "g_na": params["g_na"],
            "g_k": params["g_k"],
            "g_l": params["g_l"],
            "e_na": params["e_na"],
            "e_k": params["e_k"],
            "gl_el_ie": params["g_l"] * params["e_l"] + params["i_e"],
            "v_spike": params["v_spike"],
            "v_active": params["v_active"],
            "dt_ms": dt * units.MS_PER_S,
        }


class HodgkinHuxleyNeuron(HodgkinHuxleyFamily):
    r"""Hodgkin-Huxley neuron: the classic squid giant axon (1952), per unit membrane area,
    driven by exponentially decaying synaptic currents.

    Equations (v in mV, t in ms, rates in 1/ms)::

        c_m dv/dt = -g_na m^3 h (v - e_na) - g_k n^4 (v - e_k) - g_l (v - e_l)
                    + i_e + i_syn_ex + i_syn_in
        dx/dt = alpha_x(v) (1 - x) - beta_x(v) x            for the gates x = m, h, n
        alpha_m = 0.1 (v + 40) / (1 - exp(-(v + 40)/10))    beta_m = 4 exp(-(v + 65)/18)
        alpha_h = 0.07 exp(-(v + 65)/20)                    beta_h = 1 / (1 + exp(-(v + 35)/10))
        alpha_n = 0.01 (v + 55) / (1 - exp(-(v + 55)/10))   beta_n = 0.125 exp(-(v + 65)/80)
        di_syn_ex/dt = -i_syn_ex / tau_syn_ex               di_syn_in/dt = -i_syn_in / tau_syn_in

    Units of the parameters: ``c_m`` in µF/cm²; ``g_na``, ``g_k``, ``g_l`` in mS/cm²;
    ``e_na``, ``e_k``, ``e_l`` and ``v_spike`` in mV; ``i_e`` in µA/cm²; ``tau_syn_ex``,
    ``tau_syn_in`` and ``max_substep`` in seconds (converted to ms internally). State: ``v`` in
    mV (starts at -65), the gates ``m``, ``h``, ``n`` dimensionless (start at their steady state
    at -65 mV), the synaptic currents ``i_syn_ex``, ``i_syn_in`` in µA/cm² (start at 0).

    Synaptic weights are currents in µA/cm² (excitatory >= 0, inhibitory <= 0). The weights of
    the spikes arriving in a step are added to ``i_syn_ex`` / ``i_syn_in`` at the end of that
    step, after the membrane has been integrated (as for the LIF models), so a spike acts from
    the next step on; between arrivals the currents decay exactly.

    Integration: at the start of each step a neuron is *active* if v > ``v_active`` or if
    v + dt dv/dt > ``v_active`` (dv/dt at the start of the step), else *quiet*. An active neuron's
    step is split into ``ceil(dt / max_substep)`` equal sub-steps h, a quiet one's into
    ``ceil(dt / max_substep_quiet)``: the slow interspike dynamics tolerate twice the sub-step
    that an upstroke needs, which halves the work for most neurons most of the time. Each
    sub-step is one step of the fourth-order exponential Runge-Kutta method of Cox & Matthews
    (ETDRK4) with a diagonal linear part that holds only the *excess* stiffness: for a variable
    whose own relaxation rate lambda (g_total/c_m for v, alpha + beta for a gate), evaluated at
    the start of the sub-step, exceeds 2.5/h, the part lambda - 2.5/h is integrated exponentially;
    otherwise its linear part is zero. With every linear part zero (nearly always: only spike
    peaks and extreme drive exceed 2.5/h) the sub-step is exactly the classical Runge-Kutta method
    (RK4). So the method has RK4's accuracy in ordinary conditions (spike times within 0.04 ms
    of a tight-tolerance reference over 0.5 s at dt = 1 ms with the default sub-steps) and stays
    stable for stiff states (strong hyperpolarisation, large currents), where explicit RK4 would
    blow up. The synaptic currents enter the stages at their exact values at the stage times.
    The rate functions are evaluated with one exponential per stage (see ``_derivatives``).

    Robustness: under drive far beyond anything physiological (kicks of thousands of µA/cm²,
    which move v by volts) the rates are evaluated at v limited to +-1000 mV, the gates are
    evaluated clipped to [0, 1] and kept there, and a sub-step in which v would move by more
    than 20 mV also uses the membrane's rate at Euler-predicted gates; the result then still
    follows a stiff solver closely. In ordinary spiking only a few intermediate stage values
    near spike peaks are clipped (by up to ~0.01), with no measurable effect on accuracy.

    Spikes: a spike is an upward crossing of ``v_spike`` during a sub-step; its time is
    interpolated linearly within that sub-step and returned as an offset in seconds from the
    start of the step. At most one spike per step is reported (the first crossing): the
    refractoriness of the model (several ms) makes a second one within a step of 1 ms or less
    impossible under physiological drive.
    """

    name: ClassVar[str] = "hodgkin_huxley"
    rust_kernel: ClassVar[str | None] = "hodgkin_huxley"
    weight_unit: ClassVar[str] = "µA/cm²"
    current_unit: ClassVar[str | None] = "µA/cm²"

    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("c_m", 1.0, "µF/cm²", "membrane capacitance", low=0.0, low_inclusive=False),
        Parameter("g_na", 120.0, "mS/cm²", "maximal sodium conductance", low=0.0),
        Parameter("g_k", 36.0, "mS/cm²", "maximal potassium conductance", low=0.0),
        Parameter("g_l", 0.3, "mS/cm²", "leak conductance", low=0.0),
        Parameter("e_na", 50.0, "mV", "sodium reversal potential"),
        Parameter("e_k", -77.0, "mV", "potassium reversal potential"),
        Parameter("e_l", -54.387, "mV", "leak reversal potential"),
        Parameter(
            "tau_syn_ex",
            0.002,
            "s",
            "decay time constant of the excitatory synaptic current",
            low=0.0,
            low_inclusive=False,
            plausible=units.TIME_CONSTANT,
        ),
        Parameter(
            "tau_syn_in",
            0.002,
            "s",
            "decay time constant of the inhibitory synaptic current",
            low=0.0,
            low_inclusive=False,
            plausible=units.TIME_CONSTANT,
        ),
        Parameter("i_e", 0.0, "µA/cm²", "constant bias current"),
        Parameter("v_spike", 0.0, "mV", "a spike is an upward crossing of this potential"),
        Parameter(
            "max_substep",
            1.25e-4,
            "s",
            "longest integration sub-step of an active neuron (see v_active)",
            low=0.0,
            low_inclusive=False,
            plausible=units.TIME_CONSTANT,
        ),
        Parameter(
            "max_substep_quiet",
            2.5e-4,
            "s",
            "longest integration sub-step of a quiet neuron (see v_active)",
            low=0.0,
            low_inclusive=False,
            plausible=units.TIME_CONSTANT,
        ),
        Parameter(
            "v_active",
            -55.0,
            "mV",
            "a neuron is active in a step (integrated with max_substep) if v is above this "
            "potential or would reach it within the step at its present rate of change",
        ),
    )

    state_variables: ClassVar[tuple[StateVariable, ...]] = (
        StateVariable("v", "mV", "membrane potential", V_INIT),
        StateVariable("m", "1", "sodium activation gate", _M_INIT),
        StateVariable("h", "1", "sodium inactivation gate", _H_INIT),
        StateVariable("n", "1", "potassium activation gate", _N_INIT),
        StateVariable("i_syn_ex", "µA/cm²", "excitatory synaptic current", 0.0),
        StateVariable("i_syn_in", "µA/cm²", "inhibitory synaptic current", 0.0),
    )

    @classmethod
    def constants(cls, params: Mapping[str, float], dt: float) -> KernelConstants:
        return {
            **cls.family_constants(params, dt),
            # exp(-(v + 40)/10), exp(-(v + 35)/10) and exp(-(v + 55)/10) as exp(-(v + 65)/10)
            # times these.
            "k_m": math.exp(2.5),
            "k_h": math.exp(3.0),
            "k_n": math.exp(1.0),
        }

    @classmethod
    def update(
        cls,
        constants: KernelConstants,
        state: list[FloatArray],
        input_ex: FloatArray,
        input_in: FloatArray,
        ctx: StepContext,
    ) -> tuple[npt.NDArray[np.bool_], FloatArray | None]:
        spiked, offsets = hh_update(constants, state, ctx, squid_rates, current_synapses)
        state[4] += input_ex
        state[5] += input_in
        return spiked, offsets
