//! The refresh-token store: the one place the refresh-token chain survives
//! between runs.
//!
//! A live run consumes a refresh token and receives a rotated one; from then
//! on the rotated token is the only valid credential. The store is a small
//! JSON file (default `.payu-contract/token-store.json`, the caller passes the
//! path) that carries the chain between scheduled runs:
//!
//! - keyed by [`ChainId`] (token URL + client id), so several targets and
//!   clients can share one file;
//! - every write is an atomic replace (temp file in the same directory with
//!   mode 0600 from creation, fsync, rename over, fsync the directory), so a
//!   run killed at any point leaves either the old or the new file;
//! - [`TokenStore::open`] takes an exclusive advisory lock on the sidecar
//!   `<store>.lock`, held by the returned [`LockedStore`] until it is dropped,
//!   so two runs at once serialize and the second sees what the first wrote;
//! - with a [`StoreKey`] (`PAYU_STORE_KEY`) the content is sealed with
//!   XChaCha20-Poly1305 (fresh random 24-byte nonce per write, the header as
//!   associated data): without the key nothing in the file is readable.
//!
//! # File format (version 1)
//!
//! Plain:
//!
//! ```json
//! {"format":"payu-contract-store","version":1,"encrypted":false,
//!  "chains":[{"token_url":"…","client_id":"…","refresh_token":"…",
//!             "state":"live","seed_fingerprint":"<sha256 hex>|null",
//!             "updated_at":1700000000,"rotations":3}]}
//! ```
//!
//! Encrypted (the ciphertext seals `{"chains":[…]}`; the associated data is
//! the JSON of the three header fields, `{"format":…,"version":1,"encrypted":true}`):
//!
//! ```json
//! {"format":"payu-contract-store","version":1,"encrypted":true,
//!  "nonce":"<base64, 24 bytes>","ciphertext":"<base64>"}
//! ```
//!
//! Error messages ([`StoreError`]) are one line that names the problem and the
//! fix, and never contain a token or the key.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::secret::Secret;

/// The `format` field of every store file.
pub const STORE_FORMAT: &str = "payu-contract-store";
/// The file format version this build reads and writes.
pub const STORE_VERSION: u32 = 1;
/// The default store path, relative to the working directory.
pub const DEFAULT_STORE_PATH: &str = ".payu-contract/token-store.json";
/// Room for the next token when space is reserved ahead of a refresh.
const RESERVE_MARGIN: usize = 16 * 1024;
/// Symlinks followed before a store path is refused as a loop.
const MAX_LINKS: usize = 40;
/// How often a waiting [`TokenStore::open`] retries the lock.
const LOCK_POLL: Duration = Duration::from_millis(50);
/// The fix printed for every unreadable store.
const CORRUPT_FIX: &str =
    "restore it from your CI cache or delete it and seed a new chain with PAYU_REFRESH_TOKEN";

/// What identifies a refresh-token chain: the token endpoint and the client.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainId {
    /// The token endpoint URL the chain's tokens are valid at.
    pub token_url: String,
    /// The OAuth client id the tokens were issued to.
    pub client_id: String,
}

impl ChainId {
    /// The chain id of a token endpoint and a client. Spellings of one
    /// endpoint give one key: the URL parser already lowercases scheme and
    /// host and drops a default port; here a trailing dot on the host, a
    /// trailing slash on the path (Rails routes both alike), the fragment
    /// and an empty query go too.
    pub fn endpoint(token_url: &url::Url, client_id: impl Into<String>) -> Self {
        ChainId::new(canonical_endpoint(token_url), client_id)
    }

    /// A chain id from its two parts.
    pub fn new(token_url: impl Into<String>, client_id: impl Into<String>) -> Self {
        ChainId {
            token_url: token_url.into(),
            client_id: client_id.into(),
        }
    }
}

/// The one spelling of a token endpoint URL used as a chain key.
pub fn canonical_endpoint(url: &url::Url) -> String {
    let mut u = url.clone();
    u.set_fragment(None);
    if u.query() == Some("") {
        u.set_query(None);
    }
    if let Some(url::Host::Domain(d)) = u.host() {
        let trimmed = d.trim_end_matches('.').to_ascii_lowercase();
        if trimmed != d && !trimmed.is_empty() {
            let _ = u.set_host(Some(&trimmed));
        }
    }
    let path = u.path().to_owned();
    if path.len() > 1 && path.ends_with('/') {
        u.set_path(path.trim_end_matches('/'));
    }
    u.to_string()
}

