//! The double measured against the real server: the same requests sent to
//! real Doorkeeper 5.5 (tests/peers/doorkeeper, started once per mode for
//! this binary) and to the double's `doorkeeper-5.5` profile, in both
//! revocation modes, comparing what the contract cares about: status, body
//! bytes with key order (tokens, times and `user_uuid` masked by their
//! shape), `Cache-Control`, `Pragma`, `Content-Type` and `WWW-Authenticate`.
//!
//! The corpus is written exchanges (each a short script, so rotation,
//! replays and races are exchanges too) plus generated requests from
//! proptest strategies with a fixed seed. Any difference fails the test,
//! except those in [`ALLOWED`], which are deployment (what sits in front
//! of Rails), not server. `documented_profile_is_told_apart` shows the
//! comparison failing, naming each difference, against the page's server.

mod common;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine;
use common::peer::{self, Peer, Revocation};
use payu_double::{DoubleOptions, Fixtures, Profile, RunningDouble};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;

// ---------------------------------------------------------------- requests

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    Token,
    Resource,
    Other(&'static str),
}

/// One HTTP request, exactly as sent (no header is added but reqwest's
/// `accept` and, for a body, `content-length`).
#[derive(Clone, Debug)]
struct Req {
    method: &'static str,
    path: Path,
    query: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    fn post(body: impl Into<Vec<u8>>) -> Req {
        Req {
            method: "POST",
            path: Path::Token,
            query: None,
            headers: vec![],
            body: body.into(),
        }
    }
    /// A form body, `application/x-www-form-urlencoded`, fields in order.
    fn form(fields: &[(&str, &str)]) -> Req {
        Req::post(encode(fields)).header("Content-Type", "application/x-www-form-urlencoded")
    }
    fn json(v: Value) -> Req {
        Req::post(v.to_string()).header("Content-Type", "application/json")
    }
    fn header(mut self, k: &str, v: &str) -> Req {
        self.headers.push((k.into(), v.into()));
        self
    }
    fn without_content_type(mut self) -> Req {
        self.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
        self
    }
    fn basic(self, id: &str, secret: &str) -> Req {
        let v = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        self.header("Authorization", &format!("Basic {v}"))
    }
    fn method(mut self, m: &'static str) -> Req {
        self.method = m;
        self
    }
    fn path(mut self, p: Path) -> Req {
        self.path = p;
        self
    }
    fn query(mut self, q: String) -> Req {
        self.query = Some(q);
        self
    }
    fn resource(access_token: &str) -> Req {
        Req {
            method: "GET",
            path: Path::Resource,
            query: None,
            headers: vec![("Authorization".into(), format!("Bearer {access_token}"))],
            body: vec![],
        }
    }
}

fn encode(fields: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

// ------------------------------------------------------------- the servers

/// One server under comparison and what a script knows on it: the seeded
/// credentials and the tokens earlier steps saved.
struct Side {
    name: &'static str,
    base: String,
    fixtures: Value,
    http: reqwest::Client,
    vars: HashMap<String, String>,
}

impl Side {
    fn new(name: &'static str, token_url: &str, fixtures: Value) -> Side {
        // reqwest is built without a default TLS provider (plain HTTP here,
        // but the client builder still wants one).
        let _ = rustls::crypto::ring::default_provider().install_default();
        Side {
            name,
            base: token_url.trim_end_matches("/oauth/token").to_owned(),
            fixtures,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(20))
                .build()
                .unwrap(),
            vars: HashMap::new(),
        }
    }
    fn client(&self, kind: &str, field: &str) -> String {
        self.fixtures["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == kind)
            .unwrap()[field]
            .as_str()
            .unwrap()
            .to_owned()
    }
    fn pid(&self) -> String {
        self.client("public", "client_id")
    }
    fn psec(&self) -> String {
        self.client("public", "client_secret")
    }
    fn cid(&self) -> String {
        self.client("confidential", "client_id")
    }
    fn csec(&self) -> String {
        self.client("confidential", "client_secret")
    }
    fn user(&self) -> String {
        self.fixtures["user"]["username"]
            .as_str()
            .unwrap()
            .to_owned()
    }
    fn pass(&self) -> String {
        self.fixtures["user"]["password"]
            .as_str()
            .unwrap()
            .to_owned()
    }
    /// A saved token; `"{name}.rt"` / `"{name}.at"`. A step that needed a
    /// token an earlier step failed to get sends this placeholder instead.
    fn var(&self, key: &str) -> String {
        self.vars
            .get(key)
            .cloned()
            .unwrap_or_else(|| "0".repeat(64))
    }

    async fn send(&self, r: &Req) -> Seen {
        let path = match r.path {
            Path::Token => "/oauth/token",
            Path::Resource => "/api/me",
            Path::Other(p) => p,
        };
        let mut url = format!("{}{path}", self.base);
        if let Some(q) = &r.query {
            url.push('?');
            url.push_str(q);
        }
        let method = reqwest::Method::from_bytes(r.method.as_bytes()).unwrap();
        let mut b = self.http.request(method, url);
        for (k, v) in &r.headers {
            b = b.header(k, v);
        }
        if !r.body.is_empty() || r.method == "POST" {
            b = b.body(r.body.clone());
        }
        let resp = b
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: request failed: {e}", self.name));
        let status = resp.status().as_u16();
        let h = |name: &str| {
            let v: Vec<&str> = resp
                .headers()
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap_or("<non-ascii>"))
                .collect();
            (!v.is_empty()).then(|| v.join(", "))
        };
        let headers = [
            h("cache-control"),
            h("pragma"),
            h("content-type"),
            h("www-authenticate"),
        ];
        let raw = resp.text().await.unwrap_or_default();
        let json: Option<Value> = serde_json::from_str(&raw).ok();
        Seen {
            status,
            headers,
            body: mask(&raw),
            json,
        }
    }
}

