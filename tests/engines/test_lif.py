"""LIF models against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

import spikeshard as ss


def _fi_rate(params: dict, i_e: float) -> float:
    """Analytical LIF rate (Hz) for constant current i_e (pA)."""
    r_i = 1000.0 * params["tau_m"] / params["c_m"] * i_e
    v0, vth = params["v_reset"] - params["v_rest"], params["v_th"] - params["v_rest"]
    if r_i <= vth:
        return 0.0
    return 1.0 / (params["t_ref"] + params["tau_m"] * math.log((r_i - v0) / (r_i - vth)))


@pytest.mark.parametrize(("backend", "dt", "duration"), [("rust", 1e-5, 1.0),
                                                         ("numpy", 1e-5, 0.2)])
def test_lif_fi_curve_matches_formula(backend, dt, duration):
    currents = [400.0, 500.0, 700.0, 1000.0]
    base = dict(tau_m=0.01, c_m=250.0, v_rest=-70.0, v_th=-55.0, v_reset=-70.0, t_ref=0.002)
    pops = [ss.Population(ss.models.LIF, n=1, params={**base, "i_e": i}) for i in currents]
    mons = [ss.SpikeMonitor(p) for p in pops]
    net = ss.Network(*pops, *mons, threads=1)
    net.run(duration, dt=dt, backend=backend, progress=False)
    for current, mon in zip(currents, mons, strict=True):
        times = mon.times
        assert len(times) >= 5
        measured = 1.0 / np.mean(np.diff(times))
        expected = _fi_rate(base, current)
        assert measured == pytest.approx(expected, rel=0.01), current


def test_lif_below_rheobase_is_silent(backend):
    pop = ss.Population(ss.models.LIF, n=3, params={"i_e": 370.0})  # R*I = 14.8 mV < 15 mV
    mon = ss.SpikeMonitor(pop)
    ss.Network(pop, mon).run(0.3, dt=1e-4, backend=backend, progress=False)
    assert mon.count == 0


def test_lif_delta_trace_matches_closed_form(backend):
    """A driver fires regularly; each spike moves the target's membrane by w exactly one
    delay after the spike time, then decays with tau_m."""
    dt, tau_m, w, delay_steps = 1e-4, 0.02, 0.7, 15
    driver = ss.Population(ss.models.LIFDelta, n=1, label="driver",
                           params=dict(tau_m=0.01, c_m=250.0, v_rest=0.0, v_th=15.0,
                                       v_reset=0.0, t_ref=0.002, i_e=700.0))
    target = ss.Population(ss.models.LIFDelta, n=1, label="target",
                           params=dict(tau_m=tau_m, c_m=1.0, v_rest=0.0, v_th=1e9,
                                       v_reset=0.0, t_ref=0.0))
    proj = ss.Projection(driver, target, weight=w, delay=delay_steps * dt)
    spikes = ss.SpikeMonitor(driver)
    vm = ss.StateMonitor(target, variables=["v"], record=[0])
    ss.Network(driver, target, proj, spikes, vm).run(0.1, dt=dt, backend=backend,
                                                      progress=False)
    assert spikes.count >= 5
    arrivals = spikes.times + delay_steps * dt
    t = vm.t
    expected = np.zeros_like(t)
    for arrival in arrivals:
        after = t >= arrival - dt / 2
        expected[after] += w * np.exp(-(t[after] - arrival) / tau_m)
    np.testing.assert_allclose(vm.v[:, 0], expected, rtol=0, atol=1e-12)
