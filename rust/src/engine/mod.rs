//! The per-rank simulation engine, free of Python: random streams, neuron kernels, synapse
//! storage, connection rules, ring buffers and the runner that ties them together.

pub mod block;
pub mod connect;
pub mod error;
pub mod fastmath;
pub mod hugepages;
pub mod models;
pub mod recorders;
pub mod ring;
pub mod rng;
pub mod runner;
pub mod source_index;
pub mod spike;
pub mod synapses;
