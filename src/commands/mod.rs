//! One file per subcommand of the binary. Each turns its parsed flags into
//! the library's options, does its work, and returns an exit code; `main.rs`
//! only dispatches.
//!
//! - `run`: the contract suite through cucumber (the heart of the tool)
//! - `serve`: the embedded double alone, as an offline sandbox
//! - `check`: `check-credentials`, a partner's plain-words verdict
//! - `matrix`: `mutants`, the suite against every drifted profile of the double
//! - `preflight`: what `run` checks before any request (each exit 2)
//! - `baseline`: review and accept a live target's observed baseline
//!
//! The load generator, the soak and the suite benchmark are development
//! tools: they live in `tools/bench/` (the `payu-bench` binary), not here.

pub mod baseline;
pub mod check;
pub mod matrix;
pub mod preflight;
pub mod run;
pub mod serve;
