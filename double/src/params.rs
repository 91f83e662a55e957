//! Request parameters, read the lenient way Rails (Rack 2) reads them.
//!
//! Hand-written on the raw bytes rather than axum's `Form`: `Form` rejects
//! duplicate keys and answers its own plain-text 4xx, while Rails keeps the
//! last value of a duplicate and hands everything it could parse to the app.
//! Values borrow from the body unless decoding changes them, so the common
//! request (hex tokens, no escapes) allocates nothing here.

use std::borrow::Cow;

/// The only parameters the token endpoint looks at; anything else is ignored,
/// as Doorkeeper ignores it.
#[derive(Default, Debug)]
pub(crate) struct Params<'a> {
    pub grant_type: Option<Cow<'a, str>>,
    pub refresh_token: Option<Cow<'a, str>>,
    pub client_id: Option<Cow<'a, str>>,
    pub client_secret: Option<Cow<'a, str>>,
    pub scope: Option<Cow<'a, str>>,
    pub username: Option<Cow<'a, str>>,
    pub password: Option<Cow<'a, str>>,
}

/// Stands for a JSON array or object value: no real value contains a NUL.
const NESTED: &str = "\u{0}[nested]";

/// The body or query could not be decoded; Rails answers such a request
/// before the app sees it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Malformed;

/// How the body is to be read, from its Content-Type.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Form,
    Json,
    /// Rails parses nothing out of other media types.
    Ignored,
}

impl BodyKind {
    pub fn of(content_type: Option<&[u8]>) -> BodyKind {
        // Rack treats a POST without Content-Type as form data.
        let Some(ct) = content_type else {
            return BodyKind::Form;
        };
        let essence = ct.split(|&c| c == b';').next().unwrap_or_default();
        let essence = essence.trim_ascii();
        if essence.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") {
            BodyKind::Form
        } else if essence.eq_ignore_ascii_case(b"application/json") {
            BodyKind::Json
        } else {
            BodyKind::Ignored
        }
    }
}

impl<'a> Params<'a> {
    /// Last one wins, as in a Ruby hash built from the pairs in order.
    fn set(&mut self, key: &str, value: Option<Cow<'a, str>>) {
        let slot = match key {
            "grant_type" => &mut self.grant_type,
            "refresh_token" => &mut self.refresh_token,
            "client_id" => &mut self.client_id,
            "client_secret" => &mut self.client_secret,
            "scope" => &mut self.scope,
            "username" => &mut self.username,
            "password" => &mut self.password,
            _ => return,
        };
        *slot = value;
    }

    /// `application/x-www-form-urlencoded` (also the query string).
    /// `semicolons`: `;` separates pairs too (Rack's query strings).
    pub fn parse_form(&mut self, input: &'a [u8], semicolons: bool) -> Result<(), Malformed> {
        // Rack 2 splits on `&` (and `;` where it does) and drops spaces after them.
        for pair in input.split(|&c| c == b'&' || (semicolons && c == b';')) {
            let pair = pair.trim_ascii_start();
            if pair.is_empty() {
                continue;
            }
            let (k, v) = match pair.iter().position(|&c| c == b'=') {
                Some(i) => (&pair[..i], Some(&pair[i + 1..])),
                None => (pair, None),
            };
            let key = decode(k)?;
            let value = match v {
                Some(v) => Some(decode(v)?),
                None => None,
            };
            self.set(&key, value);
        }
        Ok(())
    }

