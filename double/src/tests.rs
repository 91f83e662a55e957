//! End-to-end tests of the double over real HTTP on 127.0.0.1:0: each
//! documented row, the check order, client authentication, rotation, the
//! refresh race, the password grant, bad input, and that every profile is
//! visible on the wire.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::Value;

use super::*;

const INVALID_REQUEST: &str = r#"{"error":"invalid_request","error_description":"The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed."}"#;
const INVALID_CLIENT: &str = r#"{"error":"invalid_client","error_description":"Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."}"#;
const UNSUPPORTED: &str = r#"{"error":"unsupported_grant_type","error_description":"The authorization grant type is not supported by the authorization server."}"#;
const INVALID_GRANT: &str = r#"{"error":"invalid_grant","error_description":"The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."}"#;
const INVALID_SCOPE: &str = r#"{"error":"invalid_scope","error_description":"The requested scope is invalid, unknown, or malformed."}"#;

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    fn refresh_token(&self) -> String {
        self.json()["refresh_token"].as_str().unwrap().to_owned()
    }
}

struct Harness {
    double: RunningDouble,
    http: reqwest::Client,
    f: Fixtures,
}

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn http_client() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn up(profile: Profile) -> Harness {
    up_with(profile, http_client()).await
}

/// Building a client costs milliseconds of CPU: tests that start many
/// doubles share one.
async fn up_with(profile: Profile, http: reqwest::Client) -> Harness {
    let opts = DoubleOptions {
        profile,
        ..DoubleOptions::default()
    };
    let double = start(opts, local()).await.unwrap();
    let f = double.fixtures();
    Harness { double, http, f }
}

impl Harness {
    fn public(&self) -> &ClientFixture {
        self.f.client(ClientKind::Public).unwrap()
    }
    fn confidential(&self) -> &ClientFixture {
        self.f.client(ClientKind::Confidential).unwrap()
    }
    async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let resp = req.send().await.unwrap();
        Reply {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap(),
        }
    }
    async fn post(&self, form: &[(&str, &str)]) -> Reply {
        self.send(self.http.post(self.double.token_url()).form(form))
            .await
    }
    /// The documented request of the public client, without its secret.
    async fn refresh_public(&self, token: &str) -> Reply {
        let id = self.public().client_id.clone();
        self.post(&[
            ("client_id", &id),
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
        ])
        .await
    }
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

fn group_lengths(s: &str) -> Vec<usize> {
    s.split('-').map(str::len).collect()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn assert_error(r: &Reply, status: u16, body: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body, body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let v: Value = serde_json::from_str(body).unwrap();
    let expected = format!(
        r#"Bearer realm="Doorkeeper", error="{}", error_description="{}""#,
        v["error"].as_str().unwrap(),
        v["error_description"].as_str().unwrap()
    );
    assert_eq!(r.header("www-authenticate"), Some(expected.as_str()));
}

#[tokio::test]
async fn documented_success_body_shape_and_headers() {
    let h = up(Profile::Documented).await;
    let old = h.public().refresh_token.clone();
    let r = h.refresh_public(&old).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(r.header("www-authenticate"), None);
    assert!(!r.body.contains(' '), "compact JSON: {}", r.body);
    let v = r.json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "scope",
            "created_at",
            "user_uuid"
        ]
    );
    assert!(is_hex64(v["access_token"].as_str().unwrap()));
    assert!(is_hex64(v["refresh_token"].as_str().unwrap()));
    assert_eq!(v["token_type"], "Bearer");
    let expires_in = v["expires_in"].as_u64().unwrap();
    assert!(expires_in == 7199 || expires_in == 7200, "{expires_in}");
    assert_eq!(v["scope"], "hub_session");
    let created = v["created_at"].as_u64().unwrap();
    assert!(created.abs_diff(now_secs()) <= 5, "{created}");
    let uuid = v["user_uuid"].as_str().unwrap();
    assert_eq!(group_lengths(uuid), [4, 4, 8, 4, 12]);
    assert!(uuid.replace('-', "").len() == 32 && is_hex64(&uuid.replace('-', "").repeat(2)));

    // Stable per user: a second refresh shows the same user_uuid.
    let r2 = h.refresh_public(&r.refresh_token()).await;
    assert_eq!(r2.json()["user_uuid"], uuid);
}

