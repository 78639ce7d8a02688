//! Exact decimal numbers: the claim's, the sources' and the tolerances.
//!
//! Prices and wei amounts are decimal numbers, and an f64 cannot hold them:
//! `1000000000000000001` and `1000000000000000064` are the same f64. Every
//! number is read from its literal text (a JSON number or a decimal string)
//! into an exact decimal ([`bigdecimal`]), and tolerances, differences and
//! medians are computed exactly.
//!
//! What it trusts: nothing. The text is checked by hand before the big-number
//! crate sees it, because `1e999999999` is three characters that would make
//! any exact arithmetic allocate a billion digits: a number is refused unless
//! it has at most [`MAX_DIGITS`] significant digits and every one of them
//! lies between `1e-`[`MAX_EXPONENT`] and `1e`[`MAX_EXPONENT`]. Within
//! those bounds every operation here costs at most a few hundred digits.

use std::fmt;

use bigdecimal::{
    BigDecimal,
    num_bigint::{BigInt, Sign},
};
use serde::{Deserialize, Deserializer, de};

/// The most significant digits a number may have (a uint256 has 78).
pub const MAX_DIGITS: usize = 100;

/// Every digit of a number lies between `10^-MAX_EXPONENT` and
/// `10^(MAX_EXPONENT - 1)`.
pub const MAX_EXPONENT: i64 = 100;

/// The longest number text read, in bytes (leading zeros included).
pub const MAX_NUMBER_CHARS: usize = 256;

/// Why a text is not a number this oracle compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Not a decimal number (`NaN`, `inf`, hex, thousands separators…).
    #[error("is not a decimal number")]
    Malformed,
    /// Too many digits, too large or too small to compare exactly.
    #[error(
        "is outside the supported range (at most {MAX_DIGITS} significant digits, \
         between 1e-{MAX_EXPONENT} and 1e{MAX_EXPONENT})"
    )]
    OutOfRange,
}

/// An exact decimal number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Decimal(BigDecimal);

impl Decimal {
    /// Zero.
    pub fn zero() -> Self {
        Self(BigDecimal::from(0))
    }

