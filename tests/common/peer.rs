//! Real Doorkeeper 5.5 as a test peer (tests/peers/doorkeeper/server.rb):
//! started once per test binary and revocation mode, on 127.0.0.1 at a free
//! port, shared by every test of that binary (each test makes its own tokens
//! with the password grant, so tests do not share state).
//!
//! When Ruby or the Debian packages are missing, [`peer`] prints a loud
//! SKIPPED line and returns `None` locally; with `CI=true` it panics, so a
//! missing peer fails CI instead of passing it silently.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// How the peer's database makes Doorkeeper revoke a used refresh token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// Stock migration (`previous_refresh_token` column): on first use of an
    /// access token issued from the new refresh token.
    OnUse,
    /// No such column: in the refresh itself.
    AtRefresh,
}

impl Revocation {
    pub fn env_value(self) -> &'static str {
        match self {
            Revocation::OnUse => "on-use",
            Revocation::AtRefresh => "at-refresh",
        }
    }
}

/// A running peer. Dropping it kills the process; a peer held in the
/// per-binary static is never dropped, so it also exits by itself when its
/// stdin (held here) closes, that is when the test binary exits.
pub struct Peer {
    child: Mutex<Child>,
    _stdin: Mutex<Option<ChildStdin>>,
    pub revocation: Revocation,
    pub token_url: String,
    pub resource_url: String,
    /// `{"clients": [...], "user": {...}}`, shaped like `payu-contract serve`'s.
    pub fixtures: Value,
}

impl Peer {
    pub fn client(&self, kind: &str) -> &Value {
        self.fixtures["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == kind)
            .unwrap()
    }

    /// Start a new peer (prefer [`peer`], which starts one per binary).
    pub fn start(revocation: Revocation) -> Result<Peer, String> {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/peers/doorkeeper/server.rb"
        );
        let mut child = Command::new("ruby")
            .arg(script)
            .env("PEER_REVOCATION", revocation.env_value())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run ruby: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        // Keep the last lines of stderr for the failure message, and keep
        // draining it so the peer never blocks on a full pipe.
        let errors = std::sync::Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = errors.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut v = sink.lock().unwrap();
                v.push(line);
                if v.len() > 20 {
                    v.remove(0);
                }
            }
        });
        // Rails boots in about 2 s here; bounded so a hung start fails.
        let line = match rx.recv_timeout(Duration::from_secs(90)) {
            Ok(l) if !l.trim().is_empty() => l,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                return Err(format!(
                    "the Doorkeeper peer did not start:\n{}",
                    errors.lock().unwrap().join("\n")
                ));
            }
        };
        let v: Value = serde_json::from_str(&line).map_err(|e| format!("peer line: {e}"))?;
        Ok(Peer {
            child: Mutex::new(child),
            _stdin: Mutex::new(stdin),
            revocation,
            token_url: v["token_url"].as_str().unwrap().to_owned(),
            resource_url: v["resource_url"].as_str().unwrap().to_owned(),
            fixtures: v["fixtures"].clone(),
        })
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Why the peer cannot run here, if it cannot: Ruby or a package missing.
fn missing() -> Option<String> {
    let probe = Command::new("ruby")
        .args([
            "-e",
            "require 'rails'; require 'doorkeeper'; require 'sqlite3'; require 'puma'; \
             exit(Doorkeeper::VERSION::STRING.start_with?('5.5.') ? 0 : 3)",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match probe {
        Err(_) => Some("ruby is not installed".into()),
        Ok(s) if s.code() == Some(3) => Some("the installed Doorkeeper is not 5.5".into()),
        Ok(s) if !s.success() => Some(
            "a Debian package is missing (ruby-doorkeeper ruby-rails ruby-sqlite3 puma)".into(),
        ),
        Ok(_) => None,
    }
}

/// The peer of this test binary for `revocation`, started on first use.
/// `None` (after a loud SKIPPED line naming `test`) only locally when Ruby
/// or the packages are missing; with `CI=true` that is a panic, and so is a
/// peer that is installed but fails to start, anywhere.
pub fn peer(revocation: Revocation, test: &str) -> Option<&'static Peer> {
    static AVAILABLE: OnceLock<Option<String>> = OnceLock::new();
    static ON_USE: OnceLock<Peer> = OnceLock::new();
    static AT_REFRESH: OnceLock<Peer> = OnceLock::new();
    if let Some(why) = AVAILABLE.get_or_init(missing) {
        let fix = "apt-get install ruby-doorkeeper ruby-rails ruby-sqlite3 puma (.ci/run does)";
        assert!(
            !super::in_ci(),
            "{test}: the real Doorkeeper peer is required in CI, but {why}; {fix}"
        );
        // Straight to stderr, past the test harness's capture: a skip that
        // only shows with --nocapture would be a silent one.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {test} against real Doorkeeper 5.5, because {why}; {fix}"
        );
        return None;
    }
    let cell = match revocation {
        Revocation::OnUse => &ON_USE,
        Revocation::AtRefresh => &AT_REFRESH,
    };
    Some(cell.get_or_init(|| Peer::start(revocation).unwrap_or_else(|e| panic!("{test}: {e}"))))
}
