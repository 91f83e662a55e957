//! `payu-contract check-credentials` end to end, against `payu-contract
//! serve` standing in for `PayU` UAT: every diagnosis (verdict, field at
//! fault, next step, exit code), that the default mode spends nothing, that
//! `--refresh` leaves exactly one valid token (the stored one), and that
//! secrets typed at a terminal are neither echoed nor printed.

mod common;
use common::{Served, bin, text};
use serde_json::Value;
use std::path::Path;
use std::process::Output;

/// The public client's environment against `served`, with a store in `dir`.
fn env_of(served: &Served, dir: &Path) -> Vec<(String, String)> {
    served.env(&dir.join("store.json"))
}

fn check(env: &[(String, String)], args: &[&str]) -> Output {
    bin()
        .arg("check-credentials")
        .args(args)
        .envs(env.iter().cloned())
        .output()
        .unwrap()
}

fn set(env: &mut Vec<(String, String)>, key: &str, value: &str) {
    env.retain(|(k, _)| k != key);
    env.push((key.into(), value.into()));
}

fn unset(env: &mut Vec<(String, String)>, key: &str) {
    env.retain(|(k, _)| k != key);
}

/// Runs with --json and returns the document, after checking the exit code.
fn json(env: &[(String, String)], args: &[&str], code: i32) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = check(env, &all);
    assert_eq!(out.status.code(), Some(code), "{}", text(&out));
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(v["exit_code"], code);
    v
}

/// The human output: verdict, field and next step lines, and the exit code.
fn human(env: &[(String, String)], args: &[&str], code: i32) -> String {
    let out = check(env, args);
    assert_eq!(out.status.code(), Some(code), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_diagnosis(v: &Value, verdict: &str, field: &str, next_step_has: &str) {
    assert_eq!(v["verdict"], verdict, "{v:#}");
    assert_eq!(v["field"], field, "{v:#}");
    let next = v["next_step"].as_str().unwrap();
    assert!(
        next.contains(next_step_has),
        "next step {next:?} lacks {next_step_has:?}"
    );
}

#[test]
fn working_credentials_pass_and_say_what_was_not_verified() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let out = human(&env_of(&served, dir.path()), &[], 0);
    assert!(out.contains("OK  [credentials_work]"), "{out}");
    assert!(
        out.contains("Verified:") && out.contains("is alive"),
        "{out}"
    );
    assert!(out.contains("Not verified without consuming"), "{out}");
    assert!(out.contains("--refresh"), "{out}");
    // The default mode writes no token store.
    assert!(!dir.path().join("store.json").exists());
}

#[test]
fn unknown_client_id() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut env = env_of(&served, dir.path());
    // Copied with a stray space, as on the documentation page.
    let id = served.client("public")["client_id"].as_str().unwrap();
    set(
        &mut env,
        "PAYU_CLIENT_ID",
        &format!("{} {}", &id[..7], &id[7..]),
    );
    let v = json(&env, &[], 1);
    assert_diagnosis(&v, "unknown_client_id", "PAYU_CLIENT_ID", "PAYU_CLIENT_ID");
    assert!(v["message"].as_str().unwrap().contains("space"));
    // A well-formed id the server does not know, with a secret: the server
    // answers this exactly like a confidential client's wrong secret.
    set(&mut env, "PAYU_CLIENT_ID", &"ab".repeat(32));
    let v = json(&env, &[], 1);
    assert_diagnosis(
        &v,
        "unknown_client_id_or_wrong_secret",
        "PAYU_CLIENT_ID",
        "check PAYU_CLIENT_ID",
    );
    let out = human(&env, &[], 1);
    assert!(out.contains("field at fault: PAYU_CLIENT_ID"), "{out}");
}

