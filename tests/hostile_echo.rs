//! The redaction boundary against a server that repeats what it was sent
//! (`common/echo.rs`): the whole suite, every report format, `--verbose`,
//! `RUST_LOG=trace`, a local review run that writes `.snap.new` files, and
//! HTTP Basic. Then every byte of stdout, stderr and every file the run
//! wrote is searched for every secret of the run in every spelling
//! (`echo::spellings`): the configured client secret, refresh token and
//! password, the Basic credentials, and every token the server handed out.
//!
//! Also: values that are not secrets (grant type names, field names, the
//! client id) stay readable.

mod common;
#[path = "common/echo.rs"]
mod echo;

use common::bin;
use echo::{Echo, Places};
use std::path::{Path, PathBuf};

const CLIENT_ID: &str = "public-client-id-0001";
/// Spaces, `+`, `&`, quotes, `<>` and a non-ASCII letter: every escaping
/// has something to change.
const CLIENT_SECRET: &str = "Cl1ent Secret+/&<\"q\">'é";
const SEED: &str = "Seed-Refresh-Token_9f8e7d6c5b4a";
/// Shorter than 6 characters: such secrets were never scrubbed.
const PASSWORD: &str = "Pw9";
const USERNAME: &str = "echo-user";

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}

struct Captured {
    /// (where, text)
    outputs: Vec<(String, String)>,
}

impl Captured {
    fn leaks(&self, secrets: &[(String, String)]) -> Vec<String> {
        let mut found = vec![];
        for (name, secret) in secrets {
            for spelling in echo::spellings(secret) {
                for (place, text) in &self.outputs {
                    let n = echo::leaks(text, &spelling);
                    if n > 0 {
                        found.push(format!("{n} x {name} as {spelling:?} in {place}"));
                    }
                }
            }
        }
        found
    }

    fn all(&self) -> String {
        self.outputs.iter().map(|(_, t)| t.as_str()).collect()
    }
}

/// One run of the suite against the echo server; returns what it printed
/// and wrote (reports, snapshots; not the token store, which holds the live
/// token by design).
fn run_against(echo: &Echo, dir: &Path, tag: &str, extra_env: &[(&str, &str)]) -> Captured {
    let out_dir = dir.join(format!("out-{tag}"));
    let snaps = dir.join(format!("snapshots-{tag}"));
    let baselines = dir.join(format!("baselines-{tag}"));
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots"),
        &snaps,
    );
    let mut cmd = bin();
    cmd.args(["run", "--verbose", "--allow-destructive"])
        .args(["--token-url", &echo.token_url])
        .arg("--snapshots")
        .arg(&snaps)
        .arg("--baselines")
        .arg(&baselines);
    for f in ["json", "junit", "cucumber", "html", "markdown"] {
        cmd.arg(format!("--report-{f}"))
            .arg(out_dir.join(format!("report.{f}")));
    }
    cmd.env("PAYU_CLIENT_ID", CLIENT_ID)
        .env("PAYU_CLIENT_SECRET", CLIENT_SECRET)
        .env("PAYU_REFRESH_TOKEN", SEED)
        .env("PAYU_USERNAME", USERNAME)
        .env("PAYU_PASSWORD", PASSWORD)
        .env("PAYU_TOKEN_STORE", dir.join(format!("store-{tag}.json")))
        .env("RUST_LOG", "trace")
        // A local run: observations are left as .snap.new for review.
        .env_remove("CI")
        .env("INSTA_UPDATE", "new")
        .current_dir(dir);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0..=3)),
        "{tag}: {}",
        common::text(&out)
    );
    let mut outputs = vec![
        (
            format!("{tag} stdout"),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ),
        (
            format!("{tag} stderr"),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ),
    ];
    let mut files = vec![];
    files_under(&out_dir, &mut files);
    files_under(&snaps, &mut files);
    if baselines.exists() {
        files_under(&baselines, &mut files);
    }
    for f in files {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        outputs.push((f.strip_prefix(dir).unwrap().display().to_string(), text));
    }
    Captured { outputs }
}

