"""spikeshard.nengo.Simulator against nengo's reference simulator, and its own interface."""

from __future__ import annotations

import pickle

import nengo
import numpy as np
import pytest
from nengo.builder import operator as ops
from nengo.exceptions import SimulatorClosed

from spikeshard._engine import NengoProgram
from spikeshard.errors import NetworkError
from spikeshard.nengo import Partitioner, PartitionError, Simulator


def run_both(net: nengo.Network, probes: list[nengo.Probe], run: float = 0.3, **kwargs):
    """Probe data from nengo.Simulator and spikeshard's, and spikeshard's simulator."""
    results = []
    for simulator in (nengo.Simulator, Simulator):
        with simulator(net, progress_bar=False, **kwargs) as sim:
            sim.run(run)
            results.append([sim.data[p] for p in probes])
            ours = sim
    return results[0], results[1], ours


def assert_same(reference, ours, atol=1e-9):
    """Equal up to rounding: numpy's SIMD exp/log differ from libm's by an ulp or two."""
    for expected, got in zip(reference, ours, strict=True):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=atol)


def python_op_types(sim: Simulator) -> set[str]:
    return {type(op).__name__ for op, _ in sim.python_operators}


def stimulus(t: float) -> list[float]:
    return [np.sin(8 * t), np.cos(5 * t)]


def zeros(x: np.ndarray) -> list[float]:
    return [0.0, 0.0]


def mixed_network() -> tuple[nengo.Network, list[nengo.Probe]]:
    with nengo.Network(seed=3) as net:
        stim = nengo.Node(stimulus)
        a = nengo.Ensemble(60, 2)
        b = nengo.Ensemble(50, 2, neuron_type=nengo.AdaptiveLIF())
        c = nengo.Ensemble(40, 2, neuron_type=nengo.RegularSpiking(nengo.Tanh()))
        d = nengo.Ensemble(30, 1, neuron_type=nengo.Izhikevich())
        nengo.Connection(stim, a, learning_rule_type=nengo.Voja())
        conn = nengo.Connection(a, b, learning_rule_type=nengo.PES(), function=zeros)
        err = nengo.Node(size_in=2)
        nengo.Connection(b, err)
        nengo.Connection(stim, err, transform=-1)
        nengo.Connection(err, conn.learning_rule)
        weights = np.random.RandomState(0).randn(40, 60) * 1e-4
        nengo.Connection(
            a.neurons, c.neurons, transform=weights, learning_rule_type=[nengo.BCM(), nengo.Oja()]
        )
        nengo.Connection(b, c, synapse=nengo.Alpha(0.01))
        nengo.Connection(a, c, synapse=nengo.LinearFilter([1], [0.001, 0.05, 1]))
        nengo.Connection(a[0], d, synapse=nengo.LinearFilter([0.5, 1], [0.01, 1]))
        sparse = nengo.Sparse((50, 60), indices=[[0, 1], [1, 0], [7, 9]], init=[1.0, -1.0, 0.5])
        nengo.Connection(a.neurons, b.neurons, transform=sparse)
        probes = [nengo.Probe(x, synapse=0.01) for x in (a, b, c, d)]
        probes += [
            nengo.Probe(c.neurons, sample_every=0.003),
            nengo.Probe(conn, "weights", sample_every=0.01),
            nengo.Probe(d.neurons, "voltage"),
        ]
    return net, probes


def test_every_builtin_operator_matches_nengo_and_runs_in_rust():
    net, probes = mixed_network()
    reference, ours, sim = run_both(net, probes)
    assert_same(reference, ours)
    # Only the Python function (the stimulus Node) is left to Python.
    assert python_op_types(sim) == {"SimPyFunc"}


def test_model_without_python_functions_runs_entirely_in_rust():
    with nengo.Network(seed=1) as net:
        stim = nengo.Node([0.5, -0.3])
        ensembles = [nengo.Ensemble(50, 2) for _ in range(4)]
        nengo.Connection(stim, ensembles[0])
        for pre, post in zip(ensembles, ensembles[1:] + ensembles[:1], strict=True):
            nengo.Connection(pre, post, synapse=0.005)
        probes = [nengo.Probe(e, synapse=0.01) for e in ensembles]
    reference, ours, sim = run_both(net, probes, run=0.5)
    assert_same(reference, ours)
    assert sim.python_operators == []


