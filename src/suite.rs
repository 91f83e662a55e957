//! `payu-contract run`: resolves the configuration, brings up the target
//! (the embedded double or a live URL), runs the features through cucumber,
//! and turns the outcome into a report, terminal lines and an exit code.

use crate::bdd::ContractWorld;
use crate::bdd::context::{self, RunContext};
use crate::bdd::writer::Collector;
use cucumber::World as _;
use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::tag::Ext as _;
use futures::FutureExt as _;
use payu_contract::assets::Assets;
use payu_contract::chain::{NoSink, TokenChain};
use payu_contract::client::TokenClient;
use payu_contract::config::{Config, Credentials, Settings, Target};
use payu_contract::contract::schema::Schemas;
use payu_contract::contract::snapshot::{SnapshotMode, Snapshots};
use payu_contract::double::{self, ClientKind, DoubleOptions, Profile};
use payu_contract::redact::Scrubber;
use payu_contract::report::terminal::{Style, Verbosity};
use payu_contract::report::{self, RunReport, ScenarioReport, Summary, TargetInfo, Verdict, exit};
use payu_contract::secret::Secret;
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
    pub verbosity: Verbosity,
    pub style: Style,
}

/// Everything the run needs that depends on the target.
struct Prepared {
    token_url: url::Url,
    credentials: Credentials,
    chain: TokenChain,
    profile: Option<String>,
    double: Option<double::RunningDouble>,
}

