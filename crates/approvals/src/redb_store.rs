//! The embedded store: one redb file in a state directory. Every operation is one write
//! transaction, committed durably before it returns, so a grant consumed before a crash
//! or restart stays consumed after it. One process opens the file at a time (redb locks
//! it); replicas share Redis instead.

use std::path::Path;

use redb::{
    Database, ReadableDatabase as _, ReadableTable as _, ReadableTableMetadata as _,
    TableDefinition,
};

use crate::challenge::Challenge;
use crate::error::{Error, Refusal};
use crate::store::{
    admit, decode, encode, GrantUse, OpenLimits, Opened, OtpLimits, OtpRecord, Revocation,
    StateStore, Update, Updated, RETENTION_S,
};

const CHALLENGES: TableDefinition<&str, &[u8]> = TableDefinition::new("challenges");
const CONSUMED: TableDefinition<&str, i64> = TableDefinition::new("consumed");
const DENIALS: TableDefinition<&str, &[u8]> = TableDefinition::new("denials");
const SIGN_COUNTS: TableDefinition<&[u8], u32> = TableDefinition::new("sign_counts");
/// Principal → ids of its challenges still within retention (JSON list), so opening a
/// challenge reads the principal's own challenges, not the whole table.
const BY_PRINCIPAL: TableDefinition<&str, &[u8]> = TableDefinition::new("by_principal");
/// The store's own facts: its identity (`store_id`).
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
/// Approver → one-time-code failures ([`OtpRecord`], JSON).
const OTP: TableDefinition<&str, &[u8]> = TableDefinition::new("otp_failures");
/// When expired consumed ids were last removed (`consumed`: unix seconds).
const SWEPT: TableDefinition<&str, i64> = TableDefinition::new("swept");
/// Events counted per window (`count_event`): name → window (8 bytes) ‖ count (8 bytes).
const EVENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("events");
/// Elevation grants' uses (`use_grant` with `repeat`): jti → keep_until (8 bytes,
/// big-endian) ‖ uses (8 bytes).
const USES: TableDefinition<&str, &[u8]> = TableDefinition::new("grant_uses");
/// Revoked grants: jti → keep_until (unix seconds).
const REVOKED: TableDefinition<&str, i64> = TableDefinition::new("revoked");

/// How long past its `keep_until` a consumed id is still kept, seconds (clock margin).
const CONSUMED_MARGIN_S: i64 = 300;

/// The redb-backed store.
pub struct RedbStore {
    db: Database,
    identity: String,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore").finish_non_exhaustive()
    }
}

fn store_err(e: impl std::fmt::Display) -> Error {
    Error::Store(e.to_string())
}

/// How long opening waits for another process that holds the state file.
pub const OPEN_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl RedbStore {
    /// Opens (or creates) `state.redb` in `dir`, creating the directory when needed.
    pub fn open(dir: &Path) -> Result<RedbStore, Error> {
        crate::files::create_private_dir(dir)
            .map_err(|e| Error::Store(format!("cannot create `{}`: {e}", dir.display())))?;
        crate::files::check_private_dir(dir).map_err(Error::Store)?;
        let path = dir.join("state.redb");
        // It holds grant tokens and what was consumed: owner-only from its first byte
        // (redb itself would create it with the umask's mode).
        crate::files::precreate_secret(&path)
            .map_err(|e| Error::Store(format!("cannot create `{}`: {e}", path.display())))?;
        // One process at a time holds the file: short-lived ones (each `writ` command) wait
        // their turn, up to `OPEN_WAIT`, rather than fail.
        let deadline = std::time::Instant::now() + OPEN_WAIT;
        let mut pause = std::time::Duration::from_millis(2);
        let db = loop {
            match Database::create(&path) {
                Ok(db) => break db,
                Err(redb::DatabaseError::DatabaseAlreadyOpen)
                    if std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(50));
                }
                Err(e) => {
                    return Err(Error::Store(format!(
                    "cannot open `{}`: {e} (is another writ process holding this state directory?)",
                    path.display()
                )))
                }
            }
        };
        let txn = db.begin_write().map_err(store_err)?;
        {
            txn.open_table(CHALLENGES).map_err(store_err)?;
            txn.open_table(CONSUMED).map_err(store_err)?;
            txn.open_table(DENIALS).map_err(store_err)?;
            txn.open_table(BY_PRINCIPAL).map_err(store_err)?;
            txn.open_table(SIGN_COUNTS).map_err(store_err)?;
            txn.open_table(OTP).map_err(store_err)?;
            txn.open_table(SWEPT).map_err(store_err)?;
            txn.open_table(EVENTS).map_err(store_err)?;
            txn.open_table(USES).map_err(store_err)?;
            txn.open_table(REVOKED).map_err(store_err)?;
        }
        let identity = {
            let mut meta = txn.open_table(META).map_err(store_err)?;
            let known = meta
                .get("store_id")
                .map_err(store_err)?
                .map(|v| v.value().to_string());
            match known {
                Some(id) => id,
                None => {
                    let id = crate::encode::new_id("st_")?;
                    meta.insert("store_id", id.as_str()).map_err(store_err)?;
                    id
                }
            }
        };
        txn.commit().map_err(store_err)?;
        Ok(RedbStore { db, identity })
    }
}

