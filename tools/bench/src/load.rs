//! `payu-contract load` and `payu-contract soak`: traffic generators that
//! speak the real protocol to a double on 127.0.0.1.
//!
//! `load` runs N concurrent token chains (one keep-alive connection and one
//! live refresh token each; every refresh sends the chain's newest token and
//! keeps the rotated one), then error traffic (bad grant type, unknown
//! token) and a mix, each phase bounded in time and count. Latencies go into
//! an HDR histogram (send to last body byte) and come out as p50/p90/p99/max.
//!
//! `soak` mixes valid chains with malformed traffic (hostile bodies, content
//! types, methods, headers, raw garbage on the socket) and checks that every
//! answer is well-formed and that the double's memory stays under a bound.
//!
//! The target is, by default, a `payu-contract serve` child process (what
//! partners run), or `--in-process` an embedded double on this runtime, or
//! `--token-url` with `--fixtures` a double that is already running. Only
//! loopback addresses are accepted: this is a benchmark, not a load test of
//! someone else's server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, header};
use hyper_util::rt::TokioIo;
use payu_contract::report::exit;
use payu_double::{self as double, ClientKind, DoubleOptions, DoubleState, Fixtures};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Hard ceilings on anything a flag can ask for.
const MAX_PHASE: Duration = Duration::from_mins(10);
const MAX_CHAINS: usize = 4096;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const FORM: &str = "application/x-www-form-urlencoded";

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Concurrent token chains (one connection and one live refresh token each).
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub chains: usize,
    /// Length of each phase (at most 600 s).
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub duration: humantime::Duration,
    /// Stop each phase after this many requests (whichever comes first with --duration).
    #[arg(long, value_name = "N")]
    pub requests: Option<u64>,
    /// Pace the chains to this many requests per second in all (open loop;
    /// latency then counts from the scheduled send when behind). Default:
    /// as fast as the chains go (closed loop).
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<u64>,
    /// Unmeasured refresh traffic before the first phase.
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub warmup: humantime::Duration,
    /// Phases, in order: refresh, bad-grant, unknown-token, mixed (80/10/10).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "refresh,bad-grant,unknown-token,mixed",
        value_name = "LIST"
    )]
    pub phases: Vec<String>,
    #[command(flatten)]
    pub target: LoadTarget,
}

/// Where the traffic goes.
#[derive(Debug, Args, Clone)]
pub struct LoadTarget {
    /// Run the double in this process (shares the runtime with the generator)
    /// instead of a `serve` child process.
    #[arg(long, conflicts_with = "token_url")]
    pub in_process: bool,
    /// A double that is already serving on 127.0.0.1 (needs --fixtures).
    #[arg(long, value_name = "URL", requires = "fixtures")]
    pub token_url: Option<String>,
    /// Its fixtures: the JSON line `serve` printed, or its "fixtures" object.
    #[arg(long, value_name = "FILE")]
    pub fixtures: Option<PathBuf>,
    /// The profile of the double this command starts (see `payu-contract profiles`).
    #[arg(long, default_value = "documented", value_name = "NAME")]
    pub profile: String,
}

#[derive(Debug, Args)]
pub struct SoakArgs {
    /// How long to soak (at most 600 s).
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub duration: humantime::Duration,
    /// Concurrent workers; each alternates valid refreshes and hostile requests.
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub workers: usize,
    /// Fail when the double's resident memory goes above this many MiB
    /// (`serve` child only: in-process the generator is counted too).
    #[arg(long, default_value_t = 64, value_name = "MIB")]
    pub max_rss_mib: u64,
    #[command(flatten)]
    pub target: LoadTarget,
}

// ---------------------------------------------------------------------------
// Target

/// The double under test and what the generator needs to talk to it.
pub(crate) struct Target {
    pub addr: SocketAddr,
    host: String,
    path: String,
    pub fixtures: Fixtures,
    /// In-process only: mints chains without a request.
    pub state: Option<DoubleState>,
    pub child: Option<tokio::process::Child>,
    running: Option<double::RunningDouble>,
}

#[derive(Deserialize)]
struct ServeLine {
    token_url: String,
    fixtures: Fixtures,
}

impl Target {
    pub async fn open(t: &LoadTarget) -> Result<Target, String> {
        let profile = double::Profile::parse(&t.profile).ok_or_else(|| {
            format!(
                "unknown profile \"{}\": `payu-contract profiles` lists them",
                t.profile
            )
        })?;
        if t.in_process {
            let opts = DoubleOptions {
                profile,
                ..DoubleOptions::default()
            };
            let running = double::start(opts, ([127, 0, 0, 1], 0).into())
                .await
                .map_err(|e| format!("cannot start the double on 127.0.0.1: {e}"))?;
            let mut target = Target::at(&running.token_url(), running.fixtures())?;
            target.state = Some(running.state().clone());
            target.running = Some(running);
            return Ok(target);
        }
        if let Some(url) = &t.token_url {
            let path = t.fixtures.as_ref().ok_or("--token-url needs --fixtures")?;
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--fixtures {} cannot be read: {e}", path.display()))?;
            let fixtures = serde_json::from_str::<ServeLine>(&text)
                .map(|l| l.fixtures)
                .or_else(|_| serde_json::from_str::<Fixtures>(&text))
                .map_err(|e| {
                    format!(
                        "--fixtures {}: neither a `serve` line nor a fixtures object ({e})",
                        path.display()
                    )
                })?;
            return Target::at(url, fixtures);
        }
        Target::spawn(&t.profile).await
    }

