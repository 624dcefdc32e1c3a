"""The Hodgkin-Huxley model against a tight-tolerance scipy reference, run through its numpy
kernel (the specification the Rust kernel reproduces).

``run_kernel`` / ``simulate`` drive ``HodgkinHuxleyNeuron.update`` step by step and return spike
times; they take the kernel constants, so the same checks can be run through another engine.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from spikeshard.errors import ModelError
from spikeshard.models.base import StepContext
from spikeshard.models.hodgkin_huxley import HodgkinHuxleyNeuron, rate_functions
from spikeshard.units import seconds

HH = HodgkinHuxleyNeuron
DURATION = 0.5
#: Spike times must match the reference within this (s) over DURATION.
TOLERANCE = 1e-4
#: Effectively constant synaptic current: exp(-h / TAU_CONSTANT) rounds to 1.0 for any sub-step.
TAU_CONSTANT = seconds(1e20)  # stated in seconds: far beyond any plausible time constant


def run_kernel(
    constants: np.ndarray,
    n_steps: int,
    dt: float,
    state: Sequence[np.ndarray],
    input_ex: np.ndarray | None = None,
    input_in: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Advances ``state`` (modified in place) by ``n_steps`` steps of ``dt`` seconds with the
    numpy kernel; ``input_ex``/``input_in`` (shape (n_steps, n), µA/cm²) are the per-step
    inputs (none if omitted). Returns the spike times (s) of each neuron."""
    state = list(state)
    n = state[0].shape[0]
    zeros = np.zeros(n)
    ctx = StepContext(step=0, dt=dt, gids=np.arange(n, dtype=np.uint32), key=0)
    times: list[list[float]] = [[] for _ in range(n)]
    for step in range(n_steps):
        ctx.step = step
        ex = zeros if input_ex is None else input_ex[step]
        inh = zeros if input_in is None else input_in[step]
        spiked, offsets = HH.update(constants, state, ex, inh, ctx)
        assert offsets is not None
        for k in np.flatnonzero(spiked):
            times[k].append(step * dt + offsets[k])
    return [np.array(t) for t in times]


def initial_state(params: Mapping[str, float], n: int) -> list[np.ndarray]:
    init = HH.initial_values(params)
    return [np.full(n, init[name]) for name in HH.state_names()]


def simulate(
    currents: Sequence[float], dt: float, duration: float = DURATION, **params: float
) -> list[np.ndarray]:
    """Spike times (s) of one neuron per constant current (µA/cm²), all run as one population:
    the current is held in ``i_syn_ex`` with an infinite decay time, which the kernel adds to the
    membrane current exactly as it adds ``i_e``."""
    resolved = HH.resolve_params({**params, "tau_syn_ex": TAU_CONSTANT})
    state = initial_state(resolved, len(currents))
    state[4][:] = currents
    return run_kernel(HH.constants(resolved, dt), round(duration / dt), dt, state)


@functools.cache
def reference_spikes(i_e: float, duration: float = DURATION, v_spike: float = 0.0) -> np.ndarray:
    """Upward crossings of v_spike (s) from scipy's DOP853 at rtol 1e-10, atol 1e-12."""
    from scipy.integrate import solve_ivp

    p = HH.resolve_params({})

    def rhs(_t: float, y: np.ndarray) -> list[float]:
        v, m, h, n = y
        am, bm, ah, bh, an, bn = (float(r) for r in rate_functions(v))
        i_ion = (
            p["g_na"] * m**3 * h * (v - p["e_na"])
            + p["g_k"] * n**4 * (v - p["e_k"])
            + p["g_l"] * (v - p["e_l"])
        )
        return [
            (i_e - i_ion) / p["c_m"],
            am * (1 - m) - bm * m,
            ah * (1 - h) - bh * h,
            an * (1 - n) - bn * n,
        ]

    def crossing(_t: float, y: np.ndarray) -> float:
        return y[0] - v_spike

    crossing.direction = 1  # type: ignore[attr-defined]
    init = HH.initial_values(p)
    y0 = [init["v"], init["m"], init["h"], init["n"]]
    sol = solve_ivp(
        rhs,
        (0.0, duration * 1e3),
        y0,
        method="DOP853",
        rtol=1e-10,
        atol=1e-12,
        events=crossing,
    )
    assert sol.success
    return sol.t_events[0] * 1e-3


