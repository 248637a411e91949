//! The shared store for several replicas: Redis. Consumption is one `SET NX` with an
//! expiry; challenge state is read and written under `WATCH`/`MULTI`/`EXEC`, retried when
//! another replica changed it in between, so two approvals racing on two replicas are
//! both counted, each approver once; sign counts advance by a compare-and-set script; a
//! grant's use (consumed once, or an elevation's use counted) and its revocation are one
//! script each, so every replica sees them in one order.
//! Every call has a timeout: an unreachable Redis is an error, never a silent pass. Every
//! expiry is a duration (`EX`) from the writing replica's clock, never an instant: Redis's
//! clock and the engine's (an injected one included) need not agree.
//!
//! The URL is `redis://[user:password@]host:port/db`, or `rediss://…` for TLS (rustls):
//! the server's certificate is checked against the system's roots, or against the CA in
//! a PEM file named by a `ca_file` query parameter
//! (`rediss://writ:secret@redis.internal:6380/0?ca_file=/etc/writ/redis-ca.pem`), which
//! writ reads and removes before the URL reaches the client. `user:password` is a Redis
//! ACL user (`AUTH user password`); a password alone (`:password@`) is the default user's.

use std::sync::Mutex;
use std::time::Duration;

use redis::{Client, Connection, Value};

use crate::challenge::Challenge;
use crate::encode::b64;
use crate::error::{Error, Refusal};
use crate::store::{
    admit, decode, encode, GrantUse, OpenLimits, Opened, OtpLimits, OtpRecord, Revocation,
    StateStore, Update, Updated, RETENTION_S,
};

/// Seconds added to every expiry, for clocks that disagree with Redis's.
const CLOCK_MARGIN_S: i64 = 300;

/// How many times an optimistic transaction is retried before it gives up.
const RETRIES: usize = 64;

const ADVANCE_SIGN_COUNT: &str = r"
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[1])
if floor > cur then cur = floor end
local new = tonumber(ARGV[2])
if new > cur then
  redis.call('SET', KEYS[1], new)
  return -1
elseif new == 0 and cur == 0 then
  return -1
end
return cur
";

/// One more event in a window (`count_event`), atomically: KEYS[1] the event's hash;
/// ARGV[1] the window. Returns {count, previous window or -1, its count}.
const COUNT_EVENT: &str = r"
local w = redis.call('HGET', KEYS[1], 'w')
local c = tonumber(redis.call('HGET', KEYS[1], 'c') or '0')
local out
if w == ARGV[1] then
  c = c + 1
  redis.call('HSET', KEYS[1], 'c', c)
  out = {c, -1, 0}
else
  redis.call('HSET', KEYS[1], 'w', ARGV[1], 'c', 1)
  if w then out = {1, tonumber(w), c} else out = {1, -1, 0} end
end
redis.call('EXPIRE', KEYS[1], 86400)
return out
";

/// One more failed one-time code (see [`OtpRecord::failed`]), atomically: KEYS[1] the
/// approver's hash; ARGV consecutive, total, now, lockout_s. Returns the record's fields.
const OTP_FAILED: &str = r"
local f = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local consecutive = tonumber(ARGV[1])
local total = tonumber(ARGV[2])
if total > 0 and f >= total then
  redis.call('HSET', KEYS[1], 'blocked', 1)
elseif consecutive > 0 and f % consecutive == 0 then
  redis.call('HSET', KEYS[1], 'locked_until', tonumber(ARGV[3]) + tonumber(ARGV[4]))
end
local r = redis.call('HMGET', KEYS[1], 'failures', 'locked_until', 'blocked')
return {tonumber(r[1]) or 0, tonumber(r[2]) or 0, tonumber(r[3]) or 0}
";

/// One more use of a grant (`use_grant`), atomically with revocations: KEYS[1] the
/// revocation key, KEYS[2] the use key (`jti:` for a single-use grant, as `consume` writes
/// it; `use:` for an elevation); ARGV[1] the expiry in seconds (a duration), ARGV[2] `1` for
/// an elevation. Returns -1 revoked, 0 a single-use grant used before, else the use number.
const USE_GRANT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
if ARGV[2] == '1' then
  local n = redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[1]))
  return n
end
if redis.call('SET', KEYS[2], 1, 'NX', 'EX', tonumber(ARGV[1])) then return 1 end
return 0
";

