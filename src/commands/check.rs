//! `payu-contract check-credentials`: the partner's credentials, asked for
//! on a terminal when missing, checked against the target by the probes of
//! [`payu_contract::onboarding`] (nothing consumed), and with `--refresh`
//! by the real refresh, whose new token is stored before anything else.
//! The diagnosis itself is the library's (pure, unit-tested).

use crate::cli::CheckArgs;
use payu_contract::assets::Assets;
use payu_contract::chain;
use payu_contract::chain::store::{
    ChainId, LockedStore, Start, StoreError, StoreKey, TokenState, TokenStore,
};
use payu_contract::client::{Exchange, TokenClient};
use payu_contract::config::{Config, Credentials, Settings, Target};
use payu_contract::contract::schema::Schemas;
use payu_contract::oauth::{self, Request};
use payu_contract::onboarding::{
    self as ob, Answer, ConsumeKind, Consumed, Diagnosis, Inputs, Observations, TokenSource,
};
use payu_contract::redact::Scrubber;
use payu_contract::report::exit;
use payu_contract::secret::Secret;
use payu_double::{self as double, ClientKind, DoubleOptions, Profile};
use std::io::{BufRead, IsTerminal, Write};

/// Where the human-readable lines go: stdout, or stderr when stdout is
/// reserved for the new token.
struct Out {
    to_stderr: bool,
}

impl Out {
    /// Through the run's redactor: a diagnosis may quote what the server said.
    fn line(&self, s: impl AsRef<str>) {
        let text = format!("{}\n", s.as_ref());
        if self.to_stderr {
            payu_contract::redact::eprint(&text);
        } else {
            payu_contract::redact::print(&text);
        }
    }
}

fn usage(message: impl std::fmt::Display) -> i32 {
    eprintln!("error: {message}");
    exit::CONFIG
}

pub fn check(args: CheckArgs, mut settings: Settings) -> i32 {
    crate::init_logs("warn");
    settings.allow_production = args.target.allow_production;
    let tty = std::io::stdin().is_terminal();
    if tty
        && !settings.is_local()
        && let Err(e) = ask_client(&mut settings)
    {
        return usage(e);
    }
    let config = match settings.resolve() {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    for note in &config.notes {
        eprintln!("note: {note}");
    }
    let Some(runtime) = crate::runtime() else {
        return exit::NO_VERDICT;
    };
    runtime.block_on(run(config, args, tty))
}

/// A visible prompt on stderr, answered on stdin.
fn ask_visible(prompt: &str) -> Result<String, String> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the answer from the terminal: {e}"))?;
    Ok(line.trim().to_owned())
}

/// A hidden prompt: nothing typed is echoed.
fn ask_hidden(prompt: &str) -> Result<Secret<String>, String> {
    rpassword::prompt_password(prompt)
        .map(|s| Secret::new(s.trim().to_owned()))
        .map_err(|e| format!("cannot read a hidden answer from the terminal: {e}"))
}

/// On a terminal: the client id and secret, when not set.
fn ask_client(settings: &mut Settings) -> Result<(), String> {
    if !settings.is_set("PAYU_CLIENT_ID") {
        let id = ask_visible("Client id (PAYU_CLIENT_ID): ")?;
        settings.set_typed("PAYU_CLIENT_ID", id);
    }
    // An empty value is unset, like everywhere: an unset secret is asked for.
    if !settings.is_set("PAYU_CLIENT_SECRET") {
        let s = ask_hidden(
            "Client secret (PAYU_CLIENT_SECRET, hidden; press Enter if you have none): ",
        )?;
        settings.set_typed("PAYU_CLIENT_SECRET", s.expose().clone());
    }
    Ok(())
}

/// Everything a check needs once the target is up.
struct Prepared {
    client: TokenClient,
    creds: Credentials,
    token: Option<Secret<String>>,
    source: Option<TokenSource>,
    store: Option<(LockedStore, ChainId)>,
    double: Option<double::RunningDouble>,
    target_line: String,
}

