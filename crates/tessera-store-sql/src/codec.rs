//! Conversions between domain values and SQL columns, shared by backends.

use tessera_core::store::StoreError;
use time::OffsetDateTime;

pub(crate) fn from_ts(secs: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|e| StoreError::Backend(format!("bad timestamp {secs}: {e}")))
}

pub(crate) fn roles_to_json(roles: &[String]) -> String {
    serde_json::to_string(roles).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn roles_from_json(raw: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::Backend(format!("bad roles column: {e}")))
}

pub(crate) fn uuid(raw: &str) -> Result<uuid::Uuid, StoreError> {
    uuid::Uuid::parse_str(raw).map_err(|e| StoreError::Backend(format!("bad id column: {e}")))
}

/// Maps sqlx errors: unreachable or timed out is `Unavailable` (503, retry),
/// a unique violation is `Conflict`, the rest is `Backend`.
pub(crate) fn store_error(e: sqlx::Error, unique: &'static str) -> StoreError {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(unique),
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => StoreError::Unavailable(e.to_string()),
        sqlx::Error::Database(db) if is_busy(db.code().as_deref()) => {
            StoreError::Unavailable(db.to_string())
        }
        other => StoreError::Backend(other.to_string()),
    }
}

/// SQLite's BUSY / LOCKED codes: the database is there but held too long.
fn is_busy(code: Option<&str>) -> bool {
    matches!(code, Some("5" | "6" | "261" | "517"))
}

pub(crate) fn err(e: sqlx::Error) -> StoreError {
    store_error(e, "row")
}