#[test]
fn wrong_secret() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut env = env_of(&served, dir.path());
    set(&mut env, "PAYU_CLIENT_SECRET", &"0".repeat(64));
    let v = json(&env, &[], 1);
    assert_diagnosis(
        &v,
        "wrong_client_secret",
        "PAYU_CLIENT_SECRET",
        "PAYU_CLIENT_SECRET",
    );
    assert!(v["message"].as_str().unwrap().contains("client id"));
}

#[test]
fn confidential_client_without_its_secret() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let c = served.client("confidential");
    let env = vec![
        ("PAYU_TOKEN_URL".to_owned(), served.token_url.clone()),
        (
            "PAYU_CLIENT_ID".to_owned(),
            c["client_id"].as_str().unwrap().to_owned(),
        ),
        ("PAYU_CLIENT_SECRET".to_owned(), String::new()),
        (
            "PAYU_REFRESH_TOKEN".to_owned(),
            c["refresh_token"].as_str().unwrap().to_owned(),
        ),
        (
            "PAYU_TOKEN_STORE".to_owned(),
            dir.path().join("s.json").display().to_string(),
        ),
    ];
    let v = json(&env, &[], 1);
    assert_diagnosis(
        &v,
        "unknown_client_id_or_secret_missing",
        "PAYU_CLIENT_SECRET",
        "set PAYU_CLIENT_SECRET",
    );
    // With its secret the same client works: the diagnosis was the secret.
    let mut env = env;
    set(
        &mut env,
        "PAYU_CLIENT_SECRET",
        c["client_secret"].as_str().unwrap(),
    );
    json(&env, &[], 0);
}

#[test]
fn dead_or_used_refresh_token() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut env = env_of(&served, dir.path());
    // Never issued.
    set(&mut env, "PAYU_REFRESH_TOKEN", &"cd".repeat(32));
    let v = json(&env, &[], 1);
    assert_diagnosis(&v, "refresh_token_dead", "PAYU_REFRESH_TOKEN", "Get Token");
    assert!(v["message"].as_str().unwrap().contains("already used"));
    // Used: spent by a refresh, then presented again (with another store,
    // as a partner who kept the old value in .env would).
    let env = env_of(&served, dir.path());
    json(&env, &["--refresh"], 0);
    let mut again = env.clone();
    set(
        &mut again,
        "PAYU_TOKEN_STORE",
        &dir.path().join("other.json").display().to_string(),
    );
    let v = json(&again, &[], 1);
    assert_diagnosis(&v, "refresh_token_dead", "PAYU_REFRESH_TOKEN", "Get Token");
}

#[test]
fn unreachable_endpoint() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        (
            "PAYU_TOKEN_URL".to_owned(),
            format!("http://127.0.0.1:{port}/oauth/token"),
        ),
        ("PAYU_CLIENT_ID".to_owned(), "ab".repeat(32)),
        ("PAYU_REFRESH_TOKEN".to_owned(), "cd".repeat(32)),
        (
            "PAYU_TOKEN_STORE".to_owned(),
            dir.path().join("s.json").display().to_string(),
        ),
    ];
    let v = json(&env, &["--timeout", "5"], 3);
    assert_diagnosis(
        &v,
        "endpoint_unreachable",
        "PAYU_TOKEN_URL",
        "PAYU_TOKEN_URL",
    );
    assert!(v["message"].as_str().unwrap().contains("not checked"));
    let out = human(&env, &["--timeout", "5"], 3);
    assert!(out.contains("NO VERDICT"), "{out}");
}

#[test]
fn proxy_error_page() {
    let served = Served::start(&["--profile", "html-502"]);
    let dir = tempfile::tempdir().unwrap();
    let v = json(&env_of(&served, dir.path()), &[], 3);
    assert_diagnosis(&v, "proxy_error_page", "PAYU_TOKEN_URL", "proxy");
    let m = v["message"].as_str().unwrap();
    assert!(m.contains("502") && m.contains("HTML"), "{m}");
}

