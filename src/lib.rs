//! payu-contract: a contract-testing harness for `PayU`'s OAuth Refresh Token API.
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
//! definitions, which live in the binary (`src/main.rs`, `src/commands/`,
//! `src/bdd/`): steps in a library can be dropped at link time and then show
//! up as skipped.
//!
//! | module | responsible for |
//! |---|---|
//! | [`config`] | settings from flags, environment and `.env`, validated |
//! | [`client`] | the token endpoint client: timeouts, safe retries, redacted records |
//! | [`oauth`] | every request the project sends, each saying what it can spend and how the client authenticates |
//! | [`chain`] | the refresh-token chain of every command that spends a token: write-ahead, probes, the on-disk store ([`chain::store`]) |
//! | [`contract`] | the checks: expectations, JSON Schema, snapshots, drift classes |
//! | [`report`] | the run as data and its renderings (terminal, JSON, `JUnit`, Cucumber, HTML, Markdown), each file written through one redacting writer |
//! | [`mutants`] | what the drift matrix expects of each profile of the double |
//! | [`onboarding`] | `check-credentials` diagnoses, as pure functions |
//! | [`assets`] | where the features, schemas and snapshots come from |
//! | [`secret`], [`redact`] | how secrets travel and the one redactor every output passes |
//!
//! Beside this crate, in the same workspace: the embedded double is the crate
//! `payu_double` (`double/`), which knows nothing of the harness (the harness
//! uses only its public API); the development tools `payu-bench` (load, soak,
//! suite benchmark) are `tools/bench/`, outside the product binary.

pub mod assets;
pub mod chain;
pub mod client;
pub mod config;
pub mod contract;
pub mod mutants;
pub mod oauth;
pub mod onboarding;
pub mod redact;
pub mod report;
pub mod secret;
