"""Lowering nengo operators into the Rust program, or saying why one stays in Python.

Each ``lower_*`` function takes one built operator, the simulator's signal arrays and the
time step, and adds the operator to a :class:`~spikeshard._engine.NengoProgram` in place —
the program then reads and writes nengo's own signal arrays, so Python operators, probes and
users see every value Rust writes. An operator the program cannot run exactly as nengo does
raises :class:`Unsupported` with the reason, and the simulator runs it in Python instead.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import nengo
import numpy as np
from nengo.builder import operator as ops
from nengo.builder.neurons import SimNeurons
from nengo.builder.probe import SimProbe
from nengo.builder.processes import SimProcess
from nengo.builder.signal import SignalDict
from nengo.processes import Piecewise, PresentInput, WhiteNoise, WhiteSignal

from spikeshard._engine import OverlapError
from spikeshard.nengo.build import state_space
from spikeshard.nengo.learning import LEARNING_LOWERINGS
from spikeshard.nengo.neurons import neuron_spec
from spikeshard.nengo.operands import (
    Unsupported,
    fit_to,
    flat_index,
    float_array,
    operand,
)
from spikeshard.nengo.recording import Program


def lower_time_update(
    op: ops.TimeUpdate, signals: SignalDict, dt: float, program: Program
) -> None:
    step, time = signals[op.step], signals[op.time]
    if step.dtype != np.int64 or step.ndim != 0:
        raise Unsupported(f"step counter is {step.dtype} of shape {step.shape}")
    program.add_time_update(step, float_array(time, "time"), dt)


def lower_reset(op: ops.Reset, signals: SignalDict, dt: float, program: Program) -> None:
    program.add_reset(operand(float_array(signals[op.dst], "Reset dst")), op.value)


def lower_copy(op: ops.Copy, signals: SignalDict, dt: float, program: Program) -> None:
    src = float_array(signals[op.src], "Copy src")
    dst = float_array(signals[op.dst], "Copy dst")
    src_index = flat_index(src, op.src_slice)
    dst_index = flat_index(dst, op.dst_slice)
    program.add_copy(
        operand(src, fit_to(src_index, dst_index.shape)), operand(dst, dst_index), op.inc
    )


def lower_elementwise_inc(
    op: ops.ElementwiseInc, signals: SignalDict, dt: float, program: Program
) -> None:
    a = float_array(signals[op.A], "ElementwiseInc A")
    x = float_array(signals[op.X], "ElementwiseInc X")
    y = float_array(signals[op.Y], "ElementwiseInc Y")
    product = np.broadcast_shapes(a.shape, x.shape)
    a_index = fit_to(np.broadcast_to(flat_index(a), product), y.shape)
    x_index = fit_to(np.broadcast_to(flat_index(x), product), y.shape)
    program.add_elementwise_inc(operand(a, a_index), operand(x, x_index), operand(y))


def lower_dot_inc(op: ops.DotInc, signals: SignalDict, dt: float, program: Program) -> None:
    a = float_array(signals[op.A], "DotInc A")
    x = float_array(signals[op.X], "DotInc X")
    y = float_array(signals[op.Y], "DotInc Y")
    if a.ndim == 0 or x.ndim == 0:
        # A scalar factor: Y += A * X, the product laid onto Y in C order.
        other = x if a.ndim == 0 else a
        if other.size != y.size:
            raise Unsupported(f"DotInc of shapes {a.shape} x {x.shape} -> {y.shape}")
        scalar_index = np.zeros(y.size, dtype=np.int64)
        a_index = scalar_index if a.ndim == 0 else flat_index(a).ravel()
        x_index = scalar_index if x.ndim == 0 else flat_index(x).ravel()
        program.add_elementwise_inc(operand(a, a_index), operand(x, x_index), operand(y))
        return
    matrix = a[np.newaxis, :] if a.ndim == 1 else a
    vector = x[:, 0] if x.ndim == 2 and x.shape[1] == 1 else x
    if matrix.ndim != 2 or vector.ndim != 1 or matrix.shape[0] != y.size:
        raise Unsupported(f"DotInc of shapes {a.shape} x {x.shape} -> {y.shape}")
    program.add_dot_inc(matrix, operand(vector), operand(y))


def lower_sparse_dot_inc(
    op: ops.SparseDotInc, signals: SignalDict, dt: float, program: Program
) -> None:
    matrix = signals[op.A]
    if getattr(matrix, "format", None) != "csr":
        raise Unsupported(f"SparseDotInc A is {type(matrix).__name__}, not a CSR matrix")
    data = float_array(matrix.data, "SparseDotInc A data")
    x = float_array(signals[op.X], "SparseDotInc X")
    y = float_array(signals[op.Y], "SparseDotInc Y")
    program.add_csr_dot_inc(
        data,
        matrix.indices.astype(np.int64).tolist(),
        matrix.indptr.astype(np.int64).tolist(),
        operand(x),
        operand(y),
    )


def lower_bsr_dot_inc(
    op: ops.BsrDotInc, signals: SignalDict, dt: float, program: Program
) -> None:
    blocks = float_array(signals[op.A], "BsrDotInc A")
    if blocks.ndim != 3 or not blocks.flags.c_contiguous:
        raise Unsupported("BsrDotInc blocks are not a C-contiguous 3-D array")
    x = float_array(signals[op.X], "BsrDotInc X")
    y = float_array(signals[op.Y], "BsrDotInc Y")
    program.add_bsr_dot_inc(
        blocks,
        np.asarray(op.indices, dtype=np.int64).tolist(),
        np.asarray(op.indptr, dtype=np.int64).tolist(),
        operand(x),
        operand(y),
    )


def lower_sim_neurons(
    op: SimNeurons, signals: SignalDict, dt: float, program: Program
) -> None:
    spec = neuron_spec(op.neurons)
    if spec is None:
        raise Unsupported(f"neuron type {op.neurons} runs in Python")
    if op.state_extra or set(op.state) != set(spec.states):
        raise Unsupported(f"{op.neurons} has state {sorted(op.state)} + {sorted(op.state_extra)}")
    j = float_array(signals[op.J], "SimNeurons J")
    out = float_array(signals[op.output], "SimNeurons output")
    states = [float_array(signals[op.state[name]], f"SimNeurons {name}") for name in spec.states]
    arrays = [j, out, *states]
    if not all(array.ndim == 1 and array.flags.c_contiguous for array in arrays):
        raise Unsupported("SimNeurons signals are not contiguous vectors")
    if any(np.shares_memory(p, q) for i, p in enumerate(arrays) for q in arrays[i + 1 :]):
        raise Unsupported("SimNeurons signals overlap")
    program.add_neurons(spec.name, list(spec.params), dt, j, out, states)


#: Process types stepped by nengo's ``LinearFilter.make_step`` (subclasses may override it).
LINEAR_FILTERS = (nengo.LinearFilter, nengo.Lowpass, nengo.Alpha)

#: Input processes whose step emits a row of a table chosen by the time (exact types).
TABLE_PROCESSES = (PresentInput, Piecewise, WhiteSignal)

class NoiseState(NamedTuple):
    """A ``WhiteNoise`` operator's generator state (numpy's ``RandomState.get_state``), for
    the program's ``set_noise_state``."""

    key: np.ndarray
    pos: int
    has_gauss: bool
    gauss: float


