//! The drift-detection matrix, end to end: `payu-contract mutants` runs the
//! whole suite against every profile of the double (concurrently, one child
//! process and one port each) and must catch every drift with the expected
//! drift classes, pass the faithful and the harmless profiles, and give no
//! verdict on the HTML 502 page.

mod common;

use std::time::Instant;

#[test]
fn the_suite_catches_every_drift_of_the_double_and_no_false_alarm() {
    let reports = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = common::bin()
        .args(["mutants", "-q", "--reports-dir"])
        .arg(reports.path())
        .output()
        .unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}\nmatrix wall time: {:.1} s", took.as_secs_f64());
    assert_eq!(
        out.status.code(),
        Some(0),
        "the matrix failed:\n{stdout}\n{stderr}"
    );

    // profile -> (expected, observed, result)
    let rows: Vec<(String, String, String, String)> = stdout
        .lines()
        .skip(2)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split("  ").filter(|c| !c.trim().is_empty()).collect();
            (
                cols[0].trim().to_owned(),
                cols[1].trim().to_owned(),
                cols[2].trim().to_owned(),
                cols.last().unwrap().trim().to_owned(),
            )
        })
        .collect();
    let result_of = |p: &str| {
        rows.iter()
            .find(|r| r.0 == p)
            .unwrap_or_else(|| panic!("no row for {p} in\n{stdout}"))
            .clone()
    };

    // The two whole-server profiles are caught.
    for p in [
        "doorkeeper-5.5",
        "doorkeeper-5.2",
        "doorkeeper-5.6.6",
        "rfc6749",
    ] {
        assert_eq!(result_of(p).3, "caught", "{p}");
    }
    // At least 20 single mutations, each caught.
    let mutations: Vec<_> = rows
        .iter()
        .filter(|r| r.1 == "drift" && !r.0.starts_with("doorkeeper-") && r.0 != "rfc6749")
        .collect();
    assert!(mutations.len() >= 20, "{} mutations", mutations.len());
    for r in &mutations {
        assert_eq!(r.3, "caught", "{}", r.0);
        assert_eq!(r.2, "drift", "{}", r.0);
    }
    // No false alarm on the faithful and the harmless profiles.
    for p in ["documented", "keys-reordered", "slow"] {
        let r = result_of(p);
        assert_eq!(
            (r.1.as_str(), r.2.as_str(), r.3.as_str()),
            ("pass", "pass", "ok"),
            "{p}"
        );
    }
    // An HTML 502 page is an infrastructure fault: no verdict, not drift.
    let r = result_of("html-502");
    assert_eq!(
        (r.2.as_str(), r.3.as_str()),
        ("no-verdict", "ok (no verdict)")
    );
    assert!(!stdout.contains("MISSED") && !stdout.contains("FALSE ALARM"));

    // Score: every mutant killed, no false alarm.
    let score = stdout
        .lines()
        .find(|l| l.starts_with("score: "))
        .expect("a score line");
    let killed: Vec<usize> = score["score: ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .split('/')
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(killed[0], killed[1], "{score}");
    assert!(killed[1] >= 23, "{score}");
    assert!(score.contains(" 0 false alarm"), "{score}");

    // Every run left its JSON report, for the profile it names.
    for (profile, ..) in &rows {
        let text = std::fs::read_to_string(reports.path().join(format!("{profile}.json")))
            .unwrap_or_else(|e| panic!("{profile}: {e}"));
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["target"]["profile"], profile.as_str());
    }
}

/// The matrix is not green by construction: take the "without client
/// secret" scenario out of the suite and the public-client mutant survives.
#[test]
fn a_hole_in_the_suite_shows_up_as_a_missed_mutant() {
    let dir = tempfile::tempdir().unwrap();
    let features = dir.path().join("features");
    copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("features"),
        &features,
    );
    let file = features.join("02-successful-refresh.feature");
    let text = std::fs::read_to_string(&file).unwrap();
    let cut = text
        .find("  Scenario: Refresh without client secret")
        .expect("the scenario is in the suite");
    std::fs::write(&file, &text[..cut]).unwrap();

    let out = common::bin()
        .args([
            "mutants",
            "-q",
            "--only",
            "documented,public-client-needs-secret",
            "--features",
        ])
        .arg(&features)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let row = |p: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{p} ")))
            .unwrap_or_else(|| panic!("no row for {p} in\n{stdout}"))
            .to_owned()
    };
    assert!(
        row("public-client-needs-secret").ends_with("MISSED"),
        "{stdout}"
    );
    assert!(row("documented").ends_with(" ok"), "{stdout}");
    assert!(stdout.contains("score: 0/1 mutants killed"), "{stdout}");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
