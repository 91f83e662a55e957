//! The cucumber event collector: turns cucumber's event stream into
//! [`ScenarioReport`]s and prints one line per scenario as it finishes.
//! Cucumber's own writers are not used: every report is rendered from the
//! [`RunReport`](payu_contract::report::RunReport) this feeds.

use super::context::RunContext;
use cucumber::event::{Cucumber, Feature, RetryableScenario, Rule, Scenario, Step, StepError};
use cucumber::{Event, parser, writer};
use payu_contract::report::terminal::{self, Style, Verbosity};
use payu_contract::report::{ScenarioReport, StepReport, StepStatus, Verdict};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub struct Collector {
    run: Arc<RunContext>,
    style: Style,
    verbosity: Verbosity,
    pub scenarios: Vec<ScenarioReport>,
    pub parse_errors: Vec<String>,
    /// Mistakes in the feature files, each as `file:line: what`: steps no
    /// definition matches, unknown placeholders or schemas. A suite
    /// authoring error (exit 2), not drift.
    pub authoring_errors: Vec<String>,
    current: Option<(ScenarioReport, Instant)>,
    /// Where the current scenario's first failed step is (`file:line`).
    failed_at: Option<String>,
    step_started: Option<Instant>,
    total: usize,
}

impl Collector {
    pub fn new(run: Arc<RunContext>, style: Style, verbosity: Verbosity) -> Collector {
        Collector {
            run,
            style,
            verbosity,
            scenarios: Vec::new(),
            parse_errors: Vec::new(),
            authoring_errors: Vec::new(),
            current: None,
            failed_at: None,
            step_started: None,
            total: 0,
        }
    }

    /// How many scenarios the lines count to (default: what cucumber runs).
    pub fn numbered_of(mut self, total: usize) -> Collector {
        self.total = total;
        self
    }

    fn scenario<W>(
        &mut self,
        feature: &cucumber::gherkin::Feature,
        scenario: &cucumber::gherkin::Scenario,
        ev: Scenario<W>,
    ) {
        match ev {
            Scenario::Started => {
                let tags = feature
                    .tags
                    .iter()
                    .chain(&scenario.tags)
                    .map(|t| format!("@{t}"))
                    .collect();
                let report = ScenarioReport::new(&feature.name, &scenario.name, tags);
                self.current = Some((report, Instant::now()));
            }
            Scenario::Step(step, ev) | Scenario::Background(step, ev) => {
                self.step(feature, &step, ev);
            }
            Scenario::Finished => self.finish(),
            _ => {}
        }
    }

    fn step<W>(
        &mut self,
        feature: &cucumber::gherkin::Feature,
        step: &cucumber::gherkin::Step,
        ev: Step<W>,
    ) {
        let at = format!("{}:{}", shown(feature.path.as_deref()), step.position.line);
        let (status, error) = match ev {
            Step::Started => {
                self.step_started = Some(Instant::now());
                return;
            }
            Step::Passed(..) => (StepStatus::Passed, None),
            Step::Skipped => (
                StepStatus::Skipped,
                Some("no step definition matches this step".to_owned()),
            ),
            Step::Failed(_, _, _, StepError::NotFound) => {
                self.authoring_errors.push(format!(
                    "{at}: the step \"{} {}\" matches no step definition",
                    step.keyword.trim(),
                    step.value
                ));
                (
                    StepStatus::Skipped,
                    Some("no step definition matches this step".to_owned()),
                )
            }
            Step::Failed(_, _, _, err) => {
                self.failed_at.get_or_insert(at);
                (StepStatus::Failed, Some(self.step_error(&err)))
            }
        };
        let duration_ms = self
            .step_started
            .take()
            .map_or(0, |t| t.elapsed().as_millis() as u64);
        if let Some((report, _)) = &mut self.current {
            report.steps.push(StepReport {
                keyword: step.keyword.trim().to_owned(),
                text: step.value.clone(),
                status,
                error,
                duration_ms,
            });
        }
    }