def assert_matches_reference(times: np.ndarray, i_e: float, duration: float = DURATION) -> None:
    """Same spikes as the reference and each within TOLERANCE. Spikes in the last millisecond
    are left out: an error of a few µs may move one across the end of the run."""
    expected = reference_spikes(i_e, duration)
    got = times[times < duration - 1e-3]
    expected = expected[expected < duration - 1e-3]
    assert len(got) == len(expected), (i_e, len(got), len(expected))
    if len(expected):
        worst = np.max(np.abs(got - expected))
        assert worst < TOLERANCE, f"i_e={i_e}: spike times off by up to {worst * 1e3:.4f} ms"


@pytest.mark.parametrize("i_e", [5.0, 10.0, 20.0, 50.0])
def test_spike_times_match_reference_at_dt_1ms(i_e):
    """The bias current i_e itself, at the coarsest supported step."""
    dt = 1e-3
    params = HH.resolve_params({"i_e": i_e})
    state = initial_state(params, 1)
    (times,) = run_kernel(HH.constants(params, dt), round(DURATION / dt), dt, state)
    assert len(times) >= 1
    assert_matches_reference(times, i_e)


@pytest.mark.slow
def test_spike_times_match_reference_at_dt_10us():
    currents = [5.0, 10.0, 20.0, 50.0]
    for i_e, times in zip(currents, simulate(currents, dt=1e-5), strict=True):
        assert_matches_reference(times, i_e)


