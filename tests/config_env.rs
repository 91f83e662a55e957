//! One configuration path, as a user meets it: a copied `.env.example`,
//! a mistyped value in `.env`, `--env-file`, the environment, flags; the
//! harness's own preconditions found before any request; the binary's
//! edges (help, broken pipe, SIGTERM, the production guard).

mod common;
use common::{Served, bin, text};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

const EXAMPLE: &str = include_str!("../.env.example");

/// `.env.example` with these keys filled in. Each key must be a line of the
/// example (commented or not), so a renamed setting breaks this test loudly.
fn filled(pairs: &[(&str, &str)]) -> String {
    let mut lines: Vec<String> = EXAMPLE.lines().map(str::to_owned).collect();
    for (key, value) in pairs {
        let at = lines
            .iter()
            .position(|l| {
                let l = l.trim_start_matches("# ");
                l.starts_with(&format!("{key}="))
            })
            .unwrap_or_else(|| panic!("{key} is not a line of .env.example"));
        lines[at] = format!("{key}={value}");
    }
    lines.join("\n") + "\n"
}

/// `.env.example` as a partner fills it in for this served double.
fn partner_env(served: &Served) -> String {
    let c = served.client("public");
    filled(&[
        ("PAYU_TARGET", &served.token_url),
        ("PAYU_CLIENT_ID", c["client_id"].as_str().unwrap()),
        ("PAYU_CLIENT_SECRET", c["client_secret"].as_str().unwrap()),
        ("PAYU_REFRESH_TOKEN", c["refresh_token"].as_str().unwrap()),
    ])
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit 2 with exactly one line on stderr that contains every `needle`
/// and none of the `secrets`.
fn assert_one_line_error(out: &Output, needles: &[&str], secrets: &[&str]) {
    assert_eq!(out.status.code(), Some(2), "{}", text(out));
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} missing from: {err}");
    }
    for s in secrets {
        assert!(!err.contains(s), "secret {s:?} printed: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_copied_env_example_filled_in_runs_the_live_target_it_names() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), partner_env(&served)).unwrap();
    let report = dir.path().join("run.json");
    let out = bin()
        .current_dir(dir.path())
        .args(["run", "-q", "--report-json"])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    // The run went to the served double, as a live target.
    assert_eq!(r["target"]["token_url"], served.token_url.as_str(), "{r:#}");
    assert_eq!(r["target"]["live"], true);
    // 7 @documented scenarios (rotation is skipped on a live target) and
    // 2 @undocumented ones (the confidential-client one is skipped: a live
    // target has no second client).
    assert_eq!(r["summary"]["passed"], 9);
    // ...and spent the seed there: the store (the example's relative path,
    // in the folder the run started from) carries the chain on.
    let seed = served.client("public")["refresh_token"].as_str().unwrap();
    let store =
        std::fs::read_to_string(dir.path().join(".payu-contract/token-store.json")).unwrap();
    assert!(!store.contains(seed), "the seed should be spent: {store}");
    // The same file through --env-file, from another folder.
    let elsewhere = tempfile::tempdir().unwrap();
    let file = elsewhere.path().join("partner.env");
    std::fs::write(
        &file,
        partner_env(&served).replace(
            "PAYU_TOKEN_STORE=.payu-contract/token-store.json",
            &format!(
                "PAYU_TOKEN_STORE={}",
                dir.path().join(".payu-contract/token-store.json").display()
            ),
        ),
    )
    .unwrap();
    let out = bin()
        .arg("--env-file")
        .arg(&file)
        .args(["run", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&served.token_url));
}

/// One value of each class made wrong in a filled-in `.env`: exit 2 before
/// any request, one line naming the variable and the file, never a secret.
#[test]
fn each_invalid_env_file_value_is_exit_2_naming_the_variable_and_the_file() {
    let served = Served::start(&[]);
    let secret = served.client("public")["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = served.client("public")["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "PAYU_TIMEOUT",
            "30s",
            &["PAYU_TIMEOUT=30s in .env", "1-600", "PAYU_TIMEOUT=30"],
        ),
        (
            "PAYU_CONNECT_TIMEOUT",
            "0",
            &["PAYU_CONNECT_TIMEOUT=0 in .env", "1-600"],
        ),
        (
            "PAYU_LOCK_TIMEOUT",
            "soon",
            &["PAYU_LOCK_TIMEOUT=soon in .env", "0-3600"],
        ),
        (
            "PAYU_TARGET",
            "staging",
            &["PAYU_TARGET=staging in .env", "local, uat"],
        ),
        (
            "PAYU_TARGET",
            "https//uat",
            &["PAYU_TARGET=https//uat in .env"],
        ),
        (
            "PAYU_TARGET",
            "http://example.com/oauth/token",
            &[
                "PAYU_TARGET=http://example.com/oauth/token in .env",
                "plain HTTP",
            ],
        ),
        (
            "PAYU_TARGET",
            "https://accounts.payu.in./oauth/token",
            &[
                "PAYU_TARGET=https://accounts.payu.in./oauth/token in .env",
                "--allow-production",
            ],
        ),
        (
            "PAYU_CLIENT_AUTH",
            "digest",
            &["PAYU_CLIENT_AUTH=digest in .env", "basic"],
        ),
        (
            "PAYU_CA_CERT",
            "missing-ca.pem",
            &["PAYU_CA_CERT=missing-ca.pem in .env", "PEM"],
        ),
        ("PAYU_PROFILE", "no-such-profile", &[]),
        (
            "PAYU_STORE_KEY",
            "hunter2-is-no-key",
            &["PAYU_STORE_KEY in .env", "store-keygen"],
        ),
        (
            "PAYU_PASSWORD",
            "hunter2-alone",
            &["PAYU_PASSWORD in .env", "PAYU_USERNAME"],
        ),
    ];
    for (key, value, needles) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut env = partner_env(&served);
        if *key == "PAYU_PROFILE" {
            // A profile only applies locally: made wrong for a local run.
            env = env.replace(
                &format!("PAYU_TARGET={}", served.token_url),
                "PAYU_TARGET=local",
            );
        }
        env = env.replace("PAYU_PASSWORD=", "PAYU_PASSWORD_UNSET_BY_TEST=");
        env = env.replace("PAYU_STORE_KEY=", "PAYU_STORE_KEY_UNSET_BY_TEST=");
        env.push_str(&format!("{key}={value}\n"));
        // Names a test left behind would be refused: strip them.
        env = env
            .lines()
            .filter(|l| !l.contains("_UNSET_BY_TEST"))
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(dir.path().join(".env"), &env).unwrap();
        let out = bin()
            .current_dir(dir.path())
            .args(["run", "-q"])
            .output()
            .unwrap();
        let mut needles = needles.to_vec();
        let profile_line = format!("{key}={value} in .env");
        if needles.is_empty() {
            needles.push(&profile_line);
        }
        let secrets: Vec<&str> = if ["PAYU_STORE_KEY", "PAYU_PASSWORD"].contains(key) {
            vec![value, &secret, &token]
        } else {
            vec![&secret, &token]
        };
        assert_one_line_error(&out, &needles, &secrets);
        // Found before any request: no token store was even opened.
        assert!(
            !dir.path().join(".payu-contract").exists(),
            "{key}: the store was touched"
        );
    }
}

