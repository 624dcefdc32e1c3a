"""Network: bad arguments, objects and call orders (backend, dt, duration, adding after a
build, get_state) get clear exceptions; none leaves the network half built."""

from __future__ import annotations

import math

import numpy as np
import pytest

import spikeshard as ss
from spikeshard.errors import NetworkError, SimulationError, UnsupportedError
from spikeshard.models import LIF, PoissonSource
from tests.helpers import NumpyOnly, esc, two_pops

DT = 1e-4


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [(dict(seed=-1), "seed = -1"), (dict(seed=1.5), "seed = 1.5"), (dict(seed="1"), "seed = '1'"),
     (dict(seed=2**64), f"seed = {2**64}"), (dict(threads=0), "threads = 0"),
     (dict(threads=-2), "threads = -2"), (dict(threads=2.0), "threads = 2.0"),
     (dict(threads=100_000), "threads = 100000: expected at most"),
     (dict(label=1), "label = 1")],
)
def test_bad_network_arguments(kwargs, text):
    a, _ = two_pops()
    with pytest.raises(NetworkError, match=esc(text)):
        ss.Network(a, **kwargs)


def test_largest_seed_is_accepted():
    a, _ = two_pops()
    assert ss.Network(a, seed=2**64 - 1).seed == 2**64 - 1


def test_bad_spikeshard_threads_environment(monkeypatch):
    monkeypatch.setenv("SPIKESHARD_THREADS", "many")
    net = ss.Network(ss.Population(LIF, 2))
    with pytest.raises(NetworkError, match=esc("SPIKESHARD_THREADS = 'many'")):
        net.run(0.001, dt=DT, backend="rust", progress=False)


@pytest.mark.parametrize("thing", [3, "pop", None, LIF, ss.Uniform(0.0, 1.0)])
def test_network_accepts_only_declarations(thing):
    with pytest.raises(NetworkError, match=esc(f"cannot add {thing!r} to a Network")):
        ss.Network(ss.Population(LIF, 2), thing)


@pytest.mark.parametrize("kind", ["projection", "spike_monitor", "state_monitor", "input"])
def test_objects_referring_to_a_population_not_in_the_network(kind):
    a, b = two_pops()
    obj = {
        "projection": lambda: ss.Projection(a, b),
        "spike_monitor": lambda: ss.SpikeMonitor(b),
        "state_monitor": lambda: ss.StateMonitor(b),
        "input": lambda: ss.PoissonInput(b, rate_hz=5.0),
    }[kind]()
    text = "Population(LIF, n=3, label='b') is used by a projection, stimulus or monitor but"
    with pytest.raises(NetworkError, match=esc(text)):
        ss.Network(a, obj)
    net = ss.Network(a)
    with pytest.raises(NetworkError, match=esc(text)):
        net.add(obj)
    net.add(b, obj)  # fine once the population is in
    assert len(net.populations) == 2


def test_empty_network_cannot_run():
    with pytest.raises(NetworkError, match="the network has no populations"):
        ss.Network().run(0.001, progress=False)


@pytest.mark.parametrize("backend", ["gpu", "Rust", None, ""])
def test_unknown_backend(backend):
    net = ss.Network(ss.Population(LIF, 2))
    with pytest.raises(NetworkError, match=esc(f"backend = {backend!r}: expected one of")):
        net.run(0.001, backend=backend, progress=False)
    assert not net.is_built
    net.run(0.001, progress=False)
    with pytest.raises(NetworkError, match=esc(f"backend = {backend!r}")):
        net.run(0.001, backend=backend, progress=False)


def test_rust_backend_with_a_numpy_only_model():
    pop = ss.Population(NumpyOnly, 3, label="acc")
    net = ss.Network(pop, ss.Population(LIF, 2))
    with pytest.raises(UnsupportedError, match=r"backend='rust'.*\['NumpyOnly'\].*no Rust kernel"):
        net.run(0.001, dt=DT, backend="rust", progress=False)
    assert not net.is_built


