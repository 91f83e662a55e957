//! `payu-bench`: the project's development tools, kept out of the product
//! binary. `load` (token chains and error traffic against the double),
//! `soak` (valid and hostile traffic, every answer checked) and
//! `bench-suite` (the suite process against a bare reqwest loop).
//! `scripts/bench.sh` runs them all; figures are in BENCHMARKS.md.

mod bench_suite;
mod load;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "payu-bench",
    about = "Benchmarks and soak tests of payu-contract (development only)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Benchmark: token chains and error traffic against a double on 127.0.0.1.
    Load(load::LoadArgs),
    /// Robustness: valid and hostile traffic for a while; every answer must be well-formed.
    Soak(load::SoakArgs),
    /// Benchmark: the suite (`payu-contract run -q`) against the same requests from a bare reqwest loop.
    BenchSuite(bench_suite::BenchSuiteArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let code = match cli.command {
        Command::Load(args) => load::load(args),
        Command::Soak(args) => load::soak(args),
        Command::BenchSuite(args) => bench_suite::bench_suite(args),
    };
    ExitCode::from(code as u8)
}

/// The async runtime the tools run on; `None` (after one line on stderr) if
/// the machine cannot give it threads.
fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| eprintln!("error: cannot start the async runtime: {e}"))
        .ok()
}
