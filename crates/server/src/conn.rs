//! Serving connections: one accept loop for the plain and the TLS listener, over hyper's
//! HTTP/1.1 connection with a watchdog of our own, so that no client holds a connection
//! (and its file descriptor) for long without sending a request.
//!
//! - At most [`ConnLimits::max_connections`] are open at once (TLS handshakes included);
//!   past the cap a new connection is closed at once, before any byte is read — the
//!   client sees a reset and retries, rather than a queue that grows without bound.
//! - A TLS handshake must finish within [`ConnLimits::handshake_timeout`].
//! - A request head must be complete within [`ConnLimits::header_read_timeout`] of its
//!   first byte (of the connection's start, for the first request).
//! - Between requests, a kept-alive connection on which no byte moves for
//!   [`ConnLimits::idle_timeout`] is closed; so is one whose response the client does not
//!   read for as long.
//! - While a request is being served, the request's own limits apply (the body read
//!   timeout, then the request time limit; see [`crate::Limits`]).
//!
//! Shutdown stops accepting, asks every connection to close once its request is answered
//! (idle ones close at once), and waits for them all.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use crate::tls::Peer;

/// Limits on connections (issue 12's attack pass: idle connections used to be held
/// forever, so about 20,000 of them stopped the server accepting).
#[derive(Clone, Debug)]
pub struct ConnLimits {
    /// The longest a request head may take to arrive, from its first byte (10 s).
    pub header_read_timeout: Duration,
    /// The longest a connection may sit with no request and no byte moving (60 s).
    pub idle_timeout: Duration,
    /// The longest a TLS handshake may take (10 s).
    pub handshake_timeout: Duration,
    /// Connections open at once; past it, new ones are closed at once (4,096).
    pub max_connections: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(10),
            max_connections: 4096,
        }
    }
}

/// Counters of the accept loop, read by `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct ConnStats {
    /// Connections open now.
    pub open: AtomicU64,
    /// Connections closed at once because the cap was reached.
    pub refused: AtomicU64,
    /// Connections closed by a timeout (handshake, header read, idle).
    pub timed_out: AtomicU64,
}

/// "Not reading a request head."
const NONE: u64 = u64::MAX;

