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

# Real services: PostgreSQL (users), Redis (sessions, rate limits), and
# redis-server/redis-cli binaries for the private servers and the Redis
# Cluster the tests start on free ports. Start what is installed but down;
# install what is missing (as root, from Debian's packages).
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null || ! command -v pg_ctlcluster >/dev/null; then
  step "installing PostgreSQL and Redis from Debian's packages"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql redis-server redis-tools >/dev/null
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  step "starting Redis on 127.0.0.1:6379"
  $SUDO mkdir -p /var/lib/redis /var/log/redis
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  step "starting PostgreSQL on 127.0.0.1:5432"
  # shellcheck disable=SC2046
  $SUDO pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
fi
for _ in $(seq 1 100); do
  if pg_isready -h 127.0.0.1 -p 5432 -q && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then break; fi
  sleep 0.2
done
pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "Redis is not reachable on 127.0.0.1:6379" >&2; exit 1; }
# Tests connect as postgres without a password (trust on loopback, as on
# these machines) and make their own databases; drop any a killed run left.
export TESSERA_TEST_POSTGRES_URL="${TESSERA_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
psql "$TESSERA_TEST_POSTGRES_URL" -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'tessera\_test\_%'" |
  while read -r db; do [ -n "$db" ] && psql "$TESSERA_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"; done

step "cargo fmt --check"
cargo fmt --all --check
cargo fmt --manifest-path fuzz/Cargo.toml --check
python3 scripts/check-security-doc.py
python3 scripts/guide-files.py
MUTATION_PATTERNS_ONLY=1 bash scripts/mutation-check.sh

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "supply chain: cargo audit (offline RustSec snapshot) and cargo deny"
command -v cargo-audit >/dev/null || cargo install cargo-audit --locked
command -v cargo-deny >/dev/null || cargo install cargo-deny --locked
# .cargo/audit.toml ignores RUSTSEC-2023-0071 (rsa, the Marvin timing attack
# on private-key operations) because rsa is only used to verify signatures
# with public keys: by openidconnect (providers' RS256 id_tokens) and by
# crypto-glue (webauthn-rs, RS256 passkeys). No RSA private key exists in
# Tessera. Keep that true: fail if anything else ever depends on rsa directly
# (every version of it in the tree; an empty answer fails too).
rsa_versions=$(cargo tree --target all -e normal,build,dev --prefix none -f '{p}' \
  | awk '$1 == "rsa" {print "rsa@" substr($2, 2)}' | sort -u)
rsa_users=$(for spec in $rsa_versions; do
  cargo tree -i "$spec" --target all -e normal,build,dev --depth 1 --prefix none | awk 'NR > 1 {print $1}'
done | sort -u | tr '\n' ' ')
if [ "$rsa_users" != "crypto-glue openidconnect " ]; then
  echo "rsa is used by: ${rsa_users:-nothing found} - RUSTSEC-2023-0071 may apply; review .cargo/audit.toml" >&2
  exit 1
fi
if [ -d ../shared/advisory-db ]; then
  cargo audit --db ../shared/advisory-db --no-fetch
else
  cargo audit
fi
# cargo deny reads the crates of every target (Windows ones too); fetch them first.
cargo fetch --locked
cargo deny --offline check licenses bans sources

step "cargo publish --dry-run: tessera-verify, the crate resource servers depend on, packages and builds on its own"
cargo publish --dry-run -p tessera-verify --locked

step "npm ci (the JS workspaces; the Rust OAuth tests run the npm oidc-provider)"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
export TESSERA_NPM_INSTALLED=1

step "aiosmtpd and standardwebhooks from PyPI: the real SMTP server the mail tests send to, and the spec's own library the webhook receiver checks signatures with"
MAIL_VENV="${TESSERA_MAIL_VENV:-$HOME/.cache/tessera/mail-venv}"
if ! "$MAIL_VENV/bin/python" -c 'import aiosmtpd, standardwebhooks' 2>/dev/null; then
  python3 -m venv "$MAIL_VENV"
  "$MAIL_VENV/bin/pip" install -q "aiosmtpd==1.4.6" "standardwebhooks==1.3.0"
fi
export TESSERA_TEST_SMTPD_PYTHON="$MAIL_VENV/bin/python"

step "cargo test (workspace)"
cargo test --workspace --locked

step "the .deb: cargo-deb, dpkg -i, the systemd unit's ExecStart as its user"
bash scripts/test-deb.sh

step "cargo install --locked --path crates/tessera (the production guide's line; --debug here, so it reuses the test build)"
INSTALL_ROOT=$(mktemp -d)
cargo install --quiet --locked --debug --path crates/tessera --root "$INSTALL_ROOT"
"$INSTALL_ROOT/bin/tessera" --version
"$INSTALL_ROOT/bin/tessera" init --public-origin https://app.example.com --dir "$INSTALL_ROOT/etc" >/dev/null
"$INSTALL_ROOT/bin/tessera" doctor --config "$INSTALL_ROOT/etc/tessera.toml" >/dev/null \
  || { echo "the installed tessera's doctor refused a fresh init config" >&2; exit 1; }
rm -rf "$INSTALL_ROOT"

step "cargo fuzz: cookies, tokens, JSON bodies, CSRF, OAuth flow cookie (fixed runs, seeded)"
bash scripts/fuzz.sh

step "API fuzzing: schemathesis against /openapi.json (bounded, seeded)"
bash scripts/schemathesis.sh

step "JavaScript: @tessera/next, the demo, Playwright in Chromium"
bash scripts/test-js.sh
