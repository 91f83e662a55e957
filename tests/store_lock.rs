//! Token store: the exclusive lock serializes runs; a timeout is a clear error.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use payu_contract::chain::store::{ChainId, Start, StoreError, TokenStore};
use payu_contract::secret::Secret;

fn chain() -> ChainId {
    ChainId::new("http://127.0.0.1:9/token", "client")
}

#[test]
fn second_run_waits_for_the_first_and_sees_its_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.json");
    let seed = Secret::from("seed-A");
    let (locked_tx, locked_rx) = mpsc::channel();

    let first = {
        let (path, seed) = (path.clone(), seed.clone());
        std::thread::spawn(move || {
            let mut s = TokenStore::open(&path, None, Duration::from_secs(5)).unwrap();
            locked_tx.send(()).unwrap();
            let start = s.resolve_start(&chain(), Some(&seed)).unwrap();
            assert_eq!(start, Some(Start::NewChainFromSeed(seed)));
            std::thread::sleep(Duration::from_millis(400)); // the refresh request
            s.record_rotation(&chain(), Secret::from("rotated-by-first"))
                .unwrap();
        })
    };
    locked_rx.recv().unwrap();
    let t0 = Instant::now();
    let mut s = TokenStore::open(&path, None, Duration::from_secs(5)).unwrap();
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(300),
        "did not wait: {waited:?}"
    );
    assert_eq!(
        s.resolve_start(&chain(), Some(&seed)).unwrap(),
        Some(Start::FromStore(Secret::from("rotated-by-first")))
    );
    first.join().unwrap();
}

#[test]
fn lock_timeout_names_the_lock_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.json");
    let _held = TokenStore::open(&path, None, Duration::ZERO).unwrap();
    let t0 = Instant::now();
    let e = TokenStore::open(&path, None, Duration::from_millis(200)).unwrap_err();
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    assert!(matches!(e, StoreError::LockTimeout { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains(&format!("{}.lock", path.display())), "{msg}");
    assert!(msg.contains("locked by another run"), "{msg}");
    assert!(!msg.contains('\n'));
}

#[test]
fn dropping_the_store_releases_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.json");
    drop(TokenStore::open(&path, None, Duration::ZERO).unwrap());
    TokenStore::open(&path, None, Duration::ZERO).unwrap();
}
