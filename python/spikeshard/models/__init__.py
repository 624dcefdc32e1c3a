"""Neuron models. Each is a class: a parameter spec, state variables, kernel constants and a
numpy kernel; those with ``rust_kernel`` set also run in the Rust engine."""

from .base import NeuronModel, Parameter, StateVariable, StepContext
from .hodgkin_huxley import HodgkinHuxleyNeuron
from .lif import LIF, LIFDelta
from .poisson_source import PoissonSource

__all__ = [
    "LIF",
    "HodgkinHuxleyNeuron",
    "LIFDelta",
    "NeuronModel",
    "Parameter",
    "PoissonSource",
    "StateVariable",
    "StepContext",
]
