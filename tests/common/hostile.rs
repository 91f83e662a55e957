//! A hostile token endpoint, in-process on 127.0.0.1: a small Doorkeeper-like
//! server (check order: grant type, token present, token known, client) that
//! misbehaves on purpose in the way its [`Mode`] says. Every request it saw
//! is kept ([`Hostile::seen`]) so a test can assert what the harness sent.
//!
//! Shared by the adversarial tests (`tests/hostile.rs`); other modes may be
//! added here (one enum, one place that answers).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the server answers a refresh that succeeds (it has rotated the token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The documented JSON.
    Json,
    /// The documented JSON, gzip-encoded (`Content-Encoding: gzip`) whatever
    /// the client asked for.
    Gzip,
    /// `200 text/html`: a page, no token to read.
    Html,
    /// The JSON cut off in the middle (Content-Length matches the cut).
    Truncated,
}

/// What the server does besides answering.
#[derive(Clone)]
pub struct Mode {
    /// How successful refreshes are answered: the first `broken_first` of
    /// them with `rotation`, the rest with JSON.
    pub rotation: Rotation,
    pub broken_first: usize,
    /// Called once, on the first successful refresh, after rotating and
    /// before answering (fill a disk, remove a folder...).
    pub on_first_rotation: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Default for Mode {
    fn default() -> Self {
        Mode {
            rotation: Rotation::Json,
            broken_first: usize::MAX,
            on_first_rotation: None,
        }
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub headers: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    /// Decoded `Authorization: Basic` (id, secret).
    pub basic: Option<(String, String)>,
}

impl Seen {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct State {
    mode: Mode,
    live: Vec<String>,
    used: Vec<String>,
    rotations: usize,
    seen: Vec<Seen>,
    /// Index in `seen` of each request that rotated the token.
    rotated_by: Vec<usize>,
}

/// The running server; it stops when dropped (or after `life`).
pub struct Hostile {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub seed: String,
    state: Arc<Mutex<State>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

pub fn hex(bytes: usize) -> String {
    let mut out = String::new();
    for _ in 0..bytes {
        out.push_str(&format!("{:02x}", rand::random::<u8>()));
    }
    out
}

impl Hostile {
    pub fn start(mode: Mode) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let token_url = format!("http://{}/oauth/token", listener.local_addr().unwrap());
        let seed = hex(32);
        let state = Arc::new(Mutex::new(State {
            mode,
            live: vec![seed.clone()],
            used: Vec::new(),
            rotations: 0,
            seen: Vec::new(),
            rotated_by: Vec::new(),
        }));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let me = Hostile {
            token_url,
            client_id: hex(32),
            client_secret: hex(32),
            seed,
            state: state.clone(),
            stop: stop.clone(),
        };
        let (id, secret) = (me.client_id.clone(), me.client_secret.clone());
        std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(120);
            while Instant::now() < until && !stop.load(std::sync::atomic::Ordering::SeqCst) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let state = state.clone();
                        let (id, secret) = (id.clone(), secret.clone());
                        std::thread::spawn(move || serve(s, &state, &id, &secret));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        me
    }

    /// Every request seen so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// Indexes in [`Hostile::seen`] of the requests that rotated the token.
    pub fn rotated_by(&self) -> Vec<usize> {
        self.state.lock().unwrap().rotated_by.clone()
    }

    /// Issues one more live refresh token for the client (as `PayU` would
    /// hand a partner a new one), outside any chain the harness knows.
    pub fn issue(&self) -> String {
        let t = hex(32);
        self.state.lock().unwrap().live.push(t.clone());
        t
    }

    /// Whether the server would accept `token` now.
    pub fn is_live(&self, token: &str) -> bool {
        self.state.lock().unwrap().live.iter().any(|t| t == token)
    }

    /// Refresh tokens the server has rotated away.
    pub fn used(&self) -> Vec<String> {
        self.state.lock().unwrap().used.clone()
    }

    /// The environment of a scheduled run against this server.
    pub fn env(&self, store: &std::path::Path) -> Vec<(String, String)> {
        vec![
            ("PAYU_TOKEN_URL".into(), self.token_url.clone()),
            ("PAYU_CLIENT_ID".into(), self.client_id.clone()),
            ("PAYU_CLIENT_SECRET".into(), self.client_secret.clone()),
            ("PAYU_REFRESH_TOKEN".into(), self.seed.clone()),
            ("PAYU_TOKEN_STORE".into(), store.display().to_string()),
        ]
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

type Headers = Vec<(String, String)>;

fn read_request(s: &mut TcpStream) -> Option<(Headers, Vec<u8>)> {
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some((headers, buf[head_end..].to_vec()))
}

fn basic_of(headers: &[(String, String)]) -> Option<(String, String)> {
    use base64::Engine as _;
    let v = headers
        .iter()
        .find(|(k, _)| k == "authorization")?
        .1
        .clone();
    let enc = v.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD.decode(enc).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (id, secret) = raw.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn respond(s: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    )
    .into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    let _ = s.write_all(&out);
    let _ = s.flush();
}

fn oauth_error(s: &mut TcpStream, status: &str, error: &str) {
    let body =
        format!(r#"{{"error":"{error}","error_description":"refused by the hostile server"}}"#);
    respond(
        s,
        status,
        &[("Content-Type", "application/json; charset=utf-8")],
        body.as_bytes(),
    );
}

fn serve(mut s: TcpStream, state: &Mutex<State>, id: &str, secret: &str) {
    let Some((headers, body)) = read_request(&mut s) else {
        return;
    };
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let seen = Seen {
        basic: basic_of(&headers),
        headers,
        form,
    };
    let index = {
        let mut st = state.lock().unwrap();
        st.seen.push(seen.clone());
        st.seen.len() - 1
    };
    let (cid, csecret) = match &seen.basic {
        Some((i, s)) => (Some(i.as_str()), Some(s.as_str())),
        None => (seen.field("client_id"), seen.field("client_secret")),
    };
    let client_ok = cid == Some(id) && csecret.is_none_or(|s| s.is_empty() || s == secret);
    match seen.field("grant_type") {
        None => return oauth_error(&mut s, "400 Bad Request", "invalid_request"),
        Some("refresh_token") => {}
        Some("password") => {
            return if client_ok {
                oauth_error(&mut s, "400 Bad Request", "invalid_grant");
            } else {
                oauth_error(&mut s, "401 Unauthorized", "invalid_client");
            };
        }
        Some(_) => return oauth_error(&mut s, "400 Bad Request", "unsupported_grant_type"),
    }
    let Some(token) = seen.field("refresh_token") else {
        return oauth_error(&mut s, "400 Bad Request", "invalid_request");
    };
    let mut st = state.lock().unwrap();
    if !st.live.iter().any(|t| t == token) {
        drop(st);
        return oauth_error(&mut s, "400 Bad Request", "invalid_grant");
    }
    if !client_ok {
        drop(st);
        return oauth_error(&mut s, "401 Unauthorized", "invalid_client");
    }
    // Rotate: the old token is dead from now on.
    let new = hex(32);
    st.live.retain(|t| t != token);
    st.used.push(token.to_owned());
    st.live.push(new.clone());
    st.rotations += 1;
    st.rotated_by.push(index);
    let n = st.rotations;
    let rotation = if n <= st.mode.broken_first {
        st.mode.rotation
    } else {
        Rotation::Json
    };
    let hook = (n == 1)
        .then(|| st.mode.on_first_rotation.clone())
        .flatten();
    drop(st);
    if let Some(hook) = hook {
        hook();
    }
    let json = format!(
        r#"{{"access_token":"{}","token_type":"Bearer","expires_in":7199,"refresh_token":"{new}","scope":"hub_session","created_at":{}}}"#,
        hex(32),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    );
    let json_headers = [
        ("Content-Type", "application/json; charset=utf-8"),
        ("Cache-Control", "no-store"),
        ("Pragma", "no-cache"),
    ];
    match rotation {
        Rotation::Json => respond(&mut s, "200 OK", &json_headers, json.as_bytes()),
        Rotation::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(json.as_bytes()).unwrap();
            let gz = enc.finish().unwrap();
            let mut h = json_headers.to_vec();
            h.push(("Content-Encoding", "gzip"));
            respond(&mut s, "200 OK", &h, &gz);
        }
        Rotation::Html => respond(
            &mut s,
            "200 OK",
            &[("Content-Type", "text/html")],
            b"<html><body><h1>Welcome</h1><p>Your session was renewed.</p></body></html>",
        ),
        Rotation::Truncated => {
            let cut = &json.as_bytes()[..json.len() / 2];
            respond(&mut s, "200 OK", &json_headers, cut);
        }
    }
}