def test_numpy_only_model_runs_on_auto_and_numpy():
    for backend in ("auto", "numpy"):
        pop = ss.Population(NumpyOnly, 3, initial={"v": [0.0, 0.6, 0.9]})
        src = ss.Population(PoissonSource, 1, params={"rate_hz": 0.0})
        mon = ss.SpikeMonitor(pop)
        net = ss.Network(src, pop, mon, ss.PoissonInput(pop, rate_hz=2e4, weight=0.3))
        net.run(0.001, dt=DT, backend=backend, progress=False)
        assert net.engine == ("rust+numpy" if backend == "auto" else "numpy")
        assert mon.count > 0


def test_switching_backend_after_build_needs_reset():
    net = ss.Network(ss.Population(LIF, 2))
    net.run(0.001, dt=DT, backend="numpy", progress=False)
    with pytest.raises(SimulationError, match=esc("backend = 'rust': the network was built on "
                                                  "the 'numpy' engine")):
        net.run(0.001, backend="rust", progress=False)
    net.run(0.001, backend="numpy", progress=False)
    net.run(0.001, progress=False)  # "auto" keeps the engine it has
    assert net.engine == "numpy"
    net.reset()
    net.run(0.001, backend="rust", progress=False)
    assert net.engine == "rust"


@pytest.mark.parametrize(
    ("duration", "text"),
    [(0.00015, "duration = 0.00015 s is not a whole number of steps of dt = 0.0001 s"),
     (-0.01, "duration = -0.01"), (math.nan, "duration = nan"), (math.inf, "duration = inf"),
     ("1s", "duration = '1s'")],
)
def test_bad_durations(duration, text):
    net = ss.Network(ss.Population(LIF, 2))
    with pytest.raises(NetworkError, match=esc(text)):
        net.run(duration, dt=DT, progress=False)
    assert net.t == 0.0


@pytest.mark.parametrize(
    ("dt", "text"),
    [(0.0, "dt = 0.0"), (-1e-4, "dt = -0.0001"), (math.nan, "dt = nan"), ("0.1ms", "dt = '0.1ms'")],
)
@pytest.mark.parametrize("how", ["run", "build"])
def test_bad_dt(dt, text, how):
    net = ss.Network(ss.Population(LIF, 2))
    with pytest.raises(NetworkError, match=esc(text)):
        net.run(0.001, dt=dt, progress=False) if how == "run" else net.build(dt)


def test_changing_dt_between_runs_needs_reset():
    net = ss.Network(ss.Population(LIF, 2))
    net.run(0.001, dt=DT, progress=False)
    with pytest.raises(SimulationError, match=esc("dt = 0.0002: the network was built with "
                                                  "dt = 0.0001; call reset()")):
        net.run(0.001, dt=2e-4, progress=False)
    with pytest.raises(SimulationError, match=esc("dt = 0.0002")):
        net.build(2e-4)
    net.run(0.001, dt=DT, progress=False)  # the same dt is fine
    assert net.t == pytest.approx(0.002)
    net.reset()
    net.run(0.001, dt=2e-4, progress=False)
    assert net.dt == 2e-4


def test_adding_after_build_needs_reset():
    a, b = two_pops()
    net = ss.Network(a)
    net.build(DT)
    with pytest.raises(SimulationError, match="already built; call reset"):
        net.add(b)
    assert len(net.populations) == 1
    net.reset()
    net.add(b)
    assert len(net.populations) == 2


def test_get_state_errors():
    a, b = two_pops()
    net = ss.Network(a)
    with pytest.raises(SimulationError, match="not built yet"):
        net.get_state(a, "v")
    net.build(DT)
    with pytest.raises(NetworkError, match=esc("variable = 'u': LIF has ['v',")):
        net.get_state(a, "u")
    with pytest.raises(NetworkError, match="was not added to the network"):
        net.get_state(b, "v")
    np.testing.assert_array_equal(net.get_state(a, "v"), np.full(5, -70.0))
