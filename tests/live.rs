//! Live targets, proven on 127.0.0.1: `payu-contract serve` stands in for
//! `PayU` UAT. The chain of refresh tokens survives scheduled runs (plain and
//! encrypted store), concurrent runs take turns, and TLS with a private CA
//! works only when the CA is given.

mod common;
use common::{Served, bin, text};

const KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn scheduled_runs(encrypted: bool) {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.json");
    let seed = served.client("public")["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 1..=10 {
        let mut cmd = bin();
        cmd.args(["run", "-q"]).envs(served.env(&store));
        if encrypted {
            cmd.env("PAYU_STORE_KEY", KEY);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "run {i}: {}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("9 passed, 0 drifted, 2 skipped"),
            "run {i}: {stdout}"
        );
    }
    let raw = std::fs::read_to_string(&store).unwrap();
    assert_eq!(
        raw.contains("\"encrypted\": true") || raw.contains("\"encrypted\":true"),
        encrypted
    );
    // The seed was spent in run 1; the store holds a later token.
    assert!(!raw.contains(&seed));
}

#[test]
fn ten_scheduled_runs_keep_the_chain_in_a_plain_store() {
    scheduled_runs(false);
}

#[test]
fn ten_scheduled_runs_keep_the_chain_in_an_encrypted_store() {
    scheduled_runs(true);
}

#[test]
fn the_get_token_call_starts_a_chain_when_there_is_no_refresh_token() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.json");
    let user = served.fixtures["user"].clone();
    for i in 1..=2 {
        let out = bin()
            .args(["run", "-q"])
            .envs(served.env(&store))
            .env_remove("PAYU_REFRESH_TOKEN")
            .env("PAYU_USERNAME", user["username"].as_str().unwrap())
            .env("PAYU_PASSWORD", user["password"].as_str().unwrap())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "run {i}: {}", text(&out));
    }
}

#[test]
fn two_runs_at_once_take_turns_on_the_store() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.json");
    let spawn = || {
        bin()
            .args(["run", "-q"])
            .envs(served.env(&store))
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    // Had both spent the same token, one would see invalid_grant: drift.
    assert_eq!(a.status.code(), Some(0), "{}", text(&a));
    assert_eq!(b.status.code(), Some(0), "{}", text(&b));
    let third = bin()
        .args(["run", "-q"])
        .envs(served.env(&store))
        .output()
        .unwrap();
    assert_eq!(
        third.status.code(),
        Some(0),
        "the store's token is still valid: {}",
        text(&third)
    );
}

#[test]
fn destructive_scenarios_run_against_a_live_target_only_when_allowed() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.json");
    let out = bin()
        .args(["run", "--allow-destructive"])
        .envs(served.env(&store))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("10 passed, 0 drifted, 1 skipped"));
    let out = bin()
        .args(["run"])
        .envs(served.env(&store))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("SKIP") && stdout.contains("--allow-destructive"),
        "{stdout}"
    );
}

#[test]
fn https_with_a_private_ca_passes_and_is_refused_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let ca =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, ca.cert.pem()).unwrap();
    std::fs::write(&key, ca.signing_key.serialize_pem()).unwrap();
    let served = Served::start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(
        served.token_url.starts_with("https://"),
        "{}",
        served.token_url
    );
    let store = dir.path().join("store.json");

    let out = bin()
        .args(["run", "-q"])
        .envs(served.env(&store))
        .env("PAYU_CA_CERT", &cert)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = bin()
        .args(["run", "-q", "--timeout", "5"])
        .envs(served.env(&dir.path().join("other.json")))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let all = text(&out).to_lowercase();
    assert!(all.contains("tls") && all.contains("certificate"), "{all}");
}

/// `serve --revocation on-use`: a used refresh token keeps refreshing until
/// an access token from its successor is used on the protected resource,
/// as Doorkeeper with its stock migration does; a wrong mode is exit 2.
#[test]
fn serve_revocation_on_use() {
    let served = Served::start(&["--revocation", "on-use"]);
    let c = served.client("public");
    let id = c["client_id"].as_str().unwrap().to_owned();
    let seed = c["refresh_token"].as_str().unwrap().to_owned();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let refresh = |token: String| {
            let http = http.clone();
            let url = served.token_url.clone();
            let id = id.clone();
            async move {
                let r = http
                    .post(url)
                    .form(&[
                        ("client_id", id.as_str()),
                        ("grant_type", "refresh_token"),
                        ("refresh_token", token.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                (status, r.json::<serde_json::Value>().await.unwrap())
            }
        };
        let (s1, first) = refresh(seed.clone()).await;
        assert_eq!(s1, 200, "{first}");
        let (s2, replay) = refresh(seed.clone()).await;
        assert_eq!(s2, 200, "a replay before use still refreshes: {replay}");
        let me = http
            .get(served.token_url.replace("/oauth/token", "/api/me"))
            .bearer_auth(first["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(me.status().as_u16(), 200);
        let (s3, dead) = refresh(seed).await;
        assert_eq!((s3, dead["error"].as_str()), (401, Some("invalid_grant")));
    });
    let out = bin()
        .args(["serve", "--addr", "127.0.0.1:0", "--revocation", "later"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("at-refresh, on-use") && err.contains("--revocation"),
        "{err}"
    );
}
