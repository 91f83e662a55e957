//! The refresh-token chain of one run: the token to send next, the tokens
//! already used (which replay scenarios need), and the rule that a rotated
//! token is persisted before anything else is sent.

use crate::secret::Secret;
use std::sync::Mutex;

/// Where rotated tokens go the moment they arrive (the token store for live
/// targets; nothing for the throw-away local double).
pub trait ChainSink: Send {
    fn rotated(&mut self, new: &Secret<String>) -> Result<(), String>;
    /// A consuming request was sent and its outcome is unknown.
    fn possibly_consumed(&mut self) -> Result<(), String>;
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
    pub fn rotated(&self, sent: &Secret<String>, new: Secret<String>) -> Result<(), ChainError> {
        let mut inner = self.lock();
        // Whatever was sent (the current token, or a replayed one that a
        // drifted server accepted), the server now holds `new` as live.
        let _ = sent;
        inner.sink.rotated(&new).map_err(ChainError::Persist)?;
        let old = std::mem::replace(&mut inner.current, new);
        inner.used.push(old);
        Ok(())
    }

    /// A consuming request was sent and no answer came: never send the token
    /// again blindly.
    pub fn outcome_unknown(&self) {
        let mut inner = self.lock();
        inner.unknown = true;
        if let Err(e) = inner.sink.possibly_consumed() {
            tracing::warn!("could not mark the token store: {e}");
        }
    }

    pub fn is_unknown(&self) -> bool {
        self.lock().unknown
    }
}
