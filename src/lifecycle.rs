//! The retention lifecycle over the catalog: status, what is due, holds,
//! reminders, and recording verifications.

use chrono::Utc;

use crate::error::Result;
use crate::vault::Vault;
use crate::verify;

/// Records the outcome of a verification on the catalog's copies.
pub fn record_verification(vault: &Vault, report: &verify::Report, full: bool) -> Result<()> {
    let now = Utc::now();
    vault.update_catalog(|catalog| {
        for check in &report.archives {
            let Some(id) = &check.archive_id else {
                continue;
            };
            let dir = check.path.parent().and_then(|p| p.canonicalize().ok());
            let Some(archive) = catalog.archives.iter_mut().find(|a| &a.archive_id == id) else {
                continue;
            };
            for copy in archive.copies.iter_mut().filter(|c| c.destroyed.is_none()) {
                if dir.as_deref() == Some(copy.path.as_path()) {
                    copy.last_verified = Some(now);
                    copy.last_result = Some(
                        match (check.ok(), full) {
                            (true, true) => "ok (full)",
                            (true, false) => "ok (quick)",
                            (false, _) => "damaged",
                        }
                        .into(),
                    );
                }
            }
        }
        Ok(())
    })
}
