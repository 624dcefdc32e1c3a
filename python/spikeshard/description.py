"""The network's description as plain data (JSON-able): populations with their models and
parameters, projections, stimuli, monitors, seed, time step and versions. Written into
result files beside the data, so that a file says what produced it.

Pure function of the layout; it builds nothing, calls no engine and never talks MPI.
"""

from __future__ import annotations

import platform
from typing import Any

import numpy as np

from ._version import __version__
from .layout import Layout
from .monitors import RateMonitor, SpikeMonitor, StateMonitor


def _value(value: Any) -> Any:
    """A weight, delay or initial value as plain data: numbers stay numbers, distributions
    become their repr, arrays their length and extremes."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return {"array": 0}
        return {"array": int(value.size), "min": float(value.min()), "max": float(value.max())}
    return repr(value)


def _versions() -> dict[str, str]:
    versions = {"spikeshard": __version__, "numpy": np.__version__,
                "python": platform.python_version()}
    try:
        import h5py

        versions["h5py"] = h5py.__version__
    except ImportError:
        pass
    return versions


def describe(layout: Layout, seed: int, dt: float, n_ranks: int) -> dict[str, Any]:
    """Everything that defines the network and the run, as JSON-able data."""
    index = {id(p): i for i, p in enumerate(layout.populations)}
    populations = []
    for i, pop in enumerate(layout.populations):
        model = pop.model
        populations.append({
            "name": pop.name, "label": pop.label, "n": pop.n, "first_gid": layout.first_gid[i],
            "model": model.__name__, "model_class": f"{model.__module__}.{model.__qualname__}",
            "params": dict(pop.params),
            "units": {p.name: p.unit for p in model.parameters},
            "state_variables": {s.name: s.unit for s in model.state_variables},
            "weight_unit": model.weight_unit,
            "initial": {k: _value(v) for k, v in pop.initial.items()},
        })
    projections = [{
        "pre": layout.populations[index[id(proj.pre)]].name,
        "post": layout.populations[index[id(proj.post)]].name,
        "label": proj.label, "topology": proj.topology, "probability": proj.probability,
        "degree": proj.degree, "allow_autapses": proj.allow_autapses,
        "allow_multapses": proj.allow_multapses, "n_connections": proj.n_connections,
        "weight": _value(proj.weight), "weight_unit": proj.post.model.weight_unit,
        "delay_s": _value(proj.delay) if proj.delay is not None else dt,
    } for proj in layout.projections]
    stimuli = [{
        "kind": type(stim).__name__, "label": stim.label,
        "target": stim.resolve_target(layout.populations).name, "rate_hz": stim.rate_hz,
        "weight": stim.weight, "n": stim.n,
    } for stim in layout.stimuli]
    monitors: list[dict[str, Any]] = []
    for mon in layout.monitors:
        entry: dict[str, Any] = {"kind": mon.kind, "name": mon.name, "source": mon.source.name,
                                 "gather": mon.gather, "start_s": mon.start, "stop_s": mon.stop}
        if isinstance(mon, SpikeMonitor):
            entry["n_recorded"] = len(mon.recorded_ids)
        elif isinstance(mon, StateMonitor):
            entry.update(variables=list(mon.variables), n_recorded=len(mon.record),
                         interval_s=mon.interval if mon.interval is not None else dt)
        elif isinstance(mon, RateMonitor):
            entry["bin_width_s"] = mon.bin_width
        monitors.append(entry)
    return {
        "populations": populations, "projections": projections, "stimuli": stimuli,
        "monitors": monitors, "seed": seed, "dt_s": dt, "n_ranks": n_ranks,
        "versions": _versions(),
    }
