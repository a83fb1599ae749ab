//! The storage ports (defined in `tessera-core`, re-exported here), the
//! in-process rate-limit store of the embedded default, and
//! [`conformance`]: the test suite every backend runs unchanged.

pub mod conformance;
mod memory;

pub use memory::MemoryRateLimits;
pub use tessera_core::store::{
    Count, RateLimitStore, SecretStore, SessionStore, StoreError, UserStore,
};