def test_constant_synaptic_current_is_the_same_as_i_e():
    """The device ``simulate`` relies on: bit for bit the same trajectory."""
    dt, steps = 1e-3, 60
    with_ie = HH.resolve_params({"i_e": 12.0})
    with_syn = HH.resolve_params({"tau_syn_ex": TAU_CONSTANT})
    a = initial_state(with_ie, 1)
    b = initial_state(with_syn, 1)
    b[4][:] = 12.0
    spikes_a = run_kernel(HH.constants(with_ie, dt), steps, dt, a)
    spikes_b = run_kernel(HH.constants(with_syn, dt), steps, dt, b)
    for x, y in zip(a[:4], b[:4], strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(spikes_a[0], spikes_b[0])


def test_fi_curve_is_monotonic():
    """Firing rate over 0-100 µA/cm². Spikes are counted at -30 mV here: above about
    63 µA/cm² the repetitive spikes of the squid axon no longer reach 0 mV (they shrink towards
    depolarisation block at ~154 µA/cm²), so counting 0 mV crossings would drop."""
    currents = [0.0, 2.5, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 75.0, 100.0]
    rates = [len(t) / DURATION for t in simulate(currents, dt=1e-3, v_spike=-30.0)]
    assert rates[0] == 0.0
    assert np.all(np.diff(rates) >= 0.0), rates
    assert rates[-1] > 100.0


def test_rest_is_steady_and_silent():
    dt = 1e-3
    params = HH.resolve_params({})
    state = initial_state(params, 3)
    spikes = run_kernel(HH.constants(params, dt), 200, dt, state)
    assert all(len(t) == 0 for t in spikes)
    # -65 mV is within 4 µV of the resting potential of these parameters.
    np.testing.assert_allclose(state[0], -65.0, atol=0.01)


def test_initial_gates_are_at_steady_state():
    init = HH.initial_values(HH.resolve_params({}))
    am, bm, ah, bh, an, bn = rate_functions(-65.0)
    assert init["v"] == -65.0
    assert init["m"] == pytest.approx(am / (am + bm), rel=1e-12)
    assert init["h"] == pytest.approx(ah / (ah + bh), rel=1e-12)
    assert init["n"] == pytest.approx(an / (an + bn), rel=1e-12)
    assert init["i_syn_ex"] == init["i_syn_in"] == 0.0


def test_input_acts_from_the_next_step_and_decays_exactly():
    dt, w, tau = 1e-3, 3.0, 0.004
    params = HH.resolve_params({"tau_syn_ex": tau})
    c = HH.constants(params, dt)
    kicked = initial_state(params, 1)
    quiet = initial_state(params, 1)
    inputs = np.zeros((1, 1))
    inputs[0, 0] = w
    run_kernel(c, 1, dt, kicked, input_ex=inputs)
    run_kernel(c, 1, dt, quiet)
    assert kicked[0][0] == quiet[0][0]  # the membrane has not seen the input yet
    assert kicked[4][0] == w
    run_kernel(c, 5, dt, kicked)
    assert kicked[4][0] == pytest.approx(w * math.exp(-5 * dt / tau), rel=1e-13)
    assert kicked[0][0] > quiet[0][0]


def test_offsets_lie_within_the_step():
    dt = 1e-3
    params = HH.resolve_params({"i_e": 30.0})
    c = HH.constants(params, dt)
    state = initial_state(params, 1)
    ctx = StepContext(step=0, dt=dt, gids=np.zeros(1, dtype=np.uint32), key=0)
    zeros = np.zeros(1)
    n_spikes = 0
    for _ in range(200):
        spiked, offsets = HH.update(c, state, zeros, zeros, ctx)
        assert offsets is not None
        assert np.all((offsets >= 0.0) & (offsets < dt))
        assert np.all(offsets[~spiked] == 0.0)
        n_spikes += int(spiked.sum())
    assert n_spikes > 5


@pytest.mark.parametrize("dt", [1e-3, 1e-4])
def test_extreme_kicks_follow_a_stiff_reference(dt):
    """Single synaptic kicks of hundreds to thousands of µA/cm² (far beyond anything
    physiological: v swings by volts) stay finite, keep the gates in [0, 1] and, 20 ms later,
    agree with scipy's stiff solver (Radau), which gets the same rate functions, evaluated with
    v limited to +-1000 mV as in the model."""
    from scipy.integrate import solve_ivp

    kicks = [-500.0, 500.0, 5000.0, -5000.0]
    params = HH.resolve_params({})
    state = initial_state(params, len(kicks))
    steps = round(0.02 / dt)
    inputs_ex = np.zeros((steps, len(kicks)))
    inputs_in = np.zeros((steps, len(kicks)))
    inputs_ex[0] = np.maximum(kicks, 0.0)
    inputs_in[0] = np.minimum(kicks, 0.0)
    run_kernel(HH.constants(params, dt), steps, dt, state, inputs_ex, inputs_in)
    for x in state:
        assert np.all(np.isfinite(x))
    for gate in state[1:4]:
        assert np.all((gate >= 0.0) & (gate <= 1.0))

    tau_ms = params["tau_syn_ex"] * 1e3

    def rhs(_t: float, y: np.ndarray) -> list[float]:
        v, m, h, n, i_syn = y
        am, bm, ah, bh, an, bn = (float(r) for r in rate_functions(min(max(v, -1e3), 1e3)))
        i_ion = (
            params["g_na"] * m**3 * h * (v - params["e_na"])
            + params["g_k"] * n**4 * (v - params["e_k"])
            + params["g_l"] * (v - params["e_l"])
        )
        return [
            (i_syn - i_ion) / params["c_m"],
            am * (1 - m) - bm * m,
            ah * (1 - h) - bh * h,
            an * (1 - n) - bn * n,
            -i_syn / tau_ms,
        ]

    init = HH.initial_values(params)
    for k, kick in enumerate(kicks):
        # The kick arrives at the end of the first step and acts from then on.
        y0 = [init["v"], init["m"], init["h"], init["n"], kick]
        sol = solve_ivp(rhs, (dt * 1e3, 20.0), y0, method="Radau", rtol=1e-9, atol=1e-9)
        assert sol.success
        assert state[0][k] == pytest.approx(sol.y[0][-1], abs=0.5), kick


def test_substep_counts():
    params = HH.resolve_params({})
    assert HH.n_substeps(params["max_substep"], 1e-3) == 8
    assert HH.n_substeps(params["max_substep_quiet"], 1e-3) == 4
    assert HH.n_substeps(params["max_substep"], 1e-4) == 1
    assert HH.n_substeps(params["max_substep"], 1e-5) == 1


def test_parameter_validation():
    with pytest.raises(ModelError, match="c_m"):
        HH.resolve_params({"c_m": 0.0})
    with pytest.raises(ModelError, match="g_k"):
        HH.resolve_params({"g_k": -1.0})
    with pytest.raises(ModelError, match="tau_syn_in"):
        HH.resolve_params({"tau_syn_in": 0.0})
    with pytest.raises(ModelError, match="max_substep_quiet"):
        HH.resolve_params({"max_substep": 1e-4, "max_substep_quiet": 5e-5})
    with pytest.raises(ModelError, match="no parameter"):
        HH.resolve_params({"tau_m": 0.01})


def test_model_metadata():
    assert HH.name == "hodgkin_huxley"
    assert HH.rust_kernel == "hodgkin_huxley"
    assert HH.weight_unit == "µA/cm²"
    assert HH.precise_spike_times
    assert HH.state_names() == ("v", "m", "h", "n", "i_syn_ex", "i_syn_in")
    c = HH.constants(HH.resolve_params({}), 1e-3)
    assert all(isinstance(value, float) for value in c.values()), c


# Through the Network API, on both engines.


@pytest.mark.parametrize(("backend", "dt"), [("rust", 1e-3), ("rust", 1e-5), ("numpy", 1e-3)])
def test_network_spike_times_match_reference(backend, dt):
    import spikeshard as ss

    currents = [5.0, 10.0, 20.0, 50.0]
    pops = [ss.Population(HH, n=1, label=f"i{int(i)}", params={"i_e": i}) for i in currents]
    monitors = [ss.SpikeMonitor(p) for p in pops]
    net = ss.Network(*pops, *monitors, threads=1)
    net.run(DURATION, dt=dt, backend=backend, progress=False)
    for i_e, monitor in zip(currents, monitors, strict=True):
        assert_matches_reference(np.asarray(monitor.times), i_e)


def test_rust_engine_matches_numpy_kernel():
    """The Rust kernel reproduces the numpy specification: same spikes, v within 1e-6 mV over
    100 ms of a small driven network at dt = 1 ms (both integration modes, stiff sub-steps)."""
    import spikeshard as ss

    def build() -> tuple[ss.Network, ss.SpikeMonitor, ss.StateMonitor]:
        exc = ss.Population(HH, n=200, label="exc", initial={"v": ss.Uniform(-70.0, -60.0)})
        inh = ss.Population(HH, n=50, label="inh", params={"i_e": 3.0})
        projections = [
            ss.Projection(exc, inh, weight=1.0, topology="random", probability=0.1, delay=1e-3),
            ss.Projection(inh, exc, weight=-3.0, topology="random", probability=0.1, delay=1e-3),
        ]
        drive = ss.PoissonInput(target=exc, rate_hz=2000.0, weight=2.5)
        spikes = ss.SpikeMonitor(exc)
        trace = ss.StateMonitor(exc, variables=["v"], record=list(range(0, 200, 7)))
        net = ss.Network(exc, inh, *projections, drive, spikes, trace, seed=5, threads=1)
        return net, spikes, trace

    results = []
    for backend in ("numpy", "rust"):
        net, spikes, trace = build()
        net.run(0.1, dt=1e-3, backend=backend, progress=False)
        results.append((spikes.spikes, np.asarray(trace.v)))
    (t_np, i_np), v_np = results[0]
    (t_rs, i_rs), v_rs = results[1]
    assert len(t_np) > 100
    np.testing.assert_array_equal(i_np, i_rs)
    np.testing.assert_allclose(t_rs, t_np, rtol=0.0, atol=1e-12)
    np.testing.assert_allclose(v_rs, v_np, rtol=0.0, atol=1e-6)
