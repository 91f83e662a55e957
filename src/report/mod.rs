//! The run as data ([`RunReport`]) and its renderings. A format is only a
//! [`Render`] function (`render(&RunReport) -> String`) listed in
//! [`FORMATS`]; it never writes a file. Files are written by [`write`]
//! alone, which redacts the report as a whole with the run's redactor
//! before the format sees it and passes the rendered text through the
//! redactor again on its way to disk (`crate::redact`): a new format cannot
//! write a report around the redaction boundary.

pub mod baseline;
pub mod cucumber;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;

use crate::client::RequestRecord;
use crate::contract::{CheckOutcome, DriftClass};
use crate::redact::Scrubber;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A report format: the report in, the file's text out.
pub type Render = fn(&RunReport) -> String;

/// Every report format: its name (for messages) and its renderer.
pub const FORMATS: &[(&str, Render)] = &[
    ("JSON", json::render),
    ("JUnit", junit::render),
    ("Cucumber JSON", cucumber::render),
    ("HTML", html::render),
    ("Markdown", markdown::render),
];

/// Writes one report file: `report` redacted whole by `redactor`, rendered
/// by `render`, and the text written through the redactor.
pub fn write(
    render: Render,
    path: &Path,
    report: &RunReport,
    redactor: &Scrubber,
) -> std::io::Result<()> {
    let clean = redactor.redacted(report)?;
    redactor.write_file(path, &render(&clean))
}

/// Bumped on any incompatible change of the JSON report's shape.
pub const REPORT_VERSION: u32 = 1;

/// A run's or a scenario's verdict. The one table of its names and exit
/// codes is [`Verdict::TABLE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Passed,
    Drifted,
    Skipped,
    NoVerdict,
}

impl Verdict {
    /// Each verdict, its words in reports, and the exit code of a run that
    /// ends with it (a run that skipped everything could judge nothing).
    pub const TABLE: [(Verdict, &'static str, ExitCode); 4] = [
        (Verdict::Passed, "passed", ExitCode::Passed),
        (Verdict::Drifted, "drifted", ExitCode::Drifted),
        (Verdict::Skipped, "skipped", ExitCode::NoVerdict),
        (Verdict::NoVerdict, "no verdict", ExitCode::NoVerdict),
    ];

    fn row(self) -> (Verdict, &'static str, ExitCode) {
        Self::TABLE
            .into_iter()
            .find(|(v, ..)| *v == self)
            .unwrap_or((self, "no verdict", ExitCode::NoVerdict))
    }

    pub fn as_str(self) -> &'static str {
        self.row().1
    }

    pub fn exit_code(self) -> ExitCode {
        self.row().2
    }
}

/// The exit codes of every command, as documented in the README.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// Every check held.
    Passed = 0,
    /// The endpoint's answers differ from the documentation.
    Drifted = 1,
    /// A usage or configuration error (one line names the problem and fix).
    Usage = 2,
    /// No verdict: unreachable, infrastructure fault, token state unknown.
    NoVerdict = 3,
}

impl ExitCode {
    pub const fn code(self) -> i32 {
        self as i32
    }
}

/// The exit codes as plain integers, for callers that hand them to the OS.
pub mod exit {
    use super::ExitCode;
    pub const PASSED: i32 = ExitCode::Passed.code();
    pub const DRIFTED: i32 = ExitCode::Drifted.code();
    pub const CONFIG: i32 = ExitCode::Usage.code();
    pub const NO_VERDICT: i32 = ExitCode::NoVerdict.code();
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunReport {
    pub format: String,
    pub version: u32,
    pub tool_version: String,
    pub target: TargetInfo,
    pub started_at: String,
    pub duration_ms: u64,
    pub verdict: Verdict,
    pub exit_code: i32,
    /// Why the run as a whole has no verdict (token state unknown, ...).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    pub summary: Summary,
    pub scenarios: Vec<ScenarioReport>,
    pub documentation_findings: Vec<Finding>,
    pub rfc6749_notes: Vec<Finding>,
    /// What changed since an earlier run (`--baseline previous.json`).
    /// Additive to version 1: absent when no baseline was given.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub since_baseline: Option<baseline::Comparison>,
    /// Live targets: the observed baseline this run compared with.
    /// Additive to version 1: absent for the embedded double.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub observed_baseline: Option<ObservedBaseline>,
}

/// Where a live target's observed baseline is, and what this run did there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObservedBaseline {
    /// The folder as configured (`.payu-contract/baselines/uat`).
    pub folder: String,
    /// Whether this run recorded its observations for review (never in CI).
    pub recorded: bool,
}

