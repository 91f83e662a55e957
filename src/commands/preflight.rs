//! What `run` checks before it sends any request. Each check is a
//! precondition of the harness, not a claim about the endpoint: a failure
//! is exit 2 in one line that names the file (and line) and the fix, and no
//! token is spent. Owns: reading the feature files (the one parse; cucumber
//! runs the features parsed here), the scenarios `--tags` selects, steps no
//! definition matches, missing snapshot baselines, report paths that cannot
//! be written.

use crate::bdd::ContractWorld;
use cucumber::World as _;
use cucumber::feature::Ext as _;
use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::gherkin::{self, GherkinEnv};
use cucumber::tag::Ext as _;
use std::path::{Path, PathBuf};

/// The step whose scenarios need a stored baseline. Checked by a unit test
/// to be a defined step, so a renamed phrase cannot silently disable the
/// baseline check.
pub const SNAPSHOT_STEP: &str = "the response matches its snapshot";

/// Every `.feature` file under `dir` (any depth, case-insensitive suffix,
/// sorted by path, as cucumber's own parser reads them), parsed and with
/// Scenario Outline examples expanded.
pub fn features(dir: &Path) -> Result<Vec<gherkin::Feature>, String> {
    let mut files = Vec::new();
    collect(dir, &mut files).map_err(|e| {
        format!(
            "the features folder {} cannot be read ({e}): name a readable folder with --features",
            dir.display()
        )
    })?;
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "the features folder {} has no .feature file: name the suite's folder with --features",
            dir.display()
        ));
    }
    let mut out = Vec::new();
    for file in files {
        let feature = gherkin::Feature::parse_path(&file, GherkinEnv::default()).map_err(|e| match e {
            gherkin::ParseFileError::Reading { path, source } => {
                format!("{} cannot be read ({source}): fix its permissions or remove it", path.display())
            }
            gherkin::ParseFileError::Parsing { path, source, .. } => {
                // "Error at LINE:COL: {expected}"
                let text = source.to_string();
                let at = text
                    .strip_prefix("Error at ")
                    .and_then(|t| t.split(':').next().zip(t.split(':').nth(1))).map_or_else(|| "1".into(), |(l, c)| format!("{l}:{c}"));
                format!(
                    "{}:{at}: this is not valid Gherkin: fix that line (Feature:, Scenario:, Given/When/Then steps, | tables |)",
                    path.display()
                )
            }
        })?;
        let path = feature.path.clone().unwrap_or(file);
        let feature = feature.expand_examples().map_err(|e| {
            format!(
                "{}: a Scenario Outline cannot be expanded ({e}): every <placeholder> needs a column in its Examples",
                path.display()
            )
        })?;
        out.push(feature);
    }
    Ok(out)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("feature"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// A scenario `--tags` selects, with its feature and rule.
pub struct Selected<'a> {
    pub feature: &'a gherkin::Feature,
    pub rule: Option<&'a gherkin::Rule>,
    pub scenario: &'a gherkin::Scenario,
}

impl Selected<'_> {
    /// The steps that run for it: backgrounds first.
    fn steps(&self) -> impl Iterator<Item = &gherkin::Step> {
        self.feature
            .background
            .iter()
            .flat_map(|b| &b.steps)
            .chain(
                self.rule
                    .and_then(|r| r.background.as_ref())
                    .into_iter()
                    .flat_map(|b| &b.steps),
            )
            .chain(&self.scenario.steps)
    }
}

/// The scenarios the tag expression selects (all of them without one).
pub fn selected<'a>(
    features: &'a [gherkin::Feature],
    tags: Option<&TagOperation>,
) -> Vec<Selected<'a>> {
    let mut out = Vec::new();
    for feature in features {
        let plain = feature.scenarios.iter().map(|s| (None, s));
        let ruled = feature
            .rules
            .iter()
            .flat_map(|r| r.scenarios.iter().map(move |s| (Some(r), s)));
        for (rule, scenario) in plain.chain(ruled) {
            let all: Vec<&String> = feature
                .tags
                .iter()
                .chain(rule.map(|r| r.tags.iter()).into_iter().flatten())
                .chain(&scenario.tags)
                .collect();
            if tags.is_none_or(|op| op.eval(all.iter().map(|t| t.as_str()))) {
                out.push(Selected {
                    feature,
                    rule,
                    scenario,
                });
            }
        }
    }
    out
}

