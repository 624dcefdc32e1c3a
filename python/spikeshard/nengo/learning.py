"""Learning-rule operators (PES, BCM, Oja, Voja) lowered into the Rust program.

Each computes ``delta`` from filtered activities exactly as its nengo ``make_step`` does
(same ``alpha``); the weight update itself is an ordinary operator the builder adds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from nengo.builder.learning_rules import SimBCM, SimOja, SimPES, SimVoja
from nengo.builder.signal import SignalDict

from spikeshard.nengo.operands import Operand, Unsupported, float_array, operand
from spikeshard.nengo.recording import Program

#: The signals a rule reads, none of which may share memory with the ``delta`` it writes.
READ_SIGNALS = (
    "pre_filtered",
    "pre_decoded",
    "post_filtered",
    "error",
    "weights",
    "scaled_encoders",
)


def vector(op: Any, signals: SignalDict, name: str) -> Operand:
    """The operand of ``op``'s signal ``name`` (read in C order, like nengo's arrays)."""
    return operand(float_array(signals[getattr(op, name)], f"{type(op).__name__} {name}"))


def delta_operand(op: Any, signals: SignalDict) -> Operand:
    """``op``'s ``delta``, after checking it overlaps none of the signals the rule reads."""
    delta = signals[op.delta]
    for name in READ_SIGNALS:
        sig = getattr(op, name, None)
        if sig is not None and np.shares_memory(signals[sig], delta):
            raise Unsupported(f"{type(op).__name__} delta overlaps its {name}")
    return vector(op, signals, "delta")


def lower_pes(op: SimPES, signals: SignalDict, dt: float, program: Program) -> None:
    delta = delta_operand(op, signals)
    alpha = -op.learning_rate * dt / signals[op.pre_filtered].shape[0]
    pre, error = vector(op, signals, "pre_filtered"), vector(op, signals, "error")
    program.add_learning_rule("PES", alpha, pre, error, delta)


def lower_bcm(op: SimBCM, signals: SignalDict, dt: float, program: Program) -> None:
    delta = delta_operand(op, signals)
    pre, post = vector(op, signals, "pre_filtered"), vector(op, signals, "post_filtered")
    theta = vector(op, signals, "theta")
    program.add_learning_rule("BCM", op.learning_rate * dt, pre, post, delta, extra=theta)


def lower_oja(op: SimOja, signals: SignalDict, dt: float, program: Program) -> None:
    delta = delta_operand(op, signals)
    pre, post = vector(op, signals, "pre_filtered"), vector(op, signals, "post_filtered")
    weights = vector(op, signals, "weights")
    alpha, beta = op.learning_rate * dt, float(op.beta)
    program.add_learning_rule("Oja", alpha, pre, post, delta, matrix=weights, beta=beta)


def lower_voja(op: SimVoja, signals: SignalDict, dt: float, program: Program) -> None:
    delta = delta_operand(op, signals)
    pre, post = vector(op, signals, "pre_decoded"), vector(op, signals, "post_filtered")
    program.add_learning_rule(
        "Voja",
        op.learning_rate * dt,
        pre,
        post,
        delta,
        extra=vector(op, signals, "learning_signal"),
        matrix=vector(op, signals, "scaled_encoders"),
        scale=np.asarray(op.scale, dtype=np.float64).ravel().tolist(),
    )


#: The lowering of each learning-rule operator (exact types).
LEARNING_LOWERINGS: dict[type, Callable[[Any, SignalDict, float, Program], None]] = {
    SimPES: lower_pes,
    SimBCM: lower_bcm,
    SimOja: lower_oja,
    SimVoja: lower_voja,
}
