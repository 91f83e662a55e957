//! The drift-detection matrix: what the suite must say about each profile of
//! the double, and how an observed run is judged against that.
//!
//! The double's profiles are deliberate drifts of the documented server
//! (`double/src/profile.rs`); the double itself never knows what the harness
//! expects of them. The expectations live here, in ONE table,
//! [`expectations`]: for each profile the verdict the suite must reach and,
//! for a drift, the drift classes (and where useful the scenario and the
//! path) that must appear in the run report. A profile of the double that is
//! missing from the table, or a table row naming no profile, is an error, so
//! a new mutant cannot be silently ignored.
//!
//! Running the suite is the binary's business (`payu-contract mutants` runs
//! `payu-contract run --profile NAME` once per profile, concurrently); this
//! module only plans, judges and renders, from [`RunReport`]s.

use crate::contract::DriftClass;
use crate::report::{RunReport, Verdict};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

/// The verdict a correct suite reaches on a profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// Not a contract change: every scenario passes (a false alarm otherwise).
    Pass,
    /// A contract change: the run drifts, and every listed drift shows up.
    Drift(Vec<MustSee>),
    /// Not a contract answer at all (an infrastructure fault): no verdict.
    NoVerdict,
}

impl Expected {
    pub fn label(&self) -> &'static str {
        match self {
            Expected::Pass => "pass",
            Expected::Drift(_) => "drift",
            Expected::NoVerdict => "no-verdict",
        }
    }
}

/// One drift the run report must contain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MustSee {
    pub class: DriftClass,
    /// The drift's path (`/scope`, `status`, `header:Pragma`); any when None.
    pub path: Option<&'static str>,
    /// The scenario (by name) that must report it; any when None.
    pub scenario: Option<&'static str>,
}

impl MustSee {
    fn describe(&self) -> String {
        let mut s = self.class.as_str().to_owned();
        if let Some(p) = self.path {
            let _ = write!(s, " at {p}");
        }
        if let Some(sc) = self.scenario {
            let _ = write!(s, " in \"{sc}\"");
        }
        s
    }
}

/// One row of the expectation table.
#[derive(Clone, Debug)]
pub struct Expectation {
    pub profile: &'static str,
    pub expected: Expected,
    /// The profile answers slowly: start it first so it overlaps the others.
    pub slow: bool,
    /// Text that must appear in a scenario's notes (a reported non-drift).
    pub note: Option<&'static str>,
}

fn drift(profile: &'static str, must: Vec<MustSee>) -> Expectation {
    Expectation {
        profile,
        expected: Expected::Drift(must),
        slow: false,
        note: None,
    }
}

fn pass(profile: &'static str) -> Expectation {
    Expectation {
        profile,
        expected: Expected::Pass,
        slow: false,
        note: None,
    }
}

/// `class` at `path` anywhere in the run.
fn at(class: DriftClass, path: &'static str) -> MustSee {
    MustSee {
        class,
        path: Some(path),
        scenario: None,
    }
}

/// `class` at `path` in the named scenario.
fn in_scenario(scenario: &'static str, class: DriftClass, path: &'static str) -> MustSee {
    MustSee {
        class,
        path: Some(path),
        scenario: Some(scenario),
    }
}

// Scenario names, as the feature files spell them.
const WITHOUT_GRANT_TYPE: &str = "Refresh without grant type";
const WITHOUT_REFRESH_TOKEN: &str = "Refresh without refresh token";
const INVALID_CLIENT: &str = "Refresh with invalid client";
const INVALID_GRANT_TYPE: &str = "Refresh with invalid grant type";
const INVALID_REFRESH_TOKEN: &str = "Refresh invalid refresh token";
const ALL_PARAMETERS: &str = "Refresh with client id, client secret and refresh token";
const WITHOUT_SECRET: &str = "Refresh without client secret";
const ROTATION: &str =
    "The rotated refresh token works, and what becomes of the used one is observed";
const BASIC_AUTH: &str = "Refresh with HTTP Basic client authentication";
const CONFIDENTIAL_NO_SECRET: &str = "A confidential client without its secret is refused";
const WIDER_SCOPE: &str = "A scope wider than the one granted is refused";

