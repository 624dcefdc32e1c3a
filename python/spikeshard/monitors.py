"""Monitors: what to record. The engine records only what a monitor asks for; the run loop
hands the recorded data to the monitor after each run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _validate
from .arrays import FloatArray, IntArray
from .errors import NetworkError
from .population import Population


def _record_ids(source: Population, record: Any, name: str) -> IntArray | None:
    """None for every neuron, else sorted unique population-local ids."""
    if record is None or record is True:
        return None
    ids = np.asarray(record)
    if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
        raise NetworkError(f"{name} record = {record!r}: expected a list of neuron ids")
    if ids.size and (ids.min() < 0 or ids.max() >= source.n):
        bad = ids[(ids < 0) | (ids >= source.n)][0]
        raise NetworkError(
            f"{name} record contains {bad}: {source.name} has ids 0..{source.n - 1}"
        )
    return np.unique(ids.astype(np.int64))


class SpikeMonitor:
    """Records the spikes of a population (all neurons, or the ids in ``record``).

    After a run, ``spikes`` is ``(times_s, ids)`` sorted by time then id, with population-
    local ids; ``count`` is the number of spikes; ``rates()`` gives per-neuron rates in Hz.
    Spike times are end-of-step times ``(step + 1) * dt`` (as NEST), or the interpolated
    threshold crossing for models with precise spike times (Hodgkin–Huxley).
    """

    def __init__(self, source: Population, record: Sequence[int] | None = None,
                 label: str | None = None) -> None:
        if not isinstance(source, Population):
            raise NetworkError(f"source = {source!r}: expected a Population")
        self.source = source
        self.record = _record_ids(source, record, "SpikeMonitor")
        self.label = _validate.label(label)
        self.reset()

    def reset(self) -> None:
        """Forget everything recorded."""
        self._times: list[FloatArray] = []
        self._ids: list[IntArray] = []
        self.duration = 0.0

    def _append(self, times: FloatArray, ids: IntArray, duration: float) -> None:
        if self.record is not None:
            keep = np.isin(ids, self.record)
            times, ids = times[keep], ids[keep]
        self._times.append(times)
        self._ids.append(ids)
        self.duration += duration

    @property
    def spikes(self) -> tuple[FloatArray, IntArray]:
        """(times in s, population-local ids), sorted by time then id."""
        if not self._times:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        times, ids = np.concatenate(self._times), np.concatenate(self._ids)
        order = np.lexsort((ids, times))
        return times[order], ids[order]

    @property
    def times(self) -> FloatArray:
        return self.spikes[0]

    @property
    def ids(self) -> IntArray:
        return self.spikes[1]

    @property
    def count(self) -> int:
        """Total number of recorded spikes."""
        return int(sum(len(t) for t in self._times))

    @property
    def recorded_ids(self) -> IntArray:
        return np.arange(self.source.n) if self.record is None else self.record

    def rates(self) -> FloatArray:
        """Firing rate of each recorded neuron (Hz) over all runs so far."""
        ids = self.recorded_ids
        if self.duration <= 0:
            return np.zeros(len(ids))
        counts = np.bincount(self.spikes[1], minlength=self.source.n)[ids]
        return counts / self.duration

    def mean_rate(self) -> float:
        """Mean firing rate over the recorded neurons (Hz)."""
        rates = self.rates()
        return float(rates.mean()) if rates.size else 0.0

    def spike_trains(self) -> dict[int, FloatArray]:
        """Spike times (s) per recorded neuron id."""
        times, ids = self.spikes
        return {int(i): times[ids == i] for i in self.recorded_ids}

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Raster plot (needs matplotlib: ``pip install spikeshard[plot]``)."""
        from .plotting import raster

        return raster(self, ax=ax, **kwargs)

    def __repr__(self) -> str:
        return f"SpikeMonitor({self.source.name}, count={self.count})"


class StateMonitor:
    """Records state variables of some neurons every step.

    After a run, ``traces[var]`` has shape (n_samples, n_recorded) and ``t`` the sample
    times in s: the state at the end of each step, ``(step + 1) * dt`` (as NEST's multimeter).
    ``monitor.v`` is ``monitor.traces["v"]``.
    """

    def __init__(self, source: Population, variables: Sequence[str] = ("v",),
                 record: Sequence[int] | bool = (0,), label: str | None = None) -> None:
        if not isinstance(source, Population):
            raise NetworkError(f"source = {source!r}: expected a Population")
        if isinstance(variables, str):
            variables = [variables]
        names = source.model.state_names()
        for var in variables:
            if var not in names:
                raise NetworkError(
                    f"StateMonitor variable {var!r}: {source.model.__name__} has state "
                    f"variables {list(names)}"
                )
        if not variables:
            raise NetworkError("StateMonitor variables is empty: name at least one variable")
        self.source = source
        self.variables = list(variables)
        ids = _record_ids(source, record, "StateMonitor")
        self.record: IntArray = np.arange(source.n) if ids is None else ids
        self.label = _validate.label(label)
        self.reset()

    def reset(self) -> None:
        self._chunks: dict[str, list[FloatArray]] = {v: [] for v in self.variables}
        self._t: list[FloatArray] = []

    def _append(self, var: str, values: FloatArray) -> None:
        self._chunks[var].append(values)

    def _append_times(self, t: FloatArray) -> None:
        self._t.append(t)

    @property
    def traces(self) -> dict[str, FloatArray]:
        width = len(self.record)
        return {
            v: np.concatenate(c) if c else np.zeros((0, width)) for v, c in self._chunks.items()
        }

    @property
    def t(self) -> FloatArray:
        return np.concatenate(self._t) if self._t else np.zeros(0)

    def __getattr__(self, name: str) -> FloatArray:
        if name.startswith("_") or name not in self.__dict__.get("variables", []):
            raise AttributeError(name)
        return self.traces[name]

    def plot(self, variable: str | None = None, ax: Any = None) -> Any:
        """Plot traces of ``variable`` (default: the first) against time (needs matplotlib)."""
        from .plotting import traces

        return traces(self, variable or self.variables[0], ax=ax)

    def __repr__(self) -> str:
        return f"StateMonitor({self.source.name}, variables={self.variables})"
