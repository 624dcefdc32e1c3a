"""spikeshard: spiking neural networks on one core, all cores of a machine, or many machines
with MPI. Python declares and orchestrates; each rank steps its neurons in Rust.

>>> import spikeshard as ss
>>> exc = ss.Population(ss.models.LIF, n=800, label="exc")
"""

from __future__ import annotations

from . import models
from .distributions import Normal, Uniform
from .engines import rust_supports_model as _rust_supports_model
from .errors import (
    ModelError,
    NetworkError,
    SimulationError,
    SpikeshardError,
    UnsupportedError,
)
from .monitors import SpikeMonitor, StateMonitor
from .network import Network
from .population import Population
from .projection import Projection
from .stimuli import PoissonInput

__version__ = "0.1.0"

__all__ = [
    "ModelError",
    "Network",
    "NetworkError",
    "Normal",
    "PoissonInput",
    "Population",
    "Projection",
    "SimulationError",
    "SpikeMonitor",
    "SpikeshardError",
    "StateMonitor",
    "Uniform",
    "UnsupportedError",
    "_rust_supports_model",
    "models",
]