/// What is known about the stored refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    /// The token has not been sent since it was stored: it is believed valid.
    Live,
    /// A refresh with this token was sent and its outcome is unknown (timeout,
    /// connection loss): it may have been consumed. Never send it blindly.
    PossiblyConsumed,
}

/// One chain's entry in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEntry {
    /// The current (latest known) refresh token of the chain.
    pub refresh_token: Secret<String>,
    /// Whether that token is believed valid or possibly consumed.
    pub state: TokenState,
    /// SHA-256 hex of the `PAYU_REFRESH_TOKEN` seed that started the chain;
    /// `None` when it was started another way (password grant).
    pub seed_fingerprint: Option<String>,
    /// When the entry was last written, unix seconds.
    pub updated_at: u64,
    /// How many rotations the chain has gone through since it started.
    pub rotations: u64,
}

impl ChainEntry {
    /// A fresh, live chain started from a `PAYU_REFRESH_TOKEN` seed.
    pub fn from_seed(seed: &Secret<String>) -> Self {
        ChainEntry {
            refresh_token: seed.clone(),
            state: TokenState::Live,
            seed_fingerprint: Some(fingerprint(seed)),
            updated_at: now_unix(),
            rotations: 0,
        }
    }
}

/// Where a run's refresh token comes from, as decided by [`choose_start`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Continue the stored chain with this live token.
    FromStore(Secret<String>),
    /// The stored token may have been consumed by an earlier run whose refresh
    /// outcome is unknown: the caller must refuse to send it and explain the
    /// recovery (a new `PAYU_REFRESH_TOKEN`, or removing the chain).
    PossiblyConsumed(Secret<String>),
    /// Start a new chain from the configured seed (the store has not seen it).
    NewChainFromSeed(Secret<String>),
}

/// Everything that can go wrong with the store. Display is one line naming
/// the problem and the fix; it never contains a token or the key.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file is encrypted and no key was given.
    #[error(
        "token store {} is encrypted but PAYU_STORE_KEY is not set: set the key it was written with",
        .path.display()
    )]
    KeyMissing {
        /// The store file.
        path: PathBuf,
    },
    /// Authenticated decryption failed.
    #[error(
        "token store {} could not be decrypted with PAYU_STORE_KEY (wrong key or corrupted file): set the key it was written with, or {CORRUPT_FIX}",
        .path.display()
    )]
    Decrypt {
        /// The store file.
        path: PathBuf,
    },
    /// The file is not JSON at all.
    #[error(
        "token store {} is not valid JSON (corrupt, line {line} column {column}): {CORRUPT_FIX}",
        .path.display()
    )]
    NotJson {
        /// The store file.
        path: PathBuf,
        /// Where parsing stopped.
        line: usize,
        /// Where parsing stopped.
        column: usize,
    },
    /// The file is JSON but not a well-formed store.
    #[error("token store {} is corrupt ({detail}): {CORRUPT_FIX}", .path.display())]
    Corrupt {
        /// The store file.
        path: PathBuf,
        /// What is wrong; never file content.
        detail: String,
    },
    /// The file is some other JSON document.
    #[error(
        "{} is not a payu-contract token store (no \"format\":\"{STORE_FORMAT}\"): point PAYU_TOKEN_STORE at a token store file",
        .path.display()
    )]
    NotAStore {
        /// The file.
        path: PathBuf,
    },
    /// Written by a newer payu-contract.
    #[error(
        "token store {} has format version {found}, this payu-contract reads version {STORE_VERSION}: upgrade payu-contract",
        .path.display()
    )]
    UnsupportedVersion {
        /// The store file.
        path: PathBuf,
        /// The version in the file.
        found: u64,
    },
    /// `PAYU_STORE_KEY` is malformed.
    #[error(
        "PAYU_STORE_KEY must be 32 bytes as 64 hex characters or base64: generate one with `payu-contract store-keygen`"
    )]
    BadKey,
    /// Another run holds the lock.
    #[error(
        "token store {} is locked by another run ({} still held after {}): wait for that run to finish, or wait longer with PAYU_LOCK_TIMEOUT / --lock-timeout (seconds)",
        .path.display(), .lock_path.display(), humantime::format_duration(*.waited)
    )]
    LockTimeout {
        /// The store file.
        path: PathBuf,
        /// The sidecar lock file.
        lock_path: PathBuf,
        /// How long the open waited.
        waited: Duration,
    },
    /// The chain to update is not in the store.
    #[error(
        "token store {} has no chain for client {} at {}: seed one with PAYU_REFRESH_TOKEN",
        .path.display(), .chain.client_id, .chain.token_url
    )]
    UnknownChain {
        /// The store file.
        path: PathBuf,
        /// The chain asked for.
        chain: ChainId,
    },
    /// A file-system operation failed.
    #[error("could not {action} {}: {source}: {}", .path.display(), io_fix(.source))]
    Io {
        /// What was being done ("read the token store", ...).
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

fn io_fix(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::PermissionDenied => {
            "make the store file and its directory owned and writable by the user running payu-contract, or set PAYU_TOKEN_STORE to a writable path"
        }
        io::ErrorKind::StorageFull => "free disk space",
        io::ErrorKind::ReadOnlyFilesystem => {
            "set PAYU_TOKEN_STORE to a path on a writable file system"
        }
        _ => "check PAYU_TOKEN_STORE points to a writable file path",
    }
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError + use<> {
    let path = path.to_path_buf();
    move |source| StoreError::Io {
        action,
        path,
        source,
    }
}

/// The key that encrypts the store at rest (`PAYU_STORE_KEY`): 32 bytes.
/// Debug prints `[redacted]`.
#[derive(Clone)]
pub struct StoreKey(Secret<[u8; 32]>);

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreKey({:?})", self.0)
    }
}