/// The first step of a selected scenario that no step definition (or more
/// than one) matches, as `file:line: ...`.
pub fn undefined_step(selected: &[Selected<'_>]) -> Result<(), String> {
    let steps = ContractWorld::collection();
    let mut undefined = Vec::new();
    for s in selected {
        for step in s.steps() {
            let problem = match steps.find(step) {
                Ok(Some(_)) => continue,
                Ok(None) => "matches no step definition",
                Err(_) => "matches more than one step definition",
            };
            let at = format!(
                "{}:{}",
                s.feature
                    .path
                    .as_deref()
                    .map_or_else(|| s.feature.name.clone(), |p| p.display().to_string()),
                step.position.line
            );
            if !undefined.iter().any(|(a, _, _)| *a == at) {
                undefined.push((
                    at,
                    format!("{} {}", step.keyword.trim(), step.value),
                    problem,
                ));
            }
        }
    }
    match undefined.first() {
        None => Ok(()),
        Some((at, text, problem)) => Err(format!(
            "{at}: the step \"{text}\" {problem}{}: fix its wording (docs/writing-scenarios.md lists the steps)",
            match undefined.len() {
                1 => String::new(),
                n => format!(" ({} more such steps)", n - 1),
            }
        )),
    }
}

/// Every selected scenario that checks a snapshot has its stored baseline
/// in `dir` (the documented one), named as the snapshot step names them.
pub fn baselines(selected: &[Selected<'_>], dir: &Path, flag: Option<&Path>) -> Result<(), String> {
    let folder = match flag {
        Some(f) => format!("--snapshots {}", f.display()),
        None => format!("the snapshot folder {}", dir.display()),
    };
    for s in selected {
        let count = s
            .steps()
            .filter(|st| st.value.trim() == SNAPSHOT_STEP)
            .count();
        let base = crate::bdd::steps::responses::slug(&s.scenario.name);
        for n in 1..=count {
            let name = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            let file = dir.join(format!("{name}.snap"));
            if !file.is_file() {
                return Err(format!(
                    "{folder} has no baseline for the scenario \"{}\" ({} is missing): point --snapshots at a folder holding documented/*.snap, or record it with a local run and `cargo insta review`",
                    s.scenario.name,
                    file.display()
                ));
            }
        }
    }
    Ok(())
}

/// Each report path can be written: its nearest existing folder takes a
/// new file (tried with a temporary file that is removed at once), an
/// existing file opens for writing without being changed, and no path is
/// given twice. Nothing is left behind.
pub fn report_paths(paths: &[(&str, &Option<PathBuf>)]) -> Result<(), String> {
    let mut seen: Vec<(&str, &Path)> = Vec::new();
    for (flag, path) in paths {
        let Some(path) = path else { continue };
        if let Some((other, _)) = seen.iter().find(|(_, p)| *p == path.as_path()) {
            return Err(format!(
                "{flag} and {other} name the same file {}: give each report its own file",
                path.display()
            ));
        }
        seen.push((flag, path));
        let bad = |why: String| {
            format!(
                "{flag} {} cannot be written ({why}): name a file in a folder you can write to",
                path.display()
            )
        };
        if path.is_dir() {
            return Err(bad("it is a folder".into()));
        }
        if path.exists() {
            std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .map_err(|e| bad(e.to_string()))?;
            continue;
        }
        let mut folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        while !folder.exists() {
            folder = folder
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
        }
        if !folder.is_dir() {
            return Err(bad(format!("{} is not a folder", folder.display())));
        }
        tempfile::Builder::new()
            .prefix(".payu-contract-write-test")
            .tempfile_in(folder)
            .map_err(|e| bad(format!("{}: {e}", folder.display())))?;
    }
    Ok(())
}

/// Hands cucumber the features parsed here, so the run executes exactly
/// what was checked.
pub struct Parsed(pub Vec<gherkin::Feature>);

impl<I> cucumber::Parser<I> for Parsed {
    type Cli = cucumber::cli::Empty;
    type Output =
        futures::stream::Iter<std::vec::IntoIter<cucumber::parser::Result<gherkin::Feature>>>;

    fn parse(self, _: I, _: Self::Cli) -> Self::Output {
        futures::stream::iter(self.0.into_iter().map(Ok).collect::<Vec<_>>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_step_is_a_defined_step() {
        let f = gherkin::Feature::parse(
            format!("Feature: f\n  Scenario: s\n    Then {SNAPSHOT_STEP}\n"),
            GherkinEnv::default(),
        )
        .unwrap();
        let step = &f.scenarios[0].steps[0];
        assert!(matches!(
            ContractWorld::collection().find(step),
            Ok(Some(_))
        ));
    }

    #[test]
    fn report_paths_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let ok = Some(dir.path().join("deeper/r.json"));
        let file = dir.path().join("a-file");
        std::fs::write(&file, "x").unwrap();
        assert!(report_paths(&[("--report-json", &ok)]).is_ok());
        let under_file = Some(file.join("r.xml"));
        let e =
            report_paths(&[("--report-json", &ok), ("--report-junit", &under_file)]).unwrap_err();
        assert!(e.starts_with("--report-junit "), "{e}");
        let same = report_paths(&[("--report-json", &ok), ("--report-html", &ok)]).unwrap_err();
        assert!(same.contains("same file"));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a-file")]);
    }
}
