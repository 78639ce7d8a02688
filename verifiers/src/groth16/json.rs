//! The JSON shapes snarkjs writes, read without trusting them.
//!
//! Numbers are kept as the strings the document holds (borrowed when they
//! have no escapes); [`super::decimal`] decides whether they are canonical.
//! A number that is not a JSON string is remembered as such, so the reason
//! given for rejecting it names the field instead of a serde position.

use std::{borrow::Cow, fmt};

use serde::{
    Deserialize, Deserializer,
    de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor},
};

/// A number as a JSON document spells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Num<'a> {
    /// A JSON string, to be parsed as a canonical decimal.
    Text(Cow<'a, str>),
    /// Any other JSON value (a number, `null`, an array...).
    NotAString,
}

impl<'de: 'a, 'a> Deserialize<'de> for Num<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumVisitor;

        impl<'de> Visitor<'de> for NumVisitor {
            type Value = Num<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Num::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Num::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Num::Text(Cow::Owned(v)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Num::NotAString)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Num::NotAString)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Num::NotAString)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Num::NotAString)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Num::NotAString)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Num::NotAString)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Num::NotAString)
            }
        }

        deserializer.deserialize_any(NumVisitor)
    }
}

impl Num<'_> {
    /// The string, if the value was one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            Self::NotAString => None,
        }
    }
}

/// A G1 point as snarkjs writes it: `[x, y, z]`, affine with `z = "1"`, or
/// `["0", "1", "0"]` for the point at infinity.
pub(crate) type G1Json<'a> = Vec<Num<'a>>;

/// A G2 point as snarkjs writes it: `[[x.c0, x.c1], [y.c0, y.c1], [z.c0, z.c1]]`.
pub(crate) type G2Json<'a> = Vec<Vec<Num<'a>>>;

/// The `proof` object of `snarkjs.groth16.fullProve` (and `proof.json`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProofJson<'a> {
    #[serde(borrow)]
    pub(crate) pi_a: G1Json<'a>,
    #[serde(borrow)]
    pub(crate) pi_b: G2Json<'a>,
    #[serde(borrow)]
    pub(crate) pi_c: G1Json<'a>,
    /// Always written by snarkjs; rapidsnark writes it too but omits `curve`.
    #[serde(default, borrow)]
    pub(crate) protocol: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(crate) curve: Option<Cow<'a, str>>,
}

/// What `snarkjs.groth16.fullProve` returns: the proof of task.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FullProveJson<'a> {
    #[serde(borrow)]
    pub(crate) proof: ProofJson<'a>,
    #[serde(rename = "publicSignals", borrow)]
    pub(crate) public_signals: Vec<Num<'a>>,
}

/// snarkjs's `verification_key.json` (`zkey export verificationkey`).
///
/// Unknown fields are ignored: the key is the attester's own trusted file,
/// and tools add fields (`vk_alphabeta_12`, which is recomputed here).
#[derive(Debug, Deserialize)]
pub(crate) struct VerificationKeyJson<'a> {
    #[serde(borrow)]
    pub(crate) protocol: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) curve: Cow<'a, str>,
    #[serde(rename = "nPublic")]
    pub(crate) n_public: u64,
    #[serde(borrow)]
    pub(crate) vk_alpha_1: G1Json<'a>,
    #[serde(borrow)]
    pub(crate) vk_beta_2: G2Json<'a>,
    #[serde(borrow)]
    pub(crate) vk_gamma_2: G2Json<'a>,
    #[serde(borrow)]
    pub(crate) vk_delta_2: G2Json<'a>,
    #[serde(rename = "IC", borrow)]
    pub(crate) ic: Vec<G1Json<'a>>,
}

/// The curve names snarkjs and its peers use for BN254.
pub(crate) fn is_bn254_name(name: &str) -> bool {
    matches!(name, "bn128" | "bn254" | "altbn128" | "alt_bn128")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_strings_and_flags_other_types() {
        let nums: Vec<Num<'_>> = serde_json::from_str(
            r#"["5", 5, null, [1,[2]], {"a": {"b": 1}}, "\u0035", true, 1.5]"#,
        )
        .unwrap();
        assert_eq!(nums[0].as_str(), Some("5"));
        assert!(matches!(nums[0], Num::Text(Cow::Borrowed(_))));
        for n in &nums[1..5] {
            assert_eq!(n, &Num::NotAString);
        }
        assert_eq!(nums[5].as_str(), Some("5"));
        assert_eq!(nums[6], Num::NotAString);
        assert_eq!(nums[7], Num::NotAString);
    }

    #[test]
    fn rejects_unknown_and_duplicate_fields() {
        let unknown =
            r#"{"proof": {"pi_a": [], "pi_b": [], "pi_c": [], "pi_d": []}, "publicSignals": []}"#;
        let e = serde_json::from_str::<FullProveJson<'_>>(unknown).unwrap_err();
        assert!(e.to_string().contains("pi_d"), "{e}");
        let duplicate = r#"{"proof": {"pi_a": [], "pi_b": [], "pi_c": []}, "publicSignals": [], "publicSignals": ["1"]}"#;
        let e = serde_json::from_str::<FullProveJson<'_>>(duplicate).unwrap_err();
        assert!(e.to_string().contains("duplicate"), "{e}");
    }
}
