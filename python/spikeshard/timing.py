"""Where a rank's time went: build, neuron update, spike delivery, exchange between ranks and
recording (taking, gathering and writing the monitors' data), and the report of every rank
with the imbalance between them (``spikeshard.report(net)``).

Timers are this rank's own; every rank's are gathered at the end of each run (which every
rank calls), so reading them or the report never communicates. Declarations only: nothing
here talks MPI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

#: The phases, in the order the report shows them.
PHASES = ("build", "update", "delivery", "exchange", "recording")


@dataclass
class Timers:
    """Wall seconds one rank spent in each phase, with totals of its runs.

    ``update`` is advancing neurons (kernels, Poisson input, engine-side recording);
    ``delivery`` adding spikes into the ring buffers; ``exchange`` waiting for and moving
    spikes between ranks (zero in one process); ``recording`` taking data from the engine,
    gathering it into the monitors and writing files. ``run`` is the wall time of the runs,
    ``model_time`` the seconds simulated and ``spikes`` the spikes this rank's neurons
    emitted.
    """

    build: float = 0.0
    update: float = 0.0
    delivery: float = 0.0
    exchange: float = 0.0
    recording: float = 0.0
    run: float = 0.0
    model_time: float = 0.0
    spikes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def copy(self) -> Timers:
        return Timers(**asdict(self))


def from_dict(values: dict[str, Any]) -> Timers:
    names = {f.name for f in fields(Timers)}
    return Timers(**{k: v for k, v in values.items() if k in names})


def imbalance(values: list[float]) -> float:
    """Largest over mean (1.0: perfectly balanced; 0 when nothing was spent)."""
    mean = sum(values) / len(values) if values else 0.0
    return max(values) / mean if mean > 0 else 0.0


def format_report(per_rank: list[Timers], n_neurons: int) -> str:
    """A table of every rank's phases with the imbalance between ranks, and the totals."""
    if not per_rank:
        return "spikeshard: nothing has run yet"
    first = per_rank[0]
    spikes = sum(t.spikes for t in per_rank)
    lines = [f"spikeshard report: {len(per_rank)} rank(s), {first.model_time:g} s of model "
             f"time in {max(t.run for t in per_rank):.3f} s of wall time"]
    if first.run > 0 and first.model_time > 0:
        wall = max(t.run for t in per_rank)
        rate = spikes / (n_neurons * first.model_time) if n_neurons else 0.0
        lines.append(f"real-time factor {first.model_time / wall:.3g}, {spikes} spikes "
                     f"({rate:.3g} Hz mean over {n_neurons} neurons)")
    header = f"{'phase':<10}" + "".join(f"{'rank ' + str(r):>11}" for r in range(len(per_rank)))
    lines.append(header + f"{'imbalance':>11}")
    for phase in PHASES:
        values = [getattr(t, phase) for t in per_rank]
        lines.append(f"{phase:<10}" + "".join(f"{v:>10.3f}s" for v in values)
                     + f"{imbalance(values):>11.2f}")
    values = [float(t.spikes) for t in per_rank]
    lines.append(f"{'spikes':<10}" + "".join(f"{int(v):>11}" for v in values)
                 + f"{imbalance(values):>11.2f}")
    lines.append("imbalance: the slowest rank over the mean (1.00 is perfect balance)")
    return "\n".join(lines)