    /// Start `payu-contract serve --addr 127.0.0.1:0` and read its JSON line.
    async fn spawn(profile: &str) -> Result<Target, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
        let mut child = tokio::process::Command::new(exe)
            .args(["serve", "--addr", "127.0.0.1:0", "--profile", profile])
            .env_remove("RUST_LOG")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start `serve`: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout from `serve`")?;
        let mut line = String::new();
        let mut reader = tokio::io::BufReader::new(stdout);
        tokio::time::timeout(Duration::from_secs(20), reader.read_line(&mut line))
            .await
            .map_err(|_| "`serve` printed nothing within 20 s")?
            .map_err(|e| format!("cannot read from `serve`: {e}"))?;
        let parsed: ServeLine = serde_json::from_str(&line)
            .map_err(|e| format!("`serve` printed an unexpected line ({e}): {line}"))?;
        let mut target = Target::at(&parsed.token_url, parsed.fixtures)?;
        target.child = Some(child);
        Ok(target)
    }

    fn at(token_url: &str, fixtures: Fixtures) -> Result<Target, String> {
        let url = url::Url::parse(token_url)
            .map_err(|e| format!("--token-url {token_url} is not a URL: {e}"))?;
        if url.scheme() != "http" {
            return Err(format!(
                "{token_url}: the load generator speaks plain HTTP only; serve without TLS"
            ));
        }
        let addr = url
            .socket_addrs(|| Some(80))
            .map_err(|e| format!("{token_url}: {e}"))?
            .into_iter()
            .next()
            .ok_or_else(|| format!("{token_url}: no address"))?;
        if !addr.ip().is_loopback() {
            return Err(format!(
                "{token_url}: only a double on 127.0.0.1 (loopback) may be loaded"
            ));
        }
        let mut path = url.path().to_owned();
        if let Some(q) = url.query() {
            path = format!("{path}?{q}");
        }
        Ok(Target {
            addr,
            host: addr.to_string(),
            path,
            fixtures,
            state: None,
            child: None,
            running: None,
        })
    }

    pub fn client(&self) -> Result<&double::ClientFixture, String> {
        self.fixtures
            .client(ClientKind::Public)
            .ok_or_else(|| "the fixtures have no public client".to_owned())
    }

    /// The double's resident memory, in KiB: (`VmRSS`, `VmHWM`). The child's, or
    /// this process's when in-process (generator included).
    pub fn rss_kib(&self) -> Option<(u64, u64)> {
        let pid = match &self.child {
            Some(c) => c.id()?.to_string(),
            None if self.running.is_some() => "self".to_owned(),
            None => return None,
        };
        rss_of(&pid)
    }

    pub fn rss_label(&self) -> &'static str {
        match (&self.child, &self.running) {
            (Some(_), _) => "serve process",
            (None, Some(_)) => "this process (double + generator)",
            _ => "external double (not measured)",
        }
    }

    pub async fn close(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        }
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }

    /// One keep-alive HTTP/1.1 connection.
    pub async fn connect(&self) -> Result<Conn, String> {
        Ok(Conn {
            sender: handshake(self.addr).await?,
            addr: self.addr,
            host: self.host.clone(),
            path: self.path.clone(),
            reconnects: 0,
        })
    }

    /// A fresh live refresh token for `client`: minted directly in-process,
    /// else by the password grant (`PayU`'s "Get Token").
    pub async fn new_chain(&self, conn: &mut Conn) -> Result<String, String> {
        let c = self.client()?;
        if let Some(state) = &self.state {
            return state
                .issue_refresh_token(&c.client_id)
                .ok_or_else(|| "unknown client".to_owned());
        }
        let u = &self.fixtures.user;
        let body = form(&[
            ("grant_type", "password"),
            ("username", &u.username),
            ("password", &u.password),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
        ]);
        let r = conn.post(FORM, body).await?;
        match (r.status, answer(&r.body).and_then(|a| a.refresh_token)) {
            (200, Some(t)) => Ok(t),
            (s, _) => Err(format!(
                "the password grant answered {s}: {}",
                String::from_utf8_lossy(&r.body)
            )),
        }
    }
}

fn rss_of(pid: &str) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

pub(crate) fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::with_capacity(256))
        .extend_pairs(pairs)
        .finish()
}

// ---------------------------------------------------------------------------
// Connection

