//! Who the partner is: credentials and the live refresh token (from the run
//! configuration, never from step code), and the headers every token
//! response is expected to carry (from the feature file).

use crate::bdd::ContractWorld;
use cucumber::gherkin::Step;
use cucumber::given;

#[given(expr = "the partner's client credentials and a live refresh token")]
fn credentials_and_token(world: &mut ContractWorld) -> Result<(), String> {
    let ctx = world.ctx()?;
    if ctx.credentials.client_id.is_empty() {
        return Err("no client id configured".into());
    }
    // Not the endpoint's fault and not drift: the run cannot judge.
    ctx.chain
        .current()
        .map(|_| ())
        .map_err(|e| super::fault(world, e.to_string()))
}

#[given(expr = "every token response is expected to carry these headers:")]
fn expected_headers(world: &mut ContractWorld, step: &Step) -> Result<(), String> {
    let table = step
        .table
        .as_ref()
        .ok_or("the step needs a table of header | value")?;
    world.expected_headers = table
        .rows
        .iter()
        .filter(|row| row.len() >= 2)
        .map(|row| (row[0].trim().to_owned(), row[1].trim().to_owned()))
        .collect();
    Ok(())
}
