//! How BLS points travel: the contracts' `uint256` words (a public key as
//! `uint256[4] = [x.c0, x.c1, y.c0, y.c1]`, a G1 point as `uint256[2]`) and
//! Othentic's JSON (`{"x":"0x…","y":"0x…"}`, and an array of four hex words
//! for a key). Trusts nothing: every point is checked here, in the order
//! field, infinity, curve, subgroup, each with its own error, so that no
//! caller pairs an unchecked point.

use alloy_primitives::U256;
use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, PrimeField, Zero};
use serde::Deserialize;

/// The longest JSON accepted for a point: four 66-character words, quotes,
/// commas and generous whitespace. Anything longer is not a point.
const MAX_JSON_BYTES: usize = 1024;

/// Why a well-formed point is refused. Each is a reason to say "does not
/// verify", never a reason to pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PointError {
    /// A coordinate is p or more: the same point as its value mod p, which
    /// is how one point gets many encodings (and how aliasing bugs start).
    #[error("{coordinate} is not below the field modulus p")]
    CoordinateNotInField {
        /// `x`, `y`, `x.c0`, `x.c1`, `y.c0` or `y.c1`.
        coordinate: &'static str,
    },
    /// Every coordinate is zero: Ethereum's encoding of the point at
    /// infinity, which would make any pairing check trivial.
    #[error("the point is the point at infinity")]
    Infinity,
    /// The coordinates do not satisfy the curve's equation.
    #[error("the point is not on the curve")]
    NotOnCurve,
    /// On the curve but not in the subgroup of order r (possible on G2,
    /// whose cofactor is not 1).
    #[error("the point is not in the subgroup of order r")]
    NotInSubgroup,
}

/// Why a point could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not JSON, or JSON of another shape (missing `x`, three words instead
    /// of four, a number instead of a string, more than 1 KiB).
    #[error("{0}")]
    Unparseable(String),
    /// A word is not `0x` and 1 to 64 hex digits.
    #[error("{field} is not 0x-hex of at most 32 bytes")]
    NotHex {
        /// Which word.
        field: &'static str,
    },
    /// Read, and refused.
    #[error(transparent)]
    Point(#[from] PointError),
}

impl DecodeError {
    /// True when the input was not a point at all (as opposed to a point
    /// that is refused): the CLI's usage error.
    pub fn is_unparseable(&self) -> bool {
        !matches!(self, DecodeError::Point(_))
    }
}

/// One `0x`-hex word, 1 to 64 digits (either case), nothing else.
fn parse_word(text: &str, field: &'static str) -> Result<U256, DecodeError> {
    let digits = text
        .strip_prefix("0x")
        .filter(|d| !d.is_empty() && d.len() <= 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or(DecodeError::NotHex { field })?;
    U256::from_str_radix(digits, 16).map_err(|_| DecodeError::NotHex { field })
}

fn check_len(json: &str) -> Result<(), DecodeError> {
    if json.len() > MAX_JSON_BYTES {
        return Err(DecodeError::Unparseable(format!(
            "longer than {MAX_JSON_BYTES} bytes"
        )));
    }
    Ok(())
}

fn unparseable(e: serde_json::Error) -> DecodeError {
    // serde_json quotes at most a short fragment of the input.
    DecodeError::Unparseable(e.to_string())
}

/// `{"x":"0x…","y":"0x…"}`.
pub(super) fn xy_from_json(json: &str) -> Result<[U256; 2], DecodeError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Xy {
        x: String,
        y: String,
    }
    check_len(json)?;
    // serde also reads a struct from a sequence (`["0x1","0x2"]`), which is
    // not Othentic's format.
    if !json.trim_start().starts_with('{') {
        return Err(DecodeError::Unparseable(
            r#"expected a JSON object {"x":"0x…","y":"0x…"}"#.into(),
        ));
    }
    let xy: Xy = serde_json::from_str(json).map_err(unparseable)?;
    Ok([parse_word(&xy.x, "x")?, parse_word(&xy.y, "y")?])
}