/// What every Doorkeeper 5.2+ profile must show: 400 for the documented
/// 401s (5.1.0, #1202) and the missing-parameter texts (5.2.0).
fn doorkeeper_5_x() -> Vec<MustSee> {
    use DriftClass::{ErrorDescriptionChanged, StatusCodeChanged};
    vec![
        in_scenario(WITHOUT_GRANT_TYPE, StatusCodeChanged, "status"),
        in_scenario(INVALID_REFRESH_TOKEN, StatusCodeChanged, "status"),
        in_scenario(INVALID_GRANT_TYPE, StatusCodeChanged, "status"),
        in_scenario(
            WITHOUT_REFRESH_TOKEN,
            ErrorDescriptionChanged,
            "/error_description",
        ),
        in_scenario(
            WITHOUT_GRANT_TYPE,
            ErrorDescriptionChanged,
            "/error_description",
        ),
        // The same new text inside WWW-Authenticate.
        in_scenario(
            WITHOUT_GRANT_TYPE,
            ErrorDescriptionChanged,
            "header:WWW-Authenticate/error_description",
        ),
    ]
}

/// THE table: every profile of the double, and what the suite must say.
pub fn expectations() -> Vec<Expectation> {
    use DriftClass::{
        BodyNotJson, ErrorCodeChanged, ErrorDescriptionChanged, FieldAdded, FieldFormatChanged,
        FieldMissing, FieldTypeChanged, FieldValueChanged, HeaderChanged, HeaderMissing,
        RotationChanged, StatusCodeChanged,
    };
    vec![
        pass("documented"),
        // Real Doorkeeper 5.5 (the profile the differential test verifies)
        // and 5.2, which differs from it only in the password grant: the
        // true drift classes of the upgrade, and no header drift.
        drift("doorkeeper-5.5", doorkeeper_5_x()),
        drift("doorkeeper-5.2", doorkeeper_5_x()),
        drift(
            "doorkeeper-5.6.6",
            vec![
                in_scenario(WITHOUT_GRANT_TYPE, StatusCodeChanged, "status"),
                in_scenario(INVALID_REFRESH_TOKEN, StatusCodeChanged, "status"),
                in_scenario(INVALID_GRANT_TYPE, StatusCodeChanged, "status"),
                in_scenario(
                    WITHOUT_REFRESH_TOKEN,
                    ErrorDescriptionChanged,
                    "/error_description",
                ),
                in_scenario(
                    WITHOUT_GRANT_TYPE,
                    ErrorDescriptionChanged,
                    "/error_description",
                ),
                in_scenario(ALL_PARAMETERS, HeaderChanged, "header:Cache-Control"),
                in_scenario(ALL_PARAMETERS, HeaderMissing, "header:Pragma"),
            ],
        ),
        drift(
            "rfc6749",
            vec![
                in_scenario(WITHOUT_GRANT_TYPE, StatusCodeChanged, "status"),
                in_scenario(INVALID_REFRESH_TOKEN, StatusCodeChanged, "status"),
                in_scenario(INVALID_GRANT_TYPE, StatusCodeChanged, "status"),
                in_scenario(WITHOUT_GRANT_TYPE, HeaderMissing, "header:WWW-Authenticate"),
                in_scenario(ROTATION, StatusCodeChanged, "status"),
                in_scenario(ROTATION, HeaderMissing, "header:WWW-Authenticate"),
            ],
        ),
        drift(
            "expire-in-renamed",
            vec![
                in_scenario(ALL_PARAMETERS, FieldMissing, "/expires_in"),
                in_scenario(ALL_PARAMETERS, FieldAdded, "/expire_in"),
            ],
        ),
        drift(
            "created-at-millis",
            vec![in_scenario(
                ALL_PARAMETERS,
                FieldFormatChanged,
                "/created_at",
            )],
        ),
        drift(
            "token-type-lowercase",
            vec![in_scenario(
                ALL_PARAMETERS,
                FieldValueChanged,
                "/token_type",
            )],
        ),
        drift(
            "scope-missing",
            vec![in_scenario(ALL_PARAMETERS, FieldMissing, "/scope")],
        ),
        drift(
            "extra-field",
            vec![in_scenario(ALL_PARAMETERS, FieldAdded, "/id_token")],
        ),
        drift(
            "tokens-not-hex",
            vec![
                in_scenario(ALL_PARAMETERS, FieldFormatChanged, "/access_token"),
                in_scenario(ALL_PARAMETERS, FieldFormatChanged, "/refresh_token"),
            ],
        ),
        drift(
            "uuid-rfc4122",
            vec![in_scenario(
                ALL_PARAMETERS,
                FieldFormatChanged,
                "/user_uuid",
            )],
        ),
        drift(
            "description-reworded",
            vec![in_scenario(
                INVALID_CLIENT,
                ErrorDescriptionChanged,
                "/error_description",
            )],
        ),
        drift(
            "invalid-grant-as-invalid-request",
            vec![
                in_scenario(INVALID_REFRESH_TOKEN, ErrorCodeChanged, "/error"),
                in_scenario(ROTATION, ErrorCodeChanged, "/error"),
            ],
        ),
        drift(
            "no-rotation",
            vec![
                in_scenario(ALL_PARAMETERS, RotationChanged, "/refresh_token"),
                in_scenario(ROTATION, RotationChanged, "status"),
            ],
        ),
        drift(
            "old-token-still-accepted",
            vec![in_scenario(ROTATION, RotationChanged, "status")],
        ),
        drift(
            "public-client-needs-secret",
            vec![in_scenario(WITHOUT_SECRET, StatusCodeChanged, "status")],
        ),
        drift(
            "basic-auth-ignored",
            vec![in_scenario(BASIC_AUTH, StatusCodeChanged, "status")],
        ),
        drift(
            "confidential-secret-optional",
            vec![in_scenario(
                CONFIDENTIAL_NO_SECRET,
                StatusCodeChanged,
                "status",
            )],
        ),
        drift(
            "scope-not-checked",
            vec![in_scenario(WIDER_SCOPE, StatusCodeChanged, "status")],
        ),
        drift(
            "no-cache-control",
            vec![
                in_scenario(ALL_PARAMETERS, HeaderMissing, "header:Cache-Control"),
                in_scenario(INVALID_REFRESH_TOKEN, HeaderMissing, "header:Cache-Control"),
            ],
        ),
        drift(
            "no-pragma",
            vec![
                in_scenario(ALL_PARAMETERS, HeaderMissing, "header:Pragma"),
                in_scenario(INVALID_REFRESH_TOKEN, HeaderMissing, "header:Pragma"),
            ],
        ),
        drift(
            "content-type-no-charset",
            vec![
                in_scenario(ALL_PARAMETERS, HeaderChanged, "header:Content-Type"),
                in_scenario(INVALID_REFRESH_TOKEN, HeaderChanged, "header:Content-Type"),
            ],
        ),
        drift(
            "content-type-html",
            vec![
                in_scenario(ALL_PARAMETERS, HeaderChanged, "header:Content-Type"),
                in_scenario(INVALID_REFRESH_TOKEN, HeaderChanged, "header:Content-Type"),
            ],
        ),
        Expectation {
            profile: "html-502",
            expected: Expected::NoVerdict,
            slow: false,
            note: None,
        },
        // RFC 6749 §5.1: key order carries no meaning; a reorder is a note.
        Expectation {
            note: Some("keys arrive in the order"),
            ..pass("keys-reordered")
        },
        Expectation {
            slow: true,
            ..pass("slow")
        },
        // Rails' rule (measured on real Doorkeeper 5.5): the suite sends the
        // documented Content-Type, so a server that parses nothing without
        // one must not be called drift.
        pass("form-unparsed-without-content-type"),
        drift(
            "invalid-request-400",
            vec![
                in_scenario(WITHOUT_GRANT_TYPE, StatusCodeChanged, "status"),
                in_scenario(WITHOUT_REFRESH_TOKEN, StatusCodeChanged, "status"),
            ],
        ),
        drift(
            "no-www-authenticate",
            vec![
                in_scenario(INVALID_CLIENT, HeaderMissing, "header:WWW-Authenticate"),
                in_scenario(ROTATION, HeaderMissing, "header:WWW-Authenticate"),
            ],
        ),
        drift(
            "expires-in-string",
            vec![in_scenario(ALL_PARAMETERS, FieldTypeChanged, "/expires_in")],
        ),
        drift(
            "missing-grant-type-unsupported",
            vec![in_scenario(WITHOUT_GRANT_TYPE, ErrorCodeChanged, "/error")],
        ),
        drift(
            "error-description-missing",
            vec![
                in_scenario(INVALID_CLIENT, FieldMissing, "/error_description"),
                in_scenario(ROTATION, FieldMissing, "/error_description"),
            ],
        ),
        drift(
            "body-form-encoded",
            vec![
                in_scenario(ALL_PARAMETERS, BodyNotJson, "body"),
                in_scenario(ALL_PARAMETERS, HeaderChanged, "header:Content-Type"),
            ],
        ),
        drift(
            "expires-in-zero",
            vec![at(FieldFormatChanged, "/expires_in")],
        ),
    ]
}

