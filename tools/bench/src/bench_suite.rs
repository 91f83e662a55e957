//! `payu-bench bench-suite`: how much the harness costs on top of the
//! HTTP requests it sends.
//!
//! Whole processes, spawn to exit, alternating: the product binary's
//! `payu-contract run -q` (runtime, double, cucumber, checks, snapshots,
//! report) against `payu-bench bench-suite --bare-only`, a bare reqwest loop
//! of the same requests. The product binary is found beside this one (same
//! target folder) or named with `--bin`. Each `--one` child also times the
//! bare loop cold and warm on its own clock, and the per-request overhead
//! of the harness's client is measured in this process.
//!
//! The bare loop sends the same 10 requests the suite sends, in the same
//! order, to a fresh double: start the double, build a reqwest client with
//! the harness's settings, send, read and parse each answer, stop. The
//! parent also times whole processes (`run -q` vs `bench-suite --bare-only`)
//! from spawn to exit. Figures: medians over `--runs` processes.

use std::process::Stdio;
use std::time::{Duration, Instant};

use clap::Args;
use payu_contract::report::exit;
use payu_double::{self as double, ClientKind, DoubleOptions};
use serde::{Deserialize, Serialize};

#[derive(Debug, Args)]
pub struct BenchSuiteArgs {
    /// Child processes to measure (each runs the suite once).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub runs: u32,
    /// Internal: one measurement in this process, printed as a JSON line.
    #[arg(long, hide = true)]
    pub one: bool,
    /// Internal: only the bare loop, once (for the whole-process timing).
    #[arg(long, hide = true)]
    pub bare_only: bool,
    /// The payu-contract binary to time (default: beside this program).
    #[arg(long, value_name = "FILE")]
    pub bin: Option<std::path::PathBuf>,
}

#[derive(Debug, Serialize, Deserialize)]
struct One {
    bare_cold_us: u64,
    /// The bare loop with the harness's client settings.
    bare_warm_us: Vec<u64>,
    /// The bare loop with reqwest's defaults (system trust store loaded).
    plain_warm_us: Vec<u64>,
    requests: usize,
}

/// Which reqwest client the bare loop builds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bare {
    /// The harness's settings (src/client.rs): timeouts, no redirects, user
    /// agent, no proxy, and no system trust store for plain HTTP.
    Harness,
    /// `reqwest::Client::builder().no_proxy().build()`, as anyone would write it.
    Defaults,
}

const MAX_RUNS: u32 = 1000;

pub fn bench_suite(args: BenchSuiteArgs) -> i32 {
    if args.bare_only {
        return match bare(Bare::Harness) {
            Ok(_) => exit::PASSED,
            Err(e) => {
                eprintln!("error: {e}");
                exit::NO_VERDICT
            }
        };
    }
    if args.one {
        return one();
    }
    if args.runs == 0 || args.runs > MAX_RUNS {
        eprintln!("error: --runs must be 1..={MAX_RUNS}");
        return exit::CONFIG;
    }
    let bin = match args.bin {
        Some(bin) => bin,
        None => match std::env::current_exe() {
            Ok(me) => me.with_file_name("payu-contract"),
            Err(e) => {
                eprintln!("error: cannot find this program's folder ({e}): pass --bin");
                return exit::CONFIG;
            }
        },
    };
    if !bin.is_file() {
        eprintln!(
            "error: {} does not exist: build it (cargo build --release) or pass --bin",
            bin.display()
        );
        return exit::CONFIG;
    }
    parent(args.runs, &bin)
}

fn one() -> i32 {
    let t = Instant::now();
    let requests = match bare(Bare::Harness) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: bare loop: {e}");
            return exit::NO_VERDICT;
        }
    };
    let bare_cold_us = t.elapsed().as_micros() as u64;
    let (mut bare_warm_us, mut plain_warm_us) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        for (kind, into) in [
            (Bare::Harness, &mut bare_warm_us),
            (Bare::Defaults, &mut plain_warm_us),
        ] {
            let t = Instant::now();
            if let Err(e) = bare(kind) {
                eprintln!("error: bare loop: {e}");
                return exit::NO_VERDICT;
            }
            into.push(t.elapsed().as_micros() as u64);
        }
    }
    let line = One {
        bare_cold_us,
        bare_warm_us,
        plain_warm_us,
        requests,
    };
    println!("BENCH {}", serde_json::to_string(&line).unwrap_or_default());
    exit::PASSED
}

