"""Lowering nengo operators into the Rust program, or saying why one stays in Python.

Each ``lower_*`` function takes one built operator, the simulator's signal arrays and the
time step, and adds the operator to a :class:`~spikeshard._engine.NengoProgram` in place —
the program then reads and writes nengo's own signal arrays, so Python operators, probes and
users see every value Rust writes. An operator the program cannot run exactly as nengo does
raises :class:`Unsupported` with the reason, and the simulator runs it in Python instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import nengo
import numpy as np
from nengo.builder import operator as ops
from nengo.builder.learning_rules import SimBCM, SimOja, SimPES, SimVoja
from nengo.builder.neurons import SimNeurons
from nengo.builder.probe import SimProbe
from nengo.builder.processes import SimProcess
from nengo.builder.signal import SignalDict

from spikeshard._engine import NengoProgram
from spikeshard.nengo.learning import lower_learning_rule
from spikeshard.nengo.neurons import neuron_spec

#: An operand as the program takes it: an array and the offsets of the elements used.
Operand = tuple[np.ndarray, np.ndarray | None]


class Unsupported(Exception):
    """The operator must run in Python; the message says why."""


def float_array(value: Any, what: str) -> np.ndarray:
    """``value`` as a float64 ndarray the program can address, or Unsupported."""
    if not isinstance(value, np.ndarray) or value.dtype != np.float64:
        raise Unsupported(
            f"{what} is {type(value).__name__} of {getattr(value, 'dtype', '?')}, not float64"
        )
    if value.strides and any(s % value.itemsize for s in value.strides):
        raise Unsupported(f"{what} has strides that are not whole elements")
    return value


def operand(array: np.ndarray, index: np.ndarray | None = None) -> Operand:
    """``array`` (optionally its flat C-order elements ``index``) as a program operand."""
    if index is None and array.flags.c_contiguous:
        return array, None
    if array.ndim == 0:
        offsets = np.zeros(1, dtype=np.int64)
    else:
        strides = np.asarray(array.strides, dtype=np.int64) // array.itemsize
        grid = np.indices(array.shape, dtype=np.int64).reshape(array.ndim, -1)
        offsets = strides @ grid
    if index is not None:
        offsets = offsets[np.asarray(index, dtype=np.int64).ravel()]
    return array, np.ascontiguousarray(offsets, dtype=np.int64)


def flat_index(array: np.ndarray, selection: Any = None) -> np.ndarray:
    """Flat C-order indices of ``array[selection]`` (all elements when None), keeping its shape."""
    index = np.arange(array.size, dtype=np.int64).reshape(array.shape)
    return index if selection is None else index[selection]


def fit_to(index: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``index`` broadcast to ``shape`` as numpy's ``dst[...] = src`` does (dropping leading 1s)."""
    while index.ndim > len(shape) and index.shape[0] == 1:
        index = index[0]
    try:
        return np.broadcast_to(index, shape)
    except ValueError as error:
        raise Unsupported(f"cannot broadcast {index.shape} to {shape}") from error


def lower_time_update(
    op: ops.TimeUpdate, signals: SignalDict, dt: float, program: NengoProgram
) -> None:
    step, time = signals[op.step], signals[op.time]
    if step.dtype != np.int64 or step.ndim != 0:
        raise Unsupported(f"step counter is {step.dtype} of shape {step.shape}")
    program.add_time_update(step, float_array(time, "time"), dt)


def lower_reset(op: ops.Reset, signals: SignalDict, dt: float, program: NengoProgram) -> None:
    program.add_reset(operand(float_array(signals[op.dst], "Reset dst")), op.value)


def lower_copy(op: ops.Copy, signals: SignalDict, dt: float, program: NengoProgram) -> None:
    src = float_array(signals[op.src], "Copy src")
    dst = float_array(signals[op.dst], "Copy dst")
    src_index = flat_index(src, op.src_slice)
    dst_index = flat_index(dst, op.dst_slice)
    program.add_copy(
        operand(src, fit_to(src_index, dst_index.shape)), operand(dst, dst_index), op.inc
    )


