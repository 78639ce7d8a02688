//! What the attestors fetched: the `url` and `method` of the claim's
//! `parameters`, against the task definition's rules.
//!
//! The URL is read the way an attestor reads it before connecting: public
//! template values (`{{name}}` with `paramValues.name`) are substituted in one
//! pass, and the result is parsed as a WHATWG URL (what `new URL()` does in the
//! attestor), so dot segments, backslashes, default ports and letter case are
//! resolved before any comparison. `https://api.example.com/v1/../admin` is
//! compared as `https://api.example.com/admin`.
//!
//! A template name without a public value is a secret the attestor saw and
//! the proof hides: it may only stand in the query, after a literal `?`,
//! where it cannot change the host or the path.

use serde::Deserialize;
use serde_json::{Map, Value};
use taskproof_core::quote;
use url::Url;

use super::ReclaimError;

/// The configured `url`: exact, a prefix, or any.
#[derive(Clone, Debug)]
pub(crate) enum UrlRule {
    /// `url = "*"`: any https URL.
    Any,
    /// The normalised URL.
    Exact(String),
    /// The normalised prefix, without its `*`.
    Prefix(String),
}

impl UrlRule {
    /// Reads the param; the error says what to write instead.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if text == "*" {
            return Ok(UrlRule::Any);
        }
        let (body, prefix) = match text.strip_suffix('*') {
            Some(body) => (body, true),
            None => (text, false),
        };
        if body.contains('*') {
            return Err("only one `*`, at the end, is allowed".into());
        }
        let url = Url::parse(body).map_err(|e| format!("not a URL: {e}"))?;
        if url.scheme() != "https" {
            return Err("Reclaim's attestors only fetch https URLs".into());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("the URL has no host".into());
        }
        // A prefix in normal form fixes the host: `https://api.example.com*`
        // would also admit `https://api.example.com.evil.net/`, and is not in
        // normal form (that is `https://api.example.com/`).
        if url.as_str() != body {
            return Err(format!(
                "write the URL in normal form: {}{}",
                url.as_str(),
                if prefix { "*" } else { "" }
            ));
        }
        Ok(if prefix {
            UrlRule::Prefix(body.to_owned())
        } else {
            UrlRule::Exact(body.to_owned())
        })
    }

    fn describe(&self) -> String {
        match self {
            UrlRule::Any => "any https URL".into(),
            UrlRule::Exact(url) => url.clone(),
            UrlRule::Prefix(prefix) => format!("{prefix}*"),
        }
    }
}

/// The fields of `parameters` that are compared. Duplicate fields are
/// refused (serde), since the attestor's `JSON.parse` keeps the last one.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Parameters {
    url: Option<String>,
    method: Option<String>,
    param_values: Option<Map<String, Value>>,
}

/// Checks `parameters` against the configured `url` and `method`.
pub(crate) fn check(
    parameters: &str,
    url: Option<&UrlRule>,
    method: Option<&str>,
) -> Result<(), ReclaimError> {
    if url.is_none() && method.is_none() {
        return Ok(());
    }
    let p: Parameters = serde_json::from_str(parameters)
        .map_err(|e| ReclaimError::ParametersNotJson(super::proof::json_error(&e)))?;
    if let Some(expected) = method {
        let found = p.method.as_deref().ok_or(ReclaimError::NoMethod)?;
        // The attestor compares the request's method with this one
        // lowercased, so case does not change what was sent.
        if !found.eq_ignore_ascii_case(expected) {
            return Err(ReclaimError::MethodMismatch {
                found: quote(found).to_string(),
                expected: expected.to_owned(),
            });
        }
    }
    if let Some(rule) = url {
        let template = p.url.as_deref().ok_or(ReclaimError::NoUrl)?;
        let fetched = substitute(template, p.param_values.as_ref())?;
        check_url(&fetched, rule)?;
    }
    Ok(())
}

/// The URL with public template values in, and the byte offset of the first
/// name left (a secret), if any.
struct Substituted {
    url: String,
    first_secret: Option<usize>,
}