/// The suite's 10 requests with a bare reqwest client; returns how many were sent.
fn bare(kind: Bare) -> Result<usize, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let running = double::start(DoubleOptions::default(), ([127, 0, 0, 1], 0).into())
            .await
            .map_err(|e| e.to_string())?;
        let f = running.fixtures();
        let c = f
            .client(ClientKind::Public)
            .ok_or("no public client")?
            .clone();
        payu_double::install_crypto_provider();
        let http = match kind {
            // The harness's client settings (src/client.rs), nothing else.
            Bare::Harness => reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(15))
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("payu-contract/", env!("CARGO_PKG_VERSION")))
                .no_proxy()
                .tls_certs_only([]),
            Bare::Defaults => reqwest::Client::builder().no_proxy(),
        }
        .build()
        .map_err(|e| e.to_string())?;
        let url = running.token_url();
        let rand_hex = || hex::encode(rand::random::<[u8; 32]>());
        let id = c.client_id.as_str();
        let secret = c.client_secret.as_str();
        let mut sent = 0;
        let mut send = async |fields: Vec<(&str, String)>, want: u16| {
            sent += 1;
            let resp = http
                .post(&url)
                .form(&fields)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let body = resp.text().await.map_err(|e| e.to_string())?;
            let json: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
            if status != want {
                return Err(format!("wanted {want}, got {status}: {body}"));
            }
            Ok::<_, String>(
                json.get("refresh_token")
                    .and_then(|t| t.as_str())
                    .map(str::to_owned),
            )
        };
        let t0 = c.refresh_token.clone();
        let s = |v: &str| v.to_owned();
        // 01-documented-failures: five rows, none consumes the token.
        send(
            vec![
                ("client_id", s(id)),
                ("client_secret", s(secret)),
                ("refresh_token", t0.clone()),
            ],
            401,
        )
        .await?;
        send(
            vec![
                ("client_id", s(id)),
                ("client_secret", s(secret)),
                ("grant_type", s("refresh_token")),
            ],
            401,
        )
        .await?;
        send(
            vec![
                ("client_id", rand_hex()),
                ("client_secret", rand_hex()),
                ("grant_type", s("refresh_token")),
                ("refresh_token", t0.clone()),
            ],
            401,
        )
        .await?;
        send(
            vec![
                ("client_id", s(id)),
                ("client_secret", s(secret)),
                ("refresh_token", t0.clone()),
                ("grant_type", s("refresh_tokens")),
            ],
            401,
        )
        .await?;
        send(
            vec![
                ("client_id", s(id)),
                ("client_secret", s(secret)),
                ("grant_type", s("refresh_token")),
                ("refresh_token", rand_hex()),
            ],
            401,
        )
        .await?;
        // 02-successful-refresh: with and without the secret.
        let documented = |t: String| {
            vec![
                ("client_id", s(id)),
                ("client_secret", s(secret)),
                ("grant_type", s("refresh_token")),
                ("refresh_token", t),
            ]
        };
        let t1 = send(documented(t0), 200).await?.ok_or("no refresh token")?;
        let t2 = send(
            vec![
                ("client_id", s(id)),
                ("grant_type", s("refresh_token")),
                ("refresh_token", t1),
            ],
            200,
        )
        .await?
        .ok_or("no refresh token")?;
        // 03-rotation: refresh once, refresh with the new one, replay the used one.
        let t3 = send(documented(t2), 200).await?.ok_or("no refresh token")?;
        send(documented(t3.clone()), 200).await?;
        send(documented(t3), 401).await?;
        drop(http);
        running.shutdown().await;
        Ok(sent)
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        f64::midpoint(v[m - 1], v[m])
    }
}

