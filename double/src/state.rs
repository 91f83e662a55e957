//! The double's data: registered clients, the one resource owner, and the
//! live refresh tokens with their rotation.
//!
//! Only LIVE refresh tokens are kept. A revoked token and a never-issued one
//! get the same `invalid_grant`, so revoking is just removing: memory stays
//! proportional to the number of live chains however many refreshes run.
//! Live tokens themselves are bounded too ([`MAX_LIVE_TOKENS`]): a partner
//! that opens chains without end (password grants), or a profile that keeps
//! used tokens alive, would otherwise grow the double without limit. Each
//! shard keeps two generations; when the current one is full the older one
//! is dropped, so the oldest tokens go first and answer `invalid_grant`,
//! as if they had expired.
//! The token map is sharded so concurrent chains rarely meet on one lock, and
//! each lock is held only for a hash-map lookup, insert or remove.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::profile::{Behaviour, Profile, Rotation};
use super::{DoubleOptions, Fixtures, Revocation};

/// A Doorkeeper application. `PayU`'s documented client is the public
/// (non-confidential) kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientKind {
    /// Has a secret but may omit it (Doorkeeper `confidential: false`). A wrong
    /// secret is still rejected.
    Public,
    /// Must authenticate with its secret.
    Confidential,
}

/// A client as seeded, with a refresh token that was live at start.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientFixture {
    pub kind: ClientKind,
    pub client_id: String,
    pub client_secret: String,
    /// Issued to this client at start; dead after its first successful
    /// refresh (rotation), like any other refresh token.
    pub refresh_token: String,
}

/// The resource owner of the password grant ("Get Token").
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserFixture {
    pub username: String,
    pub password: String,
    /// Space-separated scopes this user may be granted; `hub_session` on `PayU`.
    pub scope: String,
}

const SHARDS: usize = 16;

/// At most this many live refresh tokens (about 160 bytes each): beyond it
/// the oldest are forgotten. Far above what a sandbox needs (one per chain).
pub const MAX_LIVE_TOKENS: usize = 1 << 17;
const GENERATION: usize = MAX_LIVE_TOKENS / SHARDS / 2;

/// One shard of a token map: the current generation and the one before.
struct Shard<V> {
    current: HashMap<Box<str>, V>,
    previous: HashMap<Box<str>, V>,
}

impl<V> Default for Shard<V> {
    fn default() -> Self {
        Shard {
            current: HashMap::new(),
            previous: HashMap::new(),
        }
    }
}

impl<V> Shard<V> {
    fn get(&self, token: &str) -> Option<&V> {
        self.current.get(token).or_else(|| self.previous.get(token))
    }

    fn get_mut(&mut self, token: &str) -> Option<&mut V> {
        match self.current.get_mut(token) {
            Some(v) => Some(v),
            None => self.previous.get_mut(token),
        }
    }

    fn remove(&mut self, token: &str) -> Option<V> {
        self.current
            .remove(token)
            .or_else(|| self.previous.remove(token))
    }

    fn insert(&mut self, token: &str, grant: V) {
        if self.current.len() >= GENERATION {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(token.into(), grant);
    }

    fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }
}

/// What a live refresh token stands for.
#[derive(Clone, Debug)]
pub(crate) struct Grant {
    /// Index into the client list; `None` for a token issued to no client
    /// (a password grant without `client_id` before Doorkeeper 5.5), which
    /// any authenticated client may refresh.
    pub client: Option<usize>,
    pub scope: Arc<str>,
}

/// What an issued access token stands for: Doorkeeper keeps an access token
/// and its refresh token in one row, so the access token is revoked exactly
/// when its refresh token is (here: when that token is no longer live).
#[derive(Debug)]
struct AccessRecord {
    refresh_token: Box<str>,
    /// Under [`Revocation::OnUse`]: the refresh token this one replaced,
    /// revoked (and forgotten) on the first use of this access token.
    previous_refresh_token: Option<Box<str>>,
}

/// What the protected resource finds for a presented access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AccessCheck {
    Valid,
    Revoked,
    Unknown,
}

pub(crate) struct Client {
    pub kind: ClientKind,
    pub id: String,
    pub secret: String,
}

pub(crate) struct User {
    pub username: String,
    pub password: String,
    pub scope: Arc<str>,
    /// `PayU`'s time-ordered layout, 4-4-8-4-12.
    pub uuid_ordered: String,
    /// The same UUID in the RFC 4122 layout, 8-4-4-4-12.
    pub uuid_rfc4122: String,
}

