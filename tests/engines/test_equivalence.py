"""The Rust engine reproduces the numpy engine (the executable specification)."""

from __future__ import annotations

import numpy as np
import pytest

import spikeshard as ss
from spikeshard import _engine
from spikeshard.models.base import StepContext
from tests.helpers import ENGINES, assert_same_spikes, brunel, cuba, spikes_of


def _run(factory, backend: str, duration: float, **kwargs):
    net, monitors = factory(**kwargs)
    net.run(duration, dt=1e-4, backend=backend, progress=False)
    assert net.engine == backend
    return monitors


def test_cuba_spikes_identical():
    rust = spikes_of(_run(cuba, "rust", 0.15))
    numpy = spikes_of(_run(cuba, "numpy", 0.15))
    assert sum(len(t) for t, _ in rust) > 100
    assert_same_spikes(rust, numpy)


def test_brunel_with_poisson_input_and_state_monitor_identical():
    rust = _run(brunel, "rust", 0.1)
    numpy = _run(brunel, "numpy", 0.1)
    assert sum(len(t) for t, _ in spikes_of(rust)) > 100
    assert_same_spikes(spikes_of(rust), spikes_of(numpy))
    np.testing.assert_array_equal(rust[-1].v, numpy[-1].v)


def test_poisson_source_with_distributions_identical():
    def factory():
        src = ss.Population(ss.models.PoissonSource, n=200, params={"rate_hz": 40.0})
        tgt = ss.Population(ss.models.LIF, n=150, params={"i_e": 300.0})
        proj = ss.Projection(src, tgt, topology="random", probability=0.2,
                             weight=ss.Normal(60.0, 40.0, low=-50.0, high=200.0),
                             delay=ss.Uniform(0.0005, 0.003))
        mons = [ss.SpikeMonitor(src), ss.SpikeMonitor(tgt)]
        return ss.Network(src, tgt, proj, *mons, seed=11, threads=1), mons

    rust = spikes_of(_run(factory, "rust", 0.1))
    numpy = spikes_of(_run(factory, "numpy", 0.1))
    assert len(rust[0][0]) > 500 and len(rust[1][0]) > 50
    assert_same_spikes(rust, numpy)


@pytest.mark.parametrize("model", [ss.models.LIF, ss.models.LIFDelta])
def test_membrane_traces_agree_for_fixed_input(model):
    n, steps, dt = 64, 2000, 1e-4
    params = model.resolve_params({"i_e": 200.0})
    constants = model.constants(params, dt)
    rng = np.random.default_rng(0)
    scale = 150.0 if model is ss.models.LIF else 2.0
    inputs_ex = rng.exponential(scale, (steps, n)) * (rng.random((steps, n)) < 0.2)
    inputs_in = -rng.exponential(scale, (steps, n)) * (rng.random((steps, n)) < 0.1)
    initial = model.initial_values(params)
    state = [np.full(n, initial[name]) for name in model.state_names()]
    state[0] = np.linspace(-70.0, -56.0, n)
    gids = np.arange(n, dtype=np.uint32)
    rust_state, rust_flags, _ = _engine.step_kernel(
        model.rust_kernel, constants, np.array(state), inputs_ex, inputs_in, gids)
    numpy_flags = []
    for s in range(steps):
        ctx = StepContext(step=s, dt=dt, gids=gids, key=0)
        spiked, _ = model.update(constants, state, inputs_ex[s].copy(), inputs_in[s].copy(), ctx)
        numpy_flags.append(spiked)
    assert np.asarray(numpy_flags).sum() > 50
    np.testing.assert_array_equal(rust_flags.astype(bool), np.asarray(numpy_flags))
    assert np.max(np.abs(rust_state[0] - state[0])) <= 1e-9


def test_lif_refractory_state_identical():
    """LIF keeps its refractory neurons in a list during a run (the dense loop reads a byte
    per neuron instead of the f64 counter): counters, traces and spikes must still be those
    of the numpy definition, also for user-set counters (fractional, or set on a neuron
    above threshold, which then spikes at once, as in NEST) and when read mid-run."""
    n = 120
    counters = np.zeros(n)
    counters[::5] = 7.0
    counters[1::7] = 2.6
    v0 = np.linspace(-70.0, -52.0, n)
    v0[10] = -45.0  # refractory (10 is a multiple of 5) and above threshold

    def factory():
        pop = ss.Population(ss.models.LIF, n=n, params={"i_e": 380.0, "t_ref": 0.002},
                            initial={"v": v0, "refractory": counters})
        proj = ss.Projection(pop, pop, topology="random", probability=0.1,
                             weight=ss.Normal(-40.0, 30.0), delay=0.0003)
        drive = ss.PoissonInput(pop, rate_hz=3000.0, weight=60.0)
        mons = [ss.SpikeMonitor(pop),
                ss.StateMonitor(pop, ["v", "refractory"], record=[0, 1, 10, 15, 40])]
        return ss.Network(pop, proj, drive, *mons, seed=5, threads=1), mons, pop

    results = {}
    for backend in ENGINES:
        net, mons, pop = factory()
        net.run(0.03, dt=1e-4, backend=backend, progress=False)
        middle = net.get_state(pop, "refractory")
        net.run(0.03, dt=1e-4, backend=backend, progress=False)
        results[backend] = (mons, middle, net.get_state(pop, "refractory"),
                            net.get_state(pop, "v"))
    (rust_mons, *rust_state), (numpy_mons, *numpy_state) = results["rust"], results["numpy"]
    assert rust_mons[0].count > 200
    assert 0.0 in rust_mons[0].spikes[0] / 1e-4 - 1  # neuron 10 spiked in the first step
    assert_same_spikes(spikes_of(rust_mons[:1]), spikes_of(numpy_mons[:1]))
    np.testing.assert_array_equal(rust_mons[1].refractory, numpy_mons[1].refractory)
    np.testing.assert_allclose(rust_mons[1].v, numpy_mons[1].v, rtol=0, atol=1e-9)
    assert np.any(rust_mons[1].refractory % 1 != 0)  # the fractional counters were recorded
    assert np.any(rust_state[0] > 0.5)  # counters read mid-run, with neurons refractory
    for rust_values, numpy_values in zip(rust_state, numpy_state, strict=True):
        np.testing.assert_array_equal(rust_values, numpy_values)
