"""Projections: bad probabilities, weights, delays, topologies and explicit connections each
get a clear exception naming the argument and its value, at declaration or, for delays
against ``dt``, when the network is built."""

from __future__ import annotations

import math

import numpy as np
import pytest

import spikeshard as ss
from spikeshard.errors import NetworkError
from spikeshard.models import PoissonSource
from tests.helpers import esc, two_pops

DT = 1e-4


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
    [(ss.seconds(10.0), "delay of 100000 steps exceeds the limit of 65535 steps"),
     (ss.Uniform(1e-3, ss.seconds(7.0)), "delay of 70000 steps exceeds the limit of 65535 steps"),
     (ss.Normal(ss.seconds(10.0), 1.0), "delay")],
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
