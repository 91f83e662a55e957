//! A live target's observed baseline, end to end: where a run records it
//! (the working folder, never the source tree), what a first run says, how
//! `payu-contract baseline` reviews and accepts it, what CI may and may not
//! do, and that no secret reaches any of it.
//!
//! The target is `payu-contract serve` on 127.0.0.1 (a live target to the
//! harness).

mod common;

use common::Served;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Live {
    served: Served,
    work: tempfile::TempDir,
}

impl Live {
    fn new() -> Live {
        Live {
            served: Served::start(&[]),
            work: tempfile::tempdir().unwrap(),
        }
    }

    /// `payu-contract ARGS` in the work folder with the target's settings;
    /// `ci` keeps CI=true (compare only).
    fn cmd(&self, ci: bool, args: &[&str]) -> Output {
        let mut cmd = common::bin();
        cmd.current_dir(self.work.path())
            .envs(self.served.env(&self.work.path().join("store.json")))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .args(args);
        if !ci {
            cmd.env_remove("CI");
        }
        cmd.output().unwrap()
    }

    fn run(&self, ci: bool, report: &str) -> (Output, Value) {
        let path = self.work.path().join(report);
        let out = self.cmd(
            ci,
            &[
                "run",
                "--report-json",
                path.to_str().unwrap(),
                "--report-html",
                &format!("{}.html", path.display()),
            ],
        );
        let json = serde_json::from_str(
            &std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("no JSON report ({e}): {}", common::text(&out))),
        )
        .unwrap();
        (out, json)
    }

    fn target(json: &Value) -> String {
        json["target"]["name"].as_str().unwrap().to_owned()
    }

    fn observed(&self, target: &str) -> PathBuf {
        self.work
            .path()
            .join(".payu-contract/baselines")
            .join(target)
    }

    /// The double's secrets: client secrets, seeded refresh tokens, password.
    fn secrets(&self) -> Vec<String> {
        let f = &self.served.fixtures;
        let mut out = vec![f["user"]["password"].as_str().unwrap().to_owned()];
        for c in f["clients"].as_array().unwrap() {
            out.push(c["client_secret"].as_str().unwrap().to_owned());
            out.push(c["refresh_token"].as_str().unwrap().to_owned());
        }
        out
    }
}