/// Revokes a grant (`revoke_grant`), atomically with its uses: KEYS[1] the revocation key,
/// KEYS[2] the single-use key, KEYS[3] the elevation's use count; ARGV[1] the expiry in
/// seconds. Returns {1 when this call revoked it, uses so far}.
const REVOKE_GRANT: &str = r"
local first = 0
if redis.call('SET', KEYS[1], 1, 'NX', 'EX', tonumber(ARGV[1])) then first = 1 end
local once = tonumber(redis.call('GET', KEYS[2]) or '0')
local uses = tonumber(redis.call('GET', KEYS[3]) or '0')
return {first, once + uses}
";

/// An accepted code forgets the failures, unless codes are blocked (an administrator
/// resets those).
const OTP_SUCCEEDED: &str = r"
if redis.call('HGET', KEYS[1], 'blocked') ~= '1' then
  redis.call('DEL', KEYS[1])
end
return 0
";

/// How long Redis keeps a challenge that accepts answers until `expires_at`, seconds from
/// `now` on the same clock: its lifetime left plus [`RETENTION_S`], at least one second.
fn keep_for(expires_at: i64, now: i64) -> i64 {
    expires_at
        .saturating_sub(now)
        .saturating_add(RETENTION_S)
        .max(1)
}

/// A record kept until `keep_until` (the caller's clock) as a relative expiry with a
/// margin: Redis's clock, not this replica's, decides when the key goes, and a replica
/// running behind must never hand Redis an instant that is already past for it (the key
/// would vanish at once).
fn expiry_s(keep_until: i64, now: i64) -> i64 {
    keep_until
        .saturating_sub(now)
        .max(1)
        .saturating_add(CLOCK_MARGIN_S)
}

fn otp_record_of(fields: &[Option<i64>]) -> OtpRecord {
    let at = |i: usize| fields.get(i).copied().flatten().unwrap_or(0);
    OtpRecord {
        failures: u32::try_from(at(0)).unwrap_or(u32::MAX),
        locked_until: at(1),
        blocked: at(2) == 1,
    }
}

/// The Redis-backed store.
pub struct RedisStore {
    client: Client,
    prefix: String,
    timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn unreachable(e: redis::RedisError) -> Error {
    if e.is_timeout() {
        // The socket's own words ("Resource temporarily unavailable") say nothing useful.
        return Error::Store(
            "redis: no answer within the timeout (is the server overloaded, or is something else listening at that address?)".into(),
        );
    }
    Error::Store(format!("redis: {e}"))
}

impl RedisStore {
    /// A store at `url` (`redis://host:port/db`), keys under `prefix` (e.g. `writ:`), each
    /// call bounded by `timeout`. Connects once now, so a wrong address fails at start.
    pub fn open(url: &str, prefix: &str, timeout: Duration) -> Result<RedisStore, Error> {
        let store = Self::lazy(url, prefix, timeout)?;
        let mut con = store.connect()?;
        redis::cmd("PING")
            .query::<String>(&mut con)
            .map_err(unreachable)?;
        store.give_back(con);
        Ok(store)
    }

