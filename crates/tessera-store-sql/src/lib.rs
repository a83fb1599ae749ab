//! SQL backends on sqlx.
//!
//! [`SqliteStore`] is the embedded default: one file in the data dir, WAL
//! mode. [`PgStore`] is PostgreSQL for several instances. Each has its own
//! migrations, embedded in the binary; the statements are shared
//! (`shared.rs`).

mod codec;
mod postgres;
mod shared;
mod sqlite;
pub mod testing;

pub use postgres::{PgSettings, PgStore};
pub use sqlite::SqliteStore;
