//! The cucumber side of the suite: the [`ContractWorld`], the run-wide
//! [`context::RunContext`] the steps read their configuration from, the step
//! definitions (one file per concept under `steps/`) and the event
//! [`writer::Collector`] that turns cucumber's events into a report.
//!
//! This lives in the binary on purpose: step definitions in a library crate
//! can be dropped at link time and then show up as skipped.

pub mod context;
pub(crate) mod steps;
pub mod writer;

use payu_contract::client::Exchange;
use payu_contract::contract::CheckOutcome;
use payu_contract::report::{ExchangeReport, ResponseRecord};
use payu_contract::secret::Secret;

/// The state of one scenario. Everything secret in here is a [`Secret`] or
/// an already-redacted record, so cucumber's debug dump of a World is safe.
#[derive(Debug, Default, cucumber::World)]
pub struct ContractWorld {
    /// The scenario's name, for snapshot names.
    pub scenario: String,
    pub expected_headers: Vec<(String, String)>,
    /// The latest exchange and the refresh token it carried.
    pub last: Option<Exchange>,
    pub last_sent_token: Option<Secret<String>>,
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
}

impl ContractWorld {
    /// Records an exchange for the report (redacted) and keeps it as the
    /// latest one for the checks that follow.
    pub fn remember(&mut self, exchange: Exchange, sent: Option<Secret<String>>) {
        let scrubber = context::get().client.scrubber().clone();
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
