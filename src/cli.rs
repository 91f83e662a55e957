//! The command line: clap definitions only. Each subcommand's flags are
//! turned into one options value; nothing here does work.
//!
//! Secrets (client secret, refresh token, password, store key) have no
//! flags on purpose: a flag shows up in `ps` and in shell history. They come
//! from the environment or `.env`.
//!
//! clap reads no environment variable: every setting's value, from a flag,
//! the environment or an env file, goes through one parse and one
//! validation in [`payu_contract::config`], so an error names the variable
//! and where its value came from.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "payu-contract",
    version,
    about = "Contract tests for PayU's OAuth Refresh Token API (POST /oauth/token, grant_type=refresh_token)",
    long_about = "Contract tests for PayU's OAuth Refresh Token API.\n\nRuns every documented scenario against the embedded double of the endpoint (default), PayU UAT, or any URL, and checks each response three ways: the documented expectation, a JSON Schema and a redacted snapshot.\n\nSettings come from flags, then the environment, then .env, then defaults.\nExit codes: 0 every check held; 1 the contract drifted; 2 usage or configuration error; 3 no verdict (endpoint unreachable, infrastructure fault, or token state unknown); 70 a bug in payu-contract."
)]
pub struct Cli {
    /// Read settings from this file instead of ./.env (values already in the
    /// environment win; only PAYU_* lines are read).
    #[arg(long, global = true, value_name = "FILE")]
    pub env_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum Command {
    /// Run the contract suite (default target: the embedded double).
    Run(Box<RunArgs>),
    /// Run the double alone as an offline sandbox of the token endpoint.
    Serve(ServeArgs),
    /// List the double's profiles: the documented server and its drifts.
    Profiles,
    /// Tell a partner, in plain words, whether their client id, secret and
    /// refresh token (or Get Token user) work, and if not what to fix.
    ///
    /// By default nothing is consumed: only answers the server gives before
    /// it would spend the refresh token are used. --refresh does the real
    /// refresh and stores the new token at once. Secrets come from the
    /// environment or .env, or are asked for (hidden) on a terminal.
    /// Exit codes: 0 the credentials work; 1 they do not, or an answer
    /// differs from the documentation; 2 usage; 3 no verdict (endpoint
    /// unreachable, DNS/TLS failure, proxy error page, refresh outcome unknown).
    CheckCredentials(CheckArgs),
    /// Run the suite against every profile of the double, concurrently, and
    /// print the drift-detection matrix (exit 0 only if every drift is caught).
    Mutants(MutantsArgs),
    /// Print a new random key for `PAYU_STORE_KEY` (encrypts the token store at rest).
    StoreKeygen,
    /// Review what a live target's last run observed against its accepted
    /// baseline, and accept one scenario or all.
    ///
    /// Lists each recorded observation (new, or changed since the accepted
    /// one) with a readable diff. Accepting asks on a terminal; scripts pass
    /// --yes. Nothing is accepted without --accept or --all, and under CI
    /// (CI=true) never without --yes. Exit codes: 0 nothing left to review
    /// (or all chosen accepted); 1 observations are waiting for review; 2
    /// usage (unknown target or scenario, no terminal to ask on).
    Baseline(BaselineArgs),
}

/// Where to run, as whom. Shared by every command that talks to a target.
#[derive(Debug, Args, Clone, Default)]
pub struct TargetArgs {
    /// local (the embedded double), uat, or the https:// URL of a token endpoint.
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
    /// The token endpoint URL (instead of --target).
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,
    /// The partner's client id (live targets).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// Username for the Get Token (password grant) call that starts a chain.
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,
    /// Scope requested by the Get Token call.
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<String>,
    /// How the client authenticates: body (documented form fields) or basic.
    #[arg(long, value_name = "body|basic")]
    pub client_auth: Option<String>,
    /// Where rotated refresh tokens are kept between runs.
    #[arg(long, value_name = "FILE")]
    pub token_store: Option<PathBuf>,
    /// A PEM file with an extra CA certificate to trust (private CA).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Allow the production endpoint (accounts.payu.in): the suite rotates tokens there.
    #[arg(long)]
    pub allow_production: bool,
    /// Total time for one request, in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<String>,
    /// Time to connect, in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub connect_timeout: Option<String>,
    /// Seconds to wait for another run holding the token store (0: do not wait).
    #[arg(long, value_name = "SECONDS")]
    pub lock_timeout: Option<String>,
    /// A protected resource of the live target (GET with a Bearer token):
    /// tells "revoked on first use" from "never revoked" in the rotation scenario.
    #[arg(long, value_name = "URL")]
    pub resource_url: Option<String>,
}

impl TargetArgs {
    /// The flags by the variable each one stands for, for
    /// [`payu_contract::config::Settings::gather`].
    pub fn flags(&self) -> Vec<(&'static str, Option<String>)> {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        vec![
            ("PAYU_TARGET", self.target.clone()),
            ("PAYU_TOKEN_URL", self.token_url.clone()),
            ("PAYU_CLIENT_ID", self.client_id.clone()),
            ("PAYU_USERNAME", self.username.clone()),
            ("PAYU_SCOPE", self.scope.clone()),
            ("PAYU_CLIENT_AUTH", self.client_auth.clone()),
            ("PAYU_TOKEN_STORE", path(&self.token_store)),
            ("PAYU_CA_CERT", path(&self.ca_cert)),
            ("PAYU_TIMEOUT", self.timeout.clone()),
            ("PAYU_CONNECT_TIMEOUT", self.connect_timeout.clone()),
            ("PAYU_LOCK_TIMEOUT", self.lock_timeout.clone()),
            ("PAYU_RESOURCE_URL", self.resource_url.clone()),
        ]
    }
}

