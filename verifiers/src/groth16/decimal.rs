//! Strict decimal field elements, as snarkjs writes them.
//!
//! snarkjs prints every number as a canonical decimal string: digits only, no
//! sign, no leading zero, below the field's modulus. Nothing else is accepted:
//! arkworks' `Fp::from_str` reduces values ≥ the modulus silently (which lets
//! one proof pass for many public inputs, snarkjs issue 358), and general
//! big-integer parsers accept `+`, `_` separators or leading zeros. No
//! maintained crate parses exactly this language, so it is written here; it
//! is also the hot path of parsing (a proof carries 8 coordinates and its
//! public signals), hence the limb arithmetic instead of a big-integer type.

use std::fmt;

use ark_ff::{BigInt, PrimeField};

/// Why a string is not a canonical decimal element of the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecimalError {
    /// The JSON value is not a string (snarkjs writes numbers as strings).
    NotAString,
    /// The empty string.
    Empty,
    /// A character other than `0`-`9` (a sign, a space, `0x`, an exponent...).
    NotDecimal,
    /// A leading zero, which snarkjs never writes: `007` and `5` must not be
    /// two spellings of one value.
    LeadingZero,
    /// The value is not below the field's modulus. Reducing it would make
    /// several strings name one element (input aliasing).
    NotBelowModulus,
}

impl fmt::Display for DecimalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAString => "must be a decimal string, not another JSON type",
            Self::Empty => "is an empty string",
            Self::NotDecimal => "is not a decimal number (only the digits 0-9 are allowed)",
            Self::LeadingZero => "has a leading zero",
            Self::NotBelowModulus => "is not below the field modulus (no silent reduction)",
        })
    }
}

/// Parses a canonical decimal string into an element of `F`.
pub(crate) fn parse_field<F: PrimeField<BigInt = BigInt<4>>>(
    text: &str,
) -> Result<F, DecimalError> {
    let value = parse_u256(text)?;
    F::from_bigint(value).ok_or(DecimalError::NotBelowModulus)
}

/// 10^k for k in 0..=19.
const POW10: [u64; 20] = {
    let mut table = [1u64; 20];
    let mut k = 1;
    while k < 20 {
        table[k] = table[k - 1] * 10;
        k += 1;
    }
    table
};

/// Parses a canonical decimal string into a 256-bit integer, 19 digits at a
/// time; a value that does not fit is [`DecimalError::NotBelowModulus`].
fn parse_u256(text: &str) -> Result<BigInt<4>, DecimalError> {
    let bytes = text.as_bytes();
    match bytes {
        [] => return Err(DecimalError::Empty),
        [b'0', _, ..] if bytes.iter().all(u8::is_ascii_digit) => {
            return Err(DecimalError::LeadingZero);
        }
        _ => {}
    }
    let mut limbs = [0u64; 4];
    for chunk in bytes.chunks(19) {
        let mut chunk_value = 0u64;
        for &b in chunk {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                return Err(DecimalError::NotDecimal);
            }
            chunk_value = chunk_value * 10 + u64::from(digit);
        }
        // limbs = limbs * 10^len + chunk_value, with overflow out of 256 bits
        // meaning the value is far above any 254-bit modulus.
        let scale = POW10[chunk.len()];
        let mut carry = chunk_value;
        for limb in &mut limbs {
            let wide = u128::from(*limb) * u128::from(scale) + u128::from(carry);
            *limb = wide as u64;
            carry = (wide >> 64) as u64;
        }
        if carry != 0 {
            // Keep scanning so that a non-digit later in the string is
            // reported as such rather than as an overflow.
            return if bytes.iter().all(u8::is_ascii_digit) {
                Err(DecimalError::NotBelowModulus)
            } else {
                Err(DecimalError::NotDecimal)
            };
        }
    }
    Ok(BigInt::new(limbs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fq, Fr};
    use ark_ff::{BigInteger, Zero};

    const R: &str = "21888242871839275222246405745257275088548364400416034343698204186575808495617";
    const Q: &str = "21888242871839275222246405745257275088696311157297823662689037894645226208583";

    fn fr(text: &str) -> Result<Fr, DecimalError> {
        parse_field::<Fr>(text)
    }

    #[test]
    fn parses_canonical_decimals() {
        assert_eq!(fr("0").unwrap(), Fr::zero());
        assert_eq!(fr("5").unwrap(), Fr::from(5u64));
        assert_eq!(
            fr("18446744073709551616").unwrap(),
            Fr::from(u128::from(u64::MAX) + 1)
        );
        let r_minus_1 =
            fr("21888242871839275222246405745257275088548364400416034343698204186575808495616")
                .unwrap();
        assert_eq!(r_minus_1 + Fr::from(1u64), Fr::zero());
        let q_minus_1 = parse_field::<Fq>(
            "21888242871839275222246405745257275088696311157297823662689037894645226208582",
        )
        .unwrap();
        assert_eq!(q_minus_1 + Fq::from(1u64), Fq::zero());
    }

    #[test]
    fn round_trips_random_values() {
        let mut x = Fr::from(0x1234_5678_9abc_def0u64);
        for _ in 0..200 {
            x = x * x + Fr::from(7u64);
            let text = x.into_bigint().to_string();
            assert_eq!(fr(&text).unwrap(), x, "{text}");
        }
    }

    #[test]
    fn rejects_public_input_aliased_by_r() {
        assert_eq!(fr(R), Err(DecimalError::NotBelowModulus));
        // 5 + r names the same element as 5 once reduced.
        let five_plus_r = {
            let mut r = Fr::MODULUS;
            r.add_with_carry(&BigInt::from(5u64));
            r.to_string()
        };
        assert_eq!(fr(&five_plus_r), Err(DecimalError::NotBelowModulus));
        assert_eq!(fr(&"9".repeat(78)), Err(DecimalError::NotBelowModulus));
        assert_eq!(fr(&"9".repeat(400)), Err(DecimalError::NotBelowModulus));
    }

    #[test]
    fn rejects_coordinate_at_or_above_q() {
        assert_eq!(parse_field::<Fq>(Q), Err(DecimalError::NotBelowModulus));
        // Between r and q: a valid base-field element, not a scalar.
        let between =
            "21888242871839275222246405745257275088548364400416034343698204186575808495618";
        assert!(parse_field::<Fq>(between).is_ok());
        assert_eq!(fr(between), Err(DecimalError::NotBelowModulus));
    }

    #[test]
    fn rejects_non_canonical_spellings() {
        for (text, error) in [
            ("", DecimalError::Empty),
            ("007", DecimalError::LeadingZero),
            ("00", DecimalError::LeadingZero),
            ("0x05", DecimalError::NotDecimal),
            ("+5", DecimalError::NotDecimal),
            ("-5", DecimalError::NotDecimal),
            (" 5", DecimalError::NotDecimal),
            ("5 ", DecimalError::NotDecimal),
            ("1e3", DecimalError::NotDecimal),
            ("1_000", DecimalError::NotDecimal),
            ("5.0", DecimalError::NotDecimal),
            ("٣", DecimalError::NotDecimal),
            ("0\u{0}", DecimalError::NotDecimal),
        ] {
            assert_eq!(fr(text), Err(error), "{text:?}");
        }
        let long_then_junk = format!("{}x", "9".repeat(100));
        assert_eq!(fr(&long_then_junk), Err(DecimalError::NotDecimal));
    }
}