impl StoreKey {
    /// Parses a key given as exactly 64 hex characters or as standard
    /// (padded) base64 of exactly 32 bytes; surrounding whitespace is ignored.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        let s = s.trim();
        let bytes = if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(s).map_err(|_| StoreError::BadKey)?
        } else {
            B64.decode(s).map_err(|_| StoreError::BadKey)?
        };
        let key: [u8; 32] = bytes.try_into().map_err(|_| StoreError::BadKey)?;
        Ok(StoreKey(Secret::new(key)))
    }

    /// A new random key from the OS generator, as 64 hex characters (what
    /// `payu-contract store-keygen` prints).
    pub fn generate() -> String {
        hex::encode(XChaCha20Poly1305::generate_key(&mut OsRng))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.0.expose().into())
    }
}

/// SHA-256 hex of a seed token: what the store remembers of a seed.
pub fn fingerprint(seed: &Secret<String>) -> String {
    hex::encode(Sha256::digest(seed.expose().as_bytes()))
}

/// The seed rule, as a pure function. `entry` is the store's entry for the
/// chain, `seed` the configured `PAYU_REFRESH_TOKEN` (an empty seed counts as
/// none):
///
/// | entry | seed | result |
/// |---|---|---|
/// | yes | none, or same fingerprint as the entry's | the store's token ([`Start::FromStore`], or [`Start::PossiblyConsumed`] by its state) |
/// | yes | different fingerprint | [`Start::NewChainFromSeed`] |
/// | no | yes | [`Start::NewChainFromSeed`] |
/// | no | none | `None`: fall back to the password grant, or fail |
pub fn choose_start(entry: Option<&ChainEntry>, seed: Option<&Secret<String>>) -> Option<Start> {
    let seed = seed.filter(|s| !s.is_empty());
    let from_entry = |e: &ChainEntry| match e.state {
        TokenState::Live => Start::FromStore(e.refresh_token.clone()),
        TokenState::PossiblyConsumed => Start::PossiblyConsumed(e.refresh_token.clone()),
    };
    match (entry, seed) {
        (Some(e), None) => Some(from_entry(e)),
        (Some(e), Some(s)) if e.seed_fingerprint.as_deref() == Some(fingerprint(s).as_str()) => {
            Some(from_entry(e))
        }
        (_, Some(s)) => Some(Start::NewChainFromSeed(s.clone())),
        (None, None) => None,
    }
}

