//! Rate limits of the approver's pages: signing in and answering, counted per source
//! address and per approver in fixed one-minute windows (in this process: each replica
//! counts its own). Past a limit the request is answered 429 with `Retry-After`, before
//! any evidence is checked.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// How many sign-ins and answers are allowed per minute.
#[derive(Clone, Debug)]
pub struct WebLimits {
    /// Per source address (every approver behind it together); 60 by default.
    pub per_address_per_minute: u32,
    /// Per approver (signing in with one of their passkeys, or answering as them); 20 by
    /// default.
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

/// The most keys kept; past it, windows that ended are dropped first.
const MAX_KEYS: usize = 100_000;
const WINDOW: Duration = Duration::from_secs(60);

/// Fixed-window counters.
pub(crate) struct RateLimits {
    limits: WebLimits,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
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
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt from `address`.
    pub(crate) fn address(&self, address: &str) -> Result<(), Limited> {
        self.count(
            format!("a:{address}"),
            self.limits.per_address_per_minute,
            "address",
        )
    }

    /// Counts one attempt for `approver`.
    pub(crate) fn approver(&self, approver: &str) -> Result<(), Limited> {
        self.count(
            format!("p:{approver}"),
            self.limits.per_approver_per_minute,
            "approver",
        )
    }

    fn count(&self, key: String, limit: u32, what: &'static str) -> Result<(), Limited> {
        let now = Instant::now();
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() >= MAX_KEYS {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = windows.entry(key).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
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
    }
}
