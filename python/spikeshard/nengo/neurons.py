"""Which nengo neuron types the Rust operator program steps, and with which parameters.

The kernels (``rust/src/nengo/neurons.rs``) repeat nengo 4.1's ``NeuronType.step`` operation by
operation. Only the classes nengo defines itself are lowered, matched by exact type: a user
subclass may override ``step``. ``StochasticSpiking`` and ``PoissonSpiking`` draw from a numpy
``RandomState`` and stay in Python; ``Direct`` never becomes a ``SimNeurons`` operator.

A ``RegularSpiking(base)`` population is two ``SimNeurons`` operators in nengo: the base type
(current to rate, with the base type's own state) and ``RegularSpiking`` itself (rate to spikes,
state ``voltage``). Each gets its own spec, so ``RegularSpiking`` runs in Rust whatever its base.
"""

from __future__ import annotations

from typing import NamedTuple

import nengo


class NeuronSpec(NamedTuple):
    """A neuron type as the Rust program takes it."""

    name: str  #: the nengo class name (``"LIF"``, ``"RegularSpiking"`` ...)
    params: tuple[float, ...]  #: its parameters, in the order ``NeuronKind::from_spec`` reads
    states: tuple[str, ...]  #: the names of its state signals, in the order ``step`` takes them


# Parameter names in nengo's constructor order (times in seconds) and state names in the
# order of each type's ``step`` signature; both orders are fixed by NeuronKind in Rust.
_SPECS: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {
    nengo.RectifiedLinear: (("amplitude",), ()),
    nengo.SpikingRectifiedLinear: (("amplitude",), ("voltage",)),
    nengo.Sigmoid: (("tau_ref",), ()),
    nengo.Tanh: (("tau_ref",), ()),
    nengo.LIFRate: (("tau_rc", "tau_ref", "amplitude"), ()),
    nengo.LIF: (("tau_rc", "tau_ref", "min_voltage", "amplitude"), ("voltage", "refractory_time")),
    nengo.AdaptiveLIFRate: (("tau_n", "inc_n", "tau_rc", "tau_ref", "amplitude"), ("adaptation",)),
    nengo.AdaptiveLIF: (
        ("tau_n", "inc_n", "tau_rc", "tau_ref", "min_voltage", "amplitude"),
        ("voltage", "refractory_time", "adaptation"),
    ),
    nengo.Izhikevich: (
        ("tau_recovery", "coupling", "reset_voltage", "reset_recovery"),
        ("voltage", "recovery"),
    ),
    # Its operator's input is the base type's rate; the base type is a separate operator.
    nengo.RegularSpiking: (("amplitude",), ("voltage",)),
}


def neuron_spec(neuron_type: nengo.neurons.NeuronType) -> NeuronSpec | None:
    """The Rust form of ``neuron_type``, or None when it must run in Python."""
    entry = _SPECS.get(type(neuron_type))  # exact type: a subclass may override step
    if entry is None:
        return None
    params, states = entry
    return NeuronSpec(
        name=type(neuron_type).__name__,
        params=tuple(float(getattr(neuron_type, p)) for p in params),
        states=states,
    )
