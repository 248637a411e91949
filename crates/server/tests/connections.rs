//! Connections through real sockets (docs/security.md, "Found by attacking `writ serve`"):
//! idle and slow connections are closed (header read, keep-alive idle, TLS handshake),
//! the cap on open connections holds, and a body that trickles holds no decision slot
//! (408 once its time is up).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use writ_server::ConnLimits;

/// How long a test waits for the server to close a connection before failing.
const PATIENCE: Duration = Duration::from_secs(10);

fn prod_write() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(common::policies("prod-database/requests/prod-write.json"))
            .unwrap(),
    )
    .unwrap()
}

/// Reads until the server closes the connection; what it sent, and how long it took.
async fn until_closed(s: &mut TcpStream) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        let mut chunk = [0u8; 4096];
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    (buf, started.elapsed())
}

/// Reads one response with a `Content-Length` off a kept-alive connection.
async fn one_response(s: &mut TcpStream) -> common::Resp {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(PATIENCE, s.read(&mut chunk))
            .await
            .expect("a response")
            .unwrap();
        assert!(n > 0, "closed before the response");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if buf.len() >= end + 4 + len {
                return common::parse(&buf);
            }
        }
    }
}

fn decide_bytes(addr: SocketAddr, keep_alive: bool) -> Vec<u8> {
    let body = prod_write().to_string();
    let conn = if keep_alive { "keep-alive" } else { "close" };
    let mut req = format!(
        "POST /v1/decide HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nConnection: {conn}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body.as_bytes());
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_no_request_is_closed() {
    let s = common::start(&common::policies("prod-database"), |c| {
        c.limits.connections = ConnLimits {
            header_read_timeout: Duration::from_millis(300),
            ..ConnLimits::default()
        };
    })
    .await;
    // Nothing at all.
    let mut silent = TcpStream::connect(s.addr).await.unwrap();
    let (sent, took) = until_closed(&mut silent).await;
    assert!(sent.is_empty() || sent.starts_with(b"HTTP/1.1 408"));
    assert!(took >= Duration::from_millis(250), "{took:?}");
    // Half a request head, then nothing (slowloris).
    let mut slow = TcpStream::connect(s.addr).await.unwrap();
    slow.write_all(b"POST /v1/decide HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    until_closed(&mut slow).await;
    // The server still answers.
    assert_eq!(
        common::post(s.addr, "/v1/decide", &prod_write())
            .await
            .status,
        200
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_is_closed_when_idle() {
    let s = common::start(&common::policies("prod-database"), |c| {
        c.limits.connections = ConnLimits {
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_millis(300),
            ..ConnLimits::default()
        };
    })
    .await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    // Two requests on one connection: keep-alive works.
    for _ in 0..2 {
        c.write_all(&decide_bytes(s.addr, true)).await.unwrap();
        let r = one_response(&mut c).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    // Then idle: closed after the idle timeout, well before the header timeout.
    let (sent, took) = until_closed(&mut c).await;
    assert!(sent.is_empty());
    assert!(took < Duration::from_secs(20), "{took:?}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_head_trickled_on_a_kept_alive_connection_is_timed_from_its_first_byte() {
    let s = common::start(&common::policies("prod-database"), |c| {
        c.limits.connections = ConnLimits {
            header_read_timeout: Duration::from_millis(400),
            idle_timeout: Duration::from_secs(60),
            ..ConnLimits::default()
        };
    })
    .await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    c.write_all(&decide_bytes(s.addr, true)).await.unwrap();
    assert_eq!(one_response(&mut c).await.status, 200);
    // The next head, a byte at a time: bytes keep coming, so only the header timeout
    // (not the idle one, a minute) can end it.
    let started = Instant::now();
    let head = b"POST /v1/decide HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut closed = false;
    for byte in head {
        if c.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(100), c.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(_)) | Err(_) => {}
        }
    }
    assert!(
        closed,
        "the trickled head was read for {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_connections_are_closed_at_once() {
    let s = common::start(&common::policies("prod-database"), |c| {
        c.limits.connections = ConnLimits {
            max_connections: 4,
            header_read_timeout: Duration::from_secs(30),
            ..ConnLimits::default()
        };
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut c = TcpStream::connect(s.addr).await.unwrap();
        // A first byte each, so that each is surely accepted (and counted) in order.
        c.write_all(b"P").await.unwrap();
        held.push(c);
    }
    // The fifth: accepted by the kernel, closed by the server without a byte, at once
    // (not after the 30 s header timeout).
    let mut fifth = TcpStream::connect(s.addr).await.unwrap();
    let _ = fifth.write_all(&decide_bytes(s.addr, false)).await;
    let (sent, took) = until_closed(&mut fifth).await;
    assert!(sent.is_empty(), "{}", String::from_utf8_lossy(&sent));
    assert!(took < Duration::from_secs(5), "{took:?}");
    // The admin listener is not behind the API's cap, and counts the refusal.
    let admin = s.admin_addr.unwrap();
    assert_eq!(common::get(admin, "/livez").await.status, 200);
    let metrics = common::get(admin, "/metrics").await.text();
    assert!(
        metrics.contains("writ_connections_refused_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("writ_connections_open 4"), "{metrics}");
    // The held ones are still served.
    let mut first = held.remove(0);
    first
        .write_all(&decide_bytes(s.addr, false)[1..])
        .await
        .unwrap();
    let (sent, _) = until_closed(&mut first).await;
    assert_eq!(common::parse(&sent).status, 200);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_handshake_that_never_comes_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let ca = writ_testkit::pki::TestCa::new("writ test ca");
    let (cert, key) = ca.server().write(dir.path(), "server");
    let s = common::start(&common::policies("prod-database"), |c| {
        c.tls = Some(writ_server::TlsFiles {
            cert,
            key,
            client_ca: None,
        });
        c.limits.connections = ConnLimits {
            handshake_timeout: Duration::from_millis(300),
            ..ConnLimits::default()
        };
    })
    .await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    let (_, took) = until_closed(&mut c).await;
    assert!(took >= Duration::from_millis(250), "{took:?}");
    // A real client still gets in.
    let tls = common::tls_client(ca.cert_der(), None);
    let r = common::tls_post(s.addr, &tls, "/v1/decide", &[], &prod_write())
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_body_holds_no_slot_and_is_answered_408() {
    let s = common::start(&common::policies("prod-database"), |c| {
        c.limits.max_in_flight = 1;
        c.limits.body_read_timeout = Duration::from_millis(500);
    })
    .await;
    // The head, then wait for `100 Continue`: the server is reading the body now.
    let mut slow = TcpStream::connect(s.addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /v1/decide HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 100\r\nConnection: close\r\n\r\n",
            s.addr
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut cont = [0u8; 25];
    tokio::time::timeout(PATIENCE, slow.read_exact(&mut cont))
        .await
        .unwrap()
        .unwrap();
    assert!(cont.starts_with(b"HTTP/1.1 100"));
    slow.write_all(b"{\"action\"").await.unwrap();
    // The only slot is free for a whole request meanwhile.
    let r = common::post(s.addr, "/v1/decide", &prod_write()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The slow one: 408 with the JSON error body.
    let (sent, _) = until_closed(&mut slow).await;
    let r = common::parse(&sent);
    assert_eq!(r.status, 408, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], json!("body_timeout"));
    s.shutdown().await;
}