#[derive(Debug, Args)]
#[command(after_help = payu_contract::config::help_text())]
pub struct RunArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Profile of the embedded double (see `payu-contract profiles`); local target only.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Only scenarios matching this tag expression, e.g. "@documented and not @consumes".
    #[arg(long, value_name = "EXPR")]
    pub tags: Option<String>,
    /// Run scenarios tagged @destructive (replaying used tokens) against a live target.
    #[arg(long)]
    pub allow_destructive: bool,
    /// When the embedded double revokes a used refresh token: `at-refresh`
    /// (default) or `on-use` (when an access token from its successor is
    /// first used; Doorkeeper's stock migration). Local target only.
    #[arg(long, value_name = "MODE")]
    pub revocation: Option<String>,
    /// Folder with the .feature files and schemas/ (default: the built-in suite).
    #[arg(long, value_name = "DIR")]
    pub features: Option<PathBuf>,
    /// Folder with the snapshot baselines (default: the built-in ones).
    #[arg(long, value_name = "DIR")]
    pub snapshots: Option<PathBuf>,
    /// Write the run as a versioned JSON document.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    /// Write a `JUnit` XML report (one testcase per scenario) for CI.
    #[arg(long, value_name = "FILE")]
    pub report_junit: Option<PathBuf>,
    /// Write a Cucumber JSON report for cucumber report tools.
    #[arg(long, value_name = "FILE")]
    pub report_cucumber: Option<PathBuf>,
    /// Write a self-contained HTML report (no external assets).
    #[arg(long, value_name = "FILE")]
    pub report_html: Option<PathBuf>,
    /// An earlier run's --report-json file: list what changed since then.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    // -- observed baselines and the Markdown summary (issue 13)
    /// Folder of live targets' observed baselines [default: .payu-contract/baselines].
    #[arg(long, value_name = "DIR")]
    pub baselines: Option<PathBuf>,
    /// Write a GitHub-flavoured Markdown summary (e.g. for $`GITHUB_STEP_SUMMARY`).
    #[arg(long, value_name = "FILE")]
    pub report_markdown: Option<PathBuf>,
    // --
    /// Only the summary and the final verdict.
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Every check and note, not only the failing ones.
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    pub addr: String,
    /// The double's profile (see `payu-contract profiles`).
    #[arg(long, default_value = "documented", value_name = "NAME")]
    pub profile: String,
    /// Serve HTTPS with this PEM certificate (needs --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Seed the double with these fixtures (JSON, as printed at start) instead of random ones.
    #[arg(long, value_name = "FILE")]
    pub fixtures: Option<PathBuf>,
    /// When a used refresh token dies: `at-refresh` (in the refresh itself)
    /// or `on-use` (when an access token from its successor is first used on
    /// GET /api/me; Doorkeeper's stock migration).
    #[arg(long, default_value = "at-refresh", value_name = "MODE")]
    pub revocation: String,
}

#[derive(Debug, Args)]
#[command(after_help = payu_contract::config::help_text())]
pub struct CheckArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Do the real refresh (or, with only a username and password, the real
    /// Get Token call): spends the refresh token and writes the new one to
    /// the token store (`PAYU_TOKEN_STORE`) before anything else.
    #[arg(long)]
    pub refresh: bool,
    /// With --refresh: print only the new refresh token on stdout (all
    /// other output goes to stderr), for piping into a secret manager.
    #[arg(long, requires = "refresh", conflicts_with = "json")]
    pub print_new_token: bool,
    /// Print the result as JSON on stdout (same verdicts and exit codes).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MutantsArgs {
    /// How many suite runs at once (default: twice the cores, 4 to 8).
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,
    /// Only these profiles (comma-separated or repeated); default: all of them.
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Keep each profile's JSON run report in this folder (PROFILE.json).
    #[arg(long, value_name = "DIR")]
    pub reports_dir: Option<PathBuf>,
    /// Folder with the .feature files and schemas/ (default: the built-in suite).
    #[arg(long, value_name = "DIR")]
    pub features: Option<PathBuf>,
    /// Folder with the snapshot baselines (default: the built-in ones).
    #[arg(long, value_name = "DIR")]
    pub snapshots: Option<PathBuf>,
    /// Only the matrix, no progress lines.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `payu-contract baseline` (issue 13).
#[derive(Debug, Args)]
#[command(after_help = payu_contract::config::help_text())]
pub struct BaselineArgs {
    /// The target's folder as listed (uat, 127.0.0.1-8080, a host); default:
    /// --target/--token-url, else the only target with recorded observations.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// uat, or the https:// URL of a token endpoint (as for `run`).
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
    /// The token endpoint URL (as for `run`).
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,
    /// Folder of live targets' observed baselines [default: .payu-contract/baselines].
    #[arg(long, value_name = "DIR")]
    pub baselines: Option<PathBuf>,
    /// Accept the recorded observation of this scenario (its name as
    /// listed); repeat for more.
    #[arg(long, value_name = "SCENARIO")]
    pub accept: Vec<String>,
    /// Accept every recorded observation of the target.
    #[arg(long, conflicts_with = "accept")]
    pub all: bool,
    /// Accept without asking (scripts, CI).
    #[arg(long, short)]
    pub yes: bool,
    /// Only the list, no diffs.
    #[arg(long, short)]
    pub quiet: bool,
}

impl BaselineArgs {
    /// The flags by the variable each one stands for.
    pub fn flags(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("PAYU_TARGET", self.target.clone()),
            ("PAYU_TOKEN_URL", self.token_url.clone()),
            (
                "PAYU_BASELINES",
                self.baselines.as_ref().map(|p| p.display().to_string()),
            ),
        ]
    }
}