impl RedbStore {
    /// How often expired consumed ids are removed, seconds: at the first consumption after
    /// this long since the last sweep (the clock is the caller's `now`, so tests move it).
    pub const SWEEP_EVERY_S: i64 = 3600;

    /// How many consumed ids (grants, one-time codes, assertions) are remembered: for
    /// monitoring that expired ones are removed.
    pub fn consumed_len(&self) -> Result<u64, Error> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let table = txn.open_table(CONSUMED).map_err(store_err)?;
        table.len().map_err(store_err)
    }
}

impl StateStore for RedbStore {
    fn identity(&self) -> Result<String, Error> {
        Ok(self.identity.clone())
    }

    fn open(
        &self,
        challenge: Challenge,
        limits: &OpenLimits,
        now: i64,
    ) -> Result<Result<Opened, Refusal>, Error> {
        let txn = self.db.begin_write().map_err(store_err)?;
        let outcome = {
            let mut table = txn.open_table(CHALLENGES).map_err(store_err)?;
            let mut index = txn.open_table(BY_PRINCIPAL).map_err(store_err)?;
            // A request without a principal is indexed under the empty name: such requests
            // share one set of limits.
            let principal = challenge.requester.principal.clone().unwrap_or_default();
            let ids: Vec<String> = {
                let got = index.get(principal.as_str()).map_err(store_err)?;
                match got {
                    Some(v) => serde_json::from_slice(v.value()).map_err(store_err)?,
                    None => Vec::new(),
                }
            };
            let mut open = Vec::new();
            let mut kept = Vec::new();
            for id in ids {
                let c = {
                    let got = table.get(id.as_str()).map_err(store_err)?;
                    got.map(|v| decode(v.value())).transpose()?
                };
                match c {
                    Some(c) if c.expires_at + RETENTION_S < now => {
                        table.remove(id.as_str()).map_err(store_err)?;
                    }
                    Some(c) => {
                        kept.push(id);
                        open.push(c);
                    }
                    None => {}
                }
            }
            let denials: Vec<i64> = {
                let t = txn.open_table(DENIALS).map_err(store_err)?;
                let got = t.get(principal.as_str()).map_err(store_err)?;
                match got {
                    Some(v) => serde_json::from_slice(v.value()).map_err(store_err)?,
                    None => Vec::new(),
                }
            };
            let outcome = admit(challenge, &open, &denials, limits, now);
            match &outcome {
                Ok(Opened::New(c)) | Ok(Opened::Merged(c)) => {
                    table
                        .insert(c.id.as_str(), encode(c)?.as_slice())
                        .map_err(store_err)?;
                    if !kept.contains(&c.id) {
                        kept.push(c.id.clone());
                    }
                }
                Err(_) => {}
            }
            let list = serde_json::to_vec(&kept).map_err(store_err)?;
            index
                .insert(principal.as_str(), list.as_slice())
                .map_err(store_err)?;
            outcome
        };
        txn.commit().map_err(store_err)?;
        Ok(outcome)
    }

