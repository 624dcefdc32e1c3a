"""NEST 3.x adapter: builds a benchmark network with PyNEST and times it.

Build time covers node creation, connection and NEST's preparation of the connection
infrastructure (``time_communicate_prepare``, done inside the first ``Simulate``); simulate
time is the rest of ``Simulate``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from _protocol import cpu_now, emit_result, fail, now, run_adapter

try:
    import nest
except ImportError as exc:  # pragma: no cover - depends on the environment
    fail(f"NEST is not importable with this Python: {exc}")


def _quiet() -> None:
    """Silence NEST's per-step progress and info messages."""
    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")


def _reset(request: dict[str, Any]) -> None:
    """Fresh kernel with resolution, threads and seed from the request."""
    nest.ResetKernel()
    _quiet()
    nest.SetKernelStatus(
        {
            "resolution": request["params"]["dt_s"] * 1e3,
            "local_num_threads": int(request["threads"]),
            "rng_seed": int(request["seed"]),
            "print_time": False,
        }
    )


def _simulate(
    params: dict[str, Any], build_start: float, recorders: list[Any], device_links: list[int]
) -> None:
    """Simulate, split NEST's preparation out of the simulate time, and emit the result."""
    build_wall_s = now() - build_start
    sim_start, sim_cpu_start = now(), cpu_now()
    nest.Simulate(params["duration_s"] * 1e3)
    sim_wall_s, sim_cpu_s = now() - sim_start, cpu_now() - sim_cpu_start
    # Per-thread timers in recent NEST versions: the slowest thread bounds the wall time.
    prepare_s = float(np.max(nest.GetKernelStatus("time_communicate_prepare")))
    n_spikes = sum(int(rec.n_events) for rec in recorders)
    # Neuron-to-neuron synapses only: leave out the recorder and Poisson generator links.
    n_synapses = int(nest.num_connections) - sum(int(n) for n in device_links)
    emit_result(
        build_s=build_wall_s + prepare_s,
        sim_s=sim_wall_s - prepare_s,
        n_spikes=n_spikes,
        n_neurons=params["n_neurons"],
        duration_s=params["duration_s"],
        n_synapses=n_synapses,
        sim_cpu_s=sim_cpu_s - prepare_s,
        nest_version=nest.__version__,
        nest_prepare_s=prepare_s,
    )


def build_cuba(request: dict[str, Any]) -> None:
    """CUBA with ``iaf_psc_exp`` and ``pairwise_bernoulli`` connectivity."""
    p = request["params"]
    _reset(request)
    start = now()
    neuron_params = {
        "C_m": p["c_m_pf"],
        "tau_m": p["tau_m_s"] * 1e3,
        "E_L": p["v_rest_mv"],
        "V_th": p["v_th_mv"],
        "V_reset": p["v_reset_mv"],
        "t_ref": p["t_ref_s"] * 1e3,
        "tau_syn_ex": p["tau_syn_exc_s"] * 1e3,
        "tau_syn_in": p["tau_syn_inh_s"] * 1e3,
        "I_e": 0.0,
    }
    exc = nest.Create("iaf_psc_exp", p["n_exc"], params=neuron_params)
    inh = nest.Create("iaf_psc_exp", p["n_inh"], params=neuron_params)
    neurons = exc + inh
    neurons.V_m = nest.random.uniform(p["v_init_low_mv"], p["v_init_high_mv"])
    conn = {"rule": "pairwise_bernoulli", "p": p["connection_probability"]}
    delay_ms = p["delay_s"] * 1e3
    nest.Connect(exc, neurons, conn, {"weight": p["w_exc_pa"], "delay": delay_ms})
    nest.Connect(inh, neurons, conn, {"weight": p["w_inh_pa"], "delay": delay_ms})
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    _simulate(p, start, [recorder], [len(neurons)])


def build_brunel(request: dict[str, Any]) -> None:
    """Brunel network as in NEST's ``brunel_delta_nest.py``, recording every neuron."""
    p = request["params"]
    _reset(request)
    start = now()
    neuron_params = {
        "C_m": 1.0,
        "tau_m": p["tau_m_s"] * 1e3,
        "t_ref": p["t_ref_s"] * 1e3,
        "E_L": p["v_rest_mv"],
        "V_reset": p["v_reset_mv"],
        "V_m": p["v_init_mv"],
        "V_th": p["v_th_mv"],
    }
    exc = nest.Create("iaf_psc_delta", p["n_exc"], params=neuron_params)
    inh = nest.Create("iaf_psc_delta", p["n_inh"], params=neuron_params)
    neurons = exc + inh
    noise = nest.Create("poisson_generator", params={"rate": p["poisson_rate_hz"]})
    delay_ms = p["delay_s"] * 1e3
    exc_syn = {"weight": p["j_mv"], "delay": delay_ms}
    nest.Connect(noise, neurons, syn_spec=exc_syn)
    nest.Connect(exc, neurons, {"rule": "fixed_indegree", "indegree": p["indegree_exc"]}, exc_syn)
    nest.Connect(
        inh,
        neurons,
        {"rule": "fixed_indegree", "indegree": p["indegree_inh"]},
        {"weight": p["j_inh_mv"], "delay": delay_ms},
    )
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    _simulate(p, start, [recorder], [len(neurons), len(neurons)])


if __name__ == "__main__":
    run_adapter({"cuba": build_cuba, "brunel": build_brunel})
