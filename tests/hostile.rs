//! Tokens that are lost (issue 11): each test is a hostile endpoint, store
//! or disk, and the promise that the refresh-token chain survives it or the
//! run says exactly what happened and how to restart.

mod common;
use common::hostile::{Hostile, Mode, Rotation};
use common::{Served, bin, text};
use payu_contract::chain::store::{ChainId, TokenState, TokenStore};
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

fn run(env: &[(String, String)]) -> Output {
    bin()
        .args(["run", "--timeout", "5", "--connect-timeout", "2"])
        .envs(env.iter().cloned())
        .output()
        .unwrap()
}

fn only_entry(store: &Path) -> payu_contract::chain::store::ChainEntry {
    let s = TokenStore::open(store, None, Duration::from_secs(5)).unwrap();
    let all = s.chains();
    assert_eq!(all.len(), 1, "one chain in the store");
    all[0].1.clone()
}

/// Requests after the first successful rotation that carry the token it
/// rotated away, or try to spend anything.
fn spending_after_the_break(h: &Hostile) -> usize {
    let seen = h.seen();
    let first_used = h.used().first().cloned().expect("a rotation happened");
    let break_at = h.rotated_by()[0];
    let after: Vec<_> = seen[break_at + 1..]
        .iter()
        .filter(|s| {
            let t = s.field("refresh_token").unwrap_or("");
            t == first_used || h.is_live(t) || h.used().iter().any(|u| u == t)
        })
        .collect();
    for s in &after {
        eprintln!(
            "sent again: {:?}",
            s.form
                .iter()
                .map(|(k, v)| (k, &v[..v.len().min(8)]))
                .collect::<Vec<_>>()
        );
    }
    after.len()
}

