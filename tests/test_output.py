"""Result files: Network.run(output=...) and Monitor.save write HDF5 that spikeshard.load
reads back exactly; a run killed with SIGKILL loads up to its last flush, one ended with
SIGTERM up to the moment it received it; monitors convert to neo objects."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import spikeshard as ss
from spikeshard.errors import NetworkError, SimulationError, UnsupportedError
from spikeshard.models import LIF, LIFDelta
from spikeshard.monitors import RecordingContext

h5py = pytest.importorskip("h5py")
DT = 1e-4
REPO = Path(__file__).resolve().parents[1]


def network(seed: int = 5):
    """Two populations with every kind of monitor (as the kill scripts below build it)."""
    exc = ss.Population(LIFDelta, 60, label="exc", initial={"v": ss.Uniform(-70.0, -56.0)})
    inh = ss.Population(LIF, 20, label="inh", params={"i_e": 360.0})
    monitors = [
        ss.SpikeMonitor(exc), ss.SpikeMonitor(inh, record=[0, 3, 19]),
        ss.StateMonitor(exc, ["v", "refractory"], record=[2, 40, 7], interval=0.0005),
        ss.StateMonitor(inh, ["i_syn_ex"], record=True, label="inh_currents"),
        ss.RateMonitor(exc, bin_width=0.002),
    ]
    objects = [exc, inh, ss.PoissonInput(exc, rate_hz=4000.0, weight=1.0),
               ss.Projection(exc, inh, weight=20.0, topology="random", probability=0.3,
                             delay=0.001)]
    return ss.Network(*objects, *monitors, seed=seed), monitors


def assert_matches(results: ss.Results, monitors: list, t_stop: float | None = None) -> None:
    """The file holds what the monitors hold (up to ``t_stop`` s when given)."""
    for mon in monitors:
        if isinstance(mon, ss.SpikeMonitor):
            times, ids = results.spikes[mon.name]
            keep = mon.times <= (np.inf if t_stop is None else t_stop + 1e-12)
            np.testing.assert_array_equal(times, mon.times[keep])
            np.testing.assert_array_equal(ids, mon.ids[keep])
        elif isinstance(mon, ss.StateMonitor):
            traces = results.traces[mon.name]
            keep = mon.t <= (np.inf if t_stop is None else t_stop + 1e-12)
            np.testing.assert_array_equal(traces.ids, mon.held_ids)
            for var in mon.variables:
                t, values = traces[var]
                np.testing.assert_array_equal(t, mon.t[keep])
                np.testing.assert_array_equal(values, mon.traces[var][keep])
        else:
            t, rate = results.rates[mon.name]
            n = len(rate) if t_stop is None else int(np.floor(t_stop / mon.bin_width + 1e-9))
            assert len(rate) == n
            np.testing.assert_array_equal(rate, mon.rate[:n])
            np.testing.assert_allclose(t, mon.t[:n])


def test_output_file_loads_back_exactly(tmp_path, backend):
    net, monitors = network()
    path = tmp_path / "run.h5"
    net.run(0.03, dt=DT, backend=backend, output=path, flush_every=0.007, progress=False)
    net.run(0.02, output=path, flush_every=0.007, progress=False)
    results = ss.load(path)
    assert results.t_stop == pytest.approx(0.05)
    assert_matches(results, monitors)
    assert monitors[0].count > 50 and results.spikes["exc"][0].size == monitors[0].count
    # Closed parts: one per flush and one at the end of each run.
    parts = sorted((tmp_path / "run.h5.parts" / "rank00000").glob("*.h5"))
    assert len(parts) == 9 and not list(tmp_path.rglob("*.tmp"))


def test_the_file_says_what_produced_it(tmp_path):
    net, monitors = network(seed=11)
    path = tmp_path / "run.h5"
    net.run(0.01, dt=DT, output=str(path), progress=False)
    results = ss.load(path)
    assert results.seed == 11 and results.dt == DT and results.n_ranks == 1
    description = results.description
    exc = description["populations"][0]
    assert (exc["name"], exc["model"], exc["n"]) == ("exc", "LIFDelta", 60)
    assert exc["params"]["tau_m"] == 0.01 and exc["units"]["tau_m"] == "s"
    assert description["populations"][1]["params"]["i_e"] == 360.0
    (projection,) = description["projections"]
    assert (projection["pre"], projection["post"], projection["probability"]) == (
        "exc", "inh", 0.3)
    assert projection["weight"] == 20.0 and projection["weight_unit"] == "pA"
    assert projection["delay_s"] == 0.001
    assert description["versions"]["spikeshard"] == ss.__version__
    assert "h5py" in description["versions"]
    assert [m["kind"] for m in description["monitors"]] == [
        "SpikeMonitor", "SpikeMonitor", "StateMonitor", "StateMonitor", "RateMonitor"]
    # SONATA's spike layout, with units as attributes.
    with h5py.File(tmp_path / "run.h5.parts" / "rank00000" / "part000000.h5") as part:
        spikes = part["spikes/exc"]
        assert spikes.attrs["sorting"] == "by_time"
        assert spikes["timestamps"].attrs["units"] == "s"
        assert spikes["node_ids"].dtype.kind == "i"
        assert part["traces/exc/v"].attrs["units"] == "mV"
        assert part["traces/exc/v"].shape == (20, 3)
    with h5py.File(path) as index:
        assert json.loads(index.attrs["description"])["seed"] == 11
    assert results.traces["exc"].units == {"v": "mV", "refractory": "steps"}


def test_a_new_output_path_starts_a_new_file_and_reset_starts_over(tmp_path):
    net, monitors = network()
    net.run(0.01, dt=DT, output=tmp_path / "a.h5", progress=False)
    net.run(0.01, output=tmp_path / "b.h5", progress=False)
    assert ss.load(tmp_path / "a.h5").t_stop == pytest.approx(0.01)
    b = ss.load(tmp_path / "b.h5")
    assert b.t_stop == pytest.approx(0.02)
    assert b.spikes["exc"][0].min() > 0.01  # only the second run
    net.reset()
    net.run(0.005, dt=DT, output=tmp_path / "a.h5", progress=False)
    again = ss.load(tmp_path / "a.h5")
    assert again.t_stop == pytest.approx(0.005)
    assert_matches(again, monitors)


def test_monitors_sharing_a_name_cannot_share_a_file(tmp_path):
    pop = ss.Population(LIF, 3, label="p")
    net = ss.Network(pop, ss.SpikeMonitor(pop), ss.SpikeMonitor(pop, record=[1]))
    with pytest.raises(NetworkError, match="would both be written as 'spikes/p'"):
        net.run(0.001, dt=DT, output=tmp_path / "x.h5", progress=False)


@pytest.mark.parametrize("kind", [0, 2, 4])
def test_a_saved_monitor_loads_back(tmp_path, kind):
    net, monitors = network()
    net.run(0.02, dt=DT, progress=False)
    monitor = monitors[kind]
    monitor.save(tmp_path / "mon.h5")
    results = ss.load(tmp_path / "mon.h5")
    assert results.t_stop == pytest.approx(0.02)
    assert results.description["seed"] == 5
    assert_matches(results, [monitor])


def test_save_where_the_data_are_not_is_refused(tmp_path):
    pop = ss.Population(LIF, 4)
    mon = ss.SpikeMonitor(pop)
    mon.bind(RecordingContext(dt=DT, rank=1, n_ranks=2, owned_ids=np.arange(2, 4)))
    with pytest.raises(SimulationError, match=r"save\(\): the data were gathered on rank 0"):
        mon.save(tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()


def test_without_h5py_files_are_refused_clearly(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    net, _ = network()
    with pytest.raises(UnsupportedError, match=r"pip install 'spikeshard\[hdf5\]'"):
        net.run(0.001, dt=DT, output=tmp_path / "x.h5", progress=False)
    with pytest.raises(UnsupportedError, match="needs h5py"):
        ss.load(tmp_path / "x.h5")


def test_bad_output_arguments(tmp_path):
    net, _ = network()
    with pytest.raises(NetworkError, match="output = 3"):
        net.run(0.001, dt=DT, output=3)
    with pytest.raises(NetworkError, match="flush_every = 0.0"):
        net.run(0.001, dt=DT, output=tmp_path / "x.h5", flush_every=0.0)
    (tmp_path / "plain.h5").write_bytes(b"not hdf5")
    with pytest.raises(ss.results.ResultFileError, match="cannot open it as HDF5"):
        ss.load(tmp_path / "plain.h5")


# ------------------------------------------------------------------ killed runs

#: The killed runs use the numpy engine: slow enough (about a model second per second) that
#: a signal sent after a moment arrives mid-run.
KILLED_SCRIPT = """
import sys
sys.path.insert(0, {repo!r})
from tests.test_output import network
net, monitors = network()
net.run({duration}, dt=1e-4, backend="numpy", output={path!r}, flush_every={flush_every},
        progress=False)
