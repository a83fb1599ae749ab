//! Throwaway PostgreSQL databases for tests: each test gets its own,
//! created on the server named by `TESSERA_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and dropped afterwards.

use sqlx::Connection;
use sqlx::postgres::PgConnection;

pub fn admin_url() -> String {
    std::env::var("TESSERA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that exists until [`TestDatabase::drop_now`] (or, if a test
/// panics first, until someone drops `tessera_test_*` databases).
#[derive(Debug)]
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

/// Creates a fresh, empty database.
pub async fn fresh_database() -> Result<TestDatabase, sqlx::Error> {
    let admin = admin_url();
    let name = format!(
        "tessera_test_{}",
        hex::encode(tessera_core::token::random_bytes::<8>())
    );
    let mut conn = PgConnection::connect(&admin).await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Ok(TestDatabase {
        url: format!("{base}/{name}"),
        name,
    })
}

impl TestDatabase {
    pub async fn drop_now(self) -> Result<(), sqlx::Error> {
        let mut conn = PgConnection::connect(&admin_url()).await?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut conn)
        .await?;
        conn.close().await
    }
}