/// What the watchdog of one connection reads: milliseconds since the connection opened.
struct Clock {
    base: Instant,
    /// The last time a byte moved, either way.
    last: AtomicU64,
    /// When the request head now being read began (its first byte), or [`NONE`].
    head_since: AtomicU64,
    /// Requests in the service now.
    busy: AtomicU32,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            base: Instant::now(),
            last: AtomicU64::new(0),
            // The first request's head is timed from the connection's start.
            head_since: AtomicU64::new(0),
            busy: AtomicU32::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    fn read(&self) {
        let now = self.now();
        self.last.store(now, Ordering::Relaxed);
        if self.busy.load(Ordering::Relaxed) == 0 {
            // A new head began on a kept-alive connection: timed from now (the watchdog
            // sees it at its next tick).
            let _ =
                self.head_since
                    .compare_exchange(NONE, now, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    fn wrote(&self) {
        self.last.store(self.now(), Ordering::Relaxed);
    }

    fn started(&self) {
        self.busy.fetch_add(1, Ordering::Relaxed);
        self.head_since.store(NONE, Ordering::Relaxed);
    }

    fn done(&self) {
        self.busy.fetch_sub(1, Ordering::Relaxed);
        self.wrote();
    }

    /// Whether part of a request head has arrived and no request is being served.
    fn reading_head(&self) -> bool {
        self.busy.load(Ordering::Relaxed) == 0 && self.head_since.load(Ordering::Relaxed) != NONE
    }

    /// When the connection is over unless something happens first (milliseconds since
    /// its start); `None` while a request is being served.
    fn deadline(&self, limits: &ConnLimits) -> Option<u64> {
        if self.busy.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(NONE - 1);
        let head = self.head_since.load(Ordering::Relaxed);
        Some(if head == NONE {
            self.last
                .load(Ordering::Relaxed)
                .saturating_add(ms(limits.idle_timeout))
        } else {
            head.saturating_add(ms(limits.header_read_timeout))
        })
    }
}

/// Ends a request in the clock when its future ends, answered or dropped.
struct Busy(Arc<Clock>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.done();
    }
}

/// A stream that tells its [`Clock`] when bytes move.
struct Watched<S> {
    inner: S,
    clock: Arc<Clock>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let out = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(out, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.clock.read();
        }
        out
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let out = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(out, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.wrote();
        }
        out
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let out = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(out, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.wrote();
        }
        out
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// What every connection of one listener shares.
#[derive(Clone)]
pub(crate) struct Listener {
    /// The API's state, on the API listener: its decision routes take `crate::lane`.
    pub lane: Option<crate::AppState>,
    pub router: Router,
    pub tls: Option<TlsAcceptor>,
    pub limits: ConnLimits,
    pub stats: Arc<ConnStats>,
}

/// Accepts on `tcp` until `stop` turns true, then waits for every connection to finish.
pub(crate) async fn serve(
    tcp: TcpListener,
    listener: Listener,
    stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let cap = u32::try_from(listener.limits.max_connections.clamp(1, 1 << 20)).unwrap_or(1 << 20);
    let permits = Arc::new(Semaphore::new(cap as usize));
    let mut stopping = std::pin::pin!(stopped(stop.clone()));
    loop {
        let accepted = tokio::select! {
            () = &mut stopping => break,
            a = tcp.accept() => a,
        };
        let (stream, addr) = match accepted {
            Ok(a) => a,
            Err(_) => {
                // Out of descriptors and the like: back off, as axum's own loop does.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            listener.stats.refused.fetch_add(1, Ordering::Relaxed);
            drop(stream);
            continue;
        };
        listener.stats.open.fetch_add(1, Ordering::Relaxed);
        let (l, rx) = (listener.clone(), stop.clone());
        tokio::spawn(async move {
            connection(stream, addr, &l, rx).await;
            l.stats.open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    drop(tcp);
    // Every connection holds a permit until it ends: all of them back means all ended.
    let _ = permits.acquire_many(cap).await;
    Ok(())
}

async fn connection(
    stream: TcpStream,
    addr: SocketAddr,
    listener: &Listener,
    stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = &listener.tls else {
        let peer = Peer::new(addr, None);
        return http(stream, peer, listener, stop).await;
    };
    let handshake =
        tokio::time::timeout(listener.limits.handshake_timeout, acceptor.accept(stream));
    let tls = tokio::select! {
        () = stopped(stop.clone()) => return,
        r = handshake => match r {
            Ok(Ok(tls)) => tls,
            // A failed handshake (no certificate the CA signed, a wrong protocol) ends
            // here: rustls has already sent its alert.
            Ok(Err(_)) => return,
            Err(_) => {
                listener.stats.timed_out.fetch_add(1, Ordering::Relaxed);
                return;
            }
        },
    };
    let certificate = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|leaf| Arc::<[u8]>::from(leaf.as_ref()));
    http(tls, Peer::new(addr, certificate), listener, stop).await;
}

/// Serves HTTP/1.1 on one connection under the watchdog.
async fn http<S>(stream: S, peer: Peer, listener: &Listener, stop: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let clock = Arc::new(Clock::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        clock: clock.clone(),
    });
    let (router, c) = (listener.router.clone(), clock.clone());
    let lane = listener.lane.clone();
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            c.started();
            let busy = Busy(c.clone());
            req.extensions_mut().insert(ConnectInfo(peer.clone()));
            let mut router = router.clone();
            let lane = lane.clone();
            async move {
                let resp = match (&lane, crate::lane::Hot::of(&req)) {
                    (Some(state), Some(hot)) => {
                        Ok(crate::lane::serve(state, hot, req.map(axum::body::Body::new)).await)
                    }
                    _ => tower_service::Service::call(&mut router, req).await,
                };
                drop(busy);
                resp
            }
        });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let mut stopping = std::pin::pin!(stopped(stop));
    let mut draining = false;
    let limits = &listener.limits;
    // The watchdog wakes at a connection's deadline or after a tick, whichever is first,
    // and reads the clock then: a request neither wakes it nor moves its timer, so serving
    // one costs no timer and no wake-up. A deadline that begins between two ticks (a new
    // head on a kept-alive connection) is seen at the next one and then kept to the
    // millisecond; the tick, a quarter of the shortest timeout, bounds how late that is.
    let tick =
        (limits.header_read_timeout.min(limits.idle_timeout) / 4).max(Duration::from_millis(1));
    let sleep = tokio::time::sleep(tick);
    let mut sleep = std::pin::pin!(sleep);
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            () = &mut stopping, if !draining => {
                draining = true;
                // Half a request head is no request in flight: closed at once, not
                // waited for until its header timeout.
                if clock.reading_head() {
                    return;
                }
                conn.as_mut().graceful_shutdown();
            }
            () = sleep.as_mut() => {
                let next = Instant::now() + tick;
                match clock.deadline(limits) {
                    Some(ms) if clock.now() >= ms => {
                        listener.stats.timed_out.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    Some(ms) => sleep
                        .as_mut()
                        .reset(next.min(clock.base + Duration::from_millis(ms))),
                    None => sleep.as_mut().reset(next),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_times_heads_then_idleness() {
        let limits = ConnLimits {
            header_read_timeout: Duration::from_millis(100),
            idle_timeout: Duration::from_millis(1000),
            ..ConnLimits::default()
        };
        let c = Clock::new();
        // A new connection: its first head is timed from the start.
        assert_eq!(c.deadline(&limits), Some(100));
        c.started();
        assert_eq!(c.deadline(&limits), None);
        c.done();
        // Answered: idle from the last byte.
        let idle = c.deadline(&limits).unwrap_or(0);
        assert!((1000..1100).contains(&idle), "{idle}");
        // A byte of the next head: the header timeout again, from that byte.
        c.read();
        let head = c.deadline(&limits).unwrap_or(0);
        assert!((100..200).contains(&head), "{head}");
    }
}
