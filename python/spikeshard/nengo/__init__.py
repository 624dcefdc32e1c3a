"""spikeshard's nengo backend: ``spikeshard.nengo.Simulator``, a drop-in for ``nengo.Simulator``
that runs the model in Rust, in one process or split over MPI ranks (nengo_mpi's API:
``Partitioner``, the partition functions, ``assignments``).

Needs the ``nengo`` extra (``pip install spikeshard[nengo]``).
"""

from spikeshard.nengo.partition import PartitionError
from spikeshard.nengo.simulator import Simulator
from spikeshard.partition import (
    Partitioner,
    metis_partitioner,
    random_partitioner,
    work_balanced_partitioner,
)

__all__ = [
    "PartitionError",
    "Partitioner",
    "Simulator",
    "metis_partitioner",
    "random_partitioner",
    "work_balanced_partitioner",
]