pub async fn run(settings: Settings, opts: RunOptions) -> Result<i32, Failure> {
    let started_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let started = Instant::now();
    let config = settings
        .resolve()
        .map_err(|e| Failure::Usage(e.to_string()))?;
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

    let baseline = opts
        .baseline
        .as_deref()
        .map(report::baseline::load)
        .transpose()
        .map_err(Failure::Usage)?;

    let scrubber = Scrubber::default();
    let prepared = prepare(&config, &scrubber).await?;
    for secret in [
        &prepared.credentials.client_secret,
        &prepared.credentials.password,
    ]
    .into_iter()
    .flatten()
    {
        scrubber.add(secret.expose());
    }
    let client = TokenClient::new(
        prepared.token_url.clone(),
        config.client.clone(),
        scrubber.clone(),
    )
    .map_err(|e| Failure::Usage(e.to_string()))?;

    let documented = prepared
        .profile
        .as_deref()
        .is_none_or(|p| p == "documented");
    let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
    let mode = if documented && !config.target.is_live() && !in_ci && !assets.snapshots_embedded {
        SnapshotMode::Review
    } else {
        SnapshotMode::CompareOnly
    };
    let snapshots = Snapshots::new(assets.snapshots.join("documented"), mode);

    context::install(RunContext {
        client,
        credentials: prepared.credentials.clone(),
        client_auth: config.client_auth,
        chain: prepared.chain,
        schemas,
        snapshots,
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
                skipped.lock().unwrap_or_else(|e| e.into_inner()).push(ScenarioReport {
                    feature: f.name.clone(),
                    name: s.name.clone(),
                    tags: all_tags.iter().map(|t| format!("@{t}")).collect(),
                    verdict: Verdict::Skipped,
                    reason: Some("skipped: @destructive (it replays a used refresh token, which can revoke the whole chain on a live server); pass --allow-destructive to run it".into()),
                    duration_ms: 0,
                    steps: vec![],
                    exchanges: vec![],
                    checks: vec![],
                    notes: vec![],
                });
                return false;
            }
            true
        }
    };

    let collector = ContractWorld::cucumber()
        .with_writer(Collector::new(opts.style, opts.verbosity))
        .fail_on_skipped()
        .max_concurrent_scenarios(1)
        .with_default_cli()
        .before(|_, _, scenario, world| {
            world.scenario = scenario.name.clone();
            async {}.boxed_local()
        })
        .after(|_, _, _, _, world| {
            if let Some(world) = world {
                let record = std::mem::take(&mut world.record);
                *context::get()
                    .finished
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = Some(record);
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

    let mut scenarios = collector.scenarios.clone();
    scenarios.extend(skipped.lock().unwrap_or_else(|e| e.into_inner()).drain(..));
    let ctx = context::get();
    let token_unknown = ctx.chain.is_unknown();
    let summary = Summary::of(&scenarios);
    let (verdict, exit_code) = report::overall(&summary, token_unknown);
    let reason = if token_unknown {
        Some("the refresh token state is unknown: a refresh was sent and its answer was lost. The store keeps the old token marked possibly consumed; if the next run is refused with invalid_grant, start a new chain with PAYU_REFRESH_TOKEN or the Get Token call (PAYU_USERNAME/PAYU_PASSWORD).".to_owned())
    } else if summary.total == 0 {
        Some("no scenario matched: check --tags".to_owned())
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
    };
    run_report.since_baseline = baseline.map(|b| report::baseline::compare(&b, &run_report));
    for s in run_report
        .scenarios
        .iter()
        .filter(|s| s.verdict == Verdict::Skipped)
    {
        if opts.verbosity != Verbosity::Quiet {
            print!(
                "{}",
                report::terminal::scenario_lines(s, opts.style, opts.verbosity, 0, 0)
            );
        }
    }
    print!(
        "{}",
        report::terminal::summary_lines(&run_report, opts.style)
    );
    if opts.verbosity != Verbosity::Quiet {
        print!(
            "{}",
            report::terminal::contract_table(&run_report, opts.style)
        );
    }
    if let Some(c) = &run_report.since_baseline {
        print!("{}", report::terminal::baseline_lines(c, opts.style));
    }
    write_reports(&opts, &run_report)?;
    Ok(run_report.exit_code)
}

/// Every report whose flag was given, each rendered from the same RunReport.
fn write_reports(opts: &RunOptions, run_report: &RunReport) -> Result<(), Failure> {
    type Writer = fn(&std::path::Path, &RunReport) -> std::io::Result<()>;
    let formats: [(&str, &Option<PathBuf>, Writer); 4] = [
        ("JSON", &opts.report_json, report::json::write),
        ("JUnit", &opts.report_junit, report::junit::write),
        (
            "Cucumber JSON",
            &opts.report_cucumber,
            report::cucumber::write,
        ),
        ("HTML", &opts.report_html, report::html::write),
    ];
    for (name, path, write) in formats {
        if let Some(path) = path {
            write(path, run_report).map_err(|e| {
                Failure::Usage(format!(
                    "cannot write the {name} report to {}: {e}",
                    path.display()
                ))
            })?;
        }
    }
    Ok(())
}

async fn prepare(config: &Config, scrubber: &Scrubber) -> Result<Prepared, Failure> {
    match &config.target {
        Target::Local { profile } => {
            let parsed = Profile::parse(profile).ok_or_else(|| {
                Failure::Usage(format!(
                    "unknown profile \"{profile}\" (--profile / PAYU_PROFILE): `payu-contract profiles` lists them"
                ))
            })?;
            let opts = DoubleOptions {
                profile: parsed,
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
            scrubber.add(&client.refresh_token);
            let token_url = url::Url::parse(&running.token_url())
                .map_err(|e| Failure::NoVerdict(format!("the double reported a bad URL: {e}")))?;
            Ok(Prepared {
                token_url,
                credentials: Credentials {
                    client_id: client.client_id.clone(),
                    client_secret: Some(Secret::new(client.client_secret.clone())),
                    refresh_token: Some(Secret::new(client.refresh_token.clone())),
                    username: Some(fixtures.user.username.clone()),
                    password: Some(Secret::new(fixtures.user.password.clone())),
                    scope: fixtures.user.scope.clone(),
                },
                chain: TokenChain::new(Secret::new(client.refresh_token), Box::new(NoSink)),
                profile: Some(profile.clone()),
                double: Some(running),
            })
        }
        Target::Live { url, .. } => {
            let start = config.credentials.refresh_token.clone().ok_or_else(|| {
                Failure::Usage("no refresh token: set PAYU_REFRESH_TOKEN (or PAYU_USERNAME and PAYU_PASSWORD for the Get Token call)".into())
            })?;
            scrubber.add(start.expose());
            Ok(Prepared {
                token_url: url.clone(),
                credentials: config.credentials.clone(),
                chain: TokenChain::new(start, Box::new(NoSink)),
                profile: None,
                double: None,
            })
        }
    }
}
