"""Delays and refractory periods become the whole steps NEST makes of them."""

from __future__ import annotations

import numpy as np
import pytest

import spikeshard as ss
from spikeshard.time_steps import delay_steps, refractory_steps


@pytest.mark.parametrize(("t_ref", "dt", "steps"), [
    (0.002, 1e-4, 20), (0.0025, 1e-3, 3), (0.00025, 1e-4, 3), (0.0002, 1e-4, 2),
    (0.00014, 1e-4, 2), (0.0, 1e-4, 0), (0.005, 1e-4, 50), (1e-6, 1e-4, 1),
])
def test_refractory_periods_round_up_to_steps_as_nest(t_ref, dt, steps):
    assert refractory_steps(t_ref, dt) == steps


@pytest.mark.parametrize(("delay", "dt", "steps"), [
    (0.00015, 1e-4, 2), (0.00014, 1e-4, 1), (0.0015, 1e-4, 15), (0.00025, 1e-4, 3),
    (0.001, 1e-3, 1), (0.0035, 1e-3, 4), (0.0001, 1e-4, 1),
])
def test_delays_round_to_the_nearest_step_halves_up_as_nest(delay, dt, steps):
    assert int(delay_steps(delay, dt)) == steps
    np.testing.assert_array_equal(delay_steps([delay, delay], dt), [steps, steps])


def test_a_network_uses_nest_rounding_for_delays_and_t_ref():
    """0.15 ms delays are 2 steps (a plain 0.00015/0.0001 ratio is 1.4999999999999998) and a
    0.25 ms refractory period is 3 steps (round(2.5) would give 2)."""
    src = ss.Population(ss.models.LIF, 1, params={"i_e": 1e6, "t_ref": 0.00025})
    dst = ss.Population(ss.models.LIFDelta, 1)
    proj = ss.Projection(src, dst, weight=1.0, delay=0.00015)
    smon, vmon = ss.SpikeMonitor(src), ss.StateMonitor(dst, ["v"], record=[0])
    net = ss.Network(src, dst, proj, smon, vmon)
    net.run(0.002, dt=1e-4, progress=False)
    steps = np.round(smon.spikes[0] / 1e-4).astype(int) - 1
    assert len(steps) > 2
    # Spiking every step it is free: a spike, then 3 refractory steps.
    assert set(np.diff(steps)) == {4}
    # The first spike (step s) reaches v at step s + 2: the sample after step s + 2 jumps.
    v = vmon.v[:, 0]
    jump = int(np.flatnonzero(np.diff(v) > 0.5)[0]) + 1
    assert jump == steps[0] + 2


def test_against_nest_itself():
    nest = pytest.importorskip("nest")
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.resolution = 0.1
    a, b = nest.Create("iaf_psc_delta", 2)
    delays_ms = (0.15, 0.14, 0.25, 1.55, 0.35)
    for delay_ms in delays_ms:
        nest.Connect(a, b, syn_spec={"delay": delay_ms})
    got = sorted(nest.GetConnections(a, b).get("delay"))
    expected = sorted(int(delay_steps(d / 1000.0, 1e-4)) * 0.1 for d in delays_ms)
    np.testing.assert_allclose(got, expected, atol=1e-12)
