# Login: POST /v1/login throughput against the Argon2id limit of this
# machine, measured just before each store's run (hashes/s of tessera's
# parameters on the one core the server is pinned to: other processes on
# this machine move it by several per cent from one minute to the next, so
# each ratio is to the limit measured next to it). Logins beyond what the
# hasher can do must be refused quickly (503 hasher_busy, Retry-After), not
# queued: the p99 shows it.
argon2_limit() {
  LIMIT=$(taskset -c 0 "$TOOLS" argon2 "$SECONDS_PER_RUN" | awk '{print $2}')
  echo "    Argon2id limit on one core: $LIMIT hashes/s"
}
# As many connections as the hasher admits (one worker on one core, 8
# waiting): every login is hashed, none refused. What happens to the excess
# is the storm's question (11-storm): there it is refused at once. A closed
# loop with more connections than that measures something else: refusals
# are answered in microseconds and retried at once, a flood that leaves the
# low-priority hashing thread almost no CPU.
LOGIN_CONNS=${BENCH_LOGIN_CONNECTIONS:-9}
# login_run NAME LABEL [env...]: one tessera with that session store.
login_run() {
  local name=$1 label=$2; shift 2
  argon2_limit
  start_tessera "$name" TESSERA_LOGIN_MAX_FAILURES_PER_IP=100000000 TESSERA_LOGIN_MAX_FAILURES_PER_ACCOUNT=100000000 "$@"
  cat > "$WORK/$name.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"email":"bench-$name@example.com","password":"benchmark password"}'
wrk.headers["Content-Type"] = "application/json"
LUA
  read -r L_RPS L_P50 L_P99 L_CPU L_BAD < <(CONNS=$LOGIN_CONNS measure "$LAST_PID" "$LAST_URL/v1/login" "x=y" -s "$WORK/$name.lua")
  L_OK=$(cat "$WORK/last_ok_rps")
  row "login: successful logins/s ($label)" "$L_OK" "$L_P50" "$L_P99" "$L_CPU" "$L_BAD" "$LIMIT" "-" "≥ 0.90 of the Argon2id limit" "$L_OK/$LIMIT >= 0.90"
  kill "$LAST_PID" 2>/dev/null || true
}
login_run login "Redis" TESSERA_SESSION_STORE="$REDIS_URL"
L_BAD_REDIS=$L_BAD LIMIT_REDIS=$LIMIT
login_run login-sqlite "SQLite"
cat >> "$NOTES" <<MD
- **login**: $LOGIN_CONNS connections (what the hasher admits: one worker, 8 waiting) posting the same credentials; the Argon2id limit measured just before each was $LIMIT_REDIS (Redis) and $LIMIT (SQLite) hashes/s (m=19456, t=2, p=1, one core). $L_BAD_REDIS (Redis) and $L_BAD (SQLite) answers were not 2xx; the req/s column is successful logins only. The excess beyond the hasher is the login storm's subject (below). With 32 connections instead, a closed loop turns the instant 503s into a flood of tens of thousands of requests per second at normal priority, and the hashing thread (lowest priority, so that session checks win) gets almost no CPU: that measures the load generator, not a login path.
MD