/// The observed-baseline drifts' paths of a report.
fn since_paths(json: &Value) -> Vec<String> {
    json["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["since_accepted"].as_array().cloned().unwrap_or_default())
        .flat_map(|c| c["drifts"].as_array().cloned().unwrap_or_default())
        .map(|d| d["path"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_first_run_records_for_review_and_says_nothing_was_accepted_yet() {
    let live = Live::new();
    let (out, json) = live.run(false, "first.json");
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    let target = Live::target(&json);
    assert!(target.starts_with("127.0.0.1-"), "{target}");
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "no accepted baseline for {target} yet: 7 observations recorded; review with payu-contract baseline"
        )),
        "{text}"
    );
    assert!(
        !text.contains("changed"),
        "a first run is not a change: {text}"
    );
    // Recorded in the working folder, beside the token store.
    let observed = live.observed(&target);
    assert_eq!(
        ending(&observed, ".snap.new").len(),
        7,
        "{:?}",
        files(live.work.path())
    );
    assert!(
        ending(&observed, ".snap").is_empty(),
        "never accepted by itself"
    );
    // Report paths are relative to the baselines folder.
    let paths = since_paths(&json);
    assert_eq!(paths.len(), 7);
    for p in &paths {
        assert!(
            p.starts_with(&format!("{target}/")) && p.ends_with(".snap"),
            "{p}"
        );
    }
    let work = live.work.path().to_string_lossy().into_owned();
    for f in ["first.json", "first.json.html"] {
        let body = std::fs::read_to_string(live.work.path().join(f)).unwrap();
        assert!(!body.contains(&work), "{f} names an absolute path");
        assert!(!body.contains("/snapshots/documented/"), "{f}");
    }
    assert_eq!(
        json["observed_baseline"]["folder"],
        format!(".payu-contract/baselines/{target}")
    );
    assert_eq!(json["observed_baseline"]["recorded"], true);
}

#[test]
fn baseline_lists_diffs_and_accepts_one_or_all_never_by_itself() {
    let live = Live::new();
    let (out, json) = live.run(false, "first.json");
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    let target = Live::target(&json);
    let observed = live.observed(&target);

    // Listing: every pending observation, as new, with its text as a diff.
    let list = live.cmd(false, &["baseline"]);
    assert_eq!(
        list.status.code(),
        Some(1),
        "waiting for review: {}",
        common::text(&list)
    );
    let text = stdout(&list);
    assert!(
        text.contains(&format!("{target}: 7 observations waiting for review")),
        "{text}"
    );
    assert!(
        text.contains("new      refresh-without-grant-type"),
        "{text}"
    );
    assert!(
        text.contains("+    \"error\": \"invalid_request\""),
        "{text}"
    );
    assert_eq!(
        ending(&observed, ".snap.new").len(),
        7,
        "listing writes nothing"
    );

    // Accepting needs a confirmation: no terminal here, and CI never asks.
    for ci in [false, true] {
        let refused = live.cmd(ci, &["baseline", "--all"]);
        assert_eq!(refused.status.code(), Some(2), "{}", common::text(&refused));
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(err.contains("--yes"), "{err}");
        assert_eq!(ending(&observed, ".snap.new").len(), 7);
    }
    let unknown = live.cmd(
        false,
        &["baseline", "--accept", "no-such-scenario", "--yes"],
    );
    assert_eq!(unknown.status.code(), Some(2), "{}", common::text(&unknown));
    let wrong_target = live.cmd(false, &["baseline", "uat"]);
    assert_eq!(wrong_target.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong_target.stderr).contains(&target));

    // One scenario, then the rest (by the target's URL, as the run names it).
    let one = live.cmd(
        false,
        &[
            "baseline",
            "--accept",
            "refresh-without-grant-type",
            "--yes",
        ],
    );
    assert_eq!(one.status.code(), Some(1), "6 left: {}", common::text(&one));
    assert!(observed.join("refresh-without-grant-type.snap").exists());
    assert_eq!(ending(&observed, ".snap.new").len(), 6);
    let all = live.cmd(true, &["baseline", &target, "--all", "--yes"]);
    assert_eq!(all.status.code(), Some(0), "{}", common::text(&all));
    assert!(ending(&observed, ".snap.new").is_empty());
    assert_eq!(ending(&observed, ".snap").len(), 7);

    // The next run (in CI) finds no change.
    let (out, _) = live.run(true, "second.json");
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    assert!(
        stdout(&out).contains(&format!(
            "observed baseline of {target}: no change since the accepted baseline (7 observations)"
        )),
        "{}",
        common::text(&out)
    );

    // The accepted observation differs from what the target says now: a
    // change, shown as a diff; CI records nothing; a local run does.
    let accepted = observed.join("refresh-without-grant-type.snap");
    let old = std::fs::read_to_string(&accepted).unwrap();
    assert!(old.contains("\"pragma\": \"no-cache\""));
    std::fs::write(
        &accepted,
        old.replace("\"pragma\": \"no-cache\"", "\"pragma\": \"old\""),
    )
    .unwrap();
    let (out, json) = live.run(true, "third.json");
    assert_eq!(
        out.status.code(),
        Some(0),
        "the verdict is the documentation's"
    );
    assert!(
        stdout(&out)
            .contains("1 of 7 observations changed since the accepted baseline (CI compares only"),
        "{}",
        common::text(&out)
    );
    assert!(
        ending(&observed, ".snap.new").is_empty(),
        "CI compares only"
    );
    let diff = json["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Refresh without grant type")
        .unwrap()["since_accepted"][0]["diff"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(diff.contains("+    \"pragma\": \"no-cache\""), "{diff}");
    let (out, _) = live.run(false, "fourth.json");
    assert!(stdout(&out).contains("1 of 7 observations changed since the accepted baseline; review with payu-contract baseline"), "{}", common::text(&out));
    let list = live.cmd(false, &["baseline"]);
    let text = stdout(&list);
    assert!(
        text.contains("changed  refresh-without-grant-type"),
        "{text}"
    );
    assert!(
        text.contains("-    \"pragma\": \"old\"") && text.contains("+    \"pragma\": \"no-cache\""),
        "{text}"
    );

    // No secret of the double anywhere: recorded files, reports, output.
    let mut everything = String::new();
    for f in files(live.work.path()) {
        if f.ends_with("store.json") {
            continue; // the token store holds the live token by design
        }
        everything.push_str(&std::fs::read_to_string(&f).unwrap_or_default());
    }
    everything.push_str(&text);
    for secret in live.secrets() {
        assert!(!everything.contains(&secret), "a secret leaked");
    }
}

/// Observations are redacted when recorded; `baseline` scrubs what it shows
/// once more with every secret in its environment, so a file recorded by an
/// older version (or edited by hand) cannot leak one either.
#[test]
fn baseline_never_shows_a_secret_of_its_environment() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join(".payu-contract/baselines/uat");
    std::fs::create_dir_all(&dir).unwrap();
    let secret = "Zq7-secret-client-value-4711";
    std::fs::write(
        dir.join("x.snap.new"),
        format!("---\nsource: a\n---\n{{\n  \"error_description\": \"{secret}\"\n}}\n"),
    )
    .unwrap();
    let out = common::bin()
        .current_dir(work.path())
        .env("PAYU_CLIENT_SECRET", secret)
        .args(["baseline", "uat"])
        .output()
        .unwrap();
    let all = common::text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("[redacted]") && !all.contains(secret), "{all}");
    // Without the secret in the environment the hand-made file shows as is:
    // the check above is what hid it.
    let plain = common::bin()
        .current_dir(work.path())
        .args(["baseline", "uat"])
        .output()
        .unwrap();
    assert!(common::text(&plain).contains(secret));
}

