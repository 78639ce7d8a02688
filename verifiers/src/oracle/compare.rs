//! Comparing a claimed value with what the sources observed.
//!
//! Numbers pass when the difference is within the absolute bound *or* within
//! the relative bound of the observed value (`|claimed − observed| ≤
//! max(absolute, relative · |observed|)`); strings and booleans must be equal.
//! Only a disagreement between a well-formed claim and a decisive observation
//! is `Invalid`; too few answers, or sources that disagree among themselves,
//! leave the field undecided.

use std::fmt;

use serde_json::Value;

use super::params::{Combine, Field, FieldKind, Tolerance};

/// A value read from the proof or from a source.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Number(f64),
    Text(String),
    Bool(bool),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::Text(s) => write!(f, "{s:?}"),
            Self::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Reads a value of `kind`. Numbers may be JSON numbers or decimal strings
/// (many price APIs quote prices as strings); NaN and infinities are refused.
pub(crate) fn read(kind: FieldKind, value: &Value) -> Option<Scalar> {
    match (kind, value) {
        (FieldKind::Number, Value::Number(n)) => {
            n.as_f64().filter(|x| x.is_finite()).map(Scalar::Number)
        }
        (FieldKind::Number, Value::String(s)) => {
            let s = s.trim();
            // `f64::from_str` also accepts "inf", "NaN" and "infinity".
            if s.is_empty()
                || !s
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
            {
                return None;
            }
            s.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Scalar::Number)
        }
        (FieldKind::String, Value::String(s)) => Some(Scalar::Text(s.clone())),
        (FieldKind::Bool, Value::Bool(b)) => Some(Scalar::Bool(*b)),
        _ => None,
    }
}

impl Tolerance {
    /// The largest allowed difference from `observed`.
    pub(crate) fn allowed(&self, observed: f64) -> f64 {
        let absolute = self.absolute.unwrap_or(0.0);
        let relative = self.relative.map_or(0.0, |r| r * observed.abs());
        absolute.max(relative)
    }

    fn admits(&self, claimed: f64, observed: f64) -> bool {
        (claimed - observed).abs() <= self.allowed(observed)
    }

