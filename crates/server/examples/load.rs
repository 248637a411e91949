//! A loopback load generator for `benches/serve.sh`, for the runs wrk cannot make: HTTP/1.1
//! keep-alive over TLS with a client certificate (mutual TLS), and the same load in the clear
//! so that the two compare with one tool.
//!
//! ```sh
//! load certs DIR                   # a CA, a server certificate for 127.0.0.1, a client
//!                                  # certificate (spiffe://bench.writ/pep) and callers.toml
//! load run URL BODY CONNECTIONS MILLIS [DIR]   # with DIR: over TLS, presenting DIR's client
//! ```
//!
//! `run` prints one line: `requests rps p50_us p99_us errors` (every answer but a 200 is an
//! error). Each connection sends its next request when the last answer is read whole.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The client's SPIFFE ID, named an enforcement point in the callers.toml `certs` writes.
const CLIENT_ID: &str = "spiffe://bench.writ/pep";

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["certs", dir] => certs(Path::new(dir)),
        ["run", url, body, conns, millis, rest @ ..] => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(run(
                url,
                &std::fs::read(body)?,
                conns.parse()?,
                Duration::from_millis(millis.parse()?),
                rest.first().map(Path::new),
            ))
        }
        _ => Err("usage: load certs DIR | load run URL BODY CONNECTIONS MILLIS [DIR]".into()),
    }
}

/// Writes `ca.pem`, `server.pem`/`server.key`, `client.pem`/`client.key` and `callers.toml`.
fn certs(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir)?;
    let ca = writ_testkit::pki::TestCa::new("writ bench CA");
    ca.write(dir, "ca");
    ca.server().write(dir, "server");
    ca.client(CLIENT_ID).write(dir, "client");
    std::fs::write(
        dir.join("callers.toml"),
        format!(
            "trust_domains = [\"bench.writ\"]\n\n[[enforcement_point]]\nid = \"{CLIENT_ID}\"\n"
        ),
    )?;
    Ok(())
}

/// A TLS client trusting `dir/ca.pem` and presenting `dir/client.pem`.
fn connector(dir: &Path) -> Result<tokio_rustls::TlsConnector, Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(dir.join("ca.pem"))?)?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_client_auth_cert(
        vec![CertificateDer::from_pem_file(dir.join("client.pem"))?],
        PrivateKeyDer::from_pem_file(dir.join("client.key"))?,
    )?;
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// What one connection measured.
#[derive(Default)]
struct Tally {
    latencies_ns: Vec<u64>,
    errors: u64,
}

async fn run(
    url: &str,
    body: &[u8],
    connections: usize,
    duration: Duration,
    tls: Option<&Path>,
) -> Result<(), Error> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or("the URL must start with http:// or https://")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    let request: Arc<[u8]> = request.into();
    let connector = tls.map(connector).transpose()?;
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let tcp = TcpStream::connect(host).await?;
        tcp.set_nodelay(true)?;
        let request = request.clone();
        tasks.push(match &connector {
            Some(c) => {
                let name = rustls::pki_types::ServerName::try_from("localhost")?;
                let stream = c.connect(name, tcp).await?;
                tokio::spawn(async move { drive(stream, &request, deadline).await })
            }
            None => tokio::spawn(async move { drive(tcp, &request, deadline).await }),
        });
    }
    let started = Instant::now();
    let mut all = Tally::default();
    for t in tasks {
        let t = t.await?;
        all.latencies_ns.extend(t.latencies_ns);
        all.errors += t.errors;
    }
    let took = started.elapsed().as_secs_f64();
    all.latencies_ns.sort_unstable();
    let pct = |p: f64| {
        let n = all.latencies_ns.len();
        all.latencies_ns
            .get(((n.saturating_sub(1)) as f64 * p).round() as usize)
            .map_or(0.0, |&ns| ns as f64 / 1000.0)
    };
    let n = all.latencies_ns.len() as u64 + all.errors;
    println!(
        "{n} {:.0} {:.0} {:.0} {}",
        n as f64 / took,
        pct(0.5),
        pct(0.99),
        all.errors
    );
    Ok(())
}

/// Sends `request` on `stream` until `deadline`, one at a time, timing each answer.
async fn drive<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
    deadline: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let mut buf = Vec::with_capacity(16 * 1024);
    while Instant::now() < deadline {
        let sent = Instant::now();
        if stream.write_all(request).await.is_err() {
            tally.errors += 1;
            break;
        }
        match read_response(&mut stream, &mut buf).await {
            Some(200) => tally.latencies_ns.push(sent.elapsed().as_nanos() as u64),
            Some(_) => tally.errors += 1,
            None => {
                tally.errors += 1;
                break;
            }
        }
    }
    tally
}

/// Reads one response (a head with `Content-Length`, then that many bytes); its status.
async fn read_response<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> Option<u16> {
    buf.clear();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse().ok())
            .flatten()
    })?;
    let mut have = buf.len() - head_end;
    while have < length {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        have += n;
    }
    Some(status)
}