/// What is compared of one response.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    status: u16,
    /// Cache-Control, Pragma, Content-Type, WWW-Authenticate.
    headers: [Option<String>; 4],
    /// The body with tokens, times and `user_uuid` replaced by their shape.
    body: String,
    #[allow(dead_code)]
    json: Option<Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Status,
    CacheControl,
    Pragma,
    ContentType,
    WwwAuthenticate,
    Body,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Status => "status",
            Field::CacheControl => "Cache-Control",
            Field::Pragma => "Pragma",
            Field::ContentType => "Content-Type",
            Field::WwwAuthenticate => "WWW-Authenticate",
            Field::Body => "body",
        })
    }
}

const HEADER_FIELDS: [Field; 4] = [
    Field::CacheControl,
    Field::Pragma,
    Field::ContentType,
    Field::WwwAuthenticate,
];

fn differences(a: &Seen, b: &Seen) -> Vec<(Field, String, String)> {
    let mut out = vec![];
    if a.status != b.status {
        out.push((Field::Status, a.status.to_string(), b.status.to_string()));
    }
    for (i, f) in HEADER_FIELDS.iter().enumerate() {
        if a.headers[i] != b.headers[i] {
            out.push((
                *f,
                format!("{:?}", a.headers[i]),
                format!("{:?}", b.headers[i]),
            ));
        }
    }
    if a.body != b.body {
        out.push((Field::Body, a.body.clone(), b.body.clone()));
    }
    out
}

