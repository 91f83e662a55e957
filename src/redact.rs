//! Redaction of response material before it reaches any output.
//!
//! Two layers, because either alone has holes: structural redaction replaces
//! the values of token-bearing JSON keys wherever they appear, and a
//! [`Scrubber`] replaces every secret value the run has seen (sent or
//! received) in free text, which catches tokens in non-JSON bodies, headers
//! and error messages.

use serde_json::Value;
use std::sync::{Arc, RwLock};

pub use crate::secret::REDACTED;

/// JSON keys whose values are credentials, whatever the server is.
pub const SECRET_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "password",
    "code",
];

pub fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// A copy of `value` with the value of every secret key replaced by
/// `[redacted]`, at any depth.
pub fn redact_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(k) && !v.is_null() {
                        Value::String(REDACTED.into())
                    } else {
                        redact_json(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_json).collect()),
        other => other.clone(),
    }
}

/// Describes a value for a report without showing it when the field holds a
/// credential: a changed token format must be visible (length, alphabet)
/// while the token itself is not.
pub fn describe(field: &str, value: &Value) -> String {
    match value {
        Value::String(s) if is_secret_key(field) => {
            let alphabet = if s
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            {
                "lowercase hex"
            } else if s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                "base64url-like"
            } else {
                "mixed"
            };
            format!("a string of {} {alphabet} characters", s.chars().count())
        }
        other => other.to_string(),
    }
}

/// Replaces every known secret value in free text. Shared by the whole run:
/// the client registers each secret it sends or receives.
#[derive(Clone, Default)]
pub struct Scrubber {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl Scrubber {
    /// Remember a secret value. Very short values are ignored: replacing
    /// every "a" in a report would destroy it and protect nothing.
    pub fn add(&self, secret: &str) {
        if secret.len() < 6 {
            return;
        }
        let mut secrets = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        if !secrets.iter().any(|s| s == secret) {
            secrets.push(secret.to_owned());
            // Longest first, so a secret containing another is replaced whole.
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    pub fn scrub(&self, text: &str) -> String {
        let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_owned();
        for s in secrets.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
            // Also the form-encoded spelling, for request bodies.
            let encoded: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
            if encoded != *s && out.contains(encoded.as_str()) {
                out = out.replace(encoded.as_str(), REDACTED);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_secret_keys_at_any_depth() {
        let v = json!({"access_token": "abc", "nested": {"refresh_token": "def"}, "scope": "hub_session"});
        let r = redact_json(&v);
        assert_eq!(r["access_token"], REDACTED);
        assert_eq!(r["nested"]["refresh_token"], REDACTED);
        assert_eq!(r["scope"], "hub_session");
    }

    #[test]
    fn describe_hides_tokens_but_shows_their_shape() {
        let d = describe("refresh_token", &json!("0123456789abcdef"));
        assert_eq!(d, "a string of 16 lowercase hex characters");
        assert_eq!(describe("scope", &json!("x")), "\"x\"");
    }

    #[test]
    fn scrubber_replaces_known_values() {
        let s = Scrubber::default();
        s.add("topsecret+value/1");
        s.add("abc");
        let t = s.scrub("a=topsecret%2Bvalue%2F1 b=topsecret+value/1 c=abc");
        assert_eq!(t, "a=[redacted] b=[redacted] c=abc");
    }
}
