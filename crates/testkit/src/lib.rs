//! Test support shared by the workspace's tests and benches: a real `redis-server` on a
//! free loopback port, started for a test and stopped when dropped. Tests never skip
//! when it is missing: they fail and say what to install (`.ci/run` installs it).

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support fails loudly, naming what is missing"
)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

/// A running redis-server, stopped on drop.
pub struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    /// Starts one on a free loopback port, without persistence, and waits for its own word
    /// that it is ready (not a fixed time).
    pub fn start() -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start `redis-server` ({e}): install it (Debian: `apt-get install -y redis-server`; .ci/run does this)")
            });
        let out = child.stdout.take().unwrap();
        for line in BufReader::new(out).lines() {
            if line.unwrap().contains("Ready to accept connections") {
                return Redis { child, port };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("redis-server exited before it was ready");
    }

    /// Its loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