#[test]
fn an_echoing_server_leaks_no_secret_into_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let echo = Echo::start(Places::all(), SEED);
    let mut captured = run_against(&echo, dir.path(), "form", &[]);
    let basic_echo = Echo::start(Places::all(), SEED);
    captured.outputs.extend(
        run_against(
            &basic_echo,
            dir.path(),
            "basic",
            &[("PAYU_CLIENT_AUTH", "basic")],
        )
        .outputs,
    );

    // No seed: the chain starts with the Get Token call, which sends the
    // 3-character password (shorter than any secret main ever scrubbed).
    let password_echo = Echo::start(Places::all(), "no-live-token-yet");
    captured.outputs.extend(
        run_against(
            &password_echo,
            dir.path(),
            "password",
            &[("PAYU_REFRESH_TOKEN", "")],
        )
        .outputs,
    );
    assert!(
        password_echo.passwords_seen() > 0,
        "the Get Token call sent the password"
    );
    assert!(
        echo.requests() >= 8 && basic_echo.requests() >= 8,
        "the suite ran"
    );
    let snap_new = captured
        .outputs
        .iter()
        .filter(|(p, _)| p.ends_with(".snap.new"))
        .count();
    assert!(
        snap_new >= 4,
        "the review run wrote .snap.new files ({snap_new})"
    );
    assert!(
        captured
            .outputs
            .iter()
            .filter(|(p, _)| p.contains("report."))
            .count()
            == 15,
        "five reports per run, three runs"
    );
    assert!(
        captured.all().contains("DEBUG") || captured.all().contains("TRACE"),
        "trace logs captured"
    );

    let mut secrets: Vec<(String, String)> = vec![
        ("client secret".into(), CLIENT_SECRET.into()),
        ("seed refresh token".into(), SEED.into()),
        ("password".into(), PASSWORD.into()),
        (
            "Basic credentials".into(),
            echo::basic(CLIENT_ID, CLIENT_SECRET),
        ),
    ];
    for (i, t) in echo
        .issued()
        .into_iter()
        .chain(basic_echo.issued())
        .chain(password_echo.issued())
        .enumerate()
    {
        secrets.push((format!("issued token #{i}"), t));
    }
    assert!(secrets.len() > 6, "the server handed out tokens");
    let leaks = captured.leaks(&secrets);
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}

#[test]
fn values_that_are_not_secrets_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    // A server whose error pages are HTML (a body the harness cannot read
    // as JSON, so it is scrubbed as text): whatever it says about field
    // names must stay readable.
    let echo = Echo::start(Places::only("html"), SEED);
    let captured = run_against(&echo, dir.path(), "plain", &[]);
    let all = captured.all();
    let report = captured
        .outputs
        .iter()
        .find(|(p, _)| p.ends_with("report.json"))
        .map(|(_, t)| t.clone())
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&report).unwrap();
    let mut grant_types = vec![];
    let mut client_ids = vec![];
    for s in json["scenarios"].as_array().unwrap() {
        for x in s["exchanges"].as_array().unwrap() {
            for pair in x["request"]["form"].as_array().unwrap() {
                match pair[0].as_str().unwrap() {
                    "grant_type" => grant_types.push(pair[1].as_str().unwrap().to_owned()),
                    "client_id" => client_ids.push(pair[1].as_str().unwrap().to_owned()),
                    _ => {}
                }
            }
        }
    }
    assert!(
        grant_types.iter().any(|g| g == "refresh_token"),
        "the grant type sent is shown as sent: {grant_types:?}"
    );
    assert!(
        client_ids.iter().any(|c| c == CLIENT_ID) && all.contains(CLIENT_ID),
        "the client id is shown: {client_ids:?}"
    );
    assert!(
        report.contains("Missing required parameter: refresh_token."),
        "an error description naming a field is shown as the server wrote it"
    );
    assert!(
        report.contains("\"Missing required parameter: refresh_token.\"\n"),
        "a header naming a field is shown as the server wrote it"
    );
    // Anywhere the server named the field, it still reads so (main showed
    // "Missing required parameter: [redacted]." in every header and HTML
    // page after the first request that sent grant_type=refresh_token).
    assert!(
        !all.contains("parameter: [redacted]"),
        "a field name was redacted as a secret"
    );
    assert!(
        report.contains("<p>Missing required parameter: refresh_token.</p>"),
        "an HTML error page naming a field is shown as the server wrote it"
    );
    assert!(
        captured
            .outputs
            .iter()
            .any(|(p, t)| p.ends_with("stdout") && t.contains("refresh_token")),
        "field names are readable on the terminal"
    );
}

/// `check-credentials` quotes what the server said in its diagnosis: its
/// lines (plain and `--json`, with and without `--refresh`) go through the
/// same redactor.
#[test]
fn check_credentials_against_an_echoing_server_leaks_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let echo = Echo::start(Places::all(), SEED);
    let mut captured = Captured { outputs: vec![] };
    for (tag, extra) in [
        ("plain", &[][..]),
        ("json", &["--json"][..]),
        ("refresh", &["--refresh"][..]),
        ("refresh-json", &["--refresh", "--json"][..]),
    ] {
        let out = bin()
            .args(["check-credentials", "--token-url", &echo.token_url])
            .args(extra)
            .env("PAYU_CLIENT_ID", CLIENT_ID)
            .env("PAYU_CLIENT_SECRET", CLIENT_SECRET)
            .env("PAYU_REFRESH_TOKEN", SEED)
            .env(
                "PAYU_TOKEN_STORE",
                dir.path().join(format!("store-{tag}.json")),
            )
            .env("RUST_LOG", "debug")
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0..=3)),
            "{tag}: {}",
            common::text(&out)
        );
        captured.outputs.push((
            format!("{tag} stdout"),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ));
        captured.outputs.push((
            format!("{tag} stderr"),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    assert!(echo.requests() >= 4, "check-credentials asked the server");
    let mut secrets: Vec<(String, String)> = vec![
        ("client secret".into(), CLIENT_SECRET.into()),
        ("seed refresh token".into(), SEED.into()),
    ];
    for (i, t) in echo.issued().into_iter().enumerate() {
        secrets.push((format!("issued token #{i}"), t));
    }
    let leaks = captured.leaks(&secrets);
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}
