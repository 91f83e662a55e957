//! The refresh-token chain: the one owner of the write-ahead rule for every
//! command that spends a token (`run`, `check-credentials --refresh`).
//!
//! - [`TokenChain::send`] sends every request of a command that holds a
//!   chain. Before a request that may spend the token ([`Spends`]) it marks
//!   the token "possibly consumed" in the store and reserves the disk space
//!   for the next store file; after the answer it saves a rotated token
//!   atomically before anything else can be sent.
//! - A 2xx to a spending request whose new token cannot be read (HTML, cut
//!   JSON, an unknown encoding, no `refresh_token`), or a spending request
//!   whose answer never came, leaves the token "possibly consumed" and stops
//!   every further spending request of the run ([`TokenChain::stopped`]).
//! - A rotated token that cannot be saved is reported as what it is: the
//!   chain is lost, and how to start a new one ([`ChainError::Lost`]).
//! - [`start`]: choosing the token a live run starts from (store, seed, Get
//!   Token), probing an unseen seed and the chain's token without spending
//!   them. [`store`]: the on-disk store (lock, atomic replace, encryption).

pub mod start;
pub mod store;

use crate::client::{Exchange, TokenClient};
use crate::config::Credentials;
use crate::oauth::{self, ClientAuth, Probe, Request, Spends};
use crate::secret::Secret;
use std::sync::Mutex;

/// The recovery step for a chain whose token is dead or in doubt: the same
/// one `check-credentials` gives.
pub const RECOVERY: &str = "run `payu-contract check-credentials` (it asks the server whether the token is still alive without spending it); if it is dead, start a new chain with `payu-contract check-credentials --refresh` and PAYU_USERNAME/PAYU_PASSWORD (the Get Token call), or set PAYU_REFRESH_TOKEN to a new token from PayU";

/// Asks the server whether `token` is alive without spending it.
pub async fn probe(
    client: &TokenClient,
    who: &oauth::Client,
    token: &Secret<String>,
) -> Result<Probe, String> {
    oauth::read_probe(&client.send(&Request::liveness_probe(who, token)).await)
}

/// Mints a first refresh token with the Get Token call (password grant),
/// outside any chain (the caller stores it before using it).
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
        (200..=299, None) => Err(format!(
            "the Get Token call was answered {} but no refresh token could be read from it",
            resp.status
        )),
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
    /// The Get Token call handed out the first token of a new chain.
    fn started(&mut self, new: &Secret<String>) -> Result<(), String> {
        self.rotated(new)
    }
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
    pub store: store::LockedStore,
    pub chain: store::ChainId,
    /// The seed fingerprint a chain started by Get Token records (the
    /// configured seed counts as seen: it must not restart the chain).
    pub seed_fingerprint: Option<String>,
}

impl ChainSink for StoreSink {
    fn rotated(&mut self, new: &Secret<String>) -> Result<(), String> {
        self.store
            .record_rotation(&self.chain, new.clone())
            .map_err(|e| e.to_string())
    }

    fn started(&mut self, new: &Secret<String>) -> Result<(), String> {
        let mut entry = store::ChainEntry::from_seed(new);
        entry.seed_fingerprint = self.seed_fingerprint.clone();
        self.store
            .put(&self.chain, entry)
            .map_err(|e| e.to_string())
    }

    fn possibly_consumed(&mut self) -> Result<(), String> {
        if self.store.get(&self.chain).is_some() {
            self.store
                .mark_possibly_consumed(&self.chain)
                .map_err(|e| e.to_string())?;
        }
        // The space for the token the answer brings, secured now.
        self.store.reserve().map_err(|e| e.to_string())
    }

    fn still_live(&mut self) -> Result<(), String> {
        self.store.mark_live(&self.chain).map_err(|e| e.to_string())
    }
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum ChainError {
    /// The write-ahead mark could not be written: nothing was sent.
    #[error(
        "the token store could not be updated before a refresh ({0}); nothing was sent and the token is unchanged: fix the token store, then run again"
    )]
    WriteAhead(String),
    /// A rotated token arrived and could not be saved.
    #[error(
        "the new refresh token could not be saved ({0}): the chain is lost (the old token is spent, the new one lived only in this run). Start a new chain with `payu-contract check-credentials --refresh` (with PAYU_USERNAME/PAYU_PASSWORD for the Get Token call, or a new PAYU_REFRESH_TOKEN from PayU)"
    )]
    Lost(String),
    /// A spending request left the token in doubt.
    #[error(
        "the refresh token state is unknown: {0}. The store keeps the token marked possibly consumed and no further refresh is sent in this run. Next: {RECOVERY}"
    )]
    Unknown(String),
}

/// What one send did to the chain.
pub struct Sent {
    pub exchange: Exchange,
    /// Set when the exchange stopped the chain (token in doubt, or lost).
    pub trouble: Option<ChainError>,
}