/// Replace the values that differ by nature between two servers (tokens,
/// times, the user's UUID) by their shape, in the raw body text, so that
/// key order, formatting and everything else still compare byte for byte.
fn mask(raw: &str) -> String {
    let mut s = raw.to_owned();
    for key in ["access_token", "refresh_token", "user_uuid"] {
        let pat = format!("\"{key}\":\"");
        let mut from = 0;
        while let Some(i) = s[from..].find(&pat) {
            let start = from + i + pat.len();
            let Some(len) = s[start..].find('"') else {
                break;
            };
            let v = &s[start..start + len];
            let shape = shape(key, v);
            s.replace_range(start..start + len, &shape);
            from = start + shape.len();
        }
    }
    for key in ["created_at", "expires_in"] {
        let pat = format!("\"{key}\":");
        let mut from = 0;
        while let Some(i) = s[from..].find(&pat) {
            let start = from + i + pat.len();
            let len = s[start..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(s.len() - start);
            let v: u64 = s[start..start + len].parse().unwrap_or(0);
            let shape = match key {
                "created_at" if v.abs_diff(now()) < 600 => "<now>".to_owned(),
                "expires_in" if (7190..=7200).contains(&v) => "<7200-age>".to_owned(),
                _ => v.to_string(),
            };
            s.replace_range(start..start + len, &shape);
            from = start + shape.len();
        }
    }
    s
}

fn shape(key: &str, v: &str) -> String {
    let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    if key == "user_uuid" {
        let groups: Vec<usize> = v.split('-').map(str::len).collect();
        if groups == [4, 4, 8, 4, 12] && v.chars().all(|c| c == '-' || hex(c)) {
            return "<uuid 4-4-8-4-12>".into();
        }
        return format!("<uuid other: {groups:?}>");
    }
    if v.len() == 64 && v.chars().all(hex) {
        "<hex64>".into()
    } else {
        format!("<token len={}>", v.len())
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// ------------------------------------------------------------- exchanges

type Build = Arc<dyn Fn(&Side) -> Req + Send + Sync>;

/// One step of a script: a request, or several sent at once (a race, whose
/// answers are compared as a set), saving the tokens of a 200 under a name.
#[derive(Clone)]
enum Step {
    One(Build, Option<&'static str>),
    Race(Vec<Build>),
}

#[derive(Clone)]
struct Exchange {
    name: String,
    mode: Revocation,
    steps: Vec<Step>,
}

fn step(f: impl Fn(&Side) -> Req + Send + Sync + 'static) -> Step {
    Step::One(Arc::new(f), None)
}
fn save(name: &'static str, f: impl Fn(&Side) -> Req + Send + Sync + 'static) -> Step {
    Step::One(Arc::new(f), Some(name))
}

/// "Get Token" (the password grant) for the public client, saved as `name`.
fn get_public(name: &'static str) -> Step {
    save(name, |s| {
        Req::form(&[
            ("grant_type", "password"),
            ("client_id", &s.pid()),
            ("username", &s.user()),
            ("password", &s.pass()),
            ("scope", "hub_session"),
        ])
    })
}
fn get_confidential(name: &'static str) -> Step {
    save(name, |s| {
        Req::form(&[
            ("grant_type", "password"),
            ("client_id", &s.cid()),
            ("client_secret", &s.csec()),
            ("username", &s.user()),
            ("password", &s.pass()),
        ])
    })
}
/// The documented refresh of a saved token by the public client, no secret.
fn refresh(from: &'static str, to: Option<&'static str>) -> Step {
    Step::One(
        Arc::new(move |s: &Side| {
            Req::form(&[
                ("client_id", &s.pid()),
                ("grant_type", "refresh_token"),
                ("refresh_token", &s.var(&format!("{from}.rt"))),
            ])
        }),
        to,
    )
}
fn use_access(name: &'static str) -> Step {
    step(move |s| Req::resource(&s.var(&format!("{name}.at"))))
}

fn ex(name: &str, mode: Revocation, steps: Vec<Step>) -> Exchange {
    Exchange {
        name: name.into(),
        mode,
        steps,
    }
}

/// A refresh with the given fields after `grant_type=refresh_token`, for a
/// fresh public token `t0`.
fn refresh_with(name: &str, f: impl Fn(&Side, String) -> Req + Send + Sync + 'static) -> Exchange {
    ex(
        name,
        Revocation::OnUse,
        vec![get_public("t0"), step(move |s| f(s, s.var("t0.rt")))],
    )
}

/// The written corpus.
fn written() -> Vec<Exchange> {
    use Revocation::*;
    let mut v = vec![
        // "Get Token", the password grant.
        ex("get-token/public-no-secret", OnUse, vec![get_public("t")]),
        ex(
            "get-token/public-with-secret",
            OnUse,
            vec![save("t", |s| {
                rt(&[
                    ("grant_type", "password"),
                    ("client_id", &s.pid()),
                    ("client_secret", &s.psec()),
                    ("username", &s.user()),
                    ("password", &s.pass()),
                ])
            })],
        ),
        ex("get-token/confidential", OnUse, vec![get_confidential("t")]),
        ex(
            "get-token/confidential-no-secret",
            OnUse,
            vec![step(|s| {
                rt(&[
                    ("grant_type", "password"),
                    ("client_id", &s.cid()),
                    ("username", &s.user()),
                    ("password", &s.pass()),
                ])
            })],
        ),
        ex(
            "get-token/wrong-password",
            OnUse,
            vec![step(|s| {
                rt(&[
                    ("grant_type", "password"),
                    ("client_id", &s.pid()),
                    ("username", &s.user()),
                    ("password", "nope"),
                ])
            })],
        ),
        ex(
            "get-token/no-client",
            OnUse,
            vec![step(|s| {
                rt(&[
                    ("grant_type", "password"),
                    ("username", &s.user()),
                    ("password", &s.pass()),
                ])
            })],
        ),
        ex(
            "get-token/wider-scope",
            OnUse,
            vec![step(|s| {
                rt(&[
                    ("grant_type", "password"),
                    ("client_id", &s.pid()),
                    ("username", &s.user()),
                    ("password", &s.pass()),
                    ("scope", "hub_session payouts"),
                ])
            })],
        ),
        // The documented rows.
        refresh_with("row/without-client-secret (200)", |s, t| {
            rt(&[
                ("client_id", &s.pid()),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
            ])
        }),
        refresh_with("row/with-client-secret", |s, t| {
            rt(&[
                ("client_id", &s.pid()),
                ("client_secret", &s.psec()),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
            ])
        }),
        refresh_with("row/without-grant-type", |s, t| {
            rt(&[("client_id", &s.pid()), ("refresh_token", &t)])
        }),
        refresh_with("row/without-refresh-token", |s, _| {
            rt(&[("client_id", &s.pid()), ("grant_type", "refresh_token")])
        }),
        refresh_with("row/invalid-client", |_, t| {
            rt(&[
                ("client_id", &"ab".repeat(32)),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
            ])
        }),
        refresh_with("row/invalid-grant-type", |s, t| {
            rt(&[
                ("client_id", &s.pid()),
                ("grant_type", "refresh_tokens"),
                ("refresh_token", &t),
            ])
        }),
        refresh_with("row/invalid-refresh-token", |s, _| {
            rt(&[
                ("client_id", &s.pid()),
                ("grant_type", "refresh_token"),
                ("refresh_token", &"cd".repeat(32)),
            ])
        }),
        // Check order.
        refresh_with("order/bad-token-and-bad-client", |_, _| {
            rt(&[
                ("client_id", "nope"),
                ("grant_type", "refresh_token"),
                ("refresh_token", "nope"),
            ])
        }),
        refresh_with("order/bad-grant-type-and-no-token", |s, _| {
            rt(&[
                ("client_id", &s.pid()),
                ("grant_type", "client_credentials"),
            ])
        }),
        refresh_with("order/nothing", |_, _| rt(&[])),
        refresh_with("order/authorization-code-not-enabled", |s, _| {
            rt(&[
                ("client_id", &s.pid()),
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("redirect_uri", "https://example.com"),
            ])
        }),
        refresh_with("order/wrong-secret-public", |s, t| {
            rt(&[
                ("client_id", &s.pid()),
                ("client_secret", "wrong"),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
            ])
        }),
        refresh_with("order/no-client-at-all", |_, t| {
            rt(&[("grant_type", "refresh_token"), ("refresh_token", &t)])
        }),
        refresh_with("order/empty-client-id", |_, t| {
            rt(&[
                ("client_id", ""),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
            ])
        }),
        refresh_with("order/blank-refresh-token", |s, _| {
            rt(&[
                ("client_id", &s.pid()),
                ("grant_type", "refresh_token"),
                ("refresh_token", "  "),
            ])
        }),
        // Where the client authenticates.
        refresh_with("auth/basic", |s, t| {
            rt(&[("grant_type", "refresh_token"), ("refresh_token", &t)]).basic(&s.pid(), &s.psec())
        }),
        refresh_with("auth/basic-id-only", |s, t| {
            rt(&[("grant_type", "refresh_token"), ("refresh_token", &t)]).basic(&s.pid(), "")
        }),
        refresh_with("auth/basic-wins-over-wrong-body", |s, t| {
            rt(&[
                ("client_id", &s.pid()),
                ("client_secret", "wrong"),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
            ])
            .basic(&s.pid(), &s.psec())
        }),
        refresh_with("auth/wrong-basic-right-body", |s, t| {
            rt(&[
                ("client_id", &s.pid()),
                ("client_secret", &s.psec()),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
            ])
            .basic(&s.pid(), "wrong")
        }),
        refresh_with("auth/basic-lowercase-scheme", |s, t| {
            let v = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                s.pid(),
                s.psec()
            ));
            rt(&[("grant_type", "refresh_token"), ("refresh_token", &t)])
                .header("Authorization", &format!("basic {v}"))
        }),
        refresh_with("auth/basic-not-base64", |_, t| {
            rt(&[("grant_type", "refresh_token"), ("refresh_token", &t)])
                .header("Authorization", "Basic !!!")
        }),
        // Confidential client, and another client's token.
        ex(
            "confidential/refresh-with-secret",
            OnUse,
            vec![
                get_confidential("c"),
                step(|s| {
                    rt(&[
                        ("client_id", &s.cid()),
                        ("client_secret", &s.csec()),
                        ("grant_type", "refresh_token"),
                        ("refresh_token", &s.var("c.rt")),
                    ])
                }),
            ],
        ),
        ex(
            "confidential/refresh-without-secret",
            OnUse,
            vec![
                get_confidential("c"),
                step(|s| {
                    rt(&[
                        ("client_id", &s.cid()),
                        ("grant_type", "refresh_token"),
                        ("refresh_token", &s.var("c.rt")),
                    ])
                }),
            ],
        ),
        ex(
            "another-client/public-presents-confidential-token",
            OnUse,
            vec![
                get_confidential("c"),
                step(|s| {
                    rt(&[
                        ("client_id", &s.pid()),
                        ("grant_type", "refresh_token"),
                        ("refresh_token", &s.var("c.rt")),
                    ])
                }),
            ],
        ),
        ex(
            "another-client/confidential-presents-public-token",
            OnUse,
            vec![
                get_public("p"),
                step(|s| {
                    rt(&[
                        ("client_id", &s.cid()),
                        ("client_secret", &s.csec()),
                        ("grant_type", "refresh_token"),
                        ("refresh_token", &s.var("p.rt")),
                    ])
                }),
            ],
        ),
        // Scope.
        refresh_with("scope/equal", |s, t| {
            rt(&[
                ("client_id", &s.pid()),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
                ("scope", "hub_session"),
            ])
        }),
        refresh_with("scope/wider", |s, t| {
            rt(&[
                ("client_id", &s.pid()),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
                ("scope", "hub_session payouts"),
            ])
        }),
        refresh_with("scope/other", |s, t| {
            rt(&[
                ("client_id", &s.pid()),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
                ("scope", "payouts"),
            ])
        }),
        refresh_with("scope/narrower-empty", |s, t| {
            rt(&[
                ("client_id", &s.pid()),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
                ("scope", ""),
            ])
        }),
        refresh_with("scope/extra-spaces", |s, t| {
            rt(&[
                ("client_id", &s.pid()),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
                ("scope", "  hub_session  "),
            ])
        }),
        // Duplicates, encodings, media types.
        refresh_with("dup/grant-type-last-wins", |s, t| {
            rt(&[
                ("grant_type", "password"),
                ("client_id", &s.pid()),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
            ])
        }),
        refresh_with("dup/refresh-token-last-wins", |s, t| {
            rt(&[
                ("grant_type", "refresh_token"),
                ("client_id", &s.pid()),
                ("refresh_token", &t),
                ("refresh_token", "nope"),
            ])
        }),
        refresh_with("dup/client-id-last-wins", |s, t| {
            rt(&[
                ("client_id", "nope"),
                ("grant_type", "refresh_token"),
                ("client_id", &s.pid()),
                ("refresh_token", &t),
            ])
        }),
        refresh_with("media/json", |s, t| {
            Req::json(
                serde_json::json!({"client_id": s.pid(), "grant_type": "refresh_token", "refresh_token": t}),
            )
        }),
        refresh_with("media/json-number-and-array", |s, _| {
            Req::json(
                serde_json::json!({"client_id": s.pid(), "grant_type": "refresh_token", "refresh_token": [1, 2], "scope": 5}),
            )
        }),
        refresh_with("media/json-broken", |_, _| {
            Req::post("{\"grant_type\":").header("Content-Type", "application/json")
        }),
        refresh_with("media/empty-body", |_, _| {
            Req::post("").header("Content-Type", "application/x-www-form-urlencoded")
        }),
        refresh_with("media/no-content-type", |s, t| {
            rt(&[
                ("client_id", &s.pid()),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
            ])
            .without_content_type()
        }),
        refresh_with("media/text-plain", |s, t| {
            rt(&[
                ("client_id", &s.pid()),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
            ])
            .without_content_type()
            .header("Content-Type", "text/plain")
        }),
        refresh_with("media/form-with-charset", |s, t| {
            rt(&[
                ("client_id", &s.pid()),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
            ])
            .without_content_type()
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded; charset=UTF-8",
            )
        }),
        refresh_with("media/semicolon-separators", |s, t| {
            Req::post(format!(
                "client_id={};grant_type=refresh_token;refresh_token={t}",
                s.pid()
            ))
            .header("Content-Type", "application/x-www-form-urlencoded")
        }),
        refresh_with("media/percent-encoded-everything", |s, t| {
            let pct = |v: &str| v.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
            Req::post(format!(
                "{}={}&{}={}&{}={}",
                pct("client_id"),
                pct(&s.pid()),
                pct("grant_type"),
                pct("refresh_token"),
                pct("refresh_token"),
                pct(&t)
            ))
            .header("Content-Type", "application/x-www-form-urlencoded")
        }),
        refresh_with("media/plus-as-space-in-scope", |s, t| {
            Req::post(format!(
                "client_id={}&grant_type=refresh_token&refresh_token={t}&scope=hub_session+payouts",
                s.pid()
            ))
            .header("Content-Type", "application/x-www-form-urlencoded")
        }),
        refresh_with("media/query-string-only", |s, t| {
            Req::post("")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .query(encode(&[
                    ("client_id", &s.pid()),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &t),
                ]))
        }),
        refresh_with("media/query-and-body-conflict", |s, t| {
            rt(&[
                ("client_id", &s.pid()),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
            ])
            .query("refresh_token=nope".into())
        }),
        // Methods and paths.
        refresh_with("method/get", |_, _| Req::post("").method("GET")),
        refresh_with("method/put", |s, t| {
            rt(&[
                ("client_id", &s.pid()),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
            ])
            .method("PUT")
        }),
        refresh_with("method/delete", |_, _| Req::post("").method("DELETE")),
        refresh_with("path/unknown", |_, _| {
            Req::post("").path(Path::Other("/oauth/tokens"))
        }),
        refresh_with("path/trailing-slash", |s, t| {
            rt(&[
                ("client_id", &s.pid()),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
            ])
            .path(Path::Other("/oauth/token/"))
        }),
        refresh_with("limit/body-over-64KiB", |s, t| {
            rt(&[
                ("client_id", &s.pid()),
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
                ("pad", &"x".repeat(70_000)),
            ])
        }),
        // The protected resource.
        ex(
            "resource/valid-token",
            OnUse,
            vec![get_public("t"), use_access("t")],
        ),
        ex(
            "resource/unknown-token",
            OnUse,
            vec![step(|_| Req::resource(&"ef".repeat(32)))],
        ),
        ex(
            "resource/no-token",
            OnUse,
            vec![step(|_| Req::resource("x").without_authorization())],
        ),
    ];
    // Rotation, replays and races, in both revocation modes.
    for mode in [OnUse, AtRefresh] {
        let m = mode.env_value();
        v.extend([
            ex(
                &format!("rotation/{m}/chain-of-three"),
                mode,
                vec![
                    get_public("t0"),
                    refresh("t0", Some("t1")),
                    refresh("t1", Some("t2")),
                    refresh("t2", Some("t3")),
                ],
            ),
            ex(
                &format!("rotation/{m}/replay-before-use"),
                mode,
                vec![
                    get_public("t0"),
                    refresh("t0", Some("t1")),
                    refresh("t0", Some("t1b")),
                    refresh("t1", None),
                ],
            ),
            ex(
                &format!("rotation/{m}/replay-after-use"),
                mode,
                vec![
                    get_public("t0"),
                    refresh("t0", Some("t1")),
                    use_access("t1"),
                    refresh("t0", None),
                    refresh("t1", None),
                ],
            ),
            ex(
                &format!("rotation/{m}/old-access-token-after-refresh"),
                mode,
                vec![
                    get_public("t0"),
                    refresh("t0", Some("t1")),
                    use_access("t0"),
                    use_access("t1"),
                    use_access("t0"),
                ],
            ),
            ex(
                &format!("rotation/{m}/replayed-branch-then-use"),
                mode,
                vec![
                    get_public("t0"),
                    refresh("t0", Some("t1")),
                    refresh("t0", Some("t1b")),
                    use_access("t1b"),
                    refresh("t1", None),
                    refresh("t1b", None),
                    refresh("t0", None),
                ],
            ),
            ex(
                &format!("rotation/{m}/confidential-replay"),
                mode,
                vec![
                    get_confidential("c0"),
                    save("c1", |s| {
                        rt(&[
                            ("client_id", &s.cid()),
                            ("client_secret", &s.csec()),
                            ("grant_type", "refresh_token"),
                            ("refresh_token", &s.var("c0.rt")),
                        ])
                    }),
                    use_access("c1"),
                    step(|s| {
                        rt(&[
                            ("client_id", &s.cid()),
                            ("client_secret", &s.csec()),
                            ("grant_type", "refresh_token"),
                            ("refresh_token", &s.var("c0.rt")),
                        ])
                    }),
                ],
            ),
            ex(
                &format!("race/{m}/two-concurrent-refreshes"),
                mode,
                vec![
                    get_public("t0"),
                    Step::Race(vec![refresh_build("t0"), refresh_build("t0")]),
                ],
            ),
        ]);
    }
    v
}