async fn handshake(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let tcp = tokio::time::timeout(REQUEST_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// A keep-alive connection. When the server has closed it (its right after
/// an answer such as 413), the next request opens a new one: that request
/// was certainly not sent yet. `reconnects` counts how often.
pub(crate) struct Conn {
    sender: SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    host: String,
    path: String,
    pub reconnects: u64,
}

pub(crate) struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
}

impl Conn {
    pub async fn post(&mut self, content_type: &str, body: String) -> Result<Reply, String> {
        let req = Request::post(self.path.as_str())
            .header(header::HOST, self.host.as_str())
            .header(header::CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        self.send(req).await
    }

    pub async fn send(&mut self, req: Request<Full<Bytes>>) -> Result<Reply, String> {
        let exchange = async {
            if self.sender.ready().await.is_err() {
                self.sender = handshake(self.addr).await?;
                self.reconnects += 1;
                self.sender.ready().await.map_err(|e| e.to_string())?;
            }
            let resp = self
                .sender
                .send_request(req)
                .await
                .map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let content_type = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok(Reply {
                status,
                content_type,
                body,
            })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| "no answer within 10 s".to_owned())?
    }

    pub fn host(&self) -> &str {
        &self.host
    }
}

#[derive(Deserialize)]
pub(crate) struct Answer {
    pub refresh_token: Option<String>,
    pub error: Option<String>,
}

pub(crate) fn answer(body: &[u8]) -> Option<Answer> {
    serde_json::from_slice(body).ok()
}

// ---------------------------------------------------------------------------
// Load

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Refresh,
    BadGrant,
    UnknownToken,
}

const KINDS: [Kind; 3] = [Kind::Refresh, Kind::BadGrant, Kind::UnknownToken];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Refresh => "refresh",
            Kind::BadGrant => "bad-grant",
            Kind::UnknownToken => "unknown-token",
        }
    }
}

/// What one phase sends: the kind of the i-th request of a chain.
#[derive(Clone, Copy, Debug)]
enum Phase {
    Only(Kind),
    /// 8 refreshes, 1 bad grant type, 1 unknown token in every 10.
    Mixed,
}

impl Phase {
    fn parse(s: &str) -> Option<Phase> {
        Some(match s.trim() {
            "refresh" => Phase::Only(Kind::Refresh),
            "bad-grant" => Phase::Only(Kind::BadGrant),
            "unknown-token" => Phase::Only(Kind::UnknownToken),
            "mixed" => Phase::Mixed,
            _ => return None,
        })
    }

    fn kind(self, i: u64) -> Kind {
        match self {
            Phase::Only(k) => k,
            Phase::Mixed => match i % 10 {
                8 => Kind::BadGrant,
                9 => Kind::UnknownToken,
                _ => Kind::Refresh,
            },
        }
    }
}

/// Per kind: latencies in microseconds, answers as expected, and not.
struct Stats {
    hist: [Histogram<u64>; 3],
    unexpected: [u64; 3],
    first_unexpected: Option<String>,
}

impl Stats {
    fn new() -> Stats {
        let h = || Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
        Stats {
            hist: [h(), h(), h()],
            unexpected: [0; 3],
            first_unexpected: None,
        }
    }

    fn add(&mut self, other: &Stats) {
        for i in 0..3 {
            let _ = self.hist[i].add(&other.hist[i]);
            self.unexpected[i] += other.unexpected[i];
        }
        if self.first_unexpected.is_none() {
            self.first_unexpected.clone_from(&other.first_unexpected);
        }
    }
}

/// One token chain: a connection and its newest refresh token.
struct Chain {
    conn: Conn,
    token: String,
    /// Refresh-grant bodies without the token: `..&refresh_token=`.
    refresh_prefix: String,
    bad_grant_prefix: String,
    unknown_body: String,
}

/// When a phase stops: a deadline, and optionally a shared request budget.
struct Bounds {
    start: Instant,
    deadline: Instant,
    /// `--rate`: each chain's interval between sends (open-loop pacing).
    period: Option<Duration>,
    budget: Option<AtomicU64>,
    stop: AtomicBool,
}

impl Bounds {
    fn take(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline {
            return false;
        }
        match &self.budget {
            None => true,
            Some(b) => b
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok(),
        }
    }
}

