"""Reading result files: ``spikeshard.load(path)`` for the files ``Network.run(...,
output=path)`` and ``Monitor.save(path)`` write (layout in ``output.py``).

A run's parts are read rank by rank and joined. If the run was killed, ranks may have
flushed up to different steps: everything up to the last step that every rank flushed is
returned (``Results.t_stop``), nothing after it, so the data are complete and consistent.
Reading needs no MPI and no network: one process reads what any number of ranks wrote.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .arrays import FloatArray, IntArray
from .errors import SpikeshardError
from .output import FORMAT, h5py_module


class ResultFileError(SpikeshardError, ValueError):
    """A file is not a spikeshard result file, or is damaged."""


class Traces(dict[str, tuple[FloatArray, FloatArray]]):
    """``{variable: (t, values)}`` of one StateMonitor; values are (len(t), len(ids)).
    ``ids`` are the recorded neurons (population-local), ``t`` the sample times (s) and
    ``units`` each variable's unit."""

    ids: IntArray
    t: FloatArray
    units: dict[str, str]


@dataclass
class Results:
    """What a result file holds.

    ``spikes[name] -> (times in s, population-local ids)`` sorted by time then id;
    ``traces[name][variable] -> (t, values)``; ``rates[name] -> (bin starts in s, rate in
    Hz per neuron)``. ``name`` is the monitor's label, else its population's name.
    """

    path: Path
    description: dict[str, Any]
    dt: float
    n_ranks: int
    #: Model time (s) up to which the data are complete on every rank.
    t_stop: float
    spikes: dict[str, tuple[FloatArray, IntArray]] = field(default_factory=dict)
    traces: dict[str, Traces] = field(default_factory=dict)
    rates: dict[str, tuple[FloatArray, FloatArray]] = field(default_factory=dict)

    @property
    def seed(self) -> int | None:
        seed = self.description.get("seed")
        return None if seed is None else int(seed)

    def __repr__(self) -> str:
        return (f"Results({str(self.path)!r}, t_stop={self.t_stop:g} s, spikes="
                f"{sorted(self.spikes)}, traces={sorted(self.traces)}, rates={sorted(self.rates)})")


def load(path: str | os.PathLike[str]) -> Results:
    """Reads a result file written by ``Network.run(..., output=path)`` (its index and every
    part of every rank) or by ``Monitor.save(path)``."""
    h5py = h5py_module()
    index = Path(path)
    try:
        file = h5py.File(index, "r")
    except OSError as error:
        raise ResultFileError(f"path = {str(index)!r}: cannot open it as HDF5 ({error})") from None
    with file:
        if file.attrs.get("format") != FORMAT:
            raise ResultFileError(f"path = {str(index)!r} is not a spikeshard result file")
        description = json.loads(file.attrs["description"])
        dt = float(file.attrs["dt"])
        n_ranks = int(file.attrs["n_ranks"])
        parts_name = file.attrs.get("parts")
        if parts_name is None:
            # A saved monitor: the file holds its data, complete up to ``stop_time``.
            chunks = [_read_chunk(file)]
            t_stop = float(file.attrs.get("stop_time", np.inf))
            results = Results(index, description, dt, n_ranks, t_stop)
            _join(results, [chunks], None)
            return results
    folder = index.with_name(str(parts_name))
    per_rank: list[list[dict[str, Any]]] = []
    stops = []
    for rank in range(n_ranks):
        parts = sorted((folder / f"rank{rank:05d}").glob("part*.h5"))
        chunks = []
        for part in parts:
            with h5py.File(part, "r") as part_file:
                chunks.append(_read_chunk(part_file))
        per_rank.append(chunks)
        stops.append(max((c["stop_step"] for c in chunks), default=0))
    stop_step = min(stops) if stops else 0
    results = Results(index, description, dt, n_ranks, stop_step * dt)
    _join(results, per_rank, stop_step)
    return results


