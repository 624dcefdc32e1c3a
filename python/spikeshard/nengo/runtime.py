"""A rank's part of a nengo model, running: its components' arrays, the Rust program made
from its :class:`~spikeshard.nengo.plan.RankPlan`, and the per-step exchange of cut
signals (through :mod:`spikeshard.comm` with the other ranks, through a buffer in memory
among its own components).

The program is the plan's calls replayed, in order, over the components' arrays, cut into
segments where something must happen in Python: a Python operator (rank 0 only), waiting
for a message from another rank before unpacking it, or sending one after packing it.
Without those, the whole run is one call into Rust.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from spikeshard._engine import NengoProgram
from spikeshard.nengo.plan import RankPlan
from spikeshard.nengo.recording import SignalView

#: Entries of a rank's step: ("rust", segment), ("python", (step index, component)),
#: ("recv", source rank), ("send", target rank).
Entry = tuple[str, Any]


class RankRuntime:
    """Builds and runs one rank's plan.

    Parameters
    ----------
    plan : RankPlan
    threads : int
        Threads of the Rust program.
    primary : mapping, optional
        Arrays to use (not copy) for the bases whose primary component is here: on the rank
        that built the model, nengo's ``SignalDict`` arrays, so that it is the merged view
        of every component's signals.
    fuse : bool
        Lay out each component's signals so that consecutive operators of one kind touch
        consecutive memory, and let the program fuse them (``optimize=True``). A primary
        array that moves is in :attr:`moved`, for the caller's ``SignalDict``.
    """

    def __init__(
        self,
        plan: RankPlan,
        threads: int,
        primary: Mapping[int, np.ndarray] | None = None,
        fuse: bool = False,
    ) -> None:
        self.plan = plan
        primary = primary or {}
        self.arrays: dict[int, dict[int, np.ndarray]] = {c: {} for c in plan.components}
        #: Arrays this runtime made (and resets), as opposed to the primary ones it was given.
        self.own: list[tuple[int, np.ndarray]] = []
        #: Primary arrays laid out anew (base -> the array now holding its values).
        self.moved: dict[int, np.ndarray] = {}
        placed = {c: lay_out(plan, c) for c in plan.components} if fuse else {}
        for c, b in plan.arrays:
            is_primary = plan.primary[b] == c and b in primary
            array = placed.get(c, {}).get(b)
            if array is not None:
                array[...] = primary[b] if is_primary else plan.bases[b].initial
                array.flags.writeable = not plan.bases[b].readonly
                if is_primary:
                    self.moved[b] = array
            elif is_primary:
                array = primary[b]
            else:
                array = plan.bases[b].allocate()
            self.arrays[c][b] = array
            if not is_primary:
                self.own.append((b, array))
        self.buffers_out = {t: np.zeros(ch.size) for t, ch in plan.channels_out.items()}
        self.buffers_in = {
            s: self.buffers_out[s] if s == plan.rank else np.zeros(ch.size)
            for s, ch in plan.channels_in.items()
        }
        self.program = NengoProgram(threads=threads, fuse=fuse)
        self.results: dict[int, Any] = {}  # call index -> what the program returned
        self.entries: list[Entry] = []
        self._in_segment = False
        self._build()

    # -- building --------------------------------------------------------------------

    def _end_segment(self) -> None:
        if self._in_segment:
            self.entries.append(("rust", self.program.end_segment()))
            self._in_segment = False

    def _pack(self, target: int) -> None:
        channel = self.plan.channels_out[target]
        buffer = self.buffers_out[target]
        for base, writer, _, where in channel.slices():
            src = self.arrays[writer][base].reshape(-1)
            self.program.add_copy((src, None), (buffer[where], None), False)
            self._in_segment = True

    def _unpack(self, source: int) -> None:
        channel = self.plan.channels_in[source]
        buffer = self.buffers_in[source]
        for base, _, reader, where in channel.slices():
            dst = self.arrays[reader][base].reshape(-1)
            self.program.add_copy((buffer[where], None), (dst, None), False)
            self._in_segment = True

    def _build(self) -> None:
        plan, program = self.plan, self.program
        for kind, a, b in plan.items:
            if kind == "call":
                self.results[b] = plan.calls[b].replay(program, self.arrays[a])
                self._in_segment = True
            elif kind == "python":
                self._end_segment()
                self.entries.append(("python", (a, b)))
            elif kind == "unpack":
                if a != plan.rank:
                    self._end_segment()
                    self.entries.append(("recv", a))
                self._unpack(a)
            elif kind == "pack":
                self._pack(a)
                if a != plan.rank:
                    self._end_segment()
                    self.entries.append(("send", a))
        self._end_segment()
        self.n_step_segments = program.n_segments - 1
        # The prologue: every outgoing message packed once from the current values.
        for target in sorted(plan.channels_out):
            self._pack(target)
        self.prologue = program.end_segment() if self._in_segment else None
        program.end_step(self.n_step_segments)
        self.probe_ids = {}
        for probe, c, call, _ in plan.probes:
            self.probe_ids[probe] = plan.calls[call].replay(program, self.arrays[c])

    @property
    def runs_in_rust_only(self) -> bool:
        return not self.plan.has_python and not self.plan.remote_partners

    # -- state -------------------------------------------------------------------------

    def reset(self) -> None:
        """Every array this runtime made back to its initial value (the primary arrays are
        the caller's to reset), and no samples pending."""
        for b, array in self.own:
            self.plan.bases[b].reset(array)
        self.program.clear_samples()

    def signal_arrays(self, component: int) -> dict[int, np.ndarray]:
        return self.arrays[component]

    # -- running -----------------------------------------------------------------------

    def run(
        self,
        n_steps: int,
        python_steps: Mapping[tuple[int, int], Callable[[], None]],
        exchange: Any = None,
        after_step: Callable[[], None] | None = None,
    ) -> None:
        """Advances ``n_steps`` steps. ``python_steps[(step index, component)]`` are the
        Python operators' step functions (rank 0); ``exchange`` carries the messages to
        and from other ranks (:class:`spikeshard.comm.Exchange`); ``after_step`` runs after
        each step (Python probes)."""
        if n_steps <= 0:
            return
        program = self.program
        if self.prologue is not None:
            program.run_segment(self.prologue)
        if self.runs_in_rust_only and after_step is None:
            program.run_steps(n_steps)
            return
        if exchange is not None:
            exchange.start(self.buffers_out)
        old_err = np.seterr(invalid="raise", divide="ignore")
        try:
            for step in range(n_steps):
                last = step == n_steps - 1
                for kind, item in self.entries:
                    if kind == "rust":
                        program.run_segment(item)
                    elif kind == "python":
                        python_steps[item]()
                    elif kind == "recv":
                        exchange.receive(item, self.buffers_in[item], more=not last)
                    else:
                        if not last:
                            exchange.send(item, self.buffers_out[item])
                program.record_probes()
                if after_step is not None:
                    after_step()
        finally:
            np.seterr(**old_err)

    def pack_samples(self) -> np.ndarray:
        """Every probe's samples since the last call, in one array: the number of samples of
        each probe (in plan order), then each probe's samples (see :func:`unpack_samples`)."""
        counts, parts = [], []
        for probe, _, _, size in self.plan.probes:
            samples = self.program.take_samples(self.probe_ids[probe], size)
            counts.append(len(samples))
            parts.append(samples.ravel())
        return np.concatenate([np.asarray(counts, dtype=np.float64), *parts])


#: The arguments of the program calls that consecutive calls of one kind may fuse over
#: (``Op::absorb``): method -> argument positions (an operand, an array, or a list of them).
FUSED_ARGUMENTS: dict[str, tuple[int, ...]] = {
    "add_reset": (0,),
    "add_copy": (0, 1),
    "add_elementwise_inc": (0, 1, 2),
    "add_neurons": (3, 4, 5),
    "add_linear_filter": (5, 6, 7),
}


def lay_out(plan: RankPlan, component: int) -> dict[int, np.ndarray]:
    """New arrays for component ``component``'s float64 base signals that fusable calls use
    whole: each argument position of each kind of call gets one buffer, with the bases in
    the order the calls first use them there (a base goes where it is first used), so that
    consecutive calls address consecutive memory. Returns base -> its array (a view of its
    buffer, values unset)."""
    roles: dict[tuple[str, int, int], list[int]] = {}
    claimed: set[int] = set()
    for kind, c, index in plan.items:
        if kind != "call" or c != component:
            continue
        call = plan.calls[index]
        for position in FUSED_ARGUMENTS.get(call.method, ()):
            argument = call.args[position]
            if isinstance(argument, tuple):  # an operand: (view, offsets)
                views = [argument[0]] if argument[1] is None else []
            elif isinstance(argument, list):
                views = argument
            else:
                views = [argument]
            for k, view in enumerate(views):
                if (
                    isinstance(view, SignalView)
                    and view.base not in claimed
                    and covers_base(view, plan.bases[view.base].initial)
                ):
                    roles.setdefault((call.method, position, k), []).append(view.base)
                    claimed.add(view.base)
    arrays = {}
    for bases in roles.values():
        sizes = [plan.bases[b].initial.size for b in bases]
        buffer = np.empty(sum(sizes))
        start = 0
        for b, size in zip(bases, sizes, strict=True):
            arrays[b] = buffer[start:start + size].reshape(plan.bases[b].initial.shape)
            start += size
    return arrays


def covers_base(view: SignalView, initial: np.ndarray) -> bool:
    """Whether ``view`` is the whole float64 base, in C order."""
    whole = np.ndarray(initial.shape, np.float64) if initial.dtype == np.float64 else None
    return (
        whole is not None
        and view.offset == 0
        and view.dtype == np.float64
        and view.shape == initial.shape
        and view.strides == whole.strides
    )


def unpack_samples(
    probes: list[tuple[int, int, int, int]], packed: np.ndarray
) -> dict[int, np.ndarray]:
    """The samples of a plan's ``probes`` from :meth:`RankRuntime.pack_samples`, by index
    in ``model.probes``: rows of values."""
    n = len(probes)
    counts = packed[:n].astype(np.int64)
    samples, start = {}, n
    for (probe, _, _, size), count in zip(probes, counts, strict=True):
        end = start + int(count) * size
        samples[probe] = packed[start:end].reshape(int(count), size)
        start = end
    return samples