    /// A store at `url` that connects on first use: a Redis that is down now makes each
    /// operation fail (a redemption is then refused as `store_unavailable`), not the start.
    pub fn lazy(url: &str, prefix: &str, timeout: Duration) -> Result<RedisStore, Error> {
        // Never echo the URL (it may carry a password) nor the client's own wording.
        let invalid = || {
            Error::Store("the redis url is not valid: write it as `redis://host:port/db` (`redis://user:password@host:port/db` for an ACL user; `rediss://…` for TLS, with `?ca_file=PATH` for a private CA)".into())
        };
        let (url, ca_file) = split_ca_file(url).ok_or_else(invalid)?;
        let tls = url.starts_with("rediss://");
        let client = match (tls, ca_file) {
            (false, Some(_)) => {
                return Err(Error::Store(
                    "the redis url names a `ca_file` but is not `rediss://`: a CA is for TLS connections".into(),
                ))
            }
            (false, None) => Client::open(url.as_str()).map_err(|_| invalid())?,
            (true, ca_file) => {
                // The one provider compiled in; installed for the process unless the
                // embedding application chose one already.
                let _ = rustls::crypto::ring::default_provider().install_default();
                match ca_file {
                    None => Client::open(url.as_str()).map_err(|_| invalid())?,
                    Some(path) => {
                        let pem = std::fs::read(&path).map_err(|e| {
                            Error::Store(format!("cannot read the redis CA file `{path}`: {e}"))
                        })?;
                        let certs = redis::TlsCertificates {
                            client_tls: None,
                            root_cert: Some(pem),
                        };
                        Client::build_with_tls(url.as_str(), certs).map_err(|_| {
                            Error::Store(format!(
                                "the redis url or its CA file `{path}` is not valid (a PEM certificate is expected)"
                            ))
                        })?
                    }
                }
            }
        };
        Ok(RedisStore {
            client,
            prefix: prefix.to_string(),
            timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    fn connect(&self) -> Result<Connection, Error> {
        let con = self
            .client
            .get_connection_with_timeout(self.timeout)
            .map_err(unreachable)?;
        con.set_read_timeout(Some(self.timeout))
            .map_err(unreachable)?;
        con.set_write_timeout(Some(self.timeout))
            .map_err(unreachable)?;
        Ok(con)
    }

    fn take(&self) -> Result<Connection, Error> {
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        match pooled {
            Some(c) => Ok(c),
            None => self.connect(),
        }
    }

    fn give_back(&self, con: Connection) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < 32 {
            idle.push(con);
        }
    }

    /// Runs `f` on a pooled connection; a connection that failed is dropped, not reused.
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, Error>) -> Result<T, Error> {
        let mut con = self.take()?;
        let out = f(&mut con);
        if out.is_ok() {
            self.give_back(con);
        }
        out
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }
}

/// The URL without its `ca_file` query parameter, and that parameter's value (a path).
/// `None` when `ca_file` is given twice or empty.
fn split_ca_file(url: &str) -> Option<(String, Option<String>)> {
    let Some((base, query)) = url.split_once('?') else {
        return Some((url.to_string(), None));
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let mut ca = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("ca_file=") {
            Some(path) if !path.is_empty() && ca.is_none() => ca = Some(path.to_string()),
            Some(_) => return None,
            None => kept.push(pair),
        }
    }
    let mut out = base.to_string();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    Some((out, ca))
}

fn exec_aborted(v: &Value) -> bool {
    matches!(v, Value::Nil)
}

impl StateStore for RedisStore {
    /// Read on every call (one round trip), never cached: a Redis flushed while this
    /// process runs has forgotten what was consumed, and its new identity makes the grants
    /// issued before it refused instead of redeemable again.
    fn identity(&self) -> Result<String, Error> {
        let key = format!("{}store_id", self.prefix);
        self.with(|con| {
            let candidate = crate::encode::new_id("st_")?;
            // The first replica to ask names the store; everyone reads that name (one
            // round trip: both commands in one pipeline).
            let (id,): (Option<String>,) = redis::pipe()
                .cmd("SET")
                .arg(&key)
                .arg(&candidate)
                .arg("NX")
                .ignore()
                .cmd("GET")
                .arg(&key)
                .query(con)
                .map_err(unreachable)?;
            id.ok_or_else(|| Error::Store("redis: the store id vanished as it was written".into()))
        })
    }

    fn open(
        &self,
        challenge: Challenge,
        limits: &OpenLimits,
        now: i64,
    ) -> Result<Result<Opened, Refusal>, Error> {
        let principal = challenge.requester.principal.clone().unwrap_or_default();
        let pr_key = self.key("pr", &principal);
        let dn_key = self.key("dn", &principal);
        self.with(|con| {
            for _ in 0..RETRIES {
                redis::cmd("WATCH")
                    .arg(&pr_key)
                    .arg(&dn_key)
                    .query::<()>(con)
                    .map_err(unreachable)?;
                let ids: Vec<String> = redis::cmd("SMEMBERS")
                    .arg(&pr_key)
                    .query(con)
                    .map_err(unreachable)?;
                let keys: Vec<String> = ids.iter().map(|id| self.key("ch", id)).collect();
                let mut open = Vec::new();
                let mut gone = Vec::new();
                if !keys.is_empty() {
                    redis::cmd("WATCH")
                        .arg(&keys)
                        .query::<()>(con)
                        .map_err(unreachable)?;
                    let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                        .arg(&keys)
                        .query(con)
                        .map_err(unreachable)?;
                    for (id, v) in ids.iter().zip(values) {
                        match v {
                            Some(bytes) => open.push(decode(&bytes)?),
                            None => gone.push(id.clone()),
                        }
                    }
                }
                let denials: Vec<i64> = redis::cmd("LRANGE")
                    .arg(&dn_key)
                    .arg(0)
                    .arg(-1)
                    .query(con)
                    .map_err(unreachable)?;
                let outcome = admit(challenge.clone(), &open, &denials, limits, now);
                let mut pipe = redis::pipe();
                pipe.atomic();
                if let Ok(Opened::New(c) | Opened::Merged(c)) = &outcome {
                    // A duration from this writer's clock, never an instant: Redis's clock
                    // and an injected one (tests, simulations) may disagree by years, and
                    // an instant already past for Redis would drop the challenge at once.
                    pipe.cmd("SET")
                        .arg(self.key("ch", &c.id))
                        .arg(encode(c)?)
                        .arg("EX")
                        .arg(keep_for(c.expires_at, now))
                        .ignore();
                    pipe.cmd("SADD").arg(&pr_key).arg(&c.id).ignore();
                    pipe.cmd("EXPIRE")
                        .arg(&pr_key)
                        .arg(2 * RETENTION_S)
                        .ignore();
                }
                if !gone.is_empty() {
                    pipe.cmd("SREM").arg(&pr_key).arg(&gone).ignore();
                }
                let v: Value = pipe.query(con).map_err(unreachable)?;
                if !exec_aborted(&v) {
                    return Ok(outcome);
                }
            }
            Err(Error::Store(
                "redis: too much contention opening a challenge".into(),
            ))
        })
    }