#[test]
fn a_broken_env_file_is_one_line_naming_the_file_never_its_content() {
    let dir = tempfile::tempdir().unwrap();
    for (content, needles) in [
        ("PAYU_CLIENT_SECRET=\"hunter2\n", vec![".env", "line 1"]),
        (
            "PAYU_TIMEOUTS=30\n",
            vec![".env", "PAYU_TIMEOUTS", "PAYU_TIMEOUT?"],
        ),
    ] {
        std::fs::write(dir.path().join(".env"), content).unwrap();
        let out = bin()
            .current_dir(dir.path())
            .args(["run", "-q"])
            .output()
            .unwrap();
        assert_one_line_error(&out, &needles, &["hunter2"]);
    }
    let out = bin()
        .args(["--env-file", "/nonexistent/partner.env", "run"])
        .output()
        .unwrap();
    assert_one_line_error(&out, &["--env-file /nonexistent/partner.env"], &[]);
    // --env-file is named as such.
    let file = dir.path().join("ci.env");
    std::fs::write(&file, "PAYU_TIMEOUT=soon\n").unwrap();
    let out = bin()
        .arg("--env-file")
        .arg(&file)
        .args(["run"])
        .output()
        .unwrap();
    assert_one_line_error(
        &out,
        &[&format!(
            "PAYU_TIMEOUT=soon in --env-file {}",
            file.display()
        )],
        &[],
    );
}