#[test]
fn baseline_without_any_recorded_target_says_how_to_get_one() {
    let work = tempfile::tempdir().unwrap();
    let out = common::bin()
        .current_dir(work.path())
        .arg("baseline")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no target has recorded observations"), "{err}");
    assert!(files(work.path()).is_empty(), "nothing written");
}

/// On a terminal `baseline --accept`/`--all` asks, and only "y" accepts.
#[test]
fn on_a_terminal_accepting_asks_first() {
    use expectrl::{Eof, Expect, Session};
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join(".payu-contract/baselines/uat");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["a", "b"] {
        std::fs::write(
            dir.join(format!("{name}.snap.new")),
            "---\nsource: a\n---\n{\n  \"status\": 401\n}\n",
        )
        .unwrap();
    }
    let session = |args: &[&str]| {
        let mut cmd = common::bin_on_terminal();
        cmd.current_dir(work.path()).env_remove("CI").args(args);
        let mut s = Session::spawn(cmd).expect("spawn in a pseudo-terminal");
        s.set_expect_timeout(Some(std::time::Duration::from_secs(30)));
        s
    };
    // "n" (or anything but y): nothing accepted.
    let mut s = session(&["baseline", "uat", "--accept", "a"]);
    s.expect("accept 1 observation(s) of uat as its baseline? [y/N]")
        .unwrap();
    s.send_line("n").unwrap();
    s.expect("nothing accepted").unwrap();
    s.expect(Eof).unwrap();
    assert!(dir.join("a.snap.new").exists() && !dir.join("a.snap").exists());
    // "y": accepted, the other one still waits.
    let mut s = session(&["baseline", "uat", "--accept", "a"]);
    s.expect("[y/N]").unwrap();
    s.send_line("y").unwrap();
    s.expect("1 accepted, 1 still waiting for review").unwrap();
    s.expect(Eof).unwrap();
    assert!(dir.join("a.snap").exists() && !dir.join("a.snap.new").exists());
    assert!(dir.join("b.snap.new").exists());
}
