//! `payu-contract run`: resolves the configuration, brings up the target
//! (the embedded double or a live URL), runs the features through cucumber,
//! and turns the outcome into a report, terminal lines and an exit code.

use crate::bdd::ContractWorld;
use crate::bdd::context::{OtherClient, RunContext};
use crate::bdd::writer::Collector;
use crate::commands::preflight;
use cucumber::World as _;
use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::tag::Ext as _;
use futures::FutureExt as _;
use payu_contract::assets::Assets;
use payu_contract::chain::{self, NoSink, TokenChain};
use payu_contract::client::TokenClient;
use payu_contract::config::{Config, Credentials, Settings, Target};
use payu_contract::contract::schema::Schemas;
use payu_contract::contract::snapshot::{Baseline, SnapshotMode, Snapshots};
use payu_contract::redact::Scrubber;
use payu_contract::report::terminal::{Style, Verbosity};
use payu_contract::report::{self, RunReport, ScenarioReport, Summary, TargetInfo, Verdict, exit};
use payu_contract::secret::Secret;
use payu_double::{self as double, ClientKind, DoubleOptions, Profile, Revocation};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How a run ends when it cannot even start.
#[derive(Debug)]
pub enum Failure {
    /// A user mistake in flags or settings: exit 2.
    Usage(String),
    /// The target could not be brought up or reached: exit 3.
    NoVerdict(String),
}

impl Failure {
    /// The same failure with its message through the redactor: a message
    /// may quote a server's answer.
    fn scrubbed(self, scrubber: &Scrubber) -> Failure {
        match self {
            Failure::Usage(m) => Failure::Usage(scrubber.scrub_line(&m)),
            Failure::NoVerdict(m) => Failure::NoVerdict(scrubber.scrub_line(&m)),
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage(_) => exit::CONFIG,
            Failure::NoVerdict(_) => exit::NO_VERDICT,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Failure::Usage(m) | Failure::NoVerdict(m) => m,
        }
    }
}

pub struct RunOptions {
    pub tags: Option<String>,
    pub features: Option<PathBuf>,
    pub snapshots: Option<PathBuf>,
    pub report_json: Option<PathBuf>,
    pub report_junit: Option<PathBuf>,
    pub report_cucumber: Option<PathBuf>,
    pub report_html: Option<PathBuf>,
    /// An earlier run's JSON report to compare with.
    pub baseline: Option<PathBuf>,
    /// A GitHub-flavoured Markdown summary.
    pub report_markdown: Option<PathBuf>,
    pub verbosity: Verbosity,
    pub style: Style,
    /// When the embedded double revokes a used refresh token (`at-refresh`,
    /// `on-use`); local target only. Default: at refresh.
    pub revocation: Option<String>,
}

/// Everything the run needs that depends on the target.
struct Prepared {
    token_url: url::Url,
    client: TokenClient,
    credentials: Credentials,
    chain: TokenChain,
    profile: Option<String>,
    double: Option<double::RunningDouble>,
    confidential: Option<OtherClient>,
    /// Where a new access token can be used (the double's own, or
    /// `PAYU_RESOURCE_URL`).
    resource_url: Option<url::Url>,
}

/// Runs the suite. Everything it prints or writes passes the process-wide
/// redactor ([`Scrubber::global`]), which learns every secret of the run.
pub async fn run(settings: Settings, opts: RunOptions) -> Result<i32, Failure> {
    let scrubber = Scrubber::global();
    run_redacted(settings, opts, &scrubber)
        .await
        .map_err(|f| f.scrubbed(&scrubber))
}

