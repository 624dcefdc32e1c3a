"""Monitors as neo objects (``pip install 'spikeshard[neo]'``), for Elephant and the other
tools of the neo ecosystem: spike trains, analog signals with units, rates.

Built from whole arrays: spikes are grouped by neuron with one stable sort, not one search
per neuron, so 10^6 spikes convert in well under a second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import UnsupportedError

if TYPE_CHECKING:
    from .monitors import RateMonitor, SpikeMonitor, StateMonitor

#: spikeshard's unit names as the ``quantities`` package spells them.
_QUANTITIES_UNITS = {"mV": "mV", "pA": "pA", "pF": "pF", "nS": "nS", "s": "s", "Hz": "Hz",
                     "µA/cm²": "uA/cm**2", "mS/cm²": "mS/cm**2", "µF/cm²": "uF/cm**2",
                     "1": "dimensionless", "steps": "dimensionless", "": "dimensionless"}


def _neo() -> tuple[Any, Any]:
    try:
        import neo
        import quantities
    except ImportError:
        raise UnsupportedError(
            "to_neo() needs neo: pip install 'spikeshard[neo]'"
        ) from None
    return neo, quantities


def _unit(unit: str) -> str:
    """A unit as a string ``quantities`` reads."""
    return _QUANTITIES_UNITS.get(unit, unit)


def spike_trains(monitor: SpikeMonitor) -> list[Any]:
    neo, pq = _neo()
    times, ids = monitor.spikes
    order = np.argsort(ids, kind="stable")  # by id, each neuron's spikes still in time order
    sorted_ids, sorted_times = ids[order], times[order]
    held = monitor.held_ids
    starts = np.searchsorted(sorted_ids, held, side="left")
    stops = np.searchsorted(sorted_ids, held, side="right")
    # One Quantity each, shared by every train (building one costs more than a train's
    # own checks).
    t_start = monitor.start * pq.s
    t_stop = max(monitor.start + monitor.duration, float(times.max()) if len(times) else 0.0
                 ) * pq.s
    trains = []
    for neuron, a, b in zip(held, starts, stops, strict=True):
        train = neo.SpikeTrain(sorted_times[a:b], units=pq.s, t_start=t_start, t_stop=t_stop,
                               name=f"{monitor.source.name}[{neuron}]")
        train.annotate(id=int(neuron), population=monitor.source.name)
        trains.append(train)
    return trains


def analog_signals(monitor: StateMonitor) -> list[Any]:
    neo, pq = _neo()
    t = monitor.t
    ids = monitor.held_ids
    traces = monitor.traces
    steps = np.diff(t)
    regular = len(t) >= 2 and np.allclose(steps, steps[0], rtol=1e-9, atol=0.0)
    signals = []
    for variable in monitor.variables:
        unit = next(s.unit for s in monitor.source.model.state_variables if s.name == variable)
        units = _unit(unit)
        if regular or len(t) < 2:
            period = steps[0] if regular else (monitor.interval or monitor.context.dt
                                               if monitor.context else 1.0)
            signal = neo.AnalogSignal(traces[variable], units=units,
                                      sampling_period=float(period) * pq.s,
                                      t_start=float(t[0]) * pq.s if len(t) else 0.0 * pq.s,
                                      name=variable)
        else:
            signal = neo.IrregularlySampledSignal(t * pq.s, traces[variable], units=units,
                                                  name=variable)
        signal.array_annotate(id=np.asarray(ids, dtype=np.int64))
        signal.annotate(population=monitor.source.name)
        signals.append(signal)
    return signals


def rate_signal(monitor: RateMonitor) -> Any:
    neo, pq = _neo()
    signal = neo.AnalogSignal(monitor.rate.reshape(-1, 1), units=pq.Hz,
                              sampling_period=monitor.bin_width * pq.s,
                              t_start=monitor.start * pq.s, name="rate")
    signal.annotate(population=monitor.source.name, n_neurons=monitor.n_neurons)
    return signal
