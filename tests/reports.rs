//! The reports end to end: the built binary runs the suite against the
//! faithful double and against drifted doubles, writing every report into a
//! temporary folder; the tests read the files back.
//!
//! `CI=true` keeps the runs from writing snapshot files. Each profile runs
//! once and its results are shared by the tests that need them.

mod common;

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

const BIN: &str = env!("CARGO_BIN_EXE_payu-contract");

/// The 64-hex values printed on the documentation page itself (its sample
/// client id and access token): the only ones a report may quote freely.
const DOCUMENTED_HEX: &[&str] = &[
    "249fbf69a7841aa28cc494984b45efcb22537c0cedbb672c6fa18ba8eb21d8ce",
    "8703474d8779483d9a298666faafa1ee5c1fc24c71dc1890dc7484e19cf27c9e",
];

struct Run {
    code: i32,
    stdout: String,
    dir: tempfile::TempDir,
}

impl Run {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name))
            .unwrap_or_else(|e| panic!("report {name} not written: {e}\n{}", self.stdout))
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.read("run.json")).expect("the JSON report parses")
    }
    fn cucumber(&self) -> Value {
        serde_json::from_str(&self.read("cucumber.json")).expect("the Cucumber JSON parses")
    }
}

fn command(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).env("CI", "true").env("NO_COLOR", "1");
    for (k, _) in std::env::vars() {
        if k.starts_with("PAYU_") || k.starts_with("INSTA_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

fn run_profile(profile: &str, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path())
        .args(["run", "--profile", profile])
        .arg("--report-json")
        .arg(dir.path().join("run.json"))
        .arg("--report-junit")
        .arg(dir.path().join("junit.xml"))
        .arg("--report-cucumber")
        .arg(dir.path().join("cucumber.json"))
        .arg("--report-html")
        .arg(dir.path().join("report.html"))
        .arg("--report-markdown")
        .arg(dir.path().join("summary.md"))
        .args(extra)
        .output()
        .expect("the binary runs");
    Run {
        code: out.status.code().expect("exited"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr),
        dir,
    }
}

/// Each profile runs once per test process.
fn run(profile: &str) -> Arc<Run> {
    static RUNS: OnceLock<Mutex<HashMap<String, Arc<Run>>>> = OnceLock::new();
    let mut runs = RUNS.get_or_init(Default::default).lock().unwrap();
    runs.entry(profile.to_owned())
        .or_insert_with(|| Arc::new(run_profile(profile, &[])))
        .clone()
}

const PROFILES: &[(&str, i32)] = &[
    ("documented", 0),
    ("doorkeeper-5.6.6", 1),
    ("expire-in-renamed", 1),
    ("no-rotation", 1),
    ("html-502", 3),
];

fn scenario<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no scenario named {name}"))
}

