//! Requests to the token endpoint, phrased as the documentation phrases the
//! scenarios ("a refresh without grant type"). Every response that hands
//! out a refresh token goes into the chain (and so the token store) before
//! the step returns: a rotated token is data and is never lost.

use crate::bdd::{ContractWorld, context};
use cucumber::{given, when};
use payu_contract::client::{ClientAuth, TokenRequest};
use payu_contract::secret::Secret;

/// The documented request: client id and secret in the form (or HTTP Basic
/// when configured), grant_type=refresh_token, the refresh token.
fn documented_refresh(token: &Secret<String>) -> TokenRequest {
    let ctx = context::get();
    let creds = &ctx.credentials;
    let mut req = TokenRequest::default();
    match (ctx.client_auth, &creds.client_secret) {
        (ClientAuth::Basic, Some(secret)) => {
            req.basic = Some((creds.client_id.clone(), secret.clone()));
        }
        (_, secret) => {
            req = req.field("client_id", creds.client_id.as_str());
            if let Some(secret) = secret {
                req = req.field("client_secret", secret.clone());
            }
        }
    }
    req.field("grant_type", "refresh_token")
        .field("refresh_token", token.clone())
}

fn random_hex() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

async fn send(world: &mut ContractWorld, req: TokenRequest) -> Result<(), String> {
    let ctx = context::get();
    let chain = &ctx.chain;
    let sent = req.get("refresh_token").cloned();
    if req.consumes {
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
        .and_then(issued_refresh_token);
    let persisted = match (&exchange.outcome, issued) {
        // Whatever was asked, a handed-out refresh token is the live one now.
        (_, Some(new)) => chain.rotated(Secret::new(new)),
        (Ok(resp), None) if req.consumes && resp.status < 500 => chain.not_consumed(),
        (Err(f), None) if req.consumes && f.certainly_unsent() => chain.not_consumed(),
        (_, None) if req.consumes => {
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

/// The refresh token a success handed out, in whatever body it came.
fn issued_refresh_token(resp: &payu_contract::client::HttpResponse) -> Option<String> {
    if let Some(t) = resp.str_field("refresh_token") {
        return Some(t.to_owned());
    }
    url::form_urlencoded::parse(resp.raw_body().trim().as_bytes())
        .find(|(k, _)| k == "refresh_token")
        .map(|(_, v)| v.into_owned())
}

#[when(regex = r"^the partner requests a refresh (.+)$")]
async fn request_refresh(world: &mut ContractWorld, how: String) -> Result<(), String> {
    let ctx = context::get();
    let chain = &ctx.chain;
    let req = match how.trim() {
        "with all documented parameters" | "with the new refresh token" => {
            let mut r = documented_refresh(&current(world)?);
            r.consumes = true;
            r
        }
        "without client secret" => {
            let token = current(world)?;
            let mut r = TokenRequest::default()
                .field("client_id", ctx.credentials.client_id.as_str())
                .field("grant_type", "refresh_token")
                .field("refresh_token", token);
            r.consumes = true;
            r
        }
        "without grant type" => documented_refresh(&current(world)?).without("grant_type"),
        "without refresh token" => documented_refresh(&current(world)?).without("refresh_token"),
        "with invalid grant type" => {
            documented_refresh(&current(world)?).set("grant_type", "refresh_tokens")
        }
        "invalid refresh token" | "with an invalid refresh token" => {
            documented_refresh(&Secret::new(random_hex()))
        }
        "with invalid client" => {
            // A VALID refresh token with a client the server does not know:
            // with a bad token the server would answer invalid_grant first.
            let mut r = documented_refresh(&current(world)?);
            // Not token-shaped, so it cannot be mistaken for a leaked token.
            let unknown_id = format!("unregistered-client-{}", &random_hex()[..24]);
            let unknown_secret = Secret::new(random_hex());
            if r.basic.is_some() {
                r.basic = Some((unknown_id, unknown_secret));
            } else {
                r = r
                    .set("client_id", unknown_id)
                    .set("client_secret", unknown_secret);
                // Keep the documented field order: id first.
                r.fields.sort_by_key(|(k, _)| match k.as_str() {
                    "client_id" => 0,
                    "client_secret" => 1,
                    "grant_type" => 2,
                    _ => 3,
                });
            }
            r
        }
        "with the refresh token it has just used" => {
            let used = world
                .last_sent_token
                .clone()
                .or_else(|| chain.last_used())
                .ok_or("no refresh token has been used in this scenario")?;
            documented_refresh(&used)
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