def _read_chunk(file: Any) -> dict[str, Any]:
    """Everything of one part or saved file, as arrays."""
    chunk: dict[str, Any] = {
        "stop_step": int(file.attrs.get("stop_step", -1)),
        "spikes": {}, "traces": {}, "rates": {},
    }
    for name, group in file.get("spikes", {}).items():
        chunk["spikes"][name] = (group["timestamps"][()], group["node_ids"][()])
    for name, group in file.get("traces", {}).items():
        variables = {k: (group[k][()], str(group[k].attrs.get("units", "")))
                     for k in group if k not in ("time", "node_ids")}
        chunk["traces"][name] = (group["time"][()], group["node_ids"][()], variables)
    for name, group in file.get("rates", {}).items():
        attrs = {k: group.attrs[k] for k in ("first_bin", "bin_width", "start", "n_neurons")}
        chunk["rates"][name] = (attrs, group["counts"][()])
    return chunk


def _join(results: Results, per_rank: list[list[dict[str, Any]]], stop_step: int | None
          ) -> None:
    """Joins every rank's chunks into ``results``, keeping what lies before ``stop_step``
    (None: everything)."""
    dt = results.dt
    limit = np.inf if stop_step is None else stop_step * dt * (1 + 1e-12)
    names = {kind: sorted({n for chunks in per_rank for c in chunks for n in c[kind]})
             for kind in ("spikes", "traces", "rates")}
    for name in names["spikes"]:
        pieces = [c["spikes"][name] for chunks in per_rank for c in chunks if name in c["spikes"]]
        times = np.concatenate([p[0] for p in pieces])
        ids = np.concatenate([p[1] for p in pieces]).astype(np.int64)
        keep = times <= limit
        times, ids = times[keep], ids[keep]
        order = np.lexsort((ids, times))
        results.spikes[name] = times[order], ids[order]
    for name in names["traces"]:
        results.traces[name] = _join_traces(per_rank, name, limit)
    for name in names["rates"]:
        results.rates[name] = _join_rates(per_rank, name, stop_step, dt)


def _join_traces(per_rank: list[list[dict[str, Any]]], name: str, limit: float) -> Traces:
    """Every rank's own columns, rows up to ``limit`` (s), columns ordered by id."""
    columns: list[IntArray] = []
    blocks: dict[str, list[FloatArray]] = {}
    units: dict[str, str] = {}
    times: list[FloatArray] = []
    for chunks in per_rank:
        mine = [c["traces"][name] for c in chunks if name in c["traces"]]
        if not mine:
            continue
        rank_t = np.concatenate([m[0] for m in mine])
        keep = rank_t <= limit
        times.append(rank_t[keep])
        columns.append(np.asarray(mine[0][1], dtype=np.int64))
        for variable, (_, unit) in mine[0][2].items():
            units[variable] = unit
            rows = np.concatenate([m[2][variable][0] for m in mine])[keep]
            blocks.setdefault(variable, []).append(rows)
    t = times[0] if times else np.zeros(0)
    if any(len(other) != len(t) for other in times):
        raise ResultFileError(f"traces of {name!r}: ranks hold different sample counts")
    ids = np.concatenate(columns) if columns else np.zeros(0, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    traces = Traces()
    for variable, parts in blocks.items():
        traces[variable] = (t, np.concatenate(parts, axis=1)[:, order])
    traces.ids, traces.t, traces.units = ids[order], t, units
    return traces


def _join_rates(per_rank: list[list[dict[str, Any]]], name: str, stop_step: int | None,
                dt: float) -> tuple[FloatArray, FloatArray]:
    pieces = [c["rates"][name] for chunks in per_rank for c in chunks if name in c["rates"]]
    attrs = pieces[0][0]
    width, start = float(attrs["bin_width"]), float(attrs["start"])
    n_bins = max(int(a["first_bin"]) + len(counts) for a, counts in pieces)
    if stop_step is not None:
        # Only bins complete on every rank: ending at or before the common stop.
        n_bins = min(n_bins, max(0, int(np.floor((stop_step * dt - start) / width + 1e-9))))
    total = np.zeros(n_bins)
    for a, counts in pieces:
        first = int(a["first_bin"])
        usable = counts[:max(0, n_bins - first)]
        total[first:first + len(usable)] += usable
    rate = total / (max(int(attrs["n_neurons"]), 1) * width)
    return start + np.arange(n_bins, dtype=np.float64) * width, rate