fn spread(label: &str, v: &mut [f64], unit: &str) -> f64 {
    let med = median(v);
    println!(
        "  {label:<44} median {med:>7.2} {unit}  min {:>7.2}  max {:>7.2}  (n={})",
        v.first().copied().unwrap_or(f64::NAN),
        v.last().copied().unwrap_or(f64::NAN),
        v.len()
    );
    med
}

/// Spawn `exe` with `args`, wait at most 30 s; wall time and stdout.
fn timed_child(exe: &std::path::Path, args: &[&str]) -> Result<(Duration, String, i32), String> {
    let t = Instant::now();
    let mut child = std::process::Command::new(exe)
        .args(args)
        .env("CI", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = t + Duration::from_secs(30);
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => {
                let wall = t.elapsed();
                let mut out = String::new();
                if let Some(mut so) = child.stdout.take() {
                    use std::io::Read;
                    let _ = so.read_to_string(&mut out);
                }
                return Ok((wall, out, status.code().unwrap_or(-1)));
            }
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{args:?} took more than 30 s"));
            }
            None => std::thread::sleep(Duration::from_micros(200)),
        }
    }
}

fn parent(runs: u32, bin: &std::path::Path) -> i32 {
    let me = match std::env::current_exe() {
        Ok(me) => me,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::NO_VERDICT;
        }
    };
    let mut ones = Vec::new();
    let (mut proc_suite, mut proc_bare) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (_, out, _) = match timed_child(&me, &["bench-suite", "--one"]) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::NO_VERDICT;
            }
        };
        if let Some(o) = out
            .lines()
            .find_map(|l| l.strip_prefix("BENCH "))
            .and_then(|l| serde_json::from_str::<One>(l).ok())
        {
            ones.push(o);
        } else {
            eprintln!("error: a measurement printed no result: {out}");
            return exit::NO_VERDICT;
        }
        // Whole processes, alternating so drift hits both alike.
        for (exe, args, into) in [
            (bin, &["run", "-q"][..], &mut proc_suite),
            (
                me.as_path(),
                &["bench-suite", "--bare-only"][..],
                &mut proc_bare,
            ),
        ] {
            match timed_child(exe, args) {
                Ok((wall, _, 0)) => into.push(wall.as_secs_f64() * 1000.0),
                Ok((_, out, code)) => {
                    eprintln!("error: {args:?} exited {code}: {out}");
                    return exit::NO_VERDICT;
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return exit::NO_VERDICT;
                }
            }
        }
    }
    let ms = |us: u64| us as f64 / 1000.0;
    let mut cold: Vec<f64> = ones.iter().map(|o| ms(o.bare_cold_us)).collect();
    let mut warm: Vec<f64> = ones
        .iter()
        .map(|o| {
            let mut w: Vec<f64> = o.bare_warm_us.iter().map(|&u| ms(u)).collect();
            median(&mut w)
        })
        .collect();
    let mut plain: Vec<f64> = ones
        .iter()
        .map(|o| {
            let mut w: Vec<f64> = o.plain_warm_us.iter().map(|&u| ms(u)).collect();
            median(&mut w)
        })
        .collect();
    let requests = ones.first().map_or(0, |o| o.requests);
    println!(
        "suite vs bare reqwest: the same {requests} requests, {runs} processes, release build"
    );
    println!("in one process (each: bare cold, then 3x both bare loops, warm):");
    spread("bare loop, harness client, cold (1st)", &mut cold, "ms");
    spread(
        "bare loop, harness client, warm (median 3)",
        &mut warm,
        "ms",
    );
    spread(
        "bare loop, reqwest defaults, warm (median 3)",
        &mut plain,
        "ms",
    );
    match per_request() {
        Ok(()) => {}
        Err(e) => {
            eprintln!("error: per-request benchmark: {e}");
            return exit::NO_VERDICT;
        }
    }
    println!("whole processes, spawn to exit:");
    let ps = spread("payu-contract run -q", &mut proc_suite, "ms");
    let pb = spread("payu-bench bench-suite --bare-only", &mut proc_bare, "ms");
    println!("  ratio of medians, run / bare process: {:.2}x", ps / pb);
    exit::PASSED
}

