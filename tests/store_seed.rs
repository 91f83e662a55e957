//! Token store: the seed rule (`PAYU_REFRESH_TOKEN` vs the stored chain).

use std::time::Duration;

use payu_contract::chain::store::{
    ChainEntry, ChainId, Start, StoreError, TokenState, TokenStore, choose_start, fingerprint,
};
use payu_contract::secret::Secret;

const T: Duration = Duration::from_secs(2);

fn entry(token: &str, seed: Option<&str>, state: TokenState) -> ChainEntry {
    ChainEntry {
        refresh_token: Secret::from(token),
        state,
        seed_fingerprint: seed.map(|s| fingerprint(&Secret::from(s))),
        updated_at: 1,
        rotations: 3,
    }
}

#[test]
fn seed_rule_table() {
    let live = entry("rotated-3", Some("seed-A"), TokenState::Live);
    let consumed = entry("rotated-3", Some("seed-A"), TokenState::PossiblyConsumed);
    let by_password = entry("rotated-3", None, TokenState::Live);
    let a = Secret::from("seed-A");
    let b = Secret::from("seed-B");
    let empty = Secret::from("");
    let from_store = Some(Start::FromStore(Secret::from("rotated-3")));
    let new_a = Some(Start::NewChainFromSeed(a.clone()));
    let new_b = Some(Start::NewChainFromSeed(b.clone()));

    type Row<'a> = (
        &'a str,
        Option<&'a ChainEntry>,
        Option<&'a Secret<String>>,
        Option<Start>,
    );
    let table: Vec<Row> = vec![
        (
            "same seed keeps the store's token",
            Some(&live),
            Some(&a),
            from_store.clone(),
        ),
        (
            "no seed uses the store",
            Some(&live),
            None,
            from_store.clone(),
        ),
        (
            "empty seed counts as none",
            Some(&live),
            Some(&empty),
            from_store.clone(),
        ),
        (
            "new seed starts a new chain",
            Some(&live),
            Some(&b),
            new_b.clone(),
        ),
        (
            "seed with no entry starts a chain",
            None,
            Some(&a),
            new_a.clone(),
        ),
        (
            "seed vs password-grant chain is new",
            Some(&by_password),
            Some(&a),
            new_a.clone(),
        ),
        (
            "password-grant chain, no seed",
            Some(&by_password),
            None,
            from_store.clone(),
        ),
        ("nothing at all", None, None, None),
        ("empty seed, no entry", None, Some(&empty), None),
        (
            "same seed, possibly consumed",
            Some(&consumed),
            Some(&a),
            Some(Start::PossiblyConsumed(Secret::from("rotated-3"))),
        ),
        (
            "no seed, possibly consumed",
            Some(&consumed),
            None,
            Some(Start::PossiblyConsumed(Secret::from("rotated-3"))),
        ),
        (
            "new seed recovers a possibly consumed chain",
            Some(&consumed),
            Some(&b),
            new_b.clone(),
        ),
    ];
    for (name, e, seed, want) in table {
        assert_eq!(choose_start(e, seed), want, "{name}");
    }
}

#[test]
fn ten_runs_with_the_seed_left_set_follow_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.json");
    let chain = ChainId::new("http://127.0.0.1:9/token", "client");
    let seed = Secret::from("seed-A");
    let mut used = vec![];
    for run in 0..10 {
        let mut s = TokenStore::open(&path, None, T).unwrap();
        let token = match s.resolve_start(&chain, Some(&seed)).unwrap() {
            Some(Start::NewChainFromSeed(t)) => {
                assert_eq!(run, 0, "only the first run starts from the seed");
                t
            }
            Some(Start::FromStore(t)) => {
                assert!(run > 0);
                t
            }
            other => panic!("run {run}: {other:?}"),
        };
        assert!(!used.contains(token.expose()), "token used twice");
        used.push(token.expose().clone());
        s.record_rotation(&chain, Secret::new(format!("rotated-{run}")))
            .unwrap();
    }
    let s = TokenStore::open(&path, None, T).unwrap();
    let e = s.get(&chain).unwrap();
    assert_eq!(e.refresh_token.expose(), "rotated-9");
    assert_eq!(e.rotations, 10);
    assert_eq!(
        e.seed_fingerprint.as_deref(),
        Some(fingerprint(&seed).as_str())
    );
}

#[test]
fn new_chain_is_persisted_and_an_unknown_outcome_blocks_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.json");
    let chain = ChainId::new("http://127.0.0.1:9/token", "client");
    let seed = Secret::from("seed-A");
    {
        let mut s = TokenStore::open(&path, None, T).unwrap();
        assert_eq!(
            s.resolve_start(&chain, Some(&seed)).unwrap(),
            Some(Start::NewChainFromSeed(seed.clone()))
        );
        // The refresh timed out.
        s.mark_possibly_consumed(&chain).unwrap();
    }
    let mut s = TokenStore::open(&path, None, T).unwrap();
    assert_eq!(s.get(&chain).unwrap().state, TokenState::PossiblyConsumed);
    assert_eq!(
        s.resolve_start(&chain, Some(&seed)).unwrap(),
        Some(Start::PossiblyConsumed(seed.clone()))
    );
    // Recovery: a new seed, or removing the chain.
    let fresh = Secret::from("seed-B");
    assert_eq!(
        s.resolve_start(&chain, Some(&fresh)).unwrap(),
        Some(Start::NewChainFromSeed(fresh.clone()))
    );
    assert_eq!(s.get(&chain).unwrap().state, TokenState::Live);
    assert!(s.remove(&chain).unwrap());
    assert!(!s.remove(&chain).unwrap());
    assert_eq!(s.resolve_start(&chain, None).unwrap(), None);
}

#[test]
fn marking_an_unknown_chain_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = TokenStore::open(&dir.path().join("s.json"), None, T).unwrap();
    let e = s
        .mark_possibly_consumed(&ChainId::new("http://127.0.0.1:9/token", "client"))
        .unwrap_err();
    assert!(matches!(e, StoreError::UnknownChain { .. }), "{e}");
}

#[test]
fn a_token_found_alive_is_marked_live_again_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.json");
    let chain = ChainId::new("http://127.0.0.1:9/token", "client");
    let seed = Secret::from("seed-A");
    {
        let mut s = TokenStore::open(&path, None, T).unwrap();
        s.resolve_start(&chain, Some(&seed)).unwrap();
        s.mark_possibly_consumed(&chain).unwrap();
        s.mark_live(&chain).unwrap();
        // Absent chains are left alone.
        s.mark_live(&ChainId::new("http://127.0.0.1:9/token", "other"))
            .unwrap();
    }
    let mut s = TokenStore::open(&path, None, T).unwrap();
    assert_eq!(s.get(&chain).unwrap().state, TokenState::Live);
    assert_eq!(
        s.resolve_start(&chain, Some(&seed)).unwrap(),
        Some(Start::FromStore(seed))
    );
    assert!(
        s.get(&ChainId::new("http://127.0.0.1:9/token", "other"))
            .is_none()
    );
}