/// A form request (the common case of the written corpus).
fn rt(pairs: &[(&str, &str)]) -> Req {
    Req::form(pairs)
}

fn refresh_build(from: &'static str) -> Build {
    Arc::new(move |s: &Side| {
        Req::form(&[
            ("client_id", &s.pid()),
            ("grant_type", "refresh_token"),
            ("refresh_token", &s.var(&format!("{from}.rt"))),
        ])
    })
}

impl Req {
    fn without_authorization(mut self) -> Req {
        self.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
        self
    }
}

// ------------------------------------------------------ generated requests

/// Which value a generated field takes; resolved on each side.
#[derive(Clone, Debug)]
enum Val {
    Absent,
    Empty,
    Lit(&'static str),
    PublicId,
    ConfidentialId,
    PublicSecret,
    ConfidentialSecret,
    /// A fresh token of the public client (a Get Token step runs first).
    FreshPublic,
    /// A fresh token of the confidential client.
    FreshConfidential,
    /// A token refreshed once already (used).
    Used,
    Padded(Box<Val>),
    Upper(Box<Val>),
}

#[derive(Clone, Debug)]
enum Placement {
    Body,
    Basic,
    Query,
}

#[derive(Clone, Debug)]
enum Encoding {
    Form,
    FormNoContentType,
    FormCharset,
    Json,
    TextPlain,
    PercentAll,
}

#[derive(Clone, Debug)]
struct Gen {
    grant_type: Val,
    refresh_token: Val,
    client_id: Val,
    client_secret: Val,
    scope: Val,
    username: Val,
    password: Val,
    auth: Placement,
    encoding: Encoding,
    duplicate_grant_type: Option<&'static str>,
    mode: bool,
}

fn val_strategy() -> impl Strategy<Value = Val> {
    prop_oneof![Just(Val::Absent), Just(Val::Empty)]
}

fn gen_strategy() -> impl Strategy<Value = Gen> {
    let grant = prop_oneof![
        6 => Just(Val::Lit("refresh_token")),
        2 => Just(Val::Lit("password")),
        1 => Just(Val::Lit("authorization_code")),
        1 => Just(Val::Lit("client_credentials")),
        1 => Just(Val::Lit("Refresh_Token")),
        1 => Just(Val::Lit("refresh_token ")),
        1 => val_strategy(),
    ];
    let token = prop_oneof![
        5 => Just(Val::FreshPublic),
        2 => Just(Val::FreshConfidential),
        2 => Just(Val::Used),
        1 => Just(Val::Lit("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")),
        1 => Just(Val::Lit("not a token")),
        1 => Just(Val::Padded(Box::new(Val::FreshPublic))),
        1 => Just(Val::Upper(Box::new(Val::FreshPublic))),
        1 => val_strategy(),
    ];
    let id = prop_oneof![
        5 => Just(Val::PublicId),
        3 => Just(Val::ConfidentialId),
        1 => Just(Val::Lit("unknown-client")),
        1 => Just(Val::Upper(Box::new(Val::PublicId))),
        1 => Just(Val::Padded(Box::new(Val::PublicId))),
        2 => val_strategy(),
    ];
    let secret = prop_oneof![
        4 => Just(Val::Absent),
        2 => Just(Val::PublicSecret),
        3 => Just(Val::ConfidentialSecret),
        1 => Just(Val::Lit("wrong")),
        1 => Just(Val::Empty),
    ];
    let scope = prop_oneof![
        5 => Just(Val::Absent),
        2 => Just(Val::Lit("hub_session")),
        1 => Just(Val::Lit("hub_session payouts")),
        1 => Just(Val::Lit("payouts")),
        1 => Just(Val::Lit(" hub_session")),
        1 => Just(Val::Empty),
    ];
    let user = prop_oneof![3 => Just(Val::Lit("<user>")), 1 => Just(Val::Lit("nobody")), 1 => Just(Val::Absent)];
    let pass = prop_oneof![3 => Just(Val::Lit("<pass>")), 1 => Just(Val::Lit("wrong")), 1 => Just(Val::Absent)];
    let auth = prop_oneof![6 => Just(Placement::Body), 3 => Just(Placement::Basic), 1 => Just(Placement::Query)];
    let enc = prop_oneof![
        6 => Just(Encoding::Form),
        1 => Just(Encoding::FormNoContentType),
        1 => Just(Encoding::FormCharset),
        2 => Just(Encoding::Json),
        1 => Just(Encoding::TextPlain),
        1 => Just(Encoding::PercentAll),
    ];
    let dup =
        prop_oneof![8 => Just(None), 1 => Just(Some("password")), 1 => Just(Some("refresh_token"))];
    (
        (grant, token, id, secret, scope),
        (user, pass, auth, enc, dup, any::<bool>()),
    )
        .prop_map(
            |(
                (grant_type, refresh_token, client_id, client_secret, scope),
                (username, password, auth, encoding, duplicate_grant_type, mode),
            )| Gen {
                grant_type,
                refresh_token,
                client_id,
                client_secret,
                scope,
                username,
                password,
                auth,
                encoding,
                duplicate_grant_type,
                mode,
            },
        )
}

fn resolve(v: &Val, s: &Side) -> Option<String> {
    Some(match v {
        Val::Absent => return None,
        Val::Empty => String::new(),
        Val::Lit("<user>") => s.user(),
        Val::Lit("<pass>") => s.pass(),
        Val::Lit(l) => (*l).to_owned(),
        Val::PublicId => s.pid(),
        Val::ConfidentialId => s.cid(),
        Val::PublicSecret => s.psec(),
        Val::ConfidentialSecret => s.csec(),
        Val::FreshPublic => s.var("fresh-public.rt"),
        Val::FreshConfidential => s.var("fresh-confidential.rt"),
        Val::Used => s.var("used.rt"),
        Val::Padded(v) => format!(" {} ", resolve(v, s)?),
        Val::Upper(v) => resolve(v, s)?.to_uppercase(),
    })
}

fn needs(v: &Val) -> Option<&'static str> {
    match v {
        Val::FreshPublic => Some("fresh-public"),
        Val::FreshConfidential => Some("fresh-confidential"),
        Val::Used => Some("used"),
        Val::Padded(v) | Val::Upper(v) => needs(v),
        _ => None,
    }
}

