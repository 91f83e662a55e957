//! Requests to the token endpoint. Two phrasings, one mechanism: the page's
//! own scenarios by name ("the partner requests a refresh without grant
//! type", a typed [`Refresh`]), and a table of form fields whose values may
//! be [`Placeholder`]s ("the partner sends a token request with client
//! authentication by HTTP Basic:"). The named ones are the protocol
//! module's constructors ([`oauth::Request`]); a table is resolved
//! (placeholders filled in from the run, secrets kept as [`Secret`]s) into
//! [`oauth::Request::from_fields`], which decides what it may spend. Both are
//! sent the same way.
//!
//! Every response that hands out a refresh token for the partner's chain goes
//! into the chain (and so the token store) before the step returns: a
//! rotated token is data and is never lost.

use super::params::{Auth, Cell, Placeholder, Refresh};
use super::{authoring, fault, skip};
use crate::bdd::ContractWorld;
use crate::bdd::context::RunContext;
use cucumber::gherkin::Step;
use cucumber::{given, when};
use payu_contract::oauth::{self, ClientAuth, Request};
use payu_contract::secret::Secret;

/// A request before the run fills it in: how the client authenticates, and
/// the form fields in order.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestSpec {
    pub auth: Auth,
    pub fields: Vec<(String, Cell)>,
}

impl RequestSpec {
    /// Whether a refresh token this request is handed belongs to the
    /// partner's chain: it carried one of the chain's tokens (a token handed
    /// to the double's confidential client is not the partner's).
    fn feeds_chain(&self) -> bool {
        self.fields.iter().any(|(_, v)| {
            matches!(
                v,
                Cell::Placeholder(Placeholder::LiveRefreshToken | Placeholder::UsedRefreshToken)
            )
        })
    }

    /// A data table of `field | value` rows.
    fn from_table(auth: Auth, step: &Step) -> Result<RequestSpec, String> {
        let table = step
            .table
            .as_ref()
            .ok_or("the step needs a table of field | value rows")?;
        let mut fields = Vec::new();
        for row in &table.rows {
            let [name, value] = row.as_slice() else {
                return Err(format!(
                    "each row of the request table has two cells, field | value; this one has {}",
                    row.len()
                ));
            };
            fields.push((name.trim().to_owned(), value.parse::<Cell>()?));
        }
        Ok(RequestSpec { auth, fields })
    }
}

/// The page's scenarios, each one of the protocol module's constructors
/// for the partner's client, authenticated as configured.
fn named(world: &mut ContractWorld, ctx: &RunContext, how: Refresh) -> Result<Request, String> {
    let partner = oauth::Client::of(&ctx.credentials, ctx.client_auth);
    let live = |world: &mut ContractWorld| {
        resolve(world, ctx, Placeholder::LiveRefreshToken).map(Option::unwrap_or_default)
    };
    Ok(match how {
        Refresh::Documented => Request::refresh(&partner, &live(world)?),
        Refresh::WithoutClientSecret => {
            Request::refresh_without_client_secret(&partner, &live(world)?)
        }
        Refresh::WithoutGrantType => Request::refresh_without_grant_type(&partner, &live(world)?),
        Refresh::WithoutRefreshToken => Request::refresh_without_refresh_token(&partner),
        Refresh::InvalidGrantType => {
            Request::refresh_with_invalid_grant_type(&partner, &live(world)?)
        }
        Refresh::InvalidRefreshToken => Request::refresh_with_invalid_refresh_token(&partner),
        Refresh::InvalidClient => {
            Request::refresh_with_invalid_client(ctx.client_auth, &live(world)?)
        }
        Refresh::UsedRefreshToken => {
            let used = resolve(world, ctx, Placeholder::UsedRefreshToken)?.unwrap_or_default();
            Request::replay(&partner, &used)
        }
    })
}

/// The value of a placeholder in this run; `None` leaves the row out (a
/// client secret the target was not configured with).
fn resolve(
    world: &mut ContractWorld,
    ctx: &RunContext,
    p: Placeholder,
) -> Result<Option<Secret<String>>, String> {
    let confidential = |world: &mut ContractWorld| {
        ctx.confidential.as_ref().ok_or_else(|| {
            skip(
                world,
                format!("{p} is only known for the embedded double: this target configures no confidential client"),
            )
        })
    };
    Ok(Some(match p {
        Placeholder::ClientId => Secret::new(ctx.credentials.client_id.clone()),
        Placeholder::ClientSecret => return Ok(ctx.credentials.client_secret.clone()),
        Placeholder::LiveRefreshToken => ctx
            .chain
            .current()
            .map_err(|e| fault(world, e.to_string()))?,
        Placeholder::UsedRefreshToken => world
            .last_sent_token
            .clone()
            .or_else(|| ctx.chain.last_used())
            .ok_or_else(|| {
                authoring(
                    world,
                    "<used refresh token> before any refresh token was used in the scenario".into(),
                )
            })?,
        // Not token-shaped, so it cannot be mistaken for a leaked token.
        Placeholder::UnknownClientId => Secret::new(format!(
            "unregistered-client-{}",
            &oauth::random_token().expose()[..24]
        )),
        Placeholder::RandomToken => oauth::random_token(),
        Placeholder::ConfidentialClientId => Secret::new(confidential(world)?.client_id.clone()),
        Placeholder::ConfidentialClientSecret => confidential(world)?.client_secret.clone(),
        Placeholder::ConfidentialRefreshToken => confidential(world)?.refresh_token.clone(),
    }))
}