struct Inner {
    current: Option<Secret<String>>,
    used: Vec<Secret<String>>,
    /// Tokens handed out in answer to a replay of a used token (an
    /// observation): alive on a server that revokes on use, never the live
    /// one, never stored.
    replayed: Vec<Secret<String>>,
    stopped: Option<ChainError>,
    sink: Box<dyn ChainSink>,
}

/// The chain of one command: the token to send next, the tokens already
/// used (which replay scenarios need), and the write-ahead rule.
pub struct TokenChain {
    inner: Mutex<Inner>,
}

impl TokenChain {
    /// A chain whose next token is `start`.
    pub fn new(start: Secret<String>, sink: Box<dyn ChainSink>) -> TokenChain {
        TokenChain::with(Some(start), sink)
    }

    /// A chain with no token yet: the Get Token call starts it.
    pub fn empty(sink: Box<dyn ChainSink>) -> TokenChain {
        TokenChain::with(None, sink)
    }

    fn with(current: Option<Secret<String>>, sink: Box<dyn ChainSink>) -> TokenChain {
        TokenChain {
            inner: Mutex::new(Inner {
                current,
                used: Vec::new(),
                replayed: Vec::new(),
                stopped: None,
                sink,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The live token, unless the chain was stopped.
    pub fn current(&self) -> Result<Secret<String>, ChainError> {
        let inner = self.lock();
        if let Some(e) = &inner.stopped {
            return Err(e.clone());
        }
        inner
            .current
            .clone()
            .ok_or_else(|| ChainError::Unknown("the chain has no token yet".into()))
    }

    /// The most recently consumed token, for replay scenarios.
    pub fn last_used(&self) -> Option<Secret<String>> {
        self.lock().used.last().cloned()
    }

    /// How many tokens replays of used tokens were handed (they are not the
    /// chain's: see [`TokenChain::send`]).
    pub fn handed_to_replays(&self) -> usize {
        self.lock().replayed.len()
    }

    /// Why the chain stopped (token in doubt or lost), if it did.
    pub fn stopped(&self) -> Option<ChainError> {
        self.lock().stopped.clone()
    }

    pub fn is_unknown(&self) -> bool {
        self.lock().stopped.is_some()
    }

    /// Sends `req` under the write-ahead rule. `Err` means nothing was sent
    /// (the chain is stopped, or the write-ahead mark could not be written).
    ///
    /// The live token is the newest one handed out to a request that did
    /// not carry an already-used token of this chain. A request that replays
    /// a used token is an observation: a token it is handed (stock
    /// Doorkeeper answers such a replay until the successor's access token
    /// is used) is kept aside, never becomes the live token and is never
    /// written to the store, and the live token, which it did not carry, is
    /// marked live again.
    pub async fn send(&self, client: &TokenClient, req: &Request) -> Result<Sent, ChainError> {
        let spends = req.spends();
        if spends != Spends::Nothing {
            let mut inner = self.lock();
            if let Some(e) = &inner.stopped {
                return Err(e.clone());
            }
            inner
                .sink
                .possibly_consumed()
                .map_err(ChainError::WriteAhead)?;
        }
        let exchange = client.send(req).await;
        let trouble = self.after(req, &exchange);
        Ok(Sent { exchange, trouble })
    }

    /// Applies an answer to the chain; returns the trouble it caused.
    fn after(&self, req: &Request, exchange: &Exchange) -> Option<ChainError> {
        let mut inner = self.lock();
        let carries_current = match (req.refresh_token(), &inner.current) {
            (Some(sent), Some(cur)) => sent.expose() == cur.expose(),
            _ => false,
        };
        let spends = req.spends();
        let replays_used = !carries_current
            && req
                .refresh_token()
                .is_some_and(|sent| inner.used.iter().any(|u| u.expose() == sent.expose()));
        let trouble = match &exchange.outcome {
            Ok(resp) if replays_used && (200..300).contains(&resp.status) => {
                if let Some(new) = oauth::issued_refresh_token(resp) {
                    inner.replayed.push(new);
                }
                // The write-ahead mark was on the live token, which this
                // request did not carry: it is as alive as before.
                if let Err(e) = inner.sink.still_live() {
                    tracing::warn!("the token store could not mark the token live again: {e}");
                }
                None
            }
            Ok(resp) if (200..300).contains(&resp.status) => {
                match oauth::issued_refresh_token(resp) {
                    // Whatever was asked, a handed-out refresh token is the
                    // live one now: saved before it becomes current.
                    Some(new) => match if spends == Spends::Grant {
                        inner.sink.started(&new)
                    } else {
                        inner.sink.rotated(&new)
                    } {
                        Ok(()) => {
                            if let Some(old) = inner.current.replace(new) {
                                inner.used.push(old);
                            }
                            None
                        }
                        Err(e) => Some(ChainError::Lost(e)),
                    },
                    None if spends != Spends::Nothing || carries_current => {
                        Some(ChainError::Unknown(format!(
                            "a refresh was answered {} but the new refresh token could not be read from the answer ({})",
                            resp.status,
                            unreadable_why(resp)
                        )))
                    }
                    None => None,
                }
            }
            Ok(resp) if resp.status < 500 => {
                // Refused before rotating: as alive as before.
                if spends == Spends::RefreshToken
                    && let Err(e) = inner.sink.still_live()
                {
                    // The store still says "possibly consumed": the next
                    // run probes the token before using it. Safe.
                    tracing::warn!("the token store could not mark the token live again: {e}");
                }
                None
            }
            Ok(resp) if spends != Spends::Nothing => Some(ChainError::Unknown(format!(
                "a refresh was answered {} (an infrastructure fault) and may have been processed",
                resp.status
            ))),
            Err(f) if spends != Spends::Nothing && f.certainly_unsent() => {
                if spends == Spends::RefreshToken
                    && let Err(e) = inner.sink.still_live()
                {
                    // The store still says "possibly consumed": the next
                    // run probes the token before using it. Safe.
                    tracing::warn!("the token store could not mark the token live again: {e}");
                }
                None
            }
            Err(f) if spends != Spends::Nothing => Some(ChainError::Unknown(format!(
                "a refresh was sent and no answer came back ({f})"
            ))),
            _ => None,
        };
        if let Some(t @ (ChainError::Unknown(_) | ChainError::Lost(_))) = &trouble {
            inner.stopped.get_or_insert_with(|| t.clone());
        }
        trouble
    }
}

/// Why a 2xx body gave no refresh token, in words (never its content).
fn unreadable_why(resp: &crate::client::HttpResponse) -> String {
    let ct = resp.header("content-type").unwrap_or("no content type");
    let enc = resp.header("content-encoding");
    match (resp.json(), enc) {
        (Some(_), _) => "a JSON body without refresh_token".into(),
        (None, Some(e)) if !e.eq_ignore_ascii_case("identity") => {
            format!("a body encoded as {e}, {ct}")
        }
        (None, _) if ct.to_ascii_lowercase().contains("html") => {
            format!("an HTML page, {ct}")
        }
        (None, _) => format!("a body that is not JSON (cut short or malformed), {ct}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{HttpResponse, RequestRecord};
    use std::time::Duration;

    fn answer(status: u16, refresh_token: &str) -> Exchange {
        let body = format!(r#"{{"access_token":"a","refresh_token":"{refresh_token}"}}"#);
        Exchange {
            request: RequestRecord {
                method: "POST".into(),
                url: "http://127.0.0.1/oauth/token".into(),
                form: vec![],
                basic_auth: None,
            },
            outcome: Ok(HttpResponse::new(
                status,
                vec![("content-type".into(), "application/json".into())],
                body,
            )),
            elapsed: Duration::ZERO,
            attempts: 1,
        }
    }

    fn partner() -> oauth::Client {
        oauth::Client {
            id: "partner".into(),
            secret: None,
            auth: ClientAuth::Body,
        }
    }

    /// On a server that revokes a used token only on first use of its
    /// successor's access token (stock Doorkeeper), a replay of the used
    /// token succeeds and hands out yet another token. That token is an
    /// observation's by-product: the chain's live token stays the newest one
    /// from a refresh of the live token, and the store is not rewritten.
    #[test]
    fn a_token_handed_out_to_a_replay_does_not_become_the_live_one() {
        let chain = TokenChain::new(Secret::new("rt0".into()), Box::new(NoSink));
        let rt0 = chain.current().unwrap();
        let refresh = Request::refresh(&partner(), &rt0);
        assert!(chain.after(&refresh, &answer(200, "rt1")).is_none());
        assert_eq!(chain.current().unwrap().expose(), "rt1");
        assert_eq!(chain.last_used().unwrap().expose(), "rt0");

        let replay = Request::replay(&partner(), &rt0);
        assert!(chain.after(&replay, &answer(200, "rt2")).is_none());
        assert_eq!(
            chain.current().unwrap().expose(),
            "rt1",
            "the replay's token must not replace the live one"
        );
        assert_eq!(chain.last_used().unwrap().expose(), "rt0");
        assert_eq!(chain.handed_to_replays(), 1);

        // The live token still rotates as before.
        let next = Request::refresh(&partner(), &chain.current().unwrap());
        assert!(chain.after(&next, &answer(200, "rt3")).is_none());
        assert_eq!(chain.current().unwrap().expose(), "rt3");
        assert_eq!(chain.last_used().unwrap().expose(), "rt1");
    }
}