#[test]
fn an_invalid_environment_value_names_the_variable_in_one_line() {
    for (key, value) in [
        ("PAYU_TIMEOUT", "30s"),
        ("PAYU_CONNECT_TIMEOUT", "-1"),
        ("PAYU_LOCK_TIMEOUT", "1h"),
    ] {
        let out = bin().env(key, value).args(["run", "-q"]).output().unwrap();
        assert_one_line_error(&out, &[&format!("{key}={value} in the environment")], &[]);
    }
    // A flag is named as the flag.
    let out = bin().args(["run", "--timeout", "30s"]).output().unwrap();
    assert_one_line_error(&out, &["--timeout 30s", "--timeout 30"], &[]);
    // An empty value is unset: the default applies.
    let out = bin()
        .env("PAYU_TIMEOUT", "")
        .env("PAYU_CA_CERT", "")
        .env("PAYU_TARGET", "")
        .args(["run", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn the_environment_wins_over_the_env_file_and_flags_over_both() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "PAYU_TIMEOUT=soon\n").unwrap();
    // The environment's valid value hides the file's invalid one.
    let out = bin()
        .current_dir(dir.path())
        .env("PAYU_TIMEOUT", "10")
        .args(["run", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = bin()
        .current_dir(dir.path())
        .env("PAYU_TIMEOUT", "later")
        .args(["run", "-q", "--timeout", "10"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// A developer's `.env` cannot change the tests: the binary reads `.env`
/// from the folder it runs in only (not from a parent such as the
/// repository root), and the tests' children run in a folder of their own.
#[test]
fn a_dot_env_in_a_parent_folder_or_the_repository_does_not_change_a_run() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join(".env"), "PAYU_TARGET=staging\n").unwrap();
    let out = bin()
        .current_dir(root.path())
        .args(["run", "-q"])
        .output()
        .unwrap();
    assert_one_line_error(&out, &["PAYU_TARGET=staging in .env"], &[]);
    let sub = root.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let out = bin()
        .current_dir(&sub)
        .args(["run", "-q"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "a parent's .env was read: {}",
        text(&out)
    );
    // The children of every test run in an empty folder outside the
    // repository, whatever the developer keeps in its root.
    let cwd = common::child_cwd();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(!cwd.starts_with(repo), "{}", cwd.display());
    assert!(!cwd.join(".env").exists());
    assert_eq!(bin().get_current_dir(), Some(cwd));
}

#[test]
fn help_names_every_setting_including_the_secret_ones() {
    for cmd in ["run", "check-credentials"] {
        let out = bin().args([cmd, "--help"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let help = String::from_utf8_lossy(&out.stdout);
        for var in [
            "PAYU_TARGET",
            "PAYU_TOKEN_URL",
            "PAYU_CLIENT_ID",
            "PAYU_CLIENT_SECRET",
            "PAYU_REFRESH_TOKEN",
            "PAYU_USERNAME",
            "PAYU_PASSWORD",
            "PAYU_SCOPE",
            "PAYU_CLIENT_AUTH",
            "PAYU_TOKEN_STORE",
            "PAYU_STORE_KEY",
            "PAYU_LOCK_TIMEOUT",
            "PAYU_CA_CERT",
            "PAYU_TIMEOUT",
            "PAYU_CONNECT_TIMEOUT",
            "PAYU_PROFILE",
        ] {
            assert!(
                help.contains(var),
                "{cmd} --help does not name {var}:\n{help}"
            );
        }
        assert!(help.contains("--lock-timeout"));
    }
}

#[test]
fn every_spelling_of_the_production_host_is_refused_without_allow_production() {
    for url in [
        "https://accounts.payu.in./oauth/token",
        "https://ACCOUNTS.PAYU.IN/oauth/token",
        "https://Accounts.PayU.in.:443/oauth/token",
        "https://accounts%2Epayu.in/oauth/token",
    ] {
        let out = bin()
            .args([
                "run",
                "--token-url",
                url,
                "--client-id",
                "id",
                "--timeout",
                "1",
                "--connect-timeout",
                "1",
            ])
            .output()
            .unwrap();
        assert_one_line_error(
            &out,
            &["--token-url", "production", "--allow-production"],
            &[],
        );
        let out = bin()
            .args(["check-credentials", "--token-url", url, "--client-id", "id"])
            .output()
            .unwrap();
        assert_one_line_error(&out, &["--allow-production"], &[]);
    }
}

#[test]
fn a_user_name_or_password_in_the_token_url_is_refused_without_echoing_it() {
    for url in [
        "https://partner:hunter2@127.0.0.1:9/oauth/token",
        "http://partner:hunter2@127.0.0.1:9/oauth/token",
        "https://hunter2@uat-accounts.payu.in/oauth/token",
    ] {
        let out = bin()
            .env("PAYU_TOKEN_URL", url)
            .env("PAYU_CLIENT_ID", "id")
            .env("PAYU_REFRESH_TOKEN", "seed")
            .args(["run", "-q"])
            .output()
            .unwrap();
        assert_one_line_error(
            &out,
            &["PAYU_TOKEN_URL", "user name or password"],
            &["hunter2", "partner:"],
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("hunter2"));
    }
}

#[test]
fn one_lock_timeout_setting_for_every_command_that_takes_the_store() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.json");
    // Another run holds the store.
    let _held = payu_contract::chain::store::TokenStore::open(&store, None, Duration::from_secs(5))
        .unwrap();
    for (args, how) in [
        (vec!["run", "-q"], ("PAYU_LOCK_TIMEOUT", Some("1"))),
        (vec!["run", "-q", "--lock-timeout", "0"], ("", None)),
        (
            vec!["check-credentials", "--refresh"],
            ("PAYU_LOCK_TIMEOUT", Some("1")),
        ),
        (
            vec!["check-credentials", "--refresh", "--lock-timeout", "1"],
            ("", None),
        ),
    ] {
        let mut cmd = bin();
        cmd.args(&args)
            .envs(served.env(&store))
            .stdin(std::process::Stdio::null());
        if let (k, Some(v)) = how {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", text(&out));
        let err = stderr(&out);
        assert!(
            err.contains("locked by another run") && err.contains("PAYU_LOCK_TIMEOUT"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_closed_stdout_ends_quietly_with_exit_0() {
    for args in [
        vec!["profiles"],
        vec!["store-keygen"],
        vec!["run"],
        vec!["run", "--help"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = bin().args(&args).stdout(writer).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

#[test]
fn serve_stops_cleanly_on_sigterm() {
    let mut served = Served::start(&[]);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &served.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = served
        .wait_exit(Duration::from_secs(20))
        .expect("serve exited");
    assert_eq!(exit.code(), Some(0), "{exit:?}");
}

#[test]
fn serve_with_a_garbage_tls_key_names_the_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, ca.cert.pem()).unwrap();
    std::fs::write(&key, "GARBAGE").unwrap();
    let out = bin()
        .args(["serve", "--addr", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .output()
        .unwrap();
    assert_one_line_error(&out, &["--tls-key", &key.display().to_string()], &[]);
    assert!(!stderr(&out).contains("--addr"));
}

#[test]
fn a_token_of_mixed_characters_is_described_once_as_characters() {
    // Reported as "a string of 76 mixed characters characters" before.
    let token = serde_json::Value::String("a+b/c=".repeat(12) + "d!e$");
    let d = payu_contract::redact::describe("refresh_token", &token);
    assert_eq!(d, "a string of 76 mixed characters");
}