    fn describe(&self, observed: f64) -> String {
        match (self.absolute, self.relative) {
            (None, None) => "exact".into(),
            (Some(a), None) => format!("±{a}"),
            (None, Some(r)) => format!("±{}% (±{})", r * 100.0, self.allowed(observed)),
            (Some(a), Some(r)) => format!("±{a} or ±{}% (±{})", r * 100.0, self.allowed(observed)),
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
        (Scalar::Number(a), Scalar::Number(b)) => {
            tolerance.admits(*a, *b) || tolerance.admits(*b, *a)
        }
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
        (Scalar::Number(c), Scalar::Number(o)) => field.tolerance.admits(*c, *o),
        _ => claimed == observed,
    };
    if ok {
        FieldOutcome::Agrees
    } else {
        let tolerance = match observed {
            Scalar::Number(o) => field.tolerance.describe(*o),
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

/// The median of numbers; for strings and booleans, the value a strict
/// majority reports.
fn median(observed: &[(usize, Scalar)]) -> Option<Scalar> {
    let mut numbers: Vec<f64> = observed
        .iter()
        .filter_map(|(_, v)| match v {
            Scalar::Number(n) => Some(*n),
            _ => None,
        })
        .collect();
    if !numbers.is_empty() {
        numbers.sort_by(f64::total_cmp);
        let mid = numbers.len() / 2;
        let upper = *numbers.get(mid)?;
        return Some(Scalar::Number(if numbers.len().is_multiple_of(2) {
            let lower = *numbers.get(mid.checked_sub(1)?)?;
            lower / 2.0 + upper / 2.0
        } else {
            upper
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

    fn field(absolute: Option<f64>, relative: Option<f64>, required: usize) -> Field {
        Field {
            name: "eth".into(),
            pointer: "/eth".into(),
            kind: FieldKind::Number,
            tolerance: Tolerance { absolute, relative },
            providers: vec![(0, "/p".into()), (1, "/p".into()), (2, "/p".into())],
            required,
        }
    }

    fn obs(values: &[f64]) -> Vec<(usize, Scalar)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (i, Scalar::Number(*v)))
            .collect()
    }

    #[test]
    fn median_absorbs_one_outlier() {
        let f = field(Some(1.0), None, 2);
        let o = obs(&[3000.0, 3000.5, 9999.0]);
        assert_eq!(
            compare(&f, Combine::Median, &Scalar::Number(3000.2), &o),
            FieldOutcome::Agrees
        );
    }

    #[test]
    fn reason_names_field_claim_observation_and_tolerance() {
        let f = field(None, Some(0.01), 2);
        let o = obs(&[3000.0, 3000.0]);
        let FieldOutcome::Disagrees(reason) =
            compare(&f, Combine::Median, &Scalar::Number(3100.0), &o)
        else {
            panic!("expected a disagreement");
        };
        assert!(reason.contains("`eth`"), "{reason}");
        assert!(reason.contains("claimed 3100"), "{reason}");
        assert!(reason.contains("observed 3000"), "{reason}");
        assert!(reason.contains("±1%"), "{reason}");
    }

    #[test]
    fn either_bound_admits() {
        let t = Tolerance {
            absolute: Some(5.0),
            relative: Some(0.001),
        };
        assert!(t.admits(3004.0, 3000.0)); // absolute
        assert!(t.admits(100_080.0, 100_000.0)); // relative: 100
        assert!(!t.admits(3006.0, 3000.0));
    }

    #[test]
    fn too_few_answers_is_unknown_not_invalid() {
        let f = field(Some(1.0), None, 2);
        let o = obs(&[1.0]);
        assert!(matches!(
            compare(&f, Combine::Median, &Scalar::Number(50.0), &o),
            FieldOutcome::Unknown(_)
        ));
    }

    #[test]
    fn disagreeing_sources_in_all_mode_is_unknown() {
        let f = field(Some(1.0), None, 2);
        let o = obs(&[100.0, 110.0]);
        assert!(matches!(
            compare(&f, Combine::All, &Scalar::Number(100.0), &o),
            FieldOutcome::Unknown(_)
        ));
        let o = obs(&[100.0, 100.5]);
        assert_eq!(
            compare(&f, Combine::All, &Scalar::Number(100.4), &o),
            FieldOutcome::Agrees
        );
        assert!(matches!(
            compare(&f, Combine::All, &Scalar::Number(101.2), &o),
            FieldOutcome::Disagrees(_)
        ));
    }

    #[test]
    fn strings_need_a_majority() {
        let mut f = field(None, None, 2);
        f.kind = FieldKind::String;
        let t = |s: &str| Scalar::Text(s.into());
        let o = vec![(0, t("up")), (1, t("down"))];
        assert!(matches!(
            compare(&f, Combine::Median, &t("up"), &o),
            FieldOutcome::Unknown(_)
        ));
        let o = vec![(0, t("up")), (1, t("up")), (2, t("down"))];
        assert_eq!(
            compare(&f, Combine::Median, &t("up"), &o),
            FieldOutcome::Agrees
        );
        assert!(matches!(
            compare(&f, Combine::Median, &t("down"), &o),
            FieldOutcome::Disagrees(_)
        ));
    }

    #[test]
    fn rejects_non_finite_numbers_smuggled_as_strings() {
        for s in ["NaN", "inf", "-infinity", "1e999", "", "0x10"] {
            assert_eq!(
                read(FieldKind::Number, &Value::String(s.into())),
                None,
                "{s}"
            );
        }
        assert_eq!(
            read(FieldKind::Number, &Value::String(" 12.5 ".into())),
            Some(Scalar::Number(12.5))
        );
        assert_eq!(read(FieldKind::Bool, &Value::String("true".into())), None);
    }
}
