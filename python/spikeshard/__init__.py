"""spikeshard: spiking neural networks on one core, all cores of a machine, or many machines
with MPI. Python declares and orchestrates; each rank steps its neurons in Rust.

>>> import spikeshard as ss
>>> exc = ss.Population(ss.models.LIF, n=800, label="exc")
"""

from __future__ import annotations

from . import models, plotting
from ._version import __version__
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
from .partition import (
    Partitioner,
    even_partitioner,
    metis_partitioner,
    random_partitioner,
    work_balanced_partitioner,
)
from .population import Population
from .projection import Projection
from .stimuli import PoissonInput

__all__ = [
    "ModelError",
    "Network",
    "NetworkError",
    "Normal",
    "Partitioner",
    "PoissonInput",
    "Population",
    "Projection",
    "SimulationError",
    "SpikeMonitor",
    "SpikeshardError",
    "StateMonitor",
    "Uniform",
    "UnsupportedError",
    "__version__",
    "_rust_supports_model",
    "even_partitioner",
    "metis_partitioner",
    "random_partitioner",
    "models",
    "plotting",
    "work_balanced_partitioner",
]
