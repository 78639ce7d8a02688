//! `allow_http`: the URLs a plugin may GET, as patterns such as
//! `https://api.example.com/v1/*`.
//!
//! What it trusts: the attester's patterns. What it does not: the URL a
//! plugin asks for. A pattern fixes the scheme, host and port exactly (a `*`
//! may appear only in the path and query), so `https://api.example.com/*`
//! cannot match `https://api.example.com.evil.example/` or
//! `https://api.example.com@evil.example/`; URLs with userinfo are refused.
//! No crate matches URL globs this way, so it is written here.

use reqwest::Url;

/// One checked pattern: an origin and a glob over the path and query.
#[derive(Clone, Debug)]
struct Pattern {
    scheme: String,
    host: String,
    port: Option<u16>,
    /// The path and query, with `*` matching any run of characters.
    rest: String,
}

/// The checked `allow_http` list.
#[derive(Clone, Debug, Default)]
pub(crate) struct AllowHttp {
    patterns: Vec<Pattern>,
}

impl AllowHttp {
    /// Checks each pattern; the error says which one and why.
    pub(crate) fn parse(patterns: &[String]) -> Result<Self, (usize, String)> {
        let patterns = patterns
            .iter()
            .enumerate()
            .map(|(i, text)| Pattern::parse(text).map_err(|e| (i, e)))
            .collect::<Result<_, _>>()?;
        Ok(Self { patterns })
    }

    /// Whether no URL is allowed.
    pub(crate) fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether a plugin may GET `url`.
    pub(crate) fn allows(&self, url: &Url) -> bool {
        if !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        let rest = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        self.patterns.iter().any(|p| {
            p.scheme == url.scheme()
                && p.host == host
                && p.port == url.port_or_known_default()
                && glob(&p.rest, &rest)
        })
    }
}

impl Pattern {
    fn parse(text: &str) -> Result<Self, String> {
        let (scheme, after) = text
            .split_once("://")
            .ok_or_else(|| "expected scheme://host/path".to_owned())?;
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "the scheme `{scheme}` is not supported: only http and https"
            ));
        }
        let slash = after
            .find('/')
            .ok_or_else(|| "give at least the path's leading `/` after the host".to_owned())?;
        let authority = &after[..slash];
        if authority.contains('*') {
            return Err("a `*` may appear only in the path and query, never in the host".into());
        }
        if authority.contains('@') {
            return Err("no userinfo in a pattern: plugins send no credentials".into());
        }
        // The origin is parsed as a URL so that hosts are compared in the
        // form the plugin's URLs will be (lower case, IDNA, default ports).
        let origin = Url::parse(&format!("{scheme}://{authority}/"))
            .map_err(|e| format!("not a URL: {e}"))?;
        let host = origin
            .host_str()
            .ok_or_else(|| "the pattern has no host".to_owned())?
            .to_owned();
        let rest = after[slash..].to_owned();
        if rest.contains('#') {
            return Err("no fragment in a pattern".into());
        }
        Ok(Self {
            scheme: scheme.to_owned(),
            host,
            port: origin.port_or_known_default(),
            rest,
        })
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of
/// characters (including none and `/`). Iterative, with one backtrack point,
/// so its time is bounded by `pattern.len() * text.len()`.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(patterns: &[&str]) -> AllowHttp {
        AllowHttp::parse(&patterns.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn allowed(a: &AllowHttp, url: &str) -> bool {
        a.allows(&Url::parse(url).unwrap())
    }

    #[test]
    fn a_pattern_fixes_the_origin() {
        let a = allow(&["https://api.example.com/*"]);
        assert!(allowed(&a, "https://api.example.com/v1/price?ids=eth"));
        assert!(allowed(&a, "https://API.example.com:443/"));
        assert!(!allowed(&a, "https://api.example.com.evil.example/v1"));
        assert!(!allowed(&a, "https://api.example.com@evil.example/v1"));
        assert!(!allowed(&a, "https://user@api.example.com/v1"));
        assert!(!allowed(&a, "http://api.example.com/v1"));
        assert!(!allowed(&a, "https://api.example.com:8443/v1"));
    }

    #[test]
    fn a_star_matches_only_where_written() {
        let a = allow(&["https://api.example.com/v1/*/price"]);
        assert!(allowed(&a, "https://api.example.com/v1/eth/price"));
        assert!(!allowed(&a, "https://api.example.com/v2/eth/price"));
        assert!(!allowed(&a, "https://api.example.com/v1/eth/price/x"));
        // `..` is resolved by the URL parser before matching.
        assert!(!allowed(&a, "https://api.example.com/v1/../admin/price"));
    }

    #[test]
    fn patterns_with_a_star_in_the_host_are_refused() {
        for bad in [
            "https://*.example.com/",
            "https://api.example.com*",
            "ftp://api.example.com/",
            "https://u:p@api.example.com/",
            "api.example.com/*",
        ] {
            assert!(AllowHttp::parse(&[bad.to_string()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn glob_is_linear_enough_on_hostile_text() {
        let pattern = "/*a*a*a*a*a*a*a*a*b";
        let text = format!("/{}", "a".repeat(10_000));
        let began = std::time::Instant::now();
        assert!(!glob(pattern, &text));
        assert!(began.elapsed() < std::time::Duration::from_secs(1));
    }
}