    fn get(&self, id: &str) -> Result<Option<Challenge>, Error> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let table = txn.open_table(CHALLENGES).map_err(store_err)?;
        let got = table.get(id).map_err(store_err)?;
        got.map(|v| decode(v.value())).transpose()
    }

    fn update(
        &self,
        id: &str,
        f: &mut dyn FnMut(&mut Challenge) -> Update<Result<(), Refusal>>,
    ) -> Result<Updated, Error> {
        let txn = self.db.begin_write().map_err(store_err)?;
        let out = {
            let mut table = txn.open_table(CHALLENGES).map_err(store_err)?;
            let current = {
                let got = table.get(id).map_err(store_err)?;
                got.map(|v| decode(v.value())).transpose()?
            };
            match current {
                None => None,
                Some(mut c) => match f(&mut c) {
                    Update::Write(r) => {
                        table
                            .insert(id, encode(&c)?.as_slice())
                            .map_err(store_err)?;
                        Some((c, r))
                    }
                    Update::Keep(r) => Some((c, r)),
                },
            }
        };
        txn.commit().map_err(store_err)?;
        Ok(out)
    }

    fn record_denial(&self, principal: &str, now: i64) -> Result<(), Error> {
        let txn = self.db.begin_write().map_err(store_err)?;
        {
            let mut table = txn.open_table(DENIALS).map_err(store_err)?;
            let mut times: Vec<i64> = {
                let got = table.get(principal).map_err(store_err)?;
                match got {
                    Some(v) => serde_json::from_slice(v.value()).map_err(store_err)?,
                    None => Vec::new(),
                }
            };
            times.retain(|t| now - t < RETENTION_S);
            times.push(now);
            let bytes = serde_json::to_vec(&times).map_err(store_err)?;
            table
                .insert(principal, bytes.as_slice())
                .map_err(store_err)?;
        }
        txn.commit().map_err(store_err)
    }

    fn consume(&self, jti: &str, keep_until: i64, now: i64) -> Result<bool, Error> {
        let txn = self.db.begin_write().map_err(store_err)?;
        let fresh = {
            let mut table = txn.open_table(CONSUMED).map_err(store_err)?;
            let seen = table.get(jti).map_err(store_err)?.is_some();
            if !seen {
                table.insert(jti, keep_until).map_err(store_err)?;
            }
            !seen
        };
        sweep(&txn, now)?;
        txn.commit().map_err(store_err)?;
        Ok(fresh)
    }

    fn use_grant(
        &self,
        jti: &str,
        repeat: bool,
        keep_until: i64,
        now: i64,
    ) -> Result<GrantUse, Error> {
        let txn = self.db.begin_write().map_err(store_err)?;
        let used = {
            let revoked = txn.open_table(REVOKED).map_err(store_err)?;
            if revoked.get(jti).map_err(store_err)?.is_some() {
                GrantUse::Revoked
            } else if repeat {
                let mut uses = txn.open_table(USES).map_err(store_err)?;
                let before = uses
                    .get(jti)
                    .map_err(store_err)?
                    .and_then(|v| window_count(v.value()))
                    .map_or(0, |(_, n)| n);
                let n = before.saturating_add(1);
                uses.insert(jti, until_count(keep_until, n).as_slice())
                    .map_err(store_err)?;
                GrantUse::Counted(n)
            } else {
                let mut consumed = txn.open_table(CONSUMED).map_err(store_err)?;
                if consumed.get(jti).map_err(store_err)?.is_some() {
                    GrantUse::Replayed
                } else {
                    consumed.insert(jti, keep_until).map_err(store_err)?;
                    GrantUse::Counted(1)
                }
            }
        };
        sweep(&txn, now)?;
        txn.commit().map_err(store_err)?;
        Ok(used)
    }

    fn revoke_grant(&self, jti: &str, keep_until: i64, now: i64) -> Result<Revocation, Error> {
        let txn = self.db.begin_write().map_err(store_err)?;
        let revocation = {
            let mut revoked = txn.open_table(REVOKED).map_err(store_err)?;
            let first = revoked.get(jti).map_err(store_err)?.is_none();
            if first {
                revoked.insert(jti, keep_until).map_err(store_err)?;
            }
            let consumed = txn.open_table(CONSUMED).map_err(store_err)?;
            let once = u64::from(consumed.get(jti).map_err(store_err)?.is_some());
            let uses = txn.open_table(USES).map_err(store_err)?;
            let repeated = uses
                .get(jti)
                .map_err(store_err)?
                .and_then(|v| window_count(v.value()))
                .map_or(0, |(_, n)| n);
            Revocation {
                first,
                uses: once.saturating_add(repeated),
            }
        };
        sweep(&txn, now)?;
        txn.commit().map_err(store_err)?;
        Ok(revocation)
    }

    fn otp_record(&self, approver: &str) -> Result<OtpRecord, Error> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let table = txn.open_table(OTP).map_err(store_err)?;
        let got = table.get(approver).map_err(store_err)?;
        got.map_or(Ok(OtpRecord::default()), |v| {
            serde_json::from_slice(v.value()).map_err(store_err)
        })
    }

    fn otp_failed(&self, approver: &str, limits: &OtpLimits, now: i64) -> Result<OtpRecord, Error> {
        let txn = self.db.begin_write().map_err(store_err)?;
        let record = {
            let mut table = txn.open_table(OTP).map_err(store_err)?;
            let current: OtpRecord = {
                let got = table.get(approver).map_err(store_err)?;
                got.map_or(Ok(OtpRecord::default()), |v| {
                    serde_json::from_slice(v.value()).map_err(store_err)
                })?
            };
            let record = current.failed(limits, now);
            let bytes = serde_json::to_vec(&record).map_err(store_err)?;
            table
                .insert(approver, bytes.as_slice())
                .map_err(store_err)?;
            record
        };
        txn.commit().map_err(store_err)?;
        Ok(record)
    }

    fn count_event(&self, name: &str, window: i64) -> Result<(u64, Option<(i64, u64)>), Error> {
        let txn = self.db.begin_write().map_err(store_err)?;
        let counted = {
            let mut table = txn.open_table(EVENTS).map_err(store_err)?;
            let before = table
                .get(name)
                .map_err(store_err)?
                .and_then(|v| window_count(v.value()));
            let counted = match before {
                Some((w, c)) if w == window => (c.saturating_add(1), None),
                other => (1, other),
            };
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&window.to_be_bytes());
            bytes[8..].copy_from_slice(&counted.0.to_be_bytes());
            table.insert(name, bytes.as_slice()).map_err(store_err)?;
            counted
        };
        txn.commit().map_err(store_err)?;
        Ok(counted)
    }

    fn otp_succeeded(&self, approver: &str) -> Result<(), Error> {
        let txn = self.db.begin_write().map_err(store_err)?;
        {
            let mut table = txn.open_table(OTP).map_err(store_err)?;
            let blocked = {
                let got = table.get(approver).map_err(store_err)?;
                match got {
                    Some(v) => {
                        serde_json::from_slice::<OtpRecord>(v.value())
                            .map_err(store_err)?
                            .blocked
                    }
                    None => return Ok(()),
                }
            };
            if !blocked {
                table.remove(approver).map_err(store_err)?;
            }
        }
        txn.commit().map_err(store_err)
    }

    fn otp_reset(&self, approver: &str) -> Result<bool, Error> {
        let txn = self.db.begin_write().map_err(store_err)?;
        let removed = {
            let mut table = txn.open_table(OTP).map_err(store_err)?;
            let removed = table.remove(approver).map_err(store_err)?.is_some();
            removed
        };
        txn.commit().map_err(store_err)?;
        Ok(removed)
    }

    fn sign_count(&self, credential: &[u8]) -> Result<Option<u32>, Error> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let table = txn.open_table(SIGN_COUNTS).map_err(store_err)?;
        let got = table.get(credential).map_err(store_err)?;
        Ok(got.map(|v| v.value()))
    }

    fn advance_sign_count(
        &self,
        credential: &[u8],
        floor: u32,
        new: u32,
    ) -> Result<Result<(), u32>, Error> {
        let txn = self.db.begin_write().map_err(store_err)?;
        let outcome = {
            let mut table = txn.open_table(SIGN_COUNTS).map_err(store_err)?;
            let recorded = table
                .get(credential)
                .map_err(store_err)?
                .map(|v| v.value())
                .unwrap_or(0)
                .max(floor);
            // Counterless authenticators (0 after 0) are accepted only where the relying
            // party allows them, which verification checked; record nothing then.
            if new > recorded {
                table.insert(credential, new).map_err(store_err)?;
                Ok(())
            } else if new == 0 && recorded == 0 {
                Ok(())
            } else {
                Err(recorded)
            }
        };
        txn.commit().map_err(store_err)?;
        Ok(outcome)
    }
}

