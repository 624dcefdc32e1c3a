"""Result files (HDF5, through h5py: ``pip install 'spikeshard[hdf5]'``).

``Network.run(..., output="run.h5")`` writes, on every rank and without communication:

- ``run.h5``, the index (rank 0): the format, the network's description (populations, models,
  parameters, projections, seed, versions; JSON in the ``description`` attribute), ``dt``,
  the number of ranks and the folder of the parts;
- ``run.h5.parts/rank00001/part000003.h5``: what rank 1 recorded between two flushes. Each
  part is written to a temporary name and renamed when complete, so a part either exists
  whole or not at all: a run killed at any moment leaves every part flushed before intact.

A flush happens every ``flush_every`` seconds of model time, at the end of every run, and
when the process receives SIGTERM (which Slurm sends before it kills a job).

Inside a part or a saved monitor (``Monitor.save``), groups follow SONATA's spike layout:

- ``/spikes/<name>``: ``timestamps`` (s) and ``node_ids`` (population-local), sorted by time;
- ``/traces/<name>``: ``time`` (s), ``node_ids``, and one 2-D dataset per variable
  (samples × neurons) with its unit;
- ``/rates/<name>``: ``counts``, spikes per bin from bin ``first_bin`` (attribute).

``<name>`` is the monitor's label, else its population's name. ``results.load`` reads both.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import NetworkError, UnsupportedError
from .monitors import Monitor, RateMonitor, SpikeMonitor, StateMonitor

if TYPE_CHECKING:
    from .recording import LocalPart

#: The ``format`` attribute of every file spikeshard writes, and the version of its layout.
FORMAT = "spikeshard-results"
FORMAT_VERSION = 1
#: Default seconds of model time between two flushes of an output file.
DEFAULT_FLUSH_EVERY_S = 1.0
#: The group of each kind of monitor.
GROUPS = {SpikeMonitor: "spikes", StateMonitor: "traces", RateMonitor: "rates"}


def h5py_module() -> Any:
    """h5py, or an UnsupportedError saying how to install it."""
    try:
        import h5py
    except ImportError:
        raise UnsupportedError(
            "writing and reading result files needs h5py: pip install 'spikeshard[hdf5]'"
        ) from None
    return h5py


def parts_folder(index: Path) -> Path:
    """Where the parts of the index file ``index`` are written."""
    return index.with_name(index.name + ".parts")


def group_name(monitor: Monitor) -> str:
    return f"{GROUPS[type(monitor)]}/{monitor.name}"


def check_names(monitors: list[Monitor]) -> None:
    """Monitors of one kind must have distinct names to share a file."""
    seen: dict[str, Monitor] = {}
    for monitor in monitors:
        key = group_name(monitor)
        if key in seen:
            raise NetworkError(
                f"{monitor!r} and {seen[key]!r} would both be written as {key!r}: give them "
                "different labels (label=...)"
            )
        seen[key] = monitor


def _unit_of(monitor: StateMonitor, variable: str) -> str:
    return next(s.unit for s in monitor.source.model.state_variables if s.name == variable)


def write_monitor(file: Any, monitor: Monitor, part: LocalPart, first_bin: int = 0,
                  n_neurons: int | None = None) -> None:
    """Writes one monitor's data (``part``) into its group of an open h5py file; a rate's
    counts are over ``n_neurons`` (default: the population)."""
    group = file.require_group(group_name(monitor))
    group.attrs["population"] = monitor.source.name
    group.attrs["gather"] = monitor.gather
    if isinstance(monitor, SpikeMonitor):
        group.attrs["sorting"] = "by_time"
        group.create_dataset("timestamps", data=part.times).attrs["units"] = "s"
        group.create_dataset("node_ids", data=part.ids)
    elif isinstance(monitor, StateMonitor):
        group.create_dataset("time", data=part.t).attrs["units"] = "s"
        group.create_dataset("node_ids", data=part.ids)
        for variable in monitor.variables:
            dataset = group.create_dataset(variable, data=part.traces[variable])
            dataset.attrs["units"] = _unit_of(monitor, variable)
    else:
        assert isinstance(monitor, RateMonitor)
        group.attrs["first_bin"] = first_bin
        group.attrs["bin_width"] = monitor.bin_width
        group.attrs["start"] = monitor.start
        group.attrs["n_neurons"] = monitor.source.n if n_neurons is None else n_neurons
        group.create_dataset("counts", data=part.bin_counts)


def write_header(file: Any, description: dict[str, Any], dt: float, n_ranks: int) -> None:
    file.attrs["format"] = FORMAT
    file.attrs["format_version"] = FORMAT_VERSION
    file.attrs["description"] = json.dumps(description)
    file.attrs["dt"] = dt
    file.attrs["n_ranks"] = n_ranks


def write_atomically(path: Path, fill: Any) -> None:
    """Writes an HDF5 file through ``fill(file)`` under a temporary name, then renames it:
    the file exists complete or not at all."""
    h5py = h5py_module()
    temporary = path.with_name(path.name + ".tmp")
    with h5py.File(temporary, "w") as file:
        fill(file)
    os.replace(temporary, path)


class OutputWriter:
    """This rank's writer of one output file set (index, and its own parts)."""

    def __init__(self, path: str | os.PathLike[str], monitors: list[Monitor], rank: int,
                 n_ranks: int, description: dict[str, Any], dt: float,
                 flush_every_steps: int) -> None:
        h5py_module()
        check_names(monitors)
        self.path = Path(path)
        self.monitors = monitors
        self.rank = rank
        self.dt = dt
        self.flush_every_steps = flush_every_steps
        self.next_part = 0
        self.bins_written = [0] * len(monitors)
        folder = parts_folder(self.path)
        self.folder = folder / f"rank{rank:05d}"
        # Each rank clears only its own folder, so no rank waits for another; rank 0 also
        # removes folders of ranks a previous run had and this one has not.
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        if rank == 0:
            for old in folder.glob("rank*"):
                if old.name[4:].isdigit() and int(old.name[4:]) >= n_ranks:
                    shutil.rmtree(old, ignore_errors=True)

            def fill(file: Any) -> None:
                write_header(file, description, dt, n_ranks)
                file.attrs["parts"] = folder.name

            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, fill)

    def next_flush(self, step: int) -> int:
        """The first flush step after ``step``."""
        return (step // self.flush_every_steps + 1) * self.flush_every_steps

    def write(self, parts: list[LocalPart], first_step: int, stop_step: int) -> None:
        """Writes this rank's parts of steps ``[first_step, stop_step)`` as one closed file."""
        path = self.folder / f"part{self.next_part:06d}.h5"

        def fill(file: Any) -> None:
            file.attrs["format"] = FORMAT
            file.attrs["rank"] = self.rank
            file.attrs["first_step"] = first_step
            file.attrs["stop_step"] = stop_step
            for k, (monitor, part) in enumerate(zip(self.monitors, parts, strict=True)):
                write_monitor(file, monitor, part, self.bins_written[k])

        write_atomically(path, fill)
        for k, part in enumerate(parts):
            self.bins_written[k] += len(part.bin_counts)
        self.next_part += 1


def save_monitor(monitor: Monitor, path: str | os.PathLike[str], part: LocalPart) -> None:
    """Writes one monitor's held data as a complete file (``Monitor.save``)."""
    context = monitor.context
    description = context.description if context is not None else {}
    dt = context.dt if context is not None else float("nan")
    n_ranks = context.n_ranks if context is not None else 1

    def fill(file: Any) -> None:
        write_header(file, description, dt, n_ranks)
        file.attrs["held_on_rank"] = -1 if context is None else context.rank
        file.attrs["stop_time"] = monitor.start + monitor.duration
        write_monitor(file, monitor, part,
                      n_neurons=monitor.n_neurons if isinstance(monitor, RateMonitor) else None)

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, fill)


def as_part(monitor: Monitor) -> LocalPart:
    """A monitor's held data as one part (for ``save_monitor``)."""
    from .recording import LocalPart

    if isinstance(monitor, SpikeMonitor):
        times, ids = monitor.spikes
        return LocalPart(times=times, ids=ids)
    if isinstance(monitor, StateMonitor):
        return LocalPart(t=monitor.t, ids=monitor.held_ids, traces=monitor.traces)
    assert isinstance(monitor, RateMonitor)
    counts = monitor.rate * monitor.n_neurons * monitor.bin_width
    return LocalPart(bin_counts=np.round(counts))