struct Inner {
    profile: Profile,
    behaviour: Behaviour,
    ttl_secs: u64,
    max_body_bytes: usize,
    clients: Vec<Client>,
    user: User,
    seed: Fixtures,
    revocation: Revocation,
    shards: Vec<Mutex<Shard<Grant>>>,
    access: Vec<Mutex<Shard<AccessRecord>>>,
}

/// Everything the running double knows. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct DoubleState {
    inner: Arc<Inner>,
}

/// The presented token was revoked by a concurrent request between lookup and
/// rotation: the loser of a refresh race.
#[derive(Debug)]
pub(crate) struct LostRace;

impl DoubleState {
    pub fn new(opts: DoubleOptions) -> DoubleState {
        let behaviour = Behaviour::of(&opts.profile);
        let b64 = behaviour.body.tokens_base64url;
        let seed = opts.fixtures.unwrap_or_else(|| generate_fixtures(b64));
        let clients = seed
            .clients
            .iter()
            .map(|c| Client {
                kind: c.kind,
                id: c.client_id.clone(),
                secret: c.client_secret.clone(),
            })
            .collect();
        let (uuid_ordered, uuid_rfc4122) = user_uuid(&seed.user.username);
        let user = User {
            username: seed.user.username.clone(),
            password: seed.user.password.clone(),
            scope: Arc::from(normalize_scope(&seed.user.scope).as_str()),
            uuid_ordered,
            uuid_rfc4122,
        };
        let state = DoubleState {
            inner: Arc::new(Inner {
                profile: opts.profile,
                behaviour,
                ttl_secs: opts.access_token_ttl_secs,
                max_body_bytes: opts.max_body_bytes,
                clients,
                user,
                revocation: opts.revocation,
                shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
                access: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
                seed: seed.clone(),
            }),
        };
        for (i, c) in seed.clients.iter().enumerate() {
            let scope = state.inner.user.scope.clone();
            state.insert(
                &c.refresh_token,
                Grant {
                    client: Some(i),
                    scope,
                },
            );
        }
        state
    }

    /// The credentials and refresh tokens the double was seeded with.
    pub fn fixtures(&self) -> Fixtures {
        self.inner.seed.clone()
    }

    /// Mint a fresh live refresh token for `client_id` with the user's scope,
    /// as if a password grant had just run. `None` for an unknown client.
    pub fn issue_refresh_token(&self, client_id: &str) -> Option<String> {
        let client = self.inner.clients.iter().position(|c| c.id == client_id)?;
        let scope = self.inner.user.scope.clone();
        Some(self.mint(Grant {
            client: Some(client),
            scope,
        }))
    }

    pub fn is_live(&self, refresh_token: &str) -> bool {
        self.shard(refresh_token).get(refresh_token).is_some()
    }

