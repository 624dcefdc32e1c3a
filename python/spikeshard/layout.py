"""The network as every rank sees it: the declared objects sorted by kind (in the order they
were added) and each population's range of global ids (gids).

Computed from the declarations alone, the same on every rank, without communication. It sits
below partition and build, which read it; it must not import them, the engines or MPI.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .errors import NetworkError
from .monitors import Monitor, RateMonitor, SpikeMonitor, StateMonitor
from .packed_spikes import MAX_GIDS
from .population import Population
from .projection import Projection
from .stimuli import PoissonInput


@dataclass
class Layout:
    """The network as every rank sees it: ordered objects and global id ranges."""

    populations: list[Population]
    first_gid: list[int]
    projections: list[Projection]
    stimuli: list[PoissonInput]
    spike_monitors: list[SpikeMonitor]
    state_monitors: list[StateMonitor]
    rate_monitors: list[RateMonitor]

    def index(self, population: Population) -> int:
        for i, p in enumerate(self.populations):
            if p is population:
                return i
        raise NetworkError(
            f"{population!r} is used by a projection, stimulus or monitor but was not added "
            "to the network"
        )

    @property
    def monitors(self) -> list[Monitor]:
        """Every monitor, in one fixed order (spike, state, then rate monitors, each in the
        order added): the order in which every rank gathers them."""
        return [*self.spike_monitors, *self.state_monitors, *self.rate_monitors]

    @property
    def n_neurons(self) -> int:
        return sum(p.n for p in self.populations)


def make_layout(objects: Iterable[Any]) -> Layout:
    """Sorts declared objects by kind (keeping their order) and checks references."""
    layout = Layout([], [], [], [], [], [], [])
    kinds: list[tuple[type, list[Any]]] = [
        (Population, layout.populations), (Projection, layout.projections),
        (PoissonInput, layout.stimuli), (SpikeMonitor, layout.spike_monitors),
        (StateMonitor, layout.state_monitors), (RateMonitor, layout.rate_monitors),
    ]
    for obj in objects:
        for kind, bucket in kinds:
            if isinstance(obj, kind):
                if not any(o is obj for o in bucket):
                    bucket.append(obj)
                break
        else:
            raise NetworkError(
                f"cannot add {obj!r} to a Network: expected Population, Projection, "
                "PoissonInput, SpikeMonitor, StateMonitor or RateMonitor"
            )
    gid = 0
    for pop in layout.populations:
        layout.first_gid.append(gid)
        gid += pop.n
    if gid > MAX_GIDS:
        raise NetworkError(f"the network has {gid} neurons: at most {MAX_GIDS} are supported")
    for proj in layout.projections:
        layout.index(proj.pre), layout.index(proj.post)
    for monitor in layout.monitors:
        layout.index(monitor.source)
    for stim in layout.stimuli:
        layout.index(stim.resolve_target(layout.populations))
    return layout
