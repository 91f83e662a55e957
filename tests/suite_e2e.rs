//! The suite end to end, as a user runs it: the built binary against the
//! embedded double. The faithful double passes; a double made wrong on
//! purpose fails the right scenario with exit code 1.

mod common;

use serde_json::Value;
use std::process::{Command, Output};

fn bin() -> Command {
    // An explicit environment and an empty folder: see tests/common.
    common::bin()
}

fn run(args: &[&str]) -> (Output, Option<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let out = bin()
        .arg("run")
        .args(args)
        .arg("--report-json")
        .arg(&report)
        .output()
        .unwrap();
    let json = std::fs::read_to_string(&report)
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    (out, json)
}

fn verdict_of<'a>(report: &'a Value, scenario: &str) -> &'a str {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == scenario)
        .unwrap_or_else(|| panic!("no scenario {scenario}"))["verdict"]
        .as_str()
        .unwrap()
}

#[test]
fn the_faithful_double_passes_every_documented_scenario() {
    let (out, report) = run(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = report.unwrap();
    assert_eq!(report["summary"]["total"], 11);
    assert_eq!(report["summary"]["passed"], 11);
    // Every step ran: none skipped, none failed.
    for s in report["scenarios"].as_array().unwrap() {
        for step in s["steps"].as_array().unwrap() {
            assert_eq!(step["status"], "passed", "{}: {}", s["name"], step["text"]);
        }
        assert!(
            !s["checks"].as_array().unwrap().is_empty(),
            "{} made no checks",
            s["name"]
        );
    }
    assert!(stdout.contains("11 passed, 0 drifted"), "{stdout}");
}

/// Each documented row, with a double made wrong in a way only that row
/// (among others) can see: the row's scenario must drift, exit code 1.
#[test]
fn each_documented_row_fails_on_a_wrong_server() {
    let rows = [
        (
            "missing-grant-type-unsupported",
            "Refresh without grant type",
            "error-code-changed",
        ),
        (
            "doorkeeper-5.6.6",
            "Refresh without refresh token",
            "error-description-changed",
        ),
        (
            "description-reworded",
            "Refresh with invalid client",
            "error-description-changed",
        ),
        (
            "rfc6749",
            "Refresh with invalid grant type",
            "status-code-changed",
        ),
        (
            "invalid-grant-as-invalid-request",
            "Refresh invalid refresh token",
            "error-code-changed",
        ),
        (
            "expire-in-renamed",
            "Refresh with client id, client secret and refresh token",
            "field-missing",
        ),
        (
            "public-client-needs-secret",
            "Refresh without client secret",
            "status-code-changed",
        ),
        (
            "no-rotation",
            "Refresh with client id, client secret and refresh token",
            "rotation-changed",
        ),
        (
            "old-token-still-accepted",
            "The rotated refresh token works, and what becomes of the used one is observed",
            "rotation-changed",
        ),
    ];
    let handles: Vec<_> = rows
        .iter()
        .map(|&(profile, scenario, class)| {
            std::thread::spawn(move || {
                let (out, report) = run(&["--profile", profile]);
                (profile, scenario, class, out, report)
            })
        })
        .collect();
    for h in handles {
        let (profile, scenario, class, out, report) = h.join().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{profile}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let report = report.unwrap();
        assert_eq!(
            verdict_of(&report, scenario),
            "drifted",
            "{profile} / {scenario}"
        );
        let s = report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == scenario)
            .unwrap();
        let classes: Vec<&str> = s["checks"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| {
                c["drifts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["class"].as_str().unwrap())
            })
            .collect();
        assert!(
            classes.contains(&class),
            "{profile} / {scenario}: expected {class}, saw {classes:?}"
        );
    }
}

#[test]
fn an_infrastructure_fault_is_no_verdict_not_drift() {
    let (out, report) = run(&["--profile", "html-502"]);
    assert_eq!(out.status.code(), Some(3));
    let report = report.unwrap();
    assert_eq!(report["summary"]["drifted"], 0);
    assert_eq!(report["summary"]["no_verdict"], 11);
}

#[test]
fn tags_filter_scenarios() {
    let (out, report) = run(&["--tags", "@documented and not @consumes"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(report.unwrap()["summary"]["total"], 5);
}

#[test]
fn works_from_any_directory() {
    let elsewhere = tempfile::tempdir().unwrap();
    let out = bin()
        .arg("run")
        .arg("-q")
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // As after `cargo install`: only the copies built into the binary.
    let out = bin()
        .args(["run", "-q"])
        .env("PAYU_ASSETS", "embedded")
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn live_settings_mistakes_are_one_line_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("corrupt.json");
    std::fs::write(&corrupt, "{ not json").unwrap();
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let live = [
        ("PAYU_TOKEN_URL", "http://127.0.0.1:9/oauth/token"),
        ("PAYU_CLIENT_ID", "id"),
        ("PAYU_REFRESH_TOKEN", "abcdefabcdef"),
    ];
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (
            vec![("PAYU_TOKEN_STORE", corrupt.display().to_string())],
            "corrupt",
        ),
        (
            vec![("PAYU_CA_CERT", not_pem.display().to_string())],
            "PAYU_CA_CERT",
        ),
        (
            vec![("PAYU_CA_CERT", "/nonexistent/ca.pem".into())],
            "PAYU_CA_CERT",
        ),
        (
            vec![("PAYU_STORE_KEY", "too-short".into())],
            "PAYU_STORE_KEY",
        ),
        (
            vec![(
                "PAYU_TOKEN_URL",
                "https://accounts.payu.in/oauth/token".into(),
            )],
            "--allow-production",
        ),
        (
            vec![("PAYU_CLIENT_AUTH", "digest".into())],
            "PAYU_CLIENT_AUTH",
        ),
        (
            vec![
                ("PAYU_REFRESH_TOKEN", String::new()),
                (
                    "PAYU_TOKEN_STORE",
                    dir.path().join("empty.json").display().to_string(),
                ),
            ],
            "PAYU_REFRESH_TOKEN",
        ),
    ];
    for (extra, needle) in cases {
        let out = bin()
            .args(["run"])
            .envs(live)
            .envs(extra.clone())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{extra:?}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{extra:?}: expected {needle:?} in {stderr}"
        );
    }
}

#[test]
fn a_step_without_definition_is_a_usage_error_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let features = dir.path().join("features");
    std::fs::create_dir_all(features.join("schemas")).unwrap();
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/features");
    for f in ["schemas/token.json", "schemas/error.json"] {
        std::fs::copy(format!("{src}/{f}"), features.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(format!("{src}/02-successful-refresh.feature")).unwrap();
    std::fs::write(
        features.join("x.feature"),
        text.replace("Then the response status is 200", "Then the answer is fine"),
    )
    .unwrap();
    let out = bin()
        .arg("run")
        .arg("--features")
        .arg(&features)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("Then the answer is fine")
            && stderr.contains("no step definition")
            && stderr.contains("x.feature:"),
        "{stderr}"
    );
}

#[test]
fn store_keygen_prints_a_usable_key() {
    let out = bin().arg("store-keygen").output().unwrap();
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        payu_contract::chain::store::StoreKey::parse(&key).is_ok(),
        "{key}"
    );
}