#[tokio::test]
async fn documented_error_rows_byte_for_byte() {
    let h = up(Profile::Documented).await;
    let id = h.public().client_id.clone();
    let token = h.public().refresh_token.clone();

    let r = h
        .post(&[("client_id", &id), ("refresh_token", &token)])
        .await;
    assert_error(&r, 401, INVALID_REQUEST);

    let r = h
        .post(&[("client_id", &id), ("grant_type", "refresh_token")])
        .await;
    assert_error(&r, 401, INVALID_REQUEST);

    let r = h
        .post(&[
            ("client_id", &"0".repeat(64)),
            ("grant_type", "refresh_token"),
            ("refresh_token", &token),
        ])
        .await;
    assert_error(&r, 401, INVALID_CLIENT);
    // Rejected before anything was consumed.
    assert!(h.double.state().is_live(&token));

    let r = h
        .post(&[
            ("client_id", &id),
            ("grant_type", "client_token"),
            ("refresh_token", &token),
        ])
        .await;
    assert_error(&r, 401, UNSUPPORTED);

    let r = h.refresh_public(&"f".repeat(64)).await;
    assert_error(&r, 401, INVALID_GRANT);

    // "without client secret" is a success for the public client.
    let r = h.refresh_public(&token).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn check_order_first_failure_wins() {
    let h = up(Profile::Documented).await;
    let state = h.double.state();
    let public = h.public().clone();
    let conf = h.confidential().clone();

    // Bad token and bad client: the token is checked first.
    let r = h
        .post(&[
            ("client_id", "nobody"),
            ("grant_type", "refresh_token"),
            ("refresh_token", "nothing"),
        ])
        .await;
    assert_error(&r, 401, INVALID_GRANT);

    // Good token, no client at all.
    let r = h
        .post(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &public.refresh_token),
        ])
        .await;
    assert_error(&r, 401, INVALID_CLIENT);

    // Good token, wrong secret for a public client.
    let r = h
        .post(&[
            ("client_id", &public.client_id),
            ("client_secret", "wrong"),
            ("grant_type", "refresh_token"),
            ("refresh_token", &public.refresh_token),
        ])
        .await;
    assert_error(&r, 401, INVALID_CLIENT);

    // A token issued to another (authenticated) client.
    let r = h.refresh_public(&conf.refresh_token).await;
    assert_error(&r, 401, INVALID_GRANT);
    assert!(state.is_live(&conf.refresh_token));

    // Wider scope than granted.
    let r = h
        .post(&[
            ("client_id", &public.client_id),
            ("grant_type", "refresh_token"),
            ("refresh_token", &public.refresh_token),
            ("scope", "hub_session payouts"),
        ])
        .await;
    assert_error(&r, 401, INVALID_SCOPE);
    assert!(state.is_live(&public.refresh_token));

    // Same scope is fine.
    let r = h
        .post(&[
            ("client_id", &public.client_id),
            ("grant_type", "refresh_token"),
            ("refresh_token", &public.refresh_token),
            ("scope", "hub_session"),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(state.live_token_count(), 2);
}

#[tokio::test]
async fn basic_auth_and_confidential_clients() {
    let h = up(Profile::Documented).await;
    let conf = h.confidential().clone();
    let url = h.double.token_url();
    let form = |t: &str| {
        vec![
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), t.to_owned()),
        ]
    };

    // Confidential without secret.
    let r = h
        .post(&[
            ("client_id", &conf.client_id),
            ("grant_type", "refresh_token"),
            ("refresh_token", &conf.refresh_token),
        ])
        .await;
    assert_error(&r, 401, INVALID_CLIENT);

    // Basic wins over (correct) body fields.
    let r = h
        .send(
            h.http
                .post(&url)
                .basic_auth(&conf.client_id, Some("wrong"))
                .form(&[
                    ("client_id", conf.client_id.as_str()),
                    ("client_secret", conf.client_secret.as_str()),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", conf.refresh_token.as_str()),
                ]),
        )
        .await;
    assert_error(&r, 401, INVALID_CLIENT);

    // Basic alone.
    let r = h
        .send(
            h.http
                .post(&url)
                .basic_auth(&conf.client_id, Some(&conf.client_secret))
                .form(&form(&conf.refresh_token)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let next = r.refresh_token();

    // Secret in the body.
    let r = h
        .post(&[
            ("client_id", &conf.client_id),
            ("client_secret", &conf.client_secret),
            ("grant_type", "refresh_token"),
            ("refresh_token", &next),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // A malformed Basic header falls back to the body fields.
    let public = h.public().clone();
    let r = h
        .send(
            h.http
                .post(&url)
                .header("authorization", "Basic !!!")
                .form(&[
                    ("client_id", public.client_id.as_str()),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", public.refresh_token.as_str()),
                ]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:", public.client_id));
    let r = h
        .send(
            h.http
                .post(&url)
                .header("authorization", format!("Basic {encoded}"))
                .form(&form(&r.refresh_token())),
        )
        .await;
    assert_eq!(
        r.status, 200,
        "public client by Basic without secret: {}",
        r.body
    );
}

#[tokio::test]
async fn rotation_and_replay() {
    let h = up(Profile::Documented).await;
    let state = h.double.state();
    let first = h.public().refresh_token.clone();
    let r = h.refresh_public(&first).await;
    assert_eq!(r.status, 200);
    let second = r.refresh_token();
    assert_ne!(first, second);
    assert!(!state.is_live(&first));
    assert!(state.is_live(&second));
    let r = h.refresh_public(&first).await;
    assert_error(&r, 401, INVALID_GRANT);
    // Replay does not hurt the chain (4.x has no reuse detection).
    let r = h.refresh_public(&second).await;
    assert_eq!(r.status, 200);
    assert_eq!(state.live_token_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refresh_of_one_token_has_one_winner() {
    let h = up(Profile::Documented).await;
    for _ in 0..5 {
        let token = h
            .double
            .state()
            .issue_refresh_token(&h.public().client_id)
            .unwrap();
        let replies = futures::future::join_all((0..16).map(|_| h.refresh_public(&token))).await;
        let winners = replies.iter().filter(|r| r.status == 200).count();
        assert_eq!(winners, 1);
        for r in replies.iter().filter(|r| r.status != 200) {
            // The loser of the race answers invalid_request (Doorkeeper 4.x
            // InvalidTokenReuse) or, if it came late enough to see the token
            // gone, invalid_grant.
            assert!(
                r.body == INVALID_REQUEST || r.body == INVALID_GRANT,
                "{}",
                r.body
            );
        }
        assert!(!h.double.state().is_live(&token));
    }
    assert_eq!(h.double.state().live_token_count(), 2 + 5);
}

#[tokio::test]
async fn password_grant() {
    let h = up(Profile::Documented).await;
    let user = h.f.user.clone();
    let public = h.public().clone();
    let conf = h.confidential().clone();
    let grant = |id: &str, secret: &str, user: &str, pass: &str, scope: Option<&str>| {
        let mut v = vec![
            ("grant_type".to_owned(), "password".to_owned()),
            ("client_id".to_owned(), id.to_owned()),
            ("username".to_owned(), user.to_owned()),
            ("password".to_owned(), pass.to_owned()),
        ];
        if !secret.is_empty() {
            v.push(("client_secret".to_owned(), secret.to_owned()));
        }
        if let Some(s) = scope {
            v.push(("scope".to_owned(), s.to_owned()));
        }
        v
    };
    let send = |form: Vec<(String, String)>| {
        let req = h.http.post(h.double.token_url()).form(&form);
        h.send(req)
    };

    let r = send(grant(
        &conf.client_id,
        &conf.client_secret,
        &user.username,
        &user.password,
        Some("hub_session"),
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["scope"], "hub_session");
    let token = r.refresh_token();
    assert!(h.double.state().is_live(&token));
    // The new chain refreshes for that client.
    let r = h
        .post(&[
            ("client_id", &conf.client_id),
            ("client_secret", &conf.client_secret),
            ("grant_type", "refresh_token"),
            ("refresh_token", &token),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Default scope when absent; public client without secret.
    let r = send(grant(
        &public.client_id,
        "",
        &user.username,
        &user.password,
        None,
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["scope"], "hub_session");

    // Order: client, then resource owner, then scope.
    let r = send(grant("nobody", "x", &user.username, "wrong", Some("nope"))).await;
    assert_error(&r, 401, INVALID_CLIENT);
    let r = send(grant(
        &public.client_id,
        "",
        &user.username,
        "wrong",
        Some("nope"),
    ))
    .await;
    assert_error(&r, 401, INVALID_GRANT);
    let r = send(grant(
        &public.client_id,
        "",
        "someone",
        &user.password,
        None,
    ))
    .await;
    assert_error(&r, 401, INVALID_GRANT);
    let r = send(grant(
        &public.client_id,
        "",
        &user.username,
        &user.password,
        Some("payouts"),
    ))
    .await;
    assert_error(&r, 401, INVALID_SCOPE);
}

#[tokio::test]
async fn bad_input_is_answered_like_rails() {
    let h = up(Profile::Documented).await;
    let url = h.double.token_url();
    let public = h.public().clone();
    let raw = |ct: Option<&str>, body: String| {
        let mut req = h.http.post(&url).body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        h.send(req)
    };
    let form_ct = Some("application/x-www-form-urlencoded");

    // Duplicate fields: the last one wins.
    let body = format!(
        "grant_type=password&client_id={}&refresh_token=junk&grant_type=refresh_token&refresh_token={}",
        public.client_id, public.refresh_token
    );
    let r = raw(form_ct, body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.refresh_token();

    // JSON body is read as params.
    let body = serde_json::json!({"client_id": public.client_id, "grant_type": "refresh_token", "refresh_token": token}).to_string();
    let r = raw(Some("application/json"), body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.refresh_token();

    // Another content type: no params.
    let body = format!(
        "client_id={}&grant_type=refresh_token&refresh_token={token}",
        public.client_id
    );
    let r = raw(Some("text/plain"), body.clone()).await;
    assert_error(&r, 401, INVALID_REQUEST);
    // No content type at all is read as a form, as Rack does.
    let r = raw(None, body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.refresh_token();

    // Malformed percent-encoding and malformed JSON.
    let r = raw(
        form_ct,
        format!("grant_type=refresh_token&refresh_token={token}&x=%zz"),
    )
    .await;
    assert_error(&r, 401, INVALID_REQUEST);
    let r = raw(Some("application/json"), "{\"grant_type\":".to_owned()).await;
    assert_error(&r, 401, INVALID_REQUEST);
    assert!(h.double.state().is_live(&token));

    // Query string parameters count too (Rails merges them).
    let r = h
        .send(h.http.post(format!(
            "{url}?grant_type=refresh_token&client_id={}&refresh_token={token}",
            public.client_id
        )))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Oversized body.
    let r = raw(
        form_ct,
        format!("grant_type=refresh_token&pad={}", "a".repeat(70_000)),
    )
    .await;
    assert_eq!(r.status, 413);

    // Wrong method, unknown path: Rails' 404.
    let r = h.send(h.http.get(&url)).await;
    assert_eq!(r.status, 404);
    let r = h.send(h.http.put(&url)).await;
    assert_eq!(r.status, 404);
    let r = h
        .send(h.http.post(url.replace("/oauth/token", "/oauth/tokens")))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(h.double.state().live_token_count(), 2);
}

#[tokio::test]
async fn doorkeeper_566_profile() {
    let h = up(Profile::parse("doorkeeper-5.6.6").unwrap()).await;
    let r = h
        .post(&[
            ("client_id", &h.public().client_id),
            ("grant_type", "refresh_token"),
        ])
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        r#"{"error":"invalid_request","error_description":"Missing required parameter: refresh_token."}"#
    );
    assert_eq!(r.header("cache-control"), Some("no-store, no-cache"));
    assert_eq!(r.header("pragma"), None);
    let r = h.post(&[("refresh_token", "x")]).await;
    assert_eq!(
        r.json()["error_description"],
        "Missing required parameter: grant_type."
    );
    let r = h.refresh_public("unknown").await;
    assert_eq!((r.status, r.body.as_str()), (400, INVALID_GRANT));
    let r = h
        .post(&[
            ("client_id", "nobody"),
            ("grant_type", "refresh_token"),
            ("refresh_token", &h.public().refresh_token),
        ])
        .await;
    assert_eq!((r.status, r.body.as_str()), (401, INVALID_CLIENT));
    let r = h.refresh_public(&h.public().refresh_token).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("no-store, no-cache"));
}

#[tokio::test]
async fn rfc6749_profile() {
    let h = up(Profile::Rfc6749).await;
    let r = h.refresh_public("unknown").await;
    assert_eq!((r.status, r.body.as_str()), (400, INVALID_GRANT));
    assert_eq!(r.header("www-authenticate"), None);
    let r = h
        .post(&[
            ("client_id", "nobody"),
            ("grant_type", "refresh_token"),
            ("refresh_token", &h.public().refresh_token),
        ])
        .await;
    assert_error(&r, 401, INVALID_CLIENT);
}

#[tokio::test]
async fn rotation_mutations() {
    let h = up(Profile::Mutation(Mutation::NoRotation)).await;
    let t = h.public().refresh_token.clone();
    let r = h.refresh_public(&t).await;
    assert_eq!(r.refresh_token(), t);
    assert_eq!(h.refresh_public(&t).await.status, 200);

    let h = up(Profile::Mutation(Mutation::OldTokenStillAccepted)).await;
    let t = h.public().refresh_token.clone();
    let r = h.refresh_public(&t).await;
    assert_ne!(r.refresh_token(), t);
    assert!(h.double.state().is_live(&t));
    assert_eq!(h.refresh_public(&t).await.status, 200);
}

#[tokio::test]
async fn slow_delays_only_success() {
    let delay = Duration::from_millis(300);
    let h = up(Profile::Mutation(Mutation::Slow { delay })).await;
    let t0 = Instant::now();
    assert_eq!(h.refresh_public("unknown").await.status, 401);
    assert!(t0.elapsed() < delay);
    let t0 = Instant::now();
    assert_eq!(
        h.refresh_public(&h.public().refresh_token).await.status,
        200
    );
    assert!(t0.elapsed() >= delay);
}

#[tokio::test]
async fn tls_variant_serves_https() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let d = start_tls(
        DoubleOptions::default(),
        local(),
        cert.cert.pem().as_bytes(),
        cert.signing_key.serialize_pem().as_bytes(),
    )
    .await
    .unwrap();
    assert!(d.token_url().starts_with("https://127.0.0.1:"));
    install_crypto_provider();
    let http = reqwest::Client::builder()
        .no_proxy()
        .tls_danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let f = d.fixtures();
    let r = http
        .post(d.token_url())
        .form(&[
            ("client_id", f.clients[0].client_id.as_str()),
            ("grant_type", "refresh_token"),
            ("refresh_token", f.clients[0].refresh_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    d.shutdown().await;
}

#[tokio::test]
async fn fixtures_are_seeded_exactly_and_shutdown_frees_the_port() {
    let first = DoubleState::new(DoubleOptions::default()).fixtures();
    let opts = DoubleOptions {
        fixtures: Some(first.clone()),
        ..DoubleOptions::default()
    };
    let d = start(opts, local()).await.unwrap();
    let again = d.fixtures();
    assert_eq!(
        serde_json::to_string(&first).unwrap(),
        serde_json::to_string(&again).unwrap()
    );
    assert!(d.state().is_live(&first.clients[1].refresh_token));
    let json = serde_json::to_value(&first).unwrap();
    assert_eq!(json["clients"][0]["kind"], "public");
    assert_eq!(json["clients"][1]["kind"], "confidential");
    let addr = d.addr();
    d.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// What a contract suite could observe in a few fixed probes, with random
/// values reduced to their shape. Key order is kept.
async fn fingerprint(h: &Harness) -> Vec<String> {
    let shape = |r: &Reply| -> String {
        let head: Vec<String> = [
            "content-type",
            "cache-control",
            "pragma",
            "www-authenticate",
        ]
        .iter()
        .map(|n| format!("{n}={:?}", r.header(n)))
        .collect();
        let body = match serde_json::from_str::<Value>(&r.body) {
            Ok(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| {
                    let shown = match (k.as_str(), v) {
                        ("access_token" | "refresh_token", Value::String(s)) => {
                            format!("hex64:{}", is_hex64(s))
                        }
                        ("created_at", Value::Number(n)) => {
                            format!("secs:{}", n.as_u64().unwrap().abs_diff(now_secs()) < 10)
                        }
                        ("user_uuid", Value::String(s)) => format!("{:?}", group_lengths(s)),
                        ("id_token", _) => "jwt".to_owned(),
                        ("expires_in", Value::Number(n)) => {
                            format!("{}", n.as_u64().unwrap() >= 7199)
                        }
                        _ => v.to_string(),
                    };
                    format!("{k}:{shown}")
                })
                .collect::<Vec<_>>()
                .join(","),
            _ => format!("raw:{}", r.body.len().min(1)),
        };
        format!("{} {} {body}", r.status, head.join(" "))
    };
    let public = h.public().clone();
    let first = h.refresh_public(&public.refresh_token).await;
    let replay = h.refresh_public(&public.refresh_token).await;
    let no_grant_type = h.post(&[("client_id", &public.client_id)]).await;
    let bad_client = h
        .post(&[
            ("client_id", &public.client_id),
            ("client_secret", "wrong"),
            ("grant_type", "refresh_token"),
            ("refresh_token", &h.confidential().refresh_token),
        ])
        .await;
    let bad_client2 = h
        .post(&[
            ("client_id", &h.confidential().client_id),
            ("client_secret", "wrong"),
            ("grant_type", "refresh_token"),
            ("refresh_token", &h.confidential().refresh_token),
        ])
        .await;
    let no_token = h
        .post(&[
            ("client_id", &public.client_id),
            ("grant_type", "refresh_token"),
        ])
        .await;
    // The same form without its Content-Type (Rails' parsing rule).
    let no_content_type = h
        .send(h.http.post(h.double.token_url()).body(format!(
            "client_id={}&grant_type=refresh_token&refresh_token=unknown",
            public.client_id
        )))
        .await;
    // HTTP Basic, then the confidential client without its secret, then a
    // wider scope: each with a token that is still live.
    let conf = h.confidential().clone();
    let basic = h
        .send(
            h.http
                .post(h.double.token_url())
                .basic_auth(&conf.client_id, Some(&conf.client_secret))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", conf.refresh_token.as_str()),
                ]),
        )
        .await;
    let live = |r: &Reply, old: &str| {
        serde_json::from_str::<Value>(&r.body)
            .ok()
            .and_then(|v| v["refresh_token"].as_str().map(str::to_owned))
            .filter(|_| r.status == 200)
            .unwrap_or_else(|| old.to_owned())
    };
    let conf_token = live(&basic, &conf.refresh_token);
    let no_secret = h
        .post(&[
            ("client_id", &conf.client_id),
            ("grant_type", "refresh_token"),
            ("refresh_token", &conf_token),
        ])
        .await;
    let conf_token = live(&no_secret, &conf_token);
    let wider = h
        .post(&[
            ("client_id", &conf.client_id),
            ("client_secret", &conf.client_secret),
            ("grant_type", "refresh_token"),
            ("refresh_token", &conf_token),
            ("scope", "hub_session payouts"),
        ])
        .await;
    [
        first,
        replay,
        no_grant_type,
        bad_client,
        bad_client2,
        no_token,
        no_content_type,
        basic,
        no_secret,
        wider,
    ]
    .iter()
    .map(shape)
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_profile_is_visible_on_the_wire() {
    let http = http_client();
    let documented = fingerprint(&up_with(Profile::Documented, http.clone()).await).await;
    let mut checked = 0;
    for profile in Profile::all().into_iter().skip(1) {
        if matches!(profile, Profile::Mutation(Mutation::Slow { .. })) {
            continue; // only timing changes: see slow_delays_only_success
        }
        let got = fingerprint(&up_with(profile.clone(), http.clone()).await).await;
        assert_ne!(got, documented, "{} looks like documented", profile.name());
        checked += 1;
    }
    assert!(checked >= 30);
}

#[tokio::test]
async fn html_502_and_form_body_mutations() {
    let h = up(Profile::Mutation(Mutation::Html502)).await;
    let r = h.refresh_public(&h.public().refresh_token).await;
    assert_eq!(r.status, 502);
    assert!(r.body.contains("502 Bad Gateway"));
    assert!(r.header("content-type").unwrap().starts_with("text/html"));

    let h = up(Profile::Mutation(Mutation::BodyFormEncoded)).await;
    let r = h.refresh_public(&h.public().refresh_token).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&r.body).unwrap();
    assert_eq!(pairs[0].0, "access_token");
    assert_eq!(pairs[4], ("scope".to_owned(), "hub_session".to_owned()));

    let h = up(Profile::Mutation(Mutation::TokensNotHex)).await;
    let r = h.refresh_public(&h.public().refresh_token).await;
    let v = r.json();
    assert_eq!(v["access_token"].as_str().unwrap().len(), 43);
    assert_eq!(v["refresh_token"].as_str().unwrap().len(), 43);
}

/// Each single mutation changes exactly the thing its name says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_mutations_change_what_they_say() {
    use Mutation::*;
    let http = http_client();
    let up = |m: Mutation| up_with(Profile::Mutation(m), http.clone());
    let success = async |m: Mutation| {
        let h = up(m).await;
        h.refresh_public(&h.public().refresh_token).await
    };
    let unknown_token = async |m: Mutation| up(m).await.refresh_public("unknown").await;
    let no_grant_type = async |m: Mutation| up(m).await.post(&[("refresh_token", "x")]).await;

    let v = success(ExpireInRenamed).await.json();
    assert!(v.get("expires_in").is_none() && v["expire_in"].as_u64().unwrap() >= 7199);
    let v = success(CreatedAtMillis).await.json();
    assert!(v["created_at"].as_u64().unwrap() > now_secs() * 999);
    assert_eq!(
        success(TokenTypeLowercase).await.json()["token_type"],
        "bearer"
    );
    assert!(success(ScopeMissing).await.json().get("scope").is_none());
    let v = success(ExtraField).await.json();
    assert_eq!(
        v.as_object().unwrap().keys().next_back().unwrap(),
        "id_token"
    );
    assert_eq!(v["id_token"].as_str().unwrap().split('.').count(), 3);
    let uuid = success(UuidRfc4122).await.json()["user_uuid"].clone();
    assert_eq!(group_lengths(uuid.as_str().unwrap()), [8, 4, 4, 4, 12]);
    let r = success(KeysReordered).await;
    let keys: Vec<String> = r.json().as_object().unwrap().keys().cloned().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(keys.len(), 7);
    assert_eq!(
        success(ExpiresInString).await.json()["expires_in"]
            .as_str()
            .map(str::len),
        Some(4)
    );
    assert_eq!(success(ExpiresInZero).await.json()["expires_in"], 0);

    let r = success(NoCacheControl).await;
    assert_eq!(
        (r.header("cache-control"), r.header("pragma")),
        (None, Some("no-cache"))
    );
    let r = success(NoPragma).await;
    assert_eq!(
        (r.header("cache-control"), r.header("pragma")),
        (Some("no-store"), None)
    );
    assert_eq!(
        success(ContentTypeNoCharset).await.header("content-type"),
        Some("application/json")
    );
    let r = unknown_token(ContentTypeHtml).await;
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.body, INVALID_GRANT);

    let r = unknown_token(InvalidGrantAsInvalidRequest).await;
    assert_eq!((r.status, r.body.as_str()), (401, INVALID_REQUEST));
    let r = no_grant_type(MissingGrantTypeUnsupported).await;
    assert_eq!((r.status, r.body.as_str()), (401, UNSUPPORTED));
    let r = no_grant_type(InvalidRequest400).await;
    assert_eq!((r.status, r.body.as_str()), (400, INVALID_REQUEST));
    assert_eq!(unknown_token(InvalidRequest400).await.status, 401);
    let r = unknown_token(NoWwwAuthenticate).await;
    assert_eq!((r.status, r.header("www-authenticate")), (401, None));
    let r = unknown_token(ErrorDescriptionMissing).await;
    assert_eq!(r.body, r#"{"error":"invalid_grant"}"#);
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer realm="Doorkeeper", error="invalid_grant""#)
    );

    let h = up(DescriptionReworded).await;
    let r = h
        .post(&[
            ("client_id", "nobody"),
            ("grant_type", "refresh_token"),
            ("refresh_token", &h.public().refresh_token),
        ])
        .await;
    assert_eq!(r.json()["error"], "invalid_client");
    assert_ne!(r.body, INVALID_CLIENT);

    let h = up(PublicClientNeedsSecret).await;
    let r = h.refresh_public(&h.public().refresh_token).await;
    assert_eq!((r.status, r.body.as_str()), (401, INVALID_CLIENT));
    let p = h.public().clone();
    let r = h
        .post(&[
            ("client_id", &p.client_id),
            ("client_secret", &p.client_secret),
            ("grant_type", "refresh_token"),
            ("refresh_token", &p.refresh_token),
        ])
        .await;
    assert_eq!(r.status, 200);
}

/// Raw HTTP/1.1 over TCP, for what a well-behaved client cannot send.
async fn raw_http(addr: SocketAddr, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before the whole request is written.
    let _ = s.write_all(request).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn chunked_oversized_body_and_trailing_slash() {
    let h = up(Profile::Documented).await;
    let addr = h.double.addr();
    let chunk = "a".repeat(16 * 1024);
    let mut req = String::from(
        "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    );
    for _ in 0..5 {
        req.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    req.push_str("0\r\n\r\n");
    let resp = raw_http(addr, req.as_bytes()).await;
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");

    let body = format!(
        "client_id={}&grant_type=refresh_token&refresh_token={}",
        h.public().client_id,
        h.public().refresh_token
    );
    let req = format!(
        "POST /oauth/token/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let resp = raw_http(addr, req.as_bytes()).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");

    let resp = raw_http(addr, b"GARBAGE\r\n\r\n").await;
    assert!(
        resp.starts_with("HTTP/1.1 400") || resp.is_empty(),
        "{resp}"
    );
    // Still serving after all that.
    let r = h.refresh_public("unknown").await;
    assert_eq!(r.body, INVALID_GRANT);
}

/// Both revocation modes, through the public API: at refresh a replay
/// fails at once; on use the used token keeps refreshing until an access
/// token issued from its successor is used on the protected resource.
#[tokio::test]
async fn revocation_modes() {
    for (revocation, replay_before_use) in [(Revocation::AtRefresh, 401), (Revocation::OnUse, 200)]
    {
        let opts = DoubleOptions {
            revocation,
            ..DoubleOptions::default()
        };
        let double = start(opts, local()).await.unwrap();
        let f = double.fixtures();
        let h = Harness {
            double,
            http: http_client(),
            f,
        };
        let rt0 = h.public().refresh_token.clone();
        let r1 = h.refresh_public(&rt0).await;
        assert_eq!(r1.status, 200, "{revocation:?}");
        let at1 = r1.json()["access_token"].as_str().unwrap().to_owned();
        let replay = h.refresh_public(&rt0).await;
        assert_eq!(
            replay.status, replay_before_use,
            "{revocation:?}: {}",
            replay.body
        );
        let me = h
            .send(h.http.get(h.double.resource_url()).bearer_auth(&at1))
            .await;
        assert_eq!(me.status, 200, "{revocation:?}");
        assert!(me.body.contains("user_uuid"));
        let after_use = h.refresh_public(&rt0).await;
        assert_eq!(after_use.status, 401, "{revocation:?}: {}", after_use.body);
        assert_eq!(after_use.json()["error"], "invalid_grant");
        let unknown = h
            .send(h.http.get(h.double.resource_url()).bearer_auth("nope"))
            .await;
        assert_eq!(unknown.status, 401);
        assert!(
            unknown
                .header("www-authenticate")
                .is_some_and(|v| v.contains("The access token is invalid"))
        );
    }
}

/// Rails parses nothing out of a POST without Content-Type: under the
/// 5.5 profile and the mutation, the same bytes that the documented
/// profile reads as a refresh are a missing `grant_type`.
#[tokio::test]
async fn form_without_content_type() {
    for (profile, status) in [
        (Profile::Documented, 200),
        (Profile::Doorkeeper55, 400),
        (
            Profile::Mutation(Mutation::FormUnparsedWithoutContentType),
            401,
        ),
    ] {
        let h = up(profile.clone()).await;
        let body = format!(
            "client_id={}&grant_type=refresh_token&refresh_token={}",
            h.public().client_id,
            h.public().refresh_token
        );
        let r = h.send(h.http.post(h.double.token_url()).body(body)).await;
        assert_eq!(r.status, status, "{profile}: {}", r.body);
        if status != 200 {
            assert_eq!(r.json()["error"], "invalid_request", "{profile}");
        }
    }
}