    pub fn live_token_count(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .len()
            })
            .sum()
    }

    pub fn profile(&self) -> &Profile {
        &self.inner.profile
    }

    pub(crate) fn behaviour(&self) -> &Behaviour {
        &self.inner.behaviour
    }

    pub(crate) fn ttl_secs(&self) -> u64 {
        self.inner.ttl_secs
    }

    pub(crate) fn max_body_bytes(&self) -> usize {
        self.inner.max_body_bytes
    }

    pub(crate) fn user(&self) -> &User {
        &self.inner.user
    }

    /// Doorkeeper's `Application.by_uid_and_secret`: a public client may omit
    /// its secret, a given secret must match, a confidential client must give it.
    pub(crate) fn authenticate(&self, id: &str, secret: Option<&str>) -> Option<usize> {
        let index = self.inner.clients.iter().position(|c| c.id == id)?;
        let client = &self.inner.clients[index];
        let b = &self.inner.behaviour;
        let may_omit = match client.kind {
            ClientKind::Public => !b.public_client_needs_secret,
            ClientKind::Confidential => b.confidential_secret_optional,
        };
        match secret {
            None if may_omit => Some(index),
            None => None,
            Some(s) if constant_time_eq(s.as_bytes(), client.secret.as_bytes()) => Some(index),
            Some(_) => None,
        }
    }

    pub(crate) fn lookup(&self, refresh_token: &str) -> Option<Grant> {
        self.shard(refresh_token).get(refresh_token).cloned()
    }

    /// Issue the successor of `old` according to the profile's rotation and
    /// the revocation mode: `(refresh token, access token)`. Revoked at
    /// refresh, the old token is removed first, and only the request that
    /// actually removed it may issue a successor: of two concurrent
    /// refreshes exactly one wins. Revoked on use, the old token stays live
    /// and the new access token remembers it (Doorkeeper's
    /// `previous_refresh_token`).
    pub(crate) fn rotate(&self, old: &str, grant: Grant) -> Result<(String, String), LostRace> {
        match self.inner.behaviour.rotation {
            Rotation::Rotate if self.inner.revocation == Revocation::OnUse => {
                if self.shard(old).get(old).is_none() {
                    return Err(LostRace);
                }
                Ok(self.mint_with_previous(grant, Some(old)))
            }
            Rotation::Rotate => {
                if self.shard(old).remove(old).is_none() {
                    return Err(LostRace);
                }
                Ok(self.mint_pair(grant))
            }
            Rotation::KeepOld => Ok(self.mint_pair(grant)),
            Rotation::None => {
                let access = self.new_token();
                self.access_shard(&access).insert(
                    &access,
                    AccessRecord {
                        refresh_token: old.into(),
                        previous_refresh_token: None,
                    },
                );
                Ok((old.to_owned(), access))
            }
        }
    }

    /// A new live refresh token for `grant`.
    pub(crate) fn mint(&self, grant: Grant) -> String {
        let token = self.new_token();
        self.insert(&token, grant);
        token
    }

    /// A new live refresh token for `grant` and its access token.
    pub(crate) fn mint_pair(&self, grant: Grant) -> (String, String) {
        self.mint_with_previous(grant, None)
    }

    fn mint_with_previous(&self, grant: Grant, previous: Option<&str>) -> (String, String) {
        let refresh = self.mint(grant);
        let access = self.new_token();
        self.access_shard(&access).insert(
            &access,
            AccessRecord {
                refresh_token: refresh.as_str().into(),
                previous_refresh_token: previous.map(Into::into),
            },
        );
        (refresh, access)
    }

    /// Doorkeeper's `OAuth::Token.authenticate` on a protected resource:
    /// a known access token first revokes the refresh token its own
    /// refresh replaced (on-use mode), then is valid while its own refresh
    /// token is live.
    pub(crate) fn use_access_token(&self, access: &str) -> AccessCheck {
        let (refresh, previous) = {
            let mut shard = self.access_shard(access);
            let Some(rec) = shard.get_mut(access) else {
                return AccessCheck::Unknown;
            };
            (rec.refresh_token.clone(), rec.previous_refresh_token.take())
        };
        if let Some(previous) = previous {
            self.shard(&previous).remove(&previous);
        }
        if self.is_live(&refresh) {
            AccessCheck::Valid
        } else {
            AccessCheck::Revoked
        }
    }

    pub fn revocation(&self) -> Revocation {
        self.inner.revocation
    }

    fn access_shard(&self, token: &str) -> MutexGuard<'_, Shard<AccessRecord>> {
        let i = (fnv1a(token.as_bytes(), FNV_OFFSET) as usize) % SHARDS;
        self.inner.access[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new random token in the profile's format (also used for access tokens).
    pub(crate) fn new_token(&self) -> String {
        random_token(self.inner.behaviour.body.tokens_base64url)
    }

    fn insert(&self, token: &str, grant: Grant) {
        self.shard(token).insert(token, grant);
    }

    fn shard(&self, token: &str) -> MutexGuard<'_, Shard<Grant>> {
        let i = (fnv1a(token.as_bytes(), FNV_OFFSET) as usize) % SHARDS;
        // A panic while holding a shard cannot leave the map half-updated
        // (single insert/remove), so a poisoned lock is safe to keep using.
        self.inner.shards[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl fmt::Debug for DoubleState {
    // Never prints credentials or tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoubleState")
            .field("profile", &self.inner.profile.name())
            .field("clients", &self.inner.clients.len())
            .field("live_tokens", &self.live_token_count())
            .finish()
    }
}

fn random_token(base64url: bool) -> String {
    let bytes: [u8; 32] = rand::random();
    if base64url {
        URL_SAFE_NO_PAD.encode(bytes)
    } else {
        hex64(&bytes)
    }
}

/// Lowercase hex by table: on every request twice, and `hex::encode` goes
/// through a char iterator.
fn hex64(bytes: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
    }
    String::from_utf8(out.to_vec()).expect("hex digits are ASCII")
}

fn generate_fixtures(base64url: bool) -> Fixtures {
    let client = |kind| ClientFixture {
        kind,
        // PayU client ids and secrets are 64 lowercase hex whatever the token format.
        client_id: random_token(false),
        client_secret: random_token(false),
        refresh_token: random_token(base64url),
    };
    Fixtures {
        clients: vec![client(ClientKind::Public), client(ClientKind::Confidential)],
        user: UserFixture {
            username: "sandbox-user".to_owned(),
            password: hex::encode(rand::random::<[u8; 12]>()),
            scope: "hub_session".to_owned(),
        },
    }
}

