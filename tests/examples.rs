//! The example CI pipelines (`examples/`) against the official schemas
//! that check-jsonschema ships (`vendor.github-workflows`,
//! `vendor.gitlab-ci`): a pipeline a partner copies must at least be one
//! the CI service accepts. Also: a broken copy is rejected, so the check
//! can fail. Locally the test skips loudly without check-jsonschema
//! (`pip install check-jsonschema`); under CI=true that is a failure.

mod common;

use common::in_ci;
use std::path::{Path, PathBuf};
use std::process::Command;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");

/// `check-jsonschema` as a command, from PATH or as a Python module.
fn checker() -> Option<Vec<String>> {
    let works = |argv: &[&str]| {
        Command::new(argv[0])
            .args(&argv[1..])
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    [
        vec!["check-jsonschema"],
        vec!["python3", "-m", "check_jsonschema"],
    ]
    .into_iter()
    .find(|argv| works(argv))
    .map(|argv| argv.into_iter().map(str::to_owned).collect())
}

fn validate(argv: &[String], schema: &str, file: &Path) -> std::process::Output {
    Command::new(&argv[0])
        .args(&argv[1..])
        .args(["--builtin-schema", schema])
        .arg(file)
        .output()
        .expect("check-jsonschema runs")
}

#[test]
fn example_pipelines_match_the_official_workflow_schemas() {
    let Some(argv) = checker() else {
        assert!(
            !in_ci(),
            "CI=true: check-jsonschema is required (.ci/run installs it with pip)"
        );
        eprintln!(
            "SKIPPED: example pipeline schema validation, because check-jsonschema is not installed (pip install check-jsonschema)"
        );
        return;
    };
    let cases: [(&str, &str, (&str, &str)); 2] = [
        (
            "github-actions.yml",
            "vendor.github-workflows",
            (
                "runs-on: ubuntu-latest",
                "runs-on: [ubuntu-latest]\n    run-on: x",
            ),
        ),
        (
            "gitlab-ci.yml",
            "vendor.gitlab-ci",
            (
                "  resource_group: payu-contract-uat",
                "  resource_group: [1, 2]",
            ),
        ),
    ];
    let broken = tempfile::tempdir().unwrap();
    for (file, schema, (from, to)) in cases {
        let path = PathBuf::from(EXAMPLES).join(file);
        let out = validate(&argv, schema, &path);
        assert!(
            out.status.success(),
            "{file} does not match {schema}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The same file made wrong is rejected: the check can fail.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} lacks {from}");
        let wrong = broken.path().join(file);
        std::fs::write(&wrong, text.replacen(from, to, 1)).unwrap();
        let out = validate(&argv, schema, &wrong);
        assert!(!out.status.success(), "a broken {file} passed {schema}");
    }
}

/// The GitHub example puts the Markdown summary on the run page.
#[test]
fn the_github_example_appends_the_markdown_summary_to_the_step_summary() {
    let text = std::fs::read_to_string(Path::new(EXAMPLES).join("github-actions.yml")).unwrap();
    assert!(text.contains("--report-markdown reports/summary.md"));
    assert!(text.contains("cat reports/summary.md >> \"$GITHUB_STEP_SUMMARY\""));
}
