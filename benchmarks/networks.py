"""Benchmark networks, each described once as plain data.

Every simulator adapter builds its network from the JSON dictionary returned by
:meth:`NetworkSpec.to_request_params`, so sizes and parameters live only here. Derived
quantities that several adapters need (weights in pA, the external Poisson rate) are computed
here too, so no adapter repeats a formula.

This module uses the standard library only: the runner imports it, adapters never do (they
may run in another virtual environment with another Python).

Units follow spikeshard's public API: times in seconds (suffix ``_s``), voltages in mV,
currents in pA, capacitances in pF, rates in Hz.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NetworkSpec:
    """Fields shared by every benchmark network."""

    name: str
    description: str
    dt_s: float
    duration_s: float
    #: Simulators (besides spikeshard) that have an adapter for this network.
    peers: tuple[str, ...]

    @property
    def n_neurons(self) -> int:
        """Number of neurons whose spikes are counted for the mean rate."""
        raise NotImplementedError

    def derived(self) -> dict[str, Any]:
        """Quantities computed from the fields; merged into the request parameters."""
        return {}

    def to_request_params(self) -> dict[str, Any]:
        """All fields plus derived quantities, as a JSON-serialisable dictionary."""
        params = dataclasses.asdict(self)
        params["peers"] = list(self.peers)
        params["n_neurons"] = self.n_neurons
        params.update(self.derived())
        return params


@dataclass(frozen=True)
class Cuba(NetworkSpec):
    """Brette et al. (2007) current-based benchmark, as in Brian2's CUBA example.

    ``dv/dt = (ge + gi - (v - v_rest)) / tau_m`` with ``ge``/``gi`` in mV decaying with
    ``tau_exc_s``/``tau_inh_s``; a spike adds ``w_exc_mv``/``w_inh_mv``. Current-based models
    with a capacitance (NEST ``iaf_psc_exp``, spikeshard ``LIF``) take the same jump as a
    current of ``w_mv * c_m_pf / tau_m_ms`` pA.
    """

    name: str = "cuba"
    description: str = "Brette et al. 2007 CUBA: 4000 LIF, exponential currents, p=0.02"
    dt_s: float = 0.0001
    duration_s: float = 1.0
    peers: tuple[str, ...] = ("brian2", "nest")
    n_exc: int = 3200
    n_inh: int = 800
    connection_probability: float = 0.02
    tau_m_s: float = 0.020
    tau_syn_exc_s: float = 0.005
    tau_syn_inh_s: float = 0.010
    c_m_pf: float = 250.0
    v_rest_mv: float = -49.0
    v_th_mv: float = -50.0
    v_reset_mv: float = -60.0
    t_ref_s: float = 0.005
    w_exc_mv: float = 60 * 0.27 / 10
    w_inh_mv: float = -20 * 4.5 / 10
    delay_s: float = 0.0001
    #: Initial membrane potential is uniform in [v_init_low_mv, v_init_high_mv].
    v_init_low_mv: float = -60.0
    v_init_high_mv: float = -50.0

    @property
    def n_neurons(self) -> int:
        return self.n_exc + self.n_inh

    def derived(self) -> dict[str, Any]:
        # A jump of x mV in a voltage-like current equals x * C_m / tau_m of current.
        pa_per_mv = self.c_m_pf / (self.tau_m_s * 1e3)
        return {"w_exc_pa": self.w_exc_mv * pa_per_mv, "w_inh_pa": self.w_inh_mv * pa_per_mv}


@dataclass(frozen=True)
class Brunel(NetworkSpec):
    """NEST's ``brunel_delta_nest.py``: sparse balanced network of delta-synapse LIF neurons.

    Fixed in-degree (multapses allowed, autapses allowed) from the excitatory and the
    inhibitory population onto every neuron; each neuron also receives an independent
    Poisson spike train of rate ``poisson_rate_hz`` (derived) with weight ``j_mv``.
    """

    name: str = "brunel"
    description: str = "Brunel 2000 / NEST brunel_delta_nest: 12500 LIF delta, CE=1000, CI=250"
    dt_s: float = 0.0001
    duration_s: float = 1.0
    peers: tuple[str, ...] = ("brian2", "nest")
    n_exc: int = 10000
    n_inh: int = 2500
    indegree_exc: int = 1000
    indegree_inh: int = 250
    j_mv: float = 0.1
    g: float = 5.0
    eta: float = 2.0
    delay_s: float = 0.0015
    tau_m_s: float = 0.020
    t_ref_s: float = 0.002
    v_rest_mv: float = 0.0
    #: 10 mV as in Brunel (2000), giving ~37 Hz; NEST's brunel_delta_nest.py uses 0 mV
    #: (~32 Hz with NEST 3.10).
    v_reset_mv: float = 10.0
    v_th_mv: float = 20.0
    v_init_mv: float = 0.0

    @property
    def n_neurons(self) -> int:
        return self.n_exc + self.n_inh

    def derived(self) -> dict[str, Any]:
        # nu_th: external rate (Hz) per synapse that brings the mean input to threshold.
        nu_th_hz = self.v_th_mv / (self.j_mv * self.indegree_exc * self.tau_m_s)
        return {
            "j_inh_mv": -self.g * self.j_mv,
            "nu_th_hz": nu_th_hz,
            "poisson_rate_hz": self.eta * nu_th_hz * self.indegree_exc,
        }


@dataclass(frozen=True)
class HHTutorial(NetworkSpec):
    """SC-NeuroCore "Tutorial 36: MPI Distributed Simulation" network.

    Hodgkin-Huxley populations with random (Erdos-Renyi) projections and a Poisson drive of
    ``poisson_n`` inputs, exactly as written in the tutorial (weights in the model's own
    current units, no delays).
    """

    name: str = "hh_tutorial"
    description: str = "SC-NeuroCore MPI tutorial: 10000 exc + 2500 inh Hodgkin-Huxley"
    dt_s: float = 0.001
    duration_s: float = 1.0
    peers: tuple[str, ...] = ("scn",)
    n_exc: int = 10000
    n_inh: int = 2500
    w_exc_exc: float = 0.02
    p_exc_exc: float = 0.02
    w_exc_inh: float = 0.05
    p_exc_inh: float = 0.05
    w_inh_exc: float = -0.1
    p_inh_exc: float = 0.05
    poisson_n: int = 10000
    poisson_rate_hz: float = 50.0
    poisson_weight: float = 1.0

    @property
    def n_neurons(self) -> int:
        return self.n_exc + self.n_inh


NETWORKS: dict[str, NetworkSpec] = {spec.name: spec for spec in (Cuba(), Brunel(), HHTutorial())}


def get_network(name: str) -> NetworkSpec:
    """Return the network called ``name``; raise ``KeyError`` naming the known ones."""
    try:
        return NETWORKS[name]
    except KeyError:
        known = ", ".join(sorted(NETWORKS))
        raise KeyError(f"unknown network {name!r}; expected one of: {known}") from None
