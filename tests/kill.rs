//! A run killed with SIGKILL at random points never leaves a corrupt store:
//! afterwards the store holds a token the server still accepts, or one
//! explicitly marked as possibly consumed (written ahead of every consuming
//! request), which the next run checks without spending it.

mod common;
use common::{bin, text};
use payu_contract::chain::store::{ChainId, TokenState, TokenStore};
use payu_double::{self as double, ClientKind, DoubleOptions};
use std::time::Duration;

#[test]
fn sigkill_at_random_points_never_loses_the_chain() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let running = rt
        .block_on(double::start(
            DoubleOptions::default(),
            ([127, 0, 0, 1], 0).into(),
        ))
        .unwrap();
    let fixtures = running.fixtures();
    let client = fixtures
        .clients
        .iter()
        .find(|c| c.kind == ClientKind::Public)
        .unwrap()
        .clone();
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("store.json");
    let chain = ChainId::new(running.token_url(), client.client_id.clone());
    let env = [
        ("PAYU_TOKEN_URL", running.token_url()),
        ("PAYU_CLIENT_ID", client.client_id.clone()),
        ("PAYU_CLIENT_SECRET", client.client_secret.clone()),
        ("PAYU_REFRESH_TOKEN", client.refresh_token.clone()),
        // A dead chain is restarted with the Get Token call.
        ("PAYU_USERNAME", fixtures.user.username.clone()),
        ("PAYU_PASSWORD", fixtures.user.password.clone()),
        ("PAYU_TOKEN_STORE", store_path.display().to_string()),
    ];
    let (mut live, mut marked, mut absent) = (0, 0, 0);
    for trial in 0..24u64 {
        let mut child = bin().args(["run", "-q"]).envs(env.clone()).spawn().unwrap();
        // Spread the kills over a run's life (a debug run takes ~100-300 ms).
        let delay = (trial * 7919 % 23) * 12;
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();

        let store =
            TokenStore::open(&store_path, None, Duration::from_secs(5)).unwrap_or_else(|e| {
                panic!("trial {trial} (kill after {delay} ms): store unreadable: {e}")
            });
        match store.get(&chain) {
            None => absent += 1,
            Some(entry) if entry.state == TokenState::Live => {
                assert!(
                    running.state().is_live(entry.refresh_token.expose()),
                    "trial {trial} (kill after {delay} ms): the store's live token is refused by the server"
                );
                live += 1;
            }
            Some(_) => marked += 1,
        }
    }
    // Killed or not, the next run picks the chain up and passes.
    let out = bin()
        .args(["run", "-q"])
        .envs(env.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    eprintln!(
        "after kills: {live} live, {marked} marked possibly consumed, {absent} before the store was written"
    );
    assert!(
        live + marked > 0,
        "no kill landed after the store was written"
    );
    rt.block_on(running.shutdown());
}