async fn run_redacted(
    settings: Settings,
    opts: RunOptions,
    scrubber: &Scrubber,
) -> Result<i32, Failure> {
    let started_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let started = Instant::now();
    let config = settings
        .resolve()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    for note in &config.notes {
        eprintln!("note: {note}");
    }
    let assets = Assets::resolve(opts.features.as_deref(), opts.snapshots.as_deref())
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let schemas = Schemas::load(&assets.schemas()).map_err(|e| Failure::Usage(e.to_string()))?;
    let tags: Option<TagOperation> = match opts.tags.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(t.parse().map_err(|e| {
            Failure::Usage(format!(
                "--tags \"{t}\" is not a tag expression ({e}): use e.g. \"@documented and not @destructive\""
            ))
        })?),
    };

    // Pre-flight: every precondition of the harness, before any request.
    let documented = match &config.target {
        Target::Local { profile } => profile == "documented",
        Target::Live { .. } => true,
    };
    let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
    let mode = if documented && !config.target.is_live() && !in_ci && !assets.snapshots_embedded {
        SnapshotMode::Review
    } else {
        SnapshotMode::CompareOnly
    };
    let parsed = preflight::features(&assets.features).map_err(Failure::Usage)?;
    let selected_total;
    {
        let chosen = preflight::selected(&parsed, tags.as_ref());
        selected_total = chosen.len();
        if chosen.is_empty() {
            return Err(Failure::Usage(
                match opts
                    .tags
                    .as_deref()
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                {
                    Some(t) => format!(
                        "--tags \"{t}\" matches no scenario in {}: check the tag names in the .feature files (e.g. @documented, @consumes, @destructive)",
                        assets.features.display()
                    ),
                    None => format!(
                        "the feature files in {} hold no scenario",
                        assets.features.display()
                    ),
                },
            ));
        }
        preflight::undefined_step(&chosen).map_err(Failure::Usage)?;
        if mode == SnapshotMode::CompareOnly {
            // A local review run records missing baselines as .snap.new;
            // everywhere else a missing one could only be reported as drift.
            preflight::baselines(
                &chosen,
                &assets.snapshots.join("documented"),
                opts.snapshots.as_deref(),
            )
            .map_err(Failure::Usage)?;
        }
    }
    preflight::report_paths(&[
        ("--report-json", &opts.report_json),
        ("--report-junit", &opts.report_junit),
        ("--report-cucumber", &opts.report_cucumber),
        ("--report-html", &opts.report_html),
        ("--report-markdown", &opts.report_markdown),
    ])
    .map_err(Failure::Usage)?;

    let baseline = opts
        .baseline
        .as_deref()
        .map(report::baseline::load)
        .transpose()
        .map_err(Failure::Usage)?;

    let revocation = match opts.revocation.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(_) if config.target.is_live() => {
            return Err(Failure::Usage(
                "--revocation chooses the embedded double's revocation mode; a live target revokes as its server does: drop --revocation (the rotation scenario reports the mode it sees)".into(),
            ));
        }
        Some(m) => Some(
            m.parse::<Revocation>()
                .map_err(|e| Failure::Usage(format!("{e} (--revocation)")))?,
        ),
    };
    let prepared = prepare(&config, revocation, scrubber).await?;
    let client = prepared.client.clone();

    let mut snapshots = Snapshots::new(Baseline::documented(&assets.snapshots, mode));
    let mut observed_baseline = None;
    if config.target.is_live() {
        // The observed baseline: the last accepted observation of this
        // target, in the working folder; new observations are recorded for
        // `payu-contract baseline`, never in CI.
        let mode = if in_ci {
            SnapshotMode::CompareOnly
        } else {
            SnapshotMode::Review
        };
        let observed = Baseline::observed(&config.baselines, &config.target.name(), mode);
        observed_baseline = Some(report::ObservedBaseline {
            folder: config
                .baselines
                .join(observed.folder())
                .display()
                .to_string(),
            recorded: mode == SnapshotMode::Review,
        });
        snapshots = snapshots.with_observed(observed);
    }

    // The run's own context, handed to each scenario's World by the
    // before-scenario hook: nothing about a run is process-global.
    let ctx = Arc::new(RunContext {
        client,
        credentials: prepared.credentials.clone(),
        client_auth: config.client_auth,
        chain: prepared.chain,
        schemas,
        snapshots,
        confidential: prepared.confidential,
        resource_url: prepared.resource_url,
        finished: Mutex::new(None),
    });

    let skipped: Arc<Mutex<Vec<ScenarioReport>>> = Arc::default();
    let skip_destructive = config.target.is_live() && !config.allow_destructive;
    let filter = {
        let skipped = skipped.clone();
        move |f: &cucumber::gherkin::Feature,
              r: Option<&cucumber::gherkin::Rule>,
              s: &cucumber::gherkin::Scenario| {
            let all_tags: Vec<&String> = f
                .tags
                .iter()
                .chain(r.map(|r| r.tags.iter()).into_iter().flatten())
                .chain(&s.tags)
                .collect();
            if let Some(op) = &tags
                && !op.eval(all_tags.iter().map(|t| t.as_str()))
            {
                return false;
            }
            if skip_destructive && all_tags.iter().any(|t| *t == "destructive") {
                let mut report = ScenarioReport::new(
                    &f.name,
                    &s.name,
                    all_tags.iter().map(|t| format!("@{t}")).collect(),
                );
                report.verdict = Verdict::Skipped;
                report.reason = Some("skipped: @destructive (it replays a used refresh token, which can revoke the whole chain on a live server); pass --allow-destructive to run it".into());
                skipped
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(report);
                return false;
            }
            true
        }
    };

    let before_ctx = ctx.clone();
    let after_ctx = ctx.clone();
    let collector = ContractWorld::cucumber::<PathBuf>()
        .with_parser(preflight::Parsed(parsed))
        .with_writer(
            // Numbered out of every selected scenario: the ones skipped
            // before they run are numbered after the others.
            Collector::new(ctx.clone(), opts.style, opts.verbosity).numbered_of(selected_total),
        )
        .fail_on_skipped()
        .max_concurrent_scenarios(1)
        .with_default_cli()
        .before(move |_, _, scenario, world| {
            world.scenario = scenario.name.clone();
            world.run = Some(before_ctx.clone());
            async {}.boxed_local()
        })
        .after(move |_, _, _, _, world| {
            if let Some(world) = world {
                after_ctx.put_finished(std::mem::take(&mut world.record));
            }
            async {}.boxed_local()
        })
        .filter_run(assets.features.clone(), filter)
        .await;
    // FailOnSkipped only lends its inner writer.
    let collector: &Collector = &collector;
    if let Some(double) = prepared.double {
        double.shutdown().await;
    }
    if !collector.parse_errors.is_empty() {
        return Err(Failure::Usage(format!(
            "the feature files could not be parsed: {}",
            collector.parse_errors.join("; ")
        )));
    }

    if let Some(first) = collector.authoring_errors.first() {
        let more = match collector.authoring_errors.len() {
            1 => String::new(),
            n => format!(" ({} more)", n - 1),
        };
        return Err(Failure::Usage(format!(
            "{first}{more}: fix the feature file (docs/writing-scenarios.md lists the step vocabulary and placeholders)"
        )));
    }
    let mut scenarios = collector.scenarios.clone();
    scenarios.extend(
        skipped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain(..),
    );
    let stopped = ctx.chain.stopped();
    let token_unknown = stopped.is_some();
    let summary = Summary::of(&scenarios);
    let (verdict, exit_code) = report::overall(&summary, token_unknown);
    let reason = if let Some(why) = &stopped {
        Some(why.to_string())
    } else if summary.total == 0 {
        Some("no scenario matched: check --tags".to_owned())
    } else if summary.no_verdict > 0 && summary.drifted == 0 {
        // The run's reason is what -q shows: the first scenario's why.
        scenarios
            .iter()
            .find(|s| s.verdict == Verdict::NoVerdict)
            .and_then(|s| s.reason.clone())
            .map(|r| format!("no verdict: {r}"))
    } else {
        None
    };
    let mut run_report = RunReport {
        format: "payu-contract-run".into(),
        version: report::REPORT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        target: TargetInfo {
            name: config.target.name(),
            token_url: prepared.token_url.to_string(),
            live: config.target.is_live(),
            profile: prepared.profile.clone(),
        },
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        verdict,
        exit_code,
        reason,
        summary,
        scenarios,
        documentation_findings: report::documentation_findings(),
        rfc6749_notes: report::rfc6749_notes(),
        since_baseline: None,
        observed_baseline,
    };
    run_report.since_baseline = baseline.map(|b| report::baseline::compare(&b, &run_report));
    // What the terminal shows is the redacted report; every file is
    // redacted again by report::write.
    let run_report = scrubber
        .redacted(&run_report)
        .map_err(|e| Failure::NoVerdict(format!("the report could not be redacted: {e}")))?;
    let print = payu_contract::redact::print;
    // The scenarios skipped before they ran come last in the report: they
    // are numbered after the ones that ran.
    let total = run_report.scenarios.len();
    for (i, s) in run_report
        .scenarios
        .iter()
        .enumerate()
        .skip(collector.scenarios.len())
    {
        if opts.verbosity != Verbosity::Quiet {
            print(&report::terminal::scenario_lines(
                s,
                opts.style,
                opts.verbosity,
                i + 1,
                total,
            ));
        }
    }
    print(&report::terminal::summary_lines(&run_report, opts.style));
    if opts.verbosity != Verbosity::Quiet {
        print(&report::terminal::contract_table(&run_report, opts.style));
    }
    if let Some(c) = &run_report.since_baseline {
        print(&report::terminal::baseline_lines(c, opts.style));
    }
    write_reports(&opts, &run_report, scrubber)?;
    Ok(run_report.exit_code)
}

