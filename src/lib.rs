//! payu-contract: a contract-testing harness for PayU's OAuth Refresh Token API.
//!
//! Data flows one way:
//!
//! ```text
//! config ──► target ──────────► client ──► contract checks ──► report
//!            (double on 127.0.0.1            (scenario, schema,
//!             or a live URL)                  snapshot)
//!                 ▲                │
//!                 └── token store ◄┘  (rotated refresh tokens persisted at once)
//! ```
//!
//! The library holds everything but the command line and the cucumber step
//! definitions, which live in the binary (`src/main.rs`, `src/bdd/`): steps
//! in a library can be dropped at link time and then show up as skipped.

pub mod assets;
pub mod chain;
pub mod client;
pub mod config;
pub mod contract;
pub mod double;
pub mod grant;
pub mod mutants;
pub mod onboarding;
pub mod redact;
pub mod report;
pub mod secret;
pub mod tokens;
