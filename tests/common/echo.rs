//! A hostile token endpoint on 127.0.0.1 that repeats what it was sent: the
//! client secret, the refresh token, the password, the Basic credentials and
//! the raw form body come back inside JSON bodies (`error_description`, a
//! nested object, an extra field of a success body, under the keys
//! `client_secret`, `password` and `code`), in response headers, and in an
//! HTML error page. Otherwise it behaves like a token endpoint (a refresh
//! with the live token rotates it; a password grant mints a chain), so a
//! whole suite runs through success and error paths.
//!
//! Plain std threads and HTTP/1.1 with `Connection: close`: no dependency on
//! the harness or the double. Used by `tests/hostile_echo.rs` and
//! `tests/redaction_prop.rs` (`#[path]`-included, so it stays out of
//! `tests/common/mod.rs`).
#![allow(dead_code)]

use base64::Engine as _;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the server repeats what it was sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Places {
    /// Inside `error_description` (and a free-text `echo` of a success).
    pub description: bool,
    /// In a nested object (`debug.request.client_secret`, ...).
    pub nested: bool,
    /// Top-level keys `client_secret`, `password`, `code` of every body.
    pub secret_keys: bool,
    /// Response headers (`X-Echo-*`, and `WWW-Authenticate`).
    pub headers: bool,
    /// Error answers as an HTML page (requests without grant type, or all
    /// errors when `description` is off).
    pub html: bool,
}

impl Places {
    pub fn all() -> Places {
        Places {
            description: true,
            nested: true,
            secret_keys: true,
            headers: true,
            html: true,
        }
    }

    pub const NAMES: &[&str] = &["description", "nested", "secret_keys", "headers", "html"];

    pub fn only(name: &str) -> Places {
        let mut p = Places::default();
        match name {
            "description" => p.description = true,
            "nested" => p.nested = true,
            "secret_keys" => p.secret_keys = true,
            "headers" => p.headers = true,
            "html" => p.html = true,
            other => panic!("no place {other}"),
        }
        p
    }
}

/// The server's token state: shared by its connections, or held by an
/// in-process caller of [`answer`].
#[derive(Default)]
pub struct State {
    live: Option<String>,
    /// Every token this server handed out (access and refresh).
    issued: Vec<String>,
    requests: usize,
    /// Password grants received.
    passwords: usize,
}

