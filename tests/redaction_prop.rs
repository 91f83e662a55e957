//! The redaction property: for an arbitrary secret (any printable
//! characters, 1 to 200 of them) that the hostile echo server
//! (`common/echo.rs`) repeats in any of its places (error description,
//! nested object, secret-bearing keys, headers, HTML page; form fields or
//! HTTP Basic), no output contains it in any spelling (`echo::spellings`).
//!
//! In process, for speed: the echo server's answer goes through the same
//! library calls the binary makes (the client's registration, the
//! exchange record, a drift quoting the observed value, the snapshot view
//! and its diff), then every report format is written through
//! `report::write` and the terminal lines are rendered and scrubbed. A few
//! cases go end to end through the binary.
//!
//! The oracle: a spelling of 8+ characters must not occur at all; a
//! shorter one must not occur as a whole token more often than in a control
//! run with another secret (a 1-character secret such as `a` occurs in the
//! reports' own words, and that is not a leak). `[redacted]` markers are
//! taken out before counting.

mod common;
#[path = "common/echo.rs"]
mod echo;

use echo::{Places, Request as EchoRequest};
use payu_contract::client::{HttpResponse, RequestRecord};
use payu_contract::contract::snapshot;
use payu_contract::contract::{CheckKind, CheckOutcome, Drift, DriftClass, DriftPath};
use payu_contract::oauth::{Client, ClientAuth, Request};
use payu_contract::redact::Scrubber;
use payu_contract::report::terminal::{self, Style, Verbosity};
use payu_contract::report::{self, ExchangeReport, ResponseRecord, RunReport, ScenarioReport};
use payu_contract::secret::Secret;
use proptest::prelude::*;

const CLIENT_ID: &str = "prop-client-id";
const TOKEN: &str = "Live-Refresh-Token-0123456789";

/// Every output of one exchange with the echo server, as (where, text).
fn outputs(
    secret: &str,
    places: Places,
    basic: bool,
    dir: &std::path::Path,
) -> Vec<(String, String)> {
    let scrubber = Scrubber::default();
    let state = echo::State::new(TOKEN);
    // Two requests: a documented refresh (rotates: success body) and one
    // without grant type (error body, or the HTML page).
    let mut scenario = ScenarioReport::new("Feature", "Scenario", vec!["@documented".into()]);
    for grant in [Some("refresh_token"), None] {
        let current = state
            .lock()
            .unwrap()
            .issued()
            .last()
            .cloned()
            .unwrap_or(TOKEN.into());
        let auth = if basic {
            ClientAuth::Basic
        } else {
            ClientAuth::Body
        };
        let client = Client::new(CLIENT_ID, Some(Secret::new(secret.to_owned())), auth);
        let token = Secret::new(current.clone());
        let req = match grant {
            Some(_) => Request::refresh(&client, &token),
            None => Request::refresh_without_grant_type(&client, &token),
        };
        let authorization = basic.then(|| format!("Basic {}", echo::basic(CLIENT_ID, secret)));
        // What TokenClient::send registers before sending.
        for (k, v) in req.fields() {
            scrubber.add_field(k, v.expose());
        }
        if let Some((id, s)) = req.basic() {
            scrubber.add_basic(id, s.expose());
        }
        let fields: Vec<(&str, &str)> = req
            .fields()
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose().as_str()))
            .collect();
        let answer = echo::answer(
            places,
            &state,
            &EchoRequest::form(&fields, authorization.as_deref()),
        );
        let resp = HttpResponse::new(answer.status, answer.headers.clone(), answer.body.clone());
        // What TokenClient registers from a response.
        scrubber.learn_response(resp.json(), resp.raw_body());
        scenario.exchanges.push(ExchangeReport {
            request: RequestRecord {
                method: "POST".into(),
                url: "http://127.0.0.1:1/oauth/token".into(),
                form: req.redacted_form(),
                basic_auth: req.basic().map(|(id, _)| format!("{id}:[redacted]")),
            },
            response: Some(ResponseRecord {
                status: resp.status,
                headers: resp
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), scrubber.scrub(v)))
                    .collect(),
                body: resp.redacted_body(&scrubber),
            }),
            fault: None,
            elapsed_ms: 1,
            attempts: 1,
        });
        // A check that quotes what it observed, unredacted (as a check
        // on error_description does).
        let observed = resp
            .json()
            .and_then(|j| j.get("error_description").or_else(|| j.get("echo")))
            .map_or_else(|| resp.raw_body().to_owned(), ToString::to_string);
        scenario.checks.push(CheckOutcome::new(
            CheckKind::Scenario,
            "the error description",
            vec![Drift::new(
                DriftClass::ErrorDescriptionChanged,
                DriftPath::field("/error_description"),
                "documented",
                observed,
            )],
        ));
        let view = snapshot::view(
            resp.status,
            &resp.headers,
            resp.json(),
            resp.raw_body(),
            &scrubber,
        );
        let mut snap = CheckOutcome::new(
            CheckKind::Snapshot,
            "snapshot x",
            vec![Drift::new(
                DriftClass::SnapshotChanged,
                DriftPath::Snapshot("x.snap".into()),
                "stored",
                "changed",
            )],
        );
        snap.diff = Some(snapshot::unified_diff("{\n  \"status\": 401\n}\n", &view));
        scenario.checks.push(snap);
        scenario.notes.push(format!("view: {view}"));
    }
    scenario.verdict = report::Verdict::Drifted;
    let summary = report::Summary::of(std::slice::from_ref(&scenario));
    let run = RunReport {
        format: "payu-contract-run".into(),
        version: report::REPORT_VERSION,
        tool_version: "0".into(),
        target: report::TargetInfo {
            name: "echo".into(),
            token_url: "http://127.0.0.1:1/oauth/token".into(),
            live: true,
            profile: None,
        },
        started_at: "2026-01-01T00:00:00Z".into(),
        duration_ms: 1,
        verdict: report::Verdict::Drifted,
        exit_code: 1,
        reason: None,
        summary,
        scenarios: vec![scenario],
        documentation_findings: vec![],
        rfc6749_notes: vec![],
        since_baseline: None,
        observed_baseline: None,
    };
    let mut out = vec![];
    for (i, (name, render)) in report::FORMATS.iter().enumerate() {
        let path = dir.join(format!("report-{i}"));
        report::write(*render, &path, &run, &scrubber).unwrap();
        out.push((name.to_string(), std::fs::read_to_string(&path).unwrap()));
    }
    // The terminal, as run.rs prints it: from the redacted report.
    let clean = scrubber.redacted(&run).unwrap();
    let mut term = terminal::scenario_lines(
        &clean.scenarios[0],
        Style::plain(),
        Verbosity::Verbose,
        1,
        1,
    );
    term.push_str(&terminal::summary_lines(&clean, Style::plain()));
    term.push_str(&terminal::contract_table(&clean, Style::plain()));
    out.push(("terminal".into(), scrubber.scrub_line(&term)));
    out
}