fn unreadable_rotation_is_possibly_consumed(rotation: Rotation) {
    let h = Hostile::start(Mode {
        rotation,
        broken_first: 1,
        ..Mode::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.json");
    let out = run(&h.env(&store));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{rotation:?}: {all}");
    assert!(
        all.contains("could not be read"),
        "{rotation:?}: names why: {all}"
    );
    assert!(
        all.contains("check-credentials"),
        "{rotation:?}: gives the recovery step: {all}"
    );
    let entry = only_entry(&store);
    assert_eq!(
        entry.state,
        TokenState::PossiblyConsumed,
        "{rotation:?}: the store must not claim the rotated-away token is live"
    );
    assert_eq!(
        spending_after_the_break(&h),
        0,
        "{rotation:?}: no token was sent again after the unreadable rotation"
    );
}

#[test]
fn html_200_to_a_refresh_leaves_the_token_possibly_consumed() {
    unreadable_rotation_is_possibly_consumed(Rotation::Html);
}

#[test]
fn truncated_json_to_a_refresh_leaves_the_token_possibly_consumed() {
    unreadable_rotation_is_possibly_consumed(Rotation::Truncated);
}

#[test]
fn a_gzip_rotation_is_decoded_and_identity_is_asked_for() {
    let h = Hostile::start(Mode {
        rotation: Rotation::Gzip,
        ..Mode::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.json");
    let out = run(&h.env(&store));
    let all = text(&out);
    let entry = only_entry(&store);
    assert_eq!(entry.state, TokenState::Live, "{all}");
    assert!(
        h.is_live(entry.refresh_token.expose()),
        "the store holds the token the server considers live: {all}"
    );
    assert!(
        h.seen()
            .iter()
            .all(|s| s.header("accept-encoding") == Some("identity")),
        "every request asks for an uncompressed answer"
    );
    assert!(entry.rotations > 0, "{all}");
}

// ---- seeds and chain keys ----------------------------------------------------

fn served_env(served: &Served, store: &Path) -> Vec<(String, String)> {
    served.env(store)
}

fn set(env: &mut [(String, String)], key: &str, value: &str) {
    for (k, v) in env.iter_mut() {
        if k == key {
            *v = value.to_owned();
        }
    }
}

#[test]
fn a_dead_new_seed_keeps_the_live_chain_and_says_so() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.json");
    let mut env = served_env(&served, &store);
    // First run: the seed is spent, the chain moves on.
    let out = run(&env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let before = only_entry(&store);
    // The partner pastes a token the chain has already rotated away (the
    // first run's seed, spelled as a different seed than the store saw).
    let dead_seed = served.client("public")["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    {
        let mut s = TokenStore::open(&store, None, Duration::from_secs(5)).unwrap();
        let (id, mut e) = s.chains()[0].clone();
        e.seed_fingerprint = None; // as if the chain had been started by Get Token
        s.put(&id, e).unwrap();
    }
    set(&mut env, "PAYU_REFRESH_TOKEN", &dead_seed);
    let out = run(&env);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "the live chain is kept: {all}");
    assert!(
        all.contains("PAYU_REFRESH_TOKEN") && all.contains("dead"),
        "the run says the configured seed is dead and the chain was kept: {all}"
    );
    let after = only_entry(&store);
    assert!(after.rotations > before.rotations, "{all}");
}

#[test]
fn a_live_new_seed_starts_a_new_chain_and_says_so() {
    let h = Hostile::start(Mode::default());
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.json");
    let mut env = h.env(&store);
    run(&env);
    let before = only_entry(&store);
    assert!(before.rotations > 0, "the first run moved the chain on");
    // A person gives the run a new token that works.
    let fresh = h.issue();
    set(&mut env, "PAYU_REFRESH_TOKEN", &fresh);
    let out = run(&env);
    let all = text(&out);
    assert!(
        all.contains("set aside"),
        "the run says what it chose: {all}"
    );
    let after = only_entry(&store);
    assert_eq!(
        after.seed_fingerprint,
        Some(payu_contract::chain::store::fingerprint(
            &payu_contract::secret::Secret::from(fresh.as_str())
        )),
        "the chain now starts from the new seed: {all}"
    );
    assert!(h.is_live(after.refresh_token.expose()), "{all}");
}

#[test]
fn check_credentials_refresh_with_a_dead_seed_keeps_the_live_chain() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.json");
    let mut env = served_env(&served, &store);
    let out = run(&env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let dead_seed = served.client("public")["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    {
        let mut s = TokenStore::open(&store, None, Duration::from_secs(5)).unwrap();
        let (id, mut e) = s.chains()[0].clone();
        e.seed_fingerprint = None;
        s.put(&id, e).unwrap();
    }
    let before = only_entry(&store);
    set(&mut env, "PAYU_REFRESH_TOKEN", &dead_seed);
    let out = bin()
        .args(["check-credentials", "--refresh"])
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the stored chain's token is refreshed: {all}"
    );
    let after = only_entry(&store);
    assert_eq!(after.rotations, before.rotations + 1, "{all}");
}

#[test]
fn url_spellings_of_one_endpoint_share_one_chain() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.json");
    let mut env = served_env(&served, &store);
    let out = run(&env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The same endpoint, spelled with a trailing slash.
    let other = format!("{}/", served.token_url);
    set(&mut env, "PAYU_TOKEN_URL", &other);
    let out = run(&env);
    let all = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the second spelling continues the chain: {all}"
    );
    let s = TokenStore::open(&store, None, Duration::from_secs(5)).unwrap();
    assert_eq!(s.chains().len(), 1, "one chain for one endpoint: {all}");
}

#[test]
fn chain_keys_ignore_spelling() {
    let key = |u: &str| ChainId::endpoint(&url::Url::parse(u).unwrap(), "c").token_url;
    let canonical = key("https://uat-accounts.payu.in/oauth/token");
    for spelling in [
        "https://UAT-Accounts.PayU.in/oauth/token",
        "https://uat-accounts.payu.in:443/oauth/token",
        "https://uat-accounts.payu.in./oauth/token",
        "https://uat-accounts.payu.in/oauth/token/",
        "https://uat-accounts.payu.in/oauth/token#frag",
    ] {
        assert_eq!(key(spelling), canonical, "{spelling}");
    }
    assert_ne!(key("https://uat-accounts.payu.in/oauth/other"), canonical);
    assert_ne!(key("http://uat-accounts.payu.in/oauth/token"), canonical);
}

// ---- dead token: the harness's precondition, not drift ---------------------------

#[test]
fn a_dead_refresh_token_is_no_verdict_before_any_scenario() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.json");
    let mut env = served_env(&served, &store);
    set(&mut env, "PAYU_REFRESH_TOKEN", &common::hostile::hex(32));
    let out = run(&env);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(
        all.contains("check-credentials"),
        "the recovery step: {all}"
    );
    assert!(
        !all.contains("drift"),
        "a dead token is not contract drift: {all}"
    );
}