/// Every report whose flag was given, each rendered from the same `RunReport`
/// and written through the redaction boundary (`report::write`).
fn write_reports(
    opts: &RunOptions,
    run_report: &RunReport,
    scrubber: &Scrubber,
) -> Result<(), Failure> {
    let formats: [(&str, &Option<PathBuf>, report::Render); 5] = [
        ("JSON", &opts.report_json, report::json::render),
        ("JUnit", &opts.report_junit, report::junit::render),
        (
            "Cucumber JSON",
            &opts.report_cucumber,
            report::cucumber::render,
        ),
        ("HTML", &opts.report_html, report::html::render),
        ("Markdown", &opts.report_markdown, report::markdown::render),
    ];
    for (name, path, render) in formats {
        if let Some(path) = path {
            report::write(render, path, run_report, scrubber).map_err(|e| {
                Failure::Usage(format!(
                    "cannot write the {name} report to {}: {e}",
                    path.display()
                ))
            })?;
        }
    }
    Ok(())
}

async fn prepare(
    config: &Config,
    revocation: Option<Revocation>,
    scrubber: &Scrubber,
) -> Result<Prepared, Failure> {
    for secret in [
        &config.credentials.client_secret,
        &config.credentials.password,
        &config.credentials.refresh_token,
        &config.store_key,
    ]
    .into_iter()
    .flatten()
    {
        scrubber.add(secret.expose());
    }

    let client_for = |url: &url::Url| {
        TokenClient::new(url.clone(), config.client.clone(), scrubber.clone())
            .map_err(|e| Failure::Usage(e.to_string()))
    };
    match &config.target {
        Target::Local { profile } => {
            let parsed = Profile::parse(profile).ok_or_else(|| {
                Failure::Usage(format!(
                    "unknown profile \"{profile}\" (--profile / PAYU_PROFILE): `payu-contract profiles` lists them"
                ))
            })?;
            let opts = DoubleOptions {
                profile: parsed,
                revocation: revocation.unwrap_or(Revocation::AtRefresh),
                ..DoubleOptions::default()
            };
            let running = double::start(opts, ([127, 0, 0, 1], 0).into())
                .await
                .map_err(|e| {
                    Failure::NoVerdict(format!(
                        "cannot start the embedded double on 127.0.0.1: {e}"
                    ))
                })?;
            let fixtures = running.fixtures();
            let client = fixtures
                .clients
                .iter()
                .find(|c| c.kind == ClientKind::Public)
                .ok_or_else(|| {
                    Failure::NoVerdict("the double has no client of the documented kind".into())
                })?
                .clone();
            for s in [
                &client.client_secret,
                &client.refresh_token,
                &fixtures.user.password,
            ] {
                scrubber.add(s);
            }
            let confidential = fixtures
                .clients
                .iter()
                .find(|c| c.kind == ClientKind::Confidential)
                .map(|c| {
                    scrubber.add(&c.client_secret);
                    scrubber.add(&c.refresh_token);
                    OtherClient {
                        client_id: c.client_id.clone(),
                        client_secret: Secret::new(c.client_secret.clone()),
                        refresh_token: Secret::new(c.refresh_token.clone()),
                    }
                });
            let token_url = url::Url::parse(&running.token_url())
                .map_err(|e| Failure::NoVerdict(format!("the double reported a bad URL: {e}")))?;
            Ok(Prepared {
                client: client_for(&token_url)?,
                token_url,
                credentials: Credentials::sandbox(&fixtures, &client),
                chain: TokenChain::new(Secret::new(client.refresh_token), Box::new(NoSink)),
                profile: Some(profile.clone()),
                resource_url: url::Url::parse(&running.resource_url()).ok(),
                double: Some(running),
                confidential,
            })
        }
        Target::Live { url, .. } => {
            let client = client_for(url)?;
            let started = chain::start::live(config, url, &client)
                .await
                .map_err(|e| match e {
                    chain::start::StartError::Usage(m) => Failure::Usage(m),
                    chain::start::StartError::NoVerdict(m) => Failure::NoVerdict(m),
                })?;
            for note in &started.notes {
                eprintln!("note: {note}");
            }
            let chain = started.chain;
            Ok(Prepared {
                client,
                token_url: url.clone(),
                credentials: config.credentials.clone(),
                chain,
                profile: None,
                double: None,
                confidential: None,
                resource_url: config.resource_url.clone(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(report: &std::path::Path) -> RunOptions {
        RunOptions {
            tags: None,
            features: None,
            snapshots: None,
            report_json: Some(report.to_path_buf()),
            report_junit: None,
            report_cucumber: None,
            report_html: None,
            baseline: None,
            report_markdown: None,
            verbosity: Verbosity::Quiet,
            style: Style::plain(),
            revocation: None,
        }
    }

    /// The embedded double with `profile`, and no other setting.
    fn local(profile: &str) -> Settings {
        let profile = profile.to_owned();
        Settings::gather(
            &[],
            move |var| (var == "PAYU_PROFILE").then(|| profile.clone()),
            None,
        )
    }

    /// No process-global run state: two suites run at once in one process,
    /// each against its own double, and each reaches its own verdict (with
    /// a shared context, one run's checks would land in the other's report,
    /// or the second run could not start at all).
    #[tokio::test(flavor = "current_thread")]
    async fn two_suites_in_one_process_each_get_their_own_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
        let (ra, rb) = futures::join!(
            run(local("keys-reordered"), opts(&a)),
            run(local("scope-not-checked"), opts(&b)),
        );
        assert_eq!(ra.unwrap(), exit::PASSED);
        assert_eq!(rb.unwrap(), exit::DRIFTED);
        let read = |p: &std::path::Path| -> RunReport {
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
        };
        let (a, b) = (read(&a), read(&b));
        assert_eq!(a.target.profile.as_deref(), Some("keys-reordered"));
        assert_eq!(b.target.profile.as_deref(), Some("scope-not-checked"));
        assert_eq!(a.summary.drifted, 0);
        assert_eq!(a.summary.passed, a.summary.total);
        let drifted: Vec<&str> = b
            .scenarios
            .iter()
            .filter(|s| s.verdict == Verdict::Drifted)
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(drifted, ["A scope wider than the one granted is refused"]);
        // Each report holds its own exchanges only: one double's URL each.
        for (r, other) in [(&a, &b), (&b, &a)] {
            for s in &r.scenarios {
                for e in &s.exchanges {
                    assert_ne!(e.request.url, other.target.token_url);
                }
            }
        }
    }
}
