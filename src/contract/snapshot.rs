//! Snapshot checks: each scenario's response (status, the contract-relevant
//! headers, the body) as a redacted text snapshot, compared with two
//! baselines:
//!
//! - the documented baseline (`snapshots/documented/`, embedded in the
//!   binary): what the faithful double answers;
//! - a live target's observed baseline (`<baselines>/<target>/`, by default
//!   `.payu-contract/baselines/` in the working folder): what that target
//!   answered when someone last accepted it (`payu-contract baseline`).
//!
//! This module owns the files: the file format is insta's `.snap` (front
//! matter between `---` lines, then the text), read and written here through
//! [`snapfile`], so that `cargo insta review` still reads them. No insta
//! runtime, no environment variable, no process-global state: several suites
//! can run in one process. A run that may record leaves a changed or new
//! observation as `<name>.snap.new` next to the accepted `<name>.snap`;
//! accepting it (a reviewed act, never automatic) renames it.
//!
//! All redactions of dynamic values live here, in [`REDACTIONS`], so every
//! snapshot hides the same dynamic values the same way; then the whole view
//! passes the run's redactor (`crate::redact`), so no secret reaches a
//! `.snap.new` file, an accepted baseline or a diff.
//! Paths in reports are relative to the baseline's root folder
//! (`documented/<name>.snap`, `<target>/<name>.snap`): never absolute.

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

/// Whether a comparison may leave its observation for review.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotMode {
    /// Compare only, write nothing (CI, drifted doubles, the embedded
    /// documented baseline).
    CompareOnly,
    /// On a mismatch or a missing baseline, record the observation as
    /// `<name>.snap.new` for review; on a match, remove a stale one.
    Review,
}

/// One baseline: a folder of `.snap` files under a root folder that report
/// paths are relative to.
#[derive(Clone, Debug)]
pub struct Baseline {
    root: PathBuf,
    folder: String,
    mode: SnapshotMode,
}

/// A recorded observation waiting for review, and what it would replace.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    /// The snapshot's name (`refresh-without-grant-type`).
    pub name: String,
    /// The accepted text, if any was accepted.
    pub accepted: Option<String>,
    /// The observed text (already redacted when it was recorded).
    pub observed: String,
}

impl Pending {
    /// A readable diff from the accepted text (or nothing) to the observed.
    pub fn diff(&self) -> String {
        unified_diff(self.accepted.as_deref().unwrap_or(""), &self.observed)
    }
}

impl Baseline {
    /// The baseline in `root/folder/`. `folder` is one path segment.
    pub fn new(root: impl Into<PathBuf>, folder: impl Into<String>, mode: SnapshotMode) -> Self {
        Baseline {
            root: root.into(),
            folder: folder.into(),
            mode,
        }
    }

    /// The documented baseline in `root/documented/`.
    pub fn documented(root: impl Into<PathBuf>, mode: SnapshotMode) -> Self {
        Baseline::new(root, "documented", mode)
    }

    /// A live target's observed baseline in `root/<target folder>/`.
    pub fn observed(root: impl Into<PathBuf>, target: &str, mode: SnapshotMode) -> Self {
        Baseline::new(root, target_dir_name(target), mode)
    }

    pub fn dir(&self) -> PathBuf {
        self.root.join(&self.folder)
    }

    pub fn folder(&self) -> &str {
        &self.folder
    }

    pub fn mode(&self) -> SnapshotMode {
        self.mode
    }

    /// The file of the accepted snapshot `name`.
    pub fn accepted_path(&self, name: &str) -> PathBuf {
        self.dir().join(format!("{name}.snap"))
    }

    /// The file of the recorded, not yet accepted, observation `name`.
    pub fn pending_path(&self, name: &str) -> PathBuf {
        self.dir().join(format!("{name}.snap.new"))
    }

    /// How a report names the snapshot file: relative to the root.
    pub fn report_path(&self, name: &str) -> String {
        format!("{}/{name}.snap", self.folder)
    }

