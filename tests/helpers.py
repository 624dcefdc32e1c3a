"""Small networks, a numpy-only model and helpers shared by the tests."""

from __future__ import annotations

import re

import numpy as np

import spikeshard as ss
from spikeshard.models import LIF, NeuronModel, Parameter, StateVariable

#: Both engines: every engine test runs on each (the numpy engine is the specification).
ENGINES = ("rust", "numpy")


def esc(text: str) -> str:
    """``text`` as a regular expression matching itself (for ``pytest.raises(match=...)``)."""
    return re.escape(text)


def two_pops() -> tuple[ss.Population, ss.Population]:
    """LIF populations "a" (5 neurons) and "b" (3 neurons)."""
    return ss.Population(LIF, 5, label="a"), ss.Population(LIF, 3, label="b")


class NumpyOnly(NeuronModel):
    """A leaky accumulator with no Rust kernel: runs on the numpy engine only."""

    name = "numpy_only"
    rust_kernel = None
    weight_unit = "mV"
    parameters = (Parameter("leak", 0.5, "1", "fraction kept per step", low=0.0, high=1.0),)
    state_variables = (StateVariable("v", "mV", "accumulated input"),)

    @classmethod
    def constants(cls, params, dt):
        return np.array([params["leak"]])

    @classmethod
    def update(cls, constants, state, input_ex, input_in, ctx):
        (v,) = state
        v *= constants[0]
        v += input_ex + input_in
        spike = v >= 1.0
        v[spike] = 0.0
        return spike, None

CUBA_PARAMS = dict(tau_m=0.02, c_m=250.0, v_rest=-49.0, v_th=-50.0, v_reset=-60.0,
                   t_ref=0.005, tau_syn_ex=0.005, tau_syn_in=0.01)


def cuba(n: int = 1000, seed: int = 7, threads: int | None = 1) -> tuple[ss.Network, list]:
    """A scaled-down Brette et al. (2007) CUBA network; returns (network, spike monitors)."""
    n_exc = n * 4 // 5
    init = {"v": ss.Uniform(-60.0, -50.0)}
    exc = ss.Population(ss.models.LIF, n=n_exc, label="exc", params=CUBA_PARAMS, initial=init)
    inh = ss.Population(ss.models.LIF, n=n - n_exc, label="inh", params=CUBA_PARAMS,
                        initial=init)
    p = 0.02 * 4000 / n
    scale = 12.5
    projections = [
        ss.Projection(pre, post, weight=w * scale, topology="random", probability=p,
                      delay=1e-4)
        for pre, w in ((exc, 1.62), (inh, -9.0)) for post in (exc, inh)
    ]
    monitors = [ss.SpikeMonitor(exc), ss.SpikeMonitor(inh)]
    return ss.Network(exc, inh, *projections, *monitors, seed=seed, threads=threads), monitors


def brunel(n_exc: int = 800, seed: int = 3, threads: int | None = 1,
           delay: float = 0.0015) -> tuple[ss.Network, list]:
    """A scaled-down Brunel (2000) delta network with Poisson drive and a state monitor."""
    n_inh = n_exc // 4
    ce, ci = n_exc // 10, n_inh // 10
    j, g, eta, tau_m, theta = 0.1 * 1000 / (10 * ce) * 10, 5.0, 2.0, 0.02, 20.0
    params = dict(tau_m=tau_m, c_m=1.0, v_rest=0.0, v_th=theta, v_reset=10.0, t_ref=0.002)
    exc = ss.Population(ss.models.LIFDelta, n=n_exc, label="E", params=params,
                        initial={"v": ss.Normal(5.0, 3.0, low=0.0, high=19.0)})
    inh = ss.Population(ss.models.LIFDelta, n=n_inh, label="I", params=params)
    nu_ext = eta * theta / (j * ce * tau_m)
    objects: list = [exc, inh]
    for pre, k, w in ((exc, ce, j), (inh, ci, -g * j)):
        for post in (exc, inh):
            objects.append(ss.Projection(pre, post, weight=w, topology="fixed_indegree",
                                         indegree=k, delay=delay))
    objects += [ss.PoissonInput(target=exc, rate_hz=nu_ext * ce, weight=j),
                ss.PoissonInput(target=inh, rate_hz=nu_ext * ce, weight=j)]
    monitors = [ss.SpikeMonitor(exc), ss.SpikeMonitor(inh)]
    vm = ss.StateMonitor(exc, variables=["v"], record=[0, 5, n_exc - 1])
    return ss.Network(*objects, *monitors, vm, seed=seed, threads=threads), [*monitors, vm]


def spikes_of(monitors: list) -> list[tuple[np.ndarray, np.ndarray]]:
    return [m.spikes for m in monitors if isinstance(m, ss.SpikeMonitor)]


def assert_same_spikes(a: list, b: list) -> None:
    assert len(a) == len(b)
    for (ta, ia), (tb, ib) in zip(a, b, strict=True):
        np.testing.assert_array_equal(ia, ib)
        np.testing.assert_array_equal(ta, tb)