/// Opens token stores. See [`TokenStore::open`].
pub struct TokenStore;

impl TokenStore {
    /// Locks and reads the store at `path`.
    ///
    /// Creates missing parent directories (mode 0700) and the sidecar lock
    /// file `<path>.lock` (0600, never removed), then waits up to
    /// `lock_timeout` for the exclusive lock (polling every 50 ms). A missing
    /// store file is an empty store; an unreadable, corrupt, or undecryptable
    /// one is an error. A plain file opened with a key is rewritten encrypted
    /// at once. Leftover temp files of a killed writer are removed.
    pub fn open(
        path: &Path,
        key: Option<StoreKey>,
        lock_timeout: Duration,
    ) -> Result<LockedStore, StoreError> {
        // A symlinked store (a persistent volume) is read, locked and
        // replaced at its target: the link stays a link, and jobs whose
        // links point at one file lock the same lock file.
        let resolved = resolve_links(path)?;
        let path = resolved.as_path();
        let dir = parent_dir(path);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(io_err("create the token store directory", &dir))?;

        let lock_path = lock_path_of(path);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(io_err("open the token store lock file", &lock_path))?;
        let started = Instant::now();
        loop {
            match fs4::FileExt::try_lock(&lock) {
                Ok(()) => break,
                Err(fs4::TryLockError::WouldBlock) => {
                    let waited = started.elapsed();
                    if waited >= lock_timeout {
                        return Err(StoreError::LockTimeout {
                            path: path.to_path_buf(),
                            lock_path,
                            waited: Duration::from_millis(waited.as_millis() as u64),
                        });
                    }
                    std::thread::sleep(LOCK_POLL.min(lock_timeout.checked_sub(waited).unwrap()));
                }
                Err(fs4::TryLockError::Error(e)) => {
                    return Err(io_err("lock the token store lock file", &lock_path)(e));
                }
            }
        }

        remove_stale_temp_files(path);
        let (chains, was_encrypted) = match fs::read(path) {
            Ok(bytes) => decode(path, &bytes, key.as_ref())?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => (BTreeMap::new(), false),
            Err(e) => return Err(io_err("read the token store", path)(e)),
        };
        let mut store = LockedStore {
            path: path.to_path_buf(),
            key,
            chains,
            reserved: None,
            _lock: lock,
        };
        if store.key.is_some() && !was_encrypted && !store.chains.is_empty() {
            let chains = store.chains.clone();
            store.persist(&chains)?;
        }
        Ok(store)
    }
}

/// An open, exclusively locked store. The lock is released when this value
/// is dropped (or the process dies).
#[derive(Debug)]
pub struct LockedStore {
    path: PathBuf,
    key: Option<StoreKey>,
    chains: BTreeMap<ChainId, ChainEntry>,
    /// The next store file, written ahead and allocated before a request
    /// that may hand out a new token (see [`LockedStore::reserve`]).
    reserved: Option<tempfile::NamedTempFile>,
    _lock: File,
}

