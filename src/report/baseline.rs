//! `--baseline previous.json`: what changed between an earlier run (its
//! JSON report) and this one. Scenarios are matched by feature and name;
//! drifts by scenario, check, class and path (a snapshot drift by its file
//! name only, so that two checkouts in different folders still match).

use super::{REPORT_VERSION, RunReport, Verdict};
use crate::contract::{Drift, DriftClass, DriftPath};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// When the baseline run started, and against what.
    pub baseline_started_at: String,
    pub baseline_target: String,
    pub baseline_verdict: Verdict,
    /// Scenarios whose verdict differs (absent on one side: `None`).
    pub verdict_changes: Vec<VerdictChange>,
    /// Drifts seen now and not in the baseline.
    pub appeared: Vec<DriftChange>,
    /// Drifts of the baseline that are gone now.
    pub disappeared: Vec<DriftChange>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerdictChange {
    pub scenario: String,
    pub before: Option<Verdict>,
    pub after: Option<Verdict>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftChange {
    pub scenario: String,
    pub check: String,
    pub class: DriftClass,
    pub path: String,
    pub expected: String,
    pub observed: String,
}

impl Comparison {
    pub fn is_empty(&self) -> bool {
        self.verdict_changes.is_empty() && self.appeared.is_empty() && self.disappeared.is_empty()
    }
}

/// Reads an earlier run's JSON report. The error is one line for the user.
pub fn load(path: &Path) -> Result<RunReport, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "--baseline {} cannot be read ({e}): name an earlier run's --report-json file",
            path.display()
        )
    })?;
    let report: RunReport = serde_json::from_str(&text).map_err(|e| {
        format!(
            "--baseline {} is not a payu-contract JSON report ({e})",
            path.display()
        )
    })?;
    if report.format != "payu-contract-run" || report.version != REPORT_VERSION {
        return Err(format!(
            "--baseline {} is a \"{}\" report of version {}; this tool reads \"payu-contract-run\" version {REPORT_VERSION}",
            path.display(),
            report.format,
            report.version
        ));
    }
    Ok(report)
}

fn drifts(r: &RunReport) -> Vec<DriftChange> {
    let mut out = Vec::new();
    for s in &r.scenarios {
        for c in &s.checks {
            for d in &c.drifts {
                out.push(change(s.id(), &c.name, d));
            }
        }
    }
    out
}

fn change(scenario: String, check: &str, d: &Drift) -> DriftChange {
    // A snapshot is named by its file: the folder differs between machines.
    let path = match &d.path {
        DriftPath::Snapshot(p) => Path::new(p)
            .file_name()
            .map_or_else(|| p.clone(), |f| f.to_string_lossy().into_owned()),
        other => other.to_string(),
    };
    DriftChange {
        scenario,
        check: check.to_owned(),
        class: d.class,
        path,
        expected: d.expected.clone(),
        observed: d.observed.clone(),
    }
}

fn same(a: &DriftChange, b: &DriftChange) -> bool {
    a.scenario == b.scenario && a.check == b.check && a.class == b.class && a.path == b.path
}

pub fn compare(before: &RunReport, after: &RunReport) -> Comparison {
    let mut verdict_changes = Vec::new();
    for s in &after.scenarios {
        let old = before.scenarios.iter().find(|b| b.id() == s.id());
        if old.map(|o| o.verdict) != Some(s.verdict) {
            verdict_changes.push(VerdictChange {
                scenario: s.id(),
                before: old.map(|o| o.verdict),
                after: Some(s.verdict),
            });
        }
    }
    for b in &before.scenarios {
        if !after.scenarios.iter().any(|s| s.id() == b.id()) {
            verdict_changes.push(VerdictChange {
                scenario: b.id(),
                before: Some(b.verdict),
                after: None,
            });
        }
    }
    let (old, new) = (drifts(before), drifts(after));
    Comparison {
        baseline_started_at: before.started_at.clone(),
        baseline_target: before.target.name.clone(),
        baseline_verdict: before.verdict,
        verdict_changes,
        appeared: new
            .iter()
            .filter(|n| !old.iter().any(|o| same(o, n)))
            .cloned()
            .collect(),
        disappeared: old
            .iter()
            .filter(|o| !new.iter().any(|n| same(o, n)))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests_support::{drifted_scenario, passed_scenario, report_with};

    #[test]
    fn lists_verdict_changes_and_drifts_that_come_and_go() {
        let before = report_with(vec![
            passed_scenario("a"),
            drifted_scenario("b", DriftClass::FieldMissing, "/expires_in"),
        ]);
        let after = report_with(vec![
            drifted_scenario("a", DriftClass::StatusCodeChanged, "status"),
            passed_scenario("b"),
            passed_scenario("c"),
        ]);
        let cmp = compare(&before, &after);
        assert_eq!(cmp.verdict_changes.len(), 3, "{cmp:?}");
        assert_eq!(cmp.appeared.len(), 1);
        assert_eq!(cmp.appeared[0].class, DriftClass::StatusCodeChanged);
        assert_eq!(cmp.disappeared.len(), 1);
        assert_eq!(cmp.disappeared[0].path, "/expires_in");
        assert!(compare(&after, &after).is_empty());
    }

    #[test]
    fn snapshot_drifts_match_by_file_name() {
        let a = report_with(vec![drifted_scenario(
            "a",
            DriftClass::SnapshotChanged,
            "/one/checkout/snapshots/documented/a.snap",
        )]);
        let b = report_with(vec![drifted_scenario(
            "a",
            DriftClass::SnapshotChanged,
            "/other/checkout/snapshots/documented/a.snap",
        )]);
        assert!(compare(&a, &b).is_empty());
    }
}
