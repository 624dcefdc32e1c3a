"""Bad input: every mistake gets a clear exception naming the argument and its value.

Errors subclass ValueError (NotImplementedError for unsupported features, RuntimeError for
calls in the wrong order); none may surface as a Rust panic (pyo3's PanicException derives
from BaseException, so ``pytest.raises(ValueError)`` would not catch one).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import spikeshard as ss
from spikeshard import _engine
from spikeshard.errors import (
    ModelError,
    NetworkError,
    SimulationError,
    SpikeshardError,
    UnsupportedError,
)
from spikeshard.models import LIF, LIFDelta, NeuronModel, Parameter, PoissonSource, StateVariable

DT = 1e-4


def esc(text: str) -> str:
    return re.escape(text)


def two_pops() -> tuple[ss.Population, ss.Population]:
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


# ------------------------------------------------------------------ the error hierarchy


def test_errors_subclass_builtin_exceptions():
    assert issubclass(ModelError, ValueError) and issubclass(NetworkError, ValueError)
    assert issubclass(UnsupportedError, NotImplementedError)
    assert issubclass(SimulationError, RuntimeError)
    for error in (ModelError, NetworkError, UnsupportedError, SimulationError):
        assert issubclass(error, SpikeshardError)


# ------------------------------------------------------------------ populations


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "n = 0"), (-3, "n = -3"), (2.5, "n = 2.5"), (3.0, "n = 3.0"), ("3", "n = '3'"),
     (True, "n = True"), (None, "n = None")],
)
def test_population_size_must_be_a_positive_integer(n, text):
    with pytest.raises(NetworkError, match=esc(text)):
        ss.Population(LIF, n)


def test_population_size_accepts_numpy_integers():
    assert ss.Population(LIF, np.int64(4)).n == 4


@pytest.mark.parametrize("model", ["LIF", LIF(), None, int])
def test_population_model_must_be_a_model_class(model):
    with pytest.raises(ModelError, match=r"model = .*expected a neuron model class"):
        ss.Population(model, 3)


def test_population_label_must_be_a_string():
    with pytest.raises(NetworkError, match=esc("label = 5")):
        ss.Population(LIF, 3, label=5)


@pytest.mark.parametrize(
    ("model", "params", "text"),
    [
        (LIF, {"tau": 0.01}, "LIF has no parameter 'tau'"),
        (LIFDelta, {"tau_syn_ex": 0.01}, "LIFDelta has no parameter 'tau_syn_ex'"),
        (LIF, {"tau_m": -0.01}, "'tau_m' = -0.01 s"),
        (LIF, {"tau_m": 0.0}, "'tau_m' = 0.0 s"),
        (LIF, {"c_m": math.nan}, "'c_m' = nan"),
        (LIF, {"t_ref": -0.001}, "'t_ref' = -0.001 s"),
        (LIF, {"tau_syn_in": 0}, "'tau_syn_in' = 0.0 s"),
        (LIF, {"i_e": "x"}, "'i_e' = 'x'"),
        (LIF, {"v_reset": -50.0}, "'v_reset' = -50.0 mV must lie below 'v_th' = -55.0 mV"),
        (LIFDelta, {"v_reset": -55.0}, "'v_reset' = -55.0 mV must lie below 'v_th' = -55.0"),
        (PoissonSource, {"rate_hz": -1.0}, "'rate_hz' = -1.0 Hz"),
        (NumpyOnly, {"leak": 1.5}, "'leak' = 1.5"),
    ],
)
def test_bad_model_parameters(model, params, text):
    with pytest.raises(ModelError, match=esc(text)):
        ss.Population(model, 3, params=params)


@pytest.mark.parametrize("name", ["tau_m", "t_ref", "i_e", "c_m", "tau_syn_ex"])
def test_infinite_parameter_values_are_rejected(name):
    with pytest.raises(ModelError, match=esc(f"'{name}' = inf")):
        ss.Population(LIF, 3, params={name: math.inf})


def test_infinite_v_min_is_the_default_and_allowed():
    assert ss.Population(LIFDelta, 2).params["v_min"] == -math.inf


@pytest.mark.parametrize(("name", "value"), [("params", 5), ("params", "tau_m"),
                                              ("initial", 5), ("initial", [1.0, 2.0])])
def test_params_and_initial_must_be_mappings(name, value):
    with pytest.raises(ModelError, match=esc(f"{name} = {value!r}")):
        ss.Population(LIF, 3, **{name: value})


@pytest.mark.parametrize(
    ("initial", "text"),
    [
        ({"u": 0.0}, "initial['u']: LIF has no state variable 'u'"),
        ({"i_syn": 0.0}, "LIF has no state variable 'i_syn'"),
        ({"v": [-70.0, -65.0]}, "initial['v'] has shape (2,): expected (3,)"),
        ({"v": np.zeros((3, 1))}, "initial['v'] has shape (3, 1): expected (3,)"),
        ({"v": math.nan}, "initial['v'] = nan"),
        ({"v": math.inf}, "initial['v'] = inf"),
        ({"v": [-70.0, math.nan, -60.0]}, "initial['v'][1] = nan"),
        ({"v": "low"}, "initial['v'] = 'low'"),
        ({"v": ["a", "b", "c"]}, "initial['v'] = ['a', 'b', 'c']"),
    ],
)
def test_bad_initial_values(initial, text):
    with pytest.raises(ValueError, match=esc(text)):
        ss.Population(LIF, 3, initial=initial)


def test_initial_unknown_variable_of_numpy_only_model():
    with pytest.raises(ModelError, match=esc("NumpyOnly has no state variable 'x'")):
        ss.Population(NumpyOnly, 2, initial={"x": 1.0})


# ------------------------------------------------------------------ distributions


@pytest.mark.parametrize(
    ("make", "text"),
    [
        (lambda: ss.Uniform(math.nan, 1.0), "Uniform.low = nan"),
        (lambda: ss.Uniform(0.0, math.nan), "Uniform.high = nan"),
        (lambda: ss.Uniform(-math.inf, 1.0), "Uniform(low=-inf, high=1.0)"),
        (lambda: ss.Uniform(2.0, 1.0), "Uniform(low=2.0, high=1.0)"),
        (lambda: ss.Uniform("a", 1.0), "Uniform.low = 'a'"),
        (lambda: ss.Normal(math.nan, 1.0), "Normal.mean = nan"),
        (lambda: ss.Normal(0.0, -1.0), "std=-1.0"),
        (lambda: ss.Normal(0.0, math.inf), "std=inf"),
        (lambda: ss.Normal(math.inf, 1.0), "mean=inf"),
        (lambda: ss.Normal(0.0, 1.0, low=1.0, high=0.0), "Normal(low=1.0, high=0.0)"),
    ],
)
def test_bad_distributions(make, text):
    with pytest.raises(NetworkError, match=esc(text)):
        make()


# ------------------------------------------------------------------ projections


@pytest.mark.parametrize(
    ("p", "text"),
    [(-0.1, "probability = -0.1"), (1.5, "probability = 1.5"), (math.nan, "probability = nan"),
     (math.inf, "probability = inf"), ("x", "probability = 'x'")],
)
def test_probability_outside_unit_interval(p, text):
    a, b = two_pops()
    with pytest.raises(NetworkError, match=esc(text)):
        ss.Projection(a, b, topology="random", probability=p)


@pytest.mark.parametrize("p", [0, 0.0, 0.5, 1, 1.0])
def test_probability_bounds_are_accepted(p):
    a, b = two_pops()
    assert ss.Projection(a, b, topology="random", probability=p).probability == float(p)


@pytest.mark.parametrize(
    ("weight", "text"),
    [(math.nan, "weight = nan"), (math.inf, "weight = inf"), (-math.inf, "weight = -inf"),
     ("heavy", "weight = 'heavy'"), (None, "weight = None")],
)
def test_bad_scalar_weights(weight, text):
    a, b = two_pops()
    with pytest.raises(NetworkError, match=esc(text)):
        ss.Projection(a, b, weight=weight)


@pytest.mark.parametrize(
    ("weight", "text"),
    [
        ([1.0, math.nan, 2.0], "weight[1] = nan"),
        ([math.inf, 1.0, 2.0], "weight[0] = inf"),
        (np.array([1.0, 2.0, -np.inf]), "weight[2] = -inf"),
        ([1.0, 2.0], "weight has shape (2,): expected one value per connection (3,)"),
        ([[1.0, 2.0, 3.0]], "weight has shape (1, 3)"),
        (["a", "b", "c"], "weight = ['a', 'b', 'c']"),
    ],
)
def test_bad_per_connection_weights(weight, text):
    a, b = two_pops()
    with pytest.raises(NetworkError, match=esc(text)):
        ss.Projection(a, b, connections=([0, 1, 2], [0, 1, 2]), weight=weight)


def test_weight_array_needs_explicit_connections():
    a, b = two_pops()
    with pytest.raises(NetworkError, match=esc("weight given as an array of shape (15,)")):
        ss.Projection(a, b, weight=np.ones(15))


@pytest.mark.parametrize(
    ("delay", "text"),
    [
        (0, "delay = 0.0"),
        (0.0, "delay = 0.0"),
        (-1e-3, "delay = -0.001"),
        (math.nan, "delay = nan"),
        (math.inf, "delay = inf"),
        ("1ms", "delay = '1ms'"),
        (ss.Uniform(-1e-3, 1e-3), "delay = Uniform(low=-0.001, high=0.001)"),
        (ss.Uniform(0.0, 1e-3), "delay = Uniform(low=0.0, high=0.001)"),
        (ss.Normal(1e-3, 1e-4, low=0.0), "delay = Normal(mean=0.001, std=0.0001, low=0.0"),
    ],
)
def test_non_positive_delays_are_rejected_at_declaration(delay, text):
    a, b = two_pops()
    with pytest.raises(NetworkError, match=esc(text)):
        ss.Projection(a, b, delay=delay)


@pytest.mark.parametrize(
    ("delay", "text"),
    [([1e-3, 0.0, 1e-3], "delay[1] = 0.0"), ([1e-3, 1e-3, -2e-3], "delay[2] = -0.002"),
     ([1e-3, math.nan, 1e-3], "delay[1] = nan"), ([1e-3], "delay has shape (1,)")],
)
def test_bad_per_connection_delays(delay, text):
    a, b = two_pops()
    with pytest.raises(NetworkError, match=esc(text)):
        ss.Projection(a, b, connections=([0, 1, 2], [0, 1, 2]), delay=delay)


def test_normal_delay_without_lower_bound_is_accepted():
    a, b = two_pops()
    delay = ss.Normal(1e-3, 5e-4)
    assert ss.Projection(a, b, delay=delay).delay == delay


@pytest.mark.parametrize(
    ("delay", "connections", "text"),
    [
        (5e-5, None, "delay = 5e-05 s is shorter than the time step dt = 0.0001 s"),
        (ss.Uniform(5e-5, 1e-3), None, "delay lower bound = 5e-05 s is shorter than the time"),
        (ss.Normal(1e-3, 1e-4, low=5e-5), None, "delay lower bound = 5e-05 s is shorter"),
        ([1e-3, 5e-5], ([0, 1], [0, 1]), "delay minimum = 5e-05 s is shorter than the time"),
    ],
)
@pytest.mark.parametrize("how", ["run", "build"])
def test_delay_shorter_than_dt_fails_when_dt_is_known(delay, connections, text, how):
    a, b = two_pops()
    net = ss.Network(a, b, ss.Projection(a, b, delay=delay, connections=connections))
    with pytest.raises(NetworkError, match=esc("projection 0 (a -> b): " + text)):
        if how == "run":
            net.run(0.001, dt=DT, progress=False)
        else:
            net.build(DT)
    assert not net.is_built
    # The same declaration is fine with a step no longer than the delay.
    net.build(5e-5)
    assert net.is_built


def test_delay_of_exactly_one_step_is_accepted():
    a, b = two_pops()
    net = ss.Network(a, b, ss.Projection(a, b, delay=DT))
    net.run(0.001, dt=DT, progress=False)
    assert net.t == pytest.approx(0.001)


@pytest.mark.parametrize(
    ("delay", "text"),
    [(10.0, "delay of 100000 steps exceeds the limit of 65535 steps"),
     (ss.Uniform(1e-3, 7.0), "delay of 70000 steps exceeds the limit of 65535 steps"),
     (ss.Normal(10.0, 1.0), "delay")],
)
def test_delays_beyond_the_engine_limit(delay, text):
    a, b = two_pops()
    net = ss.Network(a, b, ss.Projection(a, b, delay=delay))
    with pytest.raises(ValueError, match=esc(text)):
        net.run(0.001, dt=DT, progress=False)


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        (dict(topology="ring"), "topology = 'ring': expected one of ['random', 'all_to_all',"),
        (dict(topology=None), "topology = None"),
        (dict(topology="random"), "topology 'random' needs probability=p"),
        (dict(topology="fixed_indegree"), "topology 'fixed_indegree' needs indegree=k"),
        (dict(topology="fixed_outdegree"), "topology 'fixed_outdegree' needs outdegree=k"),
        (dict(topology="all_to_all", probability=0.5), "probability = 0.5 is only used by"),
        (dict(topology="random", probability=0.5, indegree=2),
         "indegree = 2 is only used by topology 'fixed_indegree'"),
        (dict(topology="fixed_indegree", indegree=2, outdegree=2),
         "outdegree = 2 is only used by topology 'fixed_outdegree'"),
        (dict(topology="fixed_indegree", indegree=-1), "indegree = -1"),
        (dict(topology="fixed_indegree", indegree=1.5), "indegree = 1.5"),
        (dict(topology="fixed_outdegree", outdegree="2"), "outdegree = '2'"),
        (dict(topology="one_to_one"), "one_to_one needs equal sizes: pre has 5, post has 3"),
        (dict(topology="fixed_indegree", indegree=6, allow_multapses=False),
         "indegree = 6: at most 5 without multapses"),
        (dict(topology="fixed_outdegree", outdegree=4, allow_multapses=False),
         "outdegree = 4: at most 3 without multapses"),
    ],
)
def test_bad_topologies(kwargs, text):
    a, b = two_pops()
    with pytest.raises(NetworkError, match=esc(text)):
        ss.Projection(a, b, **kwargs)


def test_degrees_above_population_size_are_fine_with_multapses():
    a, b = two_pops()
    assert ss.Projection(a, b, topology="fixed_indegree", indegree=50).degree == 50
    assert ss.Projection(a, b, topology="fixed_outdegree", outdegree=50).degree == 50


def test_degree_limit_without_autapses_onto_the_same_population():
    a, _ = two_pops()
    kwargs = dict(allow_multapses=False, allow_autapses=False)
    with pytest.raises(NetworkError, match=esc("indegree = 5: at most 4 without multapses")):
        ss.Projection(a, a, topology="fixed_indegree", indegree=5, **kwargs)
    with pytest.raises(NetworkError, match=esc("outdegree = 5: at most 4 without multapses")):
        ss.Projection(a, a, topology="fixed_outdegree", outdegree=5, **kwargs)
    assert ss.Projection(a, a, topology="fixed_indegree", indegree=4, **kwargs).degree == 4
    # With autapses allowed every source is possible.
    assert ss.Projection(a, a, topology="fixed_indegree", indegree=5,
                         allow_multapses=False).degree == 5


def test_one_to_one_onto_itself_without_autapses_is_a_contradiction():
    a, _ = two_pops()
    with pytest.raises(NetworkError, match="one_to_one.*allow_autapses=False"):
        ss.Projection(a, a, topology="one_to_one", allow_autapses=False)


@pytest.mark.parametrize(
    ("connections", "text"),
    [
        (([0, 1, 2], [0, 1]), "pre_ids shape (3,) and post_ids shape (2,) must be equal"),
        (([[0, 1]], [[0, 1]]), "pre_ids shape (1, 2)"),
        (([0, 1], [0, 3]), "connections post_ids contains 3: expected ids in [0, 3)"),
        (([0, 5], [0, 1]), "connections pre_ids contains 5: expected ids in [0, 5)"),
        (([-1, 0], [0, 1]), "connections pre_ids contains -1"),
        (([2**40], [0]), f"connections pre_ids contains {2**40}"),
        (([0.0, 1.0], [0, 1]), "connections pre_ids have dtype float64: expected ints"),
        (([0, 1, 2],), "connections = ([0, 1, 2],): expected (pre_ids, post_ids)"),
        (5, "connections = 5: expected (pre_ids, post_ids)"),
    ],
)
def test_bad_explicit_connections(connections, text):
    a, b = two_pops()
    with pytest.raises(NetworkError, match=esc(text)):
        ss.Projection(a, b, connections=connections)


@pytest.mark.parametrize(
    ("pre", "post", "text"),
    [("A", None, "post = None: expected a Population"),
     (None, None, "pre = None: expected a Population"),
     (True, "B", "pre = True"),
     ("pop", "B", "pre = 'pop': expected a Population"),
     ("A", 3, "post = 3: expected a Population")],
)
def test_projection_needs_populations(pre, post, text):
    a, b = two_pops()
    pre = a if pre == "A" else pre
    post = b if post == "B" else post
    with pytest.raises(NetworkError, match=esc(text)):
        ss.Projection(pre, post)


def test_projection_post_must_not_be_a_list_of_populations():
    a, b = two_pops()
    with pytest.raises(NetworkError, match="post = .*expected a Population"):
        ss.Projection(a, [b])


def test_projection_onto_a_poisson_source():
    a, _ = two_pops()
    src = ss.Population(PoissonSource, 3, label="src")
    with pytest.raises(NetworkError, match=esc("post = src: PoissonSource neurons take no")):
        ss.Projection(a, src)


# ------------------------------------------------------------------ stimuli


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        (dict(rate_hz=-1.0), "rate_hz = -1.0"),
        (dict(rate_hz=math.nan), "rate_hz = nan"),
        (dict(rate_hz=math.inf), "rate_hz = inf"),
        (dict(rate_hz=10.0, weight=math.nan), "weight = nan"),
        (dict(rate_hz=10.0, n=6), "n = 6: target a has only 5 neurons"),
        (dict(rate_hz=10.0, n=0), "n = 0"),
        (dict(rate_hz=10.0, n=2.0), "n = 2.0"),
        (dict(rate_hz=10.0, dt=0.0), "dt = 0.0"),
        (dict(rate_hz=10.0, dt=-1e-4), "dt = -0.0001"),
        (dict(rate_hz=10.0, label=3), "label = 3"),
    ],
)
def test_bad_poisson_input(kwargs, text):
    a, _ = two_pops()
    with pytest.raises(NetworkError, match=esc(text)):
        ss.PoissonInput(a, **kwargs)


def test_poisson_input_target_must_be_a_population_receiving_input():
    with pytest.raises(NetworkError, match=esc("target = 5: expected a Population or None")):
        ss.PoissonInput(5, rate_hz=1.0)
    src = ss.Population(PoissonSource, 3, label="src")
    with pytest.raises(NetworkError, match=esc("target = src: its model takes no input")):
        ss.PoissonInput(src, rate_hz=1.0)


def test_poisson_input_without_target_checks_the_first_population():
    a, b = two_pops()
    with pytest.raises(NetworkError, match=esc("PoissonInput n = 10: the first population a")):
        ss.Network(a, b, ss.PoissonInput(rate_hz=1.0, n=10))
    with pytest.raises(NetworkError, match="PoissonInput without target needs a population"):
        ss.Network(ss.PoissonInput(rate_hz=1.0))


def test_poisson_input_dt_must_match_the_run_dt():
    a, _ = two_pops()
    net = ss.Network(a, ss.PoissonInput(a, rate_hz=10.0, dt=1e-3))
    with pytest.raises(NetworkError, match=esc("PoissonInput dt = 0.001 differs from the "
                                               "network's dt = 0.0001")):
        net.run(0.01, dt=DT, progress=False)
    assert not net.is_built
    net.run(0.01, dt=1e-3, progress=False)
    assert net.dt == 1e-3


# ------------------------------------------------------------------ monitors


@pytest.mark.parametrize("monitor", [ss.SpikeMonitor, ss.StateMonitor])
@pytest.mark.parametrize(
    ("record", "text"),
    [([0, 5], "record contains 5: a has ids 0..4"), ([-1, 2], "record contains -1"),
     ([0.5], "record = [0.5]: expected a list of neuron ids"), (3, "record = 3"),
     ([[0, 1]], "record = [[0, 1]]"), ([True, False], "record = [True, False]")],
)
def test_monitor_record_ids(monitor, record, text):
    a, _ = two_pops()
    with pytest.raises(NetworkError, match=esc(text)):
        monitor(a, record=record)


@pytest.mark.parametrize("monitor", [ss.SpikeMonitor, ss.StateMonitor])
def test_monitor_source_and_label(monitor):
    a, _ = two_pops()
    with pytest.raises(NetworkError, match=esc("source = 'a': expected a Population")):
        monitor("a")
    with pytest.raises(NetworkError, match=esc("label = 7: expected a string")):
        monitor(a, label=7)


@pytest.mark.parametrize(
    ("model", "variables", "text"),
    [(LIF, ["u"], "StateMonitor variable 'u': LIF has state variables ['v', 'i_syn_ex',"),
     (LIF, ["v", "V"], "StateMonitor variable 'V'"),
     (LIFDelta, "i_syn_ex", "StateMonitor variable 'i_syn_ex': LIFDelta"),
     (PoissonSource, ("v",), "StateMonitor variable 'v': PoissonSource has state variables []"),
     (LIF, [], "StateMonitor variables is empty")],
)
def test_state_monitor_variables(model, variables, text):
    pop = ss.Population(model, 3)
    with pytest.raises(NetworkError, match=esc(text)):
        ss.StateMonitor(pop, variables)


# ------------------------------------------------------------------ networks


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


# ------------------------------------------------------------------ the engine boundary


def _spec(**overrides):
    kwargs = dict(index=0, pre_first_gid=0, pre_n=5, post_n=3, same_population=False,
                  allow_autapses=True, rule="all_to_all", weight_kind="constant",
                  weight_params=[1.0], delay_kind="constant", delay_params=[1.0], keys=(1, 2, 3))
    kwargs.update(overrides)
    return _engine.ProjectionSpec(**kwargs)


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        (dict(rule="random", probability=1.5), "probability = 1.5"),
        (dict(rule="random", probability=math.nan), "probability = NaN"),
        (dict(rule="one_to_one"), "one_to_one sizes"),
        (dict(rule="fixed_indegree", degree=9, multapses=False), "indegree = 9"),
        (dict(rule="ring"), "unknown connection rule \"ring\""),
        (dict(rule="explicit"), "explicit rule needs pre_ids and post_ids"),
        (dict(rule="explicit", pre_ids=np.array([0, 7], np.uint32),
              post_ids=np.array([0, 1], np.uint32)), "pre id = 7"),
        (dict(rule="explicit", pre_ids=np.array([0], np.uint32),
              post_ids=np.array([0, 1], np.uint32)), "connections"),
        (dict(rule="explicit", pre_ids=np.array([0, 1], np.uint32),
              post_ids=np.array([0, 1], np.uint32), weight_kind="per_connection",
              weight_values=np.ones(3)), "per-connection values = 3"),
        (dict(weight_kind="gaussian"), "unknown value rule \"gaussian\""),
        (dict(weight_kind="uniform", weight_params=[1.0]), "uniform needs 2 parameters"),
    ],
)
def test_engine_rejects_bad_specs_without_panicking(overrides, text):
    with pytest.raises(ValueError, match=esc(text)):
        _spec(**overrides)


def test_engine_rejects_a_delay_beyond_its_limit_without_panicking():
    spec = _spec(delay_params=[1e6])
    with pytest.raises(ValueError, match="delay"):
        _engine.build_synapse_table(spec, np.arange(3, dtype=np.uint32))
