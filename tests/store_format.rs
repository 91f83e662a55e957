//! Token store: round trips, encryption at rest, file modes, clear errors.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use payu_contract::chain::store::{
    ChainEntry, ChainId, StoreError, StoreKey, TokenState, TokenStore,
};
use payu_contract::secret::Secret;

const TOKEN: &str = "rt-9f8e7d6c5b4a-SECRET-REFRESH";
const T: Duration = Duration::from_secs(2);

fn chain() -> ChainId {
    ChainId::new("https://uat-accounts.payu.in/oauth/token", "client-abc-123")
}

fn entry(token: &str) -> ChainEntry {
    ChainEntry {
        refresh_token: Secret::from(token),
        state: TokenState::Live,
        seed_fingerprint: Some("ab".repeat(32)),
        updated_at: 1_700_000_000,
        rotations: 7,
    }
}

fn store_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("nested/deeper/token-store.json")
}

fn key() -> StoreKey {
    StoreKey::parse(&StoreKey::generate()).unwrap()
}

fn write_then_reopen(
    path: &Path,
    key_w: Option<StoreKey>,
    key_r: Option<StoreKey>,
) -> Option<ChainEntry> {
    {
        let mut s = TokenStore::open(path, key_w, T).unwrap();
        s.put(&chain(), entry(TOKEN)).unwrap();
        let other = ChainId::new("http://127.0.0.1:1/token", "other");
        s.put(&other, entry("second-token")).unwrap();
    }
    let s = TokenStore::open(path, key_r, T).unwrap();
    assert_eq!(
        s.get(&ChainId::new("http://127.0.0.1:1/token", "other"))
            .unwrap()
            .refresh_token
            .expose(),
        "second-token"
    );
    s.get(&chain()).cloned()
}

#[test]
fn plain_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    assert_eq!(write_then_reopen(&path, None, None), Some(entry(TOKEN)));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(v["format"], "payu-contract-store");
    assert_eq!(v["version"], 1);
    assert_eq!(v["encrypted"], false);
    assert_eq!(v["chains"].as_array().unwrap().len(), 2);
}

#[test]
fn encrypted_round_trip_and_nothing_readable_without_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let k = key();
    assert_eq!(
        write_then_reopen(&path, Some(k.clone()), Some(k)),
        Some(entry(TOKEN))
    );
    let raw = std::fs::read(&path).unwrap();
    let text = String::from_utf8_lossy(&raw);
    for needle in [
        TOKEN,
        "second-token",
        "client-abc-123",
        "uat-accounts",
        "rotations",
    ] {
        assert!(
            !text.contains(needle),
            "{needle} readable in the encrypted file"
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(v["encrypted"], true);
    assert!(v.get("chains").is_none());
}

#[test]
fn each_write_uses_a_fresh_nonce() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let mut s = TokenStore::open(&path, Some(key()), T).unwrap();
    s.put(&chain(), entry(TOKEN)).unwrap();
    let first = std::fs::read(&path).unwrap();
    s.put(&chain(), entry(TOKEN)).unwrap();
    let second = std::fs::read(&path).unwrap();
    let nonce = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).unwrap()["nonce"].clone();
    assert_ne!(nonce(&first), nonce(&second));
}

#[test]
fn missing_file_is_an_empty_store_and_open_does_not_create_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let s = TokenStore::open(&path, None, T).unwrap();
    assert!(s.get(&chain()).is_none());
    assert_eq!(s.path(), path);
    assert!(!path.exists());
}

#[test]
fn files_are_0600_and_new_directories_0700() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let mut s = TokenStore::open(&path, None, T).unwrap();
    s.put(&chain(), entry(TOKEN)).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&path.with_file_name("token-store.json.lock")), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(mode(path.parent().unwrap().parent().unwrap()), 0o700);
    // A store restored with loose permissions is tightened by the next write.
    drop(s);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut s = TokenStore::open(&path, None, T).unwrap();
    s.put(&chain(), entry(TOKEN)).unwrap();
    assert_eq!(mode(&path), 0o600);
}

fn open_err(path: &Path, key: Option<StoreKey>) -> StoreError {
    TokenStore::open(path, key, T).expect_err("open must fail")
}

fn assert_one_line_without_secrets(e: &StoreError) -> String {
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "multi-line: {msg}");
    assert!(!msg.contains(TOKEN), "token leaked: {msg}");
    msg
}

#[test]
fn wrong_key_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    TokenStore::open(&path, Some(key()), T)
        .unwrap()
        .put(&chain(), entry(TOKEN))
        .unwrap();
    let e = open_err(&path, Some(key()));
    assert!(matches!(e, StoreError::Decrypt { .. }), "{e:?}");
    let msg = assert_one_line_without_secrets(&e);
    assert!(
        msg.contains("could not be decrypted with PAYU_STORE_KEY (wrong key or corrupted file)"),
        "{msg}"
    );
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[test]
fn encrypted_without_key_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    TokenStore::open(&path, Some(key()), T)
        .unwrap()
        .put(&chain(), entry(TOKEN))
        .unwrap();
    let e = open_err(&path, None);
    let msg = assert_one_line_without_secrets(&e);
    assert!(
        msg.ends_with(
            "is encrypted but PAYU_STORE_KEY is not set: set the key it was written with"
        ),
        "{msg}"
    );
}

