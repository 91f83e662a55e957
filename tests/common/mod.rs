//! Shared by the end-to-end tests: the binary with a clean environment, and
//! `payu-contract serve` as a live target on 127.0.0.1.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub mod peer;

pub const BIN: &str = env!("CARGO_BIN_EXE_payu-contract");

/// The binary with an explicit environment: no PAYU_*, `RUST_LOG` or INSTA_*
/// setting from the host, compare-only snapshots, no colour, and run from
/// an empty folder of its own, so a developer's `.env` (in the repository
/// root or anywhere else) cannot change a test. A test that wants a `.env`
/// writes one into its own folder and sets `current_dir`.
///
/// Its output is captured, never inherited: `cargo test` shows only the test
/// runner's lines, and a failing test prints the child's output through
/// [`text`] (with `output()` or `spawn()` + `wait_with_output()` alike).
/// Stdin is empty, as in CI: nothing waits for a prompt.
pub fn bin() -> Command {
    let mut c = bin_on_terminal();
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// [`bin`] without its standard streams set, for a test that runs the
/// binary on a pseudo-terminal (which provides them).
pub fn bin_on_terminal() -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("PAYU_") || k.starts_with("INSTA_") || k == "RUST_LOG" {
            c.env_remove(&*k);
        }
    }
    c.env("CI", "true")
        .env("NO_COLOR", "1")
        .current_dir(child_cwd());
    c
}

/// An empty folder, one per test process, where children run by default.
pub fn child_cwd() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("payu-contract-test-cwd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the children's folder");
        dir
    })
}

/// `payu-contract serve` on a free port; killed on drop.
pub struct Served {
    child: Child,
    pub token_url: String,
    pub fixtures: Value,
}

impl Served {
    pub fn start(extra: &[&str]) -> Served {
        let mut child = bin()
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("serve printed its line");
        let v: Value = serde_json::from_str(&line).expect("serve line is JSON");
        Served {
            child,
            token_url: v["token_url"].as_str().unwrap().to_owned(),
            fixtures: v["fixtures"].clone(),
        }
    }

    pub fn client(&self, kind: &str) -> &Value {
        self.fixtures["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == kind)
            .unwrap()
    }

    /// The environment of a scheduled run against this server, with the
    /// public client's seed token.
    pub fn env(&self, store: &std::path::Path) -> Vec<(String, String)> {
        let c = self.client("public");
        vec![
            ("PAYU_TOKEN_URL".into(), self.token_url.clone()),
            (
                "PAYU_CLIENT_ID".into(),
                c["client_id"].as_str().unwrap().into(),
            ),
            (
                "PAYU_CLIENT_SECRET".into(),
                c["client_secret"].as_str().unwrap().into(),
            ),
            (
                "PAYU_REFRESH_TOKEN".into(),
                c["refresh_token"].as_str().unwrap().into(),
            ),
            ("PAYU_TOKEN_STORE".into(), store.display().to_string()),
        ]
    }
}

impl Served {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` for the server to exit on its own.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn text(out: &std::process::Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
pub mod hostile;

/// Whether the tests run in CI (`CI` set, and not empty or `false`): there
/// every tool is installed (`.ci/run`), so a missing one is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

/// A check that needs a tool the machine lacks: locally one loud line on
/// the real stderr (not the test harness's captured output) and `false`;
/// with `CI=true` a failure, because CI installs every tool (`.ci/run`).
pub fn tool_present_or_skip(present: bool, test: &str, tool: &str, fix: &str) -> bool {
    if present {
        return true;
    }
    assert!(!in_ci(), "CI=true: {test} needs {tool} ({fix})");
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {test}, because {tool} is missing; {fix}"
    );
    false
}
