"""Connectivity rules: statistics and exactness of the synapses each topology builds, their
weights and delays, independence from how targets are split over ranks, and an end-to-end
check that a weight arrives at its target exactly one delay after the spike."""

from __future__ import annotations

import math

import numpy as np
import pytest

import spikeshard as ss
from spikeshard._engine import build_synapse_table
from spikeshard.layout import make_layout
from spikeshard.models import LIF, LIFDelta, PoissonSource
from spikeshard.specs import projection_spec

DT = 1e-4


class Synapses:
    """The synapses of one projection as flat arrays (population-local ids)."""

    def __init__(self, pre, post, weight, delay):
        self.pre, self.post, self.weight, self.delay = pre, post, weight, delay

    def __len__(self) -> int:
        return len(self.pre)

    def records(self) -> list[tuple[int, int, float, int]]:
        """Sorted (pre, post, weight, delay) tuples: comparable across builds."""
        return sorted(zip(self.pre.tolist(), self.post.tolist(), self.weight.tolist(),
                          self.delay.tolist(), strict=True))

    def pairs(self) -> list[tuple[int, int]]:
        return sorted(zip(self.pre.tolist(), self.post.tolist(), strict=True))


def synapses(*objects, index=0, dt=DT, seed=1, targets=None) -> Synapses:
    """Builds projection ``index`` of ``objects`` onto ``targets`` (default: every post id)."""
    layout = make_layout(objects)
    spec, _, _ = projection_spec(layout, index, dt, seed)
    post = layout.projections[index].post
    targets = (np.arange(post.n, dtype=np.uint32) if targets is None
               else np.asarray(targets, dtype=np.uint32))
    table = build_synapse_table(spec, targets)
    offsets = np.asarray(table["offsets"], dtype=np.int64)
    assert len(offsets) == layout.projections[index].pre.n + 1
    assert offsets[0] == 0 and np.all(np.diff(offsets) >= 0)
    pre = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    post_ids = targets[np.asarray(table["targets"], dtype=np.int64)]
    weights = np.asarray(table["weights"], dtype=np.float64)
    delays = np.asarray(table["delays"], dtype=np.int64)
    assert len(pre) == len(post_ids) == len(weights) == len(delays) == offsets[-1]
    return Synapses(pre, post_ids, weights, delays)


def build(pre_n, post_n, *, same=False, seed=1, targets=None, dt=DT, **kwargs) -> Synapses:
    pre = ss.Population(LIF, pre_n, label="pre")
    post = pre if same else ss.Population(LIF, post_n, label="post")
    proj = ss.Projection(pre, post, **kwargs)
    objects = (pre,) if same else (pre, post)
    return synapses(*objects, proj, seed=seed, targets=targets, dt=dt)


