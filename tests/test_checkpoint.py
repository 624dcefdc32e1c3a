"""Checkpoints in one process: a run saved half-way and restored into the network declared
again continues bit for bit (both engines, a user's numpy model, other thread counts), and
checkpoints of other networks, versions and formats are refused. Across rank counts:
tests/mpi/test_mpi_checkpoint.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import spikeshard as ss
from spikeshard.errors import NetworkError, SimulationError
from tests.helpers import NumpyOnly, esc

DT = 1e-4
T = 0.06
HALF = 0.03


def declare(backend_model: str = "rust", threads: int = 1, weight: float = 60.0,
            seed: int = 5, rate_bin: float | None = None) -> tuple[ss.Network, list]:
    """LIF (refractory, delays of 1 to 12 steps, Poisson input, Poisson sources) and, with
    ``backend_model="user"``, a user's numpy model in between."""
    init = {"v": ss.Uniform(-70.0, -52.0)}
    exc = ss.Population(ss.models.LIF, 120, label="exc", initial=init,
                        params={"t_ref": 0.002, "i_e": 370.0})
    inh = ss.Population(ss.models.LIF, 30, label="inh", initial=init,
                        params={"i_e": 300.0})
    src = ss.Population(ss.models.PoissonSource, 40, label="src", params={"rate_hz": 50.0})
    objects: list = [
        exc, inh, src,
        ss.Projection(exc, exc, weight=weight, topology="random", probability=0.1,
                      delay=ss.Uniform(1e-4, 1.2e-3)),
        ss.Projection(exc, inh, weight=weight, topology="fixed_indegree", indegree=10,
                      delay=5e-4),
        ss.Projection(inh, exc, weight=-4 * weight, topology="random", probability=0.2,
                      delay=ss.Normal(6e-4, 2e-4, low=2e-4)),
        ss.Projection(src, exc, weight=weight, topology="random", probability=0.1,
                      delay=3e-4),
        ss.PoissonInput(exc, rate_hz=2000.0, weight=40.0),
    ]
    if backend_model == "user":
        acc = ss.Population(NumpyOnly, 20, label="acc", initial={"v": np.linspace(0, 0.9, 20)})
        objects += [acc,
                    ss.Projection(exc, acc, weight=1.0, topology="random", probability=0.2,
                                  delay=7e-4),
                    ss.Projection(acc, inh, weight=200.0, topology="random", probability=0.3,
                                  delay=4e-4)]
    monitors: list = [ss.SpikeMonitor(exc), ss.SpikeMonitor(inh),
                      ss.StateMonitor(exc, variables=["v", "i_syn_in"], record=[0, 7, 99])]
    if backend_model == "user":
        monitors.append(ss.SpikeMonitor(objects[-3]))
    if rate_bin is not None:
        monitors.append(ss.RateMonitor(exc, bin_width=rate_bin))
    return ss.Network(*objects, *monitors, seed=seed, threads=threads), monitors


def after(monitor: ss.SpikeMonitor, t: float) -> tuple[np.ndarray, np.ndarray]:
    times, ids = monitor.spikes
    keep = times > t + 1e-12  # a spike in step s is at (s + 1) dt
    return times[keep], ids[keep]


@pytest.mark.filterwarnings("ignore::spikeshard.PerformanceWarning")  # the user's model
@pytest.mark.parametrize(("model", "backend"),
                         [("rust", "rust"), ("rust", "numpy"), ("user", "auto")])
def test_a_restored_run_continues_bit_for_bit(tmp_path: Path, model: str, backend: str):
    reference, ref_monitors = declare(model)
    reference.run(T, dt=DT, backend=backend, progress=False)
    assert all(m.count > 20 for m in ref_monitors if isinstance(m, ss.SpikeMonitor)), (
        [m.count for m in ref_monitors if isinstance(m, ss.SpikeMonitor)])

    first, _ = declare(model, threads=2)
    first.run(HALF, dt=DT, backend=backend, progress=False)
    first.save_state(tmp_path / "ckpt")
    restored, monitors = declare(model, threads=1)
    restored.restore_state(tmp_path / "ckpt", backend=backend)
    assert restored.t == pytest.approx(HALF) and restored.dt == DT
    restored.run(T - HALF, progress=False)

    for mon, ref in zip(monitors, ref_monitors, strict=True):
        if isinstance(mon, ss.SpikeMonitor):
            times, ids = mon.spikes
            ref_times, ref_ids = after(ref, HALF)
            assert len(ref_times) > 5
            np.testing.assert_array_equal(times, ref_times)
            np.testing.assert_array_equal(ids, ref_ids)
            assert mon.count == len(ref_times)
        else:
            keep = ref.t > HALF + 1e-12
            np.testing.assert_array_equal(mon.t, ref.t[keep])
            for var in mon.variables:
                np.testing.assert_array_equal(mon.traces[var], ref.traces[var][keep])
    for pop in restored.populations:
        for var in pop.model.state_names():
            np.testing.assert_array_equal(
                restored.get_state(pop, var),
                reference.get_state(next(p for p in reference.populations
                                         if p.label == pop.label), var))


