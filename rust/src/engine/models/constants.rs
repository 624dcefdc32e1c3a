//! Kernel constants by name: Python's `NeuronModel.constants(params, dt)` returns a dict of
//! named numbers (propagators, thresholds, step counts) and each kernel reads the ones it
//! declares. A missing or an unknown name is an error naming the model and the constant, so
//! the two sides cannot drift apart silently; `kernel_constants!` writes a kernel's constants
//! struct and its list of names from one declaration.

use std::collections::HashMap;

use crate::engine::error::EngineError;

/// The named constants Python sent for one population, read by a kernel's constructor.
#[derive(Debug)]
pub struct ConstantReader<'a> {
    model: &'a str,
    given: &'a HashMap<String, f64>,
    read: Vec<String>,
}

impl<'a> ConstantReader<'a> {
    pub fn new(model: &'a str, given: &'a HashMap<String, f64>) -> Self {
        Self { model, given, read: Vec::new() }
    }

    /// The constant `prefix` + `name`, or an error naming it.
    pub fn get(&mut self, prefix: &str, name: &str) -> Result<f64, EngineError> {
        let key = format!("{prefix}{name}");
        let value = self.given.get(&key).copied();
        self.read.push(key);
        value.ok_or_else(|| EngineError::Constant {
            model: self.model.to_string(),
            name: self.read.last().cloned().unwrap_or_default(),
            problem: "is missing".to_string(),
        })
    }

    /// Checks that every constant given was read: a name the kernel does not know is an error.
    pub fn finish(self) -> Result<(), EngineError> {
        let mut unknown: Vec<&String> = self.given.keys().filter(|k| !self.read.contains(k)).collect();
        unknown.sort();
        match unknown.first() {
            None => Ok(()),
            Some(name) => Err(EngineError::Constant {
                model: self.model.to_string(),
                name: name.to_string(),
                problem: format!("is not a constant of this kernel (it reads {:?})", self.read),
            }),
        }
    }
}

/// Declares a kernel's constants: a struct of named `f64` fields, `NAMES` (the names Python's
/// `constants()` gives, with an optional prefix for constants used twice, as the sub-step
/// constants of Hodgkin-Huxley) and `read`, which takes each field by its name.
macro_rules! kernel_constants {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$field_meta:meta])* $field:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            $($(#[$field_meta])* pub $field: f64,)+
        }

        impl $name {
            /// The constants' names, as Python's `NeuronModel.constants` gives them.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($field)),+];

            /// Reads every field as the constant `prefix` + its name.
            pub fn read(
                c: &mut $crate::engine::models::constants::ConstantReader,
                prefix: &str,
            ) -> Result<Self, $crate::engine::error::EngineError> {
                Ok(Self { $($field: c.get(prefix, stringify!($field))?,)+ })
            }

            /// Writes every field as the constant `prefix` + its name (the inverse of `read`).
            pub fn write(&self, prefix: &str, out: &mut std::collections::HashMap<String, f64>) {
                $(out.insert(format!("{prefix}{}", stringify!($field)), self.$field);)+
            }
        }
    };
}

pub(crate) use kernel_constants;

#[cfg(test)]
mod tests {
    use super::*;

    kernel_constants! {
        /// Two constants for the test.
        pub struct Pair { a, b }
    }

    fn given(pairs: &[(&str, f64)]) -> HashMap<String, f64> {
        pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect()
    }

    #[test]
    fn reads_by_name_and_refuses_missing_or_unknown_names() {
        assert_eq!(Pair::NAMES, ["a", "b"]);
        let values = given(&[("x_b", 2.0), ("x_a", 1.0)]);
        let mut reader = ConstantReader::new("pair", &values);
        assert_eq!(Pair::read(&mut reader, "x_").unwrap(), Pair { a: 1.0, b: 2.0 });
        reader.finish().unwrap();
        let mut written = HashMap::new();
        Pair { a: 1.0, b: 2.0 }.write("x_", &mut written);
        assert_eq!(written, values);

        let missing = given(&[("a", 1.0)]);
        let err = Pair::read(&mut ConstantReader::new("pair", &missing), "").unwrap_err();
        assert!(err.to_string().contains("\"b\" is missing"), "{err}");

        let extra = given(&[("a", 1.0), ("b", 2.0), ("c", 3.0)]);
        let mut reader = ConstantReader::new("pair", &extra);
        Pair::read(&mut reader, "").unwrap();
        let err = reader.finish().unwrap_err();
        assert!(err.to_string().contains("\"c\" is not a constant"), "{err}");
    }
}
