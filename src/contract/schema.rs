//! JSON Schema checks. Schemas (draft 2020-12) live in `features/schemas/`,
//! are compiled once per run, and every violation becomes a [`Drift`] with
//! the JSON pointer of the offending value.

use super::drift::{Drift, DriftClass, DriftPath};
use crate::redact;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "cannot read schema folder {path}: {source}; pass --features DIR naming a folder with schemas/"
    )]
    Folder {
        path: String,
        source: std::io::Error,
    },
    #[error("schema {path} is not valid JSON: {message}")]
    Json { path: String, message: String },
    #[error("schema {path} is not a valid draft 2020-12 schema: {message}")]
    Invalid { path: String, message: String },
    #[error("no schema named \"{0}\" in features/schemas/")]
    Unknown(String),
}

/// Every schema of the suite, by file stem (`token`, `error`).
pub struct Schemas {
    validators: BTreeMap<String, jsonschema::Validator>,
}

impl Schemas {
    pub fn load(dir: &Path) -> Result<Schemas, SchemaError> {
        let entries = std::fs::read_dir(dir).map_err(|source| SchemaError::Folder {
            path: dir.display().to_string(),
            source,
        })?;
        let mut validators = BTreeMap::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|source| SchemaError::Folder {
                path: shown.clone(),
                source,
            })?;
            let schema: Value = serde_json::from_str(&text).map_err(|e| SchemaError::Json {
                path: shown.clone(),
                message: e.to_string(),
            })?;
            let validator =
                jsonschema::draft202012::new(&schema).map_err(|e| SchemaError::Invalid {
                    path: shown.clone(),
                    message: e.to_string(),
                })?;
            let stem = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            validators.insert(stem, validator);
        }
        Ok(Schemas { validators })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.validators.keys().map(String::as_str)
    }

    /// Validates `body` against the named schema; each violation is a drift.
    pub fn check(&self, name: &str, body: &Value) -> Result<Vec<Drift>, SchemaError> {
        let validator = self
            .validators
            .get(name)
            .ok_or_else(|| SchemaError::Unknown(name.to_owned()))?;
        Ok(validator
            .iter_errors(body)
            .flat_map(|e| to_drifts(&e))
            .collect())
    }
}

fn to_drifts(error: &jsonschema::ValidationError<'_>) -> Vec<Drift> {
    let at = error.instance_path().to_string();
    let field = at.rsplit('/').next().unwrap_or_default().to_owned();
    let observed = redact::describe(&field, error.instance());
    let one = |class, expected: String| {
        vec![Drift::new(
            class,
            DriftPath::field(&at),
            expected,
            observed.clone(),
        )]
    };
    match error.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            vec![Drift::new(
                DriftClass::FieldMissing,
                DriftPath::field(&format!("{at}/{name}")),
                format!("field \"{name}\" present"),
                "absent",
            )]
        }
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => unexpected
            .iter()
            .map(|name| {
                let value = error.instance().get(name).cloned().unwrap_or(Value::Null);
                Drift::new(
                    DriftClass::FieldAdded,
                    DriftPath::field(&format!("{at}/{name}")),
                    "no such field",
                    redact::describe(name, &value),
                )
            })
            .collect(),
        ValidationErrorKind::Type { kind } => one(
            DriftClass::FieldTypeChanged,
            format!("type {}", type_name(kind)),
        ),
        ValidationErrorKind::Constant { expected_value } => {
            one(DriftClass::FieldValueChanged, expected_value.to_string())
        }
        ValidationErrorKind::Enum { options } => {
            one(DriftClass::FieldValueChanged, format!("one of {options}"))
        }
        ValidationErrorKind::Pattern { pattern } => {
            one(DriftClass::FieldFormatChanged, format!("matches {pattern}"))
        }
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => {
            one(DriftClass::FieldFormatChanged, format!(">= {limit}"))
        }
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => {
            one(DriftClass::FieldFormatChanged, format!("<= {limit}"))
        }
        _ => one(DriftClass::FieldFormatChanged, error.masked().to_string()),
    }
}

fn type_name(kind: &jsonschema::error::TypeKind) -> String {
    match kind {
        jsonschema::error::TypeKind::Single(t) => t.to_string(),
        jsonschema::error::TypeKind::Multiple(ts) => format!("{ts:?}"),
    }
}