    fn get(&self, id: &str) -> Result<Option<Challenge>, Error> {
        let key = self.key("ch", id);
        self.with(|con| {
            let v: Option<Vec<u8>> = redis::cmd("GET")
                .arg(&key)
                .query(con)
                .map_err(unreachable)?;
            v.map(|b| decode(&b)).transpose()
        })
    }

    fn update(
        &self,
        id: &str,
        f: &mut dyn FnMut(&mut Challenge) -> Update<Result<(), Refusal>>,
    ) -> Result<Updated, Error> {
        let key = self.key("ch", id);
        self.with(|con| {
            for _ in 0..RETRIES {
                redis::cmd("WATCH")
                    .arg(&key)
                    .query::<()>(con)
                    .map_err(unreachable)?;
                let v: Option<Vec<u8>> = redis::cmd("GET")
                    .arg(&key)
                    .query(con)
                    .map_err(unreachable)?;
                let Some(bytes) = v else {
                    redis::cmd("UNWATCH")
                        .query::<()>(con)
                        .map_err(unreachable)?;
                    return Ok(None);
                };
                let mut c = decode(&bytes)?;
                match f(&mut c) {
                    Update::Keep(r) => {
                        redis::cmd("UNWATCH")
                            .query::<()>(con)
                            .map_err(unreachable)?;
                        return Ok(Some((c, r)));
                    }
                    Update::Write(r) => {
                        let mut pipe = redis::pipe();
                        // The expiry set when the challenge was opened stays (its expiry
                        // never moves): a duration from the opener's clock.
                        pipe.atomic()
                            .cmd("SET")
                            .arg(&key)
                            .arg(encode(&c)?)
                            .arg("KEEPTTL")
                            .ignore();
                        let v: Value = pipe.query(con).map_err(unreachable)?;
                        if !exec_aborted(&v) {
                            return Ok(Some((c, r)));
                        }
                    }
                }
            }
            Err(Error::Store(
                "redis: too much contention updating a challenge".into(),
            ))
        })
    }

    fn record_denial(&self, principal: &str, now: i64) -> Result<(), Error> {
        let key = self.key("dn", principal);
        self.with(|con| {
            let mut pipe = redis::pipe();
            pipe.atomic()
                .cmd("LPUSH")
                .arg(&key)
                .arg(now)
                .ignore()
                .cmd("LTRIM")
                .arg(&key)
                .arg(0)
                .arg(99)
                .ignore()
                .cmd("EXPIRE")
                .arg(&key)
                .arg(RETENTION_S)
                .ignore();
            pipe.query::<Value>(con).map_err(unreachable)?;
            Ok(())
        })
    }

    fn consume(&self, jti: &str, keep_until: i64, now: i64) -> Result<bool, Error> {
        let key = self.key("jti", jti);
        let seconds = expiry_s(keep_until, now);
        self.with(|con| {
            let set: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(1)
                .arg("NX")
                .arg("EX")
                .arg(seconds)
                .query(con)
                .map_err(unreachable)?;
            Ok(set.is_some())
        })
    }