impl Gen {
    fn request(&self, s: &Side) -> Req {
        let mut body: Vec<(&str, String)> = vec![];
        if let Some(d) = self.duplicate_grant_type {
            body.push(("grant_type", d.to_owned()));
        }
        let fields = [
            ("grant_type", &self.grant_type),
            ("refresh_token", &self.refresh_token),
            ("scope", &self.scope),
        ];
        for (k, v) in fields {
            if let Some(v) = resolve(v, s) {
                body.push((k, v));
            }
        }
        if matches!(self.grant_type, Val::Lit("password")) {
            for (k, v) in [("username", &self.username), ("password", &self.password)] {
                if let Some(v) = resolve(v, s) {
                    body.push((k, v));
                }
            }
        }
        let id = resolve(&self.client_id, s);
        let secret = resolve(&self.client_secret, s);
        let mut query = None;
        let mut basic = None;
        match self.auth {
            Placement::Body => {
                if let Some(id) = id {
                    body.push(("client_id", id));
                }
                if let Some(sec) = secret {
                    body.push(("client_secret", sec));
                }
            }
            Placement::Basic => basic = Some((id.unwrap_or_default(), secret.unwrap_or_default())),
            Placement::Query => {
                let mut q = vec![];
                if let Some(id) = id {
                    q.push(("client_id", id));
                }
                if let Some(sec) = secret {
                    q.push(("client_secret", sec));
                }
                let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
                query = Some(encode(&q));
            }
        }
        let pairs: Vec<(&str, &str)> = body.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let form = || encode(&pairs);
        let mut req = match self.encoding {
            Encoding::Form => Req::form(&pairs),
            Encoding::FormNoContentType => Req::post(form()),
            Encoding::FormCharset => Req::post(form()).header(
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            Encoding::TextPlain => Req::post(form()).header("Content-Type", "text/plain"),
            Encoding::Json => {
                let mut m = serde_json::Map::new();
                for (k, v) in &pairs {
                    m.insert((*k).to_owned(), Value::String((*v).to_owned()));
                }
                Req::json(Value::Object(m))
            }
            Encoding::PercentAll => {
                let pct = |v: &str| v.bytes().map(|b| format!("%{b:02x}")).collect::<String>();
                let b: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
                    .collect();
                Req::post(b.join("&")).header("Content-Type", "application/x-www-form-urlencoded")
            }
        };
        if let Some((id, sec)) = basic {
            req = req.basic(&id, &sec);
        }
        if let Some(q) = query {
            req = req.query(q);
        }
        req
    }

    fn exchange(self, i: usize) -> Exchange {
        let mode = if self.mode {
            Revocation::OnUse
        } else {
            Revocation::AtRefresh
        };
        let mut steps = vec![];
        let mut wanted: Vec<&str> = [&self.refresh_token]
            .into_iter()
            .filter_map(needs)
            .collect();
        wanted.dedup();
        for w in wanted {
            match w {
                "fresh-public" => steps.push(get_public("fresh-public")),
                "fresh-confidential" => steps.push(get_confidential("fresh-confidential")),
                _ => {
                    steps.push(get_public("used"));
                    steps.push(refresh("used", Some("after-used")));
                    if self.mode {
                        steps.push(use_access("after-used"));
                    }
                }
            }
        }
        let name = format!("generated/{i}: {self:?}");
        steps.push(step(move |s| self.request(s)));
        Exchange { name, mode, steps }
    }
}

/// `n` generated exchanges from a fixed seed: the same corpus on every run.
fn generated(n: usize) -> Vec<Exchange> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = gen_strategy();
    (0..n)
        .map(|i| {
            strategy
                .new_tree(&mut runner)
                .unwrap()
                .current()
                .exchange(i)
        })
        .collect()
}