def test_slices_repeated_increments_and_scalar_transforms():
    with nengo.Network(seed=2) as net:
        stim = nengo.Node(lambda t: [t, 2 * t, -t])
        sink = nengo.Node(size_in=4)
        nengo.Connection(stim[[0, 0, 2]], sink[[1, 1, 3]], synapse=None)  # repeated targets
        nengo.Connection(stim[::-1], sink[:3], transform=0.5, synapse=None)
        nengo.Connection(stim[1], sink[0], transform=[[2.0]], synapse=0.002)
        ens = nengo.Ensemble(20, 3)
        nengo.Connection(stim, ens, transform=np.arange(9.0).reshape(3, 3) / 9)
        nengo.Connection(ens[1:], sink[2:], transform=-1.5)
        probes = [nengo.Probe(sink), nengo.Probe(sink[1::2]), nengo.Probe(ens, synapse=0.01)]
    reference, ours, sim = run_both(net, probes, run=0.1, optimize=False)
    assert_same(reference, ours)
    assert python_op_types(sim) == {"SimPyFunc"}


def test_float32_models_run_in_python_with_nengo_results():
    with nengo.Network(seed=5) as net:
        ens = nengo.Ensemble(20, 1)
        nengo.Connection(nengo.Node(0.3), ens)
        probe = nengo.Probe(ens, synapse=0.01)
    bits = nengo.rc.get("precision", "bits")
    nengo.rc.set("precision", "bits", "32")
    try:
        reference, ours, sim = run_both(net, [probe], run=0.1)
    finally:
        nengo.rc.set("precision", "bits", bits)
    assert ours[0].dtype == np.float32
    assert_same(reference, ours, atol=1e-6)
    assert "SimNeurons" in python_op_types(sim)


def test_reset_step_and_run_steps_follow_nengo():
    net, probes = mixed_network()
    results = []
    for simulator in (nengo.Simulator, Simulator):
        with simulator(net, seed=7, progress_bar=False) as sim:
            sim.run(0.05)
            sim.reset(seed=11)
            for _ in range(3):
                sim.step()
            sim.run_steps(20)
            assert sim.n_steps == 23
            assert sim.time == pytest.approx(0.023)
            np.testing.assert_allclose(sim.trange(), 0.001 * np.arange(1, 24))
            results.append([sim.data[p] for p in probes])
    assert_same(*results)


def test_pickled_simulator_continues_where_it_stopped():
    net, probes = mixed_network()
    with Simulator(net, progress_bar=False) as sim:
        sim.run(0.02)
        clone = pickle.loads(pickle.dumps(sim))
        sim.run(0.02)
        expected = [sim.data[p] for p in sim.model.probes]
    with clone:
        clone.run(0.02)
        # The clone has its own copies of the probes, in the same order.
        assert_same(expected, [clone.data[p] for p in clone.model.probes])
        assert len(clone.data[clone.model.probes[0]]) == 40


def test_closed_simulator_refuses_to_run():
    with nengo.Network() as net:
        nengo.Ensemble(10, 1)
    sim = Simulator(net, progress_bar=False)
    sim.close()
    for call in (lambda: sim.run(0.01), sim.step, sim.reset):
        with pytest.raises(SimulatorClosed):
            call()


def test_assignments_are_checked():
    with nengo.Network() as net:
        ens = nengo.Ensemble(10, 1)
    with pytest.raises(PartitionError, match="assignments.*component index >= 0, got -1"):
        Simulator(net, assignments={ens: -1}, progress_bar=False)
    with pytest.raises(PartitionError, match="either a partitioner or assignments"):
        Simulator(net, assignments={ens: 0}, partitioner=Partitioner(2), progress_bar=False)
    with pytest.raises(PartitionError, match="expected a spikeshard.nengo.Partitioner"):
        Simulator(net, partitioner=object(), progress_bar=False)
    with Simulator(net, assignments={ens: 0}, progress_bar=False) as sim:
        assert sim.assignments == {ens: 0}


def test_threads_give_the_same_bits():
    """Large neuron populations and products split over threads: every element is computed
    by the same arithmetic, so results do not depend on the thread count."""
    with nengo.Network(seed=3) as net:
        stim = nengo.Node(lambda t: [np.sin(8 * t), np.cos(5 * t), 0.3, -0.2])
        # Merged by nengo's optimiser: 8192 neurons, BSR encoders and decoders of 4 blocks.
        ring = [nengo.Ensemble(2048, 4) for _ in range(4)]
        nengo.Connection(stim, ring[0])
        for pre, post in zip(ring, ring[1:] + ring[:1], strict=True):
            nengo.Connection(pre, post, synapse=0.005)
        wide = nengo.Ensemble(5000, 8, neuron_type=nengo.AdaptiveLIF())  # dense 5000 x 8
        nengo.Connection(ring[2], wide[:4])
        probes = [nengo.Probe(ring[1], synapse=0.01), nengo.Probe(wide.neurons)]
    data = []
    for threads in (1, 2, 3):
        with Simulator(net, progress_bar=False, threads=threads) as sim:
            assert sim.threads == threads and sim._runtime.program.threads == threads
            sim.run(0.08)
            data.append([sim.data[p] for p in probes])
    assert data[0][1].any(), "the wide ensemble spiked"
    for other in data[1:]:
        for ours, reference in zip(other, data[0], strict=True):
            np.testing.assert_array_equal(ours, reference)