// ---- symlinked store ---------------------------------------------------------------

#[test]
fn a_symlinked_store_is_replaced_through_its_target() {
    let served = Served::start(&[]);
    let vol = tempfile::tempdir().unwrap();
    let job = tempfile::tempdir().unwrap();
    let target = vol.path().join("token-store.json");
    let link = job.path().join("store.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let env = served_env(&served, &link);
    for _ in 0..2 {
        let out = run(&env);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "the link is still a link"
        );
    }
    let entry = only_entry(&target);
    assert!(entry.rotations >= 2, "the volume has the chain");
}

#[test]
fn jobs_in_different_folders_sharing_a_volume_lock_each_other() {
    let vol = tempfile::tempdir().unwrap();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let target = vol.path().join("token-store.json");
    let (la, lb) = (a.path().join("store.json"), b.path().join("store.json"));
    std::os::unix::fs::symlink(&target, &la).unwrap();
    std::os::unix::fs::symlink(&target, &lb).unwrap();
    let held = TokenStore::open(&la, None, Duration::from_secs(2)).unwrap();
    let second = TokenStore::open(&lb, None, Duration::from_millis(300));
    assert!(
        matches!(
            second,
            Err(payu_contract::chain::store::StoreError::LockTimeout { .. })
        ),
        "the second job must wait for the first: {second:?}"
    );
    drop(held);
    TokenStore::open(&lb, None, Duration::from_secs(2)).unwrap();
}

// ---- disk full -----------------------------------------------------------------

/// A 256 KiB tmpfs, unmounted on drop; `None` (with a loud line) where
/// mounting is not permitted, except under CI=true where it must work.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                !common::in_ci(),
                "CI=true: a small tmpfs must be mountable for the disk-full test"
            );
            eprintln!(
                "SKIPPED: disk-full test, because `mount -t tmpfs` is not permitted here (run as root, or under CI=true)"
            );
            return None;
        }
        Some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the file system holding `dir` to the last byte.
fn fill(dir: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    let _ = f.write_all(&[0u8; 1]);
    while f.write_all(&[0u8; 1]).is_ok() {}
    let _ = f.sync_all();
}

#[test]
fn a_disk_that_fills_during_the_refresh_does_not_lose_the_rotated_token() {
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    let store = disk.path().join("store.json");
    let dir = disk.path().to_path_buf();
    let h = Hostile::start(Mode {
        on_first_rotation: Some(Arc::new(move || fill(&dir))),
        ..Mode::default()
    });
    let out = run(&h.env(&store));
    let all = text(&out);
    let s = TokenStore::open(&store, None, Duration::from_secs(5));
    let entry = s.unwrap().chains()[0].1.clone();
    assert!(
        h.is_live(entry.refresh_token.expose()) && entry.state == TokenState::Live,
        "the token rotated while the disk filled is in the store: {all}"
    );
}

#[test]
fn when_the_rotated_token_cannot_be_saved_the_run_says_the_chain_is_lost_and_how_to_restart() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("store-dir");
    let store = dir.join("store.json");
    let gone = dir.clone();
    let h = Hostile::start(Mode {
        // The store's folder disappears while the refresh is in flight.
        on_first_rotation: Some(Arc::new(move || {
            let _ = std::fs::remove_dir_all(&gone);
        })),
        ..Mode::default()
    });
    let out = run(&h.env(&store));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(
        all.contains("could not be saved") && all.contains("chain is lost"),
        "tells the truth about the chain: {all}"
    );
    assert!(
        all.contains("check-credentials --refresh"),
        "says how to start a new chain: {all}"
    );
    assert!(!all.contains("rerun"), "a rerun cannot work: {all}");
    assert!(!all.contains("panicked"), "{all}");
}
