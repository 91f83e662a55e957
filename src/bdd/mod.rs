//! The cucumber side of the suite: the [`ContractWorld`], the run's
//! [`context::RunContext`] (handed to each World by the run's
//! before-scenario hook), the step vocabulary (one file per concept under
//! `steps/`, typed parameters in `steps/params.rs`) and the event
//! [`writer::Collector`] that turns cucumber's events into a report.
//!
//! This lives in the binary on purpose: step definitions in a library crate
//! can be dropped at link time and then show up as skipped.

pub mod context;
pub(crate) mod steps;
pub mod writer;

use context::RunContext;
use payu_contract::client::Exchange;
use payu_contract::contract::CheckOutcome;
use payu_contract::report::{DocumentedAnswer, ExchangeReport, ResponseRecord};
use payu_contract::secret::Secret;
use std::sync::Arc;

/// The state of one scenario. Everything secret in here is a [`Secret`] or
/// an already-redacted record, so cucumber's debug dump of a World is safe.
#[derive(Debug, Default, cucumber::World)]
pub struct ContractWorld {
    /// The run this scenario belongs to, set by the before-scenario hook.
    pub run: Option<Arc<RunContext>>,
    /// The scenario's name, for snapshot names.
    pub scenario: String,
    pub expected_headers: Vec<(String, String)>,
    /// The latest exchange and the refresh token it carried.
    pub last: Option<Exchange>,
    pub last_sent_token: Option<Secret<String>>,
    /// The access token of the latest documented refresh ("a new refresh
    /// token was issued"), for the protected resource.
    pub issued_access_token: Option<Secret<String>>,
    pub snapshots_taken: usize,
    pub record: WorldRecord,
}

/// What a scenario leaves for the report.
#[derive(Debug, Default, Clone)]
pub struct WorldRecord {
    pub exchanges: Vec<ExchangeReport>,
    /// Each check with the step that made it.
    pub checks: Vec<CheckOutcome>,
    /// Comparisons with the target's observed baseline (live targets).
    pub since_accepted: Vec<CheckOutcome>,
    pub notes: Vec<String>,
    /// Why this scenario cannot be judged (infrastructure fault).
    pub fault: Option<String>,
    /// Why this scenario does not apply to this target (it needs something
    /// the target does not have, e.g. a second client).
    pub skipped: Option<String>,
    /// A mistake in the feature file itself (an unknown placeholder, an
    /// unknown schema): a usage error of the suite, never drift.
    pub authoring: Option<String>,
    /// An observation ended the scenario early with nothing wrong (the
    /// steps after it do not apply to what was observed): the scenario
    /// passes with this as its reason, unless a check drifted.
    pub concluded: Option<String>,
    /// What the scenario's steps say the page documents for its response,
    /// for the documented-vs-observed table.
    pub documented: DocumentedAnswer,
}

impl ContractWorld {
    /// The run's context. The run's before-scenario hook sets it before any
    /// step (Background included) runs.
    pub fn ctx(&self) -> Result<Arc<RunContext>, String> {
        self.run
            .clone()
            .ok_or_else(|| "bug: the scenario started without the run's context".to_owned())
    }

    /// Records an exchange for the report (redacted) and keeps it as the
    /// latest one for the checks that follow.
    pub fn remember(&mut self, ctx: &RunContext, exchange: Exchange, sent: Option<Secret<String>>) {
        let scrubber = ctx.client.scrubber().clone();
        let (response, fault) = match &exchange.outcome {
            Ok(r) => (
                Some(ResponseRecord {
                    status: r.status,
                    headers: r
                        .headers
                        .iter()
                        .map(|(k, v)| (k.clone(), scrubber.scrub(v)))
                        .collect(),
                    body: r.redacted_body(&scrubber),
                }),
                None,
            ),
            Err(f) => (None, Some(f.to_string())),
        };
        self.record.exchanges.push(ExchangeReport {
            request: exchange.request.clone(),
            response,
            fault,
            elapsed_ms: exchange.elapsed.as_millis() as u64,
            attempts: exchange.attempts,
        });
        self.last = Some(exchange);
        self.last_sent_token = sent;
    }
}