#: Refills, after each reset, what the program reads from nengo's step function of the
#: operator (made by that reset over the signals given, so from the random state nengo gave
#: it): a table, filled in place (returns None), or a noise generator's state (returned).
Refill = Callable[[Callable[[], None], SignalDict], NoiseState | None]


def check_mode(op: SimProcess) -> None:
    """The modes of ``SimProcess.make_step``: "update" sets the output, as "set" does."""
    if op.mode not in ("set", "inc", "update"):
        raise Unsupported(f"{op.process} in mode {op.mode!r}")


def lower_sim_process(
    op: SimProcess, signals: SignalDict, dt: float, program: Program
) -> Refill | None:
    process = op.process
    if type(process) in TABLE_PROCESSES:
        return lower_table_process(op, signals, dt, program)
    if type(process) is WhiteNoise:
        return lower_white_noise(op, signals, dt, program)
    if type(process) not in LINEAR_FILTERS:
        raise Unsupported(f"process {type(process).__name__} runs in Python")
    check_mode(op)
    if op.input is None:
        raise Unsupported(f"{process} without input")
    u = float_array(signals[op.input], "filter input")
    y = float_array(signals[op.output], "filter output")
    state = float_array(signals[op.state["X"]], "filter state")
    if u.shape != y.shape or u.ndim != 1 or not state.flags.c_contiguous:
        raise Unsupported(f"filter of shape {u.shape} -> {y.shape}")
    a, b, c, d = (np.asarray(m, dtype=np.float64) for m in state_space(process, dt))
    forms = nengo.LinearFilter
    for name in ("NoX", "OneX", "NoD", "General"):
        if getattr(forms, name).check(a, b, c, d, state):
            break
    else:
        raise Unsupported(f"{process}: no step form fits its state-space matrices")
    program.add_linear_filter(
        name,
        a.ravel().tolist(),
        b.ravel().tolist(),
        c.ravel().tolist(),
        float(d.item()),
        operand(u),
        operand(y),
        state,
        op.mode == "inc",
    )
    return None


