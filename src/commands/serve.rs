//! `payu-contract serve`: the double alone, as an offline sandbox. Once it
//! listens it prints one JSON line on stdout (the token URL and its
//! fixtures: the double's own test credentials, not secrets), then logs one
//! line per request on stderr until Ctrl-C or SIGTERM (exit 0).

use crate::cli::ServeArgs;
use payu_contract::report::exit;
use payu_double::{self as double, DoubleOptions, Fixtures, Profile, Revocation};
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
    let revocation: Revocation = match args.revocation.parse() {
        Ok(r) => r,
        Err(e) => return usage(format!("{e} (--revocation)")),
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
        (Some(cert), Some(key)) => {
            let read = |flag: &str, path: &std::path::Path, marker: &str, what: &str| {
                let bytes = std::fs::read(path).map_err(|e| {
                    format!(
                        "{flag} {} cannot be read ({e}): name a PEM file with {what}",
                        path.display()
                    )
                })?;
                let text = String::from_utf8_lossy(&bytes);
                if !(text.contains("-----BEGIN ") && text.contains(marker)) {
                    return Err(format!(
                        "{flag} {} holds no PEM {what}: name a PEM file with {what} (-----BEGIN ...{marker})",
                        path.display()
                    ));
                }
                Ok(bytes)
            };
            match (
                read("--tls-cert", cert, "CERTIFICATE-----", "a certificate"),
                read("--tls-key", key, "PRIVATE KEY-----", "a private key"),
            ) {
                (Ok(c), Ok(k)) => Some((c, k)),
                (Err(e), _) | (_, Err(e)) => return usage(e),
            }
        }
        _ => None,
    };
    let tls_files = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some(format!(
            "--tls-cert {} / --tls-key {}",
            c.display(),
            k.display()
        )),
        _ => None,
    };
    let opts = DoubleOptions {
        profile,
        fixtures,
        revocation,
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
                use std::io::ErrorKind as K;
                let listening = matches!(
                    e.kind(),
                    K::AddrInUse | K::AddrNotAvailable | K::PermissionDenied
                );
                return match (&tls_files, listening) {
                    // The files parsed as PEM but rustls refused them (a key
                    // that does not match, an unsupported key type...).
                    (Some(files), false) => usage(format!(
                        "{files} are not a usable certificate and private key ({e}): name the PEM certificate and the private key made for it"
                    )),
                    _ => usage(format!(
                        "cannot listen on {addr}: {e}; pick another --addr (port 0 picks a free one)"
                    )),
                };
            }
        };
        let line = serde_json::json!({
            "token_url": running.token_url(),
            "resource_url": running.resource_url(),
            "profile": args.profile,
            "revocation": revocation.name(),
            "fixtures": running.fixtures(),
        });
        let stopped = stop_signal();
        println!("{line}");
        tracing::info!("serving the {} double at {}", args.profile, running.token_url());
        stopped.await;
        running.shutdown().await;
        exit::PASSED
    })
}

/// Ctrl-C or SIGTERM (what `docker stop`, systemd and CI runners send):
/// either one stops the double cleanly with exit 0. The handlers are
/// registered when this is called, not when it is first awaited, so call it
/// before telling anyone the double is up: a signal sent right after the
/// ready line must not find the default action (death by signal) in place.
fn stop_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
