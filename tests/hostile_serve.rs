//! `payu-contract serve` under idle and half-sent connections: 1,100 idle
//! TCP connections against a server limited to 1,024 file descriptors
//! (`ulimit -n` in the child) must not make it unreachable for a normal
//! client, a half-sent request head must be closed after the header-read
//! timeout, and the descriptors must come back once the flood is over.
//!
//! Waits are bounded (a deadline each), never asserted as speeds.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const IDLE: usize = 1100;

struct Serve {
    child: Child,
    addr: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_serve() -> Serve {
    let mut child = Command::new("sh")
        .args([
            "-c",
            "ulimit -n 1024 && exec \"$0\" serve --addr 127.0.0.1:0",
            common::BIN,
        ])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let mut line = String::new();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).expect("serve line");
    let url = v["token_url"].as_str().unwrap();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/oauth/token")
        .to_owned();
    Serve { child, addr }
}

/// Raises this process's own descriptor limit if it is too low for the
/// flood (a fresh Debian machine starts at 1,024); bounded by the hard
/// limit.
fn enough_descriptors() -> bool {
    let pid = std::process::id().to_string();
    let _ = Command::new("prlimit")
        .args(["--pid", &pid, "--nofile=8192:"])
        .status();
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    soft > IDLE + 200
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// One complete request on a fresh connection; the status line, or why not.
fn request(addr: &str) -> Result<String, String> {
    let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let body = "grant_type=refresh_token";
    write!(
        s,
        "POST /oauth/token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    match text.lines().next() {
        Some(l) if l.starts_with("HTTP/1.1 ") => Ok(l.to_owned()),
        _ => Err(format!("no answer ({} bytes)", buf.len())),
    }
}

/// Whether the server closed `s` before `deadline`.
fn closed_by_server(s: &mut TcpStream, deadline: Instant) -> bool {
    let mut buf = [0u8; 256];
    while Instant::now() < deadline {
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn idle_and_half_sent_connections_lock_nobody_out() {
    if !enough_descriptors() {
        assert!(
            !common::in_ci(),
            "this machine gives the test fewer than {} file descriptors",
            IDLE + 200
        );
        eprintln!(
            "SKIPPED: idle_and_half_sent_connections_lock_nobody_out because the file-descriptor limit is too low and cannot be raised"
        );
        return;
    }
    let serve = start_serve();
    let pid = serve.child.id();
    assert!(request(&serve.addr).is_ok(), "serve answers at all");
    let baseline_fds = open_fds(pid);

    // The flood: connections that never send a byte.
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        match TcpStream::connect(&serve.addr) {
            Ok(s) => idle.push(s),
            Err(e) => panic!("connect {} failed: {e}", idle.len()),
        }
    }
    // And one that sends half a request head, then nothing.
    let mut half = TcpStream::connect(&serve.addr).unwrap();
    half.write_all(b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: appl")
        .unwrap();
    let flooded = Instant::now();

    // A normal client gets its answer (retrying on a refused connection,
    // within a deadline well past the header-read timeout).
    let deadline = flooded + Duration::from_secs(25);
    let mut last = String::new();
    let answered = loop {
        match request(&serve.addr) {
            Ok(status) => break Some(status),
            Err(e) => last = e,
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        answered.is_some(),
        "a normal client got no answer while {IDLE} idle connections were open: {last}"
    );
    eprintln!(
        "answered {:?} after {} ms of flood",
        answered,
        flooded.elapsed().as_millis()
    );

    // The half-sent head is closed by the server after the timeout.
    assert!(
        closed_by_server(&mut half, flooded + Duration::from_secs(25)),
        "a half-sent request head was never closed"
    );
    // So is every idle connection (the first and the last of the flood).
    {
        let s = idle.first_mut().unwrap();
        assert!(
            closed_by_server(s, flooded + Duration::from_secs(25)),
            "an idle connection was never closed"
        );
    }
    assert!(
        closed_by_server(idle.last_mut().unwrap(), flooded + Duration::from_secs(25)),
        "an idle connection was never closed"
    );
    // Descriptors (and the per-connection memory with them) come back.
    let deadline = Instant::now() + Duration::from_secs(15);
    while open_fds(pid) > baseline_fds + 8 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let after = open_fds(pid);
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap_or("")
        .to_owned();
    eprintln!("serve: {baseline_fds} descriptors before the flood, {after} after; {rss}");
    assert!(
        after <= baseline_fds + 8,
        "serve still holds {after} descriptors after the flood (was {baseline_fds})"
    );
    drop(idle);
    assert!(
        request(&serve.addr).is_ok(),
        "serve answers after the flood"
    );
}
