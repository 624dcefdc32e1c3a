"""The exception hierarchy. Every error also subclasses a built-in, so ``except ValueError``
catches bad input as users expect."""

from __future__ import annotations


class SpikeshardError(Exception):
    """Base class of every spikeshard error."""


class ModelError(SpikeshardError, ValueError):
    """A neuron model, parameter or state value is invalid."""


class NetworkError(SpikeshardError, ValueError):
    """A population, projection, stimulus or monitor is declared with invalid arguments."""


class SimulationError(SpikeshardError, RuntimeError):
    """Running failed: wrong order of calls, engine failure, or a rank failed."""


class UnsupportedError(SpikeshardError, NotImplementedError):
    """The requested feature is not supported by the chosen engine or backend."""


class RankLeftError(SimulationError):
    """Another MPI rank left (ended its script, or called sys.exit) while this one waited for
    it in a collective: the job cannot continue. ``exit_status`` is the status the job ends
    with (the other rank's, where it gave one)."""

    def __init__(self, message: str, exit_status: int = 1) -> None:
        super().__init__(message)
        self.exit_status = exit_status


class CollectiveMismatchError(SimulationError):
    """MPI ranks called different collectives at the same point: the script took a different
    path on some ranks (e.g. ``if rank == 0: net.get_state(...)``)."""


class PerformanceWarning(UserWarning):
    """The network runs, but slower than it could: e.g. populations of a model without a
    Rust kernel run on the numpy engine."""
