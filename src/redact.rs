//! The one redaction boundary: everything the harness prints or writes
//! (terminal lines, tracing logs, every report file, snapshot views and
//! `.snap.new` files, diffs) passes the run's [`Scrubber`] on its way out.
//!
//! **What is a secret.** Exactly these values, registered as they appear:
//! the configured secrets (client secret, password, refresh token, store
//! key, a password in the token URL), every value the client sends under a
//! secret-bearing field name ([`is_secret_key`]: `client_secret`,
//! `refresh_token`, `password`, `code`, ...), HTTP Basic credentials, and
//! every value the server hands out under such a key, at any depth of a JSON
//! or form body. Nothing else is registered: a grant type name such as
//! `refresh_token`, a client id or a field name is never a secret, so
//! "Missing required parameter: `refresh_token`." stays readable.
//!
//! **Spellings.** Each secret is searched raw, form-encoded (`+` and `%20`
//! for a space), JSON-escaped (also with `\u` escapes for non-ASCII),
//! HTML/XML-escaped (`&#39;`, `&#x27;`, `&apos;`), each of these nested once
//! (a JSON string inside a JSON document, JSON shown in HTML), and for Basic
//! credentials the base64 of `id:secret`.
//!
//! **The matching rule.** A spelling of [`WHOLE_TOKEN_BELOW`] (8) characters
//! or more is replaced wherever it occurs. A shorter one is replaced only as
//! a whole token: when neither neighbour is a letter, digit or `_`. So a
//! secret of any length is scrubbed (a 3-character password standing in an
//! error message is), while a short secret does not eat the letters of every
//! word. The trade-off, chosen on purpose: a one-character secret such as
//! `a` or `1` is still replaced wherever it stands alone ("exit
//! [redacted]"), because a secret is never shown; the readability of that
//! run is the price, and such a secret protects nothing anyway.
//!
//! **Structure.** JSON is redacted as JSON ([`Scrubber::redact_value`]): the
//! value of every secret-bearing key is replaced at any depth (in success
//! and error bodies, and in JSON found inside strings), and every string is
//! scrubbed. In free text, `key=value`, `"key": "value"` and `key: value`
//! for a secret-bearing key hide the value even when it was never
//! registered (a server repeating a secret the harness never sent).
//!
//! **Where it runs.** Reports are data first: a [`RunReport`] is redacted as
//! a whole ([`Scrubber::redacted`]) before any format renders it, and the
//! rendered file passes once more ([`Scrubber::write_file`], long spellings
//! only: a short one could match the file's own syntax). Terminal lines go
//! through [`print`], log lines through [`LogWriter`], snapshot views
//! through [`Scrubber::redact_value`].
//!
//! [`RunReport`]: crate::report::RunReport

use base64::Engine as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock};

pub use crate::secret::REDACTED;

/// JSON keys whose values are credentials, whatever the server is. Also
/// the keys looked for in free text (`key=value`).
pub const SECRET_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "password",
    "code",
];

/// Spellings at least this long are replaced anywhere; shorter ones only
/// as whole tokens.
pub const WHOLE_TOKEN_BELOW: usize = 8;

/// Whether a field (JSON key, form field, header name) holds a credential:
/// one of [`SECRET_KEYS`], or any name that ends in `token`, `secret` or
/// `password` once case, `-` and `_` are ignored (`X-Refresh-Token`,
/// `clientSecret`, `new_refresh_token`), or `authorization`.
pub fn is_secret_key(key: &str) -> bool {
    let norm: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
        || matches!(
            norm.as_str(),
            "code" | "authorization" | "passwd" | "storekey"
        )
        || norm.ends_with("token")
        || norm.ends_with("secret")
        || norm.ends_with("password")
}

/// A placeholder the harness itself writes (`[redacted]`, `[token]`,
/// `[expires_in]`): kept as it is.
fn is_marker(s: &str) -> bool {
    s.len() > 2
        && s.starts_with('[')
        && s.ends_with(']')
        && s[1..s.len() - 1]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c == ' ')
}