fn leaked(
    secret: &str,
    basic: bool,
    hostile: &[(String, String)],
    control: &[(String, String)],
) -> Vec<String> {
    let mut patterns = echo::spellings(secret);
    if basic {
        patterns.push(echo::basic(CLIENT_ID, secret));
    }
    let mut found = vec![];
    for p in &patterns {
        for ((place, text), (_, control_text)) in hostile.iter().zip(control) {
            let n = echo::leaks(text, p);
            let allowed = if p.chars().count() >= echo::WHOLE_TOKEN_BELOW {
                0
            } else {
                echo::leaks(control_text, p)
            };
            if n > allowed {
                found.push(format!("{n} (control {allowed}) x {p:?} in {place}"));
            }
        }
    }
    found
}

fn printable() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => (0x20u8..0x7f).prop_map(char::from),
        1 => any::<char>().prop_filter("printable", |c| !c.is_control() && !c.is_whitespace()),
    ]
}

/// A secret made only of spaces cannot be told from layout once a server
/// echoes it into free text (a Markdown cell, a sentence), and the server
/// treats it as absent anyway (Rails' `present?`: blank is no secret). The
/// property covers every other printable secret; `awkward_secrets_do_not_leak`
/// still checks `" "` where it stands in structured places.
fn protectable(secret: &str) -> bool {
    !secret.trim().is_empty()
}

fn secret_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        // Short ones, where the whole-token rule matters.
        2 => proptest::collection::vec(printable(), 1..=4).prop_map(|v| v.into_iter().collect()),
        3 => proptest::collection::vec(printable(), 1..=200).prop_map(|v| v.into_iter().collect()),
    ]
    .prop_filter("a blank secret is not protectable", |s: &String| {
        protectable(s)
    })
}

fn place_strategy() -> impl Strategy<Value = Places> {
    prop_oneof![
        1 => Just(Places::all()),
        4 => proptest::sample::select(Places::NAMES).prop_map(Places::only),
    ]
}

