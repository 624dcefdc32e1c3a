"""spikeshard: spiking neural networks on one core, all cores of a machine, or many machines
with MPI. Python declares and orchestrates; each rank steps its neurons in Rust.

>>> import spikeshard as ss
>>> exc = ss.Population(ss.models.LIF, n=800, label="exc")

``ss._rust_supports_model(model)`` says whether the compiled Rust engine implements a model
class (SC-NeuroCore's name for the check, kept for its scripts); models without a Rust kernel
run on the numpy engine.
"""

from __future__ import annotations

from . import models, plotting, units
from ._version import __version__
from .distributions import Normal, Uniform
from .engines import rust_supports_model as _rust_supports_model
from .errors import (
    ModelError,
    NetworkError,
    PerformanceWarning,
    SimulationError,
    SpikeshardError,
    UnsupportedError,
)
from .monitors import RateMonitor, SpikeMonitor, StateMonitor
from .network import Network
from .partition import (
    Partitioner,
    even_partitioner,
    metis_partitioner,
    work_balanced_partitioner,
)
from .population import Population
from .projection import Projection
from .stimuli import PoissonInput
from .units import UnitError, ms, seconds

__all__ = [
    "ModelError",
    "Network",
    "NetworkError",
    "Normal",
    "PerformanceWarning",
    "Partitioner",
    "PoissonInput",
    "Population",
    "Projection",
    "RateMonitor",
    "SimulationError",
    "SpikeMonitor",
    "SpikeshardError",
    "StateMonitor",
    "Uniform",
    "UnitError",
    "UnsupportedError",
    "__version__",
    "_rust_supports_model",
    "even_partitioner",
    "metis_partitioner",
    "models",
    "ms",
    "plotting",
    "seconds",
    "units",
    "work_balanced_partitioner",
]
