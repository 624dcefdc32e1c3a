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


class PerformanceWarning(UserWarning):
    """The network runs, but slower than it could: e.g. populations of a model without a
    Rust kernel run on the numpy engine."""
