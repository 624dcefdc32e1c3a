"""The command line: info, the mpirun helper's flags, running scripts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from spikeshard.__main__ import info, mpirun_command


def test_info_reports_engine_and_mpi():
    text = info()
    assert "spikeshard 0.1.0" in text
    assert "lif" in text and "simd level:" in text and "mpi4py:" in text


def test_mpirun_runs_python_scripts_through_this_interpreter(monkeypatch):
    monkeypatch.setattr("spikeshard.__main__.available_cores", lambda: 2)
    command, env = mpirun_command(["-np", "4", "demo.py", "--flag"])
    assert command[-5:] == [sys.executable, "-m", "spikeshard", "demo.py", "--flag"]
    assert "--oversubscribe" in command  # 4 ranks on 2 cores
    command, _ = mpirun_command(["-np", "2", "demo.py"])
    assert "--oversubscribe" not in command
    command, _ = mpirun_command(["-np", "2", sys.executable, "demo.py"])
    assert command[-2:] == [sys.executable, "demo.py"]  # an explicit program is kept


def test_mpirun_allows_root_only_when_root(monkeypatch):
    monkeypatch.delenv("OMPI_ALLOW_RUN_AS_ROOT", raising=False)
    monkeypatch.setattr("os.geteuid", lambda: 0)
    _, env = mpirun_command(["-np", "1", "x.py"])
    assert env["OMPI_ALLOW_RUN_AS_ROOT"] == "1"
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    _, env = mpirun_command(["-np", "1", "x.py"])
    assert "OMPI_ALLOW_RUN_AS_ROOT" not in env


def test_python_m_spikeshard_runs_a_script_and_reports_failure(tmp_path: Path):
    good = tmp_path / "good.py"
    good.write_text("import sys\nprint('args', sys.argv[1:])\n")
    done = subprocess.run([sys.executable, "-m", "spikeshard", str(good), "a", "b"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "args ['a', 'b']" in done.stdout
    bad = tmp_path / "bad.py"
    bad.write_text("raise ValueError('broken script')\n")
    done = subprocess.run([sys.executable, "-m", "spikeshard", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "broken script" in done.stderr


def test_unknown_command_fails():
    with pytest.raises(SystemExit, match="unknown command"):
        from spikeshard.__main__ import main

        main(["frobnicate"])


def test_mpirun_keeps_ranks_on_one_machine_off_the_network(monkeypatch):
    from spikeshard.__main__ import LOCAL_TRANSPORTS

    monkeypatch.setattr("spikeshard.__main__._mpiexec_version", lambda _: "Open MPI 5")
    for name in ("OMPI_MCA_btl", "SLURM_JOB_NUM_NODES", "SLURM_NNODES", "PBS_NODEFILE"):
        monkeypatch.delenv(name, raising=False)
    _, env = mpirun_command(["-np", "2", "x.py"])
    assert env["OMPI_MCA_btl"] == LOCAL_TRANSPORTS
    for hosts in (["-H", "a,b"], ["--hostfile", "hosts"], ["--host=a,b"]):
        _, env = mpirun_command(["-np", "2", *hosts, "x.py"])
        assert "OMPI_MCA_btl" not in env, hosts
    _, env = mpirun_command(["-np", "2", "--mca", "btl", "self,tcp", "x.py"])
    assert "OMPI_MCA_btl" not in env  # the user's choice is kept
    monkeypatch.setenv("SLURM_JOB_NUM_NODES", "4")
    _, env = mpirun_command(["-np", "2", "x.py"])
    assert "OMPI_MCA_btl" not in env
    monkeypatch.setenv("SLURM_JOB_NUM_NODES", "1")
    monkeypatch.setenv("OMPI_MCA_btl", "self,sm,tcp")
    _, env = mpirun_command(["-np", "2", "x.py"])
    assert env["OMPI_MCA_btl"] == "self,sm,tcp"


def test_one_machine_reads_the_batch_systems_host_file(tmp_path: Path):
    from spikeshard.__main__ import one_machine

    hosts = tmp_path / "nodes"
    hosts.write_text("node1\nnode1\n")
    assert one_machine([], {"PBS_NODEFILE": str(hosts)})
    hosts.write_text("node1\nnode2\n")
    assert not one_machine([], {"PBS_NODEFILE": str(hosts)})
    assert not one_machine([], {"LSB_HOSTS": "node1 node2"})
