//! Comparing a claimed value with what the sources observed.
//!
//! Numbers pass when the difference is within the absolute bound *or* within
//! the relative bound of the observed value (`|claimed − observed| ≤
//! max(absolute, relative · |observed|)`), computed exactly in decimal;
//! strings and booleans must be equal.
//! Only a disagreement between a well-formed claim and a decisive observation
//! is `Invalid`; too few answers, or sources that disagree among themselves,
//! leave the field undecided.

use super::{
    json::Scalar,
    number::Decimal,
    params::{Combine, Field, Tolerance},
};

impl Tolerance {
    /// The largest allowed difference from `observed`, exactly.
    pub(crate) fn allowed(&self, observed: &Decimal) -> Decimal {
        let absolute = self.absolute.clone().unwrap_or_else(Decimal::zero);
        let relative = self
            .relative
            .as_ref()
            .map_or_else(Decimal::zero, |r| r.times(&observed.abs()));
        absolute.max(relative)
    }

    fn admits(&self, claimed: &Decimal, observed: &Decimal) -> bool {
        claimed.distance(observed) <= self.allowed(observed)
    }

    fn describe(&self, observed: &Decimal) -> String {
        let percent = |r: &Decimal| r.times(&Decimal::from_integer(100));
        match (&self.absolute, &self.relative) {
            (None, None) => "exact".into(),
            (Some(a), None) => format!("±{a}"),
            (None, Some(r)) => format!("±{}% (±{})", percent(r), self.allowed(observed)),
            (Some(a), Some(r)) => format!("±{a} or ±{}% (±{})", percent(r), self.allowed(observed)),
        }
    }
}

/// What one field's comparison concluded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldOutcome {
    Agrees,
    /// The claim is outside tolerance: the reason for an `Invalid` verdict.
    Disagrees(String),
    /// The attester cannot tell: the cause of an `Undecided` verdict.
    Unknown(String),
}

/// Compares one field's claim with the observations of the sources that
/// answered (`(source index, value)`).
pub(crate) fn compare(
    field: &Field,
    combine: Combine,
    claimed: &Scalar,
    observed: &[(usize, Scalar)],
) -> FieldOutcome {
    if observed.len() < field.required {
        return FieldOutcome::Unknown(format!(
            "field `{}`: {} of {} sources answered, {} required",
            field.name,
            observed.len(),
            field.providers.len(),
            field.required
        ));
    }
    match combine {
        Combine::Median => match median(observed) {
            Some(value) => judge(field, claimed, &value, &|| {
                format!("median of {} sources", observed.len())
            }),
            None => FieldOutcome::Unknown(format!(
                "field `{}`: the sources disagree and no value has a majority",
                field.name
            )),
        },
        Combine::All => {
            for (i, (si, a)) in observed.iter().enumerate() {
                for (sj, b) in observed.iter().skip(i + 1) {
                    if !agree(&field.tolerance, a, b) {
                        return FieldOutcome::Unknown(format!(
                            "field `{}`: sources {si} ({a}) and {sj} ({b}) disagree beyond the tolerance",
                            field.name
                        ));
                    }
                }
            }
            for (si, value) in observed {
                let outcome = judge(field, claimed, value, &|| format!("source {si}"));
                if outcome != FieldOutcome::Agrees {
                    return outcome;
                }
            }
            FieldOutcome::Agrees
        }
    }
}

fn agree(tolerance: &Tolerance, a: &Scalar, b: &Scalar) -> bool {
    match (a, b) {
        (Scalar::Number(a), Scalar::Number(b)) => tolerance.admits(a, b) || tolerance.admits(b, a),
        _ => a == b,
    }
}

/// `from` names the observation; it is only formatted for a disagreement.
fn judge(
    field: &Field,
    claimed: &Scalar,
    observed: &Scalar,
    from: &dyn Fn() -> String,
) -> FieldOutcome {
    let ok = match (claimed, observed) {
        (Scalar::Number(c), Scalar::Number(o)) => field.tolerance.admits(c, o),
        _ => claimed == observed,
    };
    if ok {
        FieldOutcome::Agrees
    } else {
        let tolerance = match observed {
            Scalar::Number(o) => field.tolerance.describe(o),
            _ => "exact".into(),
        };
        FieldOutcome::Disagrees(format!(
            "field `{}` ({}): claimed {claimed}, observed {observed} ({}), tolerance {tolerance}",
            field.name,
            field.pointer,
            from()
        ))
    }
}