    /// Compares `view` with the accepted snapshot `name`; in
    /// [`SnapshotMode::Review`] records a differing observation for review
    /// and removes a stale one when they match.
    pub fn check(&self, label: &str, name: &str, view: &str) -> CheckOutcome {
        let new = snapfile::normalize(view);
        let stored = snapfile::read(&self.accepted_path(name));
        if stored.as_deref() == Some(new.as_str()) {
            if self.mode == SnapshotMode::Review {
                let _ = std::fs::remove_file(self.pending_path(name));
            }
            return CheckOutcome::new(CheckKind::Snapshot, label, vec![]);
        }
        if self.mode == SnapshotMode::Review
            && let Err(e) = snapfile::write(&self.pending_path(name), &new)
        {
            tracing::warn!(
                "cannot record the observation {} for review: {e}",
                self.report_path(name)
            );
        }
        let path = DriftPath::Snapshot(self.report_path(name));
        let (drift, diff) = match &stored {
            None => (
                Drift::new(
                    DriftClass::SnapshotChanged,
                    path,
                    "an accepted snapshot",
                    "none accepted yet: review it with `payu-contract baseline`",
                ),
                None,
            ),
            Some(old) => (
                Drift::new(
                    DriftClass::SnapshotChanged,
                    path,
                    "the accepted snapshot",
                    "a different response (see the diff)",
                ),
                Some(unified_diff(old, &new)),
            ),
        };
        let mut outcome = CheckOutcome::new(CheckKind::Snapshot, label, vec![drift]);
        outcome.diff = diff;
        outcome
    }

    /// Every observation recorded and not yet accepted, by name.
    pub fn pending(&self) -> std::io::Result<Vec<Pending>> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(self.dir()) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let file = entry?.file_name().to_string_lossy().into_owned();
            let Some(name) = file.strip_suffix(".snap.new") else {
                continue;
            };
            let Some(observed) = snapfile::read(&self.pending_path(name)) else {
                continue;
            };
            out.push(Pending {
                name: name.to_owned(),
                accepted: snapfile::read(&self.accepted_path(name)),
                observed,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// How many snapshots are accepted.
    pub fn accepted_count(&self) -> usize {
        std::fs::read_dir(self.dir()).map_or(0, |rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".snap"))
                .count()
        })
    }

    /// Accepts the recorded observation `name`: it becomes the accepted
    /// snapshot (an atomic rename, as `cargo insta accept` does).
    pub fn accept(&self, name: &str) -> std::io::Result<()> {
        std::fs::rename(self.pending_path(name), self.accepted_path(name))
    }
}

/// The target folders of a baselines root that hold any snapshot, sorted.
pub fn targets(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter(|e| {
                    std::fs::read_dir(e.path()).is_ok_and(|mut files| {
                        files.any(|f| {
                            f.is_ok_and(|f| {
                                let n = f.file_name().to_string_lossy().into_owned();
                                n.ends_with(".snap") || n.ends_with(".snap.new")
                            })
                        })
                    })
                })
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The two baselines a run compares with.
pub struct Snapshots {
    documented: Baseline,
    /// The observed baseline of a live target: the last accepted
    /// observation, compared besides the documented one.
    observed: Option<Baseline>,
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
            hs.insert((*name).into(), Value::from(values.join(", ")));
        }
    }
    root.insert("headers".into(), Value::Object(hs));
    if let Some(v) = body {
        root.insert("body".into(), redact(v))
    } else {
        let text: String = raw_body.chars().take(2000).collect();
        root.insert("body_text".into(), Value::from(text))
    };
    // The redaction boundary: the view is what .snap.new files and the
    // report's diffs are made of.
    let sorted = scrubber.redact_value(&sort_keys(&Value::Object(root)));
    serde_json::to_string_pretty(&sorted).unwrap_or_default()
}

/// The snapshot's redactions of dynamic values. (Secrets, at any depth and
/// inside strings, are the redaction boundary's business: [`view`] passes
/// the whole view through the run's scrubber, which holds only secrets.)
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
        other => other.clone(),
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
    pub fn new(documented: Baseline) -> Snapshots {
        Snapshots {
            documented,
            observed: None,
        }
    }

    /// Also compares each response with the target's observed baseline.
    pub fn with_observed(mut self, observed: Baseline) -> Snapshots {
        self.observed = Some(observed);
        self
    }

    pub fn documented(&self) -> &Baseline {
        &self.documented
    }

    pub fn observed(&self) -> Option<&Baseline> {
        self.observed.as_ref()
    }

    /// Compares `view` with the documented snapshot `name`.
    pub fn check(&self, name: &str, view: &str) -> CheckOutcome {
        self.documented
            .check(&format!("snapshot {name}"), name, view)
    }

    /// Compares `view` with the last accepted observation of the target,
    /// when there is an observed baseline (live targets).
    pub fn check_observed(&self, name: &str, view: &str) -> Option<CheckOutcome> {
        let observed = self.observed.as_ref()?;
        Some(observed.check(&format!("observed snapshot {name}"), name, view))
    }
}

