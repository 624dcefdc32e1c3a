# mpi_demo.py — SC-NeuroCore's "Tutorial 36: MPI Distributed Simulation", unchanged except
# for its import lines. Run it with any number of ranks; every run prints the same count:
#     spikeshard mpirun -np 4 tutorials/01_mpi_demo.py      (or: mpirun -np 4 python ...)
from spikeshard.models import HodgkinHuxleyNeuron
from spikeshard import Population
from spikeshard import Projection
from spikeshard import Network
from spikeshard import SpikeMonitor
from spikeshard import PoissonInput
exc = Population(HodgkinHuxleyNeuron, n=10000, label="exc")
inh = Population(HodgkinHuxleyNeuron, n=2500, label="inh")
exc_exc = Projection(exc, exc, weight=0.02, topology="random", probability=0.02)
exc_inh = Projection(exc, inh, weight=0.05, topology="random", probability=0.05)
inh_exc = Projection(inh, exc, weight=-0.1, topology="random", probability=0.05)
drive = PoissonInput(n=10000, rate_hz=50.0, weight=1.0, dt=0.001)
mon = SpikeMonitor(exc)
net = Network(exc, inh, exc_exc, exc_inh, inh_exc, drive, mon)
net.run(duration=1.0, dt=0.001, backend="mpi")
from mpi4py import MPI
if MPI.COMM_WORLD.Get_rank() == 0:
    print(f"Total spikes: {mon.count}")
