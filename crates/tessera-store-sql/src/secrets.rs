//! [`SecretStore`]: named server secrets, created once by whichever
//! instance comes first.

use async_trait::async_trait;
use tessera_core::store::{SecretStore, StoreError};

use crate::db::{Cols, SqlDb, SqlStore, Stmt};

#[async_trait]
impl<DB: SqlDb> SecretStore for SqlStore<DB> {
    async fn get_or_create_secret(
        &self,
        name: &str,
        candidate: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        Stmt::<DB>::new(
            "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .text(name)
        .blob(candidate)
        .execute(&mut *self.writer().await?)
        .await?;
        let row = Stmt::<DB>::new("SELECT value FROM secrets WHERE name = $1")
            .text(name)
            .fetch_optional(&mut *self.reader().await?)
            .await?
            .ok_or_else(|| StoreError::Backend(format!("secret {name} vanished")))?;
        Cols::<DB>(&row).blob("value")
    }
}