def lower_elementwise_inc(
    op: ops.ElementwiseInc, signals: SignalDict, dt: float, program: NengoProgram
) -> None:
    a = float_array(signals[op.A], "ElementwiseInc A")
    x = float_array(signals[op.X], "ElementwiseInc X")
    y = float_array(signals[op.Y], "ElementwiseInc Y")
    product = np.broadcast_shapes(a.shape, x.shape)
    a_index = fit_to(np.broadcast_to(flat_index(a), product), y.shape)
    x_index = fit_to(np.broadcast_to(flat_index(x), product), y.shape)
    program.add_elementwise_inc(operand(a, a_index), operand(x, x_index), operand(y, flat_index(y)))


def lower_dot_inc(op: ops.DotInc, signals: SignalDict, dt: float, program: NengoProgram) -> None:
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
        program.add_elementwise_inc(
            operand(a, a_index), operand(x, x_index), operand(y, flat_index(y))
        )
        return
    matrix = a[np.newaxis, :] if a.ndim == 1 else a
    vector = x[:, 0] if x.ndim == 2 and x.shape[1] == 1 else x
    if matrix.ndim != 2 or vector.ndim != 1 or matrix.shape[0] != y.size:
        raise Unsupported(f"DotInc of shapes {a.shape} x {x.shape} -> {y.shape}")
    program.add_dot_inc(matrix, operand(vector), operand(y, flat_index(y)))


def lower_sparse_dot_inc(
    op: ops.SparseDotInc, signals: SignalDict, dt: float, program: NengoProgram
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
        operand(x, flat_index(x)),
        operand(y, flat_index(y)),
    )


def lower_bsr_dot_inc(
    op: ops.BsrDotInc, signals: SignalDict, dt: float, program: NengoProgram
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
        operand(x, flat_index(x)),
        operand(y, flat_index(y)),
    )


def lower_sim_neurons(
    op: SimNeurons, signals: SignalDict, dt: float, program: NengoProgram
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


def lower_sim_process(
    op: SimProcess, signals: SignalDict, dt: float, program: NengoProgram
) -> None:
    process = op.process
    if type(process) not in LINEAR_FILTERS:
        raise Unsupported(f"process {type(process).__name__} runs in Python")
    if op.input is None or op.mode not in ("set", "inc", "update"):
        raise Unsupported(f"{process} without input or in mode {op.mode!r}")
    u = float_array(signals[op.input], "filter input")
    y = float_array(signals[op.output], "filter output")
    state = float_array(signals[op.state["X"]], "filter state")
    if u.shape != y.shape or u.ndim != 1 or not state.flags.c_contiguous:
        raise Unsupported(f"filter of shape {u.shape} -> {y.shape}")
    a, b, c, d = (np.asarray(m, dtype=np.float64) for m in process._get_ss(dt))
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
        operand(y, flat_index(y)),
        state,
        op.mode == "inc",
    )


def lower_sim_probe(op: SimProbe, signals: SignalDict, dt: float, program: NengoProgram) -> None:
    """Nothing to run: ``SimProbe`` only marks its signal as read for the schedule."""


Lowering = Callable[[Any, SignalDict, float, NengoProgram], None]

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
    SimPES: lower_learning_rule,
    SimBCM: lower_learning_rule,
    SimOja: lower_learning_rule,
    SimVoja: lower_learning_rule,
}


def lower(op: ops.Operator, signals: SignalDict, dt: float, program: NengoProgram) -> None:
    """Adds ``op`` to ``program``; raises :class:`Unsupported` when it must run in Python."""
    lowering = LOWERINGS.get(type(op))
    if lowering is None:
        raise Unsupported(f"{type(op).__name__} runs in Python")
    lowering(op, signals, dt, program)
