//! The one error type of the nengo operator program. The Python binding turns it into
//! Python's exceptions in one place (`From<NengoError> for PyErr`).

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum NengoError {
    /// An argument that does not fit: what it is, its value, what was expected.
    Invalid(String),
    /// An element, row or id outside what exists.
    OutOfRange(String),
    /// An operator that would write elements it also reads, where its step needs them apart.
    Overlap(String),
}

impl fmt::Display for NengoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NengoError::Invalid(message) | NengoError::OutOfRange(message) | NengoError::Overlap(message) => {
                write!(f, "{message}")
            }
        }
    }
}

impl std::error::Error for NengoError {}

pub type NengoResult<T> = Result<T, NengoError>;

/// `Err(Invalid)` unless `got == want`: "`what`: `got` elements where `want` are needed".
pub fn check_len(what: &str, got: usize, want: usize) -> NengoResult<()> {
    if got == want {
        Ok(())
    } else {
        Err(NengoError::Invalid(format!("{what}: {got} elements where {want} are needed")))
    }
}