/// Per-request overhead, warm, in this process: the harness's
/// `TokenClient::send` (request record, redaction, retry logic, parsed
/// answer) against a bare reqwest post of the same form, on one double, in
/// alternating blocks. The request is the documented "invalid refresh
/// token" row, which consumes nothing, so every one is alike.
fn per_request() -> Result<(), String> {
    use payu_contract::client::{ClientOptions, TokenClient};
    use payu_contract::oauth::{self, ClientAuth, Request};
    use payu_contract::redact::Scrubber;
    use payu_contract::secret::Secret;
    const BLOCKS: usize = 20;
    const PER_BLOCK: usize = 100;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let running = double::start(DoubleOptions::default(), ([127, 0, 0, 1], 0).into())
            .await
            .map_err(|e| e.to_string())?;
        let c = running
            .fixtures()
            .client(ClientKind::Public)
            .ok_or("no public client")?
            .clone();
        let url = running.token_url();
        let harness = TokenClient::new(
            url::Url::parse(&url).map_err(|e| e.to_string())?,
            ClientOptions::default(),
            Scrubber::default(),
        )
        .map_err(|e| e.to_string())?;
        payu_double::install_crypto_provider();
        let bare = reqwest::Client::builder()
            .no_proxy()
            .tls_certs_only([])
            .build()
            .map_err(|e| e.to_string())?;
        let token = hex::encode(rand::random::<[u8; 32]>());
        let fields = [
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
            ("grant_type", "refresh_token"),
            ("refresh_token", token.as_str()),
        ];
        // The harness side is the suite's own request (src/oauth), the same
        // form the bare loop posts.
        let req = Request::refresh_with_invalid_refresh_token(&oauth::Client::new(
            c.client_id.as_str(),
            Some(Secret::new(c.client_secret.clone())),
            ClientAuth::Body,
        ));
        let (mut t_harness, mut t_bare) = (Duration::ZERO, Duration::ZERO);
        for block in 0..=BLOCKS {
            let t = Instant::now();
            for _ in 0..PER_BLOCK {
                let ex = harness.send(&req).await;
                match ex.outcome {
                    Ok(r) if r.status == 401 => {}
                    other => return Err(format!("harness: {:?}", other.map(|r| r.status))),
                }
            }
            let harness_block = t.elapsed();
            let t = Instant::now();
            for _ in 0..PER_BLOCK {
                let resp = bare
                    .post(&url)
                    .form(&fields)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = resp.status().as_u16();
                let body = resp.text().await.map_err(|e| e.to_string())?;
                let _: serde_json::Value =
                    serde_json::from_str(&body).map_err(|e| e.to_string())?;
                if status != 401 {
                    return Err(format!("bare: {status}"));
                }
            }
            // Block 0 warms both up and is not counted.
            if block > 0 {
                t_harness += harness_block;
                t_bare += t.elapsed();
            }
        }
        running.shutdown().await;
        let n = (BLOCKS * PER_BLOCK) as f64;
        let h = t_harness.as_secs_f64() * 1e6 / n;
        let b = t_bare.as_secs_f64() * 1e6 / n;
        println!(
            "per request, warm, {} each in alternating blocks (one keep-alive connection each):",
            BLOCKS * PER_BLOCK
        );
        println!("  harness TokenClient::send                    {h:>7.1} µs");
        println!("  bare reqwest post + parse                    {b:>7.1} µs");
        println!(
            "  ratio harness / bare                         {:>7.2} x",
            h / b
        );
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn bare_loop_sends_the_suites_requests_and_gets_the_documented_statuses() {
        assert_eq!(super::bare(super::Bare::Harness), Ok(10));
        assert_eq!(super::bare(super::Bare::Defaults), Ok(10));
    }
}
