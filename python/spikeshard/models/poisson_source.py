"""``PoissonSource``: a population of independent Poisson spike generators."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from .. import rng
from .base import FloatArray, KernelConstants, NeuronModel, Parameter, StepContext


class PoissonSource(NeuronModel):
    """Independent Poisson spike generators firing at ``rate_hz`` (Hz).

    Each generator emits at most one spike per step, with probability
    ``1 - exp(-rate_hz * dt)`` — the chance that the Poisson process has at least one event
    in the step — so keep ``rate_hz * dt`` small. Takes no synaptic input; project from it
    to drive other populations with delays and weights of your choice.
    """

    name = "poisson_source"
    rust_kernel = "poisson_source"
    receives_input = False
    receptors = 1
    parameters = (Parameter("rate_hz", 10.0, "Hz", "firing rate", low=0.0),)
    state_variables = ()

    @classmethod
    def constants(cls, params: Mapping[str, float], dt: float) -> KernelConstants:
        return {"p_spike": -math.expm1(-params["rate_hz"] * dt)}

    @classmethod
    def update(cls, constants: KernelConstants, state: list[FloatArray], input_ex: FloatArray,
               input_in: FloatArray, ctx: StepContext
               ) -> tuple[npt.NDArray[np.bool_], FloatArray | None]:
        u = rng.uniform(rng.bits(rng.subkey(ctx.key, ctx.step), ctx.gids))
        return u < constants["p_spike"], None