#[test]
fn shape_drift_is_named_and_the_new_token_is_still_stored() {
    let served = Served::start(&["--profile", "expire-in-renamed"]);
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(&served, dir.path());
    // The default mode cannot see it: no success body without spending.
    json(&env, &[], 0);
    let v = json(&env, &["--refresh"], 1);
    assert_eq!(v["verdict"], "response_drift", "{v:#}");
    let m = v["message"].as_str().unwrap();
    assert!(
        m.contains("`expires_in`") && m.contains("`expire_in`"),
        "{m}"
    );
    assert!(m.contains("store.json"), "{m}");
    assert!(v["next_step"].as_str().unwrap().contains("PayU"));
    // The token the drifted server issued is the store's, and it works.
    json(&env, &[], 0);
}

/// Working credentials against a server that answers its errors 400 (real
/// Doorkeeper 5.5): the verdict stays "credentials work", and the JSON
/// names each status drift it saw instead of `drifts: []`.
#[test]
fn status_drifts_of_the_probes_are_reported() {
    let served = Served::start(&["--profile", "doorkeeper-5.5"]);
    let dir = tempfile::tempdir().unwrap();
    let v = json(&env_of(&served, dir.path()), &[], 0);
    assert_eq!(v["verdict"], "credentials_work", "{v:#}");
    let drifts: Vec<&str> = v["drifts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(
        drifts
            .iter()
            .any(|d| d.contains("the client probe: invalid_grant")
                && d.contains("status: expected 401, got 400")),
        "{drifts:?}"
    );
    // invalid_client stays 401 on 5.5: not a drift.
    assert!(
        !drifts.iter().any(|d| d.contains("invalid_client")),
        "{drifts:?}"
    );
    // The documented server: no drift.
    let documented = Served::start(&[]);
    let v = json(&env_of(&documented, dir.path()), &[], 0);
    assert_eq!(v["drifts"], serde_json::json!([]), "{v:#}");
}

/// A server that answers every request with `unsupported_grant_type`, as
/// an OAuth server without the refresh grant does.
fn no_refresh_grant_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/oauth/token", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 8192];
            let _ = s.read(&mut buf);
            let body = r#"{"error":"unsupported_grant_type","error_description":"The authorization grant type is not supported by the authorization server."}"#;
            let _ = write!(
                s,
                "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn wrong_grant_type() {
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("PAYU_TOKEN_URL".to_owned(), no_refresh_grant_server()),
        ("PAYU_CLIENT_ID".to_owned(), "ab".repeat(32)),
        ("PAYU_REFRESH_TOKEN".to_owned(), "cd".repeat(32)),
        (
            "PAYU_TOKEN_STORE".to_owned(),
            dir.path().join("s.json").display().to_string(),
        ),
    ];
    let v = json(&env, &[], 1);
    assert_diagnosis(
        &v,
        "grant_type_not_supported",
        "grant_type",
        "PAYU_TOKEN_URL",
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("grant_type=refresh_token")
    );
}

#[test]
fn the_default_mode_leaves_the_refresh_token_usable() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(&served, dir.path());
    for _ in 0..3 {
        json(&env, &[], 0);
    }
    // The same token still refreshes: the whole suite runs on it.
    let out = bin()
        .args(["run", "-q"])
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

fn store_token(path: &Path) -> String {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["chains"][0]["refresh_token"].as_str().unwrap().to_owned()
}

