//! One connection type for a single Redis and a Redis Cluster, opened
//! lazily and re-established by the client libraries on their own.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};
use tessera_core::store::StoreError;
use tokio::sync::Mutex;

#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// Longest any one operation (connect included) may take before the
    /// request is answered 503.
    pub op_timeout: Duration,
    pub key_prefix: String,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            op_timeout: Duration::from_secs(2),
            key_prefix: "tessera:".into(),
        }
    }
}

/// A connection handle; cheap to clone, shared by all requests.
#[derive(Clone)]
pub enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(cmd, offset, count),
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

#[derive(Clone)]
pub enum Connector {
    Single(ConnectionManager),
    /// The cluster connection needs the cluster up to be made, so it is made
    /// on first use (retried on each request until it succeeds); once made,
    /// it follows slot moves and reconnects to nodes by itself.
    Cluster(Box<ClusterClient>, Arc<Mutex<Option<ClusterConnection>>>),
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Single(_) => "Connector::Single",
            Self::Cluster(..) => "Connector::Cluster",
        })
    }
}

const CLUSTER_SCHEME: &str = "redis+cluster://";

impl Connector {
    pub fn open(url: &str, settings: &RedisSettings) -> Result<Self, StoreError> {
        if let Some(nodes) = url.strip_prefix(CLUSTER_SCHEME) {
            let nodes: Vec<String> = nodes
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| format!("redis://{n}"))
                .collect();
            if nodes.is_empty() {
                return Err(StoreError::Backend("redis+cluster:// names no node".into()));
            }
            let client = ClusterClient::builder(nodes)
                .connection_timeout(settings.op_timeout)
                .response_timeout(settings.op_timeout)
                .retries(1)
                .build()
                .map_err(|e| StoreError::Backend(format!("bad Redis Cluster URL: {e}")))?;
            return Ok(Self::Cluster(Box::new(client), Arc::new(Mutex::new(None))));
        }
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::Backend(format!("bad Redis URL: {e}")))?;
        // No response timeout in redis-rs: `RedisStore::attempt` already
        // bounds every operation by `op_timeout`, and redis-rs's is the same
        // kind of timer around the same future (on expiry it neither
        // reconnects nor retries). A second one cost a timer registration
        // per request for nothing. Test:
        // `a_redis_that_stops_answering_is_unavailable_at_the_op_timeout_and_recovers`.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.op_timeout))
            .set_response_timeout(None)
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let manager = client
            .get_connection_manager_lazy(config)
            .map_err(|e| StoreError::Backend(format!("Redis client: {e}")))?;
        Ok(Self::Single(manager))
    }

    pub async fn get(&self) -> Result<Conn, StoreError> {
        match self {
            Self::Single(m) => Ok(Conn::Single(m.clone())),
            Self::Cluster(client, slot) => {
                let mut slot = slot.lock().await;
                if let Some(c) = slot.as_ref() {
                    return Ok(Conn::Cluster(c.clone()));
                }
                let c = client
                    .get_async_connection()
                    .await
                    .map_err(|e| store_error(&e))?;
                *slot = Some(c.clone());
                Ok(Conn::Cluster(c))
            }
        }
    }
}

/// Anything Redis reports is a reason to answer 503 and retry later; only
/// a reply we cannot read is a backend error.
pub fn store_error(e: &RedisError) -> StoreError {
    if matches!(
        e.kind(),
        redis::ErrorKind::UnexpectedReturnType | redis::ErrorKind::Parse
    ) {
        StoreError::Backend(format!("redis: {e}"))
    } else {
        StoreError::Unavailable(format!("redis: {e}"))
    }
}
