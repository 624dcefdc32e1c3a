"""Plots of recorded activity (matplotlib, optional: ``pip install 'spikeshard[plot]'``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .monitors import SpikeMonitor, StateMonitor


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "plotting needs matplotlib: pip install 'spikeshard[plot]'"
        ) from None
    return plt.figure().add_subplot()


def raster(*monitors: SpikeMonitor, ax: Any = None, markersize: float = 1.0,
           max_neurons: int | None = None) -> Any:
    """Spike raster of one or more monitors, stacked vertically; returns the axes."""
    ax = _axes(ax)
    offset = 0
    for mon in monitors:
        times, ids = mon.spikes
        if max_neurons is not None:
            keep = ids < max_neurons
            times, ids = times[keep], ids[keep]
        ax.plot(times, ids + offset, "|", markersize=markersize,
                label=mon.source.name)
        offset += mon.source.n if max_neurons is None else min(max_neurons, mon.source.n)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("neuron")
    if len(monitors) > 1:
        ax.legend(loc="upper right", markerscale=5)
    return ax


def population_rate(monitor: SpikeMonitor, bin_s: float = 0.005) -> tuple[np.ndarray, np.ndarray]:
    """(bin centres in s, population rate in Hz per neuron) of a monitor's spikes."""
    times = monitor.times
    duration = monitor.duration
    n_bins = max(1, int(round(duration / bin_s)))
    counts, edges = np.histogram(times, bins=n_bins, range=(0.0, n_bins * bin_s))
    neurons = len(monitor.recorded_ids)
    return 0.5 * (edges[1:] + edges[:-1]), counts / (bin_s * max(neurons, 1))


def rates(*monitors: SpikeMonitor, ax: Any = None, bin_s: float = 0.005) -> Any:
    """Population rate over time (Hz per neuron) of each monitor; returns the axes."""
    ax = _axes(ax)
    for mon in monitors:
        centres, rate = population_rate(mon, bin_s)
        ax.plot(centres, rate, label=mon.source.name)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("rate (Hz)")
    ax.legend(loc="upper right")
    return ax


def traces(monitor: StateMonitor, variable: str, ax: Any = None) -> Any:
    """Recorded traces of ``variable`` against time; returns the axes."""
    ax = _axes(ax)
    values = monitor.traces[variable]
    for column, neuron in enumerate(monitor.record):
        ax.plot(monitor.t, values[:, column], label=f"{monitor.source.name}[{neuron}]")
    unit = next(s.unit for s in monitor.source.model.state_variables if s.name == variable)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"{variable} ({unit})")
    return ax
