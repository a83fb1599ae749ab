//! SQL backends on sqlx.
//!
//! [`SqliteStore`] is the embedded default: one file in the data dir, WAL
//! mode, migrations embedded in the binary. PostgreSQL joins in the
//! production-tier issue with its own module and migrations; the SQL here
//! stays plain so the two read alike.

mod codec;
mod sqlite;

pub use sqlite::SqliteStore;