/// insta's `.snap` file format, read and written without insta's runtime
/// (which is configured through environment variables and a workspace
/// lookup). The one seam for the format: `cargo insta review` reads what
/// [`write`] writes, and [`read`] reads what insta writes.
pub mod snapfile {
    use std::path::Path;

    /// The front matter of every file this tool writes.
    const HEADER: &str = "---\nsource: src/contract/snapshot.rs\nexpression: view\n---\n";

    /// insta's normalisation of a file snapshot's text: trailing whitespace
    /// trimmed, CRLF as LF. Two texts match when their normalised forms do.
    pub fn normalize(text: &str) -> String {
        text.trim_end().replace("\r\n", "\n")
    }

    /// The normalised text of a `.snap` file (`None` if absent or not a
    /// snapshot): everything after the front matter.
    pub fn read(path: &Path) -> Option<String> {
        let raw = std::fs::read_to_string(path).ok()?;
        parse(&raw)
    }

    /// The text of a snapshot file's contents.
    pub fn parse(raw: &str) -> Option<String> {
        let raw = raw.replace("\r\n", "\n");
        let rest = raw.strip_prefix("---\n")?;
        // The front matter ends at the next line that is exactly `---`.
        let mut offset = 0;
        for line in rest.split_inclusive('\n') {
            offset += line.len();
            if line.trim_end() == "---" {
                return Some(normalize(&rest[offset..]));
            }
        }
        None
    }

    /// The file text for `contents`.
    pub fn render(contents: &str) -> String {
        format!("{HEADER}{}\n", normalize(contents))
    }

    /// Writes `contents` as a snapshot file, atomically (a temporary file
    /// in the same folder, then a rename), creating the folder.
    pub fn write(path: &Path, contents: &str) -> std::io::Result<()> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, render(contents).as_bytes())?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