    /// Reads a JSON number or a decimal string:
    /// `[+-]? (digits [. digits] | . digits) ([eE] [+-]? digits)?`, ASCII
    /// whitespace around it ignored.
    pub fn parse(text: &str) -> Result<Self, NumberError> {
        let text = text.trim_ascii();
        if text.len() > MAX_NUMBER_CHARS {
            return Err(NumberError::OutOfRange);
        }
        let bytes = text.as_bytes();
        let mut at = 0;
        let take_digits = |at: &mut usize| {
            let start = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            bytes.get(start..*at).unwrap_or_default()
        };
        let negative = match bytes.first() {
            Some(b'-') => {
                at += 1;
                true
            }
            Some(b'+') => {
                at += 1;
                false
            }
            _ => false,
        };
        let int_digits = take_digits(&mut at);
        let frac_digits = if bytes.get(at) == Some(&b'.') {
            at += 1;
            take_digits(&mut at)
        } else {
            &[]
        };
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(NumberError::Malformed);
        }
        let mut exponent: i64 = 0;
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            let exp_negative = match bytes.get(at) {
                Some(b'-') => {
                    at += 1;
                    true
                }
                Some(b'+') => {
                    at += 1;
                    false
                }
                _ => false,
            };
            let digits = take_digits(&mut at);
            if digits.is_empty() {
                return Err(NumberError::Malformed);
            }
            for d in digits {
                exponent = exponent
                    .checked_mul(10)
                    .and_then(|e| e.checked_add(i64::from(d - b'0')))
                    .ok_or(NumberError::OutOfRange)?;
            }
            if exp_negative {
                exponent = -exponent;
            }
        }
        if at != bytes.len() {
            return Err(NumberError::Malformed);
        }
        // value = digits · 10^-scale, with no leading or trailing zeros.
        let mut digits: Vec<u8> = int_digits.iter().chain(frac_digits).copied().collect();
        let leading = digits.iter().take_while(|d| **d == b'0').count();
        digits.drain(..leading);
        if digits.is_empty() {
            return Ok(Self::zero());
        }
        let trailing = digits.iter().rev().take_while(|d| **d == b'0').count();
        digits.truncate(digits.len() - trailing);
        // At most 256 characters: these fit an i64 with room to spare.
        let scale = (frac_digits.len() as i64)
            .checked_sub(exponent)
            .and_then(|s| s.checked_sub(trailing as i64))
            .ok_or(NumberError::OutOfRange)?;
        let count = digits.len() as i64;
        if digits.len() > MAX_DIGITS || scale > MAX_EXPONENT || count - scale > MAX_EXPONENT {
            return Err(NumberError::OutOfRange);
        }
        let magnitude = BigInt::parse_bytes(&digits, 10).ok_or(NumberError::Malformed)?;
        let signed = if negative { -magnitude } else { magnitude };
        Ok(Self(BigDecimal::new(signed, scale)))
    }

    /// A tolerance written in TOML as a float, read through its shortest
    /// decimal representation: `0.01` is exactly one hundredth, not the
    /// binary fraction nearest to it.
    pub fn from_config_float(value: f64) -> Result<Self, NumberError> {
        if !value.is_finite() {
            return Err(NumberError::Malformed);
        }
        // `Display` for f64 prints the shortest text that reads back as the
        // same float, never in exponent form.
        Self::parse(&value.to_string())
    }

    /// A whole number.
    pub fn from_integer(value: i128) -> Self {
        Self(BigDecimal::from(value))
    }

    /// Whether it is below zero.
    pub fn is_negative(&self) -> bool {
        self.0.sign() == Sign::Minus
    }

    /// `|self|`.
    pub fn abs(&self) -> Self {
        Self(self.0.abs())
    }

    /// `|self − other|`, exactly.
    pub fn distance(&self, other: &Self) -> Self {
        Self((&self.0 - &other.0).abs())
    }

    /// `self − other`, exactly.
    pub fn minus(&self, other: &Self) -> Self {
        Self(&self.0 - &other.0)
    }

    /// `self · other`, exactly.
    pub fn times(&self, other: &Self) -> Self {
        Self(&self.0 * &other.0)
    }

    /// `(self + other) / 2`, exactly.
    pub fn midpoint(&self, other: &Self) -> Self {
        Self((&self.0 + &other.0).half())
    }

    /// `self / 1000`, exactly.
    pub fn thousandth(&self) -> Self {
        let (digits, scale) = self.0.as_bigint_and_exponent();
        Self(BigDecimal::new(digits, scale + 3))
    }

    /// The number in plain notation, without trailing zeros.
    fn plain(&self) -> String {
        self.0.normalized().to_plain_string()
    }

    /// The whole part, towards zero (for showing ages in seconds).
    pub fn whole(&self) -> String {
        self.0
            .with_scale_round(0, bigdecimal::RoundingMode::Down)
            .to_plain_string()
    }
}

/// The longest plain notation shown; longer numbers are shown in scientific
/// notation, still exact.
const PLAIN_CHARS: usize = 100;

/// Exact and bounded: a number is never cut (two wei amounts that differ in
/// their last digit must look different), and the parse bounds keep it
/// short — at most [`MAX_DIGITS`] digits and a three-digit exponent.
impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = self.plain();
        if plain.len() <= PLAIN_CHARS {
            return f.write_str(&plain);
        }
        let (digits, scale) = self.0.normalized().into_bigint_and_exponent();
        let text = digits.magnitude().to_string();
        let exponent = text.len() as i64 - 1 - scale;
        let (first, rest) = text.split_at(1);
        let sign = if digits.sign() == Sign::Minus {
            "-"
        } else {
            ""
        };
        if rest.is_empty() {
            write!(f, "{sign}{first}e{exponent}")
        } else {
            write!(f, "{sign}{first}.{rest}e{exponent}")
        }
    }
}

