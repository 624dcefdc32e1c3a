"""Units: values almost certainly in another unit (NEST's milliseconds, SI farads) are refused
with a message naming the expected unit and the probable meaning; the unit helpers let an
unusual value through."""

from __future__ import annotations

import re

import numpy as np
import pytest

import spikeshard as ss
from spikeshard.errors import ModelError, NetworkError
from spikeshard.models import LIF, HodgkinHuxleyNeuron, LIFDelta
from spikeshard.models.base import Parameter
from spikeshard.units import UnitError


def esc(text: str) -> str:
    return re.escape(text)


@pytest.mark.parametrize(("model", "name", "value", "meant"), [
    (LIF, "tau_m", 10.0, "tau_m=0.01"),
    (LIF, "t_ref", 2.0, "t_ref=0.002"),
    (LIF, "tau_syn_ex", 5.0, "tau_syn_ex=0.005"),
    (LIF, "tau_syn_in", 1.0, "tau_syn_in=0.001"),  # exactly one second is refused too
    (LIFDelta, "tau_m", 20.0, "tau_m=0.02"),
    (HodgkinHuxleyNeuron, "tau_syn_ex", 2.0, "tau_syn_ex=0.002"),
])
def test_time_constants_in_milliseconds_are_refused(model, name, value, meant):
    with pytest.raises(UnitError) as caught:
        ss.Population(model, 3, params={name: value})
    message = str(caught.value)
    assert f"{model.__name__} parameter {name} = {value:g}" in message
    assert f"takes {name} in s" in message
    assert meant in message and f"ss.ms({value:g})" in message
    assert f"ss.seconds({value:g})" in message
    # A UnitError is a ValueError, as every bad-input error.
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("helper", [ss.seconds, ss.units.seconds])
def test_a_stated_unit_lets_an_unusual_value_through(helper):
    pop = ss.Population(LIF, 3, params={"tau_m": helper(2.0), "t_ref": ss.ms(3.0)})
    assert pop.params["tau_m"] == 2.0 and type(pop.params["tau_m"]) is float
    assert pop.params["t_ref"] == pytest.approx(0.003)


def test_capacitance_in_farads_is_refused():
    with pytest.raises(UnitError, match=esc("c_m = 2.5e-10: spikeshard takes c_m in pF")) as e:
        ss.Population(LIF, 3, params={"c_m": 250e-12})
    assert "If you wrote farads, write c_m=250" in str(e.value)
    assert ss.Population(LIF, 3, params={"c_m": ss.units.pF(1e-6)}).params["c_m"] == 1e-6


def test_plausible_values_and_zero_pass():
    pop = ss.Population(LIF, 3, params={"tau_m": 0.999, "t_ref": 0.0, "c_m": 1.0})
    assert pop.params["t_ref"] == 0.0


def test_the_hard_range_is_checked_before_plausibility():
    with pytest.raises(ModelError, match="expected a value in"):
        ss.Population(LIF, 3, params={"tau_m": -10.0})
    with pytest.raises(ModelError, match="expected a value in"):
        ss.Population(LIF, 3, params={"tau_m": ss.seconds(-10.0)})


@pytest.mark.parametrize("dt", [0.1, 0.01, 1.0])
@pytest.mark.parametrize("how", ["run", "build"])
def test_dt_in_milliseconds_is_refused(dt, how):
    net = ss.Network(ss.Population(LIF, 2))
    with pytest.raises(UnitError, match=esc(f"dt = {dt:g}: spikeshard takes dt in s")) as e:
        net.run(1.0, dt=dt, progress=False) if how == "run" else net.build(dt)
    assert f"write dt={dt / 1000:g} (or ss.ms({dt:g}))" in str(e.value)
    assert not net.is_built


def test_dt_stated_in_seconds_or_milliseconds_runs():
    net = ss.Network(ss.Population(LIF, 2))
    net.run(0.2, dt=ss.seconds(0.05), progress=False)
    assert net.dt == 0.05 and net.t == pytest.approx(0.2)
    net = ss.Network(ss.Population(LIF, 2))
    net.run(0.001, dt=ss.ms(0.1), progress=False)
    assert net.dt == pytest.approx(1e-4)


def test_poisson_input_dt_in_milliseconds_is_refused():
    with pytest.raises(UnitError, match=esc("PoissonInput dt = 1: spikeshard takes dt in s")):
        ss.PoissonInput(rate_hz=10.0, dt=1.0)


@pytest.mark.parametrize(("delay", "text"), [
    (1.5 * 1000, "Projection delay = 1500: spikeshard takes delay in s"),
    (ss.Uniform(1e-3, 7.0), "Projection delay = Uniform(low=0.001, high=7.0)"),
    (ss.Normal(10.0, 1.0, low=1e-3), "Projection delay = Normal(mean=10.0"),
])
def test_delays_above_a_second_are_refused(delay, text):
    a, b = ss.Population(LIF, 3), ss.Population(LIF, 3)
    with pytest.raises(UnitError, match=esc(text)):
        ss.Projection(a, b, delay=delay)


def test_per_connection_delays_above_a_second_are_refused_unless_stated():
    a, b = ss.Population(LIF, 3), ss.Population(LIF, 3)
    connections = ([0, 1], [1, 2])
    with pytest.raises(UnitError, match="an array of magnitude up to 2"):
        ss.Projection(a, b, connections=connections, delay=[1e-3, 2.0])
    proj = ss.Projection(a, b, connections=connections, delay=ss.seconds([1e-3, 2.0]))
    np.testing.assert_array_equal(proj.delay, [1e-3, 2.0])


def test_a_delay_of_exactly_one_second_is_plausible():
    a, b = ss.Population(LIF, 3), ss.Population(LIF, 3)
    assert ss.Projection(a, b, delay=1.0).delay == 1.0


def test_helpers_convert_and_check_their_argument():
    assert ss.ms(1.5) == pytest.approx(0.0015)
    assert ss.units.us(250) == pytest.approx(2.5e-4)
    np.testing.assert_allclose(ss.ms(np.array([1.0, 2.0])), [0.001, 0.002])
    with pytest.raises(UnitError, match="'10 ms': expected a number"):
        ss.ms("10 ms")


def test_each_parameter_declares_its_own_plausible_range():
    slow = Parameter("tau_x", 1.0, "s", "a slow time constant", low=0.0, plausible=(None, 100.0))
    assert slow.validate(50.0, "Slow") == 50.0
    with pytest.raises(UnitError, match=esc("Slow parameter tau_x = 100: spikeshard takes")):
        slow.validate(100.0, "Slow")
    unchecked = Parameter("x", 0.0, "mV", "no plausible range")
    assert unchecked.validate(1e9, "Any") == 1e9


def test_unit_errors_do_not_hide_other_network_errors():
    with pytest.raises(NetworkError, match="dt = -0.1"):
        ss.Network(ss.Population(LIF, 2)).run(1.0, dt=-0.1)