/// How the responses of a live run compare with the accepted observations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SinceAccepted {
    /// Snapshot comparisons made.
    pub total: usize,
    /// No observation accepted yet.
    pub new: usize,
    /// Differs from the accepted observation.
    pub changed: usize,
}

impl SinceAccepted {
    /// Nothing was ever accepted for this target.
    pub fn first_run(&self) -> bool {
        self.total > 0 && self.new == self.total
    }
}

impl RunReport {
    /// The "documented vs observed" table: one row per scenario.
    pub fn contract_rows(&self) -> Vec<ContractRow> {
        self.scenarios
            .iter()
            .map(ScenarioReport::contract_row)
            .collect()
    }

    /// The comparisons with the accepted observations, counted.
    pub fn since_accepted(&self) -> SinceAccepted {
        let mut out = SinceAccepted::default();
        for c in self.scenarios.iter().flat_map(|s| &s.since_accepted) {
            out.total += 1;
            match (c.passed(), c.diff.is_some()) {
                (true, _) => {}
                (false, true) => out.changed += 1,
                (false, false) => out.new += 1,
            }
        }
        out
    }

    /// Scenarios grouped by feature, in run order.
    pub fn features(&self) -> Vec<(&str, Vec<&ScenarioReport>)> {
        let mut out: Vec<(&str, Vec<&ScenarioReport>)> = Vec::new();
        for s in &self.scenarios {
            match out.iter_mut().find(|(f, _)| *f == s.feature) {
                Some((_, list)) => list.push(s),
                None => out.push((&s.feature, vec![s])),
            }
        }
        out
    }
}

