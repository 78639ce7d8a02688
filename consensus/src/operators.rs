//! The operator set: every operator's index, address, BLS public key and
//! voting power, as the AttestationCenter holds them, read from the TOML
//! file an attester's config names.
//!
//! Trusts nothing in the file: every BLS key is checked (field, infinity,
//! curve, subgroup) when the set is read, so a key in an [`OperatorSet`]
//! can be paired with, and indexes, addresses and keys are unique. Each
//! mistake names its entry and key.
//!
//! ```toml
//! [[operators]]
//! index = 1
//! address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
//! bls_public_key = ["0x…", "0x…", "0x…", "0x…"]   # uint256[4] = [x.c0, x.c1, y.c0, y.c1]
//! voting_power = "1000000000000000000000"          # uint256: an integer or a decimal string
//! ```

use std::collections::HashMap;

use alloy_primitives::{Address, U256};
use serde::Deserialize;

use crate::bls::PublicKey;

/// One operator, as the contracts hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// The operator's index in the AttestationCenter.
    pub index: u64,
    /// The operator's (ECDSA) address.
    pub address: Address,
    /// The BLS public key the operator registered, checked.
    pub bls_public_key: PublicKey,
    /// The operator's voting power.
    pub voting_power: U256,
}

/// Every operator, looked up by index or by address.
#[derive(Debug, Clone, Default)]
pub struct OperatorSet {
    operators: Vec<Operator>,
    by_index: HashMap<u64, usize>,
    by_address: HashMap<Address, usize>,
}

/// A mistake in an operator set file: which entry, which key, what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct OperatorSetError {
    /// The key, located: `operators[2].bls_public_key` (entries counted
    /// from 0, in file order); empty for a file that is not TOML.
    pub key: String,
    /// The entry's operator index, when it was read.
    pub operator: Option<u64>,
    /// What is wrong.
    pub message: String,
}

impl OperatorSetError {
    fn describe(&self) -> String {
        let mut text = String::new();
        if !self.key.is_empty() {
            text.push_str(&format!("`{}`: ", self.key));
        }
        if let Some(index) = self.operator {
            text.push_str(&format!("operator {index}: "));
        }
        text.push_str(&self.message);
        text
    }
}

/// An entry as written; addresses and keys are checked by hand so that
/// their errors say what was expected.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperator {
    index: u64,
    address: String,
    bls_public_key: Vec<String>,
    #[serde(deserialize_with = "taskproof_core::deserialize_uint256")]
    voting_power: U256,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSet {
    #[serde(default)]
    operators: Vec<toml::Value>,
}

impl OperatorSet {
    /// Reads and checks an operator set file's text: `[[operators]]` tables
    /// with `index`, `address`, `bls_public_key` and `voting_power`.
    pub fn from_toml_str(text: &str) -> Result<OperatorSet, OperatorSetError> {
        let error = |key: String, operator: Option<u64>, message: String| OperatorSetError {
            key,
            operator,
            message,
        };
        let raw: RawSet = toml::from_str(text).map_err(|e| {
            error(
                String::new(),
                None,
                e.message().to_owned() + &line_of(text, e.span()),
            )
        })?;
        if raw.operators.is_empty() {
            return Err(error(
                "operators".into(),
                None,
                "no operators: add an [[operators]] table for each operator".into(),
            ));
        }
        let mut set = OperatorSet::default();
        let mut by_key: HashMap<[U256; 4], u64> = HashMap::new();
        for (position, value) in raw.operators.into_iter().enumerate() {
            let at = |key: &str| format!("operators[{position}].{key}");
            let entry: RawOperator = serde_path_to_error::deserialize(value).map_err(|e| {
                let key = e.path().to_string();
                let key = if key == "." { at("") } else { at(&key) };
                error(
                    key.trim_end_matches('.').to_owned(),
                    None,
                    e.into_inner().to_string(),
                )
            })?;
            let index = entry.index;
            let address = parse_address(&entry.address)
                .map_err(|message| error(at("address"), Some(index), message))?;
            let bls_public_key = parse_public_key(&entry.bls_public_key)
                .map_err(|message| error(at("bls_public_key"), Some(index), message))?;
            if let Some(&earlier) = set.by_index.get(&index) {
                return Err(error(
                    at("index"),
                    Some(index),
                    format!("the index is also operators[{earlier}]'s"),
                ));
            }
            if let Some(&earlier) = set.by_address.get(&address) {
                return Err(error(
                    at("address"),
                    Some(index),
                    format!(
                        "{address} is also operator {}'s",
                        set.operators[earlier].index
                    ),
                ));
            }
            // One key registered twice would count one signer's voice twice.
            if let Some(other) = by_key.insert(bls_public_key.to_words(), index) {
                return Err(error(
                    at("bls_public_key"),
                    Some(index),
                    format!("the key is also operator {other}'s"),
                ));
            }
            set.by_index.insert(index, set.operators.len());
            set.by_address.insert(address, set.operators.len());
            set.operators.push(Operator {
                index,
                address,
                bls_public_key,
                voting_power: entry.voting_power,
            });
        }
        Ok(set)
    }