@pytest.mark.parametrize(
    "threads, text", [(0, "threads = 0"), (True, "threads = True"), (2.0, "threads = 2.0"),
                      (5000, "threads = 5000: expected at most")]
)
def test_bad_thread_counts_are_refused(threads, text):
    with nengo.Network() as net:
        nengo.Ensemble(10, 1)
    with pytest.raises(NetworkError, match=text):
        Simulator(net, progress_bar=False, threads=threads)


def test_threads_default_to_the_environment(monkeypatch):
    with nengo.Network() as net:
        nengo.Ensemble(10, 1)
    monkeypatch.delenv("SPIKESHARD_THREADS", raising=False)
    with Simulator(net, progress_bar=False) as sim:
        assert sim.threads == 1
    monkeypatch.setenv("SPIKESHARD_THREADS", "2")
    with Simulator(net, progress_bar=False) as sim:
        assert sim.threads == 2
    monkeypatch.setenv("SPIKESHARD_THREADS", "two")
    with pytest.raises(NetworkError, match="SPIKESHARD_THREADS = 'two'"):
        Simulator(net, progress_bar=False)
    with pytest.raises(ValueError, match="threads = 0"):
        NengoProgram(threads=0)


def test_mpirun_without_the_launcher_is_refused_naming_it(monkeypatch):
    from spikeshard.errors import UnsupportedError

    with nengo.Network() as net:
        nengo.Ensemble(10, 1)
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    with pytest.raises(UnsupportedError, match="mpirun -np N python -m spikeshard.nengo"):
        Simulator(net, progress_bar=False)


def test_python_m_spikeshard_runs_nengo_scripts_on_spikeshard(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "model.py"
    script.write_text(
        "import nengo\n"
        "with nengo.Network(seed=0) as net:\n"
        "    ens = nengo.Ensemble(20, 1)\n"
        "    nengo.Connection(nengo.Node(0.5), ens)\n"
        "    probe = nengo.Probe(ens, synapse=0.01)\n"
        "with nengo.Simulator(net, progress_bar=False) as sim:\n"
        "    sim.run(0.1)\n"
        "print(type(sim).__module__, sim.data[probe].shape, sim.python_operators)\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "spikeshard", str(script)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "spikeshard.nengo.simulator (100, 1) []"


def test_program_rejects_operands_outside_their_arrays():
    program = NengoProgram()
    src, dst = np.zeros(4), np.zeros(4)
    with pytest.raises(IndexError, match="offset 4 outside"):
        program.add_copy((src, np.array([0, 4])), (dst, np.array([0, 1])), False)
    with pytest.raises(ValueError, match="Copy: 3 elements where 4"):
        program.add_copy((src, np.array([0, 1, 2])), (dst, None), False)
    readonly = np.zeros(4)
    readonly.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        program.add_reset((readonly, None), 1.0)
    with pytest.raises(ValueError, match="DotInc Y: 3 elements where 2"):
        program.add_dot_inc(np.zeros((2, 4)), (src, None), (np.zeros(3), None))
    with pytest.raises(ValueError, match="Bogus"):
        program.add_neurons("Bogus", [], 0.001, src, dst, [])
    with pytest.raises(ValueError, match="period must be > 0"):
        program.add_probe((src, None), float("nan"))


def test_program_steps_strided_views_in_place():
    program = NengoProgram()
    base = np.arange(12.0).reshape(3, 4)
    column = base[:, 1]  # strided view
    target = np.zeros(3)
    from spikeshard.nengo.operands import operand

    program.add_copy(operand(column), (target, None), True)
    program.add_reset(operand(base[::2, ::3]), -1.0)
    program.run_steps(2)
    np.testing.assert_array_equal(target, 2 * np.array([1.0, 5.0, 9.0]))
    np.testing.assert_array_equal(base[::2, ::3], -1.0)
    assert base[1, 1] == 5.0


def test_unsupported_operators_are_named_with_a_reason():
    with nengo.Network(seed=0) as net:
        ens = nengo.Ensemble(10, 1, neuron_type=nengo.PoissonSpiking(nengo.LIFRate()))
        nengo.Connection(nengo.Node(0.5), ens)
        probe = nengo.Probe(ens, synapse=0.01)
    reference, ours, sim = run_both(net, [probe], run=0.1)
    assert_same(reference, ours)
    reasons = dict((type(op).__name__, reason) for op, reason in sim.python_operators)
    assert "PoissonSpiking" in reasons["SimNeurons"]


def test_lowered_operator_types_are_the_issue_list():
    from spikeshard.nengo.lowering import LOWERINGS

    for op_type in (ops.Reset, ops.Copy, ops.ElementwiseInc, ops.DotInc, ops.SparseDotInc):
        assert op_type in LOWERINGS
    assert ops.SimPyFunc not in LOWERINGS
