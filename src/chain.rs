//! The refresh-token chain of one run: the token to send next, the tokens
//! already used (which replay scenarios need), and the rule that a rotated
//! token is persisted before anything else is sent.

use crate::client::TokenClient;
use crate::config::Credentials;
use crate::oauth::{self, ClientAuth, Probe, Request};
use crate::secret::Secret;
use std::sync::Mutex;

/// Asks the server whether `token` is alive without spending it.
pub async fn probe(
    client: &TokenClient,
    who: &oauth::Client,
    token: &Secret<String>,
) -> Result<Probe, String> {
    oauth::read_probe(&client.send(&Request::liveness_probe(who, token)).await)
}

/// Mints a first refresh token with the Get Token call (password grant).
pub async fn get_token(
    client: &TokenClient,
    creds: &Credentials,
    auth: ClientAuth,
) -> Result<Secret<String>, String> {
    let req =
        Request::get_token_for(creds, auth).ok_or("PAYU_USERNAME and PAYU_PASSWORD are not set")?;
    let exchange = client.send(&req).await;
    let resp = exchange
        .outcome
        .map_err(|f| format!("the Get Token call failed: {f}"))?;
    match (resp.status, oauth::issued_refresh_token(&resp)) {
        (200..=299, Some(token)) => Ok(token),
        (status, _) => Err(format!(
            "the Get Token call (password grant) was refused: {status} {}",
            resp.str_field("error").unwrap_or("(no error code)")
        )),
    }
}

/// Where rotated tokens go the moment they arrive (the token store for live
/// targets; nothing for the throw-away local double).
pub trait ChainSink: Send {
    fn rotated(&mut self, new: &Secret<String>) -> Result<(), String>;
    /// A consuming request is about to be sent (write-ahead: if the process
    /// dies before the answer is stored, the token is known to be in doubt).
    fn possibly_consumed(&mut self) -> Result<(), String>;
    /// The server answered without consuming the token: it is live again.
    fn still_live(&mut self) -> Result<(), String>;
}

/// A sink that keeps nothing: for the embedded double, whose tokens die
/// with the run.
pub struct NoSink;

impl ChainSink for NoSink {
    fn rotated(&mut self, _: &Secret<String>) -> Result<(), String> {
        Ok(())
    }
    fn possibly_consumed(&mut self) -> Result<(), String> {
        Ok(())
    }
    fn still_live(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// The token store as a sink: every change is on disk before it returns.
pub struct StoreSink {
    pub store: crate::tokens::LockedStore,
    pub chain: crate::tokens::ChainId,
}

impl ChainSink for StoreSink {
    fn rotated(&mut self, new: &Secret<String>) -> Result<(), String> {
        self.store
            .record_rotation(&self.chain, new.clone())
            .map_err(|e| e.to_string())
    }

    fn possibly_consumed(&mut self) -> Result<(), String> {
        self.store
            .mark_possibly_consumed(&self.chain)
            .map_err(|e| e.to_string())
    }

    fn still_live(&mut self) -> Result<(), String> {
        self.store.mark_live(&self.chain).map_err(|e| e.to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(
        "the rotated refresh token could not be saved ({0}); it is the only valid token now: fix the token store and rerun"
    )]
    Persist(String),
    #[error(
        "the refresh token state is unknown: a refresh was sent and no answer came back; the next run must start from a fresh token (PAYU_REFRESH_TOKEN or the Get Token call)"
    )]
    Unknown,
}

struct Inner {
    current: Secret<String>,
    used: Vec<Secret<String>>,
    unknown: bool,
    sink: Box<dyn ChainSink>,
}

pub struct TokenChain {
    inner: Mutex<Inner>,
}

impl TokenChain {
    pub fn new(start: Secret<String>, sink: Box<dyn ChainSink>) -> TokenChain {
        TokenChain {
            inner: Mutex::new(Inner {
                current: start,
                used: Vec::new(),
                unknown: false,
                sink,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The live token, unless a consuming request left the state unknown.
    pub fn current(&self) -> Result<Secret<String>, ChainError> {
        let inner = self.lock();
        if inner.unknown {
            return Err(ChainError::Unknown);
        }
        Ok(inner.current.clone())
    }

    /// The most recently consumed token, for replay scenarios.
    pub fn last_used(&self) -> Option<Secret<String>> {
        self.lock().used.last().cloned()
    }

    /// Records a successful refresh of `sent` that returned `new`: the sink
    /// persists `new` first, only then does it become current.
    pub fn rotated(&self, new: Secret<String>) -> Result<(), ChainError> {
        let mut inner = self.lock();
        // Whatever was sent (the current token, or a replayed one that a
        // drifted server accepted), the server now holds `new` as live.
        inner.sink.rotated(&new).map_err(ChainError::Persist)?;
        let old = std::mem::replace(&mut inner.current, new);
        inner.used.push(old);
        Ok(())
    }

    /// Write-ahead for a consuming request: the store marks the token as
    /// possibly consumed before it is sent.
    pub fn before_consuming(&self) -> Result<(), ChainError> {
        self.lock()
            .sink
            .possibly_consumed()
            .map_err(ChainError::Persist)
    }

    /// The server answered a consuming request without rotating: the token
    /// was not consumed.
    pub fn not_consumed(&self) -> Result<(), ChainError> {
        self.lock().sink.still_live().map_err(ChainError::Persist)
    }

    /// A consuming request was sent and no answer came: never send the token
    /// again blindly.
    pub fn outcome_unknown(&self) {
        let mut inner = self.lock();
        // The store already says "possibly consumed" (written ahead).
        inner.unknown = true;
    }

    pub fn is_unknown(&self) -> bool {
        self.lock().unknown
    }
}