    /// The operator with this index.
    pub fn by_index(&self, index: u64) -> Option<&Operator> {
        self.by_index.get(&index).map(|&i| &self.operators[i])
    }

    /// The operator with this address.
    pub fn by_address(&self, address: &Address) -> Option<&Operator> {
        self.by_address.get(address).map(|&i| &self.operators[i])
    }

    /// Every operator, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Operator> {
        self.operators.iter()
    }

    /// How many operators.
    pub fn len(&self) -> usize {
        self.operators.len()
    }

    /// Whether there are none (never, for a set read from a file).
    pub fn is_empty(&self) -> bool {
        self.operators.is_empty()
    }

    /// The voting power of every operator together (saturating).
    pub fn total_voting_power(&self) -> U256 {
        self.operators
            .iter()
            .fold(U256::ZERO, |sum, o| sum.saturating_add(o.voting_power))
    }
}

/// ` (line N)` for a TOML error's span.
fn line_of(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.and_then(|s| text.get(..s.start))
        .map(|before| format!(" (line {})", before.lines().count().max(1)))
        .unwrap_or_default()
}

/// `0x` and 40 hex digits; a mixed-case address must carry its EIP-55
/// checksum, which catches a mistyped digit.
fn parse_address(text: &str) -> Result<Address, String> {
    let expected = || {
        format!(
            "expected 0x and 40 hex digits, got {}",
            taskproof_core::quote(text)
        )
    };
    let digits = text
        .strip_prefix("0x")
        .filter(|d| d.len() == 40 && d.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(expected)?;
    let mixed = digits.bytes().any(|b| b.is_ascii_lowercase())
        && digits.bytes().any(|b| b.is_ascii_uppercase());
    if mixed {
        Address::parse_checksummed(text, None).map_err(|_| {
            format!(
                "{text} has mixed case but not its EIP-55 checksum: a digit is probably mistyped"
            )
        })
    } else {
        text.parse().map_err(|_| expected())
    }
}

/// `[x.c0, x.c1, y.c0, y.c1]`, each `0x`-hex, checked as a G2 point.
fn parse_public_key(words: &[String]) -> Result<PublicKey, String> {
    if words.len() != 4 {
        return Err(format!(
            "expected uint256[4] = [x.c0, x.c1, y.c0, y.c1] (as `taskproof bls public-key` prints it), got {} words",
            words.len()
        ));
    }
    // The words are short strings here (TOML read them), so JSON of them is
    // the key's wire form, and its parser names the word at fault.
    let json = serde_json::to_string(words).map_err(|e| e.to_string())?;
    PublicKey::from_json(&json).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bls::SecretKey;

    fn key(n: u8) -> PublicKey {
        SecretKey::from_operator_key(&format!("0x{n:064x}"))
            .unwrap()
            .public_key()
    }

    fn entry(index: u64, address: &str, key: &PublicKey, power: &str) -> String {
        let words: Vec<String> = key
            .to_words()
            .iter()
            .map(|w| format!("\"{}\"", alloy_primitives::B256::from(*w)))
            .collect();
        format!(
            "[[operators]]\nindex = {index}\naddress = \"{address}\"\nbls_public_key = [{}]\nvoting_power = {power}\n",
            words.join(", ")
        )
    }

    const A: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
    const B: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    #[test]
    fn reads_a_set_and_finds_operators_by_index_and_address() {
        let text = entry(1, A, &key(1), "10") + &entry(7, B, &key(2), "\"1000000000000000000000\"");
        let set = OperatorSet::from_toml_str(&text).unwrap();
        assert_eq!(set.len(), 2);
        let seven = set.by_address(&B.parse().unwrap()).unwrap();
        assert_eq!(seven.index, 7);
        assert_eq!(seven.bls_public_key, key(2));
        assert_eq!(seven.voting_power, U256::from(10u8).pow(U256::from(21u8)));
        assert_eq!(
            set.by_index(1).unwrap().address,
            A.parse::<Address>().unwrap()
        );
        assert!(set.by_index(2).is_none());
        assert_eq!(
            set.total_voting_power(),
            U256::from(10u8).pow(U256::from(21u8)) + U256::from(10u8)
        );
    }

    fn refused(text: &str) -> OperatorSetError {
        OperatorSet::from_toml_str(text).unwrap_err()
    }

    #[test]
    fn rejects_a_duplicate_index_address_or_key() {
        let e = refused(&(entry(1, A, &key(1), "1") + &entry(1, B, &key(2), "1")));
        assert_eq!(
            e.to_string(),
            "`operators[1].index`: operator 1: the index is also operators[0]'s"
        );
        let e = refused(
            &(entry(1, A, &key(1), "1")
                + &entry(2, &A.to_uppercase().replace("0X", "0x"), &key(2), "1")),
        );
        assert_eq!(e.key, "operators[1].address");
        assert!(e.message.ends_with("is also operator 1's"), "{e}");
        let e = refused(&(entry(1, A, &key(1), "1") + &entry(2, B, &key(1), "1")));
        assert_eq!(
            e.to_string(),
            "`operators[1].bls_public_key`: operator 2: the key is also operator 1's"
        );
    }

    #[test]
    fn rejects_an_address_with_a_broken_checksum() {
        let typo = B.replace("C51812", "C51813");
        let e = refused(&entry(1, &typo, &key(1), "1"));
        assert_eq!(e.key, "operators[0].address");
        assert!(e.message.contains("EIP-55"), "{e}");
        let e = refused(&entry(1, "0x1234", &key(1), "1"));
        assert!(
            e.message.starts_with("expected 0x and 40 hex digits"),
            "{e}"
        );
    }

    #[test]
    fn rejects_keys_that_are_not_points_of_g2() {
        let good = entry(3, A, &key(1), "1");
        let word = |i: usize| alloy_primitives::B256::from(key(1).to_words()[i]).to_string();
        // y.c0 changed: off the twist.
        let off_curve = good.replace(&word(2), &format!("0x{:064x}", 5));
        let e = refused(&off_curve);
        assert_eq!(
            e.to_string(),
            "`operators[0].bls_public_key`: operator 3: the point is not on the curve"
        );
        let zero = format!("0x{}", "0".repeat(64));
        let mut infinity = good.clone();
        for i in 0..4 {
            infinity = infinity.replace(&word(i), &zero);
        }
        assert!(refused(&infinity).message.contains("infinity"));
        let p = "0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47";
        let e = refused(&good.replace(&word(1), p));
        assert_eq!(e.message, "x.c1 is not below the field modulus p");
        let three = good.replace(&format!(", \"{}\"", word(3)), "");
        assert!(refused(&three).message.contains("got 3 words"), "{three}");
        // A point of the twist outside the subgroup of order r.
        use ark_ec::AffineRepr;
        use ark_ff::{Field, PrimeField};
        let mut k = ark_bn254::Fq::ONE;
        let rogue = loop {
            let x = ark_bn254::Fq2::new(k, ark_bn254::Fq::ONE);
            if let Some(p) = ark_bn254::G2Affine::get_point_from_x_unchecked(x, false)
                && !p.is_in_correct_subgroup_assuming_on_curve()
            {
                break p;
            }
            k += ark_bn254::Fq::ONE;
        };
        let (x, y) = rogue.xy().unwrap();
        let mut outside = good.clone();
        for (i, f) in [x.c0, x.c1, y.c0, y.c1].iter().enumerate() {
            let hex = format!("{:#066x}", U256::from_limbs(f.into_bigint().0));
            outside = outside.replace(&word(i), &hex);
        }
        assert_eq!(
            refused(&outside).message,
            "the point is not in the subgroup of order r"
        );
    }

    #[test]
    fn names_the_key_of_a_missing_or_mistyped_field() {
        let e = refused("[[operators]]\nindex = 1\naddress = \"0x00\"\nvoting_power = 1\n");
        assert_eq!(e.key, "operators[0]");
        assert!(e.message.contains("bls_public_key"), "{e}");
        let e = refused(&entry(1, A, &key(1), "\"-1\""));
        assert_eq!(e.key, "operators[0].voting_power");
        let e = refused(&(entry(1, A, &key(1), "1") + "colour = \"red\"\n"));
        assert!(e.message.contains("colour"), "{e}");
        assert!(refused("").message.starts_with("no operators"));
        assert!(refused("[[operators]\n").key.is_empty());
    }
}
