//! Two requests that start or verify a chain without spending it:
//! the "Get Token" password grant that mints a first refresh token, and a
//! probe that tells whether a refresh token is alive without consuming it.
//!
//! The probe relies on the real server's check order (token, then client):
//! a refresh with the token and a deliberately wrong client secret is
//! refused either way, with `invalid_client` when the token is alive and
//! `invalid_grant` when it is unknown or revoked.

use crate::client::{Exchange, TokenClient, TokenRequest};
use crate::config::Credentials;
use crate::secret::Secret;

/// What a probe learned about a refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Refused for the client (`invalid_client`): the token is alive.
    Alive,
    /// Refused for the token (`invalid_grant`): unknown, revoked or used.
    Dead,
    /// Anything else: the answer's status and error code.
    Unexpected(String),
}

/// A secret no client has: 64 random hex characters.
pub fn wrong_secret() -> Secret<String> {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(format!("probe-{}", hex::encode(bytes)))
}

/// The probe request: never consumes (the server refuses it before rotating).
pub fn probe_request(client_id: &str, token: &Secret<String>) -> TokenRequest {
    TokenRequest::default()
        .field("client_id", client_id)
        .field("client_secret", wrong_secret())
        .field("grant_type", "refresh_token")
        .field("refresh_token", token.clone())
}

pub fn read_probe(exchange: &Exchange) -> Result<Probe, String> {
    let resp = exchange.outcome.as_ref().map_err(|f| f.to_string())?;
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

pub async fn probe(
    client: &TokenClient,
    client_id: &str,
    token: &Secret<String>,
) -> Result<Probe, String> {
    read_probe(&client.send(&probe_request(client_id, token)).await)
}

/// The "Get Token" request: `grant_type=password` with the client's
/// credentials, the user's name and password, and the scope.
pub fn password_request(creds: &Credentials) -> Option<TokenRequest> {
    let (username, password) = (creds.username.as_ref()?, creds.password.as_ref()?);
    let mut req = TokenRequest::default().field("client_id", creds.client_id.as_str());
    if let Some(secret) = &creds.client_secret {
        req = req.field("client_secret", secret.clone());
    }
    Some(
        req.field("grant_type", "password")
            .field("username", username.as_str())
            .field("password", password.clone())
            .field("scope", creds.scope.as_str()),
    )
}

/// Mints a first refresh token with the password grant.
pub async fn get_token(
    client: &TokenClient,
    creds: &Credentials,
) -> Result<Secret<String>, String> {
    let req = password_request(creds).ok_or("PAYU_USERNAME and PAYU_PASSWORD are not set")?;
    let exchange = client.send(&req).await;
    let resp = exchange
        .outcome
        .map_err(|f| format!("the Get Token call failed: {f}"))?;
    match (resp.status, resp.str_field("refresh_token")) {
        (200, Some(token)) => Ok(Secret::new(token.to_owned())),
        (status, _) => Err(format!(
            "the Get Token call (password grant) was refused: {status} {}",
            resp.str_field("error").unwrap_or("(no error code)")
        )),
    }
}