async fn run_chain(
    mut chain: Chain,
    target: Arc<Target>,
    phase: Phase,
    bounds: Arc<Bounds>,
    record: bool,
    offset: Duration,
) -> (Chain, Stats) {
    let mut stats = Stats::new();
    let mut i: u64 = 0;
    let mut next = bounds.start + offset;
    // Also bounded by count, whatever the clock does.
    while i < 100_000_000 && bounds.take() {
        let kind = phase.kind(i);
        i += 1;
        let body = match kind {
            Kind::Refresh => format!("{}{}", chain.refresh_prefix, chain.token),
            Kind::BadGrant => format!("{}{}", chain.bad_grant_prefix, chain.token),
            Kind::UnknownToken => chain.unknown_body.clone(),
        };
        // Paced: latency counts from the scheduled send when the chain is
        // behind (no coordinated omission), from the actual send otherwise
        // (the timer's millisecond granularity is not the server's).
        let t0 = match bounds.period {
            None => Instant::now(),
            Some(p) => {
                let now = Instant::now();
                let t = if now >= next {
                    next
                } else {
                    tokio::time::sleep_until(next.into()).await;
                    Instant::now()
                };
                next += p;
                t
            }
        };
        let result = chain.conn.post(FORM, body).await;
        let micros = t0.elapsed().as_micros() as u64;
        let k = kind as usize;
        let problem = match result {
            Err(e) => Some(format!("{}: transport: {e}", kind.name())),
            Ok(r) => {
                let a = answer(&r.body);
                match (kind, r.status, a) {
                    (
                        Kind::Refresh,
                        200,
                        Some(Answer {
                            refresh_token: Some(t),
                            ..
                        }),
                    ) => {
                        chain.token = t;
                        None
                    }
                    (Kind::BadGrant, 400..=499, Some(Answer { error: Some(e), .. }))
                        if e == "unsupported_grant_type" =>
                    {
                        None
                    }
                    (Kind::UnknownToken, 400..=499, Some(Answer { error: Some(e), .. }))
                        if e == "invalid_grant" =>
                    {
                        None
                    }
                    (_, status, _) => Some(format!(
                        "{}: {status} {}",
                        kind.name(),
                        String::from_utf8_lossy(&r.body[..r.body.len().min(200)])
                    )),
                }
            }
        };
        if record {
            let _ = stats.hist[k].record(micros.max(1));
        }
        if let Some(p) = problem {
            stats.unexpected[k] += 1;
            stats.first_unexpected.get_or_insert(p);
            // A broken chain starts over: new connection, new token.
            match target.connect().await {
                Ok(mut conn) => match target.new_chain(&mut conn).await {
                    Ok(t) => {
                        chain.conn = conn;
                        chain.token = t;
                    }
                    Err(_) => break,
                },
                Err(_) => break,
            }
        }
    }
    (chain, stats)
}

async fn open_chains(target: &Target, n: usize) -> Result<Vec<Chain>, String> {
    let c = target.client()?;
    let refresh_prefix = format!(
        "{}&refresh_token=",
        form(&[
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("grant_type", "refresh_token"),
        ])
    );
    let bad_grant_prefix = format!(
        "{}&refresh_token=",
        form(&[
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("grant_type", "refresh_tokens"),
        ])
    );
    let mut chains = Vec::with_capacity(n);
    for _ in 0..n {
        let mut conn = target.connect().await?;
        let token = target.new_chain(&mut conn).await?;
        let unknown: [u8; 32] = rand::random();
        chains.push(Chain {
            conn,
            token,
            refresh_prefix: refresh_prefix.clone(),
            bad_grant_prefix: bad_grant_prefix.clone(),
            unknown_body: format!("{bad}{}", hex::encode(unknown), bad = refresh_prefix),
        });
    }
    Ok(chains)
}

async fn run_phase(
    target: &Arc<Target>,
    chains: Vec<Chain>,
    phase: Phase,
    duration: Duration,
    requests: Option<u64>,
    rate: Option<u64>,
    record: bool,
) -> (Vec<Chain>, Stats, Duration) {
    let n = chains.len().max(1) as u32;
    let period = rate
        .filter(|&r| r > 0)
        .map(|r| Duration::from_secs_f64(f64::from(n) / r as f64));
    let start = Instant::now();
    let bounds = Arc::new(Bounds {
        start,
        period,
        deadline: start + duration,
        budget: requests.map(AtomicU64::new),
        stop: AtomicBool::new(false),
    });
    let started = Instant::now();
    let tasks: Vec<_> = chains
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            // Chains start spread over one period, not all at once.
            let offset = period.map_or(Duration::ZERO, |p| p * i as u32 / n);
            tokio::spawn(run_chain(
                c,
                target.clone(),
                phase,
                bounds.clone(),
                record,
                offset,
            ))
        })
        .collect();
    let mut total = Stats::new();
    let mut back = Vec::with_capacity(tasks.len());
    for t in tasks {
        if let Ok((chain, stats)) = t.await {
            total.add(&stats);
            back.push(chain);
        }
    }
    (back, total, started.elapsed())
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

fn print_line(label: &str, h: &Histogram<u64>, unexpected: u64, elapsed: Duration) {
    let n = h.len();
    let rate = n as f64 / elapsed.as_secs_f64();
    println!(
        "  {label:<14} {n:>9} req {rate:>9.0} req/s  p50 {:>6.2} ms  p90 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  unexpected {unexpected}",
        ms(h.value_at_quantile(0.50)),
        ms(h.value_at_quantile(0.90)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max()),
    );
}

