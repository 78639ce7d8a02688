//! `GET /openapi.json`: the OpenAPI 3.1 document of the node's HTTP API.
//!
//! The document is written by hand (`openapi.json` beside this file) rather
//! than derived from the handlers, because what it must describe is the
//! wire format Othentic's attester already speaks, not our types; the tests
//! (`node/tests/ops.rs`) send real requests to real nodes (the binary, and
//! one in-process with a journal to sign votes) and validate
//! every answer against its schemas, so it cannot drift unnoticed.

use std::sync::LazyLock;

use axum::{http::header, response::IntoResponse};

/// The document as served: `info.version` is this build's version.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let mut document: serde_json::Value =
        serde_json::from_str(include_str!("openapi.json")).unwrap_or_default();
    if let Some(info) = document.get_mut("info").and_then(|i| i.as_object_mut()) {
        info.insert("version".into(), env!("CARGO_PKG_VERSION").into());
    }
    document.to_string()
});

pub(super) async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_parses_and_names_this_version() {
        let document: serde_json::Value = serde_json::from_str(&super::DOCUMENT).unwrap();
        assert_eq!(document["openapi"], "3.1.0");
        assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    }
}
