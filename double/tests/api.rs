//! The double's public API as the rest of the harness uses it: options,
//! fixtures, starting on port 0, the in-process router, profiles by name.

use std::net::SocketAddr;

use std::future::IntoFuture;

use payu_double::{self, ClientKind, DoubleOptions, DoubleState, Fixtures, Profile, RunningDouble};
use reqwest::StatusCode;

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[tokio::test]
async fn start_refresh_and_shutdown_through_the_public_api() {
    let opts = DoubleOptions::default();
    assert_eq!(opts.profile, Profile::default());
    assert_eq!(opts.access_token_ttl_secs, 7200);
    assert_eq!(opts.max_body_bytes, 64 * 1024);
    let running: RunningDouble = payu_double::start(opts, local()).await.unwrap();
    let url = running.token_url();
    assert_eq!(
        url,
        format!("http://127.0.0.1:{}/oauth/token", running.addr().port())
    );
    let f: Fixtures = running.fixtures();
    let public = f
        .clients
        .iter()
        .find(|c| c.kind == ClientKind::Public)
        .unwrap();
    payu_double::install_crypto_provider();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let resp = http
        .post(&url)
        .form(&[
            ("client_id", public.client_id.as_str()),
            ("grant_type", "refresh_token"),
            ("refresh_token", public.refresh_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    let next = body["refresh_token"].as_str().unwrap();
    let state: &DoubleState = running.state();
    assert!(state.is_live(next));
    assert!(!state.is_live(&public.refresh_token));
    assert_eq!(state.live_token_count(), 2);
    let minted = state.issue_refresh_token(&public.client_id).unwrap();
    assert!(state.is_live(&minted));
    running.shutdown().await;
}

#[tokio::test]
async fn router_can_be_served_by_the_caller() {
    let state = DoubleState::new(DoubleOptions {
        profile: Profile::parse("rfc6749").unwrap(),
        ..DoubleOptions::default()
    });
    let listener = tokio::net::TcpListener::bind(local()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(axum::serve(listener, payu_double::app(state)).into_future());
    payu_double::install_crypto_provider();
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("http://{addr}/oauth/token"))
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("www-authenticate").is_none());
    server.abort();
}

#[test]
fn profiles_by_name() {
    let all = Profile::all();
    assert_eq!(all[0].name(), "documented");
    for name in [
        "documented",
        "doorkeeper-5.2",
        "rfc6749",
        "expire-in-renamed",
        "created-at-millis",
        "token-type-lowercase",
        "scope-missing",
        "extra-field",
        "tokens-not-hex",
        "uuid-rfc4122",
        "description-reworded",
        "invalid-grant-as-invalid-request",
        "no-rotation",
        "old-token-still-accepted",
        "public-client-needs-secret",
        "no-cache-control",
        "no-pragma",
        "content-type-no-charset",
        "content-type-html",
        "html-502",
        "keys-reordered",
        "slow",
        "invalid-request-400",
        "no-www-authenticate",
        "expires-in-string",
        "missing-grant-type-unsupported",
        "error-description-missing",
        "body-form-encoded",
        "expires-in-zero",
        "basic-auth-ignored",
        "confidential-secret-optional",
        "scope-not-checked",
    ] {
        let p = Profile::parse(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(p.name(), name);
        assert!(!p.description().is_empty());
    }
    // Every profile's name is its own: parse(name()) gives it back.
    for p in &all {
        assert_eq!(Profile::parse(p.name()).as_ref(), Some(p), "{}", p.name());
    }
}