#[test]
fn refresh_leaves_exactly_one_valid_token_the_one_in_the_store() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(&served, dir.path());
    let old = served.client("public")["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = check(&env, &["--refresh", "--print-new-token"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // stdout is the new token alone; the report went to stderr.
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let new = stdout.trim_end_matches('\n');
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    assert!(
        new.len() == 64 && new.chars().all(|c| c.is_ascii_hexdigit()),
        "{stdout:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("now DEAD") && stderr.contains("store.json"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(new) && !stderr.contains(&old),
        "no token in the report"
    );
    // The store holds it, with mode 0600.
    let store = dir.path().join("store.json");
    assert_eq!(store_token(&store), new);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&store).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Checked each on its own (fresh stores): the old one is refused, the new one works.
    let fresh = |token: &str, name: &str| {
        let mut e = env.clone();
        set(&mut e, "PAYU_REFRESH_TOKEN", token);
        set(
            &mut e,
            "PAYU_TOKEN_STORE",
            &dir.path().join(name).display().to_string(),
        );
        e
    };
    let v = json(&fresh(&old, "a.json"), &[], 1);
    assert_eq!(v["verdict"], "refresh_token_dead");
    json(&fresh(new, "b.json"), &[], 0);
    // And the original environment (PAYU_REFRESH_TOKEN still the old value)
    // continues from the store.
    let v = json(&env, &[], 0);
    assert_eq!(v["inputs"]["token"]["kind"], "store", "{v:#}");
}

#[test]
fn get_token_only_partner_gets_a_stored_token_with_refresh() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut env = env_of(&served, dir.path());
    unset(&mut env, "PAYU_REFRESH_TOKEN");
    let user = served.fixtures["user"].clone();
    set(
        &mut env,
        "PAYU_USERNAME",
        user["username"].as_str().unwrap(),
    );
    set(&mut env, "PAYU_PASSWORD", "wrong-password");
    let v = json(&env, &[], 1);
    assert_diagnosis(
        &v,
        "wrong_username_or_password",
        "PAYU_PASSWORD",
        "PAYU_PASSWORD",
    );
    set(
        &mut env,
        "PAYU_PASSWORD",
        user["password"].as_str().unwrap(),
    );
    let v = json(&env, &[], 0);
    assert!(v["verified"].to_string().contains("PAYU_USERNAME"), "{v:#}");
    assert!(!dir.path().join("store.json").exists());
    let v = json(&env, &["--refresh"], 0);
    assert!(
        v["new_token_stored_in"]
            .as_str()
            .unwrap()
            .ends_with("store.json")
    );
    // The stored token now carries the chain.
    let v = json(&env, &[], 0);
    assert_eq!(v["inputs"]["token"]["kind"], "store", "{v:#}");
}

#[test]
fn a_refresh_without_an_answer_is_never_retried() {
    // The `slow` double rotates, then answers after 3 s; the client gives up after 1 s.
    let served = Served::start(&["--profile", "slow"]);
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(&served, dir.path());
    let v = json(&env, &["--refresh", "--timeout", "1"], 3);
    assert_diagnosis(
        &v,
        "refresh_outcome_unknown",
        "PAYU_REFRESH_TOKEN",
        "without --refresh",
    );
    let refreshes = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["step"].as_str().unwrap().starts_with("refresh"))
        .count();
    assert_eq!(refreshes, 1);
    let raw = std::fs::read_to_string(dir.path().join("store.json")).unwrap();
    assert!(raw.contains("possibly_consumed"), "{raw}");
    // The recovery the message names: the non-consuming check finds it dead.
    let v = json(&env, &[], 1);
    assert_eq!(v["verdict"], "refresh_token_dead", "{v:#}");
}