    fn use_grant(
        &self,
        jti: &str,
        repeat: bool,
        keep_until: i64,
        now: i64,
    ) -> Result<GrantUse, Error> {
        let revoked = self.key("rv", jti);
        let used = self.key(if repeat { "use" } else { "jti" }, jti);
        let seconds = expiry_s(keep_until, now);
        self.with(|con| {
            let n: i64 = redis::Script::new(USE_GRANT)
                .key(&revoked)
                .key(&used)
                .arg(seconds)
                .arg(if repeat { "1" } else { "0" })
                .invoke(con)
                .map_err(unreachable)?;
            Ok(match n {
                ..0 => GrantUse::Revoked,
                0 => GrantUse::Replayed,
                n => GrantUse::Counted(u64::try_from(n).unwrap_or(u64::MAX)),
            })
        })
    }

    fn revoke_grant(&self, jti: &str, keep_until: i64, now: i64) -> Result<Revocation, Error> {
        let seconds = expiry_s(keep_until, now);
        let keys = [
            self.key("rv", jti),
            self.key("jti", jti),
            self.key("use", jti),
        ];
        self.with(|con| {
            let (first, uses): (i64, i64) = redis::Script::new(REVOKE_GRANT)
                .key(&keys[0])
                .key(&keys[1])
                .key(&keys[2])
                .arg(seconds)
                .invoke(con)
                .map_err(unreachable)?;
            Ok(Revocation {
                first: first == 1,
                uses: u64::try_from(uses).unwrap_or(0),
            })
        })
    }

    fn otp_record(&self, approver: &str) -> Result<OtpRecord, Error> {
        let key = self.key("otp", approver);
        self.with(|con| {
            let fields: Vec<Option<i64>> = redis::cmd("HMGET")
                .arg(&key)
                .arg("failures")
                .arg("locked_until")
                .arg("blocked")
                .query(con)
                .map_err(unreachable)?;
            Ok(otp_record_of(&fields))
        })
    }

    fn otp_failed(&self, approver: &str, limits: &OtpLimits, now: i64) -> Result<OtpRecord, Error> {
        let key = self.key("otp", approver);
        self.with(|con| {
            let fields: Vec<Option<i64>> = redis::Script::new(OTP_FAILED)
                .key(&key)
                .arg(limits.consecutive)
                .arg(limits.total)
                .arg(now)
                .arg(limits.lockout_s)
                .invoke(con)
                .map_err(unreachable)?;
            Ok(otp_record_of(&fields))
        })
    }

    fn count_event(&self, name: &str, window: i64) -> Result<(u64, Option<(i64, u64)>), Error> {
        let key = self.key("events", name);
        self.with(|con| {
            let (count, previous, previous_count): (i64, i64, i64) =
                redis::Script::new(COUNT_EVENT)
                    .key(&key)
                    .arg(window)
                    .invoke(con)
                    .map_err(unreachable)?;
            let count = u64::try_from(count).unwrap_or(0);
            let previous =
                (previous != -1).then(|| (previous, u64::try_from(previous_count).unwrap_or(0)));
            Ok((count, previous))
        })
    }

    fn otp_succeeded(&self, approver: &str) -> Result<(), Error> {
        let key = self.key("otp", approver);
        self.with(|con| {
            redis::Script::new(OTP_SUCCEEDED)
                .key(&key)
                .invoke::<i64>(con)
                .map_err(unreachable)?;
            Ok(())
        })
    }

    fn otp_reset(&self, approver: &str) -> Result<bool, Error> {
        let key = self.key("otp", approver);
        self.with(|con| {
            let n: i64 = redis::cmd("DEL")
                .arg(&key)
                .query(con)
                .map_err(unreachable)?;
            Ok(n > 0)
        })
    }

    fn sign_count(&self, credential: &[u8]) -> Result<Option<u32>, Error> {
        let key = self.key("sc", &b64(credential));
        self.with(|con| redis::cmd("GET").arg(&key).query(con).map_err(unreachable))
    }

    fn advance_sign_count(
        &self,
        credential: &[u8],
        floor: u32,
        new: u32,
    ) -> Result<Result<(), u32>, Error> {
        let key = self.key("sc", &b64(credential));
        self.with(|con| {
            let r: i64 = redis::Script::new(ADVANCE_SIGN_COUNT)
                .key(&key)
                .arg(floor)
                .arg(new)
                .invoke(con)
                .map_err(unreachable)?;
            Ok(if r < 0 {
                Ok(())
            } else {
                Err(u32::try_from(r).unwrap_or(u32::MAX))
            })
        })
    }
}
