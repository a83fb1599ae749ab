#!/usr/bin/env bash
# Runs the demo on the embedded default: the tessera server (release build,
# SQLite in ./data) on 127.0.0.1:4000 and the Next.js demo on
# http://localhost:3000. Ctrl-C stops both.
#
# The BFF key is generated into ./data/bff.key on first run; ./data ignores
# itself in git. TESSERA_PROFILE=debug builds faster but hashes slowly.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
PROFILE=${TESSERA_PROFILE:-release}
DATA_DIR="$ROOT/data"
TESSERA_ADDR=127.0.0.1:4000
APP_ORIGIN=http://localhost:3000
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

TESSERA_PUBLIC_ORIGIN=$APP_ORIGIN TESSERA_BFF_KEY=$BFF_KEY TESSERA_LOG=${TESSERA_LOG:-info} \
  "$BIN" serve --listen "$TESSERA_ADDR" --data-dir "$DATA_DIR" &
PIDS+=("$!")

for _ in $(seq 1 100); do
  if curl -fsS "http://$TESSERA_ADDR/healthz" >/dev/null 2>&1; then break; fi
  kill -0 "${PIDS[0]}" 2>/dev/null || { echo "tessera exited" >&2; exit 1; }
  sleep 0.1
done

(cd examples/next-demo && TESSERA_URL="http://$TESSERA_ADDR" TESSERA_BFF_KEY=$BFF_KEY APP_ORIGIN=$APP_ORIGIN \
  exec node "$ROOT/node_modules/next/dist/bin/next" start --port 3000 --hostname localhost) &
PIDS+=("$!")

echo
echo "Tessera demo: $APP_ORIGIN   (tessera on http://$TESSERA_ADDR, data in $DATA_DIR; Ctrl-C stops both)"
echo
# Stop everything as soon as either process ends.
wait -n "${PIDS[@]}"
