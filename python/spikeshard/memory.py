"""How much memory each rank will need, from the declarations alone (nothing is built).

``estimate`` follows the Rust engine's storage (docs/architecture.md, "Synapse storage and
the source index"): per local neuron its state and spike flags and its ring buffers (one
slot per step of the longest delay, and one more, per receptor); per synapse its target (2 or
4 bytes) and its weight and delay where they vary; per row of the source index 12 bytes, and
the index's lookup per pre-synaptic population. Synapse counts are the connection rules'
expectations (exact for fixed in-degree and listed connections), and the number of distinct
sources a rank holds synapses from is that of sources drawn at random. ``Network.estimate_memory``
is the usual way in; the numpy engine needs more (it is the specification, not built for
size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from . import _engine
from .comm import NOMINAL_RATE_HZ
from .distributions import Normal
from .engines.rust import block_size
from .layout import Layout
from .partition import Partition, expected_synapses
from .specs import delay_steps_rule, exchange_interval, weight_rule

#: Bytes per local neuron besides its state variables: global and local id (4 + 4), two
#: spike flags (1 + 1) and a sub-step spike time (8).
NEURON_OVERHEAD_BYTES = 18
#: Bytes per spike of an interval held while it is exchanged and delivered: the packed word
#: (8) and the 4-byte id it travelled as.
SPIKE_BYTES = 12


@dataclass(frozen=True)
class MemoryEstimate:
    """Expected bytes on one rank, by what holds them (see ``estimate``)."""

    rank: int
    neurons: int
    synapses: float
    #: State variables, ids and spike flags of the local neurons.
    neuron_bytes: float
    #: Ring buffers: local neurons x (longest delay + 1) x receptors x 8.
    ring_bytes: float
    #: Synapse targets, and weights and delays where they vary per synapse.
    synapse_bytes: float
    #: The source index: its rows (12 bytes each) and per-population lookups.
    index_bytes: float
    #: Poisson drives' target lists.
    drive_bytes: float
    #: The spikes of one exchange interval, at ``comm.NOMINAL_RATE_HZ``.
    spike_bytes: float
    #: Held only while building: each table's rows until the index is built, and one count
    #: per pre-synaptic neuron per thread for the tables being built.
    build_extra_bytes: float

    @property
    def total_bytes(self) -> float:
        """What the rank holds once built."""
        return (self.neuron_bytes + self.ring_bytes + self.synapse_bytes + self.index_bytes
                + self.drive_bytes + self.spike_bytes)

    @property
    def peak_bytes(self) -> float:
        """The most the rank holds, during the build."""
        return self.total_bytes + self.build_extra_bytes

    def __str__(self) -> str:
        parts = ", ".join(f"{f.name.removesuffix('_bytes')} {getattr(self, f.name) / 2**20:.1f}"
                          for f in fields(self) if f.name.endswith("_bytes"))
        return (f"rank {self.rank}: {self.neurons} neurons, {self.synapses:.4g} synapses, "
                f"{self.total_bytes / 2**20:.1f} MiB built, {self.peak_bytes / 2**20:.1f} MiB "
                f"peak (MiB: {parts})")


def _longest_delay_steps(layout: Layout, dt: float) -> int:
    """The longest delay any projection can draw, in steps (Normal: mean + 6 sd)."""
    longest = 0
    for i, proj in enumerate(layout.projections):
        _, low, high = delay_steps_rule(proj.delay, dt, f"projection {i}")
        if high is None and isinstance(proj.delay, Normal):
            high = math.floor((proj.delay.mean + 6 * proj.delay.std) / dt + 0.5)
        longest = max(longest, low, high or 0)
    return min(longest, 65535)


def _distinct_sources(pre_n: int, synapses: float, topology: str) -> float:
    """Expected distinct sources among ``synapses`` drawn from ``pre_n`` neurons."""
    if synapses <= 0 or pre_n == 0:
        return 0.0
    if topology == "all_to_all":
        return float(pre_n)
    if topology == "one_to_one":
        return synapses
    return pre_n * -math.expm1(-synapses / pre_n)


def _lookup_bytes(pre_n: int, present: float) -> float:
    """A source-index lookup over a population with ``present`` sources here."""
    return 4.0 * (pre_n + 1) if 2 * present >= pre_n else 8.0 * present + 4.0


def estimate(layout: Layout, partition: Partition, dt: float, threads: int = 1
             ) -> list[MemoryEstimate]:
    """Expected memory of every rank of ``partition`` for the Rust engine with ``threads``
    threads per rank at time step ``dt`` (s)."""
    ring_slots = _longest_delay_steps(layout, dt) + 1
    interval_s = exchange_interval(layout, dt)[0] * dt
    n_neurons = layout.n_neurons
    results = []
    for rank in range(partition.n_ranks):
        local = [len(partition.locals(p, rank)) for p in range(len(layout.populations))]
        ranges = [[(s, e) for s, e, r in partition.ranges[p] if r == rank and e > s]
                  for p in range(len(layout.populations))]
        neuron_bytes = sum(n * (8 * len(pop.model.state_names()) + NEURON_OVERHEAD_BYTES)
                           for n, pop in zip(local, layout.populations, strict=True))
        ring_bytes = sum(8.0 * n * ring_slots * pop.model.receptors
                         for n, pop in zip(local, layout.populations, strict=True))
        synapses = synapse_bytes = rows = 0.0
        from_population: dict[int, float] = {}
        for i, proj in enumerate(layout.projections):
            post, pre = layout.index(proj.post), layout.index(proj.pre)
            n_post = local[post]
            if n_post == 0:
                continue
            count = sum(expected_synapses(proj, (0, proj.pre.n), r) for r in ranges[post])
            blocks = -(-n_post // block_size(n_post, threads))
            shards = min(threads, blocks)
            target_bytes = 2 if -(-blocks // shards) <= _engine.NARROW_BLOCKS else 4
            weights_vary = weight_rule(proj.weight).kind != "constant"
            delays_vary = delay_steps_rule(proj.delay, dt, f"projection {i}")[0].kind != "constant"
            synapses += count
            synapse_bytes += count * (target_bytes + 4 * weights_vary + 2 * delays_vary)
            rows += shards * _distinct_sources(proj.pre.n, count / shards, proj.topology)
            from_population[pre] = from_population.get(pre, 0.0) + count
        index_bytes = rows * _engine.INDEX_ROW_BYTES + sum(
            _lookup_bytes(layout.populations[p].n,
                          _distinct_sources(layout.populations[p].n, count, "random"))
            for p, count in from_population.items())
        drive_bytes = 0.0
        for stim in layout.stimuli:
            target = layout.index(stim.resolve_target(layout.populations))
            driven = stim.n if stim.n is not None else layout.populations[target].n
            drive_bytes += 4.0 * sum(max(0, min(e, driven) - s) for s, e in ranges[target])
        spike_bytes = SPIKE_BYTES * n_neurons * NOMINAL_RATE_HZ * interval_s
        largest_pre = max((p.pre.n for p in layout.projections), default=0)
        build_extra = 8.0 * rows + 4.0 * largest_pre * threads
        results.append(MemoryEstimate(
            rank=rank, neurons=sum(local), synapses=synapses, neuron_bytes=neuron_bytes,
            ring_bytes=ring_bytes, synapse_bytes=synapse_bytes, index_bytes=index_bytes,
            drive_bytes=drive_bytes, spike_bytes=spike_bytes, build_extra_bytes=build_extra))
    return results