#[test]
fn missing_input_without_a_terminal_is_a_one_line_usage_error() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut env = env_of(&served, dir.path());
    unset(&mut env, "PAYU_REFRESH_TOKEN");
    let out = check(&env, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("PAYU_REFRESH_TOKEN"), "{stderr}");
    unset(&mut env, "PAYU_CLIENT_ID");
    let out = check(&env, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PAYU_CLIENT_ID"));
    // --print-new-token needs --refresh.
    let out = check(&env_of(&served, dir.path()), &["--print-new-token"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn the_local_sandbox_works_offline() {
    let out = human(&[], &[], 0);
    assert!(
        out.contains("local sandbox") && out.contains("[credentials_work]"),
        "{out}"
    );
    let out = human(&[], &["--refresh"], 0);
    assert!(out.contains("now DEAD"), "{out}");
}

#[test]
fn typed_secrets_are_not_echoed_and_never_printed() {
    use expectrl::process::Termios;
    use expectrl::{Eof, Expect, Session};
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let c = served.client("public");
    let secret = c["client_secret"].as_str().unwrap().to_owned();
    let token = c["refresh_token"].as_str().unwrap().to_owned();
    let mut cmd = common::bin_on_terminal();
    cmd.args(["check-credentials", "--refresh"])
        .env("PAYU_TOKEN_URL", &served.token_url)
        .env("PAYU_TOKEN_STORE", dir.path().join("store.json"))
        .env("NO_COLOR", "1")
        .current_dir(dir.path());
    let mut s = Session::spawn(cmd).expect("spawn in a pseudo-terminal");
    // A real terminal echoes what is typed; the pty starts with echo off.
    s.set_echo(true).unwrap();
    assert!(s.is_echo().unwrap());
    s.set_expect_timeout(Some(std::time::Duration::from_secs(30)));
    // Typed only once the prompt is up and the program reads (as a person would).
    let pause = || std::thread::sleep(std::time::Duration::from_millis(300));
    let mut seen = Vec::new();
    let m = s.expect("Client id").unwrap();
    seen.extend_from_slice(m.before());
    seen.extend_from_slice(m.as_bytes());
    pause();
    s.send_line(c["client_id"].as_str().unwrap()).unwrap();
    let m = s.expect("Client secret").unwrap();
    seen.extend_from_slice(m.before());
    seen.extend_from_slice(m.as_bytes());
    pause();
    s.send_line(&secret).unwrap();
    let m = s.expect("Refresh token").unwrap();
    seen.extend_from_slice(m.before());
    seen.extend_from_slice(m.as_bytes());
    pause();
    s.send_line(&token).unwrap();
    let m = s.expect(Eof).unwrap();
    seen.extend_from_slice(m.before());
    seen.extend_from_slice(m.as_bytes());
    let all = String::from_utf8_lossy(&seen);
    assert!(
        all.contains("[credentials_work]") && all.contains("now DEAD"),
        "{all}"
    );
    assert!(
        !all.contains(&secret),
        "the client secret appeared on the terminal:\n{all}"
    );
    assert!(
        !all.contains(&token),
        "the refresh token appeared on the terminal:\n{all}"
    );
    // The secret was really used: the refresh went through and was stored.
    assert_ne!(store_token(&dir.path().join("store.json")), token);
}

#[test]
fn no_secret_in_any_output_even_with_trace_logs() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(&served, dir.path());
    let c = served.client("public");
    let user = served.fixtures["user"].clone();
    let mut secrets = vec![
        c["client_secret"].as_str().unwrap().to_owned(),
        c["refresh_token"].as_str().unwrap().to_owned(),
        user["password"].as_str().unwrap().to_owned(),
    ];
    let mut env = env;
    set(
        &mut env,
        "PAYU_USERNAME",
        user["username"].as_str().unwrap(),
    );
    set(
        &mut env,
        "PAYU_PASSWORD",
        user["password"].as_str().unwrap(),
    );
    set(&mut env, "RUST_LOG", "trace");
    let mut all = String::new();
    for args in [&[][..], &["--json"], &["--refresh"], &["--json"]] {
        let out = check(&env, args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        all.push_str(&text(&out));
        // Each refresh's new token is a secret too.
        if dir.path().join("store.json").exists() {
            secrets.push(store_token(&dir.path().join("store.json")));
        }
    }
    // A failing path: a wrong secret.
    set(
        &mut env,
        "PAYU_CLIENT_SECRET",
        "wrong-secret-value-1234567890",
    );
    secrets.push("wrong-secret-value-1234567890".into());
    let out = check(&env, &["--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    all.push_str(&text(&out));
    assert!(all.contains("TRACE"), "trace logging was on");
    for s in &secrets {
        assert!(!all.contains(s.as_str()), "a secret leaked into the output");
    }
}