/// Now and then (by the clock, so short-lived processes sweep too), forgets consumed ids,
/// elevation uses and revocations whose own expiry refuses the grant or code anyway.
fn sweep(txn: &redb::WriteTransaction, now: i64) -> Result<(), Error> {
    let mut swept = txn.open_table(SWEPT).map_err(store_err)?;
    let last = swept
        .get("consumed")
        .map_err(store_err)?
        .map_or(i64::MIN, |v| v.value());
    if now.saturating_sub(last) >= RedbStore::SWEEP_EVERY_S || now < last {
        let live = |until: i64| until.saturating_add(CONSUMED_MARGIN_S) >= now;
        txn.open_table(CONSUMED)
            .map_err(store_err)?
            .retain(|_, until| live(until))
            .map_err(store_err)?;
        txn.open_table(REVOKED)
            .map_err(store_err)?
            .retain(|_, until| live(until))
            .map_err(store_err)?;
        txn.open_table(USES)
            .map_err(store_err)?
            .retain(|_, v| window_count(v).is_none_or(|(until, _)| live(until)))
            .map_err(store_err)?;
        swept.insert("consumed", now).map_err(store_err)?;
    }
    Ok(())
}

/// An elevation's use record: keep_until (8 bytes, big-endian) then uses (8 bytes), read
/// back with [`window_count`].
fn until_count(keep_until: i64, uses: u64) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&keep_until.to_be_bytes());
    bytes[8..].copy_from_slice(&uses.to_be_bytes());
    bytes
}

/// A stored event count: window (8 bytes, big-endian) then count (8 bytes).
fn window_count(bytes: &[u8]) -> Option<(i64, u64)> {
    let window = i64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
    let count = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
    Some((window, count))
}
