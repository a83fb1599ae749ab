#!/usr/bin/env bash
# Two tessera builds side by side: both serve whoami on CPU 0, wrk on CPU 1
# (bench/run's start_tessera and measure), ROUNDS alternating 10 s rounds
# of `wrk -c32`. Prints "A|B req/s p50_ms p99_ms cpu_us_per_req non2xx".
#
#   bash bench/ab-whoami.sh DIR_A DIR_B [ROUNDS] [ENV=VALUE...]
#
# DIR_A and DIR_B hold a `tessera` binary each (e.g. two CARGO_TARGET_DIRs'
# release/); ENV=VALUE goes to both servers, e.g.
# TESSERA_SESSION_STORE=redis://127.0.0.1:6379 (default: SQLite sessions).
# Run it on a quiet machine, as bench/run.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: bash bench/ab-whoami.sh DIR_A DIR_B [ROUNDS] [ENV=VALUE...]" >&2; exit 2; }
A=$1 B=$2 ROUNDS=${3:-3}
shift $(($# < 3 ? $# : 3))
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
WORK=$(mktemp -d)
PIDS=()
SECONDS_PER_RUN=10
CONNS=32
source bench/lib.sh
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
TESSERA=$A/tessera start_tessera a "$@"
PID_A=$LAST_PID URL_A=$LAST_URL COOKIE_A="__Host-tessera_session=$LAST_TOKEN"
TESSERA=$B/tessera start_tessera b "$@"
PID_B=$LAST_PID URL_B=$LAST_URL COOKIE_B="__Host-tessera_session=$LAST_TOKEN"
[ "$COOKIE_A" != "__Host-tessera_session=" ] && [ "$COOKIE_B" != "__Host-tessera_session=" ] || { echo "no session cookie from a registration" >&2; exit 1; }
# JIT-free, but the first seconds fill caches and pools: not measured.
taskset -c 1 wrk -t1 -c"$CONNS" -d3s -H "Cookie: $COOKIE_A" "$URL_A/v1/session" > /dev/null
taskset -c 1 wrk -t1 -c"$CONNS" -d3s -H "Cookie: $COOKIE_B" "$URL_B/v1/session" > /dev/null
for _ in $(seq 1 "$ROUNDS"); do
  echo "A $(measure "$PID_A" "$URL_A/v1/session" "$COOKIE_A")"
  echo "B $(measure "$PID_B" "$URL_B/v1/session" "$COOKIE_B")"
done
