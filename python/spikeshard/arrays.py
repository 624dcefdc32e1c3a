"""The numpy array types that signatures use, named once for the whole package.

Type aliases only: nothing here allocates, validates or imports another spikeshard module.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: Membrane potentials, currents, constants, sample values (float64).
FloatArray = npt.NDArray[np.float64]
#: Population-local neuron ids handed to the engines (uint32).
U32Array = npt.NDArray[np.uint32]
#: Packed spikes (``step << 32 | gid``) and 64-bit random draws (uint64).
U64Array = npt.NDArray[np.uint64]
#: Indices and ids in Python-side bookkeeping: partition blocks, monitor ids (int64).
IntArray = npt.NDArray[np.int64]
