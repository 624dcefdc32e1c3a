"""PoissonInput: bad rates, weights, sizes, targets and time steps are refused with the
argument named."""

from __future__ import annotations

import math

import pytest

import spikeshard as ss
from spikeshard.errors import NetworkError
from spikeshard.models import PoissonSource
from tests.helpers import esc, two_pops

DT = 1e-4


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