impl LockedStore {
    /// The store file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every chain in the store, in key order.
    pub fn chains(&self) -> Vec<(ChainId, ChainEntry)> {
        self.chains
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The entry of a chain, if the store has one.
    pub fn get(&self, chain: &ChainId) -> Option<&ChainEntry> {
        self.chains.get(chain)
    }

    /// Sets a chain's entry. The file is replaced atomically and fsynced
    /// before this returns; on error the store is unchanged (in memory and
    /// on disk).
    pub fn put(&mut self, chain: &ChainId, entry: ChainEntry) -> Result<(), StoreError> {
        let mut next = self.chains.clone();
        next.insert(chain.clone(), entry);
        self.commit(next)
    }

    /// Records a rotation: `new_token` becomes the chain's live token, the
    /// rotation counter goes up by one, the seed fingerprint is kept. A chain
    /// the store does not have yet is created (no seed fingerprint).
    /// Persisted before returning, like [`LockedStore::put`].
    pub fn record_rotation(
        &mut self,
        chain: &ChainId,
        new_token: Secret<String>,
    ) -> Result<(), StoreError> {
        let (seed_fingerprint, rotations) = self
            .get(chain)
            .map_or((None, 0), |e| (e.seed_fingerprint.clone(), e.rotations));
        self.put(
            chain,
            ChainEntry {
                refresh_token: new_token,
                state: TokenState::Live,
                seed_fingerprint,
                updated_at: now_unix(),
                rotations: rotations + 1,
            },
        )
    }

    /// Marks the chain's token as possibly consumed (a refresh was sent and
    /// its outcome is unknown); the token itself is kept. Persisted before
    /// returning. Errors if the chain is not in the store.
    pub fn mark_possibly_consumed(&mut self, chain: &ChainId) -> Result<(), StoreError> {
        let mut next = self.chains.clone();
        let entry = next
            .get_mut(chain)
            .ok_or_else(|| StoreError::UnknownChain {
                path: self.path.clone(),
                chain: chain.clone(),
            })?;
        entry.state = TokenState::PossiblyConsumed;
        entry.updated_at = now_unix();
        self.commit(next)
    }

    /// Marks the chain's token live again: a request that could have spent
    /// it was answered without rotating, or a probe found it alive.
    /// Persisted before returning; a chain that is absent or already live is
    /// left as it is (no write).
    pub fn mark_live(&mut self, chain: &ChainId) -> Result<(), StoreError> {
        match self.chains.get(chain) {
            Some(entry) if entry.state != TokenState::Live => {
                let mut next = self.chains.clone();
                if let Some(entry) = next.get_mut(chain) {
                    entry.state = TokenState::Live;
                    entry.updated_at = now_unix();
                }
                self.commit(next)
            }
            _ => Ok(()),
        }
    }

    /// Removes a chain (recovery from a possibly consumed token). Returns
    /// whether it was there; persisted before returning.
    pub fn remove(&mut self, chain: &ChainId) -> Result<bool, StoreError> {
        if !self.chains.contains_key(chain) {
            return Ok(false);
        }
        let mut next = self.chains.clone();
        next.remove(chain);
        self.commit(next)?;
        Ok(true)
    }

    /// Applies [`choose_start`] to this chain and the configured seed. A new
    /// chain from the seed is written to the store (live, 0 rotations, the
    /// seed's fingerprint) before this returns, so a later
    /// [`LockedStore::mark_possibly_consumed`] has an entry to mark.
    pub fn resolve_start(
        &mut self,
        chain: &ChainId,
        seed: Option<&Secret<String>>,
    ) -> Result<Option<Start>, StoreError> {
        let start = choose_start(self.get(chain), seed);
        if let Some(Start::NewChainFromSeed(seed)) = &start {
            self.put(chain, ChainEntry::from_seed(seed))?;
        }
        Ok(start)
    }

    /// Secures the disk space for the next write before a request that may
    /// hand out a token is sent: a temporary file in the store's folder,
    /// allocated to the current content plus room for a new token of up to
    /// `RESERVE_MARGIN` bytes. The next write fills it in place and renames
    /// it over the store, so a disk that fills up meanwhile cannot stop it.
    pub fn reserve(&mut self) -> Result<(), StoreError> {
        let len = encode(&self.chains, self.key.as_ref())?.len() + RESERVE_MARGIN;
        let tmp = self.temp_file()?;
        fs4::FileExt::allocate(tmp.as_file(), len as u64)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(io_err(
                "reserve space for the next token store in",
                tmp.path(),
            ))?;
        self.reserved = Some(tmp);
        Ok(())
    }

    fn temp_file(&self) -> Result<tempfile::NamedTempFile, StoreError> {
        let dir = parent_dir(&self.path);
        let (prefix, suffix) = temp_affixes(&self.path);
        tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(&suffix)
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(&dir)
            .map_err(io_err("create a temporary file in", &dir))
    }

    fn commit(&mut self, next: BTreeMap<ChainId, ChainEntry>) -> Result<(), StoreError> {
        self.persist(&next)?;
        self.chains = next;
        Ok(())
    }

    /// Atomic replace: temp file (0600 at creation) in the same directory,
    /// write, fsync, rename over the store, fsync the directory.
    /// A reserved file (see [`LockedStore::reserve`]) is used first: it is
    /// overwritten in place, cut to length, then renamed.
    fn persist(&mut self, chains: &BTreeMap<ChainId, ChainEntry>) -> Result<(), StoreError> {
        let bytes = encode(chains, self.key.as_ref())?;
        let dir = parent_dir(&self.path);
        let mut tmp = match self.reserved.take() {
            Some(t) => t,
            None => self.temp_file()?,
        };
        let tmp_path = tmp.path().to_path_buf();
        tmp.seek(io::SeekFrom::Start(0))
            .and_then(|_| tmp.write_all(&bytes))
            .and_then(|()| tmp.as_file().set_len(bytes.len() as u64))
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(io_err("write the temporary token store", &tmp_path))?;
        tmp.persist(&self.path)
            .map_err(|e| io_err("replace the token store", &self.path)(e.error))?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err("sync the token store directory", &dir))?;
        Ok(())
    }
}