    /// A JSON object body, as Rails' JSON params parser reads it: scalars
    /// become their string form, nested structures are not a string and so
    /// count as absent for Doorkeeper.
    /// `nested_present`: a non-empty array or object counts as a present
    /// value that matches nothing (Rails 6.1 + Doorkeeper 5.5, measured);
    /// otherwise as absent.
    pub fn parse_json(&mut self, input: &[u8], nested_present: bool) -> Result<(), Malformed> {
        if input.trim_ascii().is_empty() {
            return Ok(());
        }
        let value: serde_json::Value = serde_json::from_slice(input).map_err(|_| Malformed)?;
        let serde_json::Value::Object(map) = value else {
            // Rails wraps a non-object under `_json`, which Doorkeeper never reads.
            return Ok(());
        };
        for (k, v) in map {
            let v = match v {
                serde_json::Value::String(s) => Some(Cow::Owned(s)),
                serde_json::Value::Number(n) => Some(Cow::Owned(n.to_string())),
                serde_json::Value::Bool(b) => Some(Cow::Owned(b.to_string())),
                // Present (not `blank?`) but equal to no token, client or
                // grant type: what Doorkeeper 5.5 makes of `[1, 2]`.
                serde_json::Value::Array(a) if nested_present && !a.is_empty() => {
                    Some(Cow::Borrowed(NESTED))
                }
                serde_json::Value::Object(o) if nested_present && !o.is_empty() => {
                    Some(Cow::Borrowed(NESTED))
                }
                _ => None,
            };
            self.set(&k, v);
        }
        Ok(())
    }
}

/// `+` is a space and `%XX` a byte; a broken escape or a result that is not
/// UTF-8 is malformed (Rack raises, Rails answers 400).
fn decode(raw: &[u8]) -> Result<Cow<'_, str>, Malformed> {
    if !raw.iter().any(|&c| c == b'%' || c == b'+') {
        return std::str::from_utf8(raw)
            .map(Cow::Borrowed)
            .map_err(|_| Malformed);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = raw.get(i + 1).and_then(|&c| hex_val(c)).ok_or(Malformed)?;
                let lo = raw.get(i + 2).and_then(|&c| hex_val(c)).ok_or(Malformed)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| Malformed)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_last_duplicate_wins_and_decodes() {
        let mut p = Params::default();
        p.parse_form(
            b"grant_type=password&scope=a+b%20c&grant_type=refresh_token; client_id=x&other=1&&",
            true,
        )
        .unwrap();
        assert_eq!(p.grant_type.as_deref(), Some("refresh_token"));
        assert_eq!(p.scope.as_deref(), Some("a b c"));
        assert_eq!(p.client_id.as_deref(), Some("x"));
        assert!(matches!(p.grant_type, Some(Cow::Borrowed(_))));
    }

    #[test]
    fn key_without_value_clears_the_field() {
        let mut p = Params::default();
        p.parse_form(b"refresh_token=abc&refresh_token", true)
            .unwrap();
        assert_eq!(p.refresh_token, None);
    }

    #[test]
    fn broken_escapes_and_bad_utf8_are_malformed() {
        for bad in [
            &b"a=%zz"[..],
            b"a=%4",
            b"a=%",
            b"a=%ff",
            b"refresh_token=\xff",
        ] {
            assert_eq!(
                Params::default().parse_form(bad, true),
                Err(Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn json_scalars_become_strings() {
        let mut p = Params::default();
        p.parse_json(
            br#"{"grant_type":"refresh_token","client_id":12,"scope":null,"password":{"a":1}}"#,
            false,
        )
        .unwrap();
        assert_eq!(p.grant_type.as_deref(), Some("refresh_token"));
        assert_eq!(p.client_id.as_deref(), Some("12"));
        assert_eq!(p.scope, None);
        assert_eq!(p.password, None);
        assert_eq!(
            Params::default().parse_json(b"{nope", false),
            Err(Malformed)
        );
        assert_eq!(Params::default().parse_json(b"[1]", false), Ok(()));
        // Rails 6.1: a non-empty nested value is present and matches nothing.
        let mut p = Params::default();
        p.parse_json(br#"{"refresh_token":[1,2],"scope":[]}"#, true)
            .unwrap();
        assert_eq!(p.refresh_token.as_deref(), Some(NESTED));
        assert_eq!(p.scope, None);
    }

    #[test]
    fn body_kind_from_content_type() {
        assert_eq!(BodyKind::of(None), BodyKind::Form);
        assert_eq!(
            BodyKind::of(Some(b"Application/X-WWW-Form-Urlencoded ; charset=UTF-8")),
            BodyKind::Form
        );
        assert_eq!(BodyKind::of(Some(b"application/json")), BodyKind::Json);
        assert_eq!(BodyKind::of(Some(b"text/plain")), BodyKind::Ignored);
    }
}