def degrees(ids: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(ids, minlength=n)


# ------------------------------------------------------------------ topologies


@pytest.mark.parametrize("p", [0.05, 0.3, 0.7])
def test_random_count_within_four_sigma(p):
    n_pre, n_post = 300, 200
    syn = build(n_pre, n_post, topology="random", probability=p)
    pairs = n_pre * n_post
    assert abs(len(syn) - p * pairs) < 4 * math.sqrt(pairs * p * (1 - p))
    assert len(set(syn.pairs())) == len(syn)  # each pair at most once
    # Every source and every target takes part with roughly its share.
    in_deg = degrees(syn.post, n_post)
    assert abs(in_deg.mean() - p * n_pre) < 4 * math.sqrt(p * (1 - p) * n_pre / n_post)
    assert in_deg.std() < 2 * math.sqrt(n_pre * p * (1 - p)) + 1


def test_random_p0_builds_nothing_and_p1_builds_every_pair():
    assert len(build(40, 30, topology="random", probability=0.0)) == 0
    full = build(40, 30, topology="random", probability=1.0)
    assert full.pairs() == [(i, j) for i in range(40) for j in range(30)]


def test_random_p1_without_autapses():
    syn = build(25, 25, same=True, topology="random", probability=1.0, allow_autapses=False)
    assert syn.pairs() == [(i, j) for i in range(25) for j in range(25) if i != j]


def test_random_onto_itself_excludes_autapses_only_when_asked():
    without = build(200, 200, same=True, topology="random", probability=0.5,
                    allow_autapses=False)
    assert len(without) > 0 and not np.any(without.pre == without.post)
    with_autapses = build(200, 200, same=True, topology="random", probability=0.5)
    assert np.any(with_autapses.pre == with_autapses.post)


def test_all_to_all():
    syn = build(7, 4, topology="all_to_all")
    assert syn.pairs() == [(i, j) for i in range(7) for j in range(4)]
    same = build(6, 6, same=True, topology="all_to_all", allow_autapses=False)
    assert same.pairs() == [(i, j) for i in range(6) for j in range(6) if i != j]
    with_autapses = build(6, 6, same=True, topology="all_to_all")
    assert len(with_autapses) == 36


def test_one_to_one():
    syn = build(9, 9, topology="one_to_one", weight=2.5, delay=3e-4)
    assert syn.pairs() == [(i, i) for i in range(9)]
    np.testing.assert_array_equal(syn.weight, 2.5)
    np.testing.assert_array_equal(syn.delay, 3)


@pytest.mark.parametrize("multapses", [True, False])
def test_fixed_indegree(multapses):
    n_pre, n_post, k = 30, 40, 12
    syn = build(n_pre, n_post, topology="fixed_indegree", indegree=k,
                allow_multapses=multapses)
    np.testing.assert_array_equal(degrees(syn.post, n_post), k)
    assert syn.pre.min() >= 0 and syn.pre.max() < n_pre
    if not multapses:
        assert len(set(syn.pairs())) == len(syn)
    # Sources are spread over the whole pre population.
    assert len(np.unique(syn.pre)) > n_pre * 0.8


def test_fixed_indegree_with_multapses_draws_repeats():
    syn = build(5, 50, topology="fixed_indegree", indegree=5)
    np.testing.assert_array_equal(degrees(syn.post, 50), 5)
    assert len(set(syn.pairs())) < len(syn)


def test_fixed_indegree_of_every_source_without_multapses():
    syn = build(8, 5, topology="fixed_indegree", indegree=8, allow_multapses=False)
    assert syn.pairs() == [(i, j) for i in range(8) for j in range(5)]


def test_fixed_indegree_without_autapses():
    n, k = 20, 19
    syn = build(n, n, same=True, topology="fixed_indegree", indegree=k, allow_autapses=False,
                allow_multapses=False)
    np.testing.assert_array_equal(degrees(syn.post, n), k)
    assert not np.any(syn.pre == syn.post)
    multi = build(n, n, same=True, topology="fixed_indegree", indegree=50,
                  allow_autapses=False)
    np.testing.assert_array_equal(degrees(multi.post, n), 50)
    assert not np.any(multi.pre == multi.post)


@pytest.mark.parametrize("multapses", [True, False])
def test_fixed_outdegree_across_the_union_of_targets(multapses):
    n_pre, n_post, k = 35, 24, 9
    kwargs = dict(topology="fixed_outdegree", outdegree=k, allow_multapses=multapses)
    low = build(n_pre, n_post, targets=np.arange(0, 10), **kwargs)
    high = build(n_pre, n_post, targets=np.arange(10, n_post), **kwargs)
    assert set(low.post.tolist()) <= set(range(10))
    assert set(high.post.tolist()) <= set(range(10, n_post))
    pre = np.concatenate([low.pre, high.pre])
    np.testing.assert_array_equal(degrees(pre, n_pre), k)
    # Each half alone does not hold all of a source's targets.
    assert np.any(degrees(low.pre, n_pre) != k)
    if not multapses:
        pairs = low.pairs() + high.pairs()
        assert len(set(pairs)) == len(pairs)


def test_fixed_outdegree_without_autapses():
    n = 15
    syn = build(n, n, same=True, topology="fixed_outdegree", outdegree=n - 1,
                allow_autapses=False, allow_multapses=False)
    assert syn.pairs() == [(i, j) for i in range(n) for j in range(n) if i != j]


def test_explicit_connections_with_per_connection_weights_and_delays():
    pre_ids = [0, 4, 4, 2, 0, 3, 3]
    post_ids = [1, 0, 2, 2, 1, 0, 2]  # (0, 1) listed twice: a multapse
    weights = [0.5, -1.25, 3.0, 7.75, -0.5, 100.0, 1e-3]
    delays = [1e-4, 3.3e-4, 1.26e-3, 7e-4, 2e-4, 1.04e-3, 5e-4]
    syn = build(5, 3, connections=(pre_ids, post_ids), weight=weights, delay=delays)
    expected = sorted(
        (i, j, float(np.float32(w)), round(d / DT))
        for i, j, w, d in zip(pre_ids, post_ids, weights, delays, strict=True)
    )
    assert syn.records() == expected
    assert sorted(syn.delay.tolist()) == [1, 2, 3, 5, 7, 10, 13]


def test_explicit_connections_with_scalar_weight_and_delay():
    syn = build(4, 4, connections=([3, 1], [0, 0]), weight=-2.0, delay=2.5e-3)
    assert syn.records() == [(1, 0, -2.0, 25), (3, 0, -2.0, 25)]


def test_explicit_connections_ignore_the_autapse_flag_and_may_be_empty():
    # Listed connections are built as listed.
    syn = build(4, 4, same=True, connections=([1, 2], [1, 3]), allow_autapses=False)
    assert syn.pairs() == [(1, 1), (2, 3)]
    assert len(build(4, 3, connections=(np.zeros(0, int), np.zeros(0, int)))) == 0


def test_explicit_connections_onto_part_of_the_targets():
    pre_ids, post_ids = [0, 1, 2, 3], [3, 2, 1, 0]
    weights = [1.0, 2.0, 3.0, 4.0]
    part = build(4, 4, connections=(pre_ids, post_ids), weight=weights,
                 targets=[1, 3])
    assert part.records() == [(0, 3, 1.0, 1), (2, 1, 3.0, 1)]


# ------------------------------------------------------------------ weights and delays


def test_scalar_and_default_delays_in_steps():
    assert set(build(3, 3, delay=1.5e-3).delay.tolist()) == {15}
    assert set(build(3, 3).delay.tolist()) == {1}  # default: one step
    assert set(build(3, 3, delay=1.5e-3, dt=5e-4).delay.tolist()) == {3}
    # Rounded to the nearest step.
    assert set(build(3, 3, delay=1.04e-3).delay.tolist()) == {10}
    assert set(build(3, 3, delay=1.06e-3).delay.tolist()) == {11}


def test_normal_weights_mean_and_std():
    syn = build(100, 100, weight=ss.Normal(5.0, 2.0))
    assert len(syn) == 10_000
    assert abs(syn.weight.mean() - 5.0) < 0.1
    assert abs(syn.weight.std() - 2.0) < 0.1
    assert len(np.unique(syn.weight)) > 9000


def test_normal_weights_are_clipped_to_their_bounds():
    syn = build(100, 100, weight=ss.Normal(1.0, 2.0, low=0.0, high=2.0))
    assert syn.weight.min() == 0.0 and syn.weight.max() == np.float32(2.0)
    # About 31% of a Normal(1, 2) lies below 0 and as much above 2.
    for bound in (0.0, np.float32(2.0)):
        share = np.mean(syn.weight == bound)
        assert 0.27 < share < 0.35
    inner = syn.weight[(syn.weight > 0.0) & (syn.weight < 2.0)]
    assert abs(inner.mean() - 1.0) < 0.05


def test_uniform_weights_within_bounds():
    syn = build(100, 100, weight=ss.Uniform(-3.0, -1.0))
    assert syn.weight.min() >= -3.0 and syn.weight.max() <= -1.0
    assert abs(syn.weight.mean() + 2.0) < 0.05
    assert syn.weight.min() < -2.95 and syn.weight.max() > -1.05


def test_uniform_delays_within_bounds_in_steps():
    syn = build(60, 60, delay=ss.Uniform(0.5e-3, 2e-3))
    assert syn.delay.min() >= 5 and syn.delay.max() <= 20
    # All steps in between occur; the end steps only half as often (rounding).
    counts = np.bincount(syn.delay, minlength=21)[5:21]
    assert np.all(counts > 0)
    assert abs(counts[1:-1].mean() - len(syn) / 15) < 0.1 * len(syn) / 15


def test_normal_delays_without_lower_bound_are_clipped_at_one_step():
    syn = build(60, 60, delay=ss.Normal(2e-4, 5e-4))
    assert syn.delay.min() == 1
    assert np.mean(syn.delay == 1) > 0.4  # P(x < 1.5 steps) ~ 0.46 for N(2, 5) steps


def test_normal_delays_with_bounds():
    syn = build(60, 60, delay=ss.Normal(1e-3, 5e-4, low=5e-4, high=1.5e-3))
    assert syn.delay.min() == 5 and syn.delay.max() == 15


# ------------------------------------------------------------------ seeds and ranks


RANDOM_RULES = [
    dict(topology="random", probability=0.2),
    dict(topology="fixed_indegree", indegree=6),
    dict(topology="fixed_indegree", indegree=6, allow_multapses=False),
    dict(topology="fixed_outdegree", outdegree=5),
    dict(topology="fixed_outdegree", outdegree=5, allow_multapses=False),
    dict(topology="all_to_all"),
]


@pytest.mark.parametrize("rule", RANDOM_RULES, ids=lambda r: "-".join(map(str, r.values())))
def test_split_targets_build_the_same_synapses(rule):
    kwargs = dict(rule, weight=ss.Normal(1.0, 0.5), delay=ss.Uniform(1e-4, 3e-3))
    whole = build(50, 41, **kwargs)
    assert len(whole) > 0
    for halves in ((np.arange(0, 20), np.arange(20, 41)),
                   (np.arange(0, 41, 2), np.arange(1, 41, 2))):
        parts = [build(50, 41, targets=t, **kwargs) for t in halves]
        assert sorted(parts[0].records() + parts[1].records()) == whole.records()


@pytest.mark.parametrize("rule", RANDOM_RULES[:-1],
                         ids=lambda r: "-".join(map(str, r.values())))
def test_seed_decides_connectivity(rule):
    first = build(50, 41, seed=1, **rule)
    again = build(50, 41, seed=1, **rule)
    other = build(50, 41, seed=2, **rule)
    assert first.pairs() == again.pairs()
    assert first.pairs() != other.pairs()


def test_seed_decides_weights_and_delays():
    kwargs = dict(weight=ss.Uniform(0.0, 1.0), delay=ss.Uniform(1e-4, 1e-2))
    first, again, other = (build(10, 10, seed=s, **kwargs) for s in (5, 5, 6))
    assert first.records() == again.records()
    assert first.pairs() == other.pairs()  # all_to_all: same pairs ...
    assert not np.array_equal(first.weight, other.weight)  # ... other values
    assert not np.array_equal(first.delay, other.delay)


def test_projections_of_one_network_draw_independently():
    pre = ss.Population(LIF, 40)
    post = ss.Population(LIF, 40)
    projs = [ss.Projection(pre, post, topology="fixed_indegree", indegree=5) for _ in range(2)]
    a = synapses(pre, post, *projs, index=0)
    b = synapses(pre, post, *projs, index=1)
    assert a.pairs() != b.pairs()


def test_network_built_synapse_count_matches_the_table():
    pre = ss.Population(LIF, 30)
    post = ss.Population(LIF, 20)
    proj = ss.Projection(pre, post, topology="random", probability=0.3)
    net = ss.Network(pre, post, proj, seed=9)
    net.build(DT, backend="rust")
    assert net.local_synapses == len(synapses(pre, post, proj, seed=9))


# ------------------------------------------------------------------ weights arrive


def _delta_target(label="target"):
    return ss.Population(LIFDelta, 1, label=label, params={"v_rest": -70.0, "i_e": 0.0})


def _arrival(backend, source, weight, delay, duration=0.012):
    target = _delta_target()
    proj = ss.Projection(source, target, weight=weight, delay=delay)
    spikes = ss.SpikeMonitor(source)
    vm = ss.StateMonitor(target, "v")
    ss.Network(source, target, proj, spikes, vm, seed=4).run(
        duration, dt=DT, backend=backend, progress=False)
    assert spikes.count > 0
    return spikes.times, vm.t, vm.v[:, 0]


@pytest.mark.parametrize(("weight", "delay"), [(2.0, 1.5e-3), (-3.0, 1e-4), (0.75, 4.2e-3)])
def test_weight_from_a_driven_neuron_arrives_after_the_delay(backend, weight, delay):
    driver = ss.Population(LIFDelta, 1, label="driver", params={"i_e": 1000.0})
    times, t, v = _arrival(backend, driver, weight, delay)
    first = times[0]
    # The driver charges from -70 mV towards -30 mV and crosses -55 mV after
    # tau_m * ln(40 / 25) = 4.7 ms; spike times are end-of-step times.
    assert first == pytest.approx(math.ceil(0.01 * math.log(40 / 25) / DT) * DT)
    np.testing.assert_allclose(t, (np.arange(len(t)) + 1) * DT)
    arrival = int(round((first + delay) / DT)) - 1  # sample index at first + delay
    assert t[arrival] == pytest.approx(first + delay)
    np.testing.assert_array_equal(v[:arrival], -70.0)
    assert v[arrival] == pytest.approx(-70.0 + weight, abs=1e-12)
    # Afterwards it relaxes back towards rest.
    assert abs(v[arrival + 1] + 70.0) < abs(weight)


def test_weight_from_a_poisson_source_arrives_after_the_delay(backend):
    source = ss.Population(PoissonSource, 1, label="src", params={"rate_hz": 300.0})
    weight, delay = 1.5, 2e-3
    times, t, v = _arrival(backend, source, weight, delay, duration=0.02)
    first = times[0]
    assert first == pytest.approx(round(first / DT) * DT)
    arrival = int(round((first + delay) / DT)) - 1
    np.testing.assert_array_equal(v[:arrival], -70.0)
    assert v[arrival] - v[arrival - 1] == pytest.approx(weight, abs=1e-12)


@pytest.mark.parametrize(("weight", "variable", "other"),
                         [(40.0, "i_syn_ex", "i_syn_in"), (-25.0, "i_syn_in", "i_syn_ex")])
def test_lif_current_jumps_by_the_weight(backend, weight, variable, other):
    driver = ss.Population(LIFDelta, 1, label="driver", params={"i_e": 1000.0})
    target = ss.Population(LIF, 1, label="target")
    delay = 1e-3
    spikes = ss.SpikeMonitor(driver)
    vm = ss.StateMonitor(target, ["v", variable, other])
    net = ss.Network(driver, target, ss.Projection(driver, target, weight=weight, delay=delay),
                     spikes, vm)
    net.run(0.008, dt=DT, backend=backend, progress=False)
    arrival = int(round((spikes.times[0] + delay) / DT)) - 1
    current = vm.traces[variable][:, 0]
    np.testing.assert_array_equal(current[:arrival], 0.0)
    assert current[arrival] == pytest.approx(weight, abs=1e-9)
    np.testing.assert_array_equal(vm.traces[other][:, 0], 0.0)
    # The membrane responds one step later (the current is added after propagation).
    np.testing.assert_array_equal(vm.v[: arrival + 1, 0], -70.0)
    assert np.sign(vm.v[arrival + 1, 0] + 70.0) == np.sign(weight)


def test_explicit_per_connection_weights_and_delays_arrive(backend):
    driver = ss.Population(LIFDelta, 1, label="driver", params={"i_e": 1000.0})
    target = ss.Population(LIFDelta, 3, label="targets")
    weights, delays = [1.0, -2.0, 0.5], [1e-4, 7e-4, 2.3e-3]
    proj = ss.Projection(driver, target, connections=([0, 0, 0], [0, 1, 2]),
                         weight=weights, delay=delays)
    spikes = ss.SpikeMonitor(driver)
    vm = ss.StateMonitor(target, "v", record=True)
    ss.Network(driver, target, proj, spikes, vm).run(0.008, dt=DT, backend=backend,
                                                     progress=False)
    first = spikes.times[0]
    for j, (w, d) in enumerate(zip(weights, delays, strict=True)):
        arrival = int(round((first + d) / DT)) - 1
        np.testing.assert_array_equal(vm.v[:arrival, j], -70.0)
        assert vm.v[arrival, j] == pytest.approx(-70.0 + w, abs=1e-12)