/// Single spaces between scopes, as Doorkeeper's `Scopes#to_s` writes them.
pub(crate) fn normalize_scope(scope: &str) -> String {
    scope.split_whitespace().collect::<Vec<_>>().join(" ")
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv1a(bytes: &[u8], offset: u64) -> u64 {
    bytes.iter().fold(offset, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A stable UUID for a username (same user, same UUID, across starts and
/// fixtures), shaped like a version-1 UUID. `PayU` writes it time-ordered:
/// time_hi-time_mid-time_low-clock_seq-node; RFC 4122 writes
/// time_low-time_mid-time_hi-clock_seq-node.
fn user_uuid(username: &str) -> (String, String) {
    let a = fnv1a(username.as_bytes(), FNV_OFFSET);
    let b = fnv1a(username.as_bytes(), FNV_OFFSET ^ 0x5bd1_e995_5bd1_e995);
    let mut digits = format!("{a:016x}{b:016x}").into_bytes();
    digits[0] = b'1'; // version 1, first nibble of time_hi
    digits[16] = b"89ab"[(b >> 62) as usize]; // RFC 4122 variant, first nibble of clock_seq
    let d = String::from_utf8(digits).expect("hex digits are ASCII");
    let (hi, mid, low, clock, node) = (&d[0..4], &d[4..8], &d[8..16], &d[16..20], &d[20..32]);
    (
        format!("{hi}-{mid}-{low}-{clock}-{node}"),
        format!("{low}-{mid}-{hi}-{clock}-{node}"),
    )
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex64_matches_hex_crate() {
        let bytes: [u8; 32] = rand::random();
        assert_eq!(hex64(&bytes), hex::encode(bytes));
        assert_eq!(hex64(&[0xab; 32]), "ab".repeat(32));
    }

    #[test]
    fn uuid_layouts_are_stable_and_shaped() {
        let (o, r) = user_uuid("sandbox-user");
        assert_eq!(user_uuid("sandbox-user"), (o.clone(), r.clone()));
        assert_ne!(user_uuid("someone-else").0, o);
        let lens = |s: &str| s.split('-').map(str::len).collect::<Vec<_>>();
        assert_eq!(lens(&o), [4, 4, 8, 4, 12]);
        assert_eq!(lens(&r), [8, 4, 4, 4, 12]);
        assert!(
            o.chars()
                .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
    }

    #[test]
    fn generated_fixtures_are_hex_and_live() {
        let s = DoubleState::new(DoubleOptions::default());
        let f = s.fixtures();
        assert_eq!(f.clients.len(), 2);
        assert_eq!(f.clients[0].kind, ClientKind::Public);
        assert_eq!(f.clients[1].kind, ClientKind::Confidential);
        for c in &f.clients {
            for v in [&c.client_id, &c.client_secret, &c.refresh_token] {
                assert_eq!(v.len(), 64);
                assert!(
                    v.chars()
                        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
                );
            }
            assert!(s.is_live(&c.refresh_token));
        }
        assert_eq!(s.live_token_count(), 2);
        let t = s.issue_refresh_token(&f.clients[0].client_id).unwrap();
        assert!(s.is_live(&t));
        assert_eq!(s.live_token_count(), 3);
        assert_eq!(s.issue_refresh_token("nope"), None);
    }

    #[test]
    fn rotation_removes_the_old_token_once() {
        let s = DoubleState::new(DoubleOptions::default());
        let old = s.fixtures().clients[0].refresh_token.clone();
        let g = s.lookup(&old).unwrap();
        let (new, _) = s.rotate(&old, g.clone()).unwrap();
        assert!(!s.is_live(&old) && s.is_live(&new));
        assert!(s.rotate(&old, g).is_err());
        assert_eq!(s.live_token_count(), 2);
    }

    #[test]
    fn live_tokens_are_bounded_oldest_first() {
        let s = DoubleState::new(DoubleOptions::default());
        let id = s.fixtures().clients[0].client_id.clone();
        let first = s.issue_refresh_token(&id).unwrap();
        let grant = s.lookup(&first).unwrap();
        // Cheap tokens: what is measured is the bound, not the minting.
        for i in 0..MAX_LIVE_TOKENS + MAX_LIVE_TOKENS / 2 {
            s.insert(&format!("t{i}"), grant.clone());
        }
        let last = s.issue_refresh_token(&id).unwrap();
        assert!(s.live_token_count() <= MAX_LIVE_TOKENS);
        assert!(s.live_token_count() >= MAX_LIVE_TOKENS / 2);
        assert!(!s.is_live(&first), "the oldest token is forgotten first");
        assert!(s.is_live(&last));
        // A token of the older generation still rotates.
        let g = s.lookup(&last).unwrap();
        assert!(s.rotate(&last, g).is_ok());
    }
}