/// The table does not cover exactly the double's profiles.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error(
        "profile(s) of the double with no expectation in src/mutants.rs: {0}. Add a row saying what the suite must report for each"
    )]
    Unlisted(String),
    #[error(
        "expectation(s) in src/mutants.rs for profile(s) the double does not have: {0}. Remove the row or fix its name"
    )]
    Stale(String),
    #[error("profile(s) listed twice in src/mutants.rs: {0}")]
    Duplicate(String),
}

/// The expectations for exactly these profiles (the double's), in the
/// order to start them: slow ones first, then the double's own order.
pub fn plan(profiles: &[&str]) -> Result<Vec<Expectation>, PlanError> {
    let table = expectations();
    let mut seen = BTreeSet::new();
    let dup: Vec<&str> = table
        .iter()
        .filter(|e| !seen.insert(e.profile))
        .map(|e| e.profile)
        .collect();
    if !dup.is_empty() {
        return Err(PlanError::Duplicate(dup.join(", ")));
    }
    let unlisted: Vec<&str> = profiles
        .iter()
        .copied()
        .filter(|p| !table.iter().any(|e| e.profile == *p))
        .collect();
    if !unlisted.is_empty() {
        return Err(PlanError::Unlisted(unlisted.join(", ")));
    }
    let stale: Vec<&str> = table
        .iter()
        .map(|e| e.profile)
        .filter(|e| !profiles.contains(e))
        .collect();
    if !stale.is_empty() {
        return Err(PlanError::Stale(stale.join(", ")));
    }
    let mut planned: Vec<Expectation> = profiles
        .iter()
        .filter_map(|p| table.iter().find(|e| e.profile == *p).cloned())
        .collect();
    planned.sort_by_key(|e| !e.slow);
    Ok(planned)
}

