# Login storm: whoami at a fixed rate while logins arrive at twice what the
# hasher can do (the Argon2id limit measured by 10-login, or now). Whoami
# never hashes: its latency must not suffer, and none may fail. Both loads
# are open loop (tessera-bench-tools load), latencies measured from each
# request's scheduled time, so queueing cannot hide. BENCH_TRACE_DIR=DIR
# keeps each request's scheduled time, latency and status there
# (storm-whoami.trace and storm-login.trace for Redis, storm-sqlite-… for
# SQLite), to see what a stall hit.
[ -n "${LIMIT:-}" ] || LIMIT=$(taskset -c 0 "$TOOLS" argon2 "$SECONDS_PER_RUN" | awk '{print $2}')
WHOAMI_RATE=${BENCH_STORM_WHOAMI_RATE:-2000}
LOGIN_RATE=$(python3 -c "print(f'{2 * $LIMIT:.1f}')")
# storm_run NAME LABEL [env...]: one tessera with that session store.
storm_run() {
  local name=$1 label=$2; shift 2
  start_tessera "$name" TESSERA_LOGIN_MAX_FAILURES_PER_IP=100000000 TESSERA_LOGIN_MAX_FAILURES_PER_ACCOUNT=100000000 "$@"
  foreign_snapshot "$WORK/$name.foreign"
  LOAD_TRACE=${BENCH_TRACE_DIR:+$BENCH_TRACE_DIR/$name-login.trace} LOAD_CONTENT_TYPE=application/json taskset -c 1 "$TOOLS" load "$LAST_URL/v1/login" "$LOGIN_RATE" "$SECONDS_PER_RUN" POST \
    "{\"email\":\"bench-$name@example.com\",\"password\":\"benchmark password\"}" > "$WORK/$name-login.out" &
  local storm_login=$!
  LOAD_TRACE=${BENCH_TRACE_DIR:+$BENCH_TRACE_DIR/$name-whoami.trace} LOAD_COOKIE="__Host-tessera_session=$LAST_TOKEN" taskset -c 1 "$TOOLS" load "$LAST_URL/v1/session" "$WHOAMI_RATE" "$SECONDS_PER_RUN" > "$WORK/$name-whoami.out"
  wait "$storm_login"
  local foreign
  foreign=$(foreign_ms "$WORK/$name.foreign")
  read -r _ W_SENT _ W_OK _ W_NON2XX _ W_ERR _ W_P50 _ W_P99 _ W_MAX < "$WORK/$name-whoami.out"
  read -r _ L_SENT _ L_OKS _ L_NON2XX _ L_ERR _ L_P50 _ L_P99 _ L_MAX < "$WORK/$name-login.out"
  STORM_OK=$(python3 -c "print('pass' if $W_P99 <= 5 and $W_NON2XX + $W_ERR == 0 else 'miss')")
  echo "| login storm ($label): whoami at $WHOAMI_RATE/s during logins at ${LOGIN_RATE}/s | $W_OK ok of $W_SENT | $W_P50 | $W_P99 (max $W_MAX) | | $((W_NON2XX + W_ERR)) | | | whoami p99 ≤ 5 ms, no errors | $STORM_OK |" >> "$ROWS"
  cat >> "$NOTES" <<MD
- **login storm ($label)**: logins at $LOGIN_RATE/s (twice the measured Argon2id limit of $LIMIT hashes/s): $L_OKS of $L_SENT succeeded, $L_NON2XX were refused ($(sed -n 's/^statuses //p' "$WORK/$name-login.out")), $L_ERR transport errors; login p50 $L_P50 ms, p99 $L_P99 ms, max $L_MAX ms. Whoami at $WHOAMI_RATE/s meanwhile: p50 $W_P50 ms, p99 $W_P99 ms, max $W_MAX ms ($(sed -n 's/^statuses //p' "$WORK/$name-whoami.out")). Other processes took $foreign ms of CPU during the run.
MD
  kill "$LAST_PID" 2>/dev/null || true
}
storm_run storm "Redis" TESSERA_SESSION_STORE="$REDIS_URL"
storm_run storm-sqlite "SQLite"
