"""Checkpoints: what a network needs to continue a run, saved per rank and restored on any
number of ranks and threads.

A network's course from step ``S`` on depends on its declarations (the script), the seed,
``dt`` and, per neuron, its state variables and the input already on its way to it (spikes
delivered into its ring buffers for the steps ``S .. S + max_delay - 1``). Connectivity and
every random stream are drawn from counters keyed by the seed, the step and global ids, so
they need no saving: the restoring script declares the network again and rebuilds them. A
checkpoint keeps the rest, neuron by neuron, so a rank of any partition finds its own:

``path/`` (a directory)
    ``index.json``
        format, spikeshard version, the network's fingerprint (populations, projections,
        stimuli, seed, dt; not the monitors), ``dt``, ``step``, the ranks that wrote it, the
        buffered steps (``lags``), and per part its file and the range of population-local
        ids it holds per population. Written by rank 0 once every part is written
        (replaced atomically), so an interrupted save leaves the previous checkpoint.
    ``step{S}-rank{r}of{n}.npz``
        per population ``i``: ``ids{i}`` (population-local ids held, ascending),
        ``state{i}`` (variables x ids) and ``input{i}`` (receptors x lags x ids).

Restoring reads, on every rank, the parts whose id ranges meet its own neurons. Monitors are
not saved: after a restore they record from the checkpoint's step on (what they recorded
before stays in the output files of the runs that wrote them, ``Network.run(output=...)``).
Networks with user numpy models restore too: their state is their state variables.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .arrays import FloatArray, U32Array
from .engines import Engine
from .errors import SimulationError
from .population import Population
from .recording import Recording

#: Bumped when the layout of the files changes.
FORMAT = 1
INDEX = "index.json"


def part_name(step: int, rank: int, n_ranks: int) -> str:
    return f"step{step}-rank{rank}of{n_ranks}.npz"


@dataclass
class PopulationPart:
    """What one rank holds of one population: ids, state (variables x ids) and buffered
    input (receptors x lags x ids)."""

    ids: U32Array
    state: FloatArray
    input: FloatArray

    def id_range(self) -> list[int] | None:
        return [int(self.ids[0]), int(self.ids[-1])] if len(self.ids) else None


def write_part(directory: Path, step: int, rank: int, n_ranks: int,
               parts: list[PopulationPart]) -> str:
    """Writes one rank's part; returns its file name."""
    directory.mkdir(parents=True, exist_ok=True)
    name = part_name(step, rank, n_ranks)
    arrays: dict[str, Any] = {}
    for i, part in enumerate(parts):
        arrays[f"ids{i}"] = part.ids
        arrays[f"state{i}"] = part.state
        arrays[f"input{i}"] = part.input
    temporary = directory / (name + ".partial")
    with open(temporary, "wb") as f:
        np.savez(f, **arrays)
    os.replace(temporary, directory / name)
    return name


def write_index(directory: Path, header: dict[str, Any], parts: list[dict[str, Any]]) -> None:
    """Writes the index (rank 0, after every part is written) and removes the parts of
    earlier checkpoints in the directory."""
    index = {"format": FORMAT, "spikeshard": __version__, **header, "parts": parts}
    temporary = directory / (INDEX + ".partial")
    temporary.write_text(json.dumps(index, indent=1))
    os.replace(temporary, directory / INDEX)
    kept = {part["file"] for part in parts}
    for old in directory.glob("step*-rank*of*.npz"):
        if old.name not in kept:
            old.unlink(missing_ok=True)


@dataclass
class Checkpoint:
    """An index read from ``path``; parts are read by ``load``."""

    directory: Path
    index: dict[str, Any]

    @property
    def step(self) -> int:
        return int(self.index["step"])

    @property
    def dt(self) -> float:
        return float(self.index["dt"])

    @property
    def lags(self) -> int:
        return int(self.index["lags"])

    def check(self, fingerprint: str) -> None:
        """Refuses a checkpoint of another network (or seed, or dt)."""
        if self.index["fingerprint"] != fingerprint:
            raise SimulationError(
                f"checkpoint {str(self.directory)!r} is of another network (fingerprint "
                f"{self.index['fingerprint']}, this one {fingerprint}): restore it from the "
                "script that saved it, with the same seed (monitors may differ)")

    def load(self, population: int, wanted: U32Array, n_state: int, receptors: int
             ) -> tuple[FloatArray, FloatArray]:
        """The state (variables x wanted) and buffered input (receptors x lags x wanted) of
        the population-local ids ``wanted`` (ascending), from every part that holds some."""
        state = np.full((n_state, len(wanted)), np.nan)
        buffered = np.zeros((receptors, self.lags, len(wanted)))
        found = np.zeros(len(wanted), dtype=bool)
        if len(wanted):
            for part in self.index["parts"]:
                held = part["ranges"][population]
                if held is None or held[1] < wanted[0] or held[0] > wanted[-1]:
                    continue
                with np.load(self.directory / part["file"]) as data:
                    ids = data[f"ids{population}"]
                    mine = np.isin(wanted, ids)
                    if not mine.any():
                        continue
                    at = np.searchsorted(ids, wanted[mine])
                    state[:, mine] = data[f"state{population}"][:, at]
                    buffered[:, :, mine] = data[f"input{population}"][:, :, at]
                    found |= mine
        if not found.all():
            missing = int(wanted[~found][0])
            raise SimulationError(
                f"checkpoint {str(self.directory)!r} holds no state for neuron {missing} of "
                f"population {population}: a part is missing")
        return state, buffered


def open_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Reads a checkpoint's index, refusing other formats and versions."""
    directory = Path(path)
    try:
        index = json.loads((directory / INDEX).read_text())
    except FileNotFoundError:
        raise SimulationError(f"path = {str(path)!r}: no checkpoint there (no {INDEX}; "
                              "Network.save_state writes one)") from None
    except (OSError, ValueError) as error:
        raise SimulationError(f"path = {str(path)!r}: cannot read the checkpoint's "
                              f"{INDEX}: {error}") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise SimulationError(f"checkpoint {str(path)!r} has format "
                              f"{index.get('format') if isinstance(index, dict) else None!r}; "
                              f"this spikeshard reads format {FORMAT}")
    if index.get("spikeshard") != __version__:
        raise SimulationError(
            f"checkpoint {str(path)!r} was written by spikeshard {index.get('spikeshard')}, "
            f"this is {__version__}: restore it with the version that wrote it")
    return Checkpoint(directory, index)


class Restorer:
    """A rank's share of a checkpoint, handed to the engine while the rank is built: the
    state as the neurons' start state (``start_state``), then the step and the buffered
    input (``finish``)."""

    def __init__(self, checkpoint: Checkpoint) -> None:
        self.checkpoint = checkpoint
        self.buffered: dict[int, FloatArray] = {}

    def start_state(self, index: int, pop: Population, locals_: U32Array) -> list[FloatArray]:
        state, buffered = self.checkpoint.load(index, locals_, len(pop.model.state_names()),
                                               pop.model.receptors)
        self.buffered[index] = buffered
        return list(state)

    def finish(self, engine: Engine, engine_population: list[int],
               recording: Recording) -> None:
        step = self.checkpoint.step
        engine.start_at(step)
        for index, buffered in self.buffered.items():
            engine.add_input(engine_population[index], buffered)
        recording.start_at(engine, step)
