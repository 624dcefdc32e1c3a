"""Neuron models. Each is a class: a parameter spec, state variables, kernel constants and a
numpy kernel; those with ``rust_kernel`` set also run in the Rust engine."""

from .adex import AdEx
from .base import NeuronModel, Parameter, StateVariable, StepContext
from .hodgkin_huxley import HodgkinHuxleyNeuron
from .izhikevich import Izhikevich
from .lif import LIF, LIFDelta
from .lif_cond import LIFCond
from .poisson_source import PoissonSource
from .traub_miles import TraubMilesHH

__all__ = [
    "AdEx",
    "LIF",
    "HodgkinHuxleyNeuron",
    "Izhikevich",
    "LIFCond",
    "LIFDelta",
    "NeuronModel",
    "Parameter",
    "PoissonSource",
    "StateVariable",
    "StepContext",
    "TraubMilesHH",
]
