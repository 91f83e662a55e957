//! `payu-contract serve`: the double alone, as an offline sandbox. Once it
//! listens it prints one JSON line on stdout (the token URL and its
//! fixtures: the double's own test credentials, not secrets), then logs one
//! line per request on stderr until Ctrl-C.

use crate::cli::ServeArgs;
use payu_contract::report::exit;
use payu_double::{self as double, DoubleOptions, Fixtures, Profile};
use std::net::SocketAddr;

pub fn serve(args: ServeArgs) -> i32 {
    // One line per request (the double logs them at debug level).
    crate::init_logs("info,payu_double=debug");
    let usage = |m: String| {
        eprintln!("error: {m}");
        exit::CONFIG
    };
    let Some(profile) = Profile::parse(&args.profile) else {
        return usage(format!(
            "unknown profile \"{}\" (--profile): `payu-contract profiles` lists them",
            args.profile
        ));
    };
    let addr: SocketAddr = match args.addr.parse() {
        Ok(a) => a,
        Err(_) => {
            return usage(format!(
                "--addr \"{}\" is not HOST:PORT: use e.g. 127.0.0.1:8080 (port 0 picks a free one)",
                args.addr
            ));
        }
    };
    let fixtures = match &args.fixtures {
        None => None,
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<Fixtures>(&t).map_err(|e| e.to_string()))
        {
            Ok(f) => Some(f),
            Err(e) => {
                return usage(format!(
                    "--fixtures {} is not a readable fixtures file ({e}): use the \"fixtures\" object printed by `serve`",
                    path.display()
                ));
            }
        },
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => match (std::fs::read(c), std::fs::read(k)) {
            (Ok(c), Ok(k)) => Some((c, k)),
            (Err(e), _) | (_, Err(e)) => {
                return usage(format!(
                    "--tls-cert/--tls-key cannot be read ({e}): name PEM files"
                ));
            }
        },
        _ => None,
    };
    let opts = DoubleOptions {
        profile,
        fixtures,
        ..DoubleOptions::default()
    };
    let Some(runtime) = crate::runtime() else {
        return exit::NO_VERDICT;
    };
    runtime.block_on(async move {
        let started = match tls {
            Some((cert, key)) => double::start_tls(opts, addr, &cert, &key).await,
            None => double::start(opts, addr).await,
        };
        let running = match started {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: cannot listen on {addr}: {e}; pick another --addr (port 0 picks a free one)");
                return exit::NO_VERDICT;
            }
        };
        let line = serde_json::json!({
            "token_url": running.token_url(),
            "profile": args.profile,
            "fixtures": running.fixtures(),
        });
        println!("{line}");
        tracing::info!("serving the {} double at {}", args.profile, running.token_url());
        let _ = tokio::signal::ctrl_c().await;
        running.shutdown().await;
        exit::PASSED
    })
}
