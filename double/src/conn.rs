//! Serving connections so that no client can lock others out: a cap on
//! open connections (the excess is accepted and closed at once, so it never
//! holds a file descriptor), a header-read timeout (a client that sends
//! half a request head, or nothing at all on a fresh or kept-alive
//! connection, is closed after it), and an idle timeout (no byte either way
//! for that long closes the connection, whatever its state). Each
//! connection's task and buffers are dropped when it closes, so memory
//! returns after a flood.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// Limits on the connections of one server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once; one more is closed as soon as it is
    /// accepted.
    pub max_connections: usize,
    /// How long a client may take to send a complete request head,
    /// counted from when the server starts waiting for one (a new
    /// connection, or a kept-alive one between requests).
    pub header_read_timeout: Duration,
    /// A connection on which no byte moved for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 512,
            header_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
        }
    }
}

/// An IO object that notes when a byte last moved.
struct Tracked {
    inner: TcpStream,
    epoch: Instant,
    last: Arc<AtomicU64>,
}

impl Tracked {
    fn touch(&self) {
        self.last
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves `router` on `listener` within `limits` until `stop` fires, then
/// lets open connections finish their request (the caller bounds the wait).
pub(crate) async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: ConnectionLimits,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (closing_tx, closing) = watch::channel(false);
    let mut stop = stop;
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            a = listener.accept() => a,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                // Out of file descriptors or a connection reset before
                // accept: keep serving, after a short pause (EMFILE would
                // otherwise spin).
                tracing::debug!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Over the cap: closed at once, holding nothing.
            tracing::debug!("connection refused: {} open", limits.max_connections);
            drop(tcp);
            continue;
        };
        // Small request/response pairs on keep-alive connections: Nagle
        // would add delays a benchmark would mistake for the server.
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let mut closing = closing.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let epoch = Instant::now();
            let last = Arc::new(AtomicU64::new(0));
            let io = TokioIo::new(Tracked {
                inner: tcp,
                epoch,
                last: last.clone(),
            });
            // HTTP/1 only: the version sniffing of an HTTP/2-capable server
            // waits for a first byte with no timeout, which is the very hole
            // an idle connection uses. (No client of the double speaks h2c.)
            let mut builder =
                hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()).http1_only();
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
            let conn = builder.serve_connection(io, TowerToHyperService::new(router));
            tokio::pin!(conn);
            let tick = (limits.idle_timeout / 4).max(Duration::from_millis(10));
            loop {
                tokio::select! {
                    _ = conn.as_mut() => return,
                    () = tokio::time::sleep(tick) => {
                        let quiet = epoch.elapsed().saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed)));
                        if quiet >= limits.idle_timeout {
                            // Nothing moved: no request can be in flight that
                            // a graceful close would wait for.
                            return;
                        }
                    }
                    _ = closing.changed() => {
                        conn.as_mut().graceful_shutdown();
                        let _ = conn.as_mut().await;
                        return;
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = closing_tx.send(true);
    // Wait for every connection to close (bounded by the caller).
    let _ = slots
        .acquire_many(limits.max_connections.max(1) as u32)
        .await;
    Ok(())
}