/// (class, path) of every drift of a scenario.
fn drifts(s: &Value) -> Vec<(String, String)> {
    s["checks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["drifts"].as_array().unwrap().iter())
        .map(|d| {
            (
                d["class"].as_str().unwrap().to_owned(),
                d["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn has(list: &[(String, String)], class: &str, path: &str) -> bool {
    list.iter().any(|(c, p)| c == class && p == path)
}

// ---------------------------------------------------------------- exit codes

#[test]
fn exit_codes_follow_the_verdict() {
    for (profile, code) in PROFILES {
        let r = run(profile);
        assert_eq!(r.code, *code, "{profile}: {}", r.stdout);
        let json = r.json();
        assert_eq!(json["exit_code"], *code, "{profile}");
        assert_eq!(json["format"], "payu-contract-run");
        assert_eq!(json["version"], 1);
    }
}

// ---------------------------------------------------------------- JSON

#[test]
fn json_names_the_status_drift_of_doorkeeper_5_6_6() {
    let json = run("doorkeeper-5.6.6").json();
    let s = scenario(&json, "Refresh without grant type");
    assert_eq!(s["verdict"], "drifted");
    let d = drifts(s);
    assert!(has(&d, "status-code-changed", "status"), "{d:?}");
    assert!(
        has(&d, "error-description-changed", "/error_description"),
        "{d:?}"
    );
    assert!(has(&d, "header-changed", "header:Cache-Control"), "{d:?}");
    assert!(has(&d, "header-missing", "header:Pragma"), "{d:?}");
    let status = s["checks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["drifts"].as_array().unwrap())
        .find(|d| d["class"] == "status-code-changed")
        .unwrap();
    assert_eq!(status["expected"], "401");
    assert_eq!(status["observed"], "400");
    // invalid_client keeps 401 in Doorkeeper 5.2.
    let client = drifts(scenario(&json, "Refresh with invalid client"));
    assert!(
        !client.iter().any(|(c, _)| c == "status-code-changed"),
        "{client:?}"
    );
}

#[test]
fn json_names_the_renamed_lifetime_field() {
    let json = run("expire-in-renamed").json();
    let d = drifts(scenario(
        &json,
        "Refresh with client id, client secret and refresh token",
    ));
    assert!(has(&d, "field-missing", "/expires_in"), "{d:?}");
    assert!(has(&d, "field-added", "/expire_in"), "{d:?}");
    // The failure scenarios are untouched by this drift.
    assert_eq!(
        scenario(&json, "Refresh without grant type")["verdict"],
        "passed"
    );
}

#[test]
fn json_names_the_rotation_drift() {
    let json = run("no-rotation").json();
    let all: Vec<(String, String)> = json["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(drifts)
        .collect();
    assert!(all.iter().any(|(c, _)| c == "rotation-changed"), "{all:?}");
}

#[test]
fn json_of_the_faithful_double_has_no_drift() {
    let json = run("documented").json();
    assert_eq!(json["verdict"], "passed");
    assert_eq!(json["summary"]["passed"], json["summary"]["total"]);
    for s in json["scenarios"].as_array().unwrap() {
        assert!(drifts(s).is_empty(), "{}", s["name"]);
    }
    assert!(json["documentation_findings"].as_array().unwrap().len() >= 7);
    assert!(!json["rfc6749_notes"].as_array().unwrap().is_empty());
}

#[test]
fn html_502_has_no_verdict_and_no_drift() {
    let json = run("html-502").json();
    assert_eq!(json["verdict"], "no-verdict");
    assert_eq!(json["summary"]["no_verdict"], json["summary"]["total"]);
    assert_eq!(json["summary"]["drifted"], 0);
}

// ---------------------------------------------------------------- JUnit

/// What a `JUnit` file says, read with an XML parser.
#[derive(Debug, Default)]
struct Junit {
    suites: usize,
    declared: [usize; 4], // tests, failures, errors, skipped (summed over suites)
    cases: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
    failure_messages: Vec<String>,
}

fn parse_junit(xml: &str) -> Junit {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut j = Junit::default();
    let mut stack: Vec<String> = vec![];
    let mut root_seen = false;
    loop {
        let ev = reader
            .read_event()
            .expect("the JUnit report is well-formed XML");
        let (e, empty) = match &ev {
            Event::Start(e) => (e.clone(), false),
            Event::Empty(e) => (e.clone(), true),
            Event::End(_) => {
                stack.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
        let attr = |k: &str| {
            e.try_get_attribute(k).unwrap().map(|a| {
                a.normalized_value(quick_xml::XmlVersion::default())
                    .unwrap()
                    .into_owned()
            })
        };
        let parent = stack.last().map(String::as_str);
        match name.as_str() {
            "testsuites" => {
                assert!(parent.is_none() && !root_seen, "one <testsuites> root");
                root_seen = true;
            }
            "testsuite" => {
                assert_eq!(parent, Some("testsuites"));
                j.suites += 1;
                for (i, k) in ["tests", "failures", "errors", "skipped"]
                    .iter()
                    .enumerate()
                {
                    let v = attr(k).unwrap_or_else(|| panic!("testsuite without {k}"));
                    j.declared[i] += v.parse::<usize>().unwrap();
                }
                assert!(attr("name").is_some());
            }
            "testcase" => {
                assert_eq!(parent, Some("testsuite"));
                assert!(attr("name").is_some() && attr("classname").is_some());
                j.cases += 1;
            }
            "failure" | "error" | "skipped" => {
                assert_eq!(parent, Some("testcase"), "<{name}> outside a testcase");
                let msg = attr("message").unwrap_or_else(|| panic!("<{name}> without message"));
                match name.as_str() {
                    "failure" => {
                        j.failures += 1;
                        j.failure_messages.push(msg);
                    }
                    "error" => j.errors += 1,
                    _ => j.skipped += 1,
                }
            }
            "properties" | "property" | "system-out" | "system-err" => {}
            other => panic!("unexpected element <{other}>"),
        }
        if !empty {
            stack.push(name);
        }
    }
    assert!(root_seen);
    j
}

#[test]
fn junit_counts_match_the_json_report() {
    for (profile, _) in PROFILES {
        let r = run(profile);
        let j = parse_junit(&r.read("junit.xml"));
        let s = &r.json()["summary"];
        let n = |k: &str| s[k].as_u64().unwrap() as usize;
        assert_eq!(j.cases, n("total"), "{profile}");
        assert_eq!(j.failures, n("drifted"), "{profile}");
        assert_eq!(j.errors, n("no_verdict"), "{profile}");
        assert_eq!(j.skipped, n("skipped"), "{profile}");
        assert_eq!(
            j.declared,
            [n("total"), n("drifted"), n("no_verdict"), n("skipped")],
            "{profile}: the declared counts"
        );
        assert_eq!(j.suites, 4, "{profile}: one testsuite per feature");
    }
}

#[test]
fn junit_failures_name_drift_class_and_path() {
    let j = parse_junit(&run("expire-in-renamed").read("junit.xml"));
    assert!(
        j.failure_messages
            .iter()
            .any(|m| m.contains("field-missing at /expires_in")
                && m.contains("field-added at /expire_in")),
        "{:?}",
        j.failure_messages
    );
}

/// Validates against Jenkins' junit-10.xsd (tests/fixtures) with Python's
/// `xmlschema` when it is installed (`pip install xmlschema`).
#[test]
fn junit_validates_against_the_common_schema() {
    let probe = Command::new("python3")
        .args(["-c", "import xmlschema"])
        .output();
    if !common::tool_present_or_skip(
        probe.is_ok_and(|o| o.status.success()),
        "the JUnit XSD validation (the structural checks still run)",
        "python3 with xmlschema",
        "pip install xmlschema; .ci/run does",
    ) {
        return;
    }
    let xsd = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/junit-10.xsd");
    let files: Vec<PathBuf> = PROFILES
        .iter()
        .map(|(p, _)| run(p).path("junit.xml"))
        .collect();
    let script = "import sys, xmlschema\ns = xmlschema.XMLSchema(sys.argv[1])\nfor f in sys.argv[2:]:\n    s.validate(f)\nprint('valid', len(sys.argv) - 2)";
    let out = Command::new("python3")
        .args(["-c", script, xsd])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "JUnit report invalid: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------- Cucumber

#[test]
fn cucumber_json_has_one_element_per_scenario() {
    for (profile, _) in PROFILES {
        let r = run(profile);
        let cuc = r.cucumber();
        let features = cuc.as_array().expect("an array of features");
        assert_eq!(features.len(), 4, "{profile}");
        let elements: Vec<&Value> = features
            .iter()
            .flat_map(|f| f["elements"].as_array().unwrap())
            .collect();
        assert_eq!(
            elements.len() as u64,
            r.json()["summary"]["total"].as_u64().unwrap(),
            "{profile}"
        );
        for el in &elements {
            assert_eq!(el["type"], "scenario");
            for step in el["steps"].as_array().unwrap() {
                let status = step["result"]["status"].as_str().unwrap();
                assert!(["passed", "failed", "skipped"].contains(&status));
                assert!(step["result"]["duration"].is_u64());
            }
        }
        // A drifted or unjudged scenario shows red: its verdict hook failed.
        let red = elements
            .iter()
            .filter(|el| el["after"][0]["result"]["status"] == "failed")
            .count() as u64;
        let s = &r.json()["summary"];
        assert_eq!(
            red,
            s["drifted"].as_u64().unwrap() + s["no_verdict"].as_u64().unwrap(),
            "{profile}"
        );
    }
}

// ---------------------------------------------------------------- secrets

#[test]
fn no_secret_appears_in_any_report() {
    for (profile, _) in PROFILES {
        let r = run(profile);
        let json = r.json();
        // The client id is an identifier, not a secret: it is sent in the
        // form and shown in the request. Every other 64-hex value (client
        // secret, access and refresh tokens of the double) must not appear.
        let mut allowed: Vec<String> = DOCUMENTED_HEX.iter().map(ToString::to_string).collect();
        for s in json["scenarios"].as_array().unwrap() {
            for e in s["exchanges"].as_array().unwrap() {
                for kv in e["request"]["form"].as_array().unwrap() {
                    if kv[0] == "client_id" {
                        allowed.push(kv[1].as_str().unwrap().to_owned());
                    }
                }
            }
        }
        for file in [
            "run.json",
            "junit.xml",
            "cucumber.json",
            "report.html",
            "summary.md",
        ] {
            let text = r.read(file);
            for hex in hex64(&text) {
                assert!(
                    allowed.contains(&hex),
                    "{profile}: {file} carries a 64-hex value that is not the client id: {hex}"
                );
            }
            assert!(!text.contains("client_secret=") || text.contains("client_secret=[redacted]"));
        }
        assert!(
            json.to_string().contains("[redacted]"),
            "{profile}: the requests' secrets are shown redacted"
        );
    }
}

/// Every run of exactly 64 hex digits (not part of a longer run).
fn hex64(text: &str) -> Vec<String> {
    let mut out = vec![];
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            if run.len() == 64 {
                out.push(run.to_ascii_lowercase());
            }
            run.clear();
        }
    }
    out
}

#[test]
fn the_secret_check_would_catch_a_leak() {
    let leak = "x".repeat(3) + &"ab".repeat(32) + "\"";
    assert_eq!(hex64(&leak), vec!["ab".repeat(32)]);
    assert!(hex64(&"a".repeat(65)).is_empty());
}

// ---------------------------------------------------------------- HTML

/// Every tag of the file: maud escapes `<` in text, so each `<` opens one.
fn tags(html: &str) -> Vec<&str> {
    html.split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
        .collect()
}

#[test]
fn html_has_no_external_references() {
    for (profile, _) in PROFILES {
        let html = run(profile).read("report.html");
        for tag in tags(&html) {
            let lower = tag.to_ascii_lowercase();
            for bad in [
                "script",
                "link",
                "img",
                "iframe",
                "object",
                "embed",
                "base",
                "meta http-equiv",
            ] {
                assert!(
                    !lower.starts_with(bad),
                    "{profile}: <{tag}> can load something"
                );
            }
            assert!(!lower.contains("://"), "{profile}: a URL in <{tag}>");
            for attr in ["href=\"", "src=\"", "srcset=\"", "action=\"", "poster=\""] {
                if let Some(i) = lower.find(attr) {
                    let value = &lower[i + attr.len()..];
                    assert!(
                        value.starts_with('#') || value.starts_with("data:"),
                        "{profile}: <{tag}> refers outside the file"
                    );
                }
            }
        }
        let style = html
            .split("<style>")
            .nth(1)
            .and_then(|s| s.split("</style>").next())
            .expect("inline CSS");
        assert!(
            !style.contains("@import") && !style.contains("url("),
            "{profile}: CSS loads something"
        );
        // http(s):// may appear only as text (the target's token URL).
        for (i, _) in html.match_indices("://") {
            let before = &html[..i];
            assert!(
                before.rfind('<') < before.rfind('>'),
                "{profile}: URL inside a tag"
            );
        }
    }
}

#[test]
fn html_shows_drift_side_by_side_with_the_path() {
    let html = run("doorkeeper-5.6.6").read("report.html");
    for needle in [
        "id=\"summary\"",
        "id=\"documented-vs-observed\"",
        "id=\"documentation-findings\"",
        "id=\"rfc6749-notes\"",
        "<span class=\"chip\">status-code-changed</span> at <code class=\"path\">status</code>",
        "<code class=\"path\">header:Pragma</code>",
        "class=\"side expected\"",
        "class=\"side observed\"",
        "<pre class=\"diff\">",
        "<span class=\"add\">",
        "<span class=\"badge drifted\">",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    assert!(
        !html.contains("class=\"side expected\"") || html.matches("class=\"drift\"").count() >= 8
    );
    let ok = run("documented").read("report.html");
    assert!(ok.contains("Every documented check held"));
    assert!(!ok.contains("class=\"side expected\""));
}

/// Loads the drifted report in headless Chromium, when it is installed, and
/// checks the rendered DOM has the summary.
#[test]
fn html_loads_in_chromium() {
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        common::tool_present_or_skip(
            false,
            "the HTML report's browser check",
            "chromium",
            "apt-get install chromium; .ci/run does",
        );
        return;
    };
    let r = run("doorkeeper-5.6.6");
    let profile_dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", r.path("report.html").display());
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile_dir.path().display()))
        .arg(&url)
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dom.contains("<h1 id=\"summary\">The endpoint drifted from the documented contract</h1>"),
        "{dom}"
    );
    // The rendered count is the run's own (the JSON report's summary).
    let drifted = r.json()["summary"]["drifted"].as_u64().unwrap();
    assert!(drifted > 0);
    assert!(
        dom.contains(&format!(
            "<div class=\"card drifted\" data-count=\"{drifted}\">"
        )),
        "{dom}"
    );
    assert!(dom.contains("id=\"documented-vs-observed\""));
}

// ---------------------------------------------------------------- terminal, baseline

#[test]
fn terminal_prints_the_documented_vs_observed_table_for_drift() {
    let r = run("doorkeeper-5.6.6");
    let table = r
        .stdout
        .split("Documented vs observed")
        .nth(1)
        .unwrap_or_else(|| panic!("no table:\n{}", r.stdout));
    let row = table
        .lines()
        .find(|l| l.contains("Refresh without grant type"))
        .expect("a row per drifted scenario");
    for cell in ["401", "400", "invalid_request", "status-code-changed"] {
        assert!(row.contains(cell), "{row}");
    }
    assert!(!r.stdout.contains("\x1b["), "no colour when piped");
    assert!(!run("documented").stdout.contains("Documented vs observed"));
}

#[test]
fn baseline_lists_what_changed_between_runs() {
    let before = run("documented");
    let after = run_profile(
        "doorkeeper-5.6.6",
        &["--baseline", before.path("run.json").to_str().unwrap()],
    );
    assert_eq!(after.code, 1, "{}", after.stdout);
    assert!(
        after.stdout.contains("Changes since the baseline"),
        "{}",
        after.stdout
    );
    assert!(
        after
            .stdout
            .contains("+ drift  status-code-changed at status")
    );
    let cmp = &after.json()["since_baseline"];
    assert_eq!(cmp["baseline_verdict"], "passed");
    // Every scenario of the suite drifts on doorkeeper-5.2 (the three
    // @undocumented ones included).
    assert_eq!(cmp["verdict_changes"].as_array().unwrap().len(), 11);
    assert!(cmp["disappeared"].as_array().unwrap().is_empty());
    assert!(cmp["appeared"].as_array().unwrap().iter().any(|d| {
        d["class"] == "status-code-changed"
            && d["scenario"]
                .as_str()
                .unwrap()
                .ends_with("Refresh without grant type")
    }));
    assert!(after.read("report.html").contains("id=\"since-baseline\""));

    // The same run against itself: nothing changed.
    let again = run_profile(
        "documented",
        &["--baseline", before.path("run.json").to_str().unwrap()],
    );
    assert_eq!(again.code, 0);
    assert!(again.stdout.contains("nothing changed"), "{}", again.stdout);
}

#[test]
fn a_bad_baseline_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.json"), "{}").unwrap();
    for path in ["missing.json", "bad.json"] {
        let out = command(dir.path())
            .args(["run", "--baseline", path])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{path}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--baseline"), "{err}");
    }
}

#[test]
fn ci_examples_use_the_secret_store_the_token_store_and_the_exit_codes() {
    for file in ["github-actions.yml", "gitlab-ci.yml"] {
        let path = format!("{}/examples/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        for needle in [
            "PAYU_CLIENT_ID",
            "PAYU_CLIENT_SECRET",
            "PAYU_REFRESH_TOKEN",
            "PAYU_STORE_KEY",
            ".payu-contract/token-store.json",
            "--report-junit reports/junit.xml",
            "--report-html reports/report.html",
            // The page's contract gates CI (docs/writing-scenarios.md).
            "--tags \"@documented\"",
            "PAYU_TARGET: uat",
            "3)",
        ] {
            assert!(text.contains(needle), "{file} lacks {needle}");
        }
        assert!(
            text.to_lowercase().contains("endpoint unavailable"),
            "{file}"
        );
    }
}

// ---------------------------------------------------------------- Markdown

/// The cells of a GFM table line, split at unescaped pipes.
fn gfm_cells(line: &str) -> Vec<String> {
    let inner = line
        .strip_prefix("| ")
        .and_then(|l| l.strip_suffix(" |"))
        .unwrap_or_else(|| panic!("a table line is | ... |: {line}"));
    let mut out = vec![String::new()];
    let mut escaped = false;
    for c in inner.chars() {
        match (escaped, c) {
            (false, '\\') => escaped = true,
            (false, '|') => out.push(String::new()),
            _ => {
                escaped = false;
                out.last_mut().unwrap().push(c);
            }
        }
    }
    out.iter().map(|c| c.trim().to_owned()).collect()
}

/// The GitHub step summary: verdict first, one well-formed GFM table row
/// per scenario with the documented and observed values, drifts by class.
#[test]
fn markdown_summary_is_gfm_with_the_verdict_table_and_drifts_by_class() {
    for (profile, code) in PROFILES {
        let r = run(profile);
        let md = r.read("summary.md");
        let json = r.json();
        let first = md.lines().next().unwrap();
        let label = match code {
            0 => "PASS",
            1 => "DRIFT",
            _ => "NO VERDICT",
        };
        assert!(
            first.starts_with("## PayU contract: ") && first.contains(label),
            "{profile}: {first}"
        );
        let table: Vec<&str> = md
            .lines()
            .skip_while(|l| !l.starts_with("| Scenario |"))
            .take_while(|l| l.starts_with('|'))
            .collect();
        let scenarios = json["scenarios"].as_array().unwrap();
        assert_eq!(table.len(), 2 + scenarios.len(), "{profile}:\n{md}");
        let head = gfm_cells(table[0]);
        assert_eq!(head.len(), 7, "{head:?}");
        assert!(gfm_cells(table[1]).iter().all(|c| {
            let c = c.trim_matches(':');
            c.len() >= 3 && c.chars().all(|c| c == '-')
        }));
        for line in &table[2..] {
            assert_eq!(gfm_cells(line).len(), head.len(), "{profile}: {line}");
        }
        let classes: Vec<String> = scenarios
            .iter()
            .flat_map(|s| s["checks"].as_array().unwrap().iter())
            .flat_map(|c| c["drifts"].as_array().unwrap().iter())
            .map(|d| d["class"].as_str().unwrap().to_owned())
            .collect();
        for class in &classes {
            assert!(
                md.contains(&format!("#### {class} (")),
                "{profile}: {class}\n{md}"
            );
        }
        assert_eq!(
            classes.is_empty(),
            !md.contains("### Drifts by class"),
            "{profile}"
        );
    }
    // Doorkeeper 5.2's documented 401 answered as 400 is in the table.
    let md = run("doorkeeper-5.2").read("summary.md");
    let row = md
        .lines()
        .find(|l| l.starts_with("| Refresh without grant type |"))
        .unwrap_or_else(|| panic!("{md}"));
    let cells = gfm_cells(row);
    assert_eq!(&cells[2..4], ["401", "**400**"], "{row}");
}

// The observed baseline of live targets is tested in tests/baseline.rs.