#[test]
fn tampered_ciphertext_or_nonce_fails_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let k = key();
    TokenStore::open(&path, Some(k.clone()), T)
        .unwrap()
        .put(&chain(), entry(TOKEN))
        .unwrap();
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();

    let mut v = original.clone();
    let mut ct = base64_decode(v["ciphertext"].as_str().unwrap());
    ct[3] ^= 1;
    v["ciphertext"] = base64_encode(&ct).into();
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    assert!(matches!(
        open_err(&path, Some(k.clone())),
        StoreError::Decrypt { .. }
    ));

    let mut v = original.clone();
    let mut nonce = base64_decode(v["nonce"].as_str().unwrap());
    nonce[0] ^= 1;
    v["nonce"] = base64_encode(&nonce).into();
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    assert!(matches!(
        open_err(&path, Some(k.clone())),
        StoreError::Decrypt { .. }
    ));

    std::fs::write(&path, serde_json::to_vec(&original).unwrap()).unwrap();
    assert!(TokenStore::open(&path, Some(k), T).is_ok());
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}
fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn corrupt_files_are_clear_errors_not_fresh_stores() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();

    std::fs::write(
        &path,
        b"{\"format\":\"payu-contract-store\",\"version\":1,\"enc",
    )
    .unwrap();
    let e = open_err(&path, None);
    let msg = assert_one_line_without_secrets(&e);
    assert!(matches!(e, StoreError::NotJson { .. }), "{e:?}");
    assert!(msg.contains("is not valid JSON (corrupt"), "{msg}");
    assert!(msg.ends_with("restore it from your CI cache or delete it and seed a new chain with PAYU_REFRESH_TOKEN"), "{msg}");

    std::fs::write(&path, b"").unwrap();
    assert!(matches!(open_err(&path, None), StoreError::NotJson { .. }));

    // Valid JSON, wrong shape, with the token in a place serde would quote.
    let bad = format!(
        r#"{{"format":"payu-contract-store","version":1,"encrypted":false,"chains":[{{"token_url":"u","client_id":"c","refresh_token":"x","state":"live","seed_fingerprint":null,"updated_at":"{TOKEN}","rotations":1}}]}}"#
    );
    std::fs::write(&path, bad).unwrap();
    let e = open_err(&path, None);
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
    assert_one_line_without_secrets(&e);

    std::fs::write(&path, br#"{"name":"something else"}"#).unwrap();
    assert!(matches!(
        open_err(&path, None),
        StoreError::NotAStore { .. }
    ));

    std::fs::write(
        &path,
        br#"{"format":"payu-contract-store","version":2,"encrypted":false,"chains":[]}"#,
    )
    .unwrap();
    let e = open_err(&path, None);
    assert!(e.to_string().contains("upgrade payu-contract"), "{e}");
}

#[test]
fn unreadable_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    std::fs::create_dir_all(&path).unwrap(); // a directory where the file should be
    let e = open_err(&path, None);
    assert!(matches!(e, StoreError::Io { .. }), "{e:?}");
    let msg = assert_one_line_without_secrets(&e);
    assert!(msg.starts_with("could not read the token store"), "{msg}");
}

#[test]
fn plain_store_opened_with_a_key_is_encrypted_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    TokenStore::open(&path, None, T)
        .unwrap()
        .put(&chain(), entry(TOKEN))
        .unwrap();
    let k = key();
    let s = TokenStore::open(&path, Some(k.clone()), T).unwrap();
    assert_eq!(s.get(&chain()), Some(&entry(TOKEN)));
    drop(s);
    assert!(!String::from_utf8_lossy(&std::fs::read(&path).unwrap()).contains(TOKEN));
    assert_eq!(
        TokenStore::open(&path, Some(k), T).unwrap().get(&chain()),
        Some(&entry(TOKEN))
    );
}

#[test]
fn store_key_parsing() {
    let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
    assert!(StoreKey::parse(hex).is_ok());
    assert!(StoreKey::parse(&format!(" {hex}\n")).is_ok());
    assert!(StoreKey::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").is_ok());
    for bad in [
        "",
        "short",
        &hex[..62],
        &format!("{hex}00"),
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", // 31 bytes
        "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    ] {
        let e = StoreKey::parse(bad).expect_err(bad);
        assert_eq!(
            e.to_string(),
            "PAYU_STORE_KEY must be 32 bytes as 64 hex characters or base64: generate one with `payu-contract store-keygen`"
        );
    }
    let a = StoreKey::generate();
    assert_eq!(a.len(), 64);
    assert_ne!(a, StoreKey::generate());
    let k = StoreKey::parse(&a).unwrap();
    assert!(!format!("{k:?}").contains(&a[..8]));
}

#[test]
fn debug_of_store_and_entry_hides_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = TokenStore::open(&store_path(&dir), Some(key()), T).unwrap();
    s.put(&chain(), entry(TOKEN)).unwrap();
    let dump = format!("{s:?} {:?}", s.get(&chain()));
    assert!(!dump.contains(TOKEN), "{dump}");
}