// ------------------------------------------------------------- comparison

/// Differences that are deployment, not server: the ONLY ones allowed. Each
/// names the requests it covers, the fields that may differ, and why.
struct Allowed {
    name: &'static str,
    applies: fn(&Req) -> bool,
    fields: &'static [Field],
    reason: &'static str,
}

const ALLOWED: &[Allowed] = &[
    Allowed {
        name: "404 page",
        applies: |r| {
            r.path != Path::Resource
                && !(r.method == "POST"
                    && matches!(r.path, Path::Token | Path::Other("/oauth/token/")))
        },
        fields: &[Field::Body, Field::ContentType],
        reason: "an unrouted request is 404 on both; the page is the deployment's: a full Rails app serves public/404.html (what the double answers), this API-only peer app has no public/ and answers an empty body",
    },
    Allowed {
        name: "body limit",
        applies: |r| r.body.len() > 64 * 1024,
        fields: &[
            Field::Status,
            Field::Body,
            Field::ContentType,
            Field::CacheControl,
            Field::Pragma,
            Field::WwwAuthenticate,
        ],
        reason: "a body over the double's max_body_bytes (64 KiB) is refused by the proxy in front of Rails (nginx's 413 page, as the double answers); bare Rails parses up to Rack's 4 MiB",
    },
];