pub fn load(args: LoadArgs) -> i32 {
    let phases: Result<Vec<(String, Phase)>, String> = args
        .phases
        .iter()
        .map(|p| {
            Phase::parse(p).map(|ph| (p.trim().to_owned(), ph)).ok_or_else(|| {
                format!("--phases: unknown phase \"{p}\"; use refresh, bad-grant, unknown-token, mixed")
            })
        })
        .collect();
    let phases = match phases {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::CONFIG;
        }
    };
    if args.chains == 0 || args.chains > MAX_CHAINS {
        eprintln!("error: --chains must be 1..={MAX_CHAINS}");
        return exit::CONFIG;
    }
    let duration: Duration = args.duration.into();
    let warmup: Duration = args.warmup.into();
    if duration > MAX_PHASE || warmup > MAX_PHASE {
        eprintln!("error: --duration and --warmup are at most 600 s");
        return exit::CONFIG;
    }
    let Some(runtime) = crate::runtime() else {
        return exit::NO_VERDICT;
    };
    runtime.block_on(async move {
        let target = match Target::open(&args.target).await {
            Ok(t) => Arc::new(t),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::NO_VERDICT;
            }
        };
        let mut chains = match open_chains(&target, args.chains).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: cannot open the token chains: {e}");
                return exit::NO_VERDICT;
            }
        };
        println!(
            "load: {} chains against {} ({}), {} worker threads here, phases of {} (max {} requests), rate {}",
            args.chains,
            target.addr,
            target.rss_label(),
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            humantime::format_duration(duration),
            args.requests.map_or("no".to_owned(), |n| n.to_string()),
            args.rate.map_or("unpaced (closed loop)".to_owned(), |r| format!("paced to {r}/s")),
        );
        let rss = |when: &str| {
            if let Some((rss, hwm)) = target.rss_kib() {
                println!(
                    "  rss {when:<28} {:>7.1} MiB (peak {:.1} MiB), {}",
                    mib(rss),
                    mib(hwm),
                    target.rss_label()
                );
            }
        };
        rss("after opening the chains");
        if !warmup.is_zero() {
            let (c, _, _) = run_phase(
                &target,
                chains,
                Phase::Only(Kind::Refresh),
                warmup,
                None,
                args.rate,
                false,
            )
            .await;
            chains = c;
        }
        let mut unexpected_total = 0;
        let mut total_refreshes = 0;
        for (name, phase) in phases {
            let (c, stats, elapsed) =
                run_phase(
                    &target,
                    chains,
                    phase,
                    duration,
                    args.requests,
                    args.rate,
                    true,
                )
                .await;
            chains = c;
            let n: u64 = stats.hist.iter().map(Histogram::len).sum();
            let reconnects: u64 = chains.iter().map(|c| c.conn.reconnects).sum();
            println!(
                "phase {name}: {n} requests in {:.2} s = {:.0} req/s, {} chains alive, {reconnects} reconnects",
                elapsed.as_secs_f64(),
                n as f64 / elapsed.as_secs_f64(),
                chains.len()
            );
            for kind in KINDS {
                let h = &stats.hist[kind as usize];
                if !h.is_empty() {
                    print_line(kind.name(), h, stats.unexpected[kind as usize], elapsed);
                }
            }
            total_refreshes += stats.hist[Kind::Refresh as usize].len();
            let u: u64 = stats.unexpected.iter().sum();
            if let Some(first) = &stats.first_unexpected {
                println!("  first unexpected answer: {first}");
            }
            unexpected_total += u;
            rss(&format!("after {name}"));
        }
        if let Some(state) = &target.state {
            println!("  live refresh tokens in the double: {}", state.live_token_count());
        }
        println!("refreshes measured in all: {total_refreshes}; unexpected answers: {unexpected_total}");
        drop(chains);
        if let Ok(t) = Arc::try_unwrap(target) {
            t.close().await;
        }
        if unexpected_total > 0 {
            exit::DRIFTED
        } else {
            exit::PASSED
        }
    })
}

// ---------------------------------------------------------------------------
// Soak

/// One hostile request: what to send and what may come back.
struct Hostile {
    method: hyper::Method,
    path: String,
    headers: Vec<(header::HeaderName, Vec<u8>)>,
    body: Vec<u8>,
}

