//! Requests to the token endpoint. Two phrasings, one mechanism: the page's
//! own scenarios by name ("the partner requests a refresh without grant
//! type", a typed [`Refresh`]), and a table of form fields whose values may
//! be [`Placeholder`]s ("the partner sends a token request with client
//! authentication by HTTP Basic:"). Both become a [`RequestSpec`], which is
//! resolved (placeholders filled in from the run, secrets kept as
//! [`Secret`]s) and sent the same way.
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
use payu_contract::client::{ClientAuth, TokenRequest};
use payu_contract::secret::Secret;

/// A request before the run fills it in: how the client authenticates, and
/// the form fields in order.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestSpec {
    pub auth: Auth,
    pub fields: Vec<(String, Cell)>,
}

impl RequestSpec {
    /// The documented request: client id and secret, grant_type, the live
    /// refresh token, the client authenticated as the run is configured.
    fn documented() -> RequestSpec {
        let p = |p| Cell::Placeholder(p);
        RequestSpec {
            auth: Auth::AsConfigured,
            fields: vec![
                ("client_id".into(), p(Placeholder::ClientId)),
                ("client_secret".into(), p(Placeholder::ClientSecret)),
                ("grant_type".into(), Cell::Literal("refresh_token".into())),
                ("refresh_token".into(), p(Placeholder::LiveRefreshToken)),
            ],
        }
    }

    fn without(mut self, name: &str) -> Self {
        self.fields.retain(|(k, _)| k != name);
        self
    }

    fn with(mut self, name: &str, value: Cell) -> Self {
        match self.fields.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value,
            None => self.fields.push((name.to_owned(), value)),
        }
        self
    }

    fn cell(&self, name: &str) -> Option<&Cell> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The rule for spending, stated once: a refresh_token grant that
    /// carries the chain's live token may spend it (so it is written ahead
    /// and never retried once it may have reached the server).
    fn may_spend(&self) -> bool {
        self.cell("refresh_token") == Some(&Cell::Placeholder(Placeholder::LiveRefreshToken))
            && self.cell("grant_type") == Some(&Cell::Literal("refresh_token".into()))
    }

    /// Whether a refresh token this request is handed belongs to the
    /// partner's chain: it carried one of the chain's tokens.
    fn feeds_chain(&self) -> bool {
        matches!(
            self.cell("refresh_token"),
            Some(Cell::Placeholder(
                Placeholder::LiveRefreshToken | Placeholder::UsedRefreshToken
            ))
        )
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

impl Refresh {
    /// The page's scenarios, each as a variant of the documented request.
    pub fn spec(self) -> RequestSpec {
        let doc = RequestSpec::documented();
        let p = Cell::Placeholder;
        match self {
            Refresh::Documented => doc,
            Refresh::WithoutClientSecret => RequestSpec {
                auth: Auth::Form,
                ..doc.without("client_secret")
            },
            Refresh::WithoutGrantType => doc.without("grant_type"),
            Refresh::WithoutRefreshToken => doc.without("refresh_token"),
            Refresh::InvalidGrantType => {
                doc.with("grant_type", Cell::Literal("refresh_tokens".into()))
            }
            Refresh::InvalidRefreshToken => doc.with("refresh_token", p(Placeholder::RandomToken)),
            Refresh::InvalidClient => doc
                .with("client_id", p(Placeholder::UnknownClientId))
                .with("client_secret", p(Placeholder::RandomToken)),
            Refresh::UsedRefreshToken => {
                doc.with("refresh_token", p(Placeholder::UsedRefreshToken))
            }
        }
    }
}

fn random_hex() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
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
                    "<used refresh token> before any refresh token was used in the scenario"
                        .into(),
                )
            })?,
        // Not token-shaped, so it cannot be mistaken for a leaked token.
        Placeholder::UnknownClientId => {
            Secret::new(format!("unregistered-client-{}", &random_hex()[..24]))
        }
        Placeholder::RandomToken => Secret::new(random_hex()),
        Placeholder::ConfidentialClientId => {
            Secret::new(confidential(world)?.client_id.clone())
        }
        Placeholder::ConfidentialClientSecret => confidential(world)?.client_secret.clone(),
        Placeholder::ConfidentialRefreshToken => confidential(world)?.refresh_token.clone(),
    }))
}

/// Fills in a spec: placeholders resolved, the client authenticated as the
/// spec says.
fn build(
    world: &mut ContractWorld,
    ctx: &RunContext,
    spec: &RequestSpec,
) -> Result<TokenRequest, String> {
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
    let mut req = TokenRequest::default();
    if basic {
        let take = |fields: &mut Vec<(String, Secret<String>)>, name: &str| {
            let at = fields.iter().position(|(k, _)| k == name)?;
            Some(fields.remove(at).1)
        };
        let id = take(&mut fields, "client_id").ok_or_else(|| {
            authoring(
                world,
                "HTTP Basic client authentication needs a client_id row".into(),
            )
        })?;
        let secret = take(&mut fields, "client_secret").unwrap_or_else(|| Secret::new(String::new()));
        req.basic = Some((id.expose().clone(), secret));
    }
    req.fields = fields;
    req.consumes = spec.may_spend();
    Ok(req)
}

async fn send(world: &mut ContractWorld, spec: &RequestSpec) -> Result<(), String> {
    let ctx = world.ctx()?;
    let req = build(world, &ctx, spec)?;
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
        .and_then(issued_refresh_token)
        .filter(|_| spec.feeds_chain());
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
    world.remember(&ctx, exchange, sent);
    persisted.map_err(|e| fault(world, e.to_string()))
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

#[when(expr = "the partner requests a refresh {refresh}")]
async fn request_refresh(world: &mut ContractWorld, how: Refresh) -> Result<(), String> {
    send(world, &how.spec()).await
}

#[when(expr = "the partner sends a token request with client authentication {auth}:")]
async fn request_table(world: &mut ContractWorld, auth: Auth, step: &Step) -> Result<(), String> {
    let spec = RequestSpec::from_table(auth, step).map_err(|e| authoring(world, e))?;
    send(world, &spec).await
}

#[given(expr = "the partner has refreshed once")]
async fn refreshed_once(world: &mut ContractWorld) -> Result<(), String> {
    send(world, &Refresh::Documented.spec()).await?;
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
    fn only_a_refresh_grant_carrying_the_live_token_may_spend_it() {
        assert!(Refresh::Documented.spec().may_spend());
        assert!(Refresh::InvalidClient.spec().may_spend());
        for r in [
            Refresh::WithoutGrantType,
            Refresh::InvalidGrantType,
            Refresh::InvalidRefreshToken,
            Refresh::UsedRefreshToken,
            Refresh::WithoutRefreshToken,
        ] {
            assert!(!r.spec().may_spend(), "{r:?}");
        }
        assert!(Refresh::UsedRefreshToken.spec().feeds_chain());
        assert!(!Refresh::InvalidRefreshToken.spec().feeds_chain());
    }
}
