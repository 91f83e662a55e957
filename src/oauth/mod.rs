//! Every request the project sends to a token endpoint, built in one place,
//! and the reading of the answers that matter to the chain (the issued
//! refresh token, what a liveness probe learned).
//!
//! Each constructor fixes two facts a caller cannot change afterwards:
//!
//! - **whether the request can spend something** ([`Spends`]): a refresh
//!   that a conforming server would honour spends the refresh token it
//!   carries; the Get Token call (password grant) issues a new token (a
//!   grant) everywhere it is sent; probes and the documented refusals spend
//!   nothing. The retry policy of [`crate::client::TokenClient`] and the
//!   write-ahead rule of [`crate::chain::TokenChain`] are derived from it:
//!   only a request that spends nothing is ever retried, and the chain marks
//!   its token "possibly consumed" before any request that may spend it.
//! - **how the client authenticates** ([`ClientAuth`]): the documented form
//!   fields (`client_id`, `client_secret`), or HTTP Basic.
//!
//! # Basic auth without a secret
//!
//! One meaning, everywhere: `Authorization: Basic base64(client_id ":")`,
//! the client id as user name and an EMPTY password (RFC 6749 §2.3.1; the
//! real server, Doorkeeper, reads Basic first and treats an empty secret as
//! no secret, so a public client authenticates this way). The form then
//! carries no `client_id` and no `client_secret`.
//!
//! # The probe
//!
//! The real server checks a refresh in this order (NOTES.md §3): grant type,
//! token present, token known and not revoked, client authenticates, ...
//! So a refresh with the partner's token and a deliberately wrong secret is
//! refused either way, with `invalid_client` when the token is alive and
//! `invalid_grant` when it is unknown or revoked: [`Request::liveness_probe`].

use crate::client::{Exchange, HttpResponse};
use crate::config::Credentials;
use crate::redact;
use crate::secret::Secret;

/// How the client authenticates. See the module docs for Basic without a
/// secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// The documented form fields `client_id` and `client_secret`.
    #[default]
    Body,
    /// `Authorization: Basic` with the client id and secret (empty when the
    /// client has none).
    Basic,
}

impl ClientAuth {
    /// The setting's spelling (`PAYU_CLIENT_AUTH`).
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::Body => "body",
            ClientAuth::Basic => "basic",
        }
    }
}

/// What a request can spend if the server honours it. Fixed by the
/// constructor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spends {
    /// Nothing: a server that follows the documented check order refuses it
    /// before it touches a token. Retried on transient faults.
    Nothing,
    /// The refresh token it carries (a refresh that may succeed). Never
    /// retried once it may have reached the server; written ahead.
    RefreshToken,
    /// A grant: the request may issue a new token (the Get Token call).
    /// Never retried once it may have reached the server.
    Grant,
}

impl Spends {
    /// True when sending it twice cannot cost anything.
    pub fn retryable(self) -> bool {
        self == Spends::Nothing
    }
}

/// A client as a request presents it: id, optional secret, and the way it
/// authenticates.
#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    pub secret: Option<Secret<String>>,
    pub auth: ClientAuth,
}

impl Client {
    pub fn new(id: impl Into<String>, secret: Option<Secret<String>>, auth: ClientAuth) -> Client {
        Client {
            id: id.into(),
            secret,
            auth,
        }
    }

    /// The partner's client from the configured credentials.
    pub fn of(creds: &Credentials, auth: ClientAuth) -> Client {
        Client::new(creds.client_id.as_str(), creds.client_secret.clone(), auth)
    }

    /// The same client presenting no secret.
    pub fn without_secret(&self) -> Client {
        Client {
            secret: None,
            ..self.clone()
        }
    }

    /// The same client presenting `secret` instead of its own.
    fn with_secret(&self, secret: Secret<String>) -> Client {
        Client {
            secret: Some(secret),
            ..self.clone()
        }
    }
}

/// A scope no server grants: asked for by the probes so that a password
/// grant that gets past the user check is still refused, never issued.
pub const PROBE_SCOPE: &str = "payu-contract-probe-no-such-scope";

/// One form request to the token endpoint. Fields are private: what a
/// request spends is decided by its constructor and cannot be changed by
/// editing the form afterwards.
#[derive(Clone, Debug)]
pub struct Request {
    fields: Vec<(String, Secret<String>)>,
    basic: Option<(String, Secret<String>)>,
    spends: Spends,
}

impl Request {
    /// The client's authentication, the way it is configured.
    fn authenticated(client: &Client, spends: Spends) -> Request {
        let mut req = Request {
            fields: Vec::new(),
            basic: None,
            spends,
        };
        match client.auth {
            ClientAuth::Body => {
                req.push("client_id", client.id.as_str());
                if let Some(s) = &client.secret {
                    req.push("client_secret", s.clone());
                }
            }
            ClientAuth::Basic => {
                req.basic = Some((
                    client.id.clone(),
                    client
                        .secret
                        .clone()
                        .unwrap_or_else(|| Secret::new(String::new())),
                ));
            }
        }
        req
    }

