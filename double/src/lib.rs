//! The embedded double of `PayU`'s token endpoint (`POST /oauth/token`): a real
//! HTTP server that answers the way the real server does (Doorkeeper
//! 4.4.1–5.0.x plus `PayU`'s `user_uuid`), or, under a [`Profile`], the way a
//! drifted server would.
//!
//! This file is the public API: options, fixtures, and starting/stopping the
//! server. The behaviour lives in `handler.rs` (grants), `state.rs` (clients
//! and token rotation), `error.rs` and `response.rs` (what goes on the wire),
//! `params.rs` (reading the request) and `profile.rs` (what may change).
//!
//! Choices where the contract is silent (each mirrors Doorkeeper 4.4–5.0 on
//! Rails 5 / Rack 2 unless said otherwise):
//! - Any method but POST on `/oauth/token`, and any other path, answer Rails'
//!   static 404 page (Rails does not answer 405 for an unrouted method).
//! - A body over `max_body_bytes` answers nginx's HTML 413 page (the limit
//!   lives in the proxy in front of Rails), checked on Content-Length and
//!   again while reading.
//! - Parameters: form bodies (also a POST without Content-Type, as Rack does)
//!   and JSON object bodies; the query string is merged over them; the last
//!   duplicate wins; `&` and `;` both separate pairs. Other media types give
//!   no parameters (so `invalid_request`). Undecodable input (bad `%` escape,
//!   invalid UTF-8, broken JSON) answers `invalid_request` in the profile's
//!   format rather than Rails' bare 400, so every token response has the
//!   token headers.
//! - Empty or all-blank values count as absent (Ruby `present?`); an empty
//!   `client_secret` is no secret.
//! - Deviation from Doorkeeper, by the harness's contract: a refresh or
//!   password grant without any client credentials is `invalid_client`
//!   (Doorkeeper 4.4–5.0 lets a credential-less refresh through, and checks
//!   the password-grant client only when `client_id` is sent).
//! - The loser of a refresh race answers `invalid_request` when it saw the
//!   token before the winner revoked it (Doorkeeper's `InvalidTokenReuse`), and
//!   `invalid_grant` when it arrives after.
//! - Grant types other than `refresh_token` and `password` (for example
//!   `authorization_code`) are `unsupported_grant_type` here.
//! - `user_uuid` is derived from the username (stable across starts and
//!   fixtures) and shaped like a version-1 UUID in `PayU`'s time-ordered layout.
//! - `fixtures()` returns the seed: its refresh tokens are dead once rotated;
//!   use [`DoubleState::issue_refresh_token`] for fresh ones.
//! - Revocation of a used refresh token follows [`DoubleOptions::revocation`]
//!   (at refresh, the default, or on first use of the new access token on
//!   the protected resource `GET /api/me`, [`RunningDouble::resource_url`]).
//!
//! # `documented` and `doorkeeper-5.5`: how they differ, and why
//!
//! `doorkeeper-5.5` is real Doorkeeper 5.5.0 on Rails 6.1, configured like
//! `PayU`'s server; `tests/differential.rs` sends the same requests to it and
//! to the real server (tests/peers/doorkeeper) and requires identical
//! answers. `documented` is the server the `PayU` page describes (its texts,
//! 401s and headers are Doorkeeper 4.4.1-5.0.x, plus `user_uuid`): it stays
//! what a partner is promised, so it differs from 5.5 exactly here:
//! - status: 401 for every error (5.1.0 #1202 moved all but
//!   `invalid_client` to 400);
//! - `invalid_request` for a missing parameter: the generic text, not
//!   `Missing required parameter: X.` (5.2.0), in the body and in
//!   `WWW-Authenticate`;
//! - the loser of a refresh race: `invalid_request` (4.x's
//!   `InvalidTokenReuse`), not `invalid_grant`;
//! - a refresh with no client credentials at all: `invalid_client` (the
//!   harness's contract, above), where every Doorkeeper answers
//!   `invalid_grant` (the client check passes, the client match fails);
//! - request parsing: lenient Rack as the double always read it (a POST
//!   without Content-Type parsed as a form, `;` separating body pairs, a
//!   nested JSON value absent, an undecodable body answered as
//!   `invalid_request` with the token headers), where Rails 6.1 in front of
//!   5.5 parses nothing without Content-Type, splits bodies on `&` only,
//!   counts a nested value as present, and answers an undecodable body
//!   with a bare empty 400. Whether Rails 5 in front of `PayU`'s 4.4-5.0
//!   does the same was not measured, so `documented` keeps its reading.
//!
//! Other versions are 5.5 plus or minus the CHANGELOG entries between them
//! (`profile.rs`, `Behaviour::of`): `doorkeeper-5.2` (#1420 undone) and
//! `doorkeeper-5.6.6` (the cache headers).

