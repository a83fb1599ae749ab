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
        let insert =
            "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
        self.write(Stmt::new(insert).text(name).blob(candidate))
            .await?;
        let select = "SELECT value FROM secrets WHERE name = $1";
        self.read_one(Stmt::new(select).text(name), |row| {
            Cols::<DB>(row).blob("value")
        })
        .await?
        .ok_or_else(|| StoreError::Backend(format!("secret {name} vanished")))
    }
}