/// One difference found: the exchange, the step, the field, both values.
#[derive(Debug)]
struct Diff {
    exchange: String,
    step: usize,
    field: Field,
    peer: String,
    double: String,
}

impl fmt::Display for Diff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} step {}: {}: real Doorkeeper {} / double {}",
            self.exchange, self.step, self.field, self.peer, self.double
        )
    }
}

struct Outcome {
    compared: usize,
    allowed: usize,
    diffs: Vec<Diff>,
}

async fn run_steps(side: &mut Side, steps: &[Step]) -> Vec<(Option<Req>, Vec<Seen>)> {
    let mut out = vec![];
    for st in steps {
        match st {
            Step::One(build, save_as) => {
                let req = build(side);
                let seen = side.send(&req).await;
                if let (Some(name), 200, Some(j)) = (save_as, seen.status, &seen.json) {
                    for (k, short) in [("refresh_token", "rt"), ("access_token", "at")] {
                        if let Some(t) = j[k].as_str() {
                            side.vars.insert(format!("{name}.{short}"), t.to_owned());
                        }
                    }
                }
                out.push((Some(req), vec![seen]));
            }
            Step::Race(builds) => {
                let reqs: Vec<Req> = builds.iter().map(|b| b(side)).collect();
                let side_ref = &*side;
                let mut seen =
                    futures::future::join_all(reqs.iter().map(|r| side_ref.send(r))).await;
                seen.sort_by(|a, b| (a.status, &a.body).cmp(&(b.status, &b.body)));
                out.push((None, seen));
            }
        }
    }
    out
}

/// The double and the peer for one revocation mode.
struct Pair {
    peer: &'static Peer,
    double: RunningDouble,
}