fn hostile(rng: &mut impl rand::Rng, fixtures: &Fixtures, live: &str) -> Hostile {
    use rand::seq::IndexedRandom;
    let c = fixtures.client(ClientKind::Public).expect("public client");
    let methods = [
        "POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD",
    ];
    let method = hyper::Method::from_bytes(methods.choose(rng).unwrap().as_bytes()).unwrap();
    let paths = [
        "/oauth/token",
        "/oauth/token",
        "/oauth/token/",
        "/oauth/token?grant_type=refresh_token",
        "/oauth/token?grant_type=%ZZ",
        "/",
        "/oauth",
        "/oauth/token/extra",
    ];
    let path = (*paths.choose(rng).unwrap()).to_owned();
    let cts: [&[u8]; 8] = [
        b"application/x-www-form-urlencoded",
        b"application/json",
        b"application/json; charset=utf-8",
        b"text/plain",
        b"multipart/form-data; boundary=x",
        b"APPLICATION/X-WWW-FORM-URLENCODED;;;",
        b"",
        b"application/x-www-form-urlencoded; charset=\xff",
    ];
    let mut headers = Vec::new();
    if rng.random_bool(0.9) {
        headers.push((header::CONTENT_TYPE, cts.choose(rng).unwrap().to_vec()));
    }
    if rng.random_bool(0.2) {
        let junk: [&[u8]; 5] = [
            b"Basic ",
            b"Basic !!!not-base64",
            b"Basic OmVtcHR5LWlk",
            b"Bearer x",
            b"Basic \xc3\x28",
        ];
        headers.push((header::AUTHORIZATION, junk.choose(rng).unwrap().to_vec()));
    }
    let fields = [
        "grant_type",
        "refresh_token",
        "client_id",
        "client_secret",
        "scope",
        "username",
        "password",
        "x",
        "",
    ];
    let values: Vec<&str> = vec![
        "refresh_token",
        "password",
        "refresh_tokens",
        live,
        &c.client_id,
        &c.client_secret,
        "hub_session",
        "hub_session payouts",
        "",
        "   ",
        "%",
        "%ZZ",
        "%00",
        "+",
        "\u{1F600}",
    ];
    let body: Vec<u8> = match rng.random_range(0..7) {
        // Random bytes.
        0 => (0..rng.random_range(0..512))
            .map(|_| rng.random())
            .collect(),
        // A form of known keys with hostile values.
        1 | 2 => {
            let mut s = String::new();
            for i in 0..rng.random_range(0..8) {
                if i > 0 {
                    s.push(if rng.random_bool(0.8) { '&' } else { ';' });
                }
                s.push_str(fields.choose(rng).unwrap());
                if rng.random_bool(0.9) {
                    s.push('=');
                    s.push_str(values.choose(rng).unwrap());
                }
            }
            s.into_bytes()
        }
        // JSON, well-formed or not.
        3 => {
            let docs = [
                format!(
                    r#"{{"grant_type":"refresh_token","refresh_token":"{live}","client_id":"{}"}}"#,
                    c.client_id
                ),
                r#"{"grant_type":["refresh_token"],"refresh_token":{"a":1}}"#.to_owned(),
                r#"{"grant_type":"refresh_token""#.to_owned(),
                "[1,2,3]".to_owned(),
                "null".to_owned(),
                r#"{"grant_type":"\ud800"}"#.to_owned(),
                "9".repeat(400),
            ];
            docs.choose(rng).unwrap().clone().into_bytes()
        }
        // Too large.
        4 => vec![b'a'; 64 * 1024 + 1 + rng.random_range(0..4096)],
        // Empty.
        5 => Vec::new(),
        // Deeply nested JSON.
        _ => {
            let depth = rng.random_range(1..2000);
            let mut v = "[".repeat(depth).into_bytes();
            v.extend(std::iter::repeat_n(b']', depth));
            v
        }
    };
    Hostile {
        method,
        path,
        headers,
        body,
    }
}

/// Is this answer one the double may give? (status, content type, body shape)
pub(crate) fn well_formed(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(), String> {
    let ct = content_type.unwrap_or("");
    let is_json = ct.starts_with("application/json");
    match status {
        200 => {
            let v: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| format!("200 with a non-JSON body: {e}"))?;
            if v.get("access_token").and_then(|t| t.as_str()).is_none() {
                return Err("200 without an access_token".into());
            }
            Ok(())
        }
        400 | 401 if is_json => {
            let v: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| format!("{status} with a broken JSON body: {e}"))?;
            match v.get("error").and_then(|e| e.as_str()) {
                Some(_) => Ok(()),
                None => Err(format!("{status} JSON without an error string")),
            }
        }
        400 | 401 => Err(format!("{status} token error that is not JSON ({ct})")),
        404 | 413 if ct.starts_with("text/html") => Ok(()),
        s => Err(format!("unexpected status {s} ({ct})")),
    }
}

/// What a soak run saw.
#[derive(Default, Debug)]
pub(crate) struct SoakStats {
    pub valid: u64,
    pub hostile: u64,
    pub raw: u64,
    pub bad: u64,
    pub first_bad: Option<String>,
    pub statuses: std::collections::BTreeMap<u16, u64>,
}

impl SoakStats {
    fn bad(&mut self, what: String) {
        self.bad += 1;
        self.first_bad.get_or_insert(what);
    }

    fn merge(&mut self, o: SoakStats) {
        self.valid += o.valid;
        self.hostile += o.hostile;
        self.raw += o.raw;
        self.bad += o.bad;
        if self.first_bad.is_none() {
            self.first_bad = o.first_bad;
        }
        for (k, v) in o.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
    }
}

/// Raw bytes on a fresh socket: the server must answer with an HTTP status
/// line or close the connection, never hang.
async fn raw_garbage(target: &Target, rng: &mut impl rand::Rng) -> Result<(), String> {
    let payloads: [&[u8]; 5] = [
        b"\x00\x01\x02garbage\r\n\r\n",
        b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab",
    ];
    let payload = payloads[rng.random_range(0..payloads.len())];
    let mut tcp = TcpStream::connect(target.addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    tcp.write_all(payload).await.map_err(|e| e.to_string())?;
    let _ = tcp.shutdown().await;
    let mut buf = Vec::with_capacity(1024);
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        let mut chunk = [0u8; 1024];
        loop {
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) if buf.len() < 64 * 1024 => buf.extend_from_slice(&chunk[..n]),
                Ok(_) => break,
            }
        }
    })
    .await;
    if read.is_err() {
        return Err(format!(
            "raw request {:?}: no answer and no close within 5 s",
            String::from_utf8_lossy(payload)
        ));
    }
    if buf.is_empty() || buf.starts_with(b"HTTP/1.1 ") {
        Ok(())
    } else {
        Err(format!(
            "raw request answered without a status line: {:?}",
            String::from_utf8_lossy(&buf[..buf.len().min(80)])
        ))
    }
}

