//! The in-process rate-limit store of the embedded default
//! ([`MemoryRateLimits`]), and (feature `testing`) [`conformance`]: the
//! test suite every storage backend runs unchanged. The storage traits
//! themselves live in `tessera_core::store`, beside the flows that call
//! them.

#[cfg(feature = "testing")]
pub mod conformance;
mod memory;

pub use memory::{DEFAULT_CAPACITY, MemoryRateLimits, SWEEP_EVERY};