    fn push(&mut self, name: &str, value: impl Into<Secret<String>>) {
        self.fields.push((name.to_owned(), value.into()));
    }

    fn with(mut self, name: &str, value: impl Into<Secret<String>>) -> Request {
        self.push(name, value);
        self
    }

    // ---- the documented refresh and its documented variants ---------------

    /// The documented refresh: client authentication, `grant_type=refresh_token`,
    /// the refresh token. Spends the token.
    pub fn refresh(client: &Client, token: &Secret<String>) -> Request {
        Request::authenticated(client, Spends::RefreshToken)
            .with("grant_type", "refresh_token")
            .with("refresh_token", token.clone())
    }

    /// The documented refresh without the client secret (a public client
    /// succeeds with it): spends the token.
    pub fn refresh_without_client_secret(client: &Client, token: &Secret<String>) -> Request {
        Request::refresh(&client.without_secret(), token)
    }

    /// Without `grant_type`: refused before any token is looked at.
    pub fn refresh_without_grant_type(client: &Client, token: &Secret<String>) -> Request {
        Request::authenticated(client, Spends::Nothing).with("refresh_token", token.clone())
    }

    /// Without `refresh_token`: carries no token.
    pub fn refresh_without_refresh_token(client: &Client) -> Request {
        Request::authenticated(client, Spends::Nothing).with("grant_type", "refresh_token")
    }

    /// An unknown grant type (`refresh_tokens`) with the live token: refused
    /// at the grant-type check.
    pub fn refresh_with_invalid_grant_type(client: &Client, token: &Secret<String>) -> Request {
        Request::authenticated(client, Spends::Nothing)
            .with("refresh_token", token.clone())
            .with("grant_type", "refresh_tokens")
    }

    /// A made-up refresh token nobody issued.
    pub fn refresh_with_invalid_refresh_token(client: &Client) -> Request {
        Request::authenticated(client, Spends::Nothing)
            .with("grant_type", "refresh_token")
            .with("refresh_token", random_token())
    }

    /// A VALID refresh token with a client the server does not know (with a
    /// bad token the server would answer `invalid_grant` first). The id is
    /// not token-shaped, so it cannot be mistaken for a leaked token.
    pub fn refresh_with_invalid_client(auth: ClientAuth, token: &Secret<String>) -> Request {
        let unknown = Client::new(
            format!("unregistered-client-{}", &random_hex(12)),
            Some(random_token()),
            auth,
        );
        Request::authenticated(&unknown, Spends::Nothing)
            .with("grant_type", "refresh_token")
            .with("refresh_token", token.clone())
    }

    /// The documented refresh with a token already used. Counted as spending
    /// (conservatively): a server that wrongly accepts it rotates, and one
    /// with reuse detection may revoke the whole chain.
    pub fn replay(client: &Client, used: &Secret<String>) -> Request {
        Request::refresh(client, used)
    }

    // ---- probes: spend nothing -------------------------------------------

    /// The liveness probe: a refresh with `token` and a secret no client has,
    /// authenticated the configured way (`--client-auth`). `invalid_client`
    /// ⇒ alive, `invalid_grant` ⇒ dead ([`read_probe`]).
    pub fn liveness_probe(client: &Client, token: &Secret<String>) -> Request {
        Request::authenticated(&client.with_secret(wrong_secret()), Spends::Nothing)
            .with("grant_type", "refresh_token")
            .with("refresh_token", token.clone())
    }

    /// The client probe: the Get Token call with the client (with or without
    /// its secret, as given), a made-up user and a made-up scope. The
    /// password grant checks the client first, so `invalid_client` ⇒ the
    /// client did not authenticate; nothing is issued (the user fails).
    pub fn client_probe(client: &Client) -> Request {
        Request::authenticated(client, Spends::Nothing)
            .with("grant_type", "password")
            .with(
                "username",
                format!("payu-contract-probe-{}@invalid", random_hex(8)),
            )
            .with("password", Secret::new(random_hex(16)))
            .with("scope", PROBE_SCOPE)
    }

    /// The user probe: the Get Token call with the real user and a made-up
    /// scope, checked last: `invalid_scope` ⇒ user and password are right,
    /// and nothing is issued.
    pub fn user_probe(client: &Client, username: &str, password: &Secret<String>) -> Request {
        Request::authenticated(client, Spends::Nothing)
            .with("grant_type", "password")
            .with("username", username)
            .with("password", password.clone())
            .with("scope", PROBE_SCOPE)
    }

    // ---- Get Token ---------------------------------------------------------

    /// The Get Token call (password grant): issues a new token, counted as
    /// spending everywhere (never retried).
    pub fn get_token(
        client: &Client,
        username: &str,
        password: &Secret<String>,
        scope: &str,
    ) -> Request {
        Request::authenticated(client, Spends::Grant)
            .with("grant_type", "password")
            .with("username", username)
            .with("password", password.clone())
            .with("scope", scope)
    }

