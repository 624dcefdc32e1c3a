"""The Rust neuron kernels (rust/src/nengo/neurons.rs) against nengo's own ``NeuronType.step``.

numpy evaluates ``exp``, ``expm1``, ``log1p`` and ``tanh`` with its own SIMD routines where the
CPU has them, a few ulp from libm; the LIF family's kernels use spikeshard's own vectorisable
``expm1``/``log1p`` (rust/src/engine/fastmath.rs, within an ulp of libm). The in-process comparisons
allow ``1e-12``; spike outputs must be identical. ``test_bit_identical_with_numpy_on_libm``
reruns them with numpy's SIMD dispatch disabled and then requires every bit to agree for the
kernels that call libm as numpy does.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nengo
import numpy as np
import pytest

from spikeshard import _engine
from spikeshard.nengo.neurons import NeuronSpec, neuron_spec

DT = 0.001  # seconds
N = 300
N_STEPS = 200

Init = Callable[[np.random.Generator, int], dict[str, np.ndarray]]


def _lif_state(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    # Refractory times around dt and tau_ref: whole, partial and no refractory steps.
    return {
        "voltage": rng.uniform(-0.5, 1.0, n),
        "refractory_time": rng.choice([0.0, 0.0005, 0.0015, 0.0025, 0.004], n),
    }


def _alif_state(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    return {**_lif_state(rng, n), "adaptation": rng.uniform(0.0, 2.0, n)}


def _voltage(low: float, high: float) -> Init:
    return lambda rng, n: {"voltage": rng.uniform(low, high, n)}


def _none(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    return {}


# (neuron type, input range, initial states). Parameters are non-default and distinct, so a
# parameter passed in the wrong order changes the result.
CASES: list[tuple[nengo.neurons.NeuronType, tuple[float, float], Init]] = [
    (nengo.LIF(tau_rc=0.03, tau_ref=0.004, min_voltage=-0.7, amplitude=0.4), (-3, 8), _lif_state),
    (
        nengo.LIF(tau_rc=0.01, tau_ref=0.0015, min_voltage=-np.inf, amplitude=2.5),
        (-3, 30),
        _lif_state,
    ),
    (nengo.LIFRate(tau_rc=0.03, tau_ref=0.004, amplitude=0.4), (-3, 8), _none),
    (nengo.LIFRate(tau_rc=0.01, tau_ref=0.0, amplitude=2.5), (-3, 30), _none),
    (
        nengo.AdaptiveLIF(
            tau_n=0.05, inc_n=0.3, tau_rc=0.03, tau_ref=0.004, min_voltage=-0.7, amplitude=0.4
        ),
        (-3, 8),
        _alif_state,
    ),
    (
        nengo.AdaptiveLIF(
            tau_n=2.0, inc_n=0.002, tau_rc=0.01, tau_ref=0.0015, min_voltage=-2.0, amplitude=2.5
        ),
        (-3, 30),
        _alif_state,
    ),
    (
        nengo.AdaptiveLIFRate(tau_n=0.05, inc_n=0.3, tau_rc=0.03, tau_ref=0.004, amplitude=0.4),
        (-3, 8),
        lambda rng, n: {"adaptation": rng.uniform(0.0, 2.0, n)},
    ),
    (
        nengo.AdaptiveLIFRate(tau_n=2.0, inc_n=0.002, tau_rc=0.01, tau_ref=0.0015, amplitude=2.5),
        (-3, 30),
        lambda rng, n: {"adaptation": rng.uniform(0.0, 2.0, n)},
    ),
    (nengo.RectifiedLinear(amplitude=0.3), (-50, 400), _none),
    (nengo.SpikingRectifiedLinear(amplitude=0.3), (-50, 400), _voltage(0, 1)),
    (nengo.SpikingRectifiedLinear(amplitude=1.7), (-20, 2500), _voltage(0, 1)),
    (nengo.Sigmoid(tau_ref=0.004), (-6, 6), _none),
    (nengo.Tanh(tau_ref=0.0015), (-3, 3), _none),
    (
        nengo.Izhikevich(),
        (-40, 25),
        lambda rng, n: {"voltage": rng.uniform(-80, 29, n), "recovery": rng.uniform(-20, 5, n)},
    ),
    (
        nengo.Izhikevich(tau_recovery=0.1, coupling=0.26, reset_voltage=-55.0, reset_recovery=4.0),
        (-40, 25),
        lambda rng, n: {"voltage": rng.uniform(-80, 29, n), "recovery": rng.uniform(-20, 5, n)},
    ),
    # RegularSpiking's input is a rate (Hz), negative for bases such as Tanh.
    (nengo.RegularSpiking(nengo.LIFRate(), amplitude=0.6), (-200, 900), _voltage(-1, 1)),
    (nengo.RegularSpiking(nengo.AdaptiveLIFRate(), amplitude=2.0), (0, 400), _voltage(0, 1)),
]
IDS = [f"{i}-{type(nt).__name__}" for i, (nt, _, _) in enumerate(CASES)]


def calls_libm_as_numpy(case: int) -> bool:
    """Whether the kernel's math is libm's (as numpy's without SIMD), so every bit must agree;
    the LIF family's ``expm1``/``log1p`` are spikeshard's own, within an ulp of libm's."""
    return not isinstance(CASES[case][0], nengo.LIFRate | nengo.LIF)


def _step_rust(
    spec: NeuronSpec, j: np.ndarray, out: np.ndarray, state: dict[str, np.ndarray], n_steps: int = 1
) -> None:
    _engine.nengo_step_neurons(
        spec.name, list(spec.params), DT, j, out, [state[s] for s in spec.states], n_steps
    )


def _check(
    nengo_out: np.ndarray,
    rust_out: np.ndarray,
    nengo_state: dict[str, np.ndarray],
    rust_state: dict[str, np.ndarray],
    spiking: bool,
    exact: bool,
) -> None:
    if spiking or exact:
        np.testing.assert_array_equal(rust_out, nengo_out)
    else:
        np.testing.assert_allclose(rust_out, nengo_out, rtol=1e-12, atol=1e-12)
    for name, value in nengo_state.items():
        if exact:
            np.testing.assert_array_equal(rust_state[name], value, err_msg=name)
        else:
            np.testing.assert_allclose(
                rust_state[name], value, rtol=1e-12, atol=1e-12, err_msg=name
            )


def compare_varying_input(case: int, exact: bool = False) -> np.ndarray:
    """Steps nengo and Rust side by side with a new random input each step; returns the outputs
    (steps x neurons)."""
    nt, (low, high), init = CASES[case]
    spec = neuron_spec(nt)
    assert spec is not None
    rng = np.random.default_rng(case)
    nengo_state = init(rng, N)
    assert set(spec.states) == set(nengo_state)
    rust_state = {k: v.copy() for k, v in nengo_state.items()}
    nengo_out, rust_out = np.zeros(N), np.zeros(N)
    outputs = np.zeros((N_STEPS, N))
    for t in range(N_STEPS):
        j = rng.uniform(low, high, N)
        with np.errstate(divide="ignore", invalid="ignore"):
            nt.step(DT, j, nengo_out, **nengo_state)
        _step_rust(spec, j, rust_out, rust_state)
        _check(nengo_out, rust_out, nengo_state, rust_state, nt.spiking, exact)
        outputs[t] = nengo_out
    return outputs


def compare_constant_input(case: int, exact: bool = False) -> None:
    """Runs N_STEPS steps of nengo against one Rust call of N_STEPS steps at constant input."""
    nt, (low, high), init = CASES[case]
    spec = neuron_spec(nt)
    assert spec is not None
    rng = np.random.default_rng(1000 + case)
    nengo_state = init(rng, N)
    rust_state = {k: v.copy() for k, v in nengo_state.items()}
    j = rng.uniform(low, high, N)
    nengo_out, rust_out = np.zeros(N), np.zeros(N)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(N_STEPS):
            nt.step(DT, j, nengo_out, **nengo_state)
    _step_rust(spec, j, rust_out, rust_state, N_STEPS)
    _check(nengo_out, rust_out, nengo_state, rust_state, nt.spiking, exact)


@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
def test_kernel_matches_nengo_step(case):
    outputs = compare_varying_input(case)
    nt = CASES[case][0]
    # The inputs reach both sides of every threshold, so the comparison covers both branches.
    if nt.spiking:
        spiked = outputs != 0
        assert spiked.any(axis=0).sum() > N // 4, "too few neurons spiked"
        assert spiked.sum() > 200 and spiked.mean() < 0.9
    elif not isinstance(nt, nengo.Tanh | nengo.Sigmoid):
        assert 0.1 < (outputs > 0).mean() < 0.9


@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
def test_kernel_matches_nengo_step_over_many_steps(case):
    compare_constant_input(case)


def _numpy_dispatch_targets() -> list[str]:
    """numpy's SIMD targets above its baseline (private API: numpy._core in 2.x, numpy.core
    in 1.x)."""
    core = getattr(np, "_core", None) or getattr(np, "core", None)
    return list(getattr(getattr(core, "_multiarray_umath", None), "__cpu_dispatch__", []))


_EXACT_SCRIPT = """
import math, sys
import numpy as np
x = np.random.default_rng(0).uniform(-3, 3, 10000)
for f in ("exp", "expm1", "log1p", "tanh"):
    v = x if f != "log1p" else np.abs(x)
    if not (getattr(np, f)(v) == np.array([getattr(math, f)(e) for e in v])).all():
        sys.exit(77)  # numpy does not call libm here: no bitwise comparison possible
from tests.nengo import test_neuron_kernels as t
for case in range(len(t.CASES)):
    exact = t.calls_libm_as_numpy(case)
    t.compare_varying_input(case, exact=exact)
    t.compare_constant_input(case, exact=exact)
"""


@pytest.mark.skipif(
    platform.machine() not in ("x86_64", "AMD64"), reason="numpy dispatch targets named for x86"
)
def test_bit_identical_with_numpy_on_libm():
    targets = _numpy_dispatch_targets()
    if not targets:
        pytest.skip("cannot list numpy's SIMD dispatch targets")
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(targets)}
    result = subprocess.run(
        [sys.executable, "-c", _EXACT_SCRIPT],
        env=env,
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == 77:
        pytest.skip("numpy's scalar math differs from libm on this platform")
    assert result.returncode == 0, result.stderr[-3000:]


def test_regular_spiking_is_two_operators_each_with_a_spec():
    """nengo builds RegularSpiking(base) as the base type's operator and its own."""
    with nengo.Network() as net:
        nengo.Ensemble(10, 1, neuron_type=nengo.RegularSpiking(nengo.AdaptiveLIFRate()))
        nengo.Ensemble(10, 1, neuron_type=nengo.AdaptiveLIF())
    with nengo.Simulator(net, progress_bar=False) as sim:
        ops = [op for op in sim.model.operators if isinstance(op, nengo.builder.neurons.SimNeurons)]
    specs = {type(op.neurons).__name__: (neuron_spec(op.neurons), op) for op in ops}
    assert sorted(specs) == ["AdaptiveLIF", "AdaptiveLIFRate", "RegularSpiking"]
    for spec, op in specs.values():
        assert spec is not None
        assert spec.states == tuple(op.state), "states in the order nengo's operator holds them"
    assert specs["RegularSpiking"][0] == NeuronSpec("RegularSpiking", (1.0,), ("voltage",))
    assert specs["AdaptiveLIFRate"][0].states == ("adaptation",)


class _MyLIF(nengo.LIF):
    def step(self, dt, J, output, voltage, refractory_time):
        super().step(dt, 2 * J, output, voltage, refractory_time)


@pytest.mark.parametrize(
    "nt",
    [
        nengo.StochasticSpiking(nengo.LIFRate()),
        nengo.PoissonSpiking(nengo.LIFRate()),
        nengo.Direct(),
        _MyLIF(),
    ],
    ids=["StochasticSpiking", "PoissonSpiking", "Direct", "LIF-subclass"],
)
def test_unsupported_types_have_no_spec(nt):
    assert neuron_spec(nt) is None


def test_spec_reads_parameters_in_constructor_order():
    spec = neuron_spec(
        nengo.AdaptiveLIF(
            tau_n=1.5, inc_n=0.2, tau_rc=0.03, tau_ref=0.004, min_voltage=-0.7, amplitude=0.4
        )
    )
    assert spec == NeuronSpec(
        "AdaptiveLIF",
        (1.5, 0.2, 0.03, 0.004, -0.7, 0.4),
        ("voltage", "refractory_time", "adaptation"),
    )


def test_binding_rejects_bad_arguments():
    j, out, v, r = np.ones(4), np.zeros(4), np.zeros(4), np.zeros(4)
    lif = [0.02, 0.002, 0.0, 1.0]
    with pytest.raises(ValueError, match="not supported"):
        _engine.nengo_step_neurons("PoissonSpiking", [1.0], DT, j, out, [], 1)
    with pytest.raises(ValueError, match="takes 4 parameters"):
        _engine.nengo_step_neurons("LIF", lif[:3], DT, j, out, [v, r], 1)
    with pytest.raises(ValueError, match="state arrays"):
        _engine.nengo_step_neurons("LIF", lif, DT, j, out, [v], 1)
    with pytest.raises(ValueError, match="length"):
        _engine.nengo_step_neurons("LIF", lif, DT, j, out, [v, np.zeros(3)], 1)
    with pytest.raises(ValueError, match="contiguous"):
        _engine.nengo_step_neurons("LIF", lif, DT, j, np.zeros(8)[::2], [v, r], 1)
    # Nothing was stepped by the rejected calls.
    assert not out.any() and not v.any()
    _engine.nengo_step_neurons("LIF", lif, DT, 3 * j, out, [v, r], 1)
    assert (v > 0).all()