impl Drop for LockedStore {
    fn drop(&mut self) {
        // Closing the file releases the lock anyway; unlock explicitly so the
        // release does not depend on other handles to the same description.
        let _ = fs4::FileExt::unlock(&self._lock);
    }
}

// ---- on-disk representation -------------------------------------------------

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u64,
    encrypted: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainFile {
    format: String,
    version: u64,
    encrypted: bool,
    chains: Vec<DiskEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SealedFile {
    format: String,
    version: u64,
    encrypted: bool,
    nonce: String,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SealedBody {
    chains: Vec<DiskEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiskEntry {
    token_url: String,
    client_id: String,
    refresh_token: String,
    state: TokenState,
    seed_fingerprint: Option<String>,
    updated_at: u64,
    rotations: u64,
}

fn header_aad(encrypted: bool) -> Vec<u8> {
    serde_json::to_vec(&Header {
        format: STORE_FORMAT.to_owned(),
        version: STORE_VERSION.into(),
        encrypted,
    })
    .expect("header serializes")
}

fn to_disk(chains: &BTreeMap<ChainId, ChainEntry>) -> Vec<DiskEntry> {
    chains
        .iter()
        .map(|(id, e)| DiskEntry {
            token_url: id.token_url.clone(),
            client_id: id.client_id.clone(),
            refresh_token: e.refresh_token.expose().clone(),
            state: e.state,
            seed_fingerprint: e.seed_fingerprint.clone(),
            updated_at: e.updated_at,
            rotations: e.rotations,
        })
        .collect()
}

fn from_disk(
    path: &Path,
    entries: Vec<DiskEntry>,
) -> Result<BTreeMap<ChainId, ChainEntry>, StoreError> {
    let mut chains = BTreeMap::new();
    for d in entries {
        let id = ChainId::new(d.token_url, d.client_id);
        let entry = ChainEntry {
            refresh_token: Secret::new(d.refresh_token),
            state: d.state,
            seed_fingerprint: d.seed_fingerprint,
            updated_at: d.updated_at,
            rotations: d.rotations,
        };
        if chains.insert(id, entry).is_some() {
            return Err(corrupt(path, "a chain appears twice"));
        }
    }
    Ok(chains)
}

fn encode(
    chains: &BTreeMap<ChainId, ChainEntry>,
    key: Option<&StoreKey>,
) -> Result<Vec<u8>, StoreError> {
    let json = match key {
        None => serde_json::to_vec_pretty(&PlainFile {
            format: STORE_FORMAT.to_owned(),
            version: STORE_VERSION.into(),
            encrypted: false,
            chains: to_disk(chains),
        }),
        Some(key) => {
            let body = serde_json::to_vec(&SealedBody {
                chains: to_disk(chains),
            })
            .expect("store body serializes");
            let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
            let aad = header_aad(true);
            let ciphertext = key
                .cipher()
                .encrypt(
                    &nonce,
                    Payload {
                        msg: &body,
                        aad: &aad,
                    },
                )
                .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
            serde_json::to_vec_pretty(&SealedFile {
                format: STORE_FORMAT.to_owned(),
                version: STORE_VERSION.into(),
                encrypted: true,
                nonce: B64.encode(nonce),
                ciphertext: B64.encode(ciphertext),
            })
        }
    };
    let mut bytes = json.expect("store file serializes");
    bytes.push(b'\n');
    Ok(bytes)
}

/// Parses a store file: returns its chains and whether it was encrypted.
fn decode(
    path: &Path,
    bytes: &[u8],
    key: Option<&StoreKey>,
) -> Result<(BTreeMap<ChainId, ChainEntry>, bool), StoreError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| StoreError::NotJson {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
        })?;
    let format = value.get("format").and_then(|v| v.as_str());
    if format != Some(STORE_FORMAT) {
        return Err(StoreError::NotAStore {
            path: path.to_path_buf(),
        });
    }
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(STORE_VERSION) => {}
        Some(found) => {
            return Err(StoreError::UnsupportedVersion {
                path: path.to_path_buf(),
                found,
            });
        }
        None => return Err(corrupt(path, "\"version\" missing or not a number")),
    }
    match value.get("encrypted").and_then(serde_json::Value::as_bool) {
        Some(false) => {
            // serde's messages can quote values (tokens): report the shape only.
            let file: PlainFile = serde_json::from_value(value)
                .map_err(|_| corrupt(path, "unexpected fields or value types in a plain store"))?;
            Ok((from_disk(path, file.chains)?, false))
        }
        Some(true) => {
            let key = key.ok_or_else(|| StoreError::KeyMissing {
                path: path.to_path_buf(),
            })?;
            let file: SealedFile = serde_json::from_value(value).map_err(|_| {
                corrupt(
                    path,
                    "unexpected fields or value types in an encrypted store",
                )
            })?;
            let nonce = B64
                .decode(&file.nonce)
                .ok()
                .filter(|n| n.len() == 24)
                .ok_or_else(|| corrupt(path, "\"nonce\" is not 24 bytes of base64"))?;
            let ciphertext = B64
                .decode(&file.ciphertext)
                .map_err(|_| corrupt(path, "\"ciphertext\" is not base64"))?;
            let aad = header_aad(true);
            let body = key
                .cipher()
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| StoreError::Decrypt {
                    path: path.to_path_buf(),
                })?;
            let body: SealedBody = serde_json::from_slice(&body)
                .map_err(|_| corrupt(path, "the decrypted content is not a list of chains"))?;
            Ok((from_disk(path, body.chains)?, true))
        }
        None => Err(corrupt(path, "\"encrypted\" missing or not true/false")),
    }
}

