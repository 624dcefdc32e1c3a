"""Uniform and Normal: bad bounds and moments are refused where they are written."""

from __future__ import annotations

import math

import pytest

import spikeshard as ss
from spikeshard.errors import NetworkError
from tests.helpers import esc


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
