//! [`KeyStore`]: the JWT signing keys.

use async_trait::async_trait;
use tessera_core::store::{KeyStore, StoreError, StoredKey};
use time::OffsetDateTime;

use crate::db::{Cols, SqlDb, SqlStore, Stmt};

fn key_from_row<DB: SqlDb>(row: &DB::Row) -> Result<StoredKey, StoreError> {
    let r = Cols::<DB>(row);
    Ok(StoredKey {
        kid: r.text("kid")?,
        alg: r.text("alg")?,
        private_der: r.blob("private_der")?,
        public_jwk: r.text("public_jwk")?,
        created_at: r.time("created_at")?,
        retired_at: r.opt_time("retired_at")?,
    })
}

#[async_trait]
impl<DB: SqlDb> KeyStore for SqlStore<DB> {
    async fn insert_signing_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        let sql = "INSERT INTO signing_keys (kid, alg, private_der, public_jwk, created_at, retired_at) \
             VALUES ($1, $2, $3, $4, $5, $6)";
        let stmt = Stmt::new(sql)
            .text(&key.kid)
            .text(&key.alg)
            .blob(&key.private_der)
            .text(&key.public_jwk)
            .time(key.created_at)
            .opt_time(key.retired_at)
            .unique("kid");
        self.write(stmt).await?;
        Ok(())
    }

    async fn list_signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let sql = "SELECT kid, alg, private_der, public_jwk, created_at, retired_at FROM signing_keys \
             ORDER BY created_at, kid";
        self.read_all(Stmt::new(sql), key_from_row::<DB>).await
    }

    async fn retire_signing_key(&self, kid: &str, at: OffsetDateTime) -> Result<bool, StoreError> {
        let sql = "UPDATE signing_keys SET retired_at = $1 WHERE kid = $2 AND retired_at IS NULL";
        self.write_one(Stmt::new(sql).time(at).text(kid)).await
    }
}
