//! The server's integration tests, one binary: each module was a test file
//! of its own; `common` is the harness they share, compiled once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod account;
#[allow(clippy::too_many_lines)]
mod account_mail;
#[allow(clippy::too_many_lines)]
mod admin;
#[allow(clippy::too_many_lines)]
mod audit;
#[allow(clippy::too_many_lines)]
mod cli;
#[allow(clippy::too_many_lines)]
mod copy;
#[allow(clippy::too_many_lines)]
mod guides;
mod input;
mod limits;
#[allow(clippy::too_many_lines)]
mod mfa;
#[allow(clippy::too_many_lines)]
mod oauth_github;
#[allow(clippy::too_many_lines)]
mod oauth_oidc;
#[allow(clippy::float_cmp)]
mod ops;
#[allow(clippy::too_many_lines)]
mod passkeys;
mod production;
mod refresh_tokens;
#[allow(clippy::too_many_lines)]
mod rotation_properties;
mod security;
mod sessions;
mod timing;
mod tokens;
mod webhooks;