/// How one profile came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A drifting profile reported as drift with every expected class.
    Caught,
    /// A drifting profile reported as drift, but without an expected class.
    WrongClass,
    /// A drifting (or faulty) profile that the suite let pass.
    Missed,
    /// A non-drift profile that passed.
    Passed,
    /// A non-drift profile that passed without the note it must carry.
    NoteMissing,
    /// A non-drift profile reported as drift (or with no verdict).
    FalseAlarm,
    /// A faulty profile that got no verdict, as it should.
    NoVerdict,
    /// Some other verdict than expected, or the run gave no report.
    Wrong,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Caught => "caught",
            Outcome::WrongClass => "MISSED (class)",
            Outcome::Missed => "MISSED",
            Outcome::Passed => "ok",
            Outcome::NoteMissing => "MISSED (note)",
            Outcome::FalseAlarm => "FALSE ALARM",
            Outcome::NoVerdict => "ok (no verdict)",
            Outcome::Wrong => "WRONG",
        }
    }

    /// Whether the suite did what the table says.
    pub fn as_expected(self) -> bool {
        matches!(self, Outcome::Caught | Outcome::Passed | Outcome::NoVerdict)
    }
}

/// One line of the matrix.
#[derive(Clone, Debug)]
pub struct Row {
    pub profile: String,
    pub expected: Expected,
    /// passed / drifted / no-verdict, or `error` when the run left no report.
    pub observed: String,
    pub scenarios_failed: usize,
    pub scenarios_total: usize,
    /// Every drift class seen in the run (snapshot changes included).
    pub classes: Vec<DriftClass>,
    pub outcome: Outcome,
    /// Why the outcome is not what the table says (missing classes, errors).
    pub detail: Option<String>,
    pub duration: Duration,
}

/// The drift classes (with path and scenario) a report contains.
fn seen(report: &RunReport) -> Vec<(&str, DriftClass, &crate::contract::DriftPath)> {
    report
        .scenarios
        .iter()
        .flat_map(|s| {
            s.checks.iter().flat_map(move |c| {
                c.drifts
                    .iter()
                    .map(move |d| (s.name.as_str(), d.class, &d.path))
            })
        })
        .collect()
}