/// `["0x…", "0x…", "0x…", "0x…"]`.
pub(super) fn words_from_json(json: &str) -> Result<[U256; 4], DecodeError> {
    check_len(json)?;
    let words: Vec<String> = serde_json::from_str(json).map_err(unparseable)?;
    let [a, b, c, d] = words.as_slice() else {
        return Err(DecodeError::Unparseable(format!(
            "expected 4 words [x.c0, x.c1, y.c0, y.c1], got {}",
            words.len()
        )));
    };
    Ok([
        parse_word(a, "x.c0")?,
        parse_word(b, "x.c1")?,
        parse_word(c, "y.c0")?,
        parse_word(d, "y.c1")?,
    ])
}

pub(super) fn words_to_json(words: &[U256]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|w| format!("\"{}\"", alloy_primitives::B256::from(*w)))
        .collect();
    format!("[{}]", quoted.join(","))
}

fn fq(word: &U256, coordinate: &'static str) -> Result<Fq, PointError> {
    // from_bigint refuses values ≥ p; `From<BigInt>` and `from_str` would
    // reduce them silently.
    Fq::from_bigint(BigInt(word.into_limbs()))
        .ok_or(PointError::CoordinateNotInField { coordinate })
}

fn word(f: &Fq) -> U256 {
    U256::from_limbs(f.into_bigint().0)
}

pub(super) fn g1_from_words(x: &U256, y: &U256) -> Result<G1Affine, PointError> {
    let (x, y) = (fq(x, "x")?, fq(y, "y")?);
    if x.is_zero() && y.is_zero() {
        return Err(PointError::Infinity);
    }
    let point = G1Affine::new_unchecked(x, y);
    if !point.is_on_curve() {
        return Err(PointError::NotOnCurve);
    }
    if !point.is_in_correct_subgroup_assuming_on_curve() {
        return Err(PointError::NotInSubgroup);
    }
    Ok(point)
}

pub(super) fn g1_to_words(point: &G1Affine) -> [U256; 2] {
    point
        .xy()
        .map_or([U256::ZERO; 2], |(x, y)| [word(&x), word(&y)])
}

pub(super) fn g2_from_words(words: &[U256; 4]) -> Result<G2Affine, PointError> {
    let x = Fq2::new(fq(&words[0], "x.c0")?, fq(&words[1], "x.c1")?);
    let y = Fq2::new(fq(&words[2], "y.c0")?, fq(&words[3], "y.c1")?);
    check_g2(G2Affine::new_unchecked(x, y))
}

pub(super) fn check_g2(point: G2Affine) -> Result<G2Affine, PointError> {
    let Some((x, y)) = point.xy() else {
        return Err(PointError::Infinity);
    };
    if x.is_zero() && y.is_zero() {
        return Err(PointError::Infinity);
    }
    if !point.is_on_curve() {
        return Err(PointError::NotOnCurve);
    }
    if !point.is_in_correct_subgroup_assuming_on_curve() {
        return Err(PointError::NotInSubgroup);
    }
    Ok(point)
}

pub(super) fn g2_to_words(point: &G2Affine) -> [U256; 4] {
    point.xy().map_or([U256::ZERO; 4], |(x, y)| {
        [word(&x.c0), word(&x.c1), word(&y.c0), word(&y.c1)]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_must_be_0x_hex_of_at_most_64_digits() {
        assert!(parse_word("0x0", "x").is_ok());
        assert!(parse_word(&format!("0x{}", "f".repeat(64)), "x").is_ok());
        assert!(parse_word("0XAB", "x").is_err());
        for bad in [
            "",
            "0x",
            "12",
            "0x+1",
            "0x 1",
            "0xg",
            &format!("0x{}", "0".repeat(65)),
        ] {
            assert_eq!(
                parse_word(bad, "x"),
                Err(DecodeError::NotHex { field: "x" }),
                "{bad:?}"
            );
        }
    }
}
