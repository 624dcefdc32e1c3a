//! Nengo operators executed in Rust: the engine behind `spikeshard.nengo.Simulator`.
//!
//! nengo's builder produces signals (numpy arrays owned by the Python simulator's
//! `SignalDict`) and operators over them. The Python side lowers each supported operator into
//! an [`ops::Op`] that addresses those arrays in place through [`span::Span`]s, groups
//! consecutive Rust operators into segments of a [`program::Program`], and calls the
//! operators it could not lower (Python functions, unsupported processes) between segments.
//! Nothing is copied between Python and Rust while stepping.

pub mod error;
pub mod filters;
pub mod learning;
pub mod neurons;
pub mod noise;
pub mod ops;
pub mod program;
pub mod span;
pub mod tables;