def table_rows(values: Any, what: str) -> np.ndarray:
    """``values`` as float64, where nengo's ``output[...] = row`` and ``output[...] += row``
    give what they give with the float64 row: real values of at most 64 bits (a wider float
    would be added in its own precision), else Unsupported."""
    values = np.asarray(values)
    kind, size = values.dtype.kind, values.dtype.itemsize
    if kind not in "biuf" or (kind == "f" and size > 8):
        raise Unsupported(f"{what} are {values.dtype}, not real numbers of at most 64 bits")
    return np.ascontiguousarray(values, dtype=np.float64)


def lower_table_process(
    op: SimProcess, signals: SignalDict, dt: float, program: Program
) -> Refill | None:
    """``PresentInput``, ``Piecewise`` (zero interpolation) and ``WhiteSignal``: each step
    emits the row of a table that nengo's ``make_step`` indexes with the time, and the Rust
    operator repeats that index arithmetic (see ``rust/src/nengo/tables.rs``)."""
    process = op.process
    name = type(process).__name__
    check_mode(op)
    if op.input is not None:
        raise Unsupported(f"{process} with an input")
    time = float_array(signals[op.t], f"{name} time")
    output = float_array(signals[op.output], f"{name} output")
    if time.ndim != 0:
        raise Unsupported(f"{name} time signal of shape {time.shape}")
    width, inc = output.size, op.mode == "inc"
    if type(process) is PresentInput:
        inputs = process.inputs
        rows = table_rows(inputs.reshape(len(inputs), -1), "PresentInput inputs")
        if rows.shape[1] != width:
            raise Unsupported(f"PresentInput rows of {rows.shape[1]} for an output of {width}")
        presentation_time = float(process.presentation_time)
        program.add_table_process(
            "presentation",
            rows,
            time,
            operand(output),
            inc,
            dt=dt,
            presentation_time=presentation_time,
        )
        return None
    if type(process) is Piecewise:
        lower_piecewise(process, time, output, dt, inc, program)
        return None
    # WhiteSignal: one period of the signal its make_step draws, indexed by round(t / dt).
    n_rows = 2 * int(np.ceil(process.period / dt / 2.0))
    table = np.zeros((n_rows, width))
    program.add_table_process("periodic", table, time, operand(output), inc, dt=dt)
    return partial(refill_white_signal, op, dt, table)


def lower_piecewise(
    process: Piecewise,
    time: np.ndarray,
    output: np.ndarray,
    dt: float,
    inc: bool,
    program: Program,
) -> None:
    if process.interpolation != "zero":
        raise Unsupported(
            f"Piecewise with {process.interpolation!r} interpolation runs in Python "
            "(scipy.interpolate)"
        )
    # As make_step: the times sorted, and np.searchsorted over them.
    tp, yp = zip(*sorted(process.data.items()), strict=True)
    if any(callable(value) for value in yp):
        raise Unsupported("Piecewise with a callable value runs in Python")
    times = np.asarray(tp)
    if times.dtype not in (np.float64, np.int64) or np.isnan(times).any():
        # np.searchsorted compares in the times' dtype (float32 times round the time).
        raise Unsupported(f"Piecewise times of {times.dtype} (or NaN) run in Python")
    # Row 0: the zeros emitted before the first time.
    rows = np.zeros((len(yp) + 1, output.size))
    for row, value in enumerate(yp, start=1):
        value = table_rows(value, "Piecewise values")
        if value.shape != (output.size,):
            raise Unsupported(f"Piecewise value of shape {value.shape} for {output.shape}")
        rows[row] = value
    program.add_table_process(
        "piecewise",
        rows,
        time,
        operand(output),
        inc,
        dt=dt,
        times=times.astype(np.float64).tolist(),
    )


def refill_white_signal(
    op: SimProcess,
    dt: float,
    table: np.ndarray,
    step: Callable[[], None],
    signals: SignalDict,
) -> None:
    """Fills ``table`` with one period of the signal nengo's ``step`` emits: row ``k`` is its
    output at ``t = k dt`` (its index ``round(t / dt)`` is then ``k``), and at ``t = n dt``
    it must emit row 0 again. The time and output signals (``signals``, those ``step`` was
    made over) are restored afterwards."""
    time, output = signals[op.t], signals[op.output]
    saved_time, saved_output = time.copy(), output.copy()
    try:
        for k in range(len(table) + 1):
            time[...] = k * dt
            output[...] = -0.0  # -0.0 + x is x for every x: mode "inc" adds onto nothing
            step()
            if k < len(table):
                table[k] = output.ravel()
            elif output.ravel().tobytes() != table[0].tobytes():
                raise RuntimeError("WhiteSignal's period is not the table's length")
    finally:
        time[...] = saved_time
        output[...] = saved_output


