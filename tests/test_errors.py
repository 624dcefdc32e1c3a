"""The exception hierarchy: every spikeshard error is a SpikeshardError and subclasses the
built-in users expect (ValueError for bad input, NotImplementedError for unsupported
features, RuntimeError for calls in the wrong order)."""

from __future__ import annotations

from spikeshard.errors import (
    ModelError,
    NetworkError,
    SimulationError,
    SpikeshardError,
    UnsupportedError,
)


def test_errors_subclass_builtin_exceptions():
    assert issubclass(ModelError, ValueError) and issubclass(NetworkError, ValueError)
    assert issubclass(UnsupportedError, NotImplementedError)
    assert issubclass(SimulationError, RuntimeError)
    for error in (ModelError, NetworkError, UnsupportedError, SimulationError):
        assert issubclass(error, SpikeshardError)
