"""Every Rust kernel reproduces its numpy kernel (the executable specification) on the same
inputs: the same spikes, and the same state to the bit where the arithmetic is the same
(no transcendental function per neuron), else to round-off."""

from __future__ import annotations

import numpy as np
import pytest

import spikeshard as ss
from spikeshard import _engine
from spikeshard.models.base import StepContext

#: Model, parameters, input weight scales (ex, in), whether the bits must agree, state noise.
CASES = {
    "izhikevich": (ss.models.Izhikevich, {"i_e": 5.0}, (4.0, -4.0), True),
    "lif_cond": (ss.models.LIFCond, {"i_e": 250.0, "tau_syn_ex": 0.005, "tau_syn_in": 0.01},
                 (8.0, -30.0), True),
    "lif_cond_fast_synapses": (ss.models.LIFCond, {"i_e": 420.0}, (30.0, -60.0), True),
    "adex": (ss.models.AdEx, {"i_e": 1500.0, "t_ref": 0.0005}, (20.0, -40.0), False),
    "adex_no_exponential": (ss.models.AdEx, {"i_e": 1500.0, "delta_t": 0.0, "t_ref": 0.0},
                            (20.0, -40.0), False),
}


def _initial(model, params, n, rng):
    initial = model.initial_values(params)
    state = [np.full(n, initial[name]) for name in model.state_names()]
    state[0] = state[0] + rng.uniform(-5.0, 5.0, n)
    return state


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dt", [1e-4, 1e-3])
def test_rust_kernel_reproduces_numpy_kernel(case, dt):
    model, given, (scale_ex, scale_in), exact = CASES[case]
    params = model.resolve_params(given)
    constants = model.constants(params, dt)
    n, steps = 40, int(round(0.1 / dt))
    rng = np.random.default_rng(1)
    inputs_ex = scale_ex * rng.exponential(1.0, (steps, n)) * (rng.random((steps, n)) < 0.2)
    inputs_in = scale_in * rng.exponential(1.0, (steps, n)) * (rng.random((steps, n)) < 0.1)
    if model.receptors == 1:
        inputs_ex, inputs_in = inputs_ex + inputs_in, np.zeros((steps, n))
    state = _initial(model, params, n, rng)
    gids = np.arange(n, dtype=np.uint32)
    rust_state, rust_flags, _ = _engine.step_kernel(
        model.rust_kernel, constants, np.array(state), inputs_ex, inputs_in, gids)
    numpy_flags = []
    for s in range(steps):
        ctx = StepContext(step=s, dt=dt, gids=gids, key=0)
        input_in = inputs_in[s].copy() if model.receptors == 2 else np.zeros(0)
        spiked, _ = model.update(constants, state, inputs_ex[s].copy(), input_in, ctx)
        numpy_flags.append(spiked)
    assert np.asarray(numpy_flags).sum() > 20
    np.testing.assert_array_equal(rust_flags.astype(bool), np.asarray(numpy_flags))
    for name, rust, numpy in zip(model.state_names(), rust_state, state, strict=True):
        if exact:
            np.testing.assert_array_equal(rust, numpy, err_msg=name)
        else:
            np.testing.assert_allclose(rust, numpy, rtol=1e-9, atol=1e-9, err_msg=name)