async fn pair(peer: &'static Peer, profile: Profile) -> Pair {
    let fixtures: Fixtures = serde_json::from_value(peer.fixtures.clone()).unwrap();
    let revocation = match peer.revocation {
        Revocation::OnUse => payu_double::Revocation::OnUse,
        Revocation::AtRefresh => payu_double::Revocation::AtRefresh,
    };
    let double = payu_double::start(
        DoubleOptions {
            profile,
            fixtures: Some(fixtures),
            revocation,
            ..DoubleOptions::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    Pair { peer, double }
}

/// Both sides' answers to one exchange, step by step.
type Answers = Vec<(Option<Req>, Vec<Seen>, Vec<Seen>)>;

async fn run_exchange(p: &Pair, e: &Exchange) -> Answers {
    let mut real = Side::new(
        "real Doorkeeper 5.5",
        &p.peer.token_url,
        p.peer.fixtures.clone(),
    );
    let mut double = Side::new("double", &p.double.token_url(), p.peer.fixtures.clone());
    let a = run_steps(&mut real, &e.steps).await;
    let b = run_steps(&mut double, &e.steps).await;
    a.into_iter()
        .zip(b)
        .map(|((req, sa), (_, sb))| (req, sa, sb))
        .collect()
}

/// Exchanges run a few at a time (each has its own tokens, so they do not
/// meet), the comparison in corpus order.
async fn compare(pairs: &[Pair; 2], corpus: &[Exchange]) -> Outcome {
    use futures::StreamExt;
    let mut o = Outcome {
        compared: 0,
        allowed: 0,
        diffs: vec![],
    };
    let answers: Vec<Answers> = futures::stream::iter(corpus)
        .map(|e| run_exchange(&pairs[usize::from(e.mode == Revocation::AtRefresh)], e))
        .buffered(4)
        .collect()
        .await;
    for (e, steps) in corpus.iter().zip(answers) {
        for (i, (req, sa, sb)) in steps.iter().enumerate() {
            for (x, y) in sa.iter().zip(sb) {
                o.compared += 1;
                for (field, pv, dv) in differences(x, y) {
                    let allowed = req.as_ref().is_some_and(|r| {
                        ALLOWED
                            .iter()
                            .any(|al| (al.applies)(r) && al.fields.contains(&field))
                    });
                    if allowed {
                        o.allowed += 1;
                    } else {
                        o.diffs.push(Diff {
                            exchange: e.name.clone(),
                            step: i + 1,
                            field,
                            peer: pv,
                            double: dv,
                        });
                    }
                }
            }
        }
    }
    o
}

fn peers(test: &str) -> Option<[&'static Peer; 2]> {
    Some([
        peer::peer(Revocation::OnUse, test)?,
        peer::peer(Revocation::AtRefresh, test)?,
    ])
}

async fn pairs(peers: [&'static Peer; 2], profile: Profile) -> [Pair; 2] {
    [
        pair(peers[0], profile.clone()).await,
        pair(peers[1], profile).await,
    ]
}

fn report(what: &str, o: &Outcome) -> String {
    let mut s = format!(
        "{what}: {} exchanges compared, {} allowed deployment differences, {} differences\n",
        o.compared,
        o.allowed,
        o.diffs.len()
    );
    for d in o.diffs.iter().take(60) {
        s.push_str(&format!("  {d}\n"));
    }
    s
}

/// Straight to the process's stderr, past the test harness's capture, so
/// the counts show in every `cargo test` run, passing or not.
fn say(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{text}");
}

fn print_allowed() {
    say("differential: allowed differences (deployment, not server):");
    for a in ALLOWED {
        let fields: Vec<String> = a.fields.iter().map(Field::to_string).collect();
        say(&format!(
            "  {} [{}]: {}",
            a.name,
            fields.join(", "),
            a.reason
        ));
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn written_corpus_is_identical_to_real_doorkeeper_5_5() {
    let Some(peers) = peers("written_corpus_is_identical_to_real_doorkeeper_5_5") else {
        return;
    };
    runtime().block_on(async {
        let corpus = written();
        assert!(corpus.len() >= 40, "{} written exchanges", corpus.len());
        let pairs = pairs(peers, Profile::Doorkeeper55).await;
        let o = compare(&pairs, &corpus).await;
        let r = report(
            &format!("differential: written corpus ({} scripts)", corpus.len()),
            &o,
        );
        say(r.trim_end());
        print_allowed();
        assert!(o.diffs.is_empty(), "{r}");
        assert!(o.allowed > 0, "the allowed table is exercised");
    });
}

#[test]
fn generated_requests_are_identical_to_real_doorkeeper_5_5() {
    let Some(peers) = peers("generated_requests_are_identical_to_real_doorkeeper_5_5") else {
        return;
    };
    runtime().block_on(async {
        let corpus = generated(500);
        let pairs = pairs(peers, Profile::Doorkeeper55).await;
        let o = compare(&pairs, &corpus).await;
        let r = report(
            "differential: generated corpus (500 requests, fixed seed, with their Get Token steps)",
            &o,
        );
        say(r.trim_end());
        assert!(o.compared >= 500);
        assert!(o.diffs.is_empty(), "{r}");
    });
}

/// The comparison can fail: against the page's server (`documented`,
/// Doorkeeper 4.4–5.0) it names each known difference from 5.5.
#[test]
fn documented_profile_is_told_apart() {
    let Some(peers) = peers("documented_profile_is_told_apart") else {
        return;
    };
    runtime().block_on(async {
        let corpus = written();
        let pairs = pairs(peers, Profile::Documented).await;
        let o = compare(&pairs, &corpus).await;
        let r = report("documented profile vs real 5.5", &o);
        eprintln!("{r}");
        let has = |exchange: &str, field: Field, needle: &str| {
            o.diffs.iter().any(|d| {
                d.exchange == exchange
                    && d.field == field
                    && format!("{} {}", d.peer, d.double).contains(needle)
            })
        };
        // 5.1.0 (#1202): 400, not 401, for everything but invalid_client.
        assert!(
            has("row/invalid-refresh-token", Field::Status, "400"),
            "{r}"
        );
        // 5.2.0: the missing-parameter texts, in the body and the header.
        assert!(
            has(
                "row/without-refresh-token",
                Field::Body,
                "Missing required parameter: refresh_token."
            ),
            "{r}"
        );
        assert!(
            has(
                "row/without-grant-type",
                Field::WwwAuthenticate,
                "Missing required parameter: grant_type."
            ),
            "{r}"
        );
        // invalid_client stays 401 in both: not named as a status difference.
        assert!(!has("row/invalid-client", Field::Status, "40"), "{r}");
    });
}

#[test]
fn corpus_sizes() {
    // Counted without the peer: the corpus itself is data of this file.
    assert!(written().len() >= 40);
    let g = generated(500);
    assert_eq!(g.len(), 500);
    // Reproducible: the same seed gives the same requests.
    let again = generated(500);
    assert!(g.iter().zip(&again).all(|(a, b)| a.name == b.name));
}