def noise_dist(dist: nengo.dists.Distribution) -> tuple[str, list[float]]:
    """The Rust operator's name and parameters for what ``dist.sample`` draws: ``rng.normal``
    for ``Gaussian``, ``rng.uniform`` (``low + (high - low) * u``, the range in float64 as
    numpy computes it) for a real-valued ``Uniform``; others Unsupported."""
    if type(dist) is nengo.dists.Gaussian:
        return "gaussian", [float(dist.mean), float(dist.std)]
    if type(dist) is nengo.dists.Uniform and not dist.integer:
        low, high = float(dist.low), float(dist.high)
        if not np.isfinite(high - low):
            raise Unsupported(f"WhiteNoise with {dist}: numpy raises on its range")
        return "uniform", [low, high - low]
    raise Unsupported(f"WhiteNoise with {dist} runs in Python")


def lower_white_noise(
    op: SimProcess, signals: SignalDict, dt: float, program: Program
) -> Refill:
    """``WhiteNoise``: the Rust operator draws numpy's legacy ``RandomState`` stream itself
    (``rust/src/nengo/noise.rs``), from the state of the generator nengo's ``make_step`` gave
    the process, handed over after each reset."""
    process = op.process
    check_mode(op)
    if op.input is not None:
        raise Unsupported(f"{process} with an input")
    output = float_array(signals[op.output], "WhiteNoise output")
    if output.ndim != 1:
        raise Unsupported(f"WhiteNoise output of shape {output.shape}")
    name, params = noise_dist(process.dist)
    # As make_step: alpha = 1.0 / np.sqrt(dt), applied when the process scales.
    alpha = float(1.0 / np.sqrt(dt)) if process.scale else None
    program.add_white_noise(name, params, alpha, operand(output), op.mode == "inc")
    return noise_state


def closure_value(function: Callable[..., Any], name: str) -> Any:
    """The value a closure holds for its free variable ``name``."""
    cells = dict(zip(function.__code__.co_freevars, function.__closure__ or (), strict=True))
    if name not in cells:
        raise RuntimeError(f"{function.__qualname__} holds no {name!r}")
    return cells[name].cell_contents


def noise_state(step: Callable[[], None], signals: SignalDict) -> NoiseState:
    """The random state of the generator in nengo's step (``SimProcess.make_step``'s
    ``step_f`` closes over ``WhiteNoise.make_step``'s ``rng``)."""
    rng = closure_value(closure_value(step, "step_f"), "rng")
    if not isinstance(rng, np.random.RandomState):
        raise RuntimeError(f"WhiteNoise's generator is a {type(rng).__name__}, not a RandomState")
    kind, key, pos, has_gauss, gauss = rng.get_state(legacy=True)
    if kind != "MT19937":
        raise RuntimeError(f"WhiteNoise's generator is {kind}, not MT19937")
    return NoiseState(np.asarray(key, dtype=np.uint32), int(pos), bool(has_gauss), float(gauss))


def lower_sim_probe(op: SimProbe, signals: SignalDict, dt: float, program: Program) -> None:
    """Nothing to run: ``SimProbe`` only marks its signal as read for the schedule."""


Lowering = Callable[[Any, SignalDict, float, Program], Refill | None]

#: The lowering of each operator type (exact types: a subclass may step differently).
LOWERINGS: dict[type, Lowering] = {
    ops.TimeUpdate: lower_time_update,
    ops.Reset: lower_reset,
    ops.Copy: lower_copy,
    ops.ElementwiseInc: lower_elementwise_inc,
    ops.DotInc: lower_dot_inc,
    ops.SparseDotInc: lower_sparse_dot_inc,
    ops.BsrDotInc: lower_bsr_dot_inc,
    SimNeurons: lower_sim_neurons,
    SimProcess: lower_sim_process,
    SimProbe: lower_sim_probe,
    **LEARNING_LOWERINGS,
}


def lower(op: ops.Operator, signals: SignalDict, dt: float, program: Program) -> Refill | None:
    """Adds ``op`` to ``program``; raises :class:`Unsupported` when it must run in Python.

    Returns the :data:`Refill` to call after every reset with the operator's step function,
    when the operator's table is drawn anew by each reset.
    """
    lowering = LOWERINGS.get(type(op))
    if lowering is None:
        raise Unsupported(f"{type(op).__name__} runs in Python")
    try:
        return lowering(op, signals, dt, program)
    except OverlapError as error:  # the program's one check of what a step may overlap
        raise Unsupported(f"{type(op).__name__}: {error}") from None