pub struct Echo {
    pub token_url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl Echo {
    /// Serves until dropped. `seed` is the live refresh token at start.
    pub fn start(places: Places, seed: &str) -> Echo {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::new(seed));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let state = state.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let state = state.clone();
                    std::thread::spawn(move || {
                        let _ = handle(conn, places, &state);
                    });
                }
            });
        }
        Echo {
            token_url: format!("http://{addr}/oauth/token"),
            state,
            stop,
            addr,
        }
    }

    /// Every token handed out so far.
    pub fn issued(&self) -> Vec<String> {
        self.state.lock().unwrap().issued.clone()
    }

    pub fn passwords_seen(&self) -> usize {
        self.state.lock().unwrap().passwords
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn random_hex() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

impl State {
    pub fn new(seed: &str) -> Mutex<State> {
        Mutex::new(State {
            live: Some(seed.to_owned()),
            ..State::default()
        })
    }

    pub fn issued(&self) -> &[String] {
        &self.issued
    }
}

/// A request as the server reads it.
pub struct Request {
    pub headers: HashMap<String, String>,
    pub body: String,
    pub form: HashMap<String, String>,
}

impl Request {
    /// A form POST, as the harness's client sends it (for in-process use).
    pub fn form(fields: &[(&str, &str)], authorization: Option<&str>) -> Request {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut headers = HashMap::new();
        if let Some(a) = authorization {
            headers.insert("authorization".to_owned(), a.to_owned());
        }
        Request {
            headers,
            form: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body,
        }
    }
}

/// What the server answers.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

fn read_request(conn: &mut TcpStream) -> Option<Request> {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 || buf.len() > 1 << 20 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut headers = HashMap::new();
    for line in head.lines().skip(1) {
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&body).into_owned();
    let form = url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    Some(Request {
        headers,
        body,
        form,
    })
}

fn handle(mut conn: TcpStream, places: Places, state: &Mutex<State>) -> std::io::Result<()> {
    let Some(req) = read_request(&mut conn) else {
        return Ok(());
    };
    let Answer {
        status,
        headers,
        body: text,
    } = answer(places, state, &req);
    let mut out = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
    for (k, v) in &headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", text.len()));
    conn.write_all(out.as_bytes())?;
    conn.write_all(text.as_bytes())?;
    conn.flush()
}

/// The answer to `req`, echoing what it carries in `places`.
pub fn answer(places: Places, state: &Mutex<State>, req: &Request) -> Answer {
    let field = |k: &str| req.form.get(k).cloned().unwrap_or_default();
    let authorization = req
        .headers
        .get("authorization")
        .cloned()
        .unwrap_or_default();
    let basic_secret = authorization
        .strip_prefix("Basic ")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .and_then(|pair| pair.split_once(':').map(|(_, s)| s.to_owned()))
        .unwrap_or_default();
    let client_secret = match field("client_secret") {
        s if s.is_empty() => basic_secret.clone(),
        s => s,
    };
    let refresh_token = field("refresh_token");
    let password = field("password");
    let grant = field("grant_type");

    // Not an echo: what a real server says, naming a field.
    let mut detail = None;
    let (status, mut body, html) = {
        let mut st = state.lock().unwrap();
        st.requests += 1;
        let rotates = grant == "refresh_token"
            && !refresh_token.is_empty()
            && st.live.as_deref() == Some(refresh_token.as_str())
            && (req.form.contains_key("client_id") || !basic_secret.is_empty());
        let mints = grant == "password" && !password.is_empty();
        if mints {
            st.passwords += 1;
        }
        if rotates || mints {
            let access = random_hex();
            let refresh = random_hex();
            st.issued.push(access.clone());
            st.issued.push(refresh.clone());
            st.live = Some(refresh.clone());
            let mut body = serde_json::json!({
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 7199,
                "refresh_token": refresh,
                "scope": "hub_session",
                "created_at": 1_700_000_000u64,
                "user_uuid": "11111111-2222-1333-8444-555555555555",
            });
            if places.description {
                body["echo"] = format!(
                    "you sent client_secret {client_secret} and refresh_token {refresh_token} (password {password}); form: {}; authorization: {authorization}",
                    req.body
                )
                .into();
            }
            (200, body, false)
        } else {
            let (error, description) = if grant.is_empty() || refresh_token.is_empty() && !mints {
                (
                    "invalid_request",
                    "Missing required parameter: refresh_token.",
                )
            } else if grant != "refresh_token" && grant != "password" {
                (
                    "unsupported_grant_type",
                    "The authorization grant type is not supported",
                )
            } else {
                (
                    "invalid_grant",
                    "The provided authorization grant is invalid",
                )
            };
            let mut body = serde_json::json!({"error": error});
            body["error_description"] = if places.description {
                format!(
                    "{description}: client_secret={client_secret}, refresh_token={refresh_token}, password={password}; you sent {} with {authorization} and the secret \"{client_secret}\"",
                    req.body
                )
                .into()
            } else {
                description.into()
            };
            let html = places.html && (grant.is_empty() || !places.description);
            detail = Some(description);
            (401, body, html)
        }
    };
    if places.nested {
        body["debug"] = serde_json::json!({
            "request": {
                "client_secret": client_secret,
                "refresh_token": refresh_token,
                "password": password,
                "headers": {"authorization": authorization},
                "raw": req.body,
                "list": [{"code": refresh_token}, client_secret],
            }
        });
    }
    if places.secret_keys {
        body["client_secret"] = client_secret.clone().into();
        body["password"] = if password.is_empty() {
            client_secret.clone()
        } else {
            password.clone()
        }
        .into();
        body["code"] = refresh_token.clone().into();
    }
    let mut headers: Vec<(String, String)> = vec![
        ("Cache-Control".into(), "no-store".into()),
        ("Pragma".into(), "no-cache".into()),
    ];
    if let Some(d) = detail {
        headers.push(("X-Error-Detail".into(), d.into()));
    }
    if places.headers {
        let clean = |s: &str| s.replace(['\r', '\n'], " ");
        headers.push(("X-Echo-Client-Secret".into(), clean(&client_secret)));
        headers.push(("X-Echo-Refresh-Token".into(), clean(&refresh_token)));
        headers.push(("X-Echo-Authorization".into(), clean(&authorization)));
        if status != 200 {
            headers.push((
                "WWW-Authenticate".into(),
                clean(&format!(
                    "Bearer realm=\"Doorkeeper\", error=\"invalid_grant\", error_description=\"token {refresh_token} secret {client_secret}\""
                )),
            ));
        }
    }
    let text = if html {
        headers.push(("Content-Type".into(), "text/html; charset=utf-8".into()));
        format!(
            "<!DOCTYPE html>\n<html><head><title>Bad request</title></head><body>\n<h1>Bad request</h1>\n<p>{}</p>\n<p>client_secret: {client_secret}</p>\n<p>escaped: {}</p>\n<p>refresh_token: {refresh_token}</p>\n<pre>{}</pre>\n</body></html>\n",
            detail.unwrap_or_default(),
            html_escape(&client_secret),
            html_escape(&req.body)
        )
    } else {
        headers.push((
            "Content-Type".into(),
            "application/json; charset=utf-8".into(),
        ));
        body.to_string()
    };
    Answer {
        status,
        headers,
        body: text,
    }
}

/// Every spelling of `secret` an output could carry: raw, form-encoded
/// (`+` and `%20` for a space), JSON-escaped (also ASCII-only `\u` escapes),
/// HTML/XML-escaped, and these nested once (a JSON string inside a JSON
/// document, a JSON body shown in HTML).
pub fn spellings(secret: &str) -> Vec<String> {
    fn json(s: &str) -> String {
        let q = serde_json::to_string(s).unwrap();
        q[1..q.len() - 1].to_owned()
    }
    fn json_ascii(s: &str) -> String {
        let mut out = String::new();
        for c in json(s).chars() {
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
    fn form(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }
    fn html_variants(s: &str) -> Vec<String> {
        let base = s
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;");
        vec![
            base.replace('\'', "&#39;"),
            base.replace('\'', "&#x27;"),
            base.replace('\'', "&apos;"),
            base,
        ]
    }
    let mut level1 = vec![
        secret.to_owned(),
        form(secret),
        form(secret).replace('+', "%20"),
        json(secret),
        json_ascii(secret),
    ];
    level1.extend(html_variants(secret));
    let mut all = level1.clone();
    for s in &level1 {
        all.push(json(s));
        all.extend(html_variants(s));
    }
    all.sort();
    all.dedup();
    all.retain(|s| !s.is_empty());
    all
}

/// `id:secret` as an `Authorization: Basic` header carries it.
pub fn basic(id: &str, secret: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
}

/// A spelling shorter than this is matched as a whole token (no letter,
/// digit or `_` on either side); a longer one anywhere. The harness's rule
/// (README, "Secrets"); written again here so the test does not trust it.
pub const WHOLE_TOKEN_BELOW: usize = 8;

fn word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Occurrences of `pattern` in `text` that count as a leak, with the
/// redaction marker taken out first (so a secret such as `dacted` does not
/// match the marker itself).
pub fn leaks(text: &str, pattern: &str) -> usize {
    let text = text.replace("[redacted]", "\u{1}");
    if pattern.is_empty() {
        return 0;
    }
    let long = pattern.chars().count() >= WHOLE_TOKEN_BELOW;
    let mut n = 0;
    let mut from = 0;
    while let Some(i) = text[from..].find(pattern) {
        let at = from + i;
        let end = at + pattern.len();
        let before = text[..at].chars().next_back();
        let after = text[end..].chars().next();
        if long || (!before.is_some_and(word) && !after.is_some_and(word)) {
            n += 1;
        }
        from = at + pattern.chars().next().map_or(1, char::len_utf8);
    }
    n
}
