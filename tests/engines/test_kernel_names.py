"""Python models and Rust kernels agree on what crosses the boundary: state variables (in
storage order) and kernel constants, by name, both ways."""

from __future__ import annotations

import numpy as np
import pytest

import spikeshard as ss
from spikeshard import _engine
from spikeshard.models import NeuronModel

MODELS = [m for m in vars(ss.models).values()
          if isinstance(m, type) and issubclass(m, NeuronModel) and m.rust_kernel is not None]


def test_every_rust_kernel_has_a_python_model():
    assert sorted(m.rust_kernel for m in MODELS) == sorted(_engine.supported_kernels())


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("dt", [1e-4, 1e-3])
def test_state_and_constant_names_agree_both_ways(model, dt):
    rust_state, rust_constants = _engine.kernel_names(model.rust_kernel)
    assert tuple(rust_state) == model.state_names()
    python_constants = model.constants(model.resolve_params({}), dt)
    assert sorted(python_constants) == sorted(rust_constants)
    assert all(isinstance(v, float) for v in python_constants.values()), python_constants


def test_a_missing_or_unknown_constant_is_refused_by_name():
    constants = ss.models.LIF.constants(ss.models.LIF.resolve_params({}), 1e-4)
    state = [np.zeros(2) for _ in ss.models.LIF.state_names()]
    locals_ = np.arange(2, dtype=np.uint32)
    runner = _engine.NetworkRunner(1e-4)
    missing = {k: v for k, v in constants.items() if k != "p21_in"}
    with pytest.raises(ValueError, match="'lif'.*'p21_in' is missing|\"p21_in\" is missing"):
        runner.add_population("lif", missing, 0, 0, 2, locals_, state)
    with pytest.raises(ValueError, match="tau_m.*is not a constant"):
        runner.add_population("lif", {**constants, "tau_m": 0.01}, 0, 0, 2, locals_, state)
    with pytest.raises(ValueError, match="unknown neuron model kernel"):
        runner.add_population("lif_typo", constants, 0, 0, 2, locals_, state)