"""


def _start(tmp_path: Path, duration: float, flush_every: float) -> subprocess.Popen:
    script = tmp_path / "long.py"
    script.write_text(KILLED_SCRIPT.format(repo=str(REPO), duration=duration,
                                           path=str(tmp_path / "run.h5"),
                                           flush_every=flush_every))
    return subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_parts(tmp_path: Path, process: subprocess.Popen, n: int) -> None:
    folder = tmp_path / "run.h5.parts" / "rank00000"
    deadline = time.monotonic() + 120
    while len(list(folder.glob("part*.h5"))) < n:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no flush within two minutes"
        time.sleep(0.05)


def _reference(t_stop: float) -> list:
    net, monitors = network()
    net.run(round(t_stop, 9), dt=DT, backend="numpy", progress=False)
    return monitors


def test_a_run_killed_with_sigkill_loads_up_to_its_last_flush(tmp_path):
    process = _start(tmp_path, duration=100.0, flush_every=0.01)
    _wait_for_parts(tmp_path, process, 3)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    results = ss.load(tmp_path / "run.h5")
    # Whole flushes only: a multiple of 10 ms, at least the three parts seen.
    assert results.t_stop >= 0.03 - 1e-12
    assert results.t_stop / 0.01 == pytest.approx(round(results.t_stop / 0.01))
    assert_matches(results, _reference(results.t_stop), t_stop=results.t_stop)


def test_sigterm_writes_what_the_run_has_before_the_process_ends(tmp_path):
    process = _start(tmp_path, duration=100.0, flush_every=50.0)
    folder = tmp_path / "run.h5.parts" / "rank00000"
    deadline = time.monotonic() + 120
    while not folder.exists():
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # let it run well past the start
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGTERM
    results = ss.load(tmp_path / "run.h5")
    # No regular flush came (every 50 s): this is what SIGTERM made it write.
    assert 0.0 < results.t_stop < 50.0
    assert_matches(results, _reference(results.t_stop), t_stop=results.t_stop)


# ------------------------------------------------------------------ neo


neo = pytest.importorskip("neo")


def test_monitors_convert_to_neo_with_units():
    import quantities as pq

    net, monitors = network()
    net.run(0.02, dt=DT, progress=False)
    spikes, part, state, currents, rate = monitors
    trains = spikes.to_neo()
    assert len(trains) == 60
    for train in trains:
        neuron = train.annotations["id"]
        np.testing.assert_array_equal(train.times.rescale(pq.s).magnitude,
                                      spikes.times[spikes.ids == neuron])
        assert train.t_stop == 0.02 * pq.s and train.annotations["population"] == "exc"
    assert [t.annotations["id"] for t in part.to_neo()] == [0, 3, 19]
    v, refractory = state.to_neo()
    assert v.units == pq.mV and v.shape == (40, 3)
    np.testing.assert_array_equal(v.magnitude, state.v)
    np.testing.assert_array_equal(v.array_annotations["id"], [2, 7, 40])
    assert v.sampling_period == 0.0005 * pq.s and v.t_start == 0.0005 * pq.s
    assert refractory.units == pq.dimensionless
    (current,) = currents.to_neo()
    assert current.units == pq.pA
    signal_ = rate.to_neo()
    assert signal_.units == pq.Hz and signal_.shape == (10, 1)
    np.testing.assert_array_equal(signal_.magnitude[:, 0], rate.rate)


def test_neo_objects_survive_neo_io(tmp_path):
    import quantities as pq

    net, monitors = network()
    net.run(0.02, dt=DT, progress=False)
    block = neo.Block()
    segment = neo.Segment()
    block.segments.append(segment)
    segment.spiketrains.extend(monitors[0].to_neo())
    segment.analogsignals.extend(monitors[2].to_neo())
    try:
        from neo.io import NixIO
    except ImportError:  # nixio not installed: neo's own pickle IO
        from neo.io import PickleIO as NixIO  # type: ignore[assignment]
    path = str(tmp_path / "spikes.nix")
    with NixIO(path, "ow") as io:
        io.write_block(block)
    with NixIO(path, "ro") as io:
        read = io.read_block()
    trains = read.segments[0].spiketrains
    assert len(trains) == 60
    total = sum(len(t) for t in trains)
    assert total == monitors[0].count
    back = np.sort(np.concatenate([t.rescale(pq.s).magnitude for t in trains]))
    np.testing.assert_allclose(back, np.sort(monitors[0].times))
    v = read.segments[0].analogsignals[0]
    np.testing.assert_array_equal(v.magnitude, monitors[2].v)
    assert v.units == pq.mV


def test_a_million_spikes_convert_from_arrays():
    pop = ss.Population(LIF, 2000)
    mon = ss.SpikeMonitor(pop)
    mon.bind(RecordingContext(dt=DT, rank=0, n_ranks=1, owned_ids=np.arange(2000)))
    rng = np.random.default_rng(0)
    times = np.sort(rng.uniform(0.0, 10.0, 1_000_000))
    ids = rng.integers(0, 2000, 1_000_000)
    order = np.lexsort((ids, times))
    mon.add_run(10.0, 1_000_000, (times[order], ids[order]))
    trains = mon.to_neo()
    assert len(trains) == 2000 and sum(len(t) for t in trains) == 1_000_000
    np.testing.assert_array_equal(trains[17].magnitude, times[order][ids[order] == 17])


def test_to_neo_without_neo_is_refused_clearly(monkeypatch):
    monkeypatch.setitem(sys.modules, "neo", None)
    mon = ss.SpikeMonitor(ss.Population(LIF, 2))
    with pytest.raises(UnsupportedError, match=r"pip install 'spikeshard\[neo\]'"):
        mon.to_neo()


def test_run_restores_the_sigterm_handler_it_installs(tmp_path):
    def mine(signum, frame):
        raise AssertionError("not called")

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        net, _ = network()
        net.run(0.002, dt=DT, output=tmp_path / "x.h5", progress=False)
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)
