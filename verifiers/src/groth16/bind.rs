//! Binding public signals to the task, so a copied proof cannot pass for
//! another performer or other data.
//!
//! A Groth16 proof says nothing about who sent it. A task definition can pin
//! public signals by index: to the performer's address (as a field element,
//! the 160-bit big-endian integer), to keccak256(data) reduced mod r, or to a
//! constant. The circuit must expose those values as public signals.

use std::fmt;

use alloy_primitives::{Address, keccak256};
use ark_bn254::Fr;
use ark_ff::PrimeField;

use super::decimal::parse_field;

/// What a bound public signal must equal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    /// The task's performer address, as the integer of its 20 bytes.
    Performer,
    /// keccak256 of the task's data, as a big-endian integer mod r.
    DataKeccak,
    /// A fixed value.
    Constant(Fr),
}

impl Binding {
    /// Reads `"performer"`, `"keccak256(data)"` or a canonical decimal below r.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "performer" => Ok(Self::Performer),
            "keccak256(data)" => Ok(Self::DataKeccak),
            _ => parse_field(text).map(Self::Constant).map_err(|e| {
                format!(
                    "must be \"performer\", \"keccak256(data)\" or a decimal constant below r; {text:?} {e}"
                )
            }),
        }
    }

    /// The value this binding requires for a task.
    pub(crate) fn value(&self, task: &TaskFields<'_>) -> Fr {
        match self {
            Self::Performer => performer_field(task.performer),
            Self::DataKeccak => data_field(task.data),
            Self::Constant(c) => *c,
        }
    }
}

impl fmt::Display for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Performer => f.write_str("the performer address"),
            Self::DataKeccak => f.write_str("keccak256(data) mod r"),
            Self::Constant(c) => write!(f, "the constant {}", c.into_bigint()),
        }
    }
}

/// The parts of a task a binding looks at.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TaskFields<'a> {
    pub(crate) performer: &'a Address,
    pub(crate) data: &'a [u8],
}

/// The performer address as a field element (below 2^160, so below r).
pub fn performer_field(performer: &Address) -> Fr {
    Fr::from_be_bytes_mod_order(performer.as_slice())
}

/// keccak256(data) as a big-endian integer reduced mod r.
pub fn data_field(data: &[u8]) -> Fr {
    Fr::from_be_bytes_mod_order(keccak256(data).as_slice())
}

/// The decimal spelling snarkjs would use for a field element.
pub fn to_decimal(x: &Fr) -> String {
    x.into_bigint().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bindings() {
        assert_eq!(Binding::parse("performer"), Ok(Binding::Performer));
        assert_eq!(Binding::parse("keccak256(data)"), Ok(Binding::DataKeccak));
        assert_eq!(Binding::parse("42"), Ok(Binding::Constant(Fr::from(42u64))));
        for bad in ["Performer", "keccak256", "042", "-1", "0x2a", ""] {
            assert!(Binding::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn performer_is_its_big_endian_integer() {
        let a: Address = "0x0000000000000000000000000000000000000102"
            .parse()
            .unwrap();
        assert_eq!(performer_field(&a), Fr::from(0x102u64));
    }
}
