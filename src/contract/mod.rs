//! The three checks every response goes through: the scenario's own
//! expectation ([`expect`]), a JSON Schema ([`schema`]) and a redacted insta
//! snapshot ([`snapshot`]). Each check returns [`Drift`]s, classified by
//! [`DriftClass`], so a reader knows at once what changed.
//!
//! Nothing here knows the double: the expected values come from `features/`
//! and `features/schemas/`, never from shared constants.

pub mod drift;
pub mod expect;
pub mod schema;
pub mod snapshot;

pub use drift::{CheckKind, CheckOutcome, Drift, DriftClass, DriftPath};
