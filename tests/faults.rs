//! Infrastructure faults are "no verdict" (exit 3) with a one-line reason,
//! never drift, never a panic, never a hang past the timeout. Each fault is
//! a small server on 127.0.0.1 that misbehaves on purpose.

mod common;
use common::{bin, text};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Serves every connection with `answer` (None: read and never answer) for
/// at most `life`; counts requests.
fn fault_server(answer: Option<Vec<u8>>, life: Duration) -> (String, Arc<AtomicUsize>) {
    fault_server_by(move |_| answer.clone(), life)
}

/// Like [`fault_server`], the answer chosen per request text.
fn fault_server_by(
    answer: impl Fn(&str) -> Option<Vec<u8>> + Send + 'static,
    life: Duration,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/oauth/token", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        let until = Instant::now() + life;
        let mut held: Vec<TcpStream> = Vec::new();
        while Instant::now() < until {
            match listener.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_millis(500)))
                        .unwrap();
                    let mut buf = [0u8; 8192];
                    let n = s.read(&mut buf).unwrap_or(0);
                    seen.fetch_add(1, Ordering::SeqCst);
                    match answer(&String::from_utf8_lossy(&buf[..n])) {
                        Some(bytes) => {
                            let _ = s.write_all(&bytes);
                            let _ = s.flush();
                        }
                        None => held.push(s),
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (url, count)
}

fn http(status: &str, headers: &[&str], body: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

fn run_against(url: &str, extra: &[&str]) -> (std::process::Output, Duration) {
    let dir = tempfile::tempdir().unwrap();
    run_with_store(url, extra, &dir.path().join("store.json"))
}

fn run_with_store(
    url: &str,
    extra: &[&str],
    store: &std::path::Path,
) -> (std::process::Output, Duration) {
    let started = Instant::now();
    let out = bin()
        .args(["run", "--timeout", "2", "--connect-timeout", "2"])
        .args(extra)
        .env("PAYU_TOKEN_URL", url)
        .env("PAYU_CLIENT_ID", "client-for-fault-tests")
        .env(
            "PAYU_REFRESH_TOKEN",
            "0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff",
        )
        .env("PAYU_TOKEN_STORE", store)
        .output()
        .unwrap();
    (out, started.elapsed())
}

fn assert_no_verdict(out: &std::process::Output, reason: &str) {
    let all = text(out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(
        all.to_lowercase().contains(reason),
        "expected {reason:?} in\n{all}"
    );
    assert!(!all.contains("panicked"), "{all}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("0 drifted"),
        "an infrastructure fault is not drift:\n{stdout}"
    );
}

#[test]
fn connection_refused() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (out, _) = run_against(&format!("http://127.0.0.1:{port}/oauth/token"), &[]);
    assert_no_verdict(&out, "connection refused");
}

const SEED: &str = "0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff";

#[test]
fn a_server_that_never_answers_times_out() {
    // Refusals come at once; the refresh that would spend the token never
    // gets an answer, so its outcome is unknown.
    let refusal = http(
        "401 Unauthorized",
        &["Content-Type: application/json; charset=utf-8"],
        r#"{"error":"invalid_grant","error_description":"no"}"#,
    );
    // The liveness probe (a deliberately wrong secret) finds the token alive.
    let alive = http(
        "401 Unauthorized",
        &["Content-Type: application/json; charset=utf-8"],
        r#"{"error":"invalid_client","error_description":"no"}"#,
    );
    let (url, _) = fault_server_by(
        move |request| {
            if request.contains("client_secret=probe-") {
                return Some(alive.clone());
            }
            let spends = request
                .contains(&format!("grant_type=refresh_token&refresh_token={SEED}"))
                && request.contains("client_id=client-for-fault-tests&");
            (!spends).then(|| refusal.clone())
        },
        Duration::from_secs(40),
    );
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.json");
    let (out, took) = run_with_store(&url, &[], &store);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(
        all.contains("timed out") && !all.contains("panicked"),
        "{all}"
    );
    // Bounded: the refresh is sent once (never retried), then the run stops.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    // The consuming refresh timed out: its outcome is unknown, and the run says so.
    assert!(
        text(&out).contains("token state is unknown"),
        "{}",
        text(&out)
    );
    // ... and the store keeps the old token, marked as possibly consumed.
    let stored = std::fs::read_to_string(&store).unwrap();
    assert!(stored.contains("possibly_consumed"), "{stored}");
}

#[test]
fn service_unavailable_with_retry_after_is_retried_then_no_verdict() {
    let (url, count) = fault_server(
        Some(http(
            "503 Service Unavailable",
            &["Retry-After: 1", "Content-Type: text/plain"],
            "down for maintenance",
        )),
        Duration::from_secs(40),
    );
    let (out, took) = run_against(&url, &[]);
    assert_no_verdict(&out, "503");
    // The first request waited as told and tried again (bounded).
    assert!(
        count.load(Ordering::SeqCst) >= 3,
        "requests seen: {}",
        count.load(Ordering::SeqCst)
    );
    assert!(
        took >= Duration::from_secs(2),
        "Retry-After honoured: took {took:?}"
    );
}

#[test]
fn a_proxy_html_502_page() {
    let page = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";
    let (url, _) = fault_server(
        Some(http("502 Bad Gateway", &["Content-Type: text/html"], page)),
        Duration::from_secs(40),
    );
    let (out, _) = run_against(&url, &[]);
    assert_no_verdict(&out, "502");
}

#[test]
fn truncated_json() {
    let body = "{\"error\":\"invalid_req";
    let mut bytes = format!(
        "HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 200\r\n\r\n{body}"
    )
    .into_bytes();
    bytes.truncate(bytes.len());
    let (url, _) = fault_server(Some(bytes), Duration::from_secs(40));
    let (out, _) = run_against(&url, &[]);
    assert_no_verdict(&out, "connection lost");
}

#[test]
fn a_50_mb_body_is_cut_off() {
    let head = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 52428800\r\n\r\n";
    let mut bytes = head.as_bytes().to_vec();
    bytes.extend(std::iter::repeat_n(b' ', 50 * 1024 * 1024));
    let (url, _) = fault_server(Some(bytes), Duration::from_secs(40));
    let (out, _) = run_against(&url, &[]);
    assert_no_verdict(&out, "larger than");
}
