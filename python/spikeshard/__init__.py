"""spikeshard: spiking neural networks on one core, all cores of a machine, or many machines
with MPI. Python declares and orchestrates; each rank steps its neurons in Rust.

>>> import spikeshard as ss
>>> exc = ss.Population(ss.models.LIF, n=800, label="exc")

``ss._rust_supports_model(model)`` says whether the compiled Rust engine implements a model
class (SC-NeuroCore's name for the check, kept for its scripts); models without a Rust kernel
run on the numpy engine.
"""

from __future__ import annotations

from . import comm, models, plotting, units
from ._version import __version__
from .distributions import Normal, Uniform
from .engines import rust_supports_model as _rust_supports_model
from .errors import (
    CollectiveMismatchError,
    ModelError,
    NetworkError,
    PerformanceWarning,
    RankLeftError,
    SimulationError,
    SpikeshardError,
    UnsupportedError,
)
from .monitors import RateMonitor, SpikeMonitor, StateMonitor
from .network import Network, report
from .partition import (
    Partitioner,
    even_partitioner,
    metis_partitioner,
    random_partitioner,
    work_balanced_partitioner,
)
from .population import Population
from .projection import Projection
from .results import Results, load
from .stimuli import PoissonInput
from .units import UnitError, ms, seconds

# Under an MPI launcher: every rank joins the guard that keeps collectives from hanging
# (see comm.py) now, before the script can take different paths on different ranks.
comm.install_guard_if_launched()

__all__ = [
    "CollectiveMismatchError",
    "ModelError",
    "Network",
    "NetworkError",
    "Normal",
    "PerformanceWarning",
    "Partitioner",
    "PoissonInput",
    "Population",
    "Projection",
    "RankLeftError",
    "RateMonitor",
    "Results",
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
    "load",
    "metis_partitioner",
    "random_partitioner",
    "models",
    "ms",
    "plotting",
    "report",
    "seconds",
    "units",
    "work_balanced_partitioner",
]
