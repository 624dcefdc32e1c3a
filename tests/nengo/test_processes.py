"""nengo's input processes (PresentInput, Piecewise, WhiteSignal, WhiteNoise) stepped in Rust:
bitwise the outputs of nengo's reference simulator, over runs, resets and reseeds."""

from __future__ import annotations

import nengo
import numpy as np
import pytest
from nengo.builder.processes import SimProcess
from nengo.processes import Piecewise, PresentInput, WhiteNoise, WhiteSignal

from spikeshard._engine import NengoProgram
from spikeshard.nengo import Simulator


def network(
    process: nengo.Process, noise: nengo.Process | None
) -> tuple[nengo.Network, list[nengo.Probe], list[nengo.Probe]]:
    """The process as a node's output (mode "set"), probed directly and feeding an ensemble,
    and ``noise`` (same kind) added to an ensemble's neuron input (mode "inc"). Returns the
    network, the probes that must match nengo bitwise (the processes' outputs, and the neuron
    input: bias + encoded scalar + noise), and those downstream of neurons and dot products."""
    with nengo.Network(seed=5) as net:
        node = nengo.Node(process)
        ens = nengo.Ensemble(20, node.size_out)
        nengo.Connection(node, ens, synapse=None)
        exact = [nengo.Probe(node)]
        close = [nengo.Probe(ens, synapse=0.005)]
        if noise is not None:
            noisy = nengo.Ensemble(noise.default_size_out, 1, noise=noise)
            nengo.Connection(node[0], noisy, synapse=None)
            exact.append(nengo.Probe(noisy.neurons, "input"))
            close.append(nengo.Probe(noisy.neurons))
    return net, exact, close


def input_process_ops(sim: nengo.Simulator) -> list[SimProcess]:
    kinds = (PresentInput, Piecewise, WhiteSignal, WhiteNoise)
    return [op for op in sim.step_order if isinstance(op, SimProcess) and type(op.process) in kinds]


def same_outputs(
    reference: nengo.Simulator, ours: Simulator, exact: list[nengo.Probe], close: list[nengo.Probe]
) -> None:
    for probe in exact:
        np.testing.assert_array_equal(ours.data[probe], reference.data[probe])
    for probe in close:
        # Rust's dot products sum in another order than numpy's: equal up to rounding.
        np.testing.assert_allclose(ours.data[probe], reference.data[probe], rtol=1e-9, atol=1e-9)


def check_against_nengo(
    process: nengo.Process, noise: nengo.Process | None = None, dt: float = 0.001
) -> None:
    """Runs, resets (reseeding or not) and runs again under both simulators."""
    net, exact, close = network(process, noise)
    sims = [
        nengo.Simulator(net, dt=dt, progress_bar=False),
        Simulator(net, dt=dt, progress_bar=False),
    ]
    with sims[0] as reference, sims[1] as ours:
        lowered = input_process_ops(ours)
        assert len(lowered) == (1 if noise is None else 2)
        python_ops = [op for op, _ in ours.python_operators]
        assert not any(op in python_ops for op in lowered), ours.python_operators
        for sim in sims:
            sim.run(0.2)
            sim.run_steps(37)
        same_outputs(reference, ours, exact, close)
        for seed in (11, None, 12):
            for sim in sims:
                sim.reset(seed=seed)
                sim.run(0.25)
            same_outputs(reference, ours, exact, close)


@pytest.mark.parametrize(
    "inputs, presentation_time",
    [
        (np.arange(12.0).reshape(4, 3) - 5.5, 0.01),
        (np.arange(12.0).reshape(4, 3), 0.0123),  # not a multiple of dt
        (np.linspace(-1, 1, 40).reshape(5, 2, 4), 0.0035),  # rows flattened
        (np.array([[1, -2], [3, 4], [0, 7]], dtype=np.int32), 0.0005),  # shorter than dt
        (np.array([[0.5, -0.25]], dtype=np.float32), 0.05),
        (np.asfortranarray(np.arange(6.0).reshape(3, 2)), 0.003),
    ],
)
def test_present_input_matches_nengo(inputs, presentation_time):
    noise_rows = np.random.RandomState(1).standard_normal((3, 7))
    check_against_nengo(
        PresentInput(inputs, presentation_time), PresentInput(noise_rows, presentation_time * 2)
    )


def test_present_input_with_a_coarse_step():
    check_against_nengo(PresentInput(np.arange(8.0).reshape(4, 2), 0.007), dt=0.002)


@pytest.mark.parametrize(
    "data",
    [
        {0: [1.0, -2.0], 0.05: np.array([0.5, 3.0]), 0.1: [-1, 2], 0.1503: [4.0, 0.0]},
        {0.02: np.array([1.5, -1.0]), 0.0325: [0.0, -0.0], 1: [7.0, 7.0]},  # zeros before 0.02
        {-1: [2.0, 2.0], 0.0005: [1.0, 3.0], 0.0015: [5.0, -5.0], 0.1: [np.float32(0.1), 9]},
        {0: [1, 2], 1: [3, 4]},  # integer times and values
    ],
)
def test_piecewise_zero_matches_nengo(data):
    noise = Piecewise({0: np.full(7, 0.25), 0.03: np.arange(7.0), 0.111: -np.ones(7)})
    check_against_nengo(Piecewise(data), noise)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(period=0.3, high=10, seed=3),
        dict(period=1.0, high=40, rms=0.2),
        dict(period=0.0555, high=100, rms=1.5, y0=0.3, seed=8),
        dict(period=0.5, high=5, y0=-0.1),
        dict(period=0.1, high=499),
    ],
)
def test_white_signal_matches_nengo(kwargs):
    noise = WhiteSignal(period=0.2, high=20, rms=0.3)
    process = WhiteSignal(**kwargs, default_size_out=3)
    check_against_nengo(process, noise)