/// One row of the "documented vs observed" summary: what the page promises
/// for the scenario's (last) response and what the endpoint answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContractRow {
    /// Feature and name, as [`ScenarioReport::id`].
    pub scenario: String,
    pub feature: String,
    pub name: String,
    pub verdict: Verdict,
    pub documented_status: Option<u16>,
    pub observed_status: Option<u16>,
    pub documented_error: Option<String>,
    pub observed_error: Option<String>,
    pub drift_classes: Vec<DriftClass>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TargetInfo {
    pub name: String,
    pub token_url: String,
    pub live: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub profile: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub total: usize,
    pub passed: usize,
    pub drifted: usize,
    pub skipped: usize,
    pub no_verdict: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScenarioReport {
    pub feature: String,
    pub name: String,
    pub tags: Vec<String>,
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    pub duration_ms: u64,
    pub steps: Vec<StepReport>,
    pub exchanges: Vec<ExchangeReport>,
    pub checks: Vec<CheckOutcome>,
    /// Live targets: each response compared with the last accepted
    /// observation (`snapshots/<target>/`). Informational: it does not
    /// change the verdict, which is about the documentation.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub since_accepted: Vec<CheckOutcome>,
    pub notes: Vec<String>,
    /// What the scenario's steps say the page documents for its (last)
    /// response, recorded by the steps as typed data. Additive to version 1.
    #[serde(skip_serializing_if = "DocumentedAnswer::is_empty", default)]
    pub documented: DocumentedAnswer,
}

/// The documented side of the documented-vs-observed table, as the checks
/// recorded it (the last status and error code a scenario expected).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentedAnswer {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

impl DocumentedAnswer {
    pub fn is_empty(&self) -> bool {
        self.status.is_none() && self.error.is_none()
    }
}

impl ScenarioReport {
    /// A scenario about to run: passed until a check says otherwise.
    pub fn new(feature: &str, name: &str, tags: Vec<String>) -> ScenarioReport {
        ScenarioReport {
            feature: feature.to_owned(),
            name: name.to_owned(),
            tags,
            verdict: Verdict::Passed,
            reason: None,
            duration_ms: 0,
            steps: vec![],
            exchanges: vec![],
            checks: vec![],
            since_accepted: vec![],
            notes: vec![],
            documented: DocumentedAnswer::default(),
        }
    }

    /// Whether a response changed since the last accepted observation (or
    /// none was accepted yet).
    pub fn changed_since_accepted(&self) -> bool {
        self.since_accepted.iter().any(|c| !c.passed())
    }

    pub fn drift_classes(&self) -> Vec<DriftClass> {
        let mut classes: Vec<DriftClass> = self
            .checks
            .iter()
            .flat_map(|c| c.drifts.iter().map(|d| d.class))
            .collect();
        classes.sort();
        classes.dedup();
        classes
    }

    /// The scenario's id in reports: feature and name.
    pub fn id(&self) -> String {
        format!("{} / {}", self.feature, self.name)
    }

    /// Documented values are what the scenario's checks expected (the
    /// feature file is the executable documentation), observed ones come
    /// from its last exchange.
    pub fn contract_row(&self) -> ContractRow {
        let last = self
            .exchanges
            .iter()
            .rev()
            .find_map(|e| e.response.as_ref());
        let observed_error = last.and_then(|r| {
            serde_json::from_str::<serde_json::Value>(&r.body)
                .ok()?
                .get("error")?
                .as_str()
                .map(str::to_owned)
        });
        ContractRow {
            scenario: self.id(),
            feature: self.feature.clone(),
            name: self.name.clone(),
            verdict: self.verdict,
            documented_status: self.documented.status,
            observed_status: last.map(|r| r.status),
            documented_error: self.documented.error.clone(),
            observed_error,
            drift_classes: self.drift_classes(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    Passed,
    Failed,
    Skipped,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepReport {
    pub keyword: String,
    pub text: String,
    pub status: StepStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    pub duration_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExchangeReport {
    pub request: RequestRecord,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub response: Option<ResponseRecord>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fault: Option<String>,
    pub elapsed_ms: u64,
    pub attempts: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResponseRecord {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Redacted: credentials replaced by `[redacted]`.
    pub body: String,
}

/// A statement about the documentation itself, made once per report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Finding {
    pub title: String,
    pub detail: String,
}

impl Summary {
    pub fn of(scenarios: &[ScenarioReport]) -> Summary {
        let count = |v| scenarios.iter().filter(|s| s.verdict == v).count();
        Summary {
            total: scenarios.len(),
            passed: count(Verdict::Passed),
            drifted: count(Verdict::Drifted),
            skipped: count(Verdict::Skipped),
            no_verdict: count(Verdict::NoVerdict),
        }
    }
}

/// The run's verdict and exit code: drift is a finding and wins over
/// scenarios that could not be judged, unless the token state is unknown,
/// which always means "no verdict" (the next run needs attention first).
pub fn overall(summary: &Summary, token_state_unknown: bool) -> (Verdict, i32) {
    let verdict = if token_state_unknown {
        Verdict::NoVerdict
    } else if summary.drifted > 0 {
        Verdict::Drifted
    } else if summary.no_verdict > 0 || summary.passed == 0 {
        Verdict::NoVerdict
    } else {
        Verdict::Passed
    };
    (verdict, verdict.exit_code().code())
}

/// The one line about a live target's observed baseline, shared with the
/// terminal: a first run is "no accepted baseline yet", never "changed".
pub fn observed_baseline_line(r: &RunReport) -> Option<String> {
    let since = r.since_accepted();
    if since.total == 0 {
        return None;
    }
    let recorded = r.observed_baseline.as_ref().is_some_and(|b| b.recorded);
    let target = &r.target.name;
    Some(if since.first_run() {
        if recorded {
            format!(
                "no accepted baseline for {target} yet: {} observations recorded; review with payu-contract baseline",
                since.total
            )
        } else {
            format!(
                "no accepted baseline for {target} yet: {} observations not recorded (CI compares only); record them with a run outside CI, then review with payu-contract baseline",
                since.total
            )
        }
    } else if since.changed + since.new == 0 {
        format!(
            "observed baseline of {target}: no change since the accepted baseline ({} observations)",
            since.total
        )
    } else {
        let what = format!(
            "observed baseline of {target}: {} of {} observations changed since the accepted baseline{}",
            since.changed + since.new,
            since.total,
            if since.new > 0 {
                format!(" ({} not accepted yet)", since.new)
            } else {
                String::new()
            }
        );
        if recorded {
            format!("{what}; review with payu-contract baseline")
        } else {
            format!("{what} (CI compares only: nothing recorded)")
        }
    })
}

/// What the documentation page itself gets wrong (NOTES.md §2), stated once
/// so nobody chases these as endpoint bugs.
pub fn documentation_findings() -> Vec<Finding> {
    [
        ("client_ID vs client_id", "The parameter table says client_ID; the sample request sends client_id. Form keys are case-sensitive: the wire name is client_id."),
        ("expire_in vs expires_in", "The response table says expire_in; the sample (and RFC 6749) says expires_in. The suite expects expires_in."),
        ("created_at unit", "created_at is described as milliseconds, but the sample 1553511296 is seconds (2019-03-25 UTC). The suite expects seconds."),
        ("without client secret under 401", "The failure table lists \"without client secret\" under 401 but shows a success body: client_secret is optional, so the suite expects 200."),
        ("sample client id", "The example client id contains a stray space; a real client id is 64 hex characters."),
        ("expires_in value", "The note says the lifetime is configurable by the partner: expires_in is checked as a positive integer, 7199 only in the sample."),
        ("scope example", "scope is described with a Payouts example, while the sample says hub_session."),
    ]
    .into_iter()
    .map(|(t, d)| Finding { title: t.into(), detail: d.into() })
    .collect()
}

/// Documented behaviour that differs from RFC 6749, informational only.
pub fn rfc6749_notes() -> Vec<Finding> {
    vec![Finding {
        title: "401 for every error".into(),
        detail: "RFC 6749 §5.2 answers 400 for invalid_request, invalid_grant and unsupported_grant_type, and 401 only for invalid_client. The page documents 401 for all of them, and the suite holds the endpoint to the page: a change to 400 is reported as drift.".into(),
    }]
}

/// Small hand-made reports for the renderers' unit tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::client::RequestRecord;
    use crate::contract::{CheckKind, Drift};

    pub fn passed_scenario(name: &str) -> ScenarioReport {
        ScenarioReport {
            feature: "Feature <one>".into(),
            name: name.into(),
            tags: vec!["@documented".into()],
            verdict: Verdict::Passed,
            reason: None,
            duration_ms: 3,
            steps: vec![
                StepReport {
                    keyword: "When".into(),
                    text: "the partner requests a refresh without grant type".into(),
                    status: StepStatus::Passed,
                    error: None,
                    duration_ms: 2,
                },
                StepReport {
                    keyword: "Then".into(),
                    text: "the response status is 401".into(),
                    status: StepStatus::Passed,
                    error: None,
                    duration_ms: 0,
                },
                StepReport {
                    keyword: "And".into(),
                    text: "the error is \"invalid_request\"".into(),
                    status: StepStatus::Passed,
                    error: None,
                    duration_ms: 0,
                },
            ],
            exchanges: vec![ExchangeReport {
                request: RequestRecord {
                    method: "POST".into(),
                    url: "http://127.0.0.1:1/oauth/token".into(),
                    form: vec![
                        ("client_id".into(), "abc".into()),
                        ("refresh_token".into(), "[redacted]".into()),
                    ],
                    basic_auth: None,
                },
                response: Some(ResponseRecord {
                    status: 401,
                    headers: vec![("cache-control".into(), "no-store".into())],
                    body: r#"{"error":"invalid_request","error_description":"<x> & \"y\""}"#.into(),
                }),
                fault: None,
                elapsed_ms: 2,
                attempts: 1,
            }],
            checks: vec![CheckOutcome::new(
                CheckKind::Scenario,
                "status is 401",
                vec![],
            )],
            since_accepted: vec![],
            notes: vec![],
            documented: DocumentedAnswer {
                status: Some(401),
                error: Some("invalid_request".into()),
            },
        }
    }

    pub fn drifted_scenario(name: &str, class: DriftClass, path: &str) -> ScenarioReport {
        let mut s = passed_scenario(name);
        s.verdict = Verdict::Drifted;
        let mut check = CheckOutcome::new(
            CheckKind::Scenario,
            "a check",
            vec![Drift::new(
                class,
                path.parse().unwrap_or_else(|never| match never {}),
                "\"documented\" <a>",
                "observed & b",
            )],
        );
        if class == DriftClass::SnapshotChanged {
            check.kind = CheckKind::Snapshot;
            check.diff = Some(
                "--- stored\n+++ observed\n@@ -1 +1 @@\n-  \"status\": 401\n+  \"status\": 400\n"
                    .into(),
            );
        }
        s.checks.push(check);
        s
    }

    pub fn report_with(scenarios: Vec<ScenarioReport>) -> RunReport {
        let summary = Summary::of(&scenarios);
        let (verdict, exit_code) = overall(&summary, false);
        RunReport {
            format: "payu-contract-run".into(),
            version: REPORT_VERSION,
            tool_version: "0.0.0".into(),
            target: TargetInfo {
                name: "local-test".into(),
                token_url: "http://127.0.0.1:1/oauth/token".into(),
                live: false,
                profile: Some("test".into()),
            },
            started_at: "2026-01-01T00:00:00Z".into(),
            duration_ms: 42,
            verdict,
            exit_code,
            reason: None,
            summary,
            scenarios,
            documentation_findings: documentation_findings(),
            rfc6749_notes: rfc6749_notes(),
            since_baseline: None,
            observed_baseline: None,
        }
    }
}
