//! Rate limits of the approver's pages, in fixed one-minute windows (in this process:
//! each replica counts its own): sign-in challenges asked for and sign-in or answer
//! attempts, per source address, before any evidence is checked; sign-ins per approver
//! once their passkey has signed (a stranger cannot spend an approver's allowance); answers
//! per signed-in approver. Past a limit the request is answered 429 with `Retry-After`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// How many sign-ins and answers are allowed per minute.
#[derive(Clone, Debug)]
pub struct WebLimits {
    /// Per source address (every approver behind it together): sign-in and answer
    /// attempts, and apart from them sign-in challenges asked for; 60 by default.
    pub per_address_per_minute: u32,
    /// Per approver: sign-ins with one of their passkeys (counted once it has signed), and
    /// apart from them answers as them; 20 by default.
    pub per_approver_per_minute: u32,
}

impl Default for WebLimits {
    fn default() -> Self {
        WebLimits {
            per_address_per_minute: 60,
            per_approver_per_minute: 20,
        }
    }
}

/// The most keys kept; past it, keys not counted yet share one window.
const MAX_KEYS: usize = 100_000;
const WINDOW: Duration = Duration::from_secs(60);
/// The window every new key shares while the table is full.
const OVERFLOW: &str = "*";

/// Fixed-window counters.
pub(crate) struct RateLimits {
    limits: WebLimits,
    table: Mutex<Table>,
}

/// The windows by key, and the keys in the order their windows started: the ended ones
/// are dropped from the front, each once (no scan of the table).
#[derive(Default)]
struct Table {
    windows: HashMap<String, (Instant, u32)>,
    started: VecDeque<(Instant, String)>,
}

/// A request past its limit: 429 with `Retry-After` (seconds).
#[derive(Debug)]
pub(crate) struct Limited {
    what: &'static str,
    retry_after: u64,
}

impl IntoResponse for Limited {
    fn into_response(self) -> Response {
        let mut resp = crate::body::ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "too many sign-ins or answers from this {} in a minute: wait {} s and try again",
                self.what, self.retry_after
            ),
        )
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&self.retry_after.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// What a rate-limited handler fails with: an API error, or 429 with `Retry-After`.
#[derive(Debug)]
pub(crate) enum WebError {
    /// Any refusal.
    Api(crate::body::ApiError),
    /// Past a rate limit.
    Limited(Limited),
}

impl From<crate::body::ApiError> for WebError {
    fn from(e: crate::body::ApiError) -> WebError {
        WebError::Api(e)
    }
}

impl From<Limited> for WebError {
    fn from(l: Limited) -> WebError {
        WebError::Limited(l)
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::Api(e) => e.into_response(),
            WebError::Limited(l) => l.into_response(),
        }
    }
}

impl RateLimits {
    pub(crate) fn new(limits: WebLimits) -> RateLimits {
        RateLimits {
            limits,
            table: Mutex::new(Table::default()),
        }
    }

    /// Counts one sign-in or answer attempt from `address`.
    pub(crate) fn address(&self, address: &str) -> Result<(), Limited> {
        self.count(
            format!("a:{address}"),
            self.limits.per_address_per_minute,
            "address",
        )
    }

    /// Counts one sign-in challenge asked for from `address`.
    pub(crate) fn options(&self, address: &str) -> Result<(), Limited> {
        self.count(
            format!("o:{address}"),
            self.limits.per_address_per_minute,
            "address",
        )
    }

    /// Counts one verified sign-in of `approver`.
    pub(crate) fn sign_in(&self, approver: &str) -> Result<(), Limited> {
        self.count(
            format!("s:{approver}"),
            self.limits.per_approver_per_minute,
            "approver",
        )
    }

    /// Counts one answer by the signed-in `approver`.
    pub(crate) fn approver(&self, approver: &str) -> Result<(), Limited> {
        self.count(
            format!("p:{approver}"),
            self.limits.per_approver_per_minute,
            "approver",
        )
    }

    fn count(&self, key: String, limit: u32, what: &'static str) -> Result<(), Limited> {
        let now = Instant::now();
        let mut table = self
            .table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let t = &mut *table;
        // Every window in the table started less than a minute ago.
        while let Some((start, _)) = t.started.front() {
            if now.duration_since(*start) < WINDOW {
                break;
            }
            if let Some((start, k)) = t.started.pop_front() {
                if t.windows.get(&k).is_some_and(|w| w.0 == start) {
                    t.windows.remove(&k);
                }
            }
        }
        let key = if t.windows.len() >= MAX_KEYS && !t.windows.contains_key(&key) {
            OVERFLOW.to_string()
        } else {
            key
        };
        let entry = match t.windows.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                t.started.push_back((now, e.key().clone()));
                e.insert((now, 0))
            }
        };
        if entry.1 >= limit {
            let left = WINDOW.saturating_sub(now.duration_since(entry.0));
            return Err(Limited {
                what,
                retry_after: left.as_secs().max(1),
            });
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_is_limited_on_its_own() {
        let r = RateLimits::new(WebLimits {
            per_address_per_minute: 2,
            per_approver_per_minute: 1,
        });
        assert!(r.address("10.0.0.1").is_ok());
        assert!(r.address("10.0.0.1").is_ok());
        let refused = r.address("10.0.0.1");
        assert!(refused.as_ref().is_err_and(|l| l.retry_after >= 1));
        assert!(r.address("10.0.0.2").is_ok());
        assert!(r.approver("dana").is_ok());
        assert!(r.approver("dana").is_err());
        assert!(r.approver("erin").is_ok());
        // Sign-ins and answers, challenges and attempts: each counted apart.
        assert!(r.sign_in("dana").is_ok());
        assert!(r.options("10.0.0.1").is_ok());
    }

    #[test]
    fn a_full_table_counts_new_keys_together_without_growing() {
        let r = RateLimits::new(WebLimits {
            per_address_per_minute: 2,
            per_approver_per_minute: 2,
        });
        for i in 0..MAX_KEYS {
            assert!(r.address(&format!("10.{i}")).is_ok());
        }
        assert!(r.address("new-1").is_ok());
        assert!(r.address("new-2").is_ok());
        assert!(r.address("new-3").is_err());
        let t = r.table.lock().unwrap();
        assert_eq!(t.windows.len(), MAX_KEYS + 1);
        assert_eq!(t.started.len(), MAX_KEYS + 1);
    }
}