/// Fills in a table: placeholders resolved, the client authenticated as
/// the table says. What it may spend is the protocol module's call.
fn build(
    world: &mut ContractWorld,
    ctx: &RunContext,
    spec: &RequestSpec,
) -> Result<Request, String> {
    let mut fields = Vec::with_capacity(spec.fields.len());
    for (name, cell) in &spec.fields {
        let value = match cell {
            Cell::Literal(v) => Some(Secret::new(v.clone())),
            Cell::Placeholder(p) => resolve(world, ctx, *p)?,
        };
        if let Some(value) = value {
            fields.push((name.clone(), value));
        }
    }
    let has_secret = fields.iter().any(|(k, _)| k == "client_secret");
    let basic = match spec.auth {
        Auth::Basic => true,
        Auth::Form => false,
        Auth::AsConfigured => ctx.client_auth == ClientAuth::Basic && has_secret,
    };
    let basic = if basic {
        let mut take = |name: &str| {
            let at = fields.iter().position(|(k, _)| k == name)?;
            Some(fields.remove(at).1)
        };
        let id = take("client_id");
        // Basic without a secret is an empty password (the protocol module's rule).
        let secret = take("client_secret").unwrap_or_default();
        let id = id.ok_or_else(|| {
            authoring(
                world,
                "HTTP Basic client authentication needs a client_id row".into(),
            )
        })?;
        Some((id.expose().clone(), secret))
    } else {
        None
    };
    let live = ctx.chain.current().ok();
    Ok(Request::from_fields(fields, basic, live.as_ref()))
}

/// Sends a request. `feeds_chain`: a refresh token handed out in answer
/// belongs to the partner's chain (and goes into it before this returns).
async fn send(world: &mut ContractWorld, req: Request, feeds_chain: bool) -> Result<(), String> {
    let ctx = world.ctx()?;
    let sent = req.refresh_token().cloned();
    if !feeds_chain {
        // Not the partner's chain (the double's confidential client): its
        // tokens are nobody's to keep.
        let exchange = ctx.client.send(&req).await;
        world.remember(&ctx, exchange, sent);
        return Ok(());
    }
    // The write-ahead rule and the saving of a handed-out token live in
    // the chain (payu_contract::chain::TokenChain::send).
    let result = ctx
        .chain
        .send(&ctx.client, &req)
        .await
        .map_err(|e| fault(world, e.to_string()))?;
    world.remember(&ctx, result.exchange, sent);
    match result.trouble {
        Some(e) => Err(fault(world, e.to_string())),
        None => Ok(()),
    }
}

#[when(expr = "the partner requests a refresh {refresh}")]
pub(super) async fn request_refresh(world: &mut ContractWorld, how: Refresh) -> Result<(), String> {
    let ctx = world.ctx()?;
    let req = named(world, &ctx, how)?;
    send(world, req, true).await
}

#[when(expr = "the partner sends a token request with client authentication {auth}:")]
async fn request_table(world: &mut ContractWorld, auth: Auth, step: &Step) -> Result<(), String> {
    let spec = RequestSpec::from_table(auth, step).map_err(|e| authoring(world, e))?;
    let ctx = world.ctx()?;
    let req = build(world, &ctx, &spec)?;
    send(world, req, spec.feeds_chain()).await
}

#[given(expr = "the partner has refreshed once")]
async fn refreshed_once(world: &mut ContractWorld) -> Result<(), String> {
    request_refresh(world, Refresh::Documented).await?;
    let response = super::judged(world)?;
    super::record(
        world,
        payu_contract::contract::CheckKind::Scenario,
        "the first refresh succeeds",
        payu_contract::contract::expect::status(200, response.status),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tables_carrying_a_chain_token_feed_the_chain() {
        let spec = |rows: &[(&str, &str)]| RequestSpec {
            auth: Auth::Form,
            fields: rows
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.parse().unwrap()))
                .collect(),
        };
        assert!(spec(&[("refresh_token", "<live refresh token>")]).feeds_chain());
        assert!(spec(&[("refresh_token", "<used refresh token>")]).feeds_chain());
        assert!(!spec(&[("refresh_token", "<confidential refresh token>")]).feeds_chain());
        assert!(!spec(&[("refresh_token", "<random token>")]).feeds_chain());
    }
}