/// The median of numbers (of an even count: the exact midpoint of the two
/// middle ones); for strings and booleans, the value a strict majority
/// reports.
fn median(observed: &[(usize, Scalar)]) -> Option<Scalar> {
    let mut numbers: Vec<&Decimal> = observed
        .iter()
        .filter_map(|(_, v)| match v {
            Scalar::Number(n) => Some(n),
            _ => None,
        })
        .collect();
    if !numbers.is_empty() {
        numbers.sort();
        let mid = numbers.len() / 2;
        let upper = *numbers.get(mid)?;
        return Some(Scalar::Number(if numbers.len().is_multiple_of(2) {
            let lower = *numbers.get(mid.checked_sub(1)?)?;
            lower.midpoint(upper)
        } else {
            upper.clone()
        }));
    }
    observed.iter().find_map(|(_, candidate)| {
        let votes = observed.iter().filter(|(_, v)| v == candidate).count();
        (votes * 2 > observed.len()).then(|| candidate.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::params::FieldKind;

    fn d(text: &str) -> Decimal {
        Decimal::parse(text).unwrap()
    }

    fn n(text: &str) -> Scalar {
        Scalar::Number(d(text))
    }

    fn field(absolute: Option<&str>, relative: Option<&str>, required: usize) -> Field {
        Field {
            name: "eth".into(),
            pointer: "/eth".into(),
            kind: FieldKind::Number,
            tolerance: Tolerance {
                absolute: absolute.map(d),
                relative: relative.map(d),
            },
            providers: vec![(0, "/p".into()), (1, "/p".into()), (2, "/p".into())],
            required,
        }
    }

    fn obs(values: &[&str]) -> Vec<(usize, Scalar)> {
        values.iter().enumerate().map(|(i, v)| (i, n(v))).collect()
    }

    #[test]
    fn median_absorbs_one_outlier() {
        let f = field(Some("1"), None, 2);
        let o = obs(&["3000", "3000.5", "9999"]);
        assert_eq!(
            compare(&f, Combine::Median, &n("3000.2"), &o),
            FieldOutcome::Agrees
        );
    }

    #[test]
    fn reason_names_field_claim_observation_and_tolerance() {
        let f = field(None, Some("0.01"), 2);
        let o = obs(&["3000", "3000"]);
        let FieldOutcome::Disagrees(reason) = compare(&f, Combine::Median, &n("3100.0"), &o) else {
            panic!("expected a disagreement");
        };
        assert_eq!(
            reason,
            "field `eth` (/eth): claimed 3100, observed 3000 (median of 2 sources), tolerance ±1% (±30)"
        );
    }

    #[test]
    fn either_bound_admits() {
        let t = Tolerance {
            absolute: Some(d("5")),
            relative: Some(d("0.001")),
        };
        assert!(t.admits(&d("3004"), &d("3000"))); // absolute
        assert!(t.admits(&d("100080"), &d("100000"))); // relative: 100
        assert!(!t.admits(&d("3006"), &d("3000")));
    }

    #[test]
    fn rejects_a_claim_one_wei_past_the_tolerance() {
        // 1 % of 3000 is exactly 30: the boundary is in, one unit of the
        // 18th decimal past it is out (f64 cannot tell them apart).
        let f = field(None, Some("0.01"), 1);
        let o = obs(&["3000"]);
        assert_eq!(
            compare(&f, Combine::Median, &n("3030"), &o),
            FieldOutcome::Agrees
        );
        assert!(matches!(
            compare(&f, Combine::Median, &n("3030.000000000000000001"), &o),
            FieldOutcome::Disagrees(_)
        ));
        assert_eq!(
            3030.0f64, 3030.000000000000000001f64,
            "what f64 made of the claim"
        );
    }

    #[test]
    fn the_median_of_an_even_count_is_exact() {
        let f = field(None, None, 2);
        let o = obs(&["1000000000000000001", "1000000000000000002"]);
        assert_eq!(
            compare(&f, Combine::Median, &n("1000000000000000001.5"), &o),
            FieldOutcome::Agrees
        );
        assert!(matches!(
            compare(&f, Combine::Median, &n("1000000000000000001"), &o),
            FieldOutcome::Disagrees(_)
        ));
    }

    #[test]
    fn too_few_answers_is_unknown_not_invalid() {
        let f = field(Some("1"), None, 2);
        let o = obs(&["1"]);
        assert_eq!(
            compare(&f, Combine::Median, &n("50"), &o),
            FieldOutcome::Unknown("field `eth`: 1 of 3 sources answered, 2 required".into())
        );
    }

    #[test]
    fn disagreeing_sources_in_all_mode_is_unknown() {
        let f = field(Some("1"), None, 2);
        let o = obs(&["100", "110"]);
        assert_eq!(
            compare(&f, Combine::All, &n("100"), &o),
            FieldOutcome::Unknown(
                "field `eth`: sources 0 (100) and 1 (110) disagree beyond the tolerance".into()
            )
        );
        let o = obs(&["100", "100.5"]);
        assert_eq!(
            compare(&f, Combine::All, &n("100.4"), &o),
            FieldOutcome::Agrees
        );
        assert!(matches!(
            compare(&f, Combine::All, &n("101.2"), &o),
            FieldOutcome::Disagrees(r) if r.contains("claimed 101.2, observed 100 (source 0)")
        ));
    }

    #[test]
    fn strings_need_a_majority() {
        let mut f = field(None, None, 2);
        f.kind = FieldKind::String;
        let t = |s: &str| Scalar::Text(s.into());
        let o = vec![(0, t("up")), (1, t("down"))];
        assert_eq!(
            compare(&f, Combine::Median, &t("up"), &o),
            FieldOutcome::Unknown(
                "field `eth`: the sources disagree and no value has a majority".into()
            )
        );
        let o = vec![(0, t("up")), (1, t("up")), (2, t("down"))];
        assert_eq!(
            compare(&f, Combine::Median, &t("up"), &o),
            FieldOutcome::Agrees
        );
        assert!(matches!(
            compare(&f, Combine::Median, &t("down"), &o),
            FieldOutcome::Disagrees(r) if r.contains(r#"claimed "down", observed "up""#)
        ));
    }
}