/// Judges one run (its JSON report, or why there is none) against its row.
pub fn judge(
    expectation: &Expectation,
    report: Result<&RunReport, String>,
    duration: Duration,
) -> Row {
    let mut row = Row {
        profile: expectation.profile.to_owned(),
        expected: expectation.expected.clone(),
        observed: "error".into(),
        scenarios_failed: 0,
        scenarios_total: 0,
        classes: vec![],
        outcome: Outcome::Wrong,
        detail: None,
        duration,
    };
    let report = match report {
        Ok(r) => r,
        Err(why) => {
            row.detail = Some(why);
            return row;
        }
    };
    row.observed = match report.verdict {
        Verdict::Passed => "pass",
        Verdict::Drifted => "drift",
        Verdict::NoVerdict => "no-verdict",
        Verdict::Skipped => "skipped",
    }
    .into();
    row.scenarios_total = report.summary.total;
    row.scenarios_failed = report.summary.drifted + report.summary.no_verdict;
    let drifts = seen(report);
    let mut classes: Vec<DriftClass> = drifts.iter().map(|(_, c, _)| *c).collect();
    classes.sort();
    classes.dedup();
    row.classes = classes;
    if report.target.profile.as_deref() != Some(expectation.profile) {
        row.detail = Some(format!(
            "the report is for profile {:?}, not {}",
            report.target.profile, expectation.profile
        ));
        return row;
    }
    (row.outcome, row.detail) = match (&expectation.expected, report.verdict) {
        (Expected::Pass, Verdict::Passed) => match expectation.note {
            Some(note)
                if !report
                    .scenarios
                    .iter()
                    .any(|s| s.notes.iter().any(|n| n.contains(note))) =>
            {
                (
                    Outcome::NoteMissing,
                    Some(format!("no scenario noted \"{note}...\"")),
                )
            }
            _ => (Outcome::Passed, None),
        },
        (Expected::Pass, _) => (
            Outcome::FalseAlarm,
            Some(failing_scenarios(report).join("; ")),
        ),
        (Expected::NoVerdict, Verdict::NoVerdict) => (Outcome::NoVerdict, None),
        (Expected::NoVerdict, Verdict::Passed) => (
            Outcome::Missed,
            Some("an infrastructure fault passed as a contract answer".into()),
        ),
        (Expected::NoVerdict, _) => (
            Outcome::Wrong,
            Some("an infrastructure fault was reported as drift, not as no verdict".into()),
        ),
        (Expected::Drift(_), Verdict::Passed) => (
            Outcome::Missed,
            Some("every scenario passed against a drifted server".into()),
        ),
        (Expected::Drift(must), Verdict::Drifted) => {
            let missing: Vec<String> = must
                .iter()
                .filter(|m| {
                    !drifts.iter().any(|(sc, class, path)| {
                        *class == m.class
                            && m.path.is_none_or(|p| path.to_string() == p)
                            && m.scenario.is_none_or(|s| s == *sc)
                    })
                })
                .map(MustSee::describe)
                .collect();
            if missing.is_empty() {
                (Outcome::Caught, None)
            } else {
                (
                    Outcome::WrongClass,
                    Some(format!("not reported: {}", missing.join("; "))),
                )
            }
        }
        (Expected::Drift(_), _) => (
            Outcome::Wrong,
            Some(format!(
                "no verdict instead of drift: {}",
                report
                    .reason
                    .clone()
                    .unwrap_or_else(|| failing_scenarios(report).join("; "))
            )),
        ),
    };
    row
}

fn failing_scenarios(report: &RunReport) -> Vec<String> {
    report
        .scenarios
        .iter()
        .filter(|s| !matches!(s.verdict, Verdict::Passed | Verdict::Skipped))
        .map(|s| {
            let classes: Vec<&str> = s.drift_classes().iter().map(|c| c.as_str()).collect();
            format!(
                "{} ({}{})",
                s.name,
                s.verdict.as_str(),
                if classes.is_empty() {
                    s.reason
                        .clone()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                } else {
                    format!(": {}", classes.join(", "))
                }
            )
        })
        .collect()
}

/// The whole matrix.
#[derive(Clone, Debug)]
pub struct Matrix {
    pub rows: Vec<Row>,
    pub wall_time: Duration,
    pub jobs: usize,
}

/// Killed over total, and false alarms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Score {
    /// Profiles that must not pass (drift or no verdict) and did what the table says.
    pub killed: usize,
    /// Profiles that must not pass.
    pub mutants: usize,
    /// Drift profiles caught with every expected class.
    pub caught: usize,
    pub drifting: usize,
    /// Profiles that must pass and did not.
    pub false_alarms: usize,
    pub faithful: usize,
}

