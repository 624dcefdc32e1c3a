"""What each rank runs: its components' operators in the global step order, and the
exchange of cut signals with the other ranks (plain data, sent to the ranks over MPI).

A component owns an array for every base signal its operators use. A base written by one
component and read by another (a cut connection's filtered output, which nengo writes with
an "update" operator after every read of the step) has a *replica* on the reader, filled
from the writer's array through a message buffer: the writer *packs* it after the last
operator that updates a signal of that message, the reader *unpacks* it before the first
operator that reads one, in the next step. All cut signals from the components of one rank
to those of another travel in one message per step (a rank's components among themselves
use the same path, with a buffer in memory). At the start of every run each rank packs once
more (the *prologue*), so the first step reads what the previous run (or the reset) left.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from nengo.builder.operator import Operator

from spikeshard.nengo.partition import EVERY_COMPONENT, ModelPartition, signal_uses
from spikeshard.nengo.recording import BaseIndex, Call


@dataclass
class BaseInfo:
    """A base signal as a rank needs it: its initial value (its shape and dtype)."""

    name: str
    initial: np.ndarray
    readonly: bool

    def allocate(self) -> np.ndarray:
        array = np.array(self.initial, copy=True)
        array.setflags(write=not self.readonly)
        return array

    def reset(self, array: np.ndarray) -> None:
        if not self.readonly:
            array[...] = self.initial


@dataclass
class Channel:
    """The cut signals one rank sends another every step, in buffer order: entries are
    (base, writing component, reading component), each the whole base."""

    source: int
    target: int
    entries: list[tuple[int, int, int]] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(self.sizes)

    def slices(self) -> list[tuple[int, int, int, slice]]:
        """(base, writer, reader, where in the buffer) per entry."""
        out, start = [], 0
        for (base, writer, reader), size in zip(self.entries, self.sizes, strict=True):
            out.append((base, writer, reader, slice(start, start + size)))
            start += size
        return out


#: A step of a rank, in order: ("call", component, call index), ("python", step index,
#: component), ("unpack", source rank), ("pack", target rank).
Item = tuple[str, int, int]


@dataclass
class RankPlan:
    """Everything one rank needs to build and run its part of the model."""

    rank: int
    n_ranks: int
    dt: float
    components: list[int]
    #: Base signals this rank holds, by base index.
    bases: dict[int, BaseInfo]
    #: (component, base) of every array this rank holds.
    arrays: list[tuple[int, int]]
    #: The component whose array is the base's (the writer; else the first user).
    primary: dict[int, int]
    calls: list[Call]
    items: list[Item]
    channels_in: dict[int, Channel]
    channels_out: dict[int, Channel]
    #: Rust probes here: (index in model.probes, component, call index, values per sample).
    probes: list[tuple[int, int, int, int]]
    #: Operators refilled after each reset: (step index, component, call index).
    refills: list[tuple[int, int, int]]

    @property
    def has_python(self) -> bool:
        return any(kind == "python" for kind, _, _ in self.items)

    @property
    def remote_partners(self) -> list[int]:
        return sorted({*self.channels_in, *self.channels_out} - {self.rank})


def make_plans(
    order: list[Operator],
    partition: ModelPartition,
    op_calls: list[list[Call]],
    python_ops: set[int],
    probes: list[tuple[int, int, Call, int]],
    refills: list[tuple[int, Call]],
    index: BaseIndex,
    dt: float,
) -> list[RankPlan]:
    """One plan per rank (see the module docstring). ``op_calls[k]``: the calls lowering
    operator ``k`` of ``order`` made (none for a Python operator); ``probes``: (index in
    model.probes, component, add_probe call, values per sample); ``refills``: (step
    index, the call whose table or noise state each reset refills)."""
    component = partition.op_component
    rank_of = partition.component_rank
    n_ranks = partition.n_ranks
    base_of = index.index_of

    def bases_of(op: Operator) -> set[int]:
        return {base_of[id(s.base)] for s in op.all_signals if id(s.base) in base_of}

    # Which bases each component uses (calls, Python operators' signals, probes).
    uses: dict[int, set[int]] = defaultdict(set)
    every = list(range(partition.n_components))
    for k, op in enumerate(order):
        comps = every if component[k] == EVERY_COMPONENT else [component[k]]
        used = bases_of(op) if k in python_ops else set()
        for call in op_calls[k]:
            used |= call.bases()
        for c in comps:
            uses[c] |= used
    for _, c, call, _ in probes:
        uses[c] |= call.bases()

    # Writers (one component per base: checked by the partition) and cut signals.
    writer: dict[int, int] = {}
    first_read: dict[tuple[int, int], int] = {}  # (base, reader component) -> step index
    last_update: dict[int, int] = {}  # base -> step index
    for base, use in signal_uses(order, component).items():
        b = base_of.get(id(base))
        if b is None or not use.writers:
            continue
        (w,) = use.writers
        writer[b] = w
        last_update[b] = max(use.writers[w])
        for r, readers in use.readers.items():
            if r != w:
                first_read[(b, r)] = min(readers)
    primary: dict[int, int] = {}
    for c in sorted(uses):
        for b in uses[c]:
            primary.setdefault(b, writer.get(b, c))

    channels: dict[tuple[int, int], Channel] = {}
    for b, r in sorted(first_read, key=lambda br: (br[1], br[0])):
        w = writer[b]
        key = (rank_of[w], rank_of[r])
        channel = channels.setdefault(key, Channel(*key))
        channel.entries.append((b, w, r))
        channel.sizes.append(int(index.arrays[b].size))
        uses[w].add(b)
        uses[r].add(b)
    unpack_at: dict[tuple[int, int], int] = {}
    pack_at: dict[tuple[int, int], int] = {}
    for key, channel in channels.items():
        unpack_at[key] = min(first_read[(b, r)] for b, _, r in channel.entries)
        pack_at[key] = max(last_update[b] for b, _, _ in channel.entries)

    plans = []
    for rank in range(n_ranks):
        comps = [c for c in every if rank_of[c] == rank]
        calls: list[Call] = []
        items: list[Item] = []
        refill_at = dict(refills)
        rank_refills: list[tuple[int, int, int]] = []
        for k in range(len(order)):
            for key in sorted(key for key, at in unpack_at.items() if at == k):
                if key[1] == rank:
                    items.append(("unpack", key[0], 0))
            here = comps if component[k] == EVERY_COMPONENT else (
                [component[k]] if component[k] in comps else []
            )
            for c in here:
                if k in python_ops:
                    items.append(("python", k, c))
                    continue
                for call in op_calls[k]:
                    if refill_at.get(k) is call:
                        rank_refills.append((k, c, len(calls)))
                    items.append(("call", c, len(calls)))
                    calls.append(call)
            for key in sorted(key for key, at in pack_at.items() if at == k):
                if key[0] == rank:
                    items.append(("pack", key[1], 0))
        rank_probes = []
        for probe_index, c, call, size in probes:
            if c in comps:
                rank_probes.append((probe_index, c, len(calls), size))
                calls.append(call)
        arrays = sorted((c, b) for c in comps for b in uses[c])
        held = {b for _, b in arrays}
        bases = {
            b: BaseInfo(
                name=index.bases[b].name,
                initial=np.asarray(index.bases[b].initial_value),
                readonly=bool(index.bases[b].readonly),
            )
            for b in sorted(held)
        }
        plans.append(
            RankPlan(
                rank=rank,
                n_ranks=n_ranks,
                dt=dt,
                components=comps,
                bases=bases,
                arrays=arrays,
                primary={b: primary[b] for b in held},
                calls=calls,
                items=items,
                channels_in={s: ch for (s, t), ch in channels.items() if t == rank},
                channels_out={t: ch for (s, t), ch in channels.items() if s == rank},
                probes=rank_probes,
                refills=rank_refills,
            )
        )
    return plans


def describe_plan(plan: RankPlan) -> dict[str, Any]:
    """Counts for reports and tests."""
    return {
        "components": plan.components,
        "calls": len(plan.calls),
        "python": sum(kind == "python" for kind, _, _ in plan.items),
        "partners": plan.remote_partners,
    }
