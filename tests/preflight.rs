//! The harness's own preconditions fail as themselves: exit 2 in one line,
//! found before any request is sent, never reported as drift (exit 1) or
//! as "no verdict" (exit 3). Proven against a live target whose seed token
//! works exactly once: after every refused run, the seed still starts a
//! chain, so none of them spent it.

mod common;
use common::{Served, bin, text};
use std::path::{Path, PathBuf};
use std::process::Output;

const SRC: &str = env!("CARGO_MANIFEST_DIR");

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of the built-in features to break on purpose.
fn features_copy(dir: &Path) -> PathBuf {
    let f = dir.join("features");
    copy_dir(&Path::new(SRC).join("features"), &f);
    f
}

fn assert_usage(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", text(out));
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} missing from: {err}");
    }
}

#[test]
fn each_precondition_is_exit_2_before_any_request() {
    let served = Served::start(&[]);
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store.json");
    let live = |args: &[&str]| -> Output {
        bin()
            .args(["run", "-q"])
            .args(args)
            .envs(served.env(&store))
            .output()
            .unwrap()
    };
    let path = |p: &Path| p.display().to_string();

    // --snapshots naming an empty folder, or the wrong level of one.
    let empty = work.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = live(&["--snapshots", &path(&empty)]);
    assert_usage(&out, &["--snapshots", "no baseline", "documented"]);
    let out = live(&["--snapshots", &format!("{SRC}/snapshots/documented")]);
    assert_usage(&out, &["--snapshots", "no baseline"]);

    // --tags matching nothing.
    let out = live(&["--tags", "@no-such-tag"]);
    assert_usage(&out, &["--tags \"@no-such-tag\"", "matches no scenario"]);

    // A broken .feature file, sorted after the good ones.
    let broken = work.path().join("broken");
    let features = features_copy(&broken);
    std::fs::write(
        features.join("zz-broken.feature"),
        "Feature: broken\n  Scenario: half written\n    Given the partner's client credentials and a live refresh token\n  | not | a | step |\n    Whatever this is\n",
    )
    .unwrap();
    let out = live(&["--features", &path(&features)]);
    assert_usage(&out, &["zz-broken.feature:", "not valid Gherkin"]);

    // A mistyped step phrase, named by file and line.
    let typo = work.path().join("typo");
    let features = features_copy(&typo);
    let file = features.join("03-rotation.feature");
    let original = std::fs::read_to_string(&file).unwrap();
    let (line, _) = original
        .lines()
        .enumerate()
        .find(|(_, l)| l.trim_start().starts_with("Then the "))
        .unwrap();
    let mut lines: Vec<String> = original.lines().map(str::to_owned).collect();
    lines[line] = lines[line].replacen("Then the ", "Then teh ", 1);
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let out = live(&["--features", &path(&features)]);
    assert_usage(
        &out,
        &[
            &format!("03-rotation.feature:{}", line + 1),
            "matches no step definition",
        ],
    );

    // An unparsable schema.
    let schema = work.path().join("schema");
    let features = features_copy(&schema);
    std::fs::write(features.join("schemas/error.json"), "{ not json").unwrap();
    let out = live(&["--features", &path(&features)]);
    assert_usage(&out, &["error.json"]);

    // Report paths that cannot be written; the writable one is not left behind.
    let a_file = work.path().join("a-file");
    std::fs::write(&a_file, "x").unwrap();
    let good = work.path().join("reports/run.json");
    let out = live(&[
        "--report-json",
        &path(&good),
        "--report-junit",
        &path(&a_file.join("junit.xml")),
    ]);
    assert_usage(&out, &["--report-junit", "cannot be written"]);
    let out = live(&["--report-html", &path(work.path())]);
    assert_usage(&out, &["--report-html", "folder"]);
    assert!(!good.exists() && !work.path().join("reports").exists());

    // None of these spent the seed: with a fresh store it starts a chain.
    let fresh = work.path().join("fresh.json");
    let out = bin()
        .args(["run", "-q"])
        .envs(served.env(&fresh))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the seed was spent: {}",
        text(&out)
    );
}

#[test]
fn quiet_still_says_why_there_is_no_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("run.json");
    // Nothing listens on port 9 of 127.0.0.1 (discard, not served here).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let out = bin()
        .args([
            "run",
            "-q",
            "--connect-timeout",
            "2",
            "--timeout",
            "2",
            "--report-json",
        ])
        .arg(&report)
        .env(
            "PAYU_TOKEN_URL",
            format!("http://127.0.0.1:{port}/oauth/token"),
        )
        .env("PAYU_CLIENT_ID", "client")
        .env(
            "PAYU_REFRESH_TOKEN",
            "seed-token-for-an-unreachable-endpoint",
        )
        .env("PAYU_TOKEN_STORE", dir.path().join("store.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let reason = r["reason"]
        .as_str()
        .unwrap_or_else(|| panic!("no reason: {r:#}"));
    let all = text(&out);
    assert!(
        all.contains(reason),
        "-q hides the reason {reason:?}: {all}"
    );
}

#[test]
fn skipped_scenarios_are_numbered_like_the_others() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["run"])
        .envs(served.env(&dir.path().join("store.json")))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Numbered out of the same total as the scenarios that ran.
    let total = |l: &str| {
        l.split('/')
            .nth(1)
            .and_then(|t| t.split(']').next())
            .map(str::to_owned)
    };
    let ran = stdout
        .lines()
        .find(|l| l.starts_with("PASS") && l.contains('['))
        .unwrap_or_else(|| panic!("no PASS line: {stdout}"));
    // Two are skipped on a live target: the confidential-client scenario
    // while it runs, the @destructive one before it runs; all count to 11.
    let skips: Vec<&str> = stdout.lines().filter(|l| l.starts_with("SKIP")).collect();
    assert_eq!(skips.len(), 2, "{stdout}");
    for skip in skips {
        assert!(!skip.contains("0/0"), "{skip}");
        assert!(skip.contains("/11]"), "{skip}");
        assert_eq!(total(skip), total(ran), "{skip} / {ran}");
    }
}
