"""Scripts whose ranks misbehave, for tests/mpi/test_failures.py: ``misbehaving.py CASE``
under mpirun with two ranks. Rank 1 misbehaves; it writes ``LEAVING AT <time>`` to stderr
just before it leaves, so that the test can measure how long the job takes to end.

Fatal cases (the job must end with a message naming rank 1): ``exit`` (sys.exit(3) between
two runs), ``return`` (returns from main after catching an error), ``skip`` (only rank 0
calls get_state, then the script ends), ``early`` (an exception after ``import spikeshard``,
before any network is built).

Under ``python -m spikeshard.nengo`` (the script runs on rank 0 only): ``nengo_exit``
(sys.exit(3) between two runs), ``nengo_early`` (an exception before building) and
``nengo_network`` (a script that builds a spikeshard Network, which the other ranks, serving
nengo simulators, cannot join).

``recoverable``: ranks that ask for different things raise on every rank, and the script
goes on (each check prints ``OK <name>``); thread counts that differ change nothing; and
no rank listens on a non-loopback address (under ``spikeshard mpirun``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

import spikeshard as ss


def leaving() -> None:
    sys.stderr.write(f"LEAVING AT {time.time()}\n")
    sys.stderr.flush()


def small_network(threads: int | None = 1) -> tuple[ss.Network, ss.Population,
                                                     ss.SpikeMonitor]:
    pop = ss.Population(ss.models.LIF, n=200, params={"i_e": 400.0},
                        initial={"v": ss.Uniform(-70.0, -55.0)})
    proj = ss.Projection(pop, pop, weight=20.0, topology="random", probability=0.1,
                         delay=0.0005)
    mon = ss.SpikeMonitor(pop)
    return ss.Network(pop, proj, mon, seed=5, threads=threads), pop, mon


def rank() -> int:
    return int(os.environ.get("OMPI_COMM_WORLD_RANK", "0"))


def case_exit() -> None:
    net, _, _ = small_network()
    net.run(0.01, dt=1e-4, progress=False)
    if rank() == 1:
        leaving()
        sys.exit(3)
    net.run(100.0, progress=False)


def case_return() -> None:
    net, _, _ = small_network()
    net.run(0.01, dt=1e-4, progress=False)
    try:
        if rank() == 1:
            raise ValueError("rank 1 hit an error and returns")
    except ValueError:
        leaving()
        return
    net.run(100.0, progress=False)


def case_skip() -> None:
    net, pop, _ = small_network()
    net.run(0.01, dt=1e-4, progress=False)
    if rank() == 0:
        print(net.get_state(pop, "v")[:3])
    else:
        leaving()


def case_early() -> None:
    if rank() == 1:
        leaving()
        raise ValueError("rank 1 fails before building")
    net, _, _ = small_network()
    net.run(100.0, progress=False)


def case_nengo_exit() -> None:
    """Under the nengo launcher (the script runs on rank 0 only): sys.exit between runs."""
    import nengo

    with nengo.Network(seed=1) as model:
        a, b = nengo.Ensemble(50, 1), nengo.Ensemble(50, 1)
        nengo.Connection(a, b)
    with nengo.Simulator(model, progress_bar=False) as sim:
        sim.run(0.01)
        leaving()
        sys.exit(3)


def case_nengo_early() -> None:
    """Under the nengo launcher: an exception before any simulator is built."""
    leaving()
    raise ValueError("rank 0's nengo script fails before building")


def case_nengo_network() -> None:
    """Under the nengo launcher: a script that builds a spikeshard Network (rank 0 only)."""
    leaving()
    case_exit()


def expect(name: str, error: type[BaseException], text: str, call: object) -> None:
    try:
        call()  # type: ignore[operator]
    except error as caught:
        assert text in str(caught), (name, str(caught))
        print(f"OK {name}: {caught}", flush=True)
        return
    raise AssertionError(f"{name}: no {error.__name__} raised")


def loopback(address: str) -> bool:
    host = address.split(":")[0]
    if len(host) == 8:  # IPv4, little-endian hex
        return host.endswith("7F")
    return host in ("00000000000000000000000001000000",)  # ::1


def listening_addresses() -> list[str]:
    """Local addresses of this process's listening TCP sockets (from /proc)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                found.append(fields[1])
    return found


def case_recoverable(out_dir: str) -> None:
    me = rank()
    net, pop, mon = small_network()
    expect("durations", ss.SimulationError, "differs between ranks",
           lambda: net.run(0.01 + 1e-4 * me, dt=1e-4, progress=False))
    net.run(0.01, dt=1e-4, progress=False)
    expect("skipped collective", ss.CollectiveMismatchError, "'get_state'",
           lambda: net.get_state(pop, "v") if me == 0 else net.run(0.01, progress=False))
    expect("zero steps on one rank", ss.SimulationError, "differs between ranks",
           lambda: net.run(0.0 if me == 0 else 1e-4, progress=False))
    other, _, _ = small_network()
    expect("backend", ss.SimulationError, "different backend",
           lambda: other.run(0.01, dt=1e-4, backend="numpy" if me == 0 else "rust",
                             progress=False))
    # Thread counts may differ between ranks: they change no result.
    if me == 1:
        os.environ["SPIKESHARD_THREADS"] = "2"
    threaded, _, threaded_mon = small_network(threads=None)
    threaded.run(0.05, dt=1e-4, progress=False)
    if me == 0:
        np.save(Path(out_dir) / "threads.npy", np.stack(threaded_mon.spikes))
    listening = [a for a in listening_addresses() if not loopback(a)]
    assert not listening, f"rank {me} listens on {listening}"
    print(f"OK no listening socket beyond loopback ({me})", flush=True)
    # The others finish long before rank 0: a finished rank must not abort it.
    if me == 0:
        time.sleep(3.0)
        print("OK rank 0 finished last", flush=True)


CASES = {"exit": case_exit, "return": case_return, "skip": case_skip, "early": case_early}
NENGO_CASES = {"nengo_exit": case_nengo_exit, "nengo_early": case_nengo_early,
               "nengo_network": case_nengo_network}

if __name__ == "__main__":
    if sys.argv[1] == "recoverable":
        case_recoverable(sys.argv[2])
    else:
        {**CASES, **NENGO_CASES}[sys.argv[1]]()