/// A copy of `value` with the value of every secret key replaced by
/// `[redacted]`, at any depth. Needs no registered secret; the run's
/// [`Scrubber::redact_value`] does this and more.
pub fn redact_json(value: &Value) -> Value {
    Scrubber::default().redact_value(value)
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

#[derive(Clone, Debug, PartialEq, Eq)]
struct Pattern {
    text: String,
    whole_token: bool,
}

#[derive(Default)]
struct Inner {
    /// Raw values, to register each once.
    secrets: Vec<String>,
    /// Every spelling of every secret, longest first (so a secret containing
    /// another is replaced whole).
    patterns: Vec<Pattern>,
}

/// The run's redactor: knows every secret value of the run. Cheap to clone
/// (shared); [`Scrubber::global`] is the one the binary's output uses.
#[derive(Clone, Default)]
pub struct Scrubber {
    inner: Arc<RwLock<Inner>>,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scrubber([redacted])")
    }
}

fn word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn json_escaped(s: &str) -> String {
    let q = serde_json::to_string(s).unwrap_or_default();
    q.get(1..q.len().saturating_sub(1)).unwrap_or("").to_owned()
}

fn json_ascii(s: &str) -> String {
    let mut out = String::new();
    for c in json_escaped(s).chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for u in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

fn form_encoded(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn html_escaped(s: &str) -> [String; 4] {
    let base = s
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    [
        base.replace('\'', "&#39;"),
        base.replace('\'', "&#x27;"),
        base.replace('\'', "&apos;"),
        base,
    ]
}

/// Every spelling of `secret` an output may carry (see the module docs).
pub fn spellings(secret: &str) -> Vec<String> {
    let mut first = vec![
        secret.to_owned(),
        form_encoded(secret),
        form_encoded(secret).replace('+', "%20"),
        json_escaped(secret),
        json_ascii(secret),
    ];
    first.extend(html_escaped(secret));
    let mut all = first.clone();
    for s in &first {
        all.push(json_escaped(s));
        all.extend(html_escaped(s));
    }
    all.retain(|s| !s.is_empty());
    all.sort();
    all.dedup();
    all
}

/// Replaces the occurrences of `p` in `text` that the matching rule counts.
fn replace(text: &str, p: &Pattern) -> Option<String> {
    if !text.contains(p.text.as_str()) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let (mut last, mut from, mut changed) = (0, 0, false);
    while let Some(i) = text[from..].find(p.text.as_str()) {
        let at = from + i;
        let end = at + p.text.len();
        let counts = !p.whole_token
            || (!text[..at].chars().next_back().is_some_and(word)
                && !text[end..].chars().next().is_some_and(word));
        if counts {
            out.push_str(&text[last..at]);
            out.push_str(REDACTED);
            last = end;
            from = end;
            changed = true;
        } else {
            from = at + text[at..].chars().next().map_or(1, char::len_utf8);
        }
    }
    changed.then(|| {
        out.push_str(&text[last..]);
        out
    })
}

/// `key=value`, `"key": "value"`, `\"key\":\"value\"` and `key: value` in
/// free text, for every key of [`SECRET_KEYS`]: the value is replaced.
/// (`code: ...` is left alone: "error code: 42" is prose.)
fn redact_pairs(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    // (start, end) of values to replace.
    let mut spans: Vec<(usize, usize)> = vec![];
    for key in SECRET_KEYS {
        let mut from = 0;
        while let Some(i) = lower[from..].find(key) {
            let at = from + i;
            from = at + key.len();
            if text[..at].chars().next_back().is_some_and(word) {
                continue;
            }
            let b = text.as_bytes();
            let mut p = at + key.len();
            let quoted_key = at > 0 && matches!(b[at - 1], b'"' | b'\'');
            if b[p..].starts_with(b"\\\"") {
                p += 2;
            } else if p < b.len() && matches!(b[p], b'"' | b'\'') {
                p += 1;
            }
            while p < b.len() && b[p] == b' ' {
                p += 1;
            }
            let Some(&sep) = b.get(p) else { continue };
            if sep != b'=' && sep != b':' {
                continue;
            }
            if sep == b':' && *key == "code" && !quoted_key {
                continue;
            }
            p += 1;
            while p < b.len() && b[p] == b' ' {
                p += 1;
            }
            let (start, end) = if b[p..].starts_with(b"\\\"") {
                let s = p + 2;
                (s, text[s..].find("\\\"").map_or(text.len(), |e| s + e))
            } else if p < b.len() && (b[p] == b'"' || b[p] == b'\'') {
                let q = b[p];
                let s = p + 1;
                let mut e = s;
                while e < b.len() && !(b[e] == q && b[e - 1] != b'\\') {
                    e += 1;
                }
                (s, e)
            } else {
                let e = text[p..]
                    .find(|c: char| c.is_whitespace() || "&,;\"'<>)}]\\".contains(c))
                    .map_or(text.len(), |e| p + e);
                (p, e)
            };
            let value = &text[start..end];
            let numeric_code = *key == "code" && value.chars().all(|c| c.is_ascii_digit());
            if value.is_empty() || value.starts_with(REDACTED) || is_marker(value) || numeric_code {
                continue;
            }
            spans.push((start, end));
        }
    }
    if spans.is_empty() {
        return text.to_owned();
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (s, e) in spans {
        if s < last {
            continue;
        }
        out.push_str(&text[last..s]);
        out.push_str(REDACTED);
        last = e;
    }
    out.push_str(&text[last..]);
    out
}

impl Scrubber {
    /// The process-wide redactor: the binary's terminal, log and report
    /// output all use it, so a secret registered anywhere is hidden
    /// everywhere.
    pub fn global() -> Scrubber {
        static GLOBAL: OnceLock<Scrubber> = OnceLock::new();
        GLOBAL.get_or_init(Scrubber::default).clone()
    }

    fn add_patterns(&self, raw: &str, patterns: impl IntoIterator<Item = String>) {
        let mut inner = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if inner.secrets.iter().any(|s| s == raw) {
            return;
        }
        inner.secrets.push(raw.to_owned());
        for text in patterns {
            let p = Pattern {
                whole_token: text.chars().count() < WHOLE_TOKEN_BELOW,
                text,
            };
            if !inner.patterns.contains(&p) {
                inner.patterns.push(p);
            }
        }
        inner
            .patterns
            .sort_by_key(|p| std::cmp::Reverse(p.text.len()));
    }

    /// Remember a secret value, of any length (the empty value is no
    /// secret). Only secrets: see the module docs for what qualifies.
    pub fn add(&self, secret: &str) {
        if secret.is_empty() || is_marker(secret) {
            return;
        }
        self.add_patterns(secret, spellings(secret));
    }

    /// Remember the value of a field the client sends or receives, when
    /// its name says it is a secret; anything else is left readable.
    pub fn add_field(&self, name: &str, value: &str) {
        if is_secret_key(name) {
            self.add(value);
        }
    }

    /// Remember HTTP Basic credentials: the secret and `base64(id:secret)`.
    pub fn add_basic(&self, client_id: &str, secret: &str) {
        self.add(secret);
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
        let unpadded = b64.trim_end_matches('=').to_owned();
        self.add_patterns(&format!("basic:{b64}"), [b64.clone(), unpadded]);
    }

    /// Remember every value under a secret-bearing key of a response, at
    /// any depth of a JSON body, or in a form-encoded one.
    pub fn learn_response(&self, json: Option<&Value>, raw_body: &str) {
        fn walk(s: &Scrubber, v: &Value) {
            match v {
                Value::Object(map) => {
                    for (k, v) in map {
                        match v {
                            Value::String(text) if is_secret_key(k) => s.add(text),
                            other => walk(s, other),
                        }
                    }
                }
                Value::Array(items) => items.iter().for_each(|v| walk(s, v)),
                _ => {}
            }
        }
        match json {
            Some(v) => walk(self, v),
            None => {
                for (k, v) in url::form_urlencoded::parse(raw_body.trim().as_bytes()) {
                    self.add_field(&k, &v);
                }
            }
        }
    }

    fn patterns(&self) -> Vec<Pattern> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .patterns
            .clone()
    }

    fn replace_all(&self, text: &str, long_only: bool) -> String {
        let inner = self
            .inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out: Option<String> = None;
        for p in inner
            .patterns
            .iter()
            .filter(|p| !long_only || !p.whole_token)
        {
            if let Some(r) = replace(out.as_deref().unwrap_or(text), p) {
                out = Some(r);
            }
        }
        out.unwrap_or_else(|| text.to_owned())
    }

    /// Free text that is data (an error message, a body that is not JSON,
    /// a header value, a diff): every registered secret in every spelling,
    /// the value of every `secret_key=value` pair, and JSON inside the text
    /// redacted as JSON.
    pub fn scrub(&self, text: &str) -> String {
        let trimmed = text.trim_start();
        if (trimmed.starts_with('{') || trimmed.starts_with('['))
            && let Ok(v) = serde_json::from_str::<Value>(text)
        {
            let clean = self.redact_value(&v);
            let text = if clean == v {
                text.to_owned()
            } else if text.contains('\n') {
                serde_json::to_string_pretty(&clean).unwrap_or_else(|_| REDACTED.to_owned())
            } else {
                serde_json::to_string(&clean).unwrap_or_else(|_| REDACTED.to_owned())
            };
            // The text itself may be a secret ("{}"), or a spelling the JSON
            // parse undid.
            return self.replace_all(&text, false);
        }
        redact_pairs(&self.replace_all(text, false))
    }

    /// A line for the terminal or the log, already built from redacted
    /// data: every registered secret in every spelling.
    pub fn scrub_line(&self, text: &str) -> String {
        self.replace_all(text, false)
    }

    /// A JSON value as data: the value of every secret-bearing key replaced
    /// at any depth (placeholders such as `[token]` kept), a `[name, value]`
    /// pair whose name is secret-bearing likewise, and every string (keys
    /// included) scrubbed.
    pub fn redact_value(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::Null => Value::Null,
                            Value::String(s) if is_marker(s) => v.clone(),
                            _ if is_secret_key(k) => Value::String(REDACTED.into()),
                            other => self.redact_value(other),
                        };
                        (self.scrub(k), v)
                    })
                    .collect(),
            ),
            Value::Array(items) => match items.as_slice() {
                [Value::String(k), Value::String(v)] if is_secret_key(k) => Value::Array(vec![
                    Value::String(self.scrub(k)),
                    Value::String(if v.is_empty() || is_marker(v) {
                        v.clone()
                    } else {
                        REDACTED.into()
                    }),
                ]),
                _ => Value::Array(items.iter().map(|v| self.redact_value(v)).collect()),
            },
            Value::String(s) => Value::String(self.scrub(s)),
            other => other.clone(),
        }
    }

    /// A redacted copy of any serializable record (a report): every string
    /// in it passes [`Scrubber::redact_value`].
    pub fn redacted<T: Serialize + DeserializeOwned>(&self, record: &T) -> std::io::Result<T> {
        let v = serde_json::to_value(record).map_err(std::io::Error::other)?;
        serde_json::from_value(self.redact_value(&v)).map_err(std::io::Error::other)
    }

    /// A rendered file (report), already made from redacted data: the long
    /// spellings of every secret once more, as a net under any renderer.
    pub fn scrub_rendered(&self, text: &str) -> String {
        self.replace_all(text, true)
    }

    /// Writes an output file through [`Scrubber::scrub_rendered`], creating
    /// its folder. The only way the harness writes a report.
    pub fn write_file(&self, path: &Path, text: &str) -> std::io::Result<()> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let mut f = std::fs::File::create(path)?;
        f.write_all(self.scrub_rendered(text).as_bytes())?;
        f.sync_all()
    }

    /// How many spellings are registered (for tests).
    pub fn len(&self) -> usize {
        self.patterns().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Prints to stdout through the global redactor.
pub fn print(text: &str) {
    let clean = Scrubber::global().scrub_line(text);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(clean.as_bytes());
    let _ = out.flush();
}

/// Prints to stderr through the global redactor.
pub fn eprint(text: &str) {
    let clean = Scrubber::global().scrub_line(text);
    let _ = std::io::stderr().lock().write_all(clean.as_bytes());
}

/// Log output (`tracing_subscriber`'s writer) through the global redactor:
/// each event is written in one call, which is scrubbed whole, pairs
/// included (a log line may quote a body the harness never parsed).
#[derive(Clone, Copy, Debug, Default)]
pub struct LogWriter;

pub struct LogLine;

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let clean = redact_pairs(&Scrubber::global().scrub_line(&text));
        std::io::stderr().lock().write_all(clean.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_secret_keys_at_any_depth() {
        let v = json!({"access_token": "abc", "nested": {"refresh_token": "def", "list": [{"code": "c0de"}]}, "scope": "hub_session", "X-Client-Secret": "s"});
        let r = redact_json(&v);
        assert_eq!(r["access_token"], REDACTED);
        assert_eq!(r["nested"]["refresh_token"], REDACTED);
        assert_eq!(r["nested"]["list"][0]["code"], REDACTED);
        assert_eq!(r["X-Client-Secret"], REDACTED);
        assert_eq!(r["scope"], "hub_session");
        // The harness's own placeholders stay.
        assert_eq!(
            redact_json(&json!({"access_token": "[token]"}))["access_token"],
            "[token]"
        );
    }

    #[test]
    fn describe_hides_tokens_but_shows_their_shape() {
        let d = describe("refresh_token", &json!("0123456789abcdef"));
        assert_eq!(d, "a string of 16 lowercase hex characters");
        assert_eq!(
            describe("refresh_token", &json!("a b")),
            "a string of 3 mixed characters"
        );
        assert_eq!(describe("scope", &json!("x")), "\"x\"");
    }

    #[test]
    fn scrubber_replaces_every_spelling() {
        let s = Scrubber::default();
        s.add("top secret+value/1");
        let t = s.scrub("a=top+secret%2Bvalue%2F1 b=top%20secret%2Bvalue%2F1 c=top secret+value/1");
        assert_eq!(t, "a=[redacted] b=[redacted] c=[redacted]");
        s.add("q\"<x>'");
        assert_eq!(
            s.scrub(r#"j q\"<x>' h q&quot;&lt;x&gt;&#39; x q&quot;&lt;x&gt;&apos;"#),
            "j [redacted] h [redacted] x [redacted]"
        );
        s.add_basic("id", "pw");
        assert_eq!(s.scrub("Basic aWQ6cHc="), "Basic [redacted]");
    }

    #[test]
    fn short_secrets_are_replaced_as_whole_tokens_only() {
        let s = Scrubber::default();
        s.add("Pw9");
        s.add("a");
        assert_eq!(
            s.scrub("password Pw9 was wrong"),
            "password [redacted] was wrong"
        );
        assert_eq!(s.scrub("xPw9 Pw9x Pw9_ a-b"), "xPw9 Pw9x Pw9_ [redacted]-b");
        assert_eq!(
            s.scrub("a string of 3 characters"),
            "[redacted] string of 3 characters"
        );
        // Long ones anywhere.
        s.add("Long-Secret");
        assert_eq!(s.scrub("xLong-Secretx"), "x[redacted]x");
    }

    #[test]
    fn values_that_are_not_secrets_are_never_registered() {
        let s = Scrubber::default();
        s.add_field("grant_type", "refresh_token");
        s.add_field("client_id", "my-client-id");
        s.add_field("refresh_token", "tok3n-value");
        assert_eq!(s.len(), 1);
        assert_eq!(
            s.scrub("Missing required parameter: refresh_token. client my-client-id, tok3n-value"),
            "Missing required parameter: refresh_token. client my-client-id, [redacted]"
        );
    }

    #[test]
    fn secret_pairs_in_free_text_are_hidden_unregistered() {
        let s = Scrubber::default();
        assert_eq!(
            s.scrub("bad client_secret=abc&grant_type=refresh_token&refresh_token=x1 \"password\": \"p w\", code: 42, Code=zz, \\\"access_token\\\":\\\"t\\\""),
            "bad client_secret=[redacted]&grant_type=refresh_token&refresh_token=[redacted] \"password\": \"[redacted]\", code: 42, Code=[redacted], \\\"access_token\\\":\\\"[redacted]\\\""
        );
        assert_eq!(
            s.scrub("refresh_token: missing"),
            "refresh_token: [redacted]"
        );
        assert_eq!(s.scrub("error code: 42"), "error code: 42");
        // JSON inside a string is redacted as JSON.
        assert_eq!(
            s.scrub(r#"{"client_secret":"x","error":"e"}"#),
            r#"{"client_secret":"[redacted]","error":"e"}"#
        );
    }

    #[test]
    fn a_record_is_redacted_whole() {
        #[derive(Serialize, serde::Deserialize, PartialEq, Debug)]
        struct R {
            text: String,
            pairs: Vec<(String, String)>,
        }
        let s = Scrubber::default();
        s.add("hunter2!");
        let r = R {
            text: "it was hunter2!".into(),
            pairs: vec![
                ("password".into(), "p".into()),
                ("grant_type".into(), "password".into()),
            ],
        };
        let clean = s.redacted(&r).unwrap();
        assert_eq!(clean.text, "it was [redacted]");
        assert_eq!(clean.pairs[0].1, REDACTED);
        assert_eq!(clean.pairs[1].1, "password");
    }
}