def test_white_signal_seed_sequence_follows_the_simulator_seed():
    """Unseeded processes draw their seeds from the simulator's random state in order, so a
    WhiteSignal after another random process gets the same seed as under nengo."""
    with nengo.Network(seed=2) as net:
        nengo.Node(WhiteNoise())
        node = nengo.Node(WhiteSignal(0.2, high=15, default_size_out=2))
        probe = nengo.Probe(node)
    data = []
    for simulator in (nengo.Simulator, Simulator):
        with simulator(net, seed=42, progress_bar=False) as sim:
            sim.run(0.3)
            first = sim.data[probe].copy()
            sim.reset(seed=43)
            sim.run(0.3)
            data.append((first, sim.data[probe]))
    for ours, reference in zip(data[1], data[0], strict=True):
        np.testing.assert_array_equal(ours, reference)
    assert not np.array_equal(data[1][0], data[1][1])


@pytest.mark.parametrize(
    "process",
    [
        WhiteNoise(default_size_out=3),
        WhiteNoise(nengo.dists.Gaussian(mean=0.5, std=3.0), scale=False, default_size_out=3),
        WhiteNoise(nengo.dists.Uniform(-2.0, 0.5), seed=4, default_size_out=3),
        WhiteNoise(nengo.dists.Uniform(1.0, 3.0), scale=False, default_size_out=3),
    ],
    ids=["default", "gaussian-unscaled", "uniform-seeded", "uniform-unscaled"],
)
def test_white_noise_matches_nengo(process):
    """Each draw of numpy's legacy RandomState stream, Gaussian pairs included (odd sizes end
    a step with a cached value), in mode "set" (node) and "inc" (ensemble noise)."""
    check_against_nengo(process, WhiteNoise(nengo.dists.Gaussian(0.1, 0.7), default_size_out=5))


def test_white_noise_with_a_coarse_step():
    check_against_nengo(WhiteNoise(), WhiteNoise(), dt=0.004)


def test_python_processes_say_why():
    with nengo.Network(seed=1) as net:
        nengo.Node(WhiteNoise(nengo.dists.Exponential(0.2)))
        nengo.Node(Piecewise({0: 1.0, 0.1: 2.0}, interpolation="linear"))
        nengo.Node(Piecewise({0: lambda t: t, 0.1: 2.0}))
        nengo.Node(PresentInput([[1.0], [2.0]], 0.01))
    with Simulator(net, progress_bar=False) as sim:
        reasons = {
            type(op.process).__name__ + ("-callable" if "callable" in reason else ""): reason
            for op, reason in sim.python_operators
            if isinstance(op, SimProcess)
        }
    assert reasons == {
        "WhiteNoise": "WhiteNoise with Exponential(scale=0.2) runs in Python",
        "Piecewise": "Piecewise with 'linear' interpolation runs in Python (scipy.interpolate)",
        "Piecewise-callable": "Piecewise with a callable value runs in Python",
    }


def test_table_process_binding_checks_its_arguments():
    program = NengoProgram()
    rows, time, out = np.zeros((3, 2)), np.zeros(()), np.zeros(2)
    program.add_table_process(
        "presentation", rows, time, (out, None), False, dt=0.001, presentation_time=0.1
    )
    program.add_table_process("periodic", rows, time, (out, None), True, dt=0.001)
    program.add_table_process(
        "piecewise", rows, time, (out, None), False, dt=0.001, times=[0.0, 0.5]
    )
    bad = [
        (("nope", rows, time, (out, None), False), dict(dt=0.001), "unknown rule"),
        (("periodic", rows, time, (out, None), False), dict(dt=0.0), "dt must be"),
        (("periodic", rows, time, (out, None), False), dict(dt=np.nan), "dt must be"),
        (("periodic", rows, time, (out, None), False), dict(dt=0.001, times=[0.0]), "neither"),
        (("periodic", np.zeros(6), time, (out, None), False), dict(dt=0.001), "rows must be 2-D"),
        (
            ("periodic", np.zeros((0, 2)), time, (out, None), False),
            dict(dt=0.001),
            "rows must have",
        ),
        (("periodic", np.zeros((2, 3)), time, (out, None), False), dict(dt=0.001), "output"),
        (("periodic", rows, np.zeros(2), (out, None), False), dict(dt=0.001), "time must be"),
        (("presentation", rows, time, (out, None), False), dict(dt=0.001), "presentation_time"),
        (
            ("presentation", rows, time, (out, None), False),
            dict(dt=0.001, presentation_time=-1.0),
            "presentation_time must be",
        ),
        (("piecewise", rows, time, (out, None), False), dict(dt=0.001, times=[0.0]), "one more"),
        (
            ("piecewise", rows, time, (out, None), False),
            dict(dt=0.001, times=[0.5, 0.0]),
            "sorted",
        ),
        (
            ("piecewise", rows, time, (out, None), False),
            dict(dt=0.001, times=[0.0, np.nan]),
            "sorted",
        ),
        (
            ("periodic", np.zeros((3, 4))[:, ::2], time, (out, None), False),
            dict(dt=0.001),
            "rows",
        ),
    ]
    for args, kwargs, message in bad:
        with pytest.raises(ValueError, match=message):
            program.add_table_process(*args, **kwargs)
    readonly = np.zeros(2)
    readonly.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        program.add_table_process("periodic", rows, time, (readonly, None), False, dt=0.001)
