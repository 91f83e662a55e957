//! The suite in live mode against real Doorkeeper 5.5 (tests/peers/doorkeeper),
//! in both revocation configurations: two scheduled runs with one store
//! each answer exit 1 with exactly the true drift classes of the upgrade
//! (400 for the documented 401s, the missing-parameter texts in the body and
//! in WWW-Authenticate, and the snapshots that show them), no other drift
//! (no false alarm), and the chain is still alive after both runs.

mod common;

use common::peer::{self, Peer, Revocation};
use common::{bin, text};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn env(peer: &Peer, store: &Path) -> Vec<(String, String)> {
    let c = peer.client("public");
    vec![
        ("PAYU_TOKEN_URL".into(), peer.token_url.clone()),
        (
            "PAYU_CLIENT_ID".into(),
            c["client_id"].as_str().unwrap().into(),
        ),
        (
            "PAYU_CLIENT_SECRET".into(),
            c["client_secret"].as_str().unwrap().into(),
        ),
        ("PAYU_TOKEN_STORE".into(), store.display().to_string()),
    ]
}

/// A fresh chain on the peer (Get Token), so the two modes' tests and
/// reruns never share a seed token.
fn fresh_token(peer: &Peer) -> String {
    let c = peer.client("public");
    let u = &peer.fixtures["user"];
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "password")
        .append_pair("client_id", c["client_id"].as_str().unwrap())
        .append_pair("username", u["username"].as_str().unwrap())
        .append_pair("password", u["password"].as_str().unwrap())
        .finish();
    let (status, v) = post(&peer.token_url, body);
    assert_eq!(status, 200, "{v}");
    v["refresh_token"].as_str().unwrap().to_owned()
}

fn post(url: &str, body: String) -> (u16, Value) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    })
}

fn two_scheduled_runs(revocation: Revocation, test: &str) {
    let Some(peer) = peer::peer(revocation, test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.json");
    let seed = fresh_token(peer);
    for run in 1..=2 {
        let report = dir.path().join(format!("run{run}.json"));
        let mut cmd = bin();
        // --allow-destructive: the rotation scenario replays a used token.
        cmd.args(["run", "--allow-destructive", "--report-json"])
            .arg(&report)
            .envs(env(peer, &store));
        if run == 1 {
            cmd.env("PAYU_REFRESH_TOKEN", &seed);
        }
        // The first on-use run has no protected resource to use the new
        // access token on: it can only say "still accepted".
        let with_resource = !(revocation == Revocation::OnUse && run == 1);
        if with_resource {
            cmd.env("PAYU_RESOURCE_URL", &peer.resource_url);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "run {run}: {}", text(&out));
        let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let mut seen = BTreeSet::new();
        for s in r["scenarios"].as_array().unwrap() {
            for c in s["checks"].as_array().into_iter().flatten() {
                for d in c["drifts"].as_array().into_iter().flatten() {
                    let path = d["path"].as_str().unwrap();
                    let path = if path.ends_with(".snap") {
                        "<snapshot>"
                    } else {
                        path
                    };
                    seen.insert((d["class"].as_str().unwrap().to_owned(), path.to_owned()));
                }
            }
        }
        let want: BTreeSet<(String, String)> = [
            ("status-code-changed", "status"),
            ("error-description-changed", "/error_description"),
            (
                "error-description-changed",
                "header:WWW-Authenticate/error_description",
            ),
            ("snapshot-changed", "<snapshot>"),
        ]
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
        assert_eq!(seen, want, "run {run} ({revocation:?}): {}", text(&out));
        // The mode the rotation scenario saw, in its notes: the page does
        // not document it, so it is reported, never drift.
        let rotation = r["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["feature"] == "Refresh token rotation")
            .unwrap_or_else(|| panic!("run {run}: the rotation scenario did not run"));
        let modes: Vec<&str> = rotation["notes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|n| n.starts_with("revocation mode seen:"))
            .collect();
        let mode = match (revocation, with_resource) {
            (Revocation::AtRefresh, _) => "revocation mode seen: revoked at refresh",
            (Revocation::OnUse, true) => "revocation mode seen: revoked on first use",
            (Revocation::OnUse, false) => {
                "revocation mode seen: still accepted after the refresh (use not checked: set PAYU_RESOURCE_URL"
            }
        };
        assert!(
            modes.len() == 1 && modes[0].starts_with(mode),
            "run {run} ({revocation:?}): want {mode:?}, got {modes:?}"
        );
        if !with_resource {
            // Nothing documented failed and nothing was left to judge: the
            // scenario passes, the note says what could not be checked.
            assert_eq!(rotation["verdict"], "passed", "run {run}: {rotation}");
        }
    }
    // The chain the store holds is alive: it refreshes on the real server.
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&store).unwrap()).unwrap();
    let token = stored["chains"][0]["refresh_token"].as_str().unwrap();
    assert_ne!(token, seed, "the runs rotated the seed");
    let c = peer.client("public");
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", c["client_id"].as_str().unwrap())
        .append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", token)
        .finish();
    let (status, v) = post(&peer.token_url, body);
    assert_eq!(
        status, 200,
        "the stored chain is dead ({revocation:?}): {v}"
    );
}

#[test]
fn two_scheduled_runs_against_real_doorkeeper_revoking_on_use() {
    two_scheduled_runs(
        Revocation::OnUse,
        "two_scheduled_runs_against_real_doorkeeper_revoking_on_use",
    );
}

#[test]
fn two_scheduled_runs_against_real_doorkeeper_revoking_at_refresh() {
    two_scheduled_runs(
        Revocation::AtRefresh,
        "two_scheduled_runs_against_real_doorkeeper_revoking_at_refresh",
    );
}
