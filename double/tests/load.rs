//! Throughput and memory of the double under many rotating chains. Ignored by
//! default (it is a measurement, not a check of behaviour); run with
//! `cargo test --release -p payu-double --test load -- --ignored --nocapture --test-threads=1`
//! `DOUBLE_LOAD_N` sets the number of refreshes (default 200000).

use std::time::Instant;

use payu_double::{self as double, ClientKind, DoubleOptions};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn refresh_token_of(body: &str) -> Option<String> {
    let start = body.find("\"refresh_token\":\"")? + "\"refresh_token\":\"".len();
    let len = body[start..].find('"')?;
    Some(body[start..start + len].to_owned())
}

/// User plus system CPU time of this process, in seconds: unlike the rate,
/// it does not depend on what else the machine is doing.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 here.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    ticks as f64 / 100.0
}

/// A minimal keep-alive HTTP/1.1 client, so that the measurement is mostly
/// the server: one request at a time per connection.
struct RawConn {
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    async fn post(&mut self, host: &str, body: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let req = format!(
            "POST /oauth/token HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.stream.write_all(req.as_bytes()).await.unwrap();
        self.buf.clear();
        loop {
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&self.buf);
            if let Some(end) = text.find("\r\n\r\n") {
                let head = &text[..end];
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                if self.buf.len() >= end + 4 + len {
                    let status = head[9..12].parse().unwrap();
                    return (status, text[end + 4..end + 4 + len].to_owned());
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, not a check: run with --ignored --nocapture"]
async fn many_refreshes_raw_client() {
    let n: usize = std::env::var("DOUBLE_LOAD_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let chains = 64;
    let d = double::start(DoubleOptions::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client_id = d.fixtures().clients[0].client_id.clone();
    let addr = d.addr();
    let rss_before = rss_kib();
    let (t0, cpu0) = (Instant::now(), cpu_secs());
    let tasks: Vec<_> = (0..chains)
        .map(|i| {
            let mut token = d.state().issue_refresh_token(&client_id).unwrap();
            let client_id = client_id.clone();
            let per = n / chains + usize::from(i < n % chains);
            tokio::spawn(async move {
                let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let mut conn = RawConn {
                    stream,
                    buf: Vec::new(),
                };
                let host = addr.to_string();
                for _ in 0..per {
                    let body = format!(
                        "client_id={client_id}&grant_type=refresh_token&refresh_token={token}"
                    );
                    let (status, body) = conn.post(&host, &body).await;
                    assert_eq!(status, 200, "{body}");
                    token = refresh_token_of(&body).unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let (secs, cpu) = (t0.elapsed().as_secs_f64(), cpu_secs() - cpu0);
    println!(
        "raw client: {n} refreshes over {chains} chains in {secs:.2} s = {:.0}/s; {:.1} CPU-us per refresh (client+server; 2 cores = {:.0}/s ceiling); RSS {} -> {} MiB",
        n as f64 / secs,
        cpu * 1e6 / n as f64,
        2.0 * n as f64 / cpu,
        rss_before / 1024,
        rss_kib() / 1024
    );
    assert_eq!(d.state().live_token_count(), chains + 2);
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, not a check: run with --ignored --nocapture"]
async fn many_refreshes_stay_fast_and_small() {
    let n: usize = std::env::var("DOUBLE_LOAD_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let chains = 64;
    let d = double::start(DoubleOptions::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client_id = d
        .fixtures()
        .clients
        .iter()
        .find(|c| c.kind == ClientKind::Public)
        .unwrap()
        .client_id
        .clone();
    let url = d.token_url();
    payu_double::install_crypto_provider();
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(chains)
        .build()
        .unwrap();
    let rss_before = rss_kib();
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..chains)
        .map(|i| {
            let mut token = d.state().issue_refresh_token(&client_id).unwrap();
            let (http, url, client_id) = (http.clone(), url.clone(), client_id.clone());
            let per = n / chains + usize::from(i < n % chains);
            tokio::spawn(async move {
                for _ in 0..per {
                    let body = format!(
                        "client_id={client_id}&grant_type=refresh_token&refresh_token={token}"
                    );
                    let resp = http
                        .post(&url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(resp.status(), 200);
                    token = refresh_token_of(&resp.text().await.unwrap()).unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let secs = t0.elapsed().as_secs_f64();
    let rss_after = rss_kib();
    println!(
        "{n} refreshes over {chains} chains in {secs:.2} s = {:.0}/s; RSS {} -> {} MiB (client and server in one process)",
        n as f64 / secs,
        rss_before / 1024,
        rss_after / 1024
    );
    assert_eq!(d.state().live_token_count(), chains + 2);
    d.shutdown().await;
}
