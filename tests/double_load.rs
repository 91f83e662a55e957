//! Throughput and memory of the double under many rotating chains. Ignored by
//! default (it is a measurement, not a check of behaviour); run with
//! `cargo test --release --test double_load -- --ignored --nocapture`,
//! `DOUBLE_LOAD_N` sets the number of refreshes (default 200000).

use std::time::Instant;

use payu_contract::double::{self, ClientKind, DoubleOptions};

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

#[tokio::test(flavor = "multi_thread")]
#[ignore]
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
