"""Fixed sub-steps for models integrated numerically within a step (the conductance-based
integrate-and-fire models): how many, and the exact decay of an exponential conductance over
half and a whole sub-step, so that both engines use the same numbers."""

from __future__ import annotations

import math
from collections.abc import Mapping

from .. import units

#: A sub-step is at most this fraction of the shortest synaptic time constant: the
#: conductances are exact at every stage, and the membrane's Runge-Kutta stages then resolve
#: their decay to well below 0.01 mV.
SUBSTEP_PER_TAU_SYN = 1.0 / 8.0


def n_substeps(dt: float, max_substep: float) -> int:
    """Sub-steps per step of ``dt`` seconds: ceil(dt / max_substep), at least 1."""
    ratio = dt / max_substep
    # A ratio a hair above an integer from rounding (1e-3 / 1.25e-4) is that integer.
    return max(1, math.ceil(ratio - 1e-9 * ratio))


def conductance_substeps(params: Mapping[str, float], dt: float) -> dict[str, float]:
    """Sub-step constants of a model with exponential conductances ``tau_syn_ex`` and
    ``tau_syn_in`` (s) and a ``max_substep`` (s): the count ``n_sub``, the sub-step ``h`` in ms
    and its half and sixth, and the conductances' decay over half and a whole sub-step."""
    longest = min(params["max_substep"], SUBSTEP_PER_TAU_SYN * params["tau_syn_ex"],
                  SUBSTEP_PER_TAU_SYN * params["tau_syn_in"])
    n_sub = n_substeps(dt, longest)
    h = dt * units.MS_PER_S / n_sub
    tau_ex, tau_in = params["tau_syn_ex"] * units.MS_PER_S, params["tau_syn_in"] * units.MS_PER_S
    return {
        "n_sub": float(n_sub),
        "h": h,
        "h_half": 0.5 * h,
        "h_sixth": h / 6.0,
        "p_ex_half": math.exp(-0.5 * h / tau_ex),
        "p_ex_full": math.exp(-h / tau_ex),
        "p_in_half": math.exp(-0.5 * h / tau_in),
        "p_in_full": math.exp(-h / tau_in),
    }