mod conn;
mod error;
mod handler;
mod params;
mod profile;
mod response;
mod state;

#[cfg(test)]
mod tests;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use conn::ConnectionLimits;
pub use error::OAuthError;
pub use profile::{Mutation, Profile, SLOW_DELAY};
pub use state::{ClientFixture, ClientKind, DoubleState, UserFixture};

/// How to run the double.
#[derive(Clone, Debug)]
pub struct DoubleOptions {
    pub profile: Profile,
    /// Lifetime of issued access tokens; `expires_in` counts down from it.
    pub access_token_ttl_secs: u64,
    /// `None`: random credentials and tokens on every start.
    pub fixtures: Option<Fixtures>,
    /// Larger bodies are refused with 413.
    pub max_body_bytes: usize,
    /// Connection cap and timeouts, so idle or half-sent connections
    /// cannot lock other clients out.
    pub limits: ConnectionLimits,
    /// When a used refresh token dies (the profile's rotation permitting).
    pub revocation: Revocation,
}

/// When a refresh token that was used in a successful refresh is revoked.
/// Real Doorkeeper (4.4.1 to 5.5) decides it from its database, not from a
/// setting: `refresh_token_revoked_on_use?` is true when the tokens table
/// has a `previous_refresh_token` column, which Doorkeeper's own migration
/// template creates. The `PayU` page says nothing about it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Revocation {
    /// In the refresh itself (no `previous_refresh_token` column): a replay
    /// of the used token is `invalid_grant` at once.
    #[default]
    AtRefresh,
    /// When an access token issued from the NEW refresh token is first used
    /// on a protected resource (`GET /api/me` here; the stock migration).
    /// Until then the used token still refreshes, issuing yet another chain.
    OnUse,
}

impl Revocation {
    pub fn name(self) -> &'static str {
        match self {
            Revocation::AtRefresh => "at-refresh",
            Revocation::OnUse => "on-use",
        }
    }
}

impl std::str::FromStr for Revocation {
    type Err = String;

    fn from_str(s: &str) -> Result<Revocation, String> {
        match s {
            "at-refresh" => Ok(Revocation::AtRefresh),
            "on-use" => Ok(Revocation::OnUse),
            _ => Err(format!(
                "unknown revocation mode {s:?}; known: at-refresh, on-use"
            )),
        }
    }
}

impl Default for DoubleOptions {
    fn default() -> Self {
        DoubleOptions {
            profile: Profile::Documented,
            access_token_ttl_secs: 7200,
            fixtures: None,
            max_body_bytes: 64 * 1024,
            limits: ConnectionLimits::default(),
            revocation: Revocation::AtRefresh,
        }
    }
}

/// The credentials the double knows, and a live refresh token per client at
/// start. Given in [`DoubleOptions`], they are seeded exactly, so a run can be
/// reproduced.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Fixtures {
    pub clients: Vec<ClientFixture>,
    pub user: UserFixture,
}

impl Fixtures {
    /// The first client of that kind.
    pub fn client(&self, kind: ClientKind) -> Option<&ClientFixture> {
        self.clients.iter().find(|c| c.kind == kind)
    }
}

