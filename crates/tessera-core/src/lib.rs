//! Tessera's domain.
//!
//! Everything that decides who a user is lives here: password hashing,
//! session lifetimes, the CSRF binding and the flows (register, login,
//! whoami, logout, …) in [`Auth`]. Storage is reached through the ports in
//! [`store`]; HTTP and SQL live in other crates, so this one reads like the
//! rules it enforces.

pub mod audit;
pub mod auth;
pub mod clock;
pub mod csrf;
pub mod error;
pub mod identity;
pub mod imported;
pub mod keys;
pub mod mail;
pub mod mfa;
pub mod password;
pub mod ratelimit;
pub mod seal;
pub mod session;
pub mod store;
pub mod token;
pub mod tokens;
pub mod user;
pub mod webhook;

pub use auth::{
    Auth, AuthSettings, AuthStores, ClientInfo, Confirmation, MAX_PAGE, MailPolicy, MfaStatus,
    PasskeyCeremony, Registration, RegistrationPolicy, SecondFactor, SecondFactors, SignedUp,
    Started, TotpEnrolment, UserPage, UserPatch,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use csrf::CsrfKey;
pub use error::{AuthError, FieldError};
pub use identity::{Identity, LinkPolicy, Resolution, VerifiedIdentity};
pub use password::{Argon2Settings, HashError, PasswordHasher};
pub use ratelimit::LoginLimits;
pub use session::{Session, SessionId, SessionPolicy};
pub use token::{SessionToken, TokenHash};
pub use user::{NewUser, User, UserId, UserRecord};
