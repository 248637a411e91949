//! What an administrator does to the flow's state: lifting an approver's one-time-code
//! lockout or block (`writ approver reset`), audited.

use super::Approvals;
use crate::audit::Entry;
use crate::error::Error;
use crate::store::OtpRecord;

impl Approvals {
    /// The one-time-code failures recorded for `approver` (a default record when none).
    ///
    /// Blocks: a state-store read (redb, or a Redis round trip).
    pub fn otp_record(&self, approver: &str) -> Result<OtpRecord, Error> {
        self.store.otp_record(approver)
    }

    /// An administrator's reset of `approver`'s one-time codes: failures, lockout and block
    /// forgotten, and the reset audited (`approver.reset`, with the record it replaced).
    /// Returns that record. `approver` must be in the registry.
    ///
    /// Blocks: a state-store write (a durable redb commit, or a Redis round trip) and an
    /// audit record.
    pub fn reset_otp(&self, approver: &str) -> Result<OtpRecord, Error> {
        if self.registry.current()?.get(approver).is_none() {
            return Err(Error::Registry(format!(
                "`{approver}` is not in the approver registry"
            )));
        }
        let before = self.store.otp_record(approver)?;
        self.store.otp_reset(approver)?;
        self.audit(
            Entry::new("approver.reset")
                .with("approver", approver)
                .with("otp_failures", before.failures)
                .with("otp_blocked", before.blocked)
                .with("otp_locked_until", before.locked_until),
        )?;
        Ok(before)
    }
}