/// A config number: a TOML integer (exact), float (through its shortest
/// decimal text) or decimal string (for values no float holds, like wei).
impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Exact;
        impl de::Visitor<'_> for Exact {
            type Value = Decimal;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a decimal string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
                Ok(Decimal::from_integer(i128::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
                Ok(Decimal::from_integer(i128::from(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
                Decimal::from_config_float(v).map_err(|e| E::custom(format!("the number {e}")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
                Decimal::parse(v).map_err(|e| E::custom(format!("the text {e}")))
            }
        }
        deserializer.deserialize_any(Exact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::parse(text).unwrap()
    }

    #[test]
    fn wei_sized_values_stay_distinct() {
        assert_ne!(d("1000000000000000001"), d("1000000000000000064"));
        assert_eq!(
            1000000000000000001f64, 1000000000000000064f64,
            "what f64 made of them"
        );
        assert_eq!(d("1e18"), d("1000000000000000000.000"));
        assert_eq!(d("-0"), Decimal::zero());
        assert_eq!(d("+.5"), d("0.5"));
        assert_eq!(d("5."), d("5"));
        assert_eq!(d(" 12.5 "), d("12.50"));
    }

    #[test]
    fn rejects_what_is_not_a_decimal_number() {
        for text in [
            "",
            "-",
            ".",
            "NaN",
            "inf",
            "-infinity",
            "0x10",
            "1,000",
            "1_000",
            "1e",
            "1e+",
            "--1",
            "1.2.3",
            "١",
        ] {
            assert_eq!(
                Decimal::parse(text),
                Err(NumberError::Malformed),
                "{text:?}"
            );
        }
    }

    #[test]
    fn rejects_huge_exponents_before_any_arithmetic() {
        for text in [
            "1e999999999",
            "1e-999999999",
            "1e99999999999999999999999",
            "1e100",
            "1e-101",
            &"9".repeat(101),
            &format!("0.{}", "1".repeat(101)),
            &"0".repeat(300),
        ] {
            assert_eq!(
                Decimal::parse(text),
                Err(NumberError::OutOfRange),
                "{text:?}"
            );
        }
        // The bounds themselves are inside.
        assert!(Decimal::parse(&"9".repeat(100)).is_ok());
        assert!(Decimal::parse("1e-100").is_ok());
        assert!(Decimal::parse("1e99").is_ok());
        // Zeros do not count against the digits.
        assert_eq!(d(&format!("{}1e-50", "0".repeat(200))), d("1e-50"));
    }

    #[test]
    fn config_floats_are_read_through_their_shortest_text() {
        assert_eq!(Decimal::from_config_float(0.01).unwrap(), d("0.01"));
        assert_eq!(Decimal::from_config_float(0.005).unwrap(), d("0.005"));
        assert_eq!(Decimal::from_config_float(25.0).unwrap(), d("25"));
        assert!(Decimal::from_config_float(f64::NAN).is_err());
    }

    #[test]
    fn arithmetic_is_exact() {
        assert_eq!(d("0.3").distance(&d("0.1")), d("0.2"));
        assert_eq!(d("0.01").times(&d("3000")), d("30"));
        assert_eq!(
            d("1000000000000000001").midpoint(&d("1000000000000000002")),
            d("1000000000000000001.5")
        );
        assert_eq!(d("1700000000123").thousandth(), d("1700000000.123"));
        assert_eq!(d("3020.0").to_string(), "3020");
        assert_eq!(d("1e-7").to_string(), "0.0000001");
        assert_eq!(d(&"7".repeat(100)).to_string(), "7".repeat(100));
        assert_eq!(d("-1e-100").to_string(), "-1e-100");
        assert_eq!(d("1.5e99").to_string(), format!("15{}", "0".repeat(98)));
        assert_eq!(d(&format!("0.{}1", "0".repeat(98))).to_string(), "1e-99");
        assert_eq!(
            d(&format!("{}.{}", "9".repeat(59), "1".repeat(40))).to_string(),
            format!("{}.{}", "9".repeat(59), "1".repeat(40))
        );
        assert_eq!(
            d(&format!("{}.{}", "9".repeat(60), "1".repeat(40))).to_string(),
            format!("9.{}{}e59", "9".repeat(59), "1".repeat(40))
        );
    }
}
