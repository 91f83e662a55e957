//! The `payu-contract` binary: flags and environment in, one command run,
//! an exit code out. 0 every check held; 1 drift; 2 usage or configuration
//! error; 3 no verdict.

mod bdd;
mod cli;
mod commands;

use clap::Parser;
use cli::{Cli, Command};
use commands::{check, matrix, serve};
use payu_contract::config::Settings;
use payu_contract::report::exit;
use payu_contract::report::terminal::{Style, Verbosity};
use payu_contract::secret::Secret;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to
            // stderr (exit 2), each on its own.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::CONFIG as u8
            } else {
                0
            });
        }
    };
    if let Err(message) = load_env_file(cli.env_file.as_deref()) {
        eprintln!("error: {message}");
        return ExitCode::from(exit::CONFIG as u8);
    }
    // Re-parse so that values from the .env file reach clap's env fallbacks.
    let cli = match cli.env_file.is_some() || std::path::Path::new(".env").exists() {
        true => Cli::try_parse().unwrap_or(cli),
        false => cli,
    };
    quiet_panics();
    let code = match cli.command {
        Command::Run(args) => run(*args),
        Command::Serve(args) => serve::serve(args),
        Command::CheckCredentials(args) => check::check(args),
        Command::StoreKeygen => {
            println!("{}", payu_contract::tokens::StoreKey::generate());
            exit::PASSED
        }
        Command::Profiles => {
            for p in payu_double::Profile::all() {
                println!("{:<34} {}", p.name(), p.description());
            }
            exit::PASSED
        }
        Command::Mutants(args) => matrix::mutants(args),
    };
    ExitCode::from(code as u8)
}

/// `.env` (or `--env-file`) fills the environment without overriding what is
/// already set: flags > environment > .env > defaults.
fn load_env_file(path: Option<&std::path::Path>) -> Result<(), String> {
    match path {
        Some(p) => dotenvy::from_path(p).map(|_| ()).map_err(|e| {
            format!(
                "--env-file {} cannot be read ({e}): name an existing file of KEY=value lines",
                p.display()
            )
        }),
        None => match dotenvy::dotenv() {
            Ok(_) => Ok(()),
            Err(e) if e.not_found() => Ok(()),
            Err(e) => Err(format!(
                ".env cannot be read ({e}): fix the line it names, or pass --env-file"
            )),
        },
    }
}

fn secret_env(name: &str) -> Option<Secret<String>> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Secret::new)
}

pub fn settings_from(t: &cli::TargetArgs) -> Settings {
    Settings {
        target: t.target.clone(),
        token_url: t.token_url.clone(),
        profile: None,
        client_id: t.client_id.clone(),
        client_secret: secret_env("PAYU_CLIENT_SECRET"),
        refresh_token: secret_env("PAYU_REFRESH_TOKEN"),
        username: t.username.clone(),
        password: secret_env("PAYU_PASSWORD"),
        scope: t.scope.clone(),
        client_auth: t.client_auth.clone(),
        token_store: t.token_store.clone(),
        store_key: secret_env("PAYU_STORE_KEY"),
        ca_cert: t.ca_cert.clone(),
        allow_production: t.allow_production,
        allow_destructive: false,
        timeout_secs: t.timeout,
        connect_timeout_secs: t.connect_timeout,
        lock_timeout_secs: None,
    }
}

fn run(args: cli::RunArgs) -> i32 {
    init_logs("warn");
    let mut settings = settings_from(&args.target);
    settings.profile = args.profile.clone();
    settings.allow_destructive = args.allow_destructive;
    // insta is used as a library here, not under `cargo test`: it must not
    // run `cargo metadata` to find a workspace, print its own diffs, or
    // panic on a mismatch (the verdict is the suite's).
    let root = args
        .snapshots
        .clone()
        .and_then(|p| p.parent().map(|p| p.to_path_buf()))
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    // SAFETY: single-threaded here; the runtime starts below.
    unsafe {
        std::env::set_var("INSTA_FORCE_PASS", "1");
        std::env::set_var("INSTA_WORKSPACE_ROOT", root);
        if std::env::var_os("INSTA_OUTPUT").is_none() {
            std::env::set_var("INSTA_OUTPUT", "none");
        }
    }
    let verbosity = match (args.quiet, args.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    };
    let opts = commands::run::RunOptions {
        tags: args.tags.clone(),
        features: args.features.clone(),
        snapshots: args.snapshots.clone(),
        report_json: args.report_json.clone(),
        report_junit: args.report_junit.clone(),
        report_cucumber: args.report_cucumber.clone(),
        report_html: args.report_html.clone(),
        baseline: args.baseline.clone(),
        verbosity,
        style: Style::detect(),
    };
    let Some(runtime) = crate::runtime() else {
        return exit::NO_VERDICT;
    };
    match runtime.block_on(commands::run::run(settings, opts)) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {}", failure.message());
            failure.exit_code()
        }
    }
}

/// The async runtime every command runs on; `None` (after one line on
/// stderr) if the machine cannot give it threads.
pub fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| eprintln!("error: cannot start the async runtime: {e}"))
        .ok()
}

pub fn init_logs(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// Step failures reach cucumber as panics; their text is in the report
/// already. Anything else is a bug, said in one line without a backtrace.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| {
                info.payload()
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
            })
            .unwrap_or_default();
        tracing::debug!("step failure or panic: {msg}");
    }));
}
