//! Token store: a writer killed with SIGKILL at random points never leaves a
//! corrupt or empty store. The test re-executes its own binary as the writer
//! (`child_writer`, active only when `PAYU_STORE_TEST_CHILD` is set).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use payu_contract::chain::store::{ChainId, StoreKey, TokenState, TokenStore};
use payu_contract::secret::Secret;

const CHILD_ENV: &str = "PAYU_STORE_TEST_CHILD";
const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const TRIALS: u32 = 20;

fn chain() -> ChainId {
    ChainId::new("http://127.0.0.1:9/token", "client")
}

fn key_for(encrypted: bool) -> Option<StoreKey> {
    encrypted.then(|| StoreKey::parse(KEY).unwrap())
}

/// The writer: rotates the chain as fast as it can until killed (bounded by
/// an iteration count and a deadline in case the parent is gone).
#[test]
fn child_writer() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut parts = spec.splitn(3, '|');
    let (trial, encrypted, path) = (
        parts.next().unwrap().to_owned(),
        parts.next().unwrap() == "1",
        PathBuf::from(parts.next().unwrap()),
    );
    let mut s = TokenStore::open(&path, key_for(encrypted), Duration::from_secs(10)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    for i in 0..100_000u64 {
        s.record_rotation(&chain(), Secret::new(format!("trial{trial}-tok-{i}")))
            .unwrap();
        if i == 0 {
            let mut out = std::io::stdout().lock();
            writeln!(out, "\nWRITER-READY").unwrap();
            out.flush().unwrap();
        }
        if Instant::now() > deadline {
            break;
        }
    }
}

fn leftover_temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[test]
fn sigkill_at_random_points_never_corrupts_the_store() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rotations = [0u64; 2];
    let mut killed_mid_run = 0;
    for trial in 0..TRIALS {
        let encrypted = trial % 2 == 1;
        let path = dir.path().join(if encrypted {
            "sealed.json"
        } else {
            "plain.json"
        });
        let mut child = Command::new(&exe)
            .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
            .env(
                CHILD_ENV,
                format!("{trial}|{}|{}", u8::from(encrypted), path.display()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the writer has written at least once, then kill it at a
        // random point of its write loop.
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert!(
            lines.any(|l| l.is_ok_and(|l| l.contains("WRITER-READY"))),
            "trial {trial}: writer never got ready"
        );
        std::thread::sleep(Duration::from_micros(rand::random_range(0..25_000)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let s = TokenStore::open(&path, key_for(encrypted), Duration::from_secs(2))
            .unwrap_or_else(|e| panic!("trial {trial}: store unreadable after SIGKILL: {e}"));
        let e = s.get(&chain()).expect("the chain survives");
        let token = e.refresh_token.expose();
        let n: u64 = token
            .strip_prefix(&format!("trial{trial}-tok-"))
            .unwrap_or_else(|| panic!("trial {trial}: token from elsewhere"))
            .parse()
            .unwrap();
        assert_eq!(e.state, TokenState::Live);
        // Entry fields belong to the same write as the token.
        let r = &mut rotations[usize::from(encrypted)];
        assert_eq!(e.rotations, *r + n + 1, "trial {trial}: torn entry");
        *r = e.rotations;
        if n > 0 {
            killed_mid_run += 1;
        }
        assert_eq!(leftover_temp_files(dir.path()), Vec::<String>::new());
    }
    eprintln!("{killed_mid_run}/{TRIALS} trials killed after more than one write");
    assert!(killed_mid_run > 0, "the writer was never killed mid-run");
    let raw = std::fs::read(dir.path().join("sealed.json")).unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("-tok-"));
}
