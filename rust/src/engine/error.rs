//! The one error type of the engine; the Python layer turns it into ValueError/RuntimeError.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum EngineError {
    UnknownModel(String),
    /// A kernel constant Python sent (or did not send): (model, constant, what is wrong).
    Constant {
        model: String,
        name: String,
        problem: String,
    },
    /// An argument with a bad value: (name, value, what was expected).
    InvalidArgument {
        name: String,
        value: String,
        expected: String,
    },
    /// Something the caller did in the wrong order or with inconsistent ids.
    Usage(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::UnknownModel(name) => write!(f, "unknown neuron model kernel {name:?}"),
            EngineError::Constant { model, name, problem } => {
                write!(f, "kernel {model:?}: constant {name:?} {problem}")
            }
            EngineError::InvalidArgument { name, value, expected } => {
                write!(f, "invalid {name} = {value}: expected {expected}")
            }
            EngineError::Usage(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for EngineError {}

/// Shorthand for an `InvalidArgument`.
pub fn invalid(name: &str, value: impl fmt::Display, expected: &str) -> EngineError {
    EngineError::InvalidArgument { name: name.to_string(), value: value.to_string(), expected: expected.to_string() }
}
