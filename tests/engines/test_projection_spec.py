"""The engine boundary: a ProjectionSpec the Rust engine cannot build raises ValueError naming
the value. None may surface as a Rust panic (pyo3's PanicException derives from
BaseException, so ``pytest.raises(ValueError)`` would not catch one)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikeshard import _engine
from tests.helpers import esc


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
