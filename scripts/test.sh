#!/usr/bin/env bash
# Every test of Tessera, from a fresh machine: formatting, lints, the Rust
# workspace (unit, conformance, HTTP integration and binary tests against
# real SQLite files), then the JavaScript kit, demo and Playwright suite.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
step() { printf '\n==> %s\n' "$*"; }

if ! command -v cargo >/dev/null; then
  echo "cargo is required (https://rustup.rs)" >&2
  exit 1
fi
# Both components ship with rustup's default profile; add them if a minimal
# profile left them out.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  rustup component add rustfmt clippy
fi

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (workspace)"
cargo test --workspace --locked

step "JavaScript: @tessera/next, the demo, Playwright in Chromium"
bash scripts/test-js.sh