async fn run(config: Config, args: CheckArgs, tty: bool) -> i32 {
    let out = Out {
        to_stderr: args.print_new_token || args.json,
    };
    let scrubber = Scrubber::global();
    let prepared = match prepare(&config, &args, tty, &scrubber, &out).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    let schemas = match Assets::resolve(None, None)
        .map_err(|e| e.to_string())
        .and_then(|a| Schemas::load(&a.schemas()).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    let Prepared {
        client,
        creds,
        token,
        source,
        mut store,
        double,
        target_line,
    } = prepared;
    let auth = config.client_auth;
    let who = oauth::Client::of(&creds, auth);
    if !args.json {
        out.line(format!("Checking credentials against {target_line}"));
        out.line(format!(
            "  client id {}, client secret {}, {}",
            creds.client_id,
            if creds.client_secret.is_some() {
                "given"
            } else {
                "none"
            },
            match (&source, creds.username.is_some()) {
                (Some(TokenSource::Store { path, .. }), _) => {
                    format!("refresh token from the token store {path}")
                }
                (Some(TokenSource::Sandbox), _) => "the sandbox's refresh token".into(),
                (Some(TokenSource::Given), _) => "refresh token given".into(),
                (None, true) => "no refresh token (username and password given)".into(),
                (None, false) => "no refresh token".into(),
            }
        ));
        out.line(if args.refresh {
            "  mode: --refresh (the refresh token will be spent and the new one stored)"
        } else {
            "  mode: check only (nothing is consumed)"
        });
    }
    let mut steps: Vec<(String, Exchange)> = Vec::new();
    let mut obs = Observations {
        inputs: Inputs {
            client_id: creds.client_id.clone(),
            secret_given: creds.client_secret.is_some(),
            token: source.clone(),
            user_given: creds.username.is_some() && creds.password.is_some(),
        },
        token_probe: None,
        client_probe: None,
        client_probe_without_secret: None,
        user_probe: None,
        consumed: None,
        probe_rotation_stored_in: None,
    };
    let send = async |name: &str, req: Request, steps: &mut Vec<(String, Exchange)>| {
        let ex = client.send(&req).await;
        let answer = ob::classify(&ex.outcome);
        if !args.json {
            out.line(format!("  {name:<42} {}", answer.short()));
        }
        steps.push((name.to_owned(), ex));
        answer
    };

    let stopped = |obs: &Observations| ob::diagnose(obs).verdict != ob::Verdict::CredentialsWork;

    // 1. Is the refresh token alive?
    if let Some(t) = &token {
        let a = send(
            "token probe (wrong secret on purpose)",
            Request::liveness_probe(&who, t),
            &mut steps,
        )
        .await;
        if let Answer::Success { .. } = a {
            // A server that ignores the secret has just rotated the token.
            let resp = steps.last().and_then(|(_, e)| e.outcome.as_ref().ok());
            if let (Some(new), Some((st, chain))) =
                (resp.and_then(oauth::issued_refresh_token), store.as_mut())
                && st.record_rotation(chain, new).is_ok()
            {
                obs.probe_rotation_stored_in = Some(st.path().display().to_string());
            }
        }
        if matches!(&a, Answer::OAuthError { error, .. } if error == "invalid_client")
            && let Some((st, chain)) = store.as_mut()
            && st
                .get(chain)
                .is_some_and(|e| e.state == TokenState::PossiblyConsumed)
        {
            // An interrupted refresh left it in doubt: it is alive after all.
            let _ = st.mark_live(chain);
        }
        obs.token_probe = Some(a);
    }
    // 2./3. Does the client authenticate?
    if !stopped(&obs) {
        let a = send(
            "client probe (Get Token for a made-up user)",
            Request::client_probe(&who),
            &mut steps,
        )
        .await;
        let refused = matches!(&a, Answer::OAuthError { error, .. } if error == "invalid_client");
        obs.client_probe = Some(a);
        if refused && creds.client_secret.is_some() {
            let a = send(
                "client probe without the secret",
                Request::client_probe(&who.without_secret()),
                &mut steps,
            )
            .await;
            obs.client_probe_without_secret = Some(a);
        }
    }
    // 4. The Get Token user.
    if !stopped(&obs)
        && let (Some(user), Some(pass)) = (&creds.username, &creds.password)
    {
        let req = Request::user_probe(&who, user, pass);
        let a = send("user probe (made-up scope)", req, &mut steps).await;
        obs.user_probe = Some(a);
    }
    // 5. The real thing.
    let mut new_token: Option<Secret<String>> = None;
    let mut chain_held: Option<chain::TokenChain> = None;
    if args.refresh && !stopped(&obs) {
        let (kind, req) = match &token {
            Some(t) => (ConsumeKind::Refresh, Some(Request::refresh(&who, t))),
            None => (ConsumeKind::GetToken, Request::get_token_for(&creds, auth)),
        };
        if let Some(req) = req {
            // The chain owns the write-ahead rule: the token is marked
            // possibly consumed (and the space for the next one reserved)
            // before the request, the new token saved before anything else.
            let (store_path, sink): (Option<String>, Box<dyn chain::ChainSink>) = match store.take()
            {
                Some((st, id)) => (
                    Some(st.path().display().to_string()),
                    Box::new(chain::StoreSink {
                        store: st,
                        chain: id,
                        seed_fingerprint: None,
                    }),
                ),
                None => (None, Box::new(chain::NoSink)),
            };
            let token_chain = match &token {
                Some(t) => chain::TokenChain::new(t.clone(), sink),
                None => chain::TokenChain::empty(sink),
            };
            let name = match kind {
                ConsumeKind::Refresh => "refresh (spends the token)",
                ConsumeKind::GetToken => "Get Token call (issues a token)",
            };
            let sent = match token_chain.send(&client, &req).await {
                Ok(sent) => sent,
                Err(e) => {
                    eprintln!("error: {e}");
                    return exit::NO_VERDICT;
                }
            };
            let a = ob::classify(&sent.exchange.outcome);
            if !args.json {
                out.line(format!("  {name:<42} {}", a.short()));
            }
            steps.push((name.to_owned(), sent.exchange));
            let resp = steps.last().and_then(|(_, e)| e.outcome.as_ref().ok());
            let mut drifts = Vec::new();
            let mut stored_in = None;
            let store_error = match &sent.trouble {
                Some(e @ chain::ChainError::Lost(_)) => Some(e.to_string()),
                _ => None,
            };
            if let Answer::Success { .. } = a {
                new_token = resp.and_then(oauth::issued_refresh_token);
                if let Some(t) = &new_token {
                    client.scrubber().add(t.expose());
                    if store_error.is_none() {
                        stored_in = store_path;
                    }
                }
                drifts = match resp.and_then(|r| r.json()) {
                    Some(body) => schemas.check("token", body).unwrap_or_default(),
                    None => vec![payu_contract::contract::drift::Drift::new(
                        payu_contract::contract::drift::DriftClass::BodyNotJson,
                        payu_contract::contract::DriftPath::field("/"),
                        "a JSON object",
                        "a body that is not JSON",
                    )],
                };
            }
            chain_held = Some(token_chain);
            obs.consumed = Some(Consumed {
                kind,
                new_token: new_token.is_some(),
                answer: a,
                drifts,
                stored_in,
                store_error,
            });
        }
    }
    if let Some(d) = double {
        d.shutdown().await;
    }
    let diagnosis = ob::diagnose(&obs);
    if args.json {
        print_json(&config, &target_line, &args, &obs, &diagnosis, &steps);
    } else {
        print_human(&out, &diagnosis);
    }
    if args.print_new_token
        && let Some(t) = &new_token
    {
        // The one place a token is printed, on purpose, alone on stdout.
        println!("{}", t.expose());
    }
    drop(store);
    drop(chain_held);
    diagnosis.exit_code
}

async fn prepare(
    config: &Config,
    args: &CheckArgs,
    tty: bool,
    scrubber: &Scrubber,
    out: &Out,
) -> Result<Prepared, i32> {
    let mut creds = config.credentials.clone();
    match &config.target {
        Target::Local { .. } => {
            if !config.credentials.client_id.is_empty() {
                out.line("note: --target local checks the embedded sandbox with its own test client; your PAYU_CLIENT_ID and secrets are not used (pass --target uat or a URL to check them)");
            }
            let running = double::start(
                DoubleOptions {
                    profile: Profile::Documented,
                    ..DoubleOptions::default()
                },
                ([127, 0, 0, 1], 0).into(),
            )
            .await
            .map_err(|e| {
                eprintln!("error: cannot start the embedded double on 127.0.0.1: {e}");
                exit::NO_VERDICT
            })?;
            let fixtures = running.fixtures();
            let Some(c) = fixtures.client(ClientKind::Public).cloned() else {
                eprintln!("error: the embedded double has no public client");
                return Err(exit::NO_VERDICT);
            };
            for s in [&c.client_secret, &c.refresh_token, &fixtures.user.password] {
                scrubber.add(s);
            }
            let url = url::Url::parse(&running.token_url()).map_err(|e| {
                eprintln!("error: the double reported a bad URL: {e}");
                exit::NO_VERDICT
            })?;
            let client = TokenClient::new(url.clone(), config.client.clone(), scrubber.clone())
                .map_err(usage)?;
            creds = Credentials::sandbox(&fixtures, &c);
            Ok(Prepared {
                client,
                token: Some(Secret::new(c.refresh_token)),
                source: Some(TokenSource::Sandbox),
                creds,
                store: None,
                double: Some(running),
                target_line: format!("the local sandbox (embedded double) at {url}"),
            })
        }
        Target::Live { name, url } => {
            for s in [&creds.client_secret, &creds.refresh_token, &creds.password]
                .into_iter()
                .flatten()
            {
                scrubber.add(s.expose());
            }
            let client = TokenClient::new(url.clone(), config.client.clone(), scrubber.clone())
                .map_err(usage)?;
            let chain = ChainId::endpoint(url, creds.client_id.as_str());
            // The store is only opened when it exists or a token may be written.
            let path = config.token_store.clone();
            let mut store = if args.refresh || path.exists() {
                let key = config
                    .store_key
                    .as_ref()
                    .map(|k| StoreKey::parse(k.expose()))
                    .transpose()
                    .map_err(usage)?;
                let lock_timeout = config.lock_timeout;
                let opened =
                    tokio::task::spawn_blocking(move || TokenStore::open(&path, key, lock_timeout))
                        .await
                        .map_err(|e| usage(format!("the token store could not be opened: {e}")))?;
                match opened {
                    Ok(s) => Some(s),
                    Err(e @ StoreError::LockTimeout { .. }) => {
                        eprintln!("error: {e}");
                        return Err(exit::NO_VERDICT);
                    }
                    Err(e) => return Err(usage(e)),
                }
            } else {
                None
            };
            let mut seed = creds.refresh_token.clone();
            let entry = store.as_ref().and_then(|s| s.get(&chain).cloned());
            if seed.is_none() && entry.is_none() && creds.username.is_none() && tty {
                let t = ask_hidden(
                    "Refresh token (PAYU_REFRESH_TOKEN, hidden; press Enter to use the Get Token username and password instead): ",
                )
                .map_err(usage)?;
                if t.is_empty() {
                    let user =
                        ask_visible("Get Token username (PAYU_USERNAME): ").map_err(usage)?;
                    let pass = ask_hidden("Get Token password (PAYU_PASSWORD, hidden): ")
                        .map_err(usage)?;
                    if !user.is_empty() && !pass.is_empty() {
                        scrubber.add(pass.expose());
                        creds.username = Some(user);
                        creds.password = Some(pass);
                    }
                } else {
                    scrubber.add(t.expose());
                    seed = Some(t);
                }
            }
            let start = match store.as_mut() {
                Some(st) if args.refresh => {
                    // The seed rule of every command that spends a token:
                    // an unseen seed is probed before it replaces a chain.
                    let who = oauth::Client::of(&creds, config.client_auth);
                    let mut notes = Vec::new();
                    let resolved = chain::start::resolve_seed(
                        st,
                        &chain,
                        seed.as_ref().filter(|s| !s.is_empty()),
                        &client,
                        &who,
                        &mut notes,
                    )
                    .await
                    .map_err(usage)?;
                    for n in notes {
                        out.line(format!("note: {n}"));
                    }
                    resolved.start
                }
                Some(st) => chain::store::choose_start(st.get(&chain), seed.as_ref()),
                None => seed.clone().map(Start::NewChainFromSeed),
            };
            let (token, source) = match start {
                Some(Start::FromStore(t) | Start::PossiblyConsumed(t)) => {
                    let rotations = store
                        .as_ref()
                        .and_then(|s| s.get(&chain))
                        .map_or(0, |e| e.rotations);
                    (
                        Some(t),
                        Some(TokenSource::Store {
                            path: config.token_store.display().to_string(),
                            rotations,
                        }),
                    )
                }
                Some(Start::NewChainFromSeed(t)) => (Some(t), Some(TokenSource::Given)),
                None => (None, None),
            };
            if let Some(t) = &token {
                scrubber.add(t.expose());
            }
            if token.is_none() && (creds.username.is_none() || creds.password.is_none()) {
                return Err(usage(format!(
                    "no refresh token: set PAYU_REFRESH_TOKEN (in the environment or .env), or PAYU_USERNAME and PAYU_PASSWORD for the Get Token call{}",
                    if tty {
                        ""
                    } else {
                        "; run on a terminal to be asked for them"
                    }
                )));
            }
            Ok(Prepared {
                client,
                creds,
                token,
                source,
                store: store.map(|s| (s, chain)),
                double: None,
                target_line: format!("{name} at {url}"),
            })
        }
    }
}

fn print_human(out: &Out, d: &Diagnosis) {
    out.line("");
    let head = match d.exit_code {
        exit::PASSED => "OK",
        exit::NO_VERDICT => "NO VERDICT",
        _ => "PROBLEM",
    };
    out.line(format!("{head}  [{}]  {}", d.verdict.as_str(), d.message));
    if let Some(f) = &d.field {
        out.line(format!("  field at fault: {f}"));
    }
    out.line(format!("  next step: {}", d.next_step));
    if !d.verified.is_empty() {
        out.line("Verified:");
        for v in &d.verified {
            out.line(format!("  - {v}"));
        }
    }
    if !d.not_verified.is_empty() {
        out.line("Not verified without consuming the refresh token:");
        for v in &d.not_verified {
            out.line(format!("  - {v}"));
        }
    }
    out.line(format!("(exit {})", d.exit_code));
}

fn print_json(
    config: &Config,
    target_line: &str,
    args: &CheckArgs,
    obs: &Observations,
    d: &Diagnosis,
    steps: &[(String, Exchange)],
) {
    let steps: Vec<serde_json::Value> = steps
        .iter()
        .map(|(name, ex)| {
            serde_json::json!({
                "step": name,
                "request": ex.request,
                "answer": ob::classify(&ex.outcome),
                "elapsed_ms": ex.elapsed.as_millis() as u64,
            })
        })
        .collect();
    // The status drifts of the error answers, then the success body's.
    let mut drifts = ob::answer_drifts(obs);
    drifts.extend(obs.consumed.iter().flat_map(|c| c.drifts.iter().cloned()));
    let doc = serde_json::json!({
        "format": "payu-contract-check",
        "version": 1,
        "tool_version": env!("CARGO_PKG_VERSION"),
        "target": {
            "name": config.target.name(),
            "description": target_line,
            "live": config.target.is_live(),
        },
        "client_auth": config.client_auth.as_str(),
        "mode": if args.refresh { "refresh" } else { "check" },
        "verdict": d.verdict,
        "exit_code": d.exit_code,
        "field": d.field,
        "message": d.message,
        "next_step": d.next_step,
        "verified": d.verified,
        "not_verified": d.not_verified,
        "new_token_stored_in": obs.consumed.as_ref().and_then(|c| c.stored_in.clone()),
        "drifts": ob::describe_drifts(&drifts),
        "inputs": obs.inputs,
        "steps": steps,
    });
    payu_contract::redact::print(&format!(
        "{}\n",
        serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into())
    ));
}
