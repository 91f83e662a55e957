//! Where a live run's chain starts: the token store, the seed
//! (`PAYU_REFRESH_TOKEN`), or the Get Token call, decided before any
//! scenario and without spending anything.
//!
//! - The store is locked for the whole run (two runs take turns).
//! - A seed the store has not seen, next to a stored chain, is probed first
//!   (the wrong-secret liveness probe, [`crate::oauth::Request::liveness_probe`]):
//!   a dead seed keeps the stored chain (and records the seed as seen, so it
//!   is not probed again); a live seed starts a new chain, because a person
//!   put a token that works into the configuration on purpose (the stored
//!   chain is set aside, and the run says so); an answer that says neither
//!   keeps the stored chain.
//! - The token the run will start from is probed too: a dead token is the
//!   harness's precondition failing (exit 3 with the recovery step), never
//!   contract drift. A token an interrupted run left "possibly consumed" is
//!   only used when the probe finds it alive. When the probe cannot tell
//!   (no answer, an unexpected one), the run goes on and its scenarios judge.

use super::store::{
    self, ChainEntry, ChainId, LockedStore, Start, StoreError, StoreKey, TokenStore,
};
use super::{StoreSink, TokenChain};
use crate::client::TokenClient;
use crate::config::Config;
use crate::oauth::{self, Probe};
use crate::secret::Secret;
use url::Url;

/// Why a live chain could not be started.
#[derive(Debug)]
pub enum StartError {
    /// A user mistake (store unreadable, no token configured): exit 2.
    Usage(String),
    /// No live token, or the store is locked: exit 3.
    NoVerdict(String),
}

/// A started chain and what the run should tell about how it started.
pub struct Started {
    pub chain: TokenChain,
    pub notes: Vec<String>,
}

