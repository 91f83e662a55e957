//! An installed binary is a first-class citizen: `cargo install` into a
//! temporary root, then `run`, `serve`, `check-credentials` and `baseline`
//! from an empty temporary folder, with nothing of the source tree in reach
//! (no `CARGO_*` variable, another working folder), and the checkout the
//! binary was built from is left exactly as it was.
//!
//! `cargo install --debug --offline --target-dir <this build's target>`
//! reuses what `cargo test` has just compiled: it takes about a second warm
//! (measured: 1.2 s), where a release install in its own target folder is a
//! full build of minutes. It is the real command a user types, minus the
//! release profile.

mod common;

use common::in_ci;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const CHECKOUT: &str = env!("CARGO_MANIFEST_DIR");

/// The folder `cargo test` builds into (the test binary is in
/// `<target>/<profile>/deps/`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

/// Waits for a child at most `limit`; kills it past that.
fn wait(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("timed out after {limit:?}: {}", common::text(&out));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn install(root: &Path) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let child = Command::new(cargo)
        .args([
            "install",
            "--path",
            CHECKOUT,
            "--debug",
            "--offline",
            "--locked",
            "--root",
        ])
        .arg(root)
        .arg("--target-dir")
        .arg(target_dir())
        .env_remove("CARGO_TARGET_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cargo runs");
    let out = wait(child, Duration::from_secs(600));
    assert!(
        out.status.success(),
        "cargo install: {}",
        common::text(&out)
    );
    let bin = root
        .join("bin")
        .join(format!("payu-contract{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.is_file(), "{}", bin.display());
    bin
}

/// The installed binary in `dir`, with nothing of the build in its
/// environment: no CARGO_* variable, no PAYU_* or INSTA_* from the host.
fn installed(bin: &Path, dir: &Path) -> Command {
    let mut c = Command::new(bin);
    c.current_dir(dir).env("NO_COLOR", "1").stdin(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("CARGO")
            || k.starts_with("PAYU_")
            || k.starts_with("INSTA_")
            || k == "CI"
            || k == "RUST_LOG"
        {
            c.env_remove(k);
        }
    }
    c
}

/// The checkout's `git status --porcelain` (untracked files included), or
/// `None` when git or the repository is not there.
fn git_status() -> Option<String> {
    let out = Command::new("git")
        .args([
            "-C",
            CHECKOUT,
            "status",
            "--porcelain",
            "--untracked-files=all",
        ])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Every `.snap.new` in the checkout, outside `target/` and `.git/`.
fn pending_in_checkout(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        let name = e.file_name();
        if p.is_dir() {
            if name != "target" && name != ".git" {
                pending_in_checkout(&p, out);
            }
        } else if name.to_string_lossy().ends_with(".snap.new") {
            out.push(p);
        }
    }
}

#[test]
fn an_installed_binary_works_from_an_empty_folder_and_leaves_the_checkout_alone() {
    let before = git_status();
    if before.is_none() {
        assert!(
            !in_ci(),
            "CI=true: git and the checkout's repository are required"
        );
        eprintln!("SKIPPED: the source-tree check, because git or {CHECKOUT}/.git is absent");
    }
    let mut pending_before = vec![];
    pending_in_checkout(Path::new(CHECKOUT), &mut pending_before);

    let root = tempfile::tempdir().unwrap();
    let bin = install(root.path());
    let work = tempfile::tempdir().unwrap();
    let sandbox = tempfile::tempdir().unwrap();

    // serve, from its own empty folder.
    let mut serve = installed(&bin, sandbox.path())
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let served: Value = serde_json::from_str(&line).expect("serve prints its JSON line");
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _serve = Kill(serve);
    let url = served["token_url"].as_str().unwrap();
    let client = served["fixtures"]["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "public")
        .unwrap();
    let env = [
        ("PAYU_TOKEN_URL", url),
        ("PAYU_CLIENT_ID", client["client_id"].as_str().unwrap()),
        (
            "PAYU_CLIENT_SECRET",
            client["client_secret"].as_str().unwrap(),
        ),
        (
            "PAYU_REFRESH_TOKEN",
            client["refresh_token"].as_str().unwrap(),
        ),
    ];
    let live = |args: &[&str]| -> Output {
        installed(&bin, work.path())
            .envs(env)
            .args(args)
            .output()
            .unwrap()
    };
    let say = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();

    // check-credentials: the default mode spends nothing.
    let check = live(&["check-credentials"]);
    assert_eq!(check.status.code(), Some(0), "{}", common::text(&check));

    // Two live runs: nothing accepted yet, observations recorded here.
    for _ in 0..2 {
        let out = live(&["run"]);
        assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
        assert!(
            say(&out).contains("yet: 7 observations recorded; review with payu-contract baseline"),
            "{}",
            common::text(&out)
        );
    }
    let baselines = work.path().join(".payu-contract/baselines");
    assert!(
        work.path()
            .join(".payu-contract/token-store.json")
            .is_file(),
        "the token store is beside the baselines"
    );

    // Review and accept, as a script would.
    let review = live(&["baseline"]);
    assert_eq!(review.status.code(), Some(1), "{}", common::text(&review));
    let accept = live(&["baseline", "--all", "--yes"]);
    assert_eq!(accept.status.code(), Some(0), "{}", common::text(&accept));
    assert!(
        say(&accept).contains("7 accepted, 0 still waiting"),
        "{}",
        common::text(&accept)
    );

    // The third run: no change.
    let third = live(&["run"]);
    assert_eq!(third.status.code(), Some(0), "{}", common::text(&third));
    assert!(
        say(&third).contains("no change since the accepted baseline (7 observations)"),
        "{}",
        common::text(&third)
    );
    let accepted: Vec<_> = std::fs::read_dir(
        baselines
            .read_dir()
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
    )
    .unwrap()
    .flatten()
    .map(|e| e.file_name().to_string_lossy().into_owned())
    .collect();
    assert_eq!(
        accepted.iter().filter(|n| n.ends_with(".snap")).count(),
        7,
        "{accepted:?}"
    );

    // The embedded double, from an empty folder with nothing set.
    let empty = tempfile::tempdir().unwrap();
    let local = installed(&bin, empty.path())
        .args(["run", "-q"])
        .output()
        .unwrap();
    assert_eq!(local.status.code(), Some(0), "{}", common::text(&local));

    // The checkout is untouched.
    let mut pending_after = vec![];
    pending_in_checkout(Path::new(CHECKOUT), &mut pending_after);
    assert_eq!(
        pending_after, pending_before,
        "no .snap.new appeared in the checkout"
    );
    if let Some(before) = before {
        assert_eq!(
            git_status().unwrap(),
            before,
            "git status of the checkout changed"
        );
    }
}

/// Every setting is named in the help, the secret ones included (they have
/// no flag, so clap would not list them by itself).
#[test]
fn help_names_the_secret_variables() {
    for cmd in ["run", "check-credentials"] {
        let out = common::bin().args([cmd, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        for var in [
            "PAYU_CLIENT_SECRET",
            "PAYU_REFRESH_TOKEN",
            "PAYU_PASSWORD",
            "PAYU_STORE_KEY",
            "PAYU_TARGET",
            "PAYU_TOKEN_URL",
            "PAYU_CLIENT_ID",
            "PAYU_TOKEN_STORE",
        ] {
            assert!(help.contains(var), "{cmd} --help lacks {var}:\n{help}");
        }
    }
    let out = common::bin().args(["run", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("PAYU_BASELINES"));
}