def test_a_rate_monitor_continues_from_a_bins_edge_and_refuses_to_split_one(tmp_path: Path):
    reference, ref_monitors = declare(rate_bin=0.005)
    reference.run(T, dt=DT, progress=False)
    first, _ = declare(rate_bin=0.005)
    first.run(HALF, dt=DT, progress=False)
    first.save_state(tmp_path / "edge")
    restored, monitors = declare(rate_bin=0.005)
    restored.restore_state(tmp_path / "edge")
    restored.run(T - HALF, progress=False)
    rate, ref_rate = monitors[-1], ref_monitors[-1]
    assert len(rate.rate) == 6 and ref_rate.rate[6:].sum() > 0
    np.testing.assert_array_equal(rate.rate, ref_rate.rate[6:])
    np.testing.assert_allclose(rate.t, ref_rate.t[6:])

    split, _ = declare(rate_bin=0.004)
    with pytest.raises(SimulationError, match=esc("the checkpoint's t = 0.03 s falls inside "
                                                  "a bin (bins of 0.004 s from start = 0.0 s)")):
        split.restore_state(tmp_path / "edge")
    assert not split.is_built


def test_checkpoints_of_other_networks_versions_and_formats_are_refused(tmp_path: Path):
    net, _ = declare()
    net.run(0.005, dt=DT, progress=False)
    net.save_state(tmp_path / "c")
    index = json.loads((tmp_path / "c" / "index.json").read_text())
    assert index["step"] == 50 and index["ranks"] == 1
    for other in (declare(weight=61.0)[0], declare(seed=6)[0]):
        with pytest.raises(SimulationError, match="is of another network"):
            other.restore_state(tmp_path / "c")
    # Monitors may differ.
    declare(rate_bin=0.001)[0].restore_state(tmp_path / "c")

    with pytest.raises(SimulationError, match=esc("restore_state: the network has run "
                                                  "(t = 0.005 s)")):
        net.restore_state(tmp_path / "c")
    net.reset()
    net.restore_state(tmp_path / "c")
    assert net.t == pytest.approx(0.005)

    index["spikeshard"] = "0.0.1"
    (tmp_path / "c" / "index.json").write_text(json.dumps(index))
    with pytest.raises(SimulationError, match=esc("was written by spikeshard 0.0.1, this is "
                                                  f"{ss.__version__}")):
        declare()[0].restore_state(tmp_path / "c")
    index["format"] = 99
    (tmp_path / "c" / "index.json").write_text(json.dumps(index))
    with pytest.raises(SimulationError, match="has format 99"):
        declare()[0].restore_state(tmp_path / "c")
    with pytest.raises(SimulationError, match="no checkpoint there"):
        declare()[0].restore_state(tmp_path / "nothing")
    with pytest.raises(NetworkError, match=esc("path = 3: expected a directory path")):
        declare()[0].restore_state(3)  # type: ignore[arg-type]
    with pytest.raises(SimulationError, match="not built yet"):
        declare()[0].save_state(tmp_path / "d")


def test_saving_again_replaces_the_checkpoint(tmp_path: Path):
    net, _ = declare()
    net.run(0.002, dt=DT, progress=False)
    net.save_state(tmp_path / "c")
    net.run(0.002, progress=False)
    net.save_state(tmp_path / "c")
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [
        "index.json", "step40-rank0of1.npz"]
    again, _ = declare()
    again.restore_state(tmp_path / "c")
    assert again.t == pytest.approx(0.004)
