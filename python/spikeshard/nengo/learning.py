"""Learning-rule operators (PES, BCM, Oja, Voja) lowered into the Rust program.

Each computes ``delta`` from filtered activities exactly as its nengo ``make_step`` does
(same ``alpha``); the weight update itself is an ordinary operator the builder adds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from nengo.builder.learning_rules import SimBCM, SimOja, SimPES, SimVoja
from nengo.builder.signal import SignalDict

from spikeshard._engine import NengoProgram


def lower_learning_rule(op: Any, signals: SignalDict, dt: float, program: NengoProgram) -> None:
    """Adds a learning-rule operator to ``program``."""
    from spikeshard.nengo.lowering import Unsupported, flat_index, float_array, operand

    def vector(signal: Any, what: str) -> tuple[np.ndarray, np.ndarray | None]:
        array = float_array(signals[signal], f"{type(op).__name__} {what}")
        return operand(array, flat_index(array))

    for name in (
        "pre_filtered",
        "pre_decoded",
        "post_filtered",
        "error",
        "weights",
        "scaled_encoders",
    ):
        sig = getattr(op, name, None)
        if sig is not None and np.shares_memory(signals[sig], signals[op.delta]):
            raise Unsupported(f"{type(op).__name__} delta overlaps its {name}")
    delta = vector(op.delta, "delta")
    if isinstance(op, SimPES):
        pre = vector(op.pre_filtered, "pre")
        n_neurons = signals[op.pre_filtered].shape[0]
        alpha = -op.learning_rate * dt / n_neurons
        program.add_learning_rule("PES", alpha, pre, vector(op.error, "error"), delta)
    elif isinstance(op, SimBCM):
        program.add_learning_rule(
            "BCM",
            op.learning_rate * dt,
            vector(op.pre_filtered, "pre"),
            vector(op.post_filtered, "post"),
            delta,
            extra=vector(op.theta, "theta"),
        )
    elif isinstance(op, SimOja):
        program.add_learning_rule(
            "Oja",
            op.learning_rate * dt,
            vector(op.pre_filtered, "pre"),
            vector(op.post_filtered, "post"),
            delta,
            matrix=vector(op.weights, "weights"),
            beta=float(op.beta),
        )
    elif isinstance(op, SimVoja):
        scale = np.asarray(op.scale, dtype=np.float64).ravel()
        program.add_learning_rule(
            "Voja",
            op.learning_rate * dt,
            vector(op.pre_decoded, "pre"),
            vector(op.post_filtered, "post"),
            delta,
            extra=vector(op.learning_signal, "learning signal"),
            matrix=vector(op.scaled_encoders, "encoders"),
            scale=scale.tolist(),
        )
    else:
        raise Unsupported(f"{type(op).__name__} runs in Python")