async fn soak_worker(target: Arc<Target>, deadline: Instant, seed: u64) -> SoakStats {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut stats = SoakStats::default();
    let mut conn = match target.connect().await {
        Ok(c) => c,
        Err(e) => {
            stats.bad(e);
            return stats;
        }
    };
    let mut token = match target.new_chain(&mut conn).await {
        Ok(t) => t,
        Err(e) => {
            stats.bad(e);
            return stats;
        }
    };
    let c = target.client().expect("public client").clone();
    let mut i: u64 = 0;
    while i < 50_000_000 && Instant::now() < deadline {
        i += 1;
        match i % 4 {
            // A valid refresh keeps the chain (and the token map) busy.
            0 | 1 => {
                let body = form(&[
                    ("client_id", &c.client_id),
                    ("client_secret", &c.client_secret),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &token),
                ]);
                match conn.post(FORM, body).await {
                    Ok(r) => {
                        *stats.statuses.entry(r.status).or_default() += 1;
                        stats.valid += 1;
                        if let Err(e) = well_formed(r.status, r.content_type.as_deref(), &r.body) {
                            stats.bad(format!("valid refresh: {e}"));
                        }
                        match answer(&r.body).and_then(|a| a.refresh_token) {
                            Some(t) if r.status == 200 => token = t,
                            _ => stats.bad(format!("valid refresh answered {}", r.status)),
                        }
                    }
                    Err(e) => stats.bad(format!("valid refresh: {e}")),
                }
            }
            2 => {
                let h = hostile(&mut rng, &target.fixtures, &token);
                let mut b = Request::builder()
                    .method(h.method.clone())
                    .uri(h.path.as_str());
                b = b.header(header::HOST, conn.host().to_owned());
                for (k, v) in &h.headers {
                    b = b.header(k, v.as_slice());
                }
                let oversized = h.body.len() > 64 * 1024;
                let Ok(req) = b.body(Full::new(Bytes::from(h.body))) else {
                    continue;
                };
                stats.hostile += 1;
                // Each on its own connection: the server may close one
                // after a request it did not read to the end, and a valid
                // refresh must never race such a close.
                let mut side = match target.connect().await {
                    Ok(c) => c,
                    Err(e) => {
                        stats.bad(e);
                        continue;
                    }
                };
                match side.send(req).await {
                    Ok(r) => {
                        *stats.statuses.entry(r.status).or_default() += 1;
                        let head = h.method == hyper::Method::HEAD;
                        let check = if head {
                            Ok(())
                        } else {
                            well_formed(r.status, r.content_type.as_deref(), &r.body)
                        };
                        if let Err(e) = check {
                            stats.bad(format!("{} {}: {e}", h.method, h.path));
                        }
                        // A hostile request may have used the live token
                        // (a valid refresh in disguise): start a new chain.
                        if r.status == 200 {
                            match target.new_chain(&mut conn).await {
                                Ok(t) => token = t,
                                Err(e) => stats.bad(e),
                            }
                        }
                    }
                    Err(e) => {
                        // The server may answer 413 and close before an
                        // oversized body is sent; anything else is a fault.
                        if !oversized {
                            stats.bad(format!("{} {}: {e}", h.method, h.path));
                        }
                    }
                }
            }
            _ => {
                if i % 40 == 3 {
                    stats.raw += 1;
                    if let Err(e) = raw_garbage(&target, &mut rng).await {
                        stats.bad(e);
                    }
                } else {
                    // An unknown token: the other error path.
                    let body = form(&[
                        ("client_id", &c.client_id),
                        ("grant_type", "refresh_token"),
                        ("refresh_token", "0123456789abcdef"),
                    ]);
                    stats.hostile += 1;
                    match conn.post(FORM, body).await {
                        Ok(r) => {
                            *stats.statuses.entry(r.status).or_default() += 1;
                            if let Err(e) =
                                well_formed(r.status, r.content_type.as_deref(), &r.body)
                            {
                                stats.bad(format!("unknown token: {e}"));
                            }
                        }
                        Err(e) => stats.bad(format!("unknown token: {e}")),
                    }
                }
            }
        }
    }
    stats
}

/// Run the soak against an open target; prints progress once per ~10 s.
pub(crate) async fn soak_on(
    target: Arc<Target>,
    workers: usize,
    duration: Duration,
) -> (SoakStats, Option<u64>) {
    let deadline = Instant::now() + duration;
    let tasks: Vec<_> = (0..workers)
        .map(|w| tokio::spawn(soak_worker(target.clone(), deadline, 0x50a4 + w as u64)))
        .collect();
    let mut peak: Option<u64> = None;
    let started = Instant::now();
    let mut last_print = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250).min(duration)).await;
        if let Some((rss, _)) = target.rss_kib() {
            peak = Some(peak.map_or(rss, |p| p.max(rss)));
            if last_print.elapsed() >= Duration::from_secs(10) {
                last_print = Instant::now();
                println!(
                    "  {:>4.0} s  rss {:.1} MiB",
                    started.elapsed().as_secs_f64(),
                    mib(rss)
                );
            }
        }
    }
    let mut total = SoakStats::default();
    for t in tasks {
        match t.await {
            Ok(s) => total.merge(s),
            Err(e) => total.bad(format!("a worker panicked: {e}")),
        }
    }
    if let Some((rss, _)) = target.rss_kib() {
        peak = Some(peak.map_or(rss, |p| p.max(rss)));
    }
    (total, peak)
}

