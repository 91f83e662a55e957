//! Snapshot checks: each scenario's response (status, the contract-relevant
//! headers, the body) as an insta snapshot in the top-level `snapshots/`.
//!
//! All redactions live here, in [`REDACTIONS`], so every snapshot hides the
//! same dynamic values the same way. The comparison itself is done here on
//! the snapshot text (fast, and the diff goes into the report); insta is
//! called only when the stored snapshot is missing or differs, so that it
//! writes the `.snap.new` that `cargo insta review` presents (never in CI,
//! where insta only compares).

use super::drift::{CheckKind, CheckOutcome, Drift, DriftClass, DriftPath};
use crate::redact::Scrubber;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Body keys whose values change on every call, and what they become.
/// Their formats are the schema's business; the snapshot pins the rest.
pub const REDACTIONS: &[(&str, &str)] = &[
    ("access_token", "[token]"),
    ("refresh_token", "[token]"),
    ("id_token", "[token]"),
    ("expires_in", "[expires_in]"),
    ("created_at", "[created_at]"),
    ("user_uuid", "[user_uuid]"),
];

/// The response headers that belong to the contract; others (Date, Server,
/// X-Request-Id, ...) vary and are not part of it.
pub const HEADERS: &[&str] = &[
    "cache-control",
    "content-type",
    "pragma",
    "www-authenticate",
];

/// Whether a mismatch may leave a `.snap.new` for review.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotMode {
    /// Compare only, write nothing (CI, drifted doubles, `--no-snapshot-review`).
    CompareOnly,
    /// On mismatch, let insta record the new snapshot as its `INSTA_UPDATE`
    /// setting says (`.snap.new` by default outside CI).
    Review,
}

pub struct Snapshots {
    dir: PathBuf,
    mode: SnapshotMode,
    /// The observed baseline of a live target (`snapshots/<target>/`): the
    /// last accepted observation, compared besides the documented one.
    observed: Option<(PathBuf, SnapshotMode)>,
}

/// A folder name for a target's observed baseline: `uat`, or the host of
/// a URL, with anything but letters, digits, `.`, `-` and `_` replaced.
pub fn target_dir_name(target: &str) -> String {
    let name: String = target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect();
    match name.trim_matches('.') {
        "" => "target".into(),
        // Never the documented baseline's folder.
        "documented" => "documented-target".into(),
        n => n.to_owned(),
    }
}

/// The redacted, key-sorted view of one response that a snapshot stores.
pub fn view(
    status: u16,
    headers: &[(String, String)],
    body: Option<&Value>,
    raw_body: &str,
    scrubber: &Scrubber,
) -> String {
    let mut root = Map::new();
    root.insert("status".into(), Value::from(status));
    let mut hs = Map::new();
    for name in HEADERS {
        let values: Vec<&str> = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        if !values.is_empty() {
            hs.insert(
                (*name).into(),
                Value::from(scrubber.scrub(&values.join(", "))),
            );
        }
    }
    root.insert("headers".into(), Value::Object(hs));
    match body {
        Some(v) => root.insert("body".into(), redact(v)),
        None => {
            let text: String = raw_body.chars().take(2000).collect();
            root.insert("body_text".into(), Value::from(scrubber.scrub(&text)))
        }
    };
    let sorted = sort_keys(&Value::Object(root));
    serde_json::to_string_pretty(&sorted).unwrap_or_default()
}

fn redact(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let replaced = REDACTIONS
                        .iter()
                        .find(|(key, _)| key == k)
                        .map(|(_, with)| Value::from(*with));
                    (k.clone(), replaced.unwrap_or_else(|| redact(v)))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => crate::redact::redact_json(other),
    }
}

fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sort_keys(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

impl Snapshots {
    pub fn new(dir: impl Into<PathBuf>, mode: SnapshotMode) -> Snapshots {
        Snapshots {
            dir: dir.into(),
            mode,
            observed: None,
        }
    }

    /// Also compares each response with the target's observed baseline in
    /// `dir`. In [`SnapshotMode::Review`] a new or changed observation is
    /// left as `.snap.new` for `cargo insta review`: accepting one is a
    /// reviewed act, never automatic (CI compares only).
    pub fn with_observed(mut self, dir: impl Into<PathBuf>, mode: SnapshotMode) -> Snapshots {
        self.observed = Some((dir.into(), mode));
        self
    }

    pub fn observed_dir(&self) -> Option<&Path> {
        self.observed.as_ref().map(|(d, _)| d.as_path())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.snap"))
    }

    /// Compares `view` with the stored snapshot `name`.
    pub fn check(&self, name: &str, view: &str) -> CheckOutcome {
        compare(
            &self.dir,
            self.mode,
            &format!("snapshot {name}"),
            name,
            view,
        )
    }

    /// Compares `view` with the last accepted observation of the target,
    /// when there is an observed baseline (live targets).
    pub fn check_observed(&self, name: &str, view: &str) -> Option<CheckOutcome> {
        let (dir, mode) = self.observed.as_ref()?;
        Some(compare(
            dir,
            *mode,
            &format!("observed snapshot {name}"),
            name,
            view,
        ))
    }
}

fn compare(dir: &Path, mode: SnapshotMode, label: &str, name: &str, view: &str) -> CheckOutcome {
    let stored = insta::Snapshot::from_file(&dir.join(format!("{name}.snap")))
        .ok()
        .and_then(|s| s.as_text().map(|t| t.to_string()));
    let new =
        insta::internals::TextSnapshotContents::new(view.to_owned(), insta::TextSnapshotKind::File)
            .to_string();
    if stored.as_deref() == Some(new.as_str()) {
        return CheckOutcome::new(CheckKind::Snapshot, label, vec![]);
    }
    if mode == SnapshotMode::Review {
        record_with_insta(dir, name, view);
    }
    let (drift, diff) = match &stored {
        None => (
            Drift::new(
                DriftClass::SnapshotChanged,
                DriftPath::Snapshot(format!("{}/{name}.snap", dir.display())),
                "a stored snapshot",
                "none stored yet: review it with `cargo insta review` (or accept with INSTA_UPDATE=always)",
            ),
            None,
        ),
        Some(old) => (
            Drift::new(
                DriftClass::SnapshotChanged,
                DriftPath::Snapshot(format!("{}/{name}.snap", dir.display())),
                "the stored snapshot",
                "a different response (see the diff)",
            ),
            Some(unified_diff(old, &new)),
        ),
    };
    let mut outcome = CheckOutcome::new(CheckKind::Snapshot, label, vec![drift]);
    outcome.diff = diff;
    outcome
}

fn record_with_insta(dir: &Path, name: &str, view: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        // INSTA_FORCE_PASS (set by the binary at start) makes insta record
        // without panicking: the verdict is ours, not insta's.
        let _ = std::panic::catch_unwind(|| {
            insta::assert_snapshot!(name, view);
        });
    });
}

pub fn unified_diff(old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header("stored", "observed")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn view_redacts_dynamic_values_and_sorts_keys() {
        let body = json!({"refresh_token": "abc", "token_type": "Bearer", "created_at": 1, "access_token": "x"});
        let hs = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("Date".into(), "now".into()),
        ];
        let v = view(200, &hs, Some(&body), "", &Scrubber::default());
        assert!(!v.contains("abc") && !v.contains("\"x\""));
        assert!(v.contains("[token]") && v.contains("[created_at]"));
        assert!(!v.contains("Date") && !v.contains("now"));
        assert!(v.find("access_token") < v.find("token_type"));
    }

    #[test]
    fn check_detects_a_change_and_passes_on_equal() {
        let dir = tempfile::tempdir().unwrap();
        let snaps = Snapshots::new(dir.path(), SnapshotMode::CompareOnly);
        let missing = snaps.check("x", "{}");
        assert_eq!(missing.drifts[0].class, DriftClass::SnapshotChanged);
        let snap = "---\nsource: test\n---\n{\n  \"status\": 200\n}\n";
        std::fs::write(dir.path().join("x.snap"), snap).unwrap();
        assert!(snaps.check("x", "{\n  \"status\": 200\n}").passed());
        let changed = snaps.check("x", "{\n  \"status\": 400\n}");
        assert!(!changed.passed());
        assert!(changed.diff.unwrap().contains("+  \"status\": 400"));
        // Compare-only never writes.
        assert!(!dir.path().join("x.snap.new").exists());
    }

    #[test]
    fn the_observed_baseline_is_a_second_comparison() {
        let documented = tempfile::tempdir().unwrap();
        let observed = tempfile::tempdir().unwrap();
        let snap = "---\nsource: test\n---\n{\n  \"status\": 200\n}\n";
        std::fs::write(documented.path().join("x.snap"), snap).unwrap();
        let plain = Snapshots::new(documented.path(), SnapshotMode::CompareOnly);
        assert!(plain.check_observed("x", "{}").is_none());
        let snaps = plain.with_observed(observed.path(), SnapshotMode::CompareOnly);
        let view = "{\n  \"status\": 200\n}";
        assert!(snaps.check("x", view).passed());
        let none_yet = snaps.check_observed("x", view).unwrap();
        assert!(!none_yet.passed() && none_yet.name == "observed snapshot x");
        std::fs::write(observed.path().join("x.snap"), snap.replace("200", "400")).unwrap();
        let changed = snaps.check_observed("x", view).unwrap();
        assert!(changed.diff.unwrap().contains("+  \"status\": 200"));
        assert!(!observed.path().join("x.snap.new").exists());
    }

    #[test]
    fn target_folder_names_are_safe() {
        assert_eq!(target_dir_name("uat"), "uat");
        assert_eq!(
            target_dir_name("uat-accounts.payu.in"),
            "uat-accounts.payu.in"
        );
        assert_eq!(target_dir_name("../x/y"), "-x-y");
        assert_eq!(target_dir_name("documented"), "documented-target");
        assert_eq!(target_dir_name(".."), "target");
    }
}