impl Matrix {
    pub fn score(&self) -> Score {
        let count = |f: &dyn Fn(&Row) -> bool| self.rows.iter().filter(|r| f(r)).count();
        Score {
            killed: count(&|r| r.expected != Expected::Pass && r.outcome.as_expected()),
            mutants: count(&|r| r.expected != Expected::Pass),
            caught: count(&|r| r.outcome == Outcome::Caught),
            drifting: count(&|r| matches!(r.expected, Expected::Drift(_))),
            false_alarms: count(&|r| {
                r.expected == Expected::Pass
                    && matches!(r.outcome, Outcome::FalseAlarm | Outcome::Wrong)
            }),
            faithful: count(&|r| r.expected == Expected::Pass),
        }
    }

    /// Every profile came out as the table says.
    pub fn all_as_expected(&self) -> bool {
        self.rows.iter().all(|r| r.outcome.as_expected())
    }

    /// The table as printed, with the score line at the end.
    pub fn render(&self) -> String {
        let headers = [
            "profile",
            "expected",
            "observed",
            "failed",
            "drift classes seen",
            "result",
        ];
        let cells: Vec<[String; 6]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.profile.clone(),
                    r.expected.label().to_owned(),
                    r.observed.clone(),
                    format!("{}/{}", r.scenarios_failed, r.scenarios_total),
                    if r.classes.is_empty() {
                        "-".to_owned()
                    } else {
                        r.classes
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                    r.outcome.as_str().to_owned(),
                ]
            })
            .collect();
        let mut widths = headers.map(str::len);
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cols: &[String]| {
            let mut s = String::new();
            for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
                if i + 1 == cols.len() {
                    s.push_str(c);
                } else {
                    let _ = write!(s, "{c:<w$}  ");
                }
            }
            s.trim_end().to_owned() + "\n"
        };
        let mut out = line(&headers.map(String::from));
        out.push_str(&line(&widths.map(|w| "-".repeat(w))));
        for row in &cells {
            out.push_str(&line(row));
        }
        let details: Vec<&Row> = self.rows.iter().filter(|r| r.detail.is_some()).collect();
        if !details.is_empty() {
            out.push('\n');
            for r in details {
                let _ = writeln!(
                    out,
                    "{} {}: {}",
                    r.profile,
                    r.outcome.as_str(),
                    r.detail.as_deref().unwrap_or_default()
                );
            }
        }
        let s = self.score();
        let _ = writeln!(
            out,
            "\nscore: {}/{} mutants killed ({}/{} drifts caught with the expected classes, {}/{} infrastructure faults given no verdict); {} false alarm(s) in {} non-drift profiles; {} profiles in {:.1} s, {} at once",
            s.killed,
            s.mutants,
            s.caught,
            s.drifting,
            s.killed - s.caught,
            s.mutants - s.drifting,
            s.false_alarms,
            s.faithful,
            self.rows.len(),
            self.wall_time.as_secs_f64(),
            self.jobs,
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{CheckKind, CheckOutcome, Drift};
    use crate::report::{ScenarioReport, Summary, TargetInfo};

    fn report(profile: &str, scenarios: Vec<(&str, Vec<Drift>)>) -> RunReport {
        let scenarios: Vec<ScenarioReport> = scenarios
            .into_iter()
            .map(|(name, drifts)| ScenarioReport {
                feature: "f".into(),
                name: name.into(),
                tags: vec![],
                verdict: if drifts.is_empty() {
                    Verdict::Passed
                } else {
                    Verdict::Drifted
                },
                reason: None,
                duration_ms: 0,
                steps: vec![],
                exchanges: vec![],
                checks: vec![CheckOutcome::new(CheckKind::Scenario, "c", drifts)],
                since_accepted: vec![],
                notes: vec![],
                documented: Default::default(),
            })
            .collect();
        let summary = Summary::of(&scenarios);
        let (verdict, exit_code) = crate::report::overall(&summary, false);
        RunReport {
            format: "payu-contract-run".into(),
            version: 1,
            tool_version: "0".into(),
            target: TargetInfo {
                name: "local".into(),
                token_url: "http://127.0.0.1:1/oauth/token".into(),
                live: false,
                profile: Some(profile.into()),
            },
            started_at: "now".into(),
            duration_ms: 0,
            verdict,
            exit_code,
            reason: None,
            summary,
            scenarios,
            documentation_findings: vec![],
            rfc6749_notes: vec![],
            since_baseline: None,
            observed_baseline: None,
        }
    }

    fn row_for(profile: &str) -> Expectation {
        expectations()
            .into_iter()
            .find(|e| e.profile == profile)
            .unwrap()
    }

    #[test]
    fn the_table_covers_exactly_the_doubles_profiles() {
        let names: Vec<&str> = payu_double::Profile::all()
            .iter()
            .map(payu_double::Profile::name)
            .collect();
        let planned = plan(&names).unwrap();
        assert_eq!(planned.len(), names.len());
        assert!(planned[0].slow, "slow profiles start first");
        // A new mutant with no row is an error, and so is a stale row.
        let mut more = names.clone();
        more.push("brand-new-mutant");
        assert!(matches!(plan(&more), Err(PlanError::Unlisted(m)) if m == "brand-new-mutant"));
        assert!(matches!(plan(&names[1..]), Err(PlanError::Stale(_))));
        // The four harmless profiles pass; the HTML page gives no verdict.
        let passing: Vec<&str> = planned
            .iter()
            .filter(|e| e.expected == Expected::Pass)
            .map(|e| e.profile)
            .collect();
        assert_eq!(passing.len(), 4, "{passing:?}");
        assert_eq!(row_for("html-502").expected, Expected::NoVerdict);
    }

    #[test]
    fn judging() {
        let ok = report(
            "scope-missing",
            vec![(
                ALL_PARAMETERS,
                vec![Drift::new(
                    DriftClass::FieldMissing,
                    crate::contract::DriftPath::field("/scope"),
                    "x",
                    "absent",
                )],
            )],
        );
        let row = judge(&row_for("scope-missing"), Ok(&ok), Duration::ZERO);
        assert_eq!(row.outcome, Outcome::Caught, "{:?}", row.detail);
        assert_eq!(row.scenarios_failed, 1);

        let wrong_class = report(
            "scope-missing",
            vec![(
                ALL_PARAMETERS,
                vec![Drift::new(
                    DriftClass::SnapshotChanged,
                    crate::contract::DriftPath::Snapshot("x.snap".into()),
                    "a",
                    "b",
                )],
            )],
        );
        let row = judge(&row_for("scope-missing"), Ok(&wrong_class), Duration::ZERO);
        assert_eq!(row.outcome, Outcome::WrongClass);
        assert!(row.detail.unwrap().contains("field-missing at /scope"));

        let missed = report("scope-missing", vec![(ALL_PARAMETERS, vec![])]);
        let row = judge(&row_for("scope-missing"), Ok(&missed), Duration::ZERO);
        assert_eq!(row.outcome, Outcome::Missed);

        let alarm = report(
            "keys-reordered",
            vec![(
                ALL_PARAMETERS,
                vec![Drift::new(
                    DriftClass::FieldAdded,
                    crate::contract::DriftPath::field("/x"),
                    "a",
                    "b",
                )],
            )],
        );
        let row = judge(&row_for("keys-reordered"), Ok(&alarm), Duration::ZERO);
        assert_eq!(row.outcome, Outcome::FalseAlarm);

        // keys-reordered must pass AND say so in a note.
        let mut quiet = report("keys-reordered", vec![(ALL_PARAMETERS, vec![])]);
        let silent = judge(&row_for("keys-reordered"), Ok(&quiet), Duration::ZERO);
        assert_eq!(silent.outcome, Outcome::NoteMissing);
        quiet.scenarios[0]
            .notes
            .push("keys arrive in the order b, a (documented: a, b)".into());
        let noted = judge(&row_for("keys-reordered"), Ok(&quiet), Duration::ZERO);
        assert_eq!(noted.outcome, Outcome::Passed);

        let none = judge(&row_for("documented"), Err("exit 2".into()), Duration::ZERO);
        assert_eq!(none.outcome, Outcome::Wrong);
        assert_eq!(none.observed, "error");

        let m = Matrix {
            rows: vec![row],
            wall_time: Duration::from_secs(1),
            jobs: 4,
        };
        assert!(!m.all_as_expected());
        assert_eq!(m.score().false_alarms, 1);
        assert!(m.render().contains("FALSE ALARM"));
    }
}