pub fn soak(args: SoakArgs) -> i32 {
    let duration: Duration = args.duration.into();
    if duration > MAX_PHASE || args.workers == 0 || args.workers > MAX_CHAINS {
        eprintln!("error: --duration is at most 600 s and --workers 1..={MAX_CHAINS}");
        return exit::CONFIG;
    }
    let Some(runtime) = crate::runtime() else {
        return exit::NO_VERDICT;
    };
    runtime.block_on(async move {
        let target = match Target::open(&args.target).await {
            Ok(t) => Arc::new(t),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::NO_VERDICT;
            }
        };
        let before = target.rss_kib();
        println!(
            "soak: {} workers for {} against {} ({})",
            args.workers,
            humantime::format_duration(duration),
            target.addr,
            target.rss_label()
        );
        let (stats, peak) = soak_on(target.clone(), args.workers, duration).await;
        let after = target.rss_kib();
        // A dead child is a zombie without VmRSS until it is reaped.
        let alive = target
            .child
            .as_ref()
            .map(|c| c.id().is_some_and(|p| rss_of(&p.to_string()).is_some()));
        println!(
            "requests: {} valid refreshes, {} hostile HTTP requests, {} raw-socket garbage; statuses {:?}",
            stats.valid, stats.hostile, stats.raw, stats.statuses
        );
        if let (Some((b, _)), Some((a, hwm)), Some(p)) = (before, after, peak) {
            println!(
                "rss ({}): before {:.1} MiB, after {:.1} MiB, peak sampled {:.1} MiB, VmHWM {:.1} MiB, bound {} MiB",
                target.rss_label(),
                mib(b),
                mib(a),
                mib(p),
                mib(hwm),
                args.max_rss_mib
            );
        }
        if let Some(state) = &target.state {
            println!("live refresh tokens in the double: {}", state.live_token_count());
        }
        let over = after.is_some_and(|(_, hwm)| hwm > args.max_rss_mib * 1024);
        let dead = alive == Some(false);
        println!(
            "malformed or missing answers: {}{}",
            stats.bad,
            stats
                .first_bad
                .as_deref()
                .map(|f| format!(" (first: {f})"))
                .unwrap_or_default()
        );
        if dead {
            println!("the serve process died during the soak");
        }
        if let Ok(t) = Arc::try_unwrap(target) {
            t.close().await;
        }
        if stats.bad > 0 || over || dead {
            println!("SOAK FAILED");
            exit::DRIFTED
        } else {
            println!("SOAK PASSED");
            exit::PASSED
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A short in-process soak: no panic, every answer well-formed, and the
    /// live-token map holds only the chains (no timing is asserted).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn short_soak_every_answer_is_well_formed() {
        let target = Target::open(&LoadTarget {
            in_process: true,
            token_url: None,
            fixtures: None,
            profile: "documented".into(),
        })
        .await
        .unwrap();
        let target = Arc::new(target);
        let (stats, _) = soak_on(target.clone(), 8, Duration::from_secs(2)).await;
        assert_eq!(stats.bad, 0, "first: {:?}", stats.first_bad);
        assert!(stats.valid > 0 && stats.hostile > 0);
        let live = target.state.as_ref().unwrap().live_token_count();
        // 2 seeded + at most one live token per chain ever started; hostile
        // successes start new chains, whose old tokens stay live but are few.
        assert!(live < 2 + 8 + stats.hostile as usize, "live tokens: {live}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn load_phases_answer_as_expected() {
        let target = Arc::new(
            Target::open(&LoadTarget {
                in_process: true,
                token_url: None,
                fixtures: None,
                profile: "documented".into(),
            })
            .await
            .unwrap(),
        );
        let mut chains = open_chains(&target, 4).await.unwrap();
        for phase in ["refresh", "bad-grant", "unknown-token", "mixed"] {
            let phase = Phase::parse(phase).unwrap();
            let (c, stats, _) = run_phase(
                &target,
                chains,
                phase,
                Duration::from_secs(5),
                Some(200),
                None,
                true,
            )
            .await;
            chains = c;
            assert_eq!(stats.unexpected, [0; 3], "{:?}", stats.first_unexpected);
            let n: u64 = stats.hist.iter().map(Histogram::len).sum();
            assert!(n > 0);
        }
        // Rotation: only the chains' newest tokens (plus the 2 seeded) are live.
        assert_eq!(target.state.as_ref().unwrap().live_token_count(), 2 + 4);
    }

    #[test]
    fn only_loopback_targets() {
        let f = DoubleState::new(DoubleOptions::default()).fixtures();
        assert!(Target::at("http://10.0.0.1:80/oauth/token", f.clone()).is_err());
        assert!(Target::at("https://127.0.0.1:80/oauth/token", f.clone()).is_err());
        assert!(Target::at("http://127.0.0.1:80/oauth/token", f).is_ok());
    }
}