/// The double as an axum router, for serving it yourself or calling it in-process.
pub fn app(state: DoubleState) -> axum::Router {
    handler::router(state)
}

/// Make ring the process's rustls crypto provider, unless one is installed
/// already. rustls is built without a default provider here (ring instead of
/// aws-lc-rs: no large C library to compile), so anything that builds a TLS
/// config, a server's or a reqwest client's, calls this first. Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Bind `addr` (port 0 picks a free port) and serve plain HTTP on the
/// current tokio runtime, within `opts.limits` (see [`ConnectionLimits`]).
pub async fn start(opts: DoubleOptions, addr: SocketAddr) -> io::Result<RunningDouble> {
    let limits = opts.limits;
    let state = DoubleState::new(opts);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let router = app(state.clone());
    let task = tokio::spawn(conn::serve(listener, router, limits, rx));
    Ok(RunningDouble {
        addr,
        scheme: "http",
        state,
        stop: Some(Stop::Plain(tx)),
        task: Some(task),
    })
}

/// As [`start`], over HTTPS with the given PEM certificate chain and key.
pub async fn start_tls(
    opts: DoubleOptions,
    addr: SocketAddr,
    cert_pem: &[u8],
    key_pem: &[u8],
) -> io::Result<RunningDouble> {
    install_crypto_provider();
    let config =
        axum_server::tls_rustls::RustlsConfig::from_pem(cert_pem.to_vec(), key_pem.to_vec())
            .await?;
    let opts_limits = opts.limits;
    let state = DoubleState::new(opts);
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let handle = axum_server::Handle::new();
    let limits = opts_limits;
    let mut server = axum_server::from_tcp_rustls(listener, config)?.handle(handle.clone());
    // A half-sent or idle head is cut as on plain HTTP (the connection cap
    // is plain HTTP's only: axum-server has no hook for it).
    server
        .http_builder()
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let router = app(state.clone());
    let task = tokio::spawn(async move { server.serve(router.into_make_service()).await });
    // Only once it listens is a shutdown notification sure to be seen.
    handle.listening().await;
    Ok(RunningDouble {
        addr,
        scheme: "https",
        state,
        stop: Some(Stop::Tls(handle)),
        task: Some(task),
    })
}

enum Stop {
    Plain(oneshot::Sender<()>),
    Tls(axum_server::Handle<SocketAddr>),
}

/// A double serving on a local port. Dropping it stops the server abruptly;
/// [`RunningDouble::shutdown`] stops it gracefully.
pub struct RunningDouble {
    addr: SocketAddr,
    scheme: &'static str,
    state: DoubleState,
    stop: Option<Stop>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl RunningDouble {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/oauth/token` (https for [`start_tls`]); a
    /// wildcard bind address is written as loopback, which is reachable.
    pub fn token_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!(
            "{}://{}/oauth/token",
            self.scheme,
            SocketAddr::new(ip, self.addr.port())
        )
    }

    /// The protected resource, `GET .../api/me` with `Authorization:
    /// Bearer <access token>`: using an access token there is what revokes
    /// the refresh token it came from under [`Revocation::OnUse`].
    pub fn resource_url(&self) -> String {
        self.token_url().replace("/oauth/token", "/api/me")
    }

    pub fn state(&self) -> &DoubleState {
        &self.state
    }

    pub fn fixtures(&self) -> Fixtures {
        self.state.fixtures()
    }

    /// Stop accepting, let in-flight requests finish (up to about 2 s), then
    /// stop for good.
    pub async fn shutdown(mut self) {
        match self.stop.take() {
            Some(Stop::Plain(tx)) => {
                let _ = tx.send(());
            }
            Some(Stop::Tls(handle)) => handle.graceful_shutdown(Some(Duration::from_secs(1))),
            None => {}
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for RunningDouble {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for RunningDouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningDouble")
            .field("addr", &self.addr)
            .field("scheme", &self.scheme)
            .field("state", &self.state)
            .finish()
    }
}
