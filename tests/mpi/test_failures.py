"""No MPI job hangs: a rank that leaves early (sys.exit, a return after catching an error,
a skipped collective, an exception before building) ends the job within seconds with a
message naming it, under every launcher (the nengo launcher's own cases included); ranks
that ask for different things raise on every rank. The jobs of all cases start at once
(each needs its own mpirun: it ends the job)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from spikeshard.__main__ import mpirun_command
from tests.mpi.misbehaving import CASES, NENGO_CASES, small_network

pytestmark = pytest.mark.mpi
SCRIPT = Path(__file__).parent / "misbehaving.py"
#: How a script is started: plain python, python -m spikeshard, the spikeshard CLI.
LAUNCHERS = ("plain", "module", "cli")
#: The cases under the nengo launcher, and what their message must say.
NENGO_MESSAGES = {
    "nengo_exit": "rank 0 called sys.exit(3)",
    "nengo_early": "rank 0's nengo script fails before building",
    "nengo_network": "python -m spikeshard.nengo runs the script on rank 0 only",
}
#: The longest a job may take to end after its rank 1 left (s).
ENDS_WITHIN_S = 10.0
#: What the message of each case must say (besides naming rank 1).
MESSAGES = {
    "exit": "rank 1 called sys.exit(3)",
    "return": "rank 1 reached the end of its script",
    "skip": "rank 0 waits in 'get_state'",
    "early": "rank 1 fails before building",
}


@dataclass
class Job:
    returncode: int
    output: str
    ended_at: float


def command(launcher: str, *args: str) -> tuple[list[str], dict[str, str] | None]:
    if launcher == "nengo":
        return mpirun_command(["-np", "2", "--oversubscribe", sys.executable, "-m",
                               "spikeshard.nengo", str(SCRIPT), *args])
    if launcher == "cli":
        return [sys.executable, "-m", "spikeshard", "mpirun", "-np", "2", str(SCRIPT),
                *args], None
    program = [sys.executable, str(SCRIPT)] if launcher == "plain" else \
        [sys.executable, "-m", "spikeshard", str(SCRIPT)]
    return mpirun_command(["-np", "2", "--oversubscribe", *program, *args])


def launch(launcher: str, *args: str) -> Job:
    argv, env = command(launcher, *args)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    return Job(done.returncode, done.stdout + done.stderr, time.time())


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Job]:
    out = tmp_path_factory.mktemp("failures")
    runs = [(case, launcher) for case in CASES for launcher in LAUNCHERS]
    runs += [(case, "nengo") for case in NENGO_CASES]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {run: pool.submit(launch, run[1], run[0]) for run in runs}
        futures["recoverable", "cli"] = pool.submit(launch, "cli", "recoverable", str(out))
        done = {run: future.result() for run, future in futures.items()}
    done["recoverable", "cli"].output += f"\nOUT {out}"
    return done


@pytest.mark.parametrize("launcher", LAUNCHERS)
@pytest.mark.parametrize("case", list(CASES))
def test_a_rank_that_leaves_ends_the_job_with_a_message(jobs, case: str, launcher: str):
    job = jobs[case, launcher]
    assert job.returncode != 0, job.output[-3000:]
    assert MESSAGES[case] in job.output, job.output[-3000:]
    assert "rank 1" in job.output
    left_at = float(re.search(r"LEAVING AT ([0-9.]+)", job.output).group(1))
    assert job.ended_at - left_at < ENDS_WITHIN_S


@pytest.mark.parametrize("case", list(NENGO_CASES))
def test_under_the_nengo_launcher_rank_zero_ends_the_job_with_a_message(jobs, case: str):
    job = jobs[case, "nengo"]
    assert job.returncode != 0, job.output[-3000:]
    assert NENGO_MESSAGES[case] in job.output, job.output[-3000:]
    left_at = float(re.search(r"LEAVING AT ([0-9.]+)", job.output).group(1))
    assert job.ended_at - left_at < ENDS_WITHIN_S


def test_the_exit_status_of_the_leaving_rank_is_the_jobs(jobs):
    for launcher in LAUNCHERS:
        assert jobs["exit", launcher].returncode == 3
    assert jobs["nengo_exit", "nengo"].returncode == 3


def test_ranks_that_ask_for_different_things_raise_on_every_rank(jobs):
    job = jobs["recoverable", "cli"]
    assert job.returncode == 0, job.output[-3000:]
    for check in ("durations", "skipped collective", "zero steps on one rank", "backend"):
        assert job.output.count(f"OK {check}:") == 2, (check, job.output[-3000:])
    assert "rank 0: 'get_state', rank 1: 'run'" in job.output
    assert "OK rank 0 finished last" in job.output


def test_ranks_with_different_thread_counts_give_the_spikes_of_one_process(jobs):
    out = Path(re.search(r"OUT (.+)", jobs["recoverable", "cli"].output).group(1))
    net, _, mon = small_network(threads=1)
    net.run(0.05, dt=1e-4, backend="rust", progress=False)
    gathered = np.load(out / "threads.npy")
    assert gathered.shape[1] > 50
    np.testing.assert_array_equal(gathered, np.stack(mon.spikes))


def test_spikeshard_mpirun_ranks_listen_on_loopback_only(jobs):
    assert jobs["recoverable", "cli"].output.count("OK no listening socket beyond loopback") == 2
