//! The scenario's own expectations: status, error code and description,
//! headers, single fields, rotation. Each function compares one documented
//! value with what was observed and returns the drifts, already classified.

use super::drift::{Drift, DriftClass, DriftPath};
use crate::redact;
use serde_json::Value;

pub fn status(expected: u16, observed: u16) -> Vec<Drift> {
    if expected == observed {
        return vec![];
    }
    vec![Drift::new(
        DriftClass::StatusCodeChanged,
        DriftPath::Status,
        expected.to_string(),
        observed.to_string(),
    )]
}

/// The body must be a JSON object; anything else is one drift that makes
/// every field check moot.
pub fn json_body(body: Option<&Value>, raw: &str, content_type: Option<&str>) -> Vec<Drift> {
    match body {
        Some(Value::Object(_)) => vec![],
        Some(other) => vec![Drift::new(
            DriftClass::BodyNotJson,
            DriftPath::Body,
            "a JSON object",
            format!("JSON {}", json_kind(other)),
        )],
        None => {
            let snippet: String = raw.chars().take(60).collect();
            vec![Drift::new(
                DriftClass::BodyNotJson,
                DriftPath::Body,
                "a JSON object",
                format!(
                    "{} body starting {:?}",
                    content_type.unwrap_or("untyped"),
                    snippet
                ),
            )]
        }
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A top-level string field with an exact documented value. `class` names
/// what a difference means here (error code, description, token type).
pub fn string_field(body: &Value, field: &str, expected: &str, class: DriftClass) -> Vec<Drift> {
    let path = DriftPath::field(&format!("/{field}"));
    match body.get(field) {
        None => vec![Drift::new(
            DriftClass::FieldMissing,
            path,
            format!("\"{expected}\""),
            "absent",
        )],
        Some(Value::String(s)) if s == expected => vec![],
        Some(Value::String(_)) => vec![Drift::new(
            class,
            path,
            format!("\"{expected}\""),
            redact::describe(field, &body[field]),
        )],
        Some(other) => vec![Drift::new(
            DriftClass::FieldTypeChanged,
            path,
            format!("\"{expected}\""),
            redact::describe(field, other),
        )],
    }
}

/// Header values compared as media-type-aware text: case and blanks around
/// `;` and `,` do not matter, anything else does.
pub fn header(headers: &[(String, String)], name: &str, expected: &str) -> Vec<Drift> {
    let path = DriftPath::header(name);
    match header_value(headers, name) {
        None => vec![Drift::new(
            DriftClass::HeaderMissing,
            path,
            expected,
            "absent",
        )],
        Some(v) if normalize_header(v) == normalize_header(expected) => vec![],
        Some(v) => vec![Drift::new(DriftClass::HeaderChanged, path, expected, v)],
    }
}

/// `WWW-Authenticate` must be a Bearer challenge that names the error code
/// (RFC 6750 §3), as the real server sends on every error.
pub fn www_authenticate(headers: &[(String, String)], error: &str) -> Vec<Drift> {
    let name = "WWW-Authenticate";
    let expected = format!("Bearer ... error=\"{error}\"");
    let path = DriftPath::header(name);
    match header_value(headers, name) {
        None => vec![Drift::new(
            DriftClass::HeaderMissing,
            path,
            expected,
            "absent",
        )],
        Some(v)
            if v.trim_start().to_ascii_lowercase().starts_with("bearer")
                && v.contains(&format!("error=\"{error}\"")) =>
        {
            vec![]
        }
        Some(v) => vec![Drift::new(DriftClass::HeaderChanged, path, expected, v)],
    }
}

/// The `error_description` inside `WWW-Authenticate` must be the documented
/// text too: a server can change the body's text and the header's apart.
/// A missing header is [`www_authenticate`]'s drift, not this one's.
pub fn www_authenticate_description(headers: &[(String, String)], description: &str) -> Vec<Drift> {
    let Some(v) = header_value(headers, "WWW-Authenticate") else {
        return vec![];
    };
    let path = DriftPath::header("WWW-Authenticate/error_description");
    let expected = format!("\"{description}\"");
    match v
        .split_once("error_description=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(d, _)| d)
    {
        Some(d) if d == description => vec![],
        Some(d) => vec![Drift::new(
            DriftClass::ErrorDescriptionChanged,
            path.clone(),
            expected,
            redact::describe("error_description", &Value::String(d.to_owned())),
        )],
        None => vec![Drift::new(
            DriftClass::ErrorDescriptionChanged,
            path,
            expected,
            "absent",
        )],
    }
}

pub fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn normalize_header(v: &str) -> String {
    v.split([';', ','])
        .map(|part| part.trim().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(";")
}

/// A successful refresh must hand out a refresh token other than the one
/// sent: the documented server rotates on every refresh.
pub fn rotated(sent: &str, received: Option<&str>) -> Vec<Drift> {
    match received {
        Some(new) if new != sent => vec![],
        Some(_) => vec![Drift::new(
            DriftClass::RotationChanged,
            DriftPath::field("/refresh_token"),
            "a new refresh token (rotation)",
            "the same refresh token that was sent",
        )],
        None => vec![Drift::new(
            DriftClass::FieldMissing,
            DriftPath::field("/refresh_token"),
            "a new refresh token",
            "absent",
        )],
    }
}

/// What became of a used refresh token, as observed. The page documents
/// only that a refresh issues a new refresh token; when the old one dies is
/// the server's database (NOTES.md §3, §6), so the fate is reported, and
/// only "never revoked, even after use" is drift ([`accepted_after_use`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsedTokenFate {
    /// Refused right after the refresh (no `previous_refresh_token` column).
    RevokedAtRefresh,
    /// Accepted after the refresh, refused once the new access token was
    /// used on a protected resource (Doorkeeper's stock migration).
    RevokedOnFirstUse,
    /// Accepted after the refresh; no protected resource to use the new
    /// access token on, so whether it dies on use is unknown.
    AcceptedUseUnchecked,
    /// Accepted even after the new access token was used: drift.
    NeverRevoked,
}

impl UsedTokenFate {
    /// The note the run's report carries.
    pub fn note(self) -> &'static str {
        match self {
            UsedTokenFate::RevokedAtRefresh => {
                "revocation mode seen: revoked at refresh (the used refresh token was refused right after the refresh)"
            }
            UsedTokenFate::RevokedOnFirstUse => {
                "revocation mode seen: revoked on first use (the used refresh token was still accepted after the refresh, and refused once the new access token was used)"
            }
            UsedTokenFate::AcceptedUseUnchecked => {
                "revocation mode seen: still accepted after the refresh (use not checked: set PAYU_RESOURCE_URL to a protected resource of the target to tell revoked on first use from never revoked); the page does not document revocation, so this is a note, not drift"
            }
            UsedTokenFate::NeverRevoked => {
                "revocation mode seen: never revoked (the used refresh token was still accepted after the new access token was used)"
            }
        }
    }
}

/// A used refresh token replayed after the new access token was used: a
/// server that rotates must have revoked it by now (at the refresh, or on
/// that first use). Accepted here, the old token never dies.
pub fn accepted_after_use(status: u16) -> Vec<Drift> {
    if (200..300).contains(&status) {
        vec![Drift::new(
            DriftClass::RotationChanged,
            DriftPath::Status,
            "the used refresh token is refused once the new access token was used",
            format!("{status}: the used refresh token was still accepted after use"),
        )]
    } else {
        vec![]
    }
}

/// The documented key order, as a note: RFC 6749 §5.1 makes order
/// irrelevant, so a reorder is reported but never fails a run.
pub fn key_order_note(body: &Value, documented: &[&str]) -> Option<String> {
    let observed: Vec<&str> = body.as_object()?.keys().map(String::as_str).collect();
    let seen: Vec<&str> = observed
        .iter()
        .copied()
        .filter(|k| documented.contains(k))
        .collect();
    let wanted: Vec<&str> = documented
        .iter()
        .copied()
        .filter(|k| observed.contains(k))
        .collect();
    (seen != wanted).then(|| {
        format!(
            "keys arrive in the order {} (documented: {}); order carries no meaning in JSON (RFC 6749 §5.1), so this is a note, not a drift",
            observed.join(", "),
            documented.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn status_drift() {
        assert!(status(401, 401).is_empty());
        assert_eq!(status(401, 400)[0].class, DriftClass::StatusCodeChanged);
    }

    #[test]
    fn headers_compare_semantically_but_not_loosely() {
        let hs = h(&[
            ("content-type", "application/json;charset=UTF-8"),
            ("cache-control", "no-store, no-cache"),
        ]);
        assert!(header(&hs, "Content-Type", "application/json; charset=utf-8").is_empty());
        assert_eq!(
            header(&hs, "Cache-Control", "no-store")[0].class,
            DriftClass::HeaderChanged
        );
        assert_eq!(
            header(&hs, "Pragma", "no-cache")[0].class,
            DriftClass::HeaderMissing
        );
    }

    #[test]
    fn www_authenticate_description_is_the_documented_text() {
        let hs = |v: &str| vec![("www-authenticate".to_owned(), v.to_owned())];
        let doc = "The request is missing a required parameter.";
        let ok = hs(&format!(
            r#"Bearer realm="Doorkeeper", error="invalid_request", error_description="{doc}""#
        ));
        assert!(www_authenticate_description(&ok, doc).is_empty());
        let changed = hs(
            r#"Bearer realm="Doorkeeper", error="invalid_request", error_description="Missing required parameter: grant_type.""#,
        );
        let d = www_authenticate_description(&changed, doc);
        assert_eq!(d[0].class, DriftClass::ErrorDescriptionChanged);
        assert_eq!(
            d[0].path.to_string(),
            "header:WWW-Authenticate/error_description"
        );
        assert!(
            d[0].observed
                .contains("Missing required parameter: grant_type.")
        );
        let none = hs(r#"Bearer realm="Doorkeeper", error="invalid_request""#);
        assert_eq!(
            www_authenticate_description(&none, doc)[0].observed,
            "absent"
        );
        assert!(www_authenticate_description(&[], doc).is_empty());
    }

    #[test]
    fn www_authenticate_names_error() {
        let hs = h(&[(
            "www-authenticate",
            "Bearer realm=\"Doorkeeper\", error=\"invalid_grant\"",
        )]);
        assert!(www_authenticate(&hs, "invalid_grant").is_empty());
        assert_eq!(
            www_authenticate(&hs, "invalid_client")[0].class,
            DriftClass::HeaderChanged
        );
    }

    #[test]
    fn string_fields() {
        let b = json!({"error": "invalid_request", "n": 1});
        assert!(
            string_field(&b, "error", "invalid_request", DriftClass::ErrorCodeChanged).is_empty()
        );
        assert_eq!(
            string_field(&b, "error", "invalid_grant", DriftClass::ErrorCodeChanged)[0].class,
            DriftClass::ErrorCodeChanged
        );
        assert_eq!(
            string_field(&b, "x", "y", DriftClass::ErrorCodeChanged)[0].class,
            DriftClass::FieldMissing
        );
        assert_eq!(
            string_field(&b, "n", "1", DriftClass::ErrorCodeChanged)[0].class,
            DriftClass::FieldTypeChanged
        );
    }

    #[test]
    fn key_order_is_a_note() {
        let doc = ["a", "b", "c"];
        assert!(key_order_note(&json!({"a":1,"b":2,"c":3}), &doc).is_none());
        assert!(key_order_note(&json!({"b":2,"a":1,"c":3}), &doc).is_some());
        // A missing key is the schema's business, not an order change.
        assert!(key_order_note(&json!({"a":1,"c":3}), &doc).is_none());
    }

    #[test]
    fn rotation() {
        assert!(rotated("a", Some("b")).is_empty());
        assert_eq!(
            rotated("a", Some("a"))[0].class,
            DriftClass::RotationChanged
        );
        assert_eq!(
            accepted_after_use(200)[0].class,
            DriftClass::RotationChanged
        );
        assert!(accepted_after_use(401).is_empty());
        assert!(accepted_after_use(400).is_empty());
    }
}
