//! The vocabulary of a failed check: what class of change was seen
//! ([`DriftClass`]), where ([`DriftPath`]: the status, a header, a JSON
//! pointer into the body, a snapshot), and the expected and observed values.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// What changed, in the terms a QA reader uses. Stable kebab-case names
/// ([`DriftClass::NAMES`], the one table): they appear in the JSON report,
/// and dashboards key on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// Every class with its report name.
    pub const NAMES: [(DriftClass, &'static str); 13] = [
        (DriftClass::StatusCodeChanged, "status-code-changed"),
        (DriftClass::ErrorCodeChanged, "error-code-changed"),
        (
            DriftClass::ErrorDescriptionChanged,
            "error-description-changed",
        ),
        (DriftClass::FieldMissing, "field-missing"),
        (DriftClass::FieldAdded, "field-added"),
        (DriftClass::FieldTypeChanged, "field-type-changed"),
        (DriftClass::FieldFormatChanged, "field-format-changed"),
        (DriftClass::FieldValueChanged, "field-value-changed"),
        (DriftClass::HeaderChanged, "header-changed"),
        (DriftClass::HeaderMissing, "header-missing"),
        (DriftClass::RotationChanged, "rotation-changed"),
        (DriftClass::BodyNotJson, "body-not-json"),
        (DriftClass::SnapshotChanged, "snapshot-changed"),
    ];

    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(c, _)| *c == self)
            .map_or("unknown", |(_, n)| n)
    }
}

impl FromStr for DriftClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(c, _)| *c)
            .ok_or_else(|| format!("unknown drift class {s:?}"))
    }
}

impl Serialize for DriftClass {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for DriftClass {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Where a drift was seen.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DriftPath {
    /// The HTTP status code.
    Status,
    /// The body as a whole (not JSON, not an object).
    Body,
    /// A response header, by its name as the check spelled it.
    Header(String),
    /// A JSON pointer into the body (`/expires_in`; `/` is the root).
    Field(String),
    /// A stored snapshot file.
    Snapshot(String),
}

impl DriftPath {
    pub fn header(name: &str) -> DriftPath {
        DriftPath::Header(name.to_owned())
    }

    /// A JSON pointer; an empty one is the root, `/`.
    pub fn field(pointer: &str) -> DriftPath {
        if pointer.is_empty() {
            DriftPath::Field("/".into())
        } else {
            DriftPath::Field(pointer.to_owned())
        }
    }

    /// The top-level body key a field path names (`/a/b` names `b`).
    pub fn last_key(&self) -> Option<&str> {
        match self {
            DriftPath::Field(p) => p.rsplit('/').next().filter(|k| !k.is_empty()),
            _ => None,
        }
    }
}

/// The text form, as reports show it and the JSON report stores it:
/// `status`, `body`, `header:<name>`, a JSON pointer, a snapshot path.
impl fmt::Display for DriftPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriftPath::Status => f.write_str("status"),
            DriftPath::Body => f.write_str("body"),
            DriftPath::Header(name) => write!(f, "header:{name}"),
            DriftPath::Field(p) | DriftPath::Snapshot(p) => f.write_str(p),
        }
    }
}

/// The one parse of the text form (reading an earlier JSON report).
impl FromStr for DriftPath {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "status" => DriftPath::Status,
            "body" => DriftPath::Body,
            _ => match s.strip_prefix("header:") {
                Some(name) => DriftPath::header(name),
                None if s.starts_with('/') && !s.ends_with(".snap") => DriftPath::field(s),
                None => DriftPath::Snapshot(s.to_owned()),
            },
        })
    }
}

impl Serialize for DriftPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DriftPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(text.parse().unwrap_or_else(|never| match never {}))
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
    pub path: DriftPath,
    pub expected: String,
    pub observed: String,
}

impl Drift {
    pub fn new(
        class: DriftClass,
        path: DriftPath,
        expected: impl Into<String>,
        observed: impl Into<String>,
    ) -> Self {
        Drift {
            class,
            path,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_are_one_table_and_round_trip() {
        for (class, name) in DriftClass::NAMES {
            assert_eq!(class.as_str(), name);
            assert_eq!(serde_json::to_value(class).unwrap(), name);
            assert_eq!(
                serde_json::from_value::<DriftClass>(name.into()).unwrap(),
                class
            );
        }
        assert!(serde_json::from_value::<DriftClass>("nope".into()).is_err());
    }

    #[test]
    fn paths_round_trip_through_their_text_form() {
        for p in [
            DriftPath::Status,
            DriftPath::Body,
            DriftPath::header("WWW-Authenticate"),
            DriftPath::field("/expires_in"),
            DriftPath::field(""),
            DriftPath::Snapshot("snapshots/documented/x.snap".into()),
            DriftPath::Snapshot("/abs/snapshots/x.snap".into()),
        ] {
            let json = serde_json::to_value(&p).unwrap();
            assert_eq!(json, p.to_string());
            assert_eq!(serde_json::from_value::<DriftPath>(json).unwrap(), p);
        }
        assert_eq!(DriftPath::field("/a/b").last_key(), Some("b"));
        assert_eq!(DriftPath::Status.last_key(), None);
    }
}