#[test]
fn user_mistakes_are_one_line_with_exit_2() {
    let cases: &[&[&str]] = &[
        &["run", "--target", "staging"],
        &["run", "--profile", "no-such-profile"],
        &["run", "--features", "/nonexistent/features"],
        &["run", "--tags", "@a and and"],
        &["run", "--target", "uat"],
        &[
            "run",
            "--target",
            "http://example.com/oauth/token",
            "--client-id",
            "x",
        ],
        &["run", "--bogus-flag"],
    ];
    for args in cases {
        let out = bin().args(*args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
            "{args:?}: {stderr}"
        );
        if args[1] != "--bogus-flag" {
            assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
            assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        }
    }
}

/// Three scenarios written in Gherkin alone (the generic request step and
/// its placeholders, features/04-beyond-the-page.feature): each passes on
/// the faithful double, and each is the one scenario that drifts on a
/// double made wrong for it.
#[test]
fn gherkin_only_scenarios_fail_exactly_on_the_server_wrong_for_them() {
    let cases = [
        (
            "basic-auth-ignored",
            "Refresh with HTTP Basic client authentication",
        ),
        (
            "confidential-secret-optional",
            "A confidential client without its secret is refused",
        ),
        (
            "scope-not-checked",
            "A scope wider than the one granted is refused",
        ),
    ];
    let (out, report) = run(&["--tags", "@undocumented"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report = report.unwrap();
    assert_eq!(report["summary"]["passed"], 3);
    let handles: Vec<_> = cases
        .iter()
        .map(|&(profile, scenario)| {
            std::thread::spawn(move || (profile, scenario, run(&["--profile", profile])))
        })
        .collect();
    for h in handles {
        let (profile, scenario, (out, report)) = h.join().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{profile}: {stdout}");
        let report = report.unwrap();
        let drifted: Vec<&str> = report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["verdict"] != "passed")
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(drifted, [scenario], "{profile}: {stdout}");
        assert_eq!(verdict_of(&report, scenario), "drifted", "{profile}");
    }
}

/// A copy of the suite with one feature file replaced, for authoring tests.
fn suite_with(file: &str, text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let features = dir.path().join("features");
    std::fs::create_dir_all(features.join("schemas")).unwrap();
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/features");
    for f in ["schemas/token.json", "schemas/error.json"] {
        std::fs::copy(format!("{src}/{f}"), features.join(f)).unwrap();
    }
    std::fs::write(features.join(file), text).unwrap();
    dir
}

fn run_in(dir: &std::path::Path) -> Output {
    bin()
        .current_dir(dir)
        .args(["run", "--features", "features"])
        .output()
        .unwrap()
}

/// A typo in a step phrase is an undefined step: exit 2, one line naming
/// the file and line, nothing judged. (The catch-all request step used to
/// send nothing and call it drift, exit 1.)
#[test]
fn a_typo_in_a_step_is_exit_2_naming_file_and_line() {
    let src = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/features/01-documented-failures.feature"
    );
    let text = std::fs::read_to_string(src).unwrap();
    let typo = text.replace(
        "When the partner requests a refresh <reason>",
        "When the partner requests a refresh <reason> now",
    );
    assert_ne!(typo, text);
    let line = typo
        .lines()
        .position(|l| l.contains("<reason> now"))
        .unwrap()
        + 1;
    let dir = suite_with("01-documented-failures.feature", &typo);
    let out = run_in(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("features/01-documented-failures.feature:{line}: "))
            && stderr.contains("matches no step definition"),
        "{stderr}"
    );
}

