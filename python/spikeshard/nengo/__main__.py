"""``mpirun -np N python -m spikeshard.nengo script.py [args]``: runs a nengo script over N
MPI ranks, as nengo_mpi's ``python -m nengo_mpi``.

The script runs once, on rank 0: its prints, plots and files happen once, and ``sim.data``
there holds every probe. Every ``spikeshard.nengo.Simulator`` it makes (and every
``nengo.Simulator``: it is spikeshard's here) is split into components over the ranks (by
default as many as there are ranks) and the model reaches the other ranks over MPI; they
serve their components until the script ends (:mod:`spikeshard.nengo.cluster`). An error
on any rank prints its message and ends the whole job. Without mpirun (or with one rank)
the script simply runs in this process.
"""

from __future__ import annotations

import sys

from spikeshard.__main__ import run_script
from spikeshard.nengo.cluster import run_on_rank_zero

USAGE = """usage: mpirun -np N python -m spikeshard.nengo script.py [args...]
  runs script.py once, on rank 0, with its nengo simulators split over the N ranks
  (nengo.Simulator is spikeshard.nengo.Simulator); without mpirun: one process"""


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return
    run_on_rank_zero(run_script, args[0], args[1:])


if __name__ == "__main__":
    main()
