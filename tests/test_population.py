"""Populations: bad sizes, models, labels, parameters and initial values each get a clear
exception naming the argument and its value."""

from __future__ import annotations

import math

import numpy as np
import pytest

import spikeshard as ss
from spikeshard.errors import ModelError, NetworkError
from spikeshard.models import LIF, LIFDelta, PoissonSource
from tests.helpers import NumpyOnly, esc


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