/// A placeholder nobody defined is a mistake in the feature file: exit 2
/// naming the file and line, not a drift of the endpoint.
#[test]
fn an_unknown_placeholder_is_exit_2_naming_file_and_line() {
    let text = "Feature: f\n\n  Scenario: s\n    Given the partner's client credentials and a live refresh token\n    When the partner sends a token request with client authentication in the form:\n      | client_id  | <clent id>    |\n      | grant_type | refresh_token |\n    Then the response status is 401\n";
    let dir = suite_with("x.feature", text);
    let out = run_in(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("features/x.feature:5: ")
            && stderr.contains("unknown placeholder \"<clent id>\""),
        "{stderr}"
    );
}

const ROTATION: &str =
    "The rotated refresh token works, and what becomes of the used one is observed";

/// The rotation scenario of a run: its verdict and notes.
fn rotation_of(report: &Value) -> (String, Vec<String>) {
    let s = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == ROTATION)
        .unwrap_or_else(|| panic!("no scenario {ROTATION}"));
    let notes = s["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    (s["verdict"].as_str().unwrap().to_owned(), notes)
}

/// The page does not say when a used refresh token dies, so neither of the
/// real server's modes is drift: both pass, and the report names the mode.
#[test]
fn both_revocation_modes_pass_and_the_report_names_the_mode_seen() {
    for (mode, seen) in [
        ("at-refresh", "revocation mode seen: revoked at refresh"),
        ("on-use", "revocation mode seen: revoked on first use"),
    ] {
        let (out, report) = run(&["--revocation", mode]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{mode}: {stdout}");
        let report = report.unwrap();
        assert_eq!(report["summary"]["passed"], 11, "{mode}: {stdout}");
        let (verdict, notes) = rotation_of(&report);
        assert_eq!(verdict, "passed", "{mode}");
        let modes: Vec<&String> = notes
            .iter()
            .filter(|n| n.starts_with("revocation mode seen:"))
            .collect();
        assert_eq!(modes.len(), 1, "{mode}: one mode note, got {notes:?}");
        assert!(modes[0].starts_with(seen), "{mode}: {notes:?}");
        // No step of the scenario was left out: the refusal was checked.
        let s = report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == ROTATION)
            .unwrap();
        for step in s["steps"].as_array().unwrap() {
            assert_eq!(step["status"], "passed", "{mode}: {}", step["text"]);
        }
    }
}

/// A server that never revokes the used token (still accepted after the new
/// access token was used) is drift, in either mode the double starts in.
#[test]
fn a_used_token_never_revoked_is_rotation_changed_drift() {
    let (out, report) = run(&["--profile", "old-token-still-accepted"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report = report.unwrap();
    let (verdict, notes) = rotation_of(&report);
    assert_eq!(verdict, "drifted");
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("revocation mode seen: never revoked")),
        "{notes:?}"
    );
    let s = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == ROTATION)
        .unwrap();
    let classes: Vec<&str> = s["checks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["drifts"].as_array().unwrap())
        .map(|d| d["class"].as_str().unwrap())
        .collect();
    assert_eq!(classes, ["rotation-changed"]);
}

#[test]
fn revocation_is_the_local_doubles_option_only() {
    let (out, _) = run(&["--revocation", "sometimes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--revocation"), "{err}");
    let (out, _) = run(&[
        "--revocation",
        "on-use",
        "--token-url",
        "http://127.0.0.1:9/oauth/token",
        "--client-id",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("drop --revocation"), "{err}");
}