proptest! {
    // Random locally (each run explores new secrets; PROPTEST_RNG_SEED
    // replays one), one fixed seed under CI so a verdict there is
    // reproducible.
    #![proptest_config(ProptestConfig {
        cases: 128,
        failure_persistence: None,
        rng_seed: if common::in_ci() {
            proptest::test_runner::RngSeed::Fixed(0x5eed_2026)
        } else {
            ProptestConfig::default().rng_seed
        },
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_output_carries_an_echoed_secret(secret in secret_strategy(), places in place_strategy(), basic in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let hostile = outputs(&secret, places, basic, dir.path());
        // The same exchange with a secret of the same length that shares
        // no character with it: occurrences there come from the reports'
        // own text.
        let control_secret: String = std::iter::repeat_n('\u{2603}', secret.chars().count()).collect();
        let control = outputs(&control_secret, places, basic, dir.path());
        let found = leaked(&secret, basic, &hostile, &control);
        prop_assert!(found.is_empty(), "secret {:?} ({:?}, basic {}) leaked:\n{}", secret, places, basic, found.join("\n"));
    }
}

/// Secrets that collide with the reports' own syntax and words.
#[test]
fn awkward_secrets_do_not_leak() {
    let dir = tempfile::tempdir().unwrap();
    for secret in [
        " ",
        "a",
        "1",
        "0",
        ":",
        "\"",
        "\\",
        "<",
        "&",
        "'",
        "a b",
        "[redacted]",
        "redacted",
        "dacted]",
        "Bearer",
        "refresh_token",
        "invalid_grant",
        "null",
        "true",
        "{}",
        "\\u00e9",
        "é",
        "%20",
        "+",
        "=",
    ] {
        for places in [
            Places::all(),
            Places::only("html"),
            Places::only("description"),
        ] {
            // See `protectable`: a blank secret is checked where it stands
            // in structured places only.
            if !protectable(secret) && places == Places::only("description") {
                continue;
            }
            for basic in [false, true] {
                let hostile = outputs(secret, places, basic, dir.path());
                let control_secret: String =
                    std::iter::repeat_n('\u{2603}', secret.chars().count()).collect();
                let control = outputs(&control_secret, places, basic, dir.path());
                let found = leaked(secret, basic, &hostile, &control);
                assert!(
                    found.is_empty(),
                    "secret {secret:?} ({places:?}, basic {basic}) leaked:\n{}",
                    found.join("\n")
                );
            }
        }
    }
}

/// End to end through the binary: a few random secrets, each echoed by the
/// server in all its places, in stdout, stderr (trace logs) and every
/// report. Secrets of 8+ characters, so any occurrence is a leak.
#[test]
fn end_to_end_random_secrets_do_not_leak() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};
    let mut runner = TestRunner::new(Config::default());
    let long = proptest::collection::vec(printable(), 8..=80)
        .prop_map(|v| v.into_iter().collect::<String>());
    for round in 0..3 {
        let secret = long.new_tree(&mut runner).unwrap().current();
        let dir = tempfile::tempdir().unwrap();
        let echo = echo::Echo::start(Places::all(), TOKEN);
        let out_dir = dir.path().join("out");
        let mut cmd = common::bin();
        cmd.args([
            "run",
            "--verbose",
            "--allow-destructive",
            "--token-url",
            &echo.token_url,
        ]);
        for f in ["json", "junit", "cucumber", "html", "markdown"] {
            cmd.arg(format!("--report-{f}"))
                .arg(out_dir.join(format!("r.{f}")));
        }
        let basic = round == 1;
        if basic {
            cmd.env("PAYU_CLIENT_AUTH", "basic");
        }
        let out = cmd
            .env("PAYU_CLIENT_ID", CLIENT_ID)
            .env("PAYU_CLIENT_SECRET", &secret)
            .env("PAYU_REFRESH_TOKEN", TOKEN)
            .env("PAYU_TOKEN_STORE", dir.path().join("store.json"))
            .env("RUST_LOG", "trace")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0..=3)),
            "{}",
            common::text(&out)
        );
        let mut outputs = vec![
            (
                "stdout".to_owned(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            ),
            (
                "stderr".to_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ),
        ];
        for e in std::fs::read_dir(&out_dir).unwrap() {
            let p = e.unwrap().path();
            outputs.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
        assert_eq!(outputs.len(), 7);
        assert!(echo.requests() >= 8, "the suite ran");
        let found = leaked(
            &secret,
            basic,
            &outputs,
            &outputs
                .iter()
                .map(|(p, _)| (p.clone(), String::new()))
                .collect::<Vec<_>>(),
        );
        assert!(
            found.is_empty(),
            "secret {secret:?} (basic {basic}) leaked:\n{}",
            found.join("\n")
        );
    }
}
