//! Step definitions, one file per concept, and their typed parameters
//! (`params.rs`). Shared here: how a step gets the latest response (or
//! learns that there is none to judge), how it records a check, and the
//! three ways a step stops without a verdict on the endpoint (a fault, a
//! scenario that does not apply to this target, a mistake in the feature
//! file).

mod credentials;
pub mod params;
mod requests;
pub(crate) mod responses;
mod rotation;

use super::ContractWorld;
use payu_contract::client::HttpResponse;
use payu_contract::contract::{CheckKind, CheckOutcome, Drift};

/// The latest response, if it can be judged at all. Transport faults and
/// 5xx answers (proxies' HTML error pages included) are infrastructure
/// faults: the scenario gets no verdict rather than a drift.
fn judged(world: &mut ContractWorld) -> Result<HttpResponse, String> {
    let Some(exchange) = &world.last else {
        return Err("no request was sent before this check".into());
    };
    let fault = match &exchange.outcome {
        Err(fault) => format!("the endpoint could not be reached: {fault}"),
        Ok(r) if r.status >= 500 => format!(
            "the endpoint answered {} ({}): an infrastructure fault, not a contract answer",
            r.status,
            r.header("content-type").unwrap_or("no content type")
        ),
        Ok(r) => return Ok(r.clone()),
    };
    world.record.fault.get_or_insert(fault.clone());
    Err(format!("no verdict: {fault}"))
}

/// Records a check. A drift does not stop the scenario: every check of the
/// response runs and is reported; the verdict is drawn from all of them.
fn record(world: &mut ContractWorld, kind: CheckKind, name: impl Into<String>, drifts: Vec<Drift>) {
    world
        .record
        .checks
        .push(CheckOutcome::new(kind, name, drifts));
}

/// The run cannot judge this scenario (infrastructure fault, token state).
fn fault(world: &mut ContractWorld, why: String) -> String {
    world.record.fault.get_or_insert(why.clone());
    format!("no verdict: {why}")
}

/// The scenario needs something this target does not have: skipped.
fn skip(world: &mut ContractWorld, why: String) -> String {
    world.record.skipped.get_or_insert(why.clone());
    format!("skipped: {why}")
}

/// The feature file asks for something the vocabulary does not have (an
/// unknown placeholder or schema): a usage error of the suite, exit 2.
fn authoring(world: &mut ContractWorld, why: String) -> String {
    world.record.authoring.get_or_insert(why.clone());
    format!("feature file error: {why}")
}