pub fn unified_diff(old: &str, new: &str) -> String {
    // Whole lines on both sides, so no "no newline at end of file" noise.
    let line = |s: &str| match s.trim_end_matches('\n') {
        "" => String::new(),
        s => format!("{s}\n"),
    };
    let (old, new) = (line(old), line(new));
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header("accepted", "observed")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SNAP: &str = "---\nsource: test\n---\n{\n  \"status\": 200\n}\n";

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
        let snaps = Snapshots::new(Baseline::documented(dir.path(), SnapshotMode::CompareOnly));
        let missing = snaps.check("x", "{}");
        assert_eq!(missing.drifts[0].class, DriftClass::SnapshotChanged);
        assert_eq!(missing.drifts[0].path.to_string(), "documented/x.snap");
        std::fs::create_dir_all(dir.path().join("documented")).unwrap();
        std::fs::write(dir.path().join("documented/x.snap"), SNAP).unwrap();
        assert!(snaps.check("x", "{\n  \"status\": 200\n}").passed());
        let changed = snaps.check("x", "{\n  \"status\": 400\n}");
        assert!(!changed.passed());
        assert!(changed.diff.unwrap().contains("+  \"status\": 400"));
        // Compare-only never writes.
        assert!(!dir.path().join("documented/x.snap.new").exists());
    }

    #[test]
    fn report_paths_are_relative_to_the_baselines_folder() {
        let root = tempfile::tempdir().unwrap();
        let b = Baseline::observed(root.path(), "127.0.0.1-8080", SnapshotMode::Review);
        let outcome = b.check("observed snapshot a", "a", "{}");
        let path = outcome.drifts[0].path.to_string();
        assert_eq!(path, "127.0.0.1-8080/a.snap");
        assert!(!path.contains(&*root.path().to_string_lossy()));
    }

    #[test]
    fn review_records_pending_observations_and_accepting_renames_them() {
        let root = tempfile::tempdir().unwrap();
        let b = Baseline::observed(root.path(), "uat", SnapshotMode::Review);
        let view = "{\n  \"status\": 200\n}";
        assert!(!b.check("o", "a", view).passed());
        assert!(b.pending_path("a").exists() && !b.accepted_path("a").exists());
        let pending = b.pending().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].accepted, None);
        assert!(pending[0].diff().contains("+  \"status\": 200"));
        assert_eq!(targets(root.path()), vec!["uat".to_owned()]);
        b.accept("a").unwrap();
        assert!(b.check("o", "a", view).passed());
        assert!(b.pending().unwrap().is_empty());
        assert_eq!(b.accepted_count(), 1);
        // A changed answer is recorded again, and a match removes it.
        assert!(!b.check("o", "a", "{\n  \"status\": 400\n}").passed());
        assert_eq!(b.pending().unwrap()[0].accepted.as_deref(), Some(view));
        assert!(b.check("o", "a", view).passed());
        assert!(
            !b.pending_path("a").exists(),
            "a stale observation is removed"
        );
    }

    #[test]
    fn the_observed_baseline_is_a_second_comparison() {
        let documented = tempfile::tempdir().unwrap();
        let observed = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(documented.path().join("documented")).unwrap();
        std::fs::write(documented.path().join("documented/x.snap"), SNAP).unwrap();
        let plain = Snapshots::new(Baseline::documented(
            documented.path(),
            SnapshotMode::CompareOnly,
        ));
        assert!(plain.check_observed("x", "{}").is_none());
        let snaps = plain.with_observed(Baseline::observed(
            observed.path(),
            "t",
            SnapshotMode::CompareOnly,
        ));
        let view = "{\n  \"status\": 200\n}";
        assert!(snaps.check("x", view).passed());
        let none_yet = snaps.check_observed("x", view).unwrap();
        assert!(!none_yet.passed() && none_yet.name == "observed snapshot x");
        std::fs::create_dir_all(observed.path().join("t")).unwrap();
        std::fs::write(observed.path().join("t/x.snap"), SNAP.replace("200", "400")).unwrap();
        let changed = snaps.check_observed("x", view).unwrap();
        assert!(changed.diff.unwrap().contains("+  \"status\": 200"));
        assert!(!observed.path().join("t/x.snap.new").exists());
    }

    #[test]
    fn the_file_format_is_insta_s() {
        // A file insta wrote (with its metadata) reads back as its text ...
        let insta_written =
            "---\nsource: src/contract/snapshot.rs\nassertion_line: 188\n---\n{\n  \"a\": 1\n}\n";
        assert_eq!(
            snapfile::parse(insta_written).as_deref(),
            Some("{\n  \"a\": 1\n}")
        );
        // ... and ours has the front matter insta's reader expects.
        let ours = snapfile::render("{\n  \"a\": 1\n}\n\n");
        assert_eq!(
            ours,
            "---\nsource: src/contract/snapshot.rs\nexpression: view\n---\n{\n  \"a\": 1\n}\n"
        );
        assert_eq!(snapfile::parse(&ours), snapfile::parse(insta_written));
        assert_eq!(snapfile::parse("{}"), None, "not a snapshot file");
        // The documented baseline (written by insta) reads.
        let documented = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/snapshots/documented/refresh-without-grant-type.snap"
        );
        let text = snapfile::read(Path::new(documented)).unwrap();
        assert!(text.starts_with("{\n  \"body\"") && text.ends_with('}'));
    }

    #[test]
    fn insta_reads_the_files_written_here() {
        let dir = tempfile::tempdir().unwrap();
        let b = Baseline::observed(dir.path(), "uat", SnapshotMode::Review);
        let view =
            "{\n  \"body\": {\n    \"error\": \"invalid_request\"\n  },\n  \"status\": 401\n}";
        b.check("o", "a", view);
        let snap = insta::Snapshot::from_file(&b.pending_path("a")).expect("insta reads it");
        assert_eq!(snap.as_text().unwrap().to_string(), view);
        assert_eq!(snap.metadata().source(), Some("src/contract/snapshot.rs"));
        assert_eq!(snap.metadata().expression(), Some("view"));
        assert_eq!(snapfile::read(&b.pending_path("a")).as_deref(), Some(view));
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
