//! The vocabulary of a failed check: what class of change was seen, where
//! (a JSON path or a header name), and the expected and observed values.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What changed, in the terms a QA reader uses. Stable kebab-case names: they
/// appear in the JSON report, and dashboards key on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftClass {
    StatusCodeChanged,
    ErrorCodeChanged,
    ErrorDescriptionChanged,
    FieldMissing,
    FieldAdded,
    FieldTypeChanged,
    FieldFormatChanged,
    FieldValueChanged,
    HeaderChanged,
    HeaderMissing,
    RotationChanged,
    BodyNotJson,
    SnapshotChanged,
}

impl DriftClass {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftClass::StatusCodeChanged => "status-code-changed",
            DriftClass::ErrorCodeChanged => "error-code-changed",
            DriftClass::ErrorDescriptionChanged => "error-description-changed",
            DriftClass::FieldMissing => "field-missing",
            DriftClass::FieldAdded => "field-added",
            DriftClass::FieldTypeChanged => "field-type-changed",
            DriftClass::FieldFormatChanged => "field-format-changed",
            DriftClass::FieldValueChanged => "field-value-changed",
            DriftClass::HeaderChanged => "header-changed",
            DriftClass::HeaderMissing => "header-missing",
            DriftClass::RotationChanged => "rotation-changed",
            DriftClass::BodyNotJson => "body-not-json",
            DriftClass::SnapshotChanged => "snapshot-changed",
        }
    }
}

impl fmt::Display for DriftClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One observed difference from the contract. Values are already redacted:
/// a drift is report material.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub class: DriftClass,
    /// A JSON pointer into the body (`/expires_in`), `status`, or
    /// `header:<name>`.
    pub path: String,
    pub expected: String,
    pub observed: String,
}

impl Drift {
    pub fn new(
        class: DriftClass,
        path: impl Into<String>,
        expected: impl Into<String>,
        observed: impl Into<String>,
    ) -> Self {
        Drift {
            class,
            path: path.into(),
            expected: expected.into(),
            observed: observed.into(),
        }
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at {}: expected {}, observed {}",
            self.class, self.path, self.expected, self.observed
        )
    }
}

/// Which of the three checks produced an outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckKind {
    Scenario,
    Schema,
    Snapshot,
}

/// The result of one check on one response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckOutcome {
    pub kind: CheckKind,
    /// What was checked, in the scenario's words (`status is 401`,
    /// `schema token`, `snapshot without-grant-type`).
    pub name: String,
    pub drifts: Vec<Drift>,
    /// For snapshots: a unified diff of the stored and observed snapshot.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub diff: Option<String>,
}

impl CheckOutcome {
    pub fn new(kind: CheckKind, name: impl Into<String>, drifts: Vec<Drift>) -> Self {
        CheckOutcome {
            kind,
            name: name.into(),
            drifts,
            diff: None,
        }
    }

    pub fn passed(&self) -> bool {
        self.drifts.is_empty()
    }
}
