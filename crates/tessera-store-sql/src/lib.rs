//! SQL backends on sqlx.
//!
//! [`SqliteStore`] is the embedded default: one file in the data dir, WAL
//! mode. [`PgStore`] is PostgreSQL for several instances. Both are a
//! [`SqlStore`]: each store trait is implemented once, for both, in its own
//! file (`users.rs`, `sessions.rs`, `secrets.rs`, `keys.rs`, `refresh.rs`,
//! `identities.rs`), with portable SQL; `db.rs` says what the statements
//! need from a database. `sqlite.rs` and `postgres.rs` hold what differs:
//! opening, migrations (embedded, one set per backend), the refresh spend.
//! `copy.rs` moves a whole database from one backend to the other
//! (`tessera copy`).

mod audit;
mod codec;
mod conns;
pub mod copy;
mod db;
mod direct;
mod identities;
mod keys;
mod mail;
mod mfa;
mod postgres;
mod refresh;
mod secrets;
mod sessions;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
mod users;
mod walcache;
mod webhooks;

pub use db::{CHECK_WHEN_IDLE_FOR, SqlStore};
pub use postgres::{PgSettings, PgStore};
pub use sqlite::SqliteStore;
