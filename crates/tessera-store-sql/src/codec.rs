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
        sqlx::Error::Database(db) if is_unavailable(db.code().as_deref()) => {
            StoreError::Unavailable(db.to_string())
        }
        other => StoreError::Backend(other.to_string()),
    }
}

/// The database cannot answer now, though the statement was fine: SQLite's
/// BUSY / LOCKED codes (the database is there but held too long);
/// PostgreSQL's connection exceptions (class 08) and its shutdown codes
/// (57P01–57P05: the server ended this connection, is restarting or is not
/// taking connections yet), which a pooled connection meets on its first
/// statement after a restart.
fn is_unavailable(code: Option<&str>) -> bool {
    match code {
        Some("5" | "6" | "261" | "517") => true,
        Some(c) => c.starts_with("08") || c.starts_with("57P"),
        None => false,
    }
}

pub(crate) fn err(e: sqlx::Error) -> StoreError {
    store_error(e, "row")
}
