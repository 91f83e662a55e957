//! The `payu-contract` binary: flags and environment in, one command run,
//! an exit code out. 0 every check held; 1 drift; 2 usage or configuration
//! error; 3 no verdict.

mod bdd;
mod cli;
mod commands;

use clap::Parser;
use cli::{Cli, Command};
use commands::{check, matrix, serve};
use payu_contract::config::{EnvFile, Settings};
use payu_contract::report::exit;
use payu_contract::report::terminal::{Style, Verbosity};
use std::process::ExitCode;

/// A bug in payu-contract (a panic that is not a step failure): its own
/// exit code, documented in the README, distinct from every verdict.
pub const EXIT_BUG: u8 = 70;

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
    install_panic_hook();
    ExitCode::from(guarded(move || dispatch(cli)))
}

/// Runs a command. A panic that reaches here was not a step failure
/// (cucumber catches those and reports them): it is a bug, said in one
/// line with its own exit code.
fn guarded(command: impl FnOnce() -> i32) -> u8 {
    if let Ok(code) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(command)) {
        code as u8
    } else {
        eprintln!("{}", bug_line());
        EXIT_BUG
    }
}

/// Where it happened and how to report it; never the panic's message,
/// which may carry a value the run has not scrubbed.
fn bug_line() -> String {
    let at = PANIC_AT
        .lock()
        .ok()
        .and_then(|g| g.clone())
        .unwrap_or_else(|| "an unknown place".into());
    format!(
        "error: this is a bug in payu-contract {} (it panicked at {at}), not a verdict on the endpoint: please report it to the maintainers with this line and the command you ran (exit {EXIT_BUG})",
        env!("CARGO_PKG_VERSION")
    )
}

fn dispatch(cli: Cli) -> i32 {
    match cli.command {
        Command::Run(args) => {
            let mut flags = args.target.flags();
            flags.push(("PAYU_PROFILE", args.profile.clone()));
            flags.push((
                "PAYU_BASELINES",
                args.baselines.as_ref().map(|p| p.display().to_string()),
            ));
            match settings(cli.env_file.as_deref(), &flags) {
                Ok(s) => run(*args, s),
                Err(code) => code,
            }
        }
        Command::Serve(args) => serve::serve(args),
        Command::CheckCredentials(args) => {
            match settings(cli.env_file.as_deref(), &args.target.flags()) {
                Ok(s) => check::check(args, s),
                Err(code) => code,
            }
        }
        Command::StoreKeygen => {
            println!("{}", payu_contract::chain::store::StoreKey::generate());
            exit::PASSED
        }
        Command::Profiles => {
            for p in payu_double::Profile::all() {
                println!("{:<34} {}", p.name(), p.description());
            }
            exit::PASSED
        }
        Command::Mutants(args) => matrix::mutants(args),
        Command::Baseline(args) => match settings(cli.env_file.as_deref(), &args.flags()) {
            Ok(s) => commands::baseline::baseline(args, s),
            Err(code) => code,
        },
    }
}

/// The one gathering of the settings: the parsed flags, the environment
/// and the env file (`--env-file FILE`, else `./.env`), layered once by
/// [`Settings::gather`]. A broken env file is exit 2 in one line.
fn settings(
    env_file: Option<&std::path::Path>,
    flags: &[(&str, Option<String>)],
) -> Result<Settings, i32> {
    let file = EnvFile::discover(env_file).map_err(|e| {
        eprintln!("error: {e}");
        exit::CONFIG
    })?;
    Ok(Settings::gather(
        flags,
        |k| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned()),
        file.as_ref(),
    ))
}

/// Where the last panic happened (<file:line> only: a panic message may
/// carry a value the run has not scrubbed, so it is never printed).
static PANIC_AT: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Step failures reach cucumber as panics; their text is in the report
/// already, so the hook prints nothing. A closed stdout or stderr (`| head`)
/// ends the program quietly with exit 0, whichever command was printing.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if (msg.starts_with("failed printing to stdout")
            || msg.starts_with("failed printing to stderr"))
            && msg.contains("Broken pipe")
        {
            std::process::exit(0);
        }
        if let Ok(mut at) = PANIC_AT.lock() {
            *at = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()));
        }
        tracing::debug!("step failure or panic at {:?}", info.location());
    }));
}

fn run(args: cli::RunArgs, mut settings: Settings) -> i32 {
    init_logs("warn");
    settings.allow_production = args.target.allow_production;
    settings.allow_destructive = args.allow_destructive;
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
        report_markdown: args.report_markdown.clone(),
        verbosity,
        style: Style::detect(),
        revocation: args.revocation.clone(),
    };
    let Some(runtime) = runtime() else {
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
        // Every log line passes the run's redactor.
        .with_writer(payu_contract::redact::LogWriter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_outside_a_step_is_exit_70_in_one_line_without_its_message() {
        assert_eq!(guarded(|| 3), 3);
        let code = guarded(|| panic!("a value that must not be printed: hunter2"));
        assert_eq!(code, EXIT_BUG);
        let line = bug_line();
        assert!(
            line.contains("a bug in payu-contract") && line.contains("report it"),
            "{line}"
        );
        assert!(!line.contains("hunter2") && !line.contains('\n'), "{line}");
    }
}