/// Substitutes `{{name}}` (a name without braces) with `paramValues.name`,
/// left to right in one pass like the attestor's `String.replace`, so a
/// substituted value is never scanned again.
fn substitute(
    template: &str,
    values: Option<&Map<String, Value>>,
) -> Result<Substituted, ReclaimError> {
    let mut url = String::with_capacity(template.len());
    let mut first_secret = None;
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        // The attestor's pattern is /{{([^{}]+)}}/: the name runs to the
        // first brace, which must start `}}`.
        let name_len = after.find(['{', '}']).unwrap_or(after.len());
        if name_len == 0 || !after[name_len..].starts_with("}}") {
            url.push_str(&rest[..open + 1]);
            rest = &rest[open + 1..];
            continue;
        }
        let name = &after[..name_len];
        url.push_str(&rest[..open]);
        match values.and_then(|v| v.get(name)) {
            Some(Value::String(value)) => url.push_str(value),
            Some(_) => {
                return Err(ReclaimError::TemplateValueNotString(
                    quote(name).to_string(),
                ));
            }
            None => {
                first_secret.get_or_insert(url.len());
                url.push_str(&rest[open..open + 2 + name_len + 2]);
            }
        }
        rest = &after[name_len + 2..];
    }
    url.push_str(rest);
    Ok(Substituted { url, first_secret })
}

fn check_url(fetched: &Substituted, rule: &UrlRule) -> Result<(), ReclaimError> {
    let text = &fetched.url;
    let mismatch = |found: &str| ReclaimError::UrlMismatch {
        found: quote(found).to_string(),
        expected: rule.describe(),
    };
    if let Some(at) = fetched.first_secret {
        let query = text.find('?');
        if query.is_none_or(|q| q > at) {
            return Err(ReclaimError::SecretInUrl(quote(text).to_string()));
        }
        if matches!(rule, UrlRule::Exact(_)) {
            return Err(ReclaimError::SecretInUrl(quote(text).to_string()));
        }
    }
    let url = Url::parse(text).map_err(|e| ReclaimError::UrlNotParsable {
        url: quote(text).to_string(),
        why: e.to_string(),
    })?;
    if url.scheme() != "https" {
        return Err(mismatch(url.as_str()));
    }
    let normal = url.as_str();
    let matches = match rule {
        UrlRule::Any => true,
        UrlRule::Exact(expected) => normal == expected,
        UrlRule::Prefix(prefix) => normal.starts_with(prefix.as_str()),
    };
    if matches {
        Ok(())
    } else {
        Err(mismatch(normal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subst(template: &str, values: &str) -> (String, Option<usize>) {
        let values: Map<String, Value> = serde_json::from_str(values).unwrap();
        let s = substitute(template, Some(&values)).unwrap();
        (s.url, s.first_secret)
    }

    #[test]
    fn substitutes_like_the_attestor() {
        assert_eq!(
            subst("https://h/{{a}}/{{b}}?q={{c}}", r#"{"a":"x","b":"{{a}}"}"#),
            ("https://h/x/{{a}}?q={{c}}".into(), Some(20))
        );
        assert_eq!(
            subst("https://h/{{}}/{{{a}}}", r#"{"a":"x"}"#).0,
            "https://h/{{}}/{x}"
        );
        assert_eq!(subst("https://h/{{a", r#"{"a":"x"}"#).0, "https://h/{{a");
    }

    #[test]
    fn a_prefix_that_does_not_fix_the_host_is_refused() {
        let e = UrlRule::parse("https://api.example.com*").unwrap_err();
        assert!(e.contains("normal form: https://api.example.com/*"), "{e}");
        assert!(UrlRule::parse("https://api.example.com/*").is_ok());
        assert!(UrlRule::parse("http://api.example.com/*").is_err());
        assert!(UrlRule::parse("https://api.example.com:443/x").is_err());
        assert!(UrlRule::parse("https://*.example.com/").is_err());
    }
}
