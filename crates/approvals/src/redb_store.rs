//! The embedded store: one redb file in a state directory. Every operation is one write
//! transaction, committed durably before it returns, so a grant consumed before a crash
//! or restart stays consumed after it. One process opens the file at a time (redb locks
//! it); replicas share Redis instead.

use std::path::Path;

use redb::{Database, ReadableDatabase as _, ReadableTable as _, TableDefinition};

use crate::challenge::Challenge;
use crate::error::{Error, Refusal};
use crate::store::{
    admit, decode, encode, OpenLimits, Opened, StateStore, Update, Updated, RETENTION_S,
};

const CHALLENGES: TableDefinition<&str, &[u8]> = TableDefinition::new("challenges");
const CONSUMED: TableDefinition<&str, i64> = TableDefinition::new("consumed");
const DENIALS: TableDefinition<&str, &[u8]> = TableDefinition::new("denials");

/// The redb-backed store.
pub struct RedbStore {
    db: Database,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore").finish_non_exhaustive()
    }
}

fn store_err(e: impl std::fmt::Display) -> Error {
    Error::Store(e.to_string())
}

impl RedbStore {
    /// Opens (or creates) `state.redb` in `dir`, creating the directory when needed.
    pub fn open(dir: &Path) -> Result<RedbStore, Error> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Store(format!("cannot create `{}`: {e}", dir.display())))?;
        let path = dir.join("state.redb");
        let db = Database::create(&path).map_err(|e| {
            Error::Store(format!(
                "cannot open `{}`: {e} (is another writ process using this state directory?)",
                path.display()
            ))
        })?;
        let txn = db.begin_write().map_err(store_err)?;
        {
            txn.open_table(CHALLENGES).map_err(store_err)?;
            txn.open_table(CONSUMED).map_err(store_err)?;
            txn.open_table(DENIALS).map_err(store_err)?;
        }
        txn.commit().map_err(store_err)?;
        Ok(RedbStore { db })
    }
}

impl StateStore for RedbStore {
    fn open(
        &self,
        challenge: Challenge,
        limits: &OpenLimits,
        now: i64,
    ) -> Result<Result<Opened, Refusal>, Error> {
        let txn = self.db.begin_write().map_err(store_err)?;
        let outcome = {
            let mut table = txn.open_table(CHALLENGES).map_err(store_err)?;
            let mut open = Vec::new();
            let mut stale = Vec::new();
            for entry in table.iter().map_err(store_err)? {
                let (k, v) = entry.map_err(store_err)?;
                let c = decode(v.value())?;
                if c.expires_at + RETENTION_S < now {
                    stale.push(k.value().to_string());
                } else if c.requester.principal == challenge.requester.principal {
                    open.push(c);
                }
            }
            for k in stale {
                table.remove(k.as_str()).map_err(store_err)?;
            }
            let denials: Vec<i64> = match &challenge.requester.principal {
                Some(p) => {
                    let t = txn.open_table(DENIALS).map_err(store_err)?;
                    let got = t.get(p.as_str()).map_err(store_err)?;
                    match got {
                        Some(v) => serde_json::from_slice(v.value()).map_err(store_err)?,
                        None => Vec::new(),
                    }
                }
                None => Vec::new(),
            };
            let outcome = admit(challenge, &open, &denials, limits, now);
            match &outcome {
                Ok(Opened::New(c)) | Ok(Opened::Merged(c)) => {
                    table
                        .insert(c.id.as_str(), encode(c)?.as_slice())
                        .map_err(store_err)?;
                }
                Err(_) => {}
            }
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
            // Now and then, forget grants whose own expiry refuses them anyway.
            if !seen && jti.as_bytes().last().is_some_and(|b| b % 32 == 0) {
                table.retain(|_, until| until >= now).map_err(store_err)?;
            }
            !seen
        };
        txn.commit().map_err(store_err)?;
        Ok(fresh)
    }
}