    fn finish(&mut self) {
        let Some((mut report, started)) = self.current.take() else {
            return;
        };
        report.duration_ms = started.elapsed().as_millis() as u64;
        let record = self.run.take_finished().unwrap_or_default();
        let failed_at = self.failed_at.take();
        if let Some(why) = &record.authoring {
            let at = failed_at.as_deref().unwrap_or("a feature file");
            self.authoring_errors.push(format!("{at}: {why}"));
        }
        report.exchanges = record.exchanges;
        report.checks = record.checks;
        report.since_accepted = record.since_accepted;
        report.notes = record.notes;
        report.documented = record.documented;
        let failed_step = report
            .steps
            .iter()
            .find(|s| s.status != StepStatus::Passed)
            .map(|s| {
                format!(
                    "step \"{} {}\" {}: {}",
                    s.keyword,
                    s.text,
                    status_word(s.status),
                    s.error.clone().unwrap_or_default()
                )
            });
        (report.verdict, report.reason) = if let Some(fault) = record.fault {
            (Verdict::NoVerdict, Some(fault))
        } else if let Some(why) = record.skipped {
            (Verdict::Skipped, Some(format!("skipped: {why}")))
        } else if report.checks.iter().any(|c| !c.passed()) {
            (Verdict::Drifted, None)
        } else if let (Some(why), None) = (failed_step, &record.concluded) {
            (Verdict::Drifted, Some(why))
        } else if let Some(why) = record.concluded {
            (Verdict::Passed, Some(why))
        } else {
            (Verdict::Passed, None)
        };
        // The report of a scenario is redacted whole before anyone sees it.
        let scrubber = self.run.client.scrubber();
        let report = match scrubber.redacted(&report) {
            Ok(clean) => clean,
            Err(e) => {
                let mut r = ScenarioReport::new(&report.feature, &report.name, report.tags);
                r.verdict = Verdict::NoVerdict;
                r.reason = Some(format!("the scenario's record could not be redacted: {e}"));
                r
            }
        };
        self.scenarios.push(report);
        if self.verbosity != Verbosity::Quiet {
            let last = self.scenarios.last().expect("just pushed");
            let line = terminal::scenario_lines(
                last,
                self.style,
                self.verbosity,
                self.scenarios.len(),
                self.total,
            );
            payu_contract::redact::print(&line);
        }
    }
}

fn status_word(s: StepStatus) -> &'static str {
    match s {
        StepStatus::Passed => "passed",
        StepStatus::Failed => "failed",
        StepStatus::Skipped => "was skipped",
    }
}

impl Collector {
    /// A failed step's message, redacted. Steps return `Result`; cucumber
    /// carries an `Err` to here as a panic payload (and silences the panic
    /// hook only while it runs the steps).
    fn step_error(&self, err: &StepError) -> String {
        let text = match err {
            StepError::Panic(info) => info
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| info.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "the step panicked".into()),
            other => other.to_string(),
        };
        self.run.client.scrubber().scrub(&text)
    }
}

/// A feature file's path as the user would type it: relative to the
/// working directory when it is below it.
fn shown(path: Option<&Path>) -> String {
    let Some(path) = path else {
        return "a feature file".into();
    };
    let cwd = std::env::current_dir().ok();
    cwd.as_deref()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path)
        .display()
        .to_string()
}

impl<W: cucumber::World> cucumber::Writer<W> for Collector {
    type Cli = cucumber::cli::Empty;

    async fn handle_event(&mut self, ev: parser::Result<Event<Cucumber<W>>>, _: &Self::Cli) {
        let value = match ev {
            Ok(ev) => ev.value,
            Err(e) => {
                self.parse_errors.push(e.to_string());
                return;
            }
        };
        match value {
            Cucumber::ParsingFinished { scenarios, .. } if self.total == 0 => {
                self.total = scenarios;
            }
            Cucumber::Feature(f, Feature::Scenario(sc, RetryableScenario { event, .. })) => {
                self.scenario(&f, &sc, event);
            }
            Cucumber::Feature(
                f,
                Feature::Rule(_, Rule::Scenario(sc, RetryableScenario { event, .. })),
            ) => self.scenario(&f, &sc, event),
            _ => {}
        }
    }
}

impl writer::Normalized for Collector {}
impl writer::NonTransforming for Collector {}
