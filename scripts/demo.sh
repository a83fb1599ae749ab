#!/usr/bin/env bash
# Runs the demo on the embedded default: the tessera server (release build,
# SQLite in ./data) on 127.0.0.1:4000 and the Next.js demo on
# http://localhost:3000. Ctrl-C stops them.
#
# The BFF key is generated into ./data/bff.key on first run; ./data ignores
# itself in git. TESSERA_PROFILE=debug builds faster but hashes slowly.
#
# "Sign in with Demo OIDC (local test provider)": unless DEMO_OIDC=0, the
# script also starts tests/oidc-provider (a local OpenID Connect provider made
# for tests; it accepts any login name and password) on 127.0.0.1:4001, and
# configures tessera and the demo with it as provider `demo`, so the OAuth
# flow can be tried without GitHub. It is a test double: never point anything
# real at it. Providers already in TESSERA_OAUTH_PROVIDERS (with their
# TESSERA_OAUTH_<NAME>_* variables in the environment) are kept.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
PROFILE=${TESSERA_PROFILE:-release}
DATA_DIR="$ROOT/data"
TESSERA_ADDR=127.0.0.1:4000
APP_ORIGIN=http://localhost:3000
DEMO_OIDC=${DEMO_OIDC:-1}
DEMO_OIDC_ADDR=127.0.0.1:${DEMO_OIDC_PORT:-4001}
export NEXT_TELEMETRY_DISABLED=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

mkdir -p "$DATA_DIR"
chmod 700 "$DATA_DIR"
[ -f "$DATA_DIR/.gitignore" ] || printf '*\n' > "$DATA_DIR/.gitignore"
if [ ! -s "$DATA_DIR/bff.key" ]; then
  (umask 077 && node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex") + "\n")' > "$DATA_DIR/bff.key")
fi
BFF_KEY=$(tr -d '\n' < "$DATA_DIR/bff.key")

echo "==> cargo build --profile $PROFILE -p tessera"
if [ "$PROFILE" = release ]; then cargo build --release -p tessera --bin tessera; else cargo build -p tessera --bin tessera; fi
TARGET_DIR=${CARGO_TARGET_DIR:-target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
BIN="$TARGET_DIR/$([ "$PROFILE" = release ] && echo release || echo debug)/tessera"

if [ ! -d node_modules/next ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> npm ci"
  npm ci --no-audit --no-fund
fi
echo "==> building @tessera/next and the demo"
npm run build -w @tessera/next
npm run build -w tessera-next-demo

PIDS=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

wait_for() { # url pid name: up to 30 s
  for _ in $(seq 1 300); do
    if curl -fsS "$1" >/dev/null 2>&1; then return 0; fi
    kill -0 "$2" 2>/dev/null || { echo "$3 exited" >&2; exit 1; }
    sleep 0.1
  done
  echo "$3 did not answer at $1" >&2
  exit 1
}

if [ "$DEMO_OIDC" = 1 ]; then
  # TEST DOUBLE: a local OIDC provider with dev login and consent pages.
  OIDC_PORT=${DEMO_OIDC_ADDR##*:} OIDC_INTERACTIVE=1 \
    OIDC_CLIENT_ID=tessera-demo OIDC_CLIENT_SECRET=tessera-demo-secret \
    OIDC_REDIRECT_URIS="$APP_ORIGIN/api/auth/oauth/demo/callback" \
    node tests/oidc-provider/server.mjs &
  PIDS+=("$!")
  wait_for "http://$DEMO_OIDC_ADDR/.well-known/openid-configuration" "$!" "the local test OIDC provider"
  export TESSERA_OAUTH_PROVIDERS="${TESSERA_OAUTH_PROVIDERS:+$TESSERA_OAUTH_PROVIDERS,}demo"
  export TESSERA_OAUTH_DEMO_ISSUER="http://$DEMO_OIDC_ADDR"
  export TESSERA_OAUTH_DEMO_CLIENT_ID=tessera-demo TESSERA_OAUTH_DEMO_CLIENT_SECRET=tessera-demo-secret
  export TESSERA_OAUTH_DEMO_LABEL="Demo OIDC (local test provider)"
fi

TESSERA_PUBLIC_ORIGIN=$APP_ORIGIN TESSERA_BFF_KEY=$BFF_KEY TESSERA_LOG=${TESSERA_LOG:-info} \
  "$BIN" serve --listen "$TESSERA_ADDR" --data-dir "$DATA_DIR" &
PIDS+=("$!")

wait_for "http://$TESSERA_ADDR/healthz" "$!" tessera

# No SMTP here: tessera writes each mail as an .eml file into $DATA_DIR/outbox,
# and the demo's dev-only page /dev/outbox lists them (it is a 404 wherever
# TESSERA_DEV_OUTBOX is unset).
(cd examples/next-demo && TESSERA_URL="http://$TESSERA_ADDR" TESSERA_BFF_KEY=$BFF_KEY APP_ORIGIN=$APP_ORIGIN \
  TESSERA_DEV_OUTBOX="$DATA_DIR/outbox" exec node "$ROOT/node_modules/next/dist/bin/next" start --port 3000 --hostname localhost) &
PIDS+=("$!")

echo
echo "Tessera demo: $APP_ORIGIN   (tessera on http://$TESSERA_ADDR, data in $DATA_DIR; Ctrl-C stops everything)"
echo "Mail (verification, password reset, email change) is not sent: read it at $APP_ORIGIN/dev/outbox"
echo "(the .eml files tessera wrote to $DATA_DIR/outbox)."
if [ "$DEMO_OIDC" = 1 ]; then
  echo "Sign in with \"Demo OIDC (local test provider)\": a local TEST provider on http://$DEMO_OIDC_ADDR that"
  echo "accepts any login name and password (the email becomes <login>@oidc.test). DEMO_OIDC=0 turns it off."
fi
echo
# Stop everything as soon as any process ends.
wait -n "${PIDS[@]}"