fn corrupt(path: &Path, detail: &str) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        detail: detail.to_owned(),
    }
}

// ---- paths and time ---------------------------------------------------------

/// Follows symlinks from `path` to the file they name (which may not exist
/// yet). A loop is refused in one line.
fn resolve_links(path: &Path) -> Result<PathBuf, StoreError> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&p).map_err(io_err("read the token store link", &p))?;
                p = if target.is_absolute() {
                    target
                } else {
                    parent_dir(&p).join(target)
                };
            }
            _ => return Ok(p),
        }
    }
    Err(StoreError::Io {
        action: "follow the token store link",
        path: path.to_path_buf(),
        source: io::Error::other("too many levels of symbolic links"),
    })
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `<store>.lock`, next to the store.
fn lock_path_of(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// Temp files are `.<store file name>.<random>.tmp` in the store's directory.
fn temp_affixes(path: &Path) -> (String, String) {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    (format!(".{name}."), ".tmp".to_owned())
}

/// Removes temp files a killed writer left behind. Only called under the
/// lock, so no live writer of this store owns one. Best effort.
fn remove_stale_temp_files(path: &Path) {
    let (prefix, suffix) = temp_affixes(path);
    let Ok(entries) = fs::read_dir(parent_dir(path)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix)
            && name.ends_with(&suffix)
            && name.len() > prefix.len() + suffix.len()
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_path_is_a_sidecar() {
        assert_eq!(
            lock_path_of(Path::new(".payu-contract/token-store.json")),
            Path::new(".payu-contract/token-store.json.lock")
        );
        assert_eq!(lock_path_of(Path::new("s.json")), Path::new("s.json.lock"));
        assert_eq!(parent_dir(Path::new("s.json")), Path::new("."));
    }

    #[test]
    fn fingerprint_is_sha256_hex() {
        // sha256("abc")
        assert_eq!(
            fingerprint(&Secret::from("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
