"""Watching a run: the progress bar and its summary line (rank 0, stderr, in order with the
script's own output), the timers per phase and rank, spikeshard.report, and the CLI's info."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import spikeshard as ss
from spikeshard.__main__ import info
from spikeshard.models import LIFDelta
from spikeshard.simulate import summary_line
from spikeshard.timing import Timers, format_report, imbalance

DT = 1e-4


def driven(n: int = 40):
    pop = ss.Population(LIFDelta, n, label="exc", initial={"v": ss.Uniform(-70.0, -56.0)})
    mon = ss.SpikeMonitor(pop)
    net = ss.Network(pop, ss.PoissonInput(pop, rate_hz=4000.0, weight=1.0), mon, seed=2)
    return net, mon


def test_the_summary_line_names_model_time_wall_time_speed_spikes_and_rate():
    line = summary_line(2.0, 4.0, 1000, 50)
    assert line == ("spikeshard: 2 s of model time in 4 s (0.5x real time), 1000 spikes, "
                    "mean rate 10 Hz over 50 neurons")


def test_progress_true_leaves_a_summary_with_the_networks_spikes(capsys):
    net, mon = driven()
    net.run(0.02, dt=DT, progress=True)
    err = capsys.readouterr().err
    last = err.splitlines()[-1]
    match = re.fullmatch(r"spikeshard: 0\.02 s of model time in ([\d.e+-]+) s \(([\d.e+-]+)x "
                         r"real time\), (\d+) spikes, mean rate ([\d.e+-]+) Hz over 40 neurons",
                         last)
    assert match, last
    # Every spike of the network (here the monitor sees them all).
    assert int(match[3]) == mon.count > 0
    assert float(match[4]) == pytest.approx(mon.count / (40 * 0.02), rel=1e-2)


SCRIPT = """
import spikeshard as ss
pop = ss.Population(ss.models.LIFDelta, 20, initial={"v": ss.Uniform(-70.0, -56.0)})
net = ss.Network(pop, ss.PoissonInput(pop, rate_hz=4000.0, weight=1.0))
print("before the run")
net.run(0.05, dt=1e-4, progress=True)
print("after the run")
"""


def test_bar_and_summary_come_between_the_scripts_own_lines(tmp_path: Path):
    """stdout and stderr into one pipe, as a terminal or a job log sees them: the summary
    comes after what was printed before the run and before what is printed after it."""
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120)
    assert done.returncode == 0, done.stdout
    lines = [line.split("\r")[-1] for line in done.stdout.splitlines()]
    lines = [line for line in lines if line.strip()]
    assert lines[0] == "before the run"
    assert lines[-1] == "after the run"
    assert lines[-2].startswith("spikeshard: 0.05 s of model time in ")


def test_timers_count_each_phase_of_this_rank():
    net, mon = driven()
    assert net.timers == Timers()
    net.run(0.05, dt=DT, progress=False)
    timers = net.timers
    assert timers.build > 0 and timers.update > 0 and timers.recording > 0
    assert timers.exchange == 0.0  # one process
    assert timers.model_time == pytest.approx(0.05)
    assert timers.spikes == mon.count
    assert timers.update + timers.delivery + timers.recording <= timers.run
    net.run(0.05, progress=False)
    assert net.timers.model_time == pytest.approx(0.1) and net.timers.spikes == mon.count
    (same,) = net.timers_per_rank
    assert same == net.timers
    # The property hands out a copy: changing it changes nothing.
    net.timers.update = -1.0
    assert net.timers.update > 0


def test_report_shows_every_phase_of_every_rank_with_the_imbalance():
    net, _ = driven()
    net.run(0.02, dt=DT, progress=False)
    text = ss.report(net)
    for phase in ("build", "update", "delivery", "exchange", "recording", "spikes"):
        assert re.search(rf"^{phase}\s", text, re.MULTILINE), phase
    assert "imbalance" in text and "rank 0" in text
    table = format_report([Timers(update=1.0, spikes=10), Timers(update=3.0, spikes=30)], 100)
    assert re.search(r"^update\s+1\.000s\s+3\.000s\s+1\.50$", table, re.MULTILINE), table
    assert imbalance([1.0, 3.0]) == 1.5 and imbalance([0.0, 0.0]) == 0.0


def test_the_engines_count_spikes_and_time_alike(backend):
    net, mon = driven()
    net.run(0.03, dt=DT, backend=backend, progress=False)
    assert net.timers.spikes == mon.count > 0
    assert net.timers.update > 0


def test_info_names_what_it_prints():
    text = info()
    import mpi4py

    assert f"mpi4py: {mpi4py.__version__}" in text
    assert re.search(r"^MPI standard: \d+\.\d+$", text, re.MULTILINE)
    assert re.search(r"^MPI library: .+", text, re.MULTILINE)
    assert re.search(r"^threads per rank: \d+ \(", text, re.MULTILINE)
    assert "\x00" not in text


def test_info_says_where_the_thread_count_comes_from(monkeypatch):
    monkeypatch.setenv("SPIKESHARD_THREADS", "3")
    assert "threads per rank: 3 (SPIKESHARD_THREADS=3)" in info()


def test_version_flag():
    done = subprocess.run([sys.executable, "-m", "spikeshard", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"spikeshard {ss.__version__}"


def test_recording_bytes_are_zero_before_a_build():
    net, _ = driven()
    assert net.recording_bytes == 0
    net.run(0.01, dt=DT, progress=False)
    assert net.recording_bytes > 0
    assert np.isfinite(net.recording_bytes)
