//! A secret-leak test: full runs (pass and drift paths, every report,
//! `RUST_LOG=trace`) with known secret values, then every byte written to
//! stdout, stderr and the output folder is searched for them, and for any
//! 64-hex string (the shape of every token the server hands out) that is not
//! a public client id.

mod common;
use common::{Served, bin};
use std::path::Path;

const CLIENT_SECRET: &str = "Kn0wn-Client-Secret-7f3a9c2e";
const CONF_SECRET: &str = "Kn0wn-Confidential-Secret-41bd";
const PASSWORD: &str = "Kn0wn-Passw0rd-for-the-get-token-call";
const SEED: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";
const CONF_SEED: &str = "c0f5eedc0f5eedc0f5eedc0f5eedc0f5eedc0f5eedc0f5eedc0f5eedc0f5eed0";
const PUBLIC_ID: &str = "1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d";
const CONF_ID: &str = "2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c";

fn fixtures(dir: &Path) -> String {
    let f = serde_json::json!({
        "clients": [
            {"kind": "public", "client_id": PUBLIC_ID, "client_secret": CLIENT_SECRET, "refresh_token": SEED},
            {"kind": "confidential", "client_id": CONF_ID, "client_secret": CONF_SECRET, "refresh_token": CONF_SEED}
        ],
        "user": {"username": "leak-test-user", "password": PASSWORD, "scope": "hub_session"}
    });
    let path = dir.join("fixtures.json");
    std::fs::write(&path, f.to_string()).unwrap();
    path.display().to_string()
}

/// Report flags the binary knows, each writing into `out`.
fn report_flags(out: &Path, tag: &str) -> Vec<String> {
    let help = String::from_utf8_lossy(&bin().args(["run", "--help"]).output().unwrap().stdout)
        .into_owned();
    ["json", "junit", "cucumber", "html", "markdown"]
        .iter()
        .filter(|f| help.contains(&format!("--report-{f}")))
        .flat_map(|f| {
            [
                format!("--report-{f}"),
                out.join(format!("{tag}.{f}")).display().to_string(),
            ]
        })
        .collect()
}

fn hex64_runs(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = vec![];
    let mut start = None;
    for i in 0..=bytes.len() {
        let hex =
            i < bytes.len() && (bytes[i].is_ascii_digit() || (b'a'..=b'f').contains(&bytes[i]));
        match (hex, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if i - s >= 64 {
                    found.push(text[s..i].to_owned());
                }
                start = None;
            }
            _ => {}
        }
    }
    found
}

#[test]
fn no_secret_reaches_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let fx = fixtures(dir.path());
    let mut captured = String::new();

    // A documented server (pass), drifted ones (fail paths, including a
    // form-encoded success body), each as a live target with a token store.
    for (i, profile) in [
        "documented",
        "doorkeeper-5.6.6",
        "expire-in-renamed",
        "body-form-encoded",
        "extra-field",
    ]
    .iter()
    .enumerate()
    {
        let served = Served::start(&["--profile", profile, "--fixtures", &fx]);
        let store = dir.path().join(format!("store-{i}.json"));
        let out = bin()
            .args(["run", "--verbose", "--allow-destructive"])
            .args(report_flags(&out_dir, profile))
            .envs(served.env(&store))
            .env("PAYU_USERNAME", "leak-test-user")
            .env("PAYU_PASSWORD", PASSWORD)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{profile}: {}",
            common::text(&out)
        );
        captured.push_str(&String::from_utf8_lossy(&out.stdout));
        captured.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    // The embedded double, with basic auth, trace logs.
    let out = bin()
        .args(["run", "--verbose"])
        .args(report_flags(&out_dir, "local"))
        .env("PAYU_CLIENT_AUTH", "basic")
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    captured.push_str(&String::from_utf8_lossy(&out.stdout));
    captured.push_str(&String::from_utf8_lossy(&out.stderr));

    let mut files = 0;
    // Client ids are public; the JSON reports name every one that was sent.
    let mut client_ids = vec![PUBLIC_ID.to_owned(), CONF_ID.to_owned()];
    for entry in std::fs::read_dir(&out_dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if path.extension().is_some_and(|e| e == "json") {
            let report: serde_json::Value = serde_json::from_str(&text).unwrap();
            for s in report["scenarios"].as_array().unwrap() {
                for x in s["exchanges"].as_array().unwrap() {
                    // HTTP Basic names the client id as the user name.
                    if let Some(basic) = x["request"]["basic_auth"].as_str()
                        && let Some((id, _)) = basic.split_once(':')
                    {
                        client_ids.push(id.to_owned());
                    }
                    for pair in x["request"]["form"].as_array().unwrap() {
                        if pair[0] == "client_id" {
                            client_ids.push(pair[1].as_str().unwrap().to_owned());
                        }
                    }
                }
            }
        }
        captured.push_str(&text);
        files += 1;
    }
    assert_eq!(files, 30, "six runs, five report formats each");
    assert!(
        captured.len() > 10_000,
        "trace logs and reports were captured"
    );

    for secret in [CLIENT_SECRET, CONF_SECRET, PASSWORD, SEED, CONF_SEED] {
        assert!(
            !captured.contains(secret),
            "a known secret leaked: {}...",
            &secret[..6]
        );
    }
    let leaked: Vec<String> = hex64_runs(&captured)
        .into_iter()
        .filter(|h| !client_ids.contains(h))
        .collect();
    if !leaked.is_empty() {
        let i = captured.find(&leaked[0]).unwrap();
        eprintln!("CONTEXT: {}", &captured[i.saturating_sub(300)..i + 80]);
    }
    assert!(
        leaked.is_empty(),
        "{} token-shaped values leaked, e.g. {}...",
        leaked.len(),
        &leaked[0][..8]
    );
}
