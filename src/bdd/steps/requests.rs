//! Requests to the token endpoint, phrased as the documentation phrases the
//! scenarios ("a refresh without grant type"). Every response that hands
//! out a refresh token goes into the chain (and so the token store) before
//! the step returns: a rotated token is data and is never lost.

use crate::bdd::{ContractWorld, context};
use cucumber::{given, when};
use payu_contract::oauth::{self, Request, Spends};
use payu_contract::secret::Secret;

/// The partner's client, authenticating as configured (`--client-auth`).
fn partner() -> oauth::Client {
    let ctx = context::get();
    oauth::Client::of(&ctx.credentials, ctx.client_auth)
}

async fn send(world: &mut ContractWorld, req: Request) -> Result<(), String> {
    let ctx = context::get();
    let chain = &ctx.chain;
    let sent = req.refresh_token().cloned();
    let consumes = req.spends() != Spends::Nothing;
    if consumes {
        chain
            .before_consuming()
            .map_err(|e| fault(world, e.to_string()))?;
    }
    let exchange = ctx.client.send(&req).await;
    let issued = exchange
        .outcome
        .as_ref()
        .ok()
        .filter(|r| (200..300).contains(&r.status))
        .and_then(oauth::issued_refresh_token);
    let persisted = match (&exchange.outcome, issued) {
        // Whatever was asked, a handed-out refresh token is the live one now.
        (_, Some(new)) => chain.rotated(new),
        (Ok(resp), None) if consumes && resp.status < 500 => chain.not_consumed(),
        (Err(f), None) if consumes && f.certainly_unsent() => chain.not_consumed(),
        (_, None) if consumes => {
            chain.outcome_unknown();
            Ok(())
        }
        _ => Ok(()),
    };
    world.remember(exchange, sent);
    persisted.map_err(|e| fault(world, e.to_string()))
}

/// The live token of the chain; when its state is unknown the scenario
/// cannot be judged.
fn current(world: &mut ContractWorld) -> Result<Secret<String>, String> {
    context::get()
        .chain
        .current()
        .map_err(|e| fault(world, e.to_string()))
}

fn fault(world: &mut ContractWorld, why: String) -> String {
    world.record.fault.get_or_insert(why.clone());
    format!("no verdict: {why}")
}

#[when(regex = r"^the partner requests a refresh (.+)$")]
async fn request_refresh(world: &mut ContractWorld, how: String) -> Result<(), String> {
    let ctx = context::get();
    let chain = &ctx.chain;
    let req = match how.trim() {
        "with all documented parameters" | "with the new refresh token" => {
            Request::refresh(&partner(), &current(world)?)
        }
        "without client secret" => {
            Request::refresh_without_client_secret(&partner(), &current(world)?)
        }
        "without grant type" => Request::refresh_without_grant_type(&partner(), &current(world)?),
        "without refresh token" => Request::refresh_without_refresh_token(&partner()),
        "with invalid grant type" => {
            Request::refresh_with_invalid_grant_type(&partner(), &current(world)?)
        }
        "invalid refresh token" | "with an invalid refresh token" => {
            Request::refresh_with_invalid_refresh_token(&partner())
        }
        "with invalid client" => {
            Request::refresh_with_invalid_client(ctx.client_auth, &current(world)?)
        }
        "with the refresh token it has just used" => {
            let used = world
                .last_sent_token
                .clone()
                .or_else(|| chain.last_used())
                .ok_or("no refresh token has been used in this scenario")?;
            Request::replay(&partner(), &used)
        }
        other => {
            return Err(format!(
                "the suite does not know how to request a refresh {other:?}"
            ));
        }
    };
    send(world, req).await
}

#[given(regex = r"^the partner has refreshed once$")]
async fn refreshed_once(world: &mut ContractWorld) -> Result<(), String> {
    request_refresh(world, "with all documented parameters".into()).await?;
    let response = super::judged(world)?;
    super::record(
        world,
        payu_contract::contract::CheckKind::Scenario,
        "the first refresh succeeds",
        payu_contract::contract::expect::status(200, response.status),
    );
    Ok(())
}