enum Candidate {
    /// Probed alive already.
    Alive(Secret<String>),
    /// Not probed yet.
    Unchecked(Secret<String>, &'static str),
    /// Left "possibly consumed" by an interrupted run.
    InDoubt(Secret<String>),
}

/// Opens (and locks, waiting up to `config.lock_timeout`) the store of
/// `config` and starts the chain of `url`.
pub async fn live(config: &Config, url: &Url, client: &TokenClient) -> Result<Started, StartError> {
    let lock_timeout = config.lock_timeout;
    let creds = &config.credentials;
    let who = oauth::Client::of(creds, config.client_auth);
    let key = config
        .store_key
        .as_ref()
        .map(|k| StoreKey::parse(k.expose()))
        .transpose()
        .map_err(|e| StartError::Usage(e.to_string()))?;
    let store_path = config.token_store.clone();
    let mut store =
        tokio::task::spawn_blocking(move || TokenStore::open(&store_path, key, lock_timeout))
            .await
            .map_err(|e| {
                StartError::NoVerdict(format!("the token store could not be opened: {e}"))
            })?
            .map_err(|e| match e {
                StoreError::LockTimeout { .. } => StartError::NoVerdict(e.to_string()),
                other => StartError::Usage(other.to_string()),
            })?;
    let usage = |e: StoreError| StartError::Usage(e.to_string());
    let chain_id = ChainId::endpoint(url, creds.client_id.as_str());
    let seed = creds.refresh_token.as_ref().filter(|s| !s.is_empty());
    if let Some(s) = seed {
        client.scrubber().add(s.expose());
    }
    let can_mint = creds.username.is_some() && creds.password.is_some();
    let mut notes = Vec::new();
    let resolved = resolve_seed(&mut store, &chain_id, seed, client, &who, &mut notes)
        .await
        .map_err(usage)?;
    let candidate = match resolved.start {
        Some(Start::NewChainFromSeed(s)) if resolved.seed_alive => Candidate::Alive(s),
        Some(Start::NewChainFromSeed(s)) => Candidate::Unchecked(s, "PAYU_REFRESH_TOKEN's"),
        Some(Start::FromStore(t)) => Candidate::Unchecked(t, "the token store's"),
        Some(Start::PossiblyConsumed(t)) => Candidate::InDoubt(t),
        None if can_mint => Candidate::Alive(mint(client, config, &mut store, &chain_id).await?),
        None => {
            return Err(StartError::Usage(format!(
                "no refresh token: set PAYU_REFRESH_TOKEN, or PAYU_USERNAME and PAYU_PASSWORD for the Get Token call (the token store {} has no chain for this client and URL)",
                store.path().display()
            )));
        }
    };
    let token = match candidate {
        Candidate::Alive(t) => t,
        Candidate::Unchecked(t, whose) => {
            client.scrubber().add(t.expose());
            match super::probe(client, &who, &t).await {
                Ok(Probe::Dead) if can_mint => {
                    notes.push(format!(
                        "{whose} refresh token is dead (invalid_grant): a new chain was started with the Get Token call"
                    ));
                    mint(client, config, &mut store, &chain_id).await?
                }
                Ok(Probe::Dead) => {
                    return Err(StartError::NoVerdict(format!(
                        "{whose} refresh token is dead (refused with invalid_grant by a probe that spends nothing), so the suite cannot run: this is the harness's precondition, not the endpoint's answer. Next: {}",
                        super::RECOVERY
                    )));
                }
                // Alive, or the probe cannot tell: the scenarios judge.
                _ => t,
            }
        }
        Candidate::InDoubt(t) => {
            client.scrubber().add(t.expose());
            // An earlier run sent this token and never learned the outcome.
            match super::probe(client, &who, &t).await {
                Ok(Probe::Alive) => {
                    store.mark_live(&chain_id).map_err(usage)?;
                    tracing::info!(
                        "the possibly consumed token is still alive; continuing the chain"
                    );
                    t
                }
                Ok(Probe::Dead) if can_mint => mint(client, config, &mut store, &chain_id).await?,
                Ok(Probe::Dead) => {
                    return Err(StartError::NoVerdict(format!(
                        "the refresh token in {} was consumed by an interrupted run and is dead: set PAYU_REFRESH_TOKEN to a new token (or PAYU_USERNAME/PAYU_PASSWORD for the Get Token call) to start a new chain",
                        store.path().display()
                    )));
                }
                Ok(Probe::Unexpected(what)) | Err(what) => {
                    return Err(StartError::NoVerdict(format!(
                        "the refresh token in {} may have been consumed by an interrupted run, and checking it failed ({what}): rerun later, or start a new chain with a new PAYU_REFRESH_TOKEN",
                        store.path().display()
                    )));
                }
            }
        }
    };
    client.scrubber().add(token.expose());
    Ok(Started {
        chain: TokenChain::new(
            token,
            Box::new(StoreSink {
                store,
                chain: chain_id,
                seed_fingerprint: seed.map(store::fingerprint),
            }),
        ),
        notes,
    })
}

/// The seed rule with the probe: like [`store::choose_start`], but a seed
/// the store has not seen, next to a stored chain, is probed before it may
/// replace that chain (see the module docs). Writes what it decides (a new
/// chain from the seed; a dead seed recorded as seen) before returning.
/// Each decision worth telling is pushed to `notes`.
pub async fn resolve_seed(
    store: &mut LockedStore,
    chain_id: &ChainId,
    seed: Option<&Secret<String>>,
    client: &TokenClient,
    who: &oauth::Client,
    notes: &mut Vec<String>,
) -> Result<Resolved, StoreError> {
    let entry = store.get(chain_id).cloned();
    let mut seed_alive = false;
    let from_entry = |e: &ChainEntry| match e.state {
        store::TokenState::Live => Start::FromStore(e.refresh_token.clone()),
        store::TokenState::PossiblyConsumed => Start::PossiblyConsumed(e.refresh_token.clone()),
    };
    let start = match (store::choose_start(entry.as_ref(), seed), &entry) {
        (Some(Start::NewChainFromSeed(s)), Some(e)) => match super::probe(client, who, &s).await {
            Ok(Probe::Alive) => {
                store.put(chain_id, ChainEntry::from_seed(&s))?;
                notes.push(format!(
                    "PAYU_REFRESH_TOKEN is new to the token store and alive: it starts a new chain (the stored chain, {} rotations, is set aside)",
                    e.rotations
                ));
                seed_alive = true;
                Some(Start::NewChainFromSeed(s))
            }
            Ok(Probe::Dead) => {
                let mut kept = e.clone();
                kept.seed_fingerprint = Some(store::fingerprint(&s));
                store.put(chain_id, kept)?;
                notes.push(format!(
                    "PAYU_REFRESH_TOKEN is dead (refused with invalid_grant): the stored chain ({} rotations) is kept; remove PAYU_REFRESH_TOKEN or set it to a live token",
                    e.rotations
                ));
                Some(from_entry(e))
            }
            Ok(Probe::Unexpected(what)) | Err(what) => {
                notes.push(format!(
                    "PAYU_REFRESH_TOKEN is new to the token store and checking it failed ({what}): the stored chain is kept"
                ));
                Some(from_entry(e))
            }
        },
        (Some(Start::NewChainFromSeed(s)), None) => {
            store.put(chain_id, ChainEntry::from_seed(&s))?;
            Some(Start::NewChainFromSeed(s))
        }
        (start, _) => start,
    };
    Ok(Resolved { start, seed_alive })
}

/// What [`resolve_seed`] decided.
pub struct Resolved {
    pub start: Option<Start>,
    /// The start is a new seed the probe found alive.
    pub seed_alive: bool,
}

/// Starts a new chain with the Get Token call, stored before it is used.
async fn mint(
    client: &TokenClient,
    config: &Config,
    store: &mut LockedStore,
    chain_id: &ChainId,
) -> Result<Secret<String>, StartError> {
    let creds = &config.credentials;
    let token = super::get_token(client, creds, config.client_auth)
        .await
        .map_err(StartError::NoVerdict)?;
    client.scrubber().add(token.expose());
    // The configured seed (if any) counts as seen: it must not restart the
    // chain at the next run, since it is spent or was refused.
    let mut entry = ChainEntry::from_seed(&token);
    entry.seed_fingerprint = creds.refresh_token.as_ref().map(store::fingerprint);
    store.put(chain_id, entry).map_err(|e| {
        StartError::NoVerdict(
            super::ChainError::Lost(format!("the Get Token call's token: {e}")).to_string(),
        )
    })?;
    Ok(token)
}