    /// The Get Token call from the configured credentials, when a username
    /// and password are set.
    pub fn get_token_for(creds: &Credentials, auth: ClientAuth) -> Option<Request> {
        let (user, pass) = (creds.username.as_ref()?, creds.password.as_ref()?);
        Some(Request::get_token(
            &Client::of(creds, auth),
            user,
            pass,
            &creds.scope,
        ))
    }

    // ---- arbitrary field lists ------------------------------------------------

    /// A request from an arbitrary field list (a QA-written scenario's data
    /// table), optionally with HTTP Basic credentials. Marked conservatively:
    /// it spends the refresh token when any value (or the Basic secret) is
    /// the chain's live token, a grant when it asks for any grant type other
    /// than `refresh_token` (it may issue a token), and nothing otherwise.
    pub fn from_fields(
        fields: Vec<(String, Secret<String>)>,
        basic: Option<(String, Secret<String>)>,
        live_token: Option<&Secret<String>>,
    ) -> Request {
        let carries_live = live_token.is_some_and(|live| {
            fields.iter().any(|(_, v)| v.expose() == live.expose())
                || basic.as_ref().is_some_and(|(id, s)| {
                    id == live.expose().as_str() || s.expose() == live.expose()
                })
        });
        let grant_type = fields
            .iter()
            .rev()
            .find(|(k, _)| k == "grant_type")
            .map(|(_, v)| v.expose().as_str());
        let spends = if carries_live {
            Spends::RefreshToken
        } else if grant_type.is_some_and(|g| g != "refresh_token") {
            Spends::Grant
        } else {
            Spends::Nothing
        };
        Request {
            fields,
            basic,
            spends,
        }
    }

    // ---- reading ----------------------------------------------------------------

    pub fn spends(&self) -> Spends {
        self.spends
    }

    /// The form fields, secrets included: for sending, never for output.
    pub fn fields(&self) -> &[(String, Secret<String>)] {
        &self.fields
    }

    /// `Authorization: Basic` credentials (client id, secret), if any.
    pub fn basic(&self) -> Option<&(String, Secret<String>)> {
        self.basic.as_ref()
    }

    /// The last value of a form field.
    pub fn get(&self, name: &str) -> Option<&Secret<String>> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The refresh token the request carries.
    pub fn refresh_token(&self) -> Option<&Secret<String>> {
        self.get("refresh_token")
    }

    /// The form as a report may show it: credentials replaced by `[redacted]`.
    pub fn redacted_form(&self) -> Vec<(String, String)> {
        self.fields
            .iter()
            .map(|(k, v)| {
                let shown = if redact::is_secret_key(k) {
                    redact::REDACTED.to_owned()
                } else {
                    v.expose().clone()
                };
                (k.clone(), shown)
            })
            .collect()
    }
}

// ---- answers --------------------------------------------------------------------

/// The refresh token an answer hands out, in whatever body it came: JSON,
/// or a form-encoded body (a drift, but the token in it is still the only
/// valid one). `None` when the body cannot be read as either.
pub fn issued_refresh_token(resp: &HttpResponse) -> Option<Secret<String>> {
    if let Some(t) = resp.str_field("refresh_token") {
        return Some(Secret::new(t.to_owned())).filter(|s| !s.is_empty());
    }
    if resp.json().is_some() {
        return None;
    }
    url::form_urlencoded::parse(resp.raw_body().trim().as_bytes())
        .find(|(k, _)| k == "refresh_token")
        .map(|(_, v)| Secret::new(v.into_owned()))
        .filter(|s| !s.is_empty())
}

/// What a liveness probe learned about a refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Refused for the client (`invalid_client`): the token is alive.
    Alive,
    /// Refused for the token (`invalid_grant`): unknown, revoked or used.
    Dead,
    /// Anything else: the answer's status and error code.
    Unexpected(String),
}

/// Reads a liveness probe's answer; `Err` when no judgement is possible
/// (transport fault, 5xx).
pub fn read_probe(exchange: &Exchange) -> Result<Probe, String> {
    let resp = exchange.outcome.as_ref().map_err(ToString::to_string)?;
    if resp.status >= 500 {
        return Err(format!("the endpoint answered {}", resp.status));
    }
    Ok(match resp.str_field("error") {
        Some("invalid_client") => Probe::Alive,
        Some("invalid_grant") => Probe::Dead,
        Some(other) => Probe::Unexpected(format!("{} {other}", resp.status)),
        None => Probe::Unexpected(format!("{} without an error code", resp.status)),
    })
}

/// A secret no client has: `probe-` and 64 random hex characters.
pub fn wrong_secret() -> Secret<String> {
    Secret::new(format!("probe-{}", random_hex(32)))
}

/// A random token-shaped value (64 hex characters) nobody issued.
pub fn random_token() -> Secret<String> {
    Secret::new(random_hex(32))
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut b = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

#[cfg(test)]
mod tests;
