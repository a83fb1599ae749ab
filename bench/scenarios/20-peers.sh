# Peers (issue 9): the same "who is this session" call on
#   (a) Better Auth's getSession, Redis secondary storage (its recommended
#       set-up: bench/peers/better-auth.mjs says what one call does), and
#   (b) express-session + connect-redis (bench/peers/express-session.mjs),
# each a single Node process pinned to CPU 0 like tessera, wrk on CPU 1.
# Target: tessera's whoami (Redis) ≥ 40× Better Auth's throughput.
#
# Sourced by bench/run (uses bench/lib.sh and its variables; see there).
# Needs Node ≥ 20.9, npm, Redis at $REDIS_URL and, for Better Auth,
# PostgreSQL (BENCH_PEERS_DATABASE_URL, default
# postgres://postgres@127.0.0.1:5432/bench_better_auth, created if absent).

PEERS_DIR="$PWD/bench/peers"
PEERS_DB_URL=${BENCH_PEERS_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bench_better_auth}
PEERS_EMAIL=bench-peers@example.com
PEERS_PASSWORD="benchmark password"

# A fresh machine has no bench/peers/node_modules; a stale one is
# reinstalled when the lock file is newer than npm's record of the install.
PEERS_OK=1
if [ ! -f "$PEERS_DIR/node_modules/.package-lock.json" ] ||
  [ "$PEERS_DIR/package-lock.json" -nt "$PEERS_DIR/node_modules/.package-lock.json" ]; then
  echo "  npm ci in bench/peers"
  if ! (cd "$PEERS_DIR" && timeout 600 npm ci --no-audit --no-fund --loglevel=error); then
    PEERS_OK=""
    echo "- **WARNING: peers not measured: \`npm ci\` in bench/peers failed.**" >> "$NOTES"
  fi
fi

# peers_start NAME SCRIPT: starts the peer on CPU 0, waits for its
# "listening" line (60 s at most: Better Auth migrates its schema first);
# sets PEER_PID and PEER_URL, or returns 1.
peers_start() {
  local name=$1 script=$2 port out="$WORK/peer-$1.out"
  port=$(free_port)
  env NODE_ENV=production REDIS_URL="$REDIS_URL" DATABASE_URL="$PEERS_DB_URL" \
    taskset -c 0 node "$PEERS_DIR/$script" "$port" > "$out" 2>&1 &
  PIDS+=("$!"); PEER_PID=$!
  PEER_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 600); do
    grep -q "listening on" "$out" 2>/dev/null && return 0
    kill -0 "$PEER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "  $name did not start:" >&2; cat "$out" >&2
  return 1
}

peers_stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# Sum of Redis commands run so far (INFO itself left out), as "cmd=calls ...".
peers_redis_calls() {
  redis-cli -u "$REDIS_URL" info commandstats | tr -d '\r' |
    sed -n 's/^cmdstat_\([a-z|]*\):calls=\([0-9]*\).*/\1=\2/p' | grep -v '^info=' | tr '\n' ' ' || true
}
# peers_redis_per_req BEFORE AFTER REQUESTS: "GET 2.00, EXPIRE 1.00 (3.00 in all)"
peers_redis_per_req() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
parse = lambda s: {k: int(v) for k, v in (kv.split("=") for kv in s.split())}
before, after, n = parse(sys.argv[1]), parse(sys.argv[2]), max(int(sys.argv[3]), 1)
delta = {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0) > 0}
parts = [f"{k.upper()} {v / n:.2f}" for k, v in sorted(delta.items(), key=lambda kv: -kv[1]) if v / n >= 0.01]
print(", ".join(parts) + f" ({sum(delta.values()) / n:.2f} in all)")
PY
}

# peers_measure SLUG NAME PID URL COOKIE: JIT warm-up (not measured), then
# ROUNDS runs of `measure` (medians, as tessera's whoami rows are) with
# bench/peers/check-body.lua, which counts every answer that is not a 200
# carrying the signed-in user's email (Better Auth answers an unknown
# session with 200 `null`, invisible to wrk's non-2xx count).
# P_BAD is the larger of that count and measure's (non-2xx + socket
# errors), each summed over the runs. Sets P_RPS P_P50 P_P99 P_CPU P_BAD
# P_REDIS and P_RUNS (req/s run by run); returns 1 when wrk gave nothing.
peers_measure() {
  local name=$2 pid=$3 url=$4 cookie=$5 runs="$WORK/peer-$1.runs" r0 r1 line run check
  local seen=0 bad=0 checked=1 s b
  P_RPS=""; P_BAD=""; P_RUNS=""
  : > "$runs"
  taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECONDS_PER_RUN}s" -H "Cookie: $cookie" "$url" > /dev/null
  r0=$(peers_redis_calls)
  for run in $(seq 1 "$ROUNDS"); do
    check="$WORK/peer-$1.check.$run"
    line=$(WRK_EXPECT="$PEERS_EMAIL" WRK_CHECK_OUT="$check" \
      measure "$pid" "$url" "$cookie" -s "$PEERS_DIR/check-body.lua") || true
    if [ -z "$line" ]; then
      echo "- **WARNING: $name: wrk gave no figures in run $run** (see the bench output)." >> "$NOTES"
      return 1
    fi
    echo "$line" >> "$runs"
    if read -r s b < "$check" 2>/dev/null; then
      seen=$((seen + s)); bad=$((bad + b))
    else
      checked=""
    fi
  done
  r1=$(peers_redis_calls)
  read -r P_RPS P_P50 P_P99 P_CPU P_BAD < <(medians "$runs")
  P_RUNS=$(listed "$runs")
  # Redis commands per answer the body check saw: without its counts, not counted.
  if [ -n "$checked" ]; then
    [ "$bad" -gt "$P_BAD" ] && P_BAD=$bad
    P_REDIS=$(peers_redis_per_req "$r0" "$r1" "$seen")
  else
    P_BAD="?"
    P_REDIS="(not counted)"
    echo "- **$name: the body check did not run** (no $WORK/peer-$1.check.N): answers unchecked." >> "$NOTES"
  fi
  if [ "$P_BAD" != 0 ]; then
    echo "- **WARNING: $name answered $P_BAD of $seen requests with something other than 200 + the user** (see its row): its figures do not measure a session check." >> "$NOTES"
  fi
}

# peers_pg_checkouts: Better Auth's count of PostgreSQL pool checkouts so far
# (it prints it on SIGUSR2), or nothing.
peers_pg_checkouts() {
  kill -USR2 "$BA_PID" 2>/dev/null || return 0
  sleep 0.3
  sed -n 's/^pg pool checkouts: //p' "$WORK/peer-better-auth.out" | tail -1
}

# peers_log NAME: the end of a peer's output, on one line, for a note.
peers_log() { tail -c 600 "$WORK/peer-$1.out" 2>/dev/null | tr '\n' ' '; }

BA_RPS=""; ES_RPS=""

if [ -n "$PEERS_OK" ]; then
  echo "  Better Auth (Redis secondary storage)"
  if peers_start better-auth better-auth.mjs; then
    BA_PID=$PEER_PID; BA_URL=$PEER_URL
    # Sign up through its own API (sign in instead when the user is left
    # from an earlier run: Postgres keeps users); keep the session cookie.
    BA_COOKIE=""
    for BA_PATH in sign-up/email sign-in/email; do
      BA_COOKIE=$(curl -sS -m 10 -D - -o /dev/null "$BA_URL/api/auth/$BA_PATH" -H 'content-type: application/json' \
        -d "{\"email\":\"$PEERS_EMAIL\",\"password\":\"$PEERS_PASSWORD\",\"name\":\"Bench Peers\"}" |
        sed -n 's/^set-cookie: \(better-auth\.session_token=[^;]*\).*/\1/ip' | tr -d '\r' || true)
      [ -n "$BA_COOKIE" ] && break
    done
    if [ -n "$BA_COOKIE" ] && curl -fsS -m 10 "$BA_URL/api/auth/get-session" -H "Cookie: $BA_COOKIE" | grep -q "$PEERS_EMAIL"; then
      BA_PG0=$(peers_pg_checkouts)
      if peers_measure better-auth "Better Auth getSession" "$BA_PID" "$BA_URL/api/auth/get-session" "$BA_COOKIE"; then
        BA_RPS=$P_RPS; BA_P50=$P_P50; BA_P99=$P_P99; BA_CPU=$P_CPU; BA_BAD=$P_BAD; BA_REDIS=$P_REDIS; BA_RUNS=$P_RUNS
        BA_PG1=$(peers_pg_checkouts)
        if [ -n "$BA_PG0" ] && [ -n "$BA_PG1" ]; then BA_PG=$((BA_PG1 - BA_PG0)); else BA_PG="(not counted)"; fi
        row "Better Auth getSession (Redis secondary storage)" "$BA_RPS" "$BA_P50" "$BA_P99" "$BA_CPU" "$BA_BAD" "$F_RPS" "$F_P99" "" ""
      fi
    else
      echo "- **WARNING: Better Auth: no working session cookie from sign-up/sign-in; not measured.** Its output: $(peers_log better-auth)" >> "$NOTES"
    fi
    peers_stop "$BA_PID"
  else
    echo "- **WARNING: Better Auth did not start; not measured** (it needs PostgreSQL at $PEERS_DB_URL and Redis at $REDIS_URL). Its output: $(peers_log better-auth)" >> "$NOTES"
  fi

  echo "  express-session + connect-redis"
  if peers_start express-session express-session.mjs; then
    ES_PID=$PEER_PID; ES_URL=$PEER_URL
    ES_COOKIE=$(curl -sS -m 10 -D - -o /dev/null "$ES_URL/login" -H 'content-type: application/json' \
      -d "{\"email\":\"$PEERS_EMAIL\"}" |
      sed -n 's/^set-cookie: \(connect\.sid=[^;]*\).*/\1/ip' | tr -d '\r' || true)
    if [ -n "$ES_COOKIE" ] && curl -fsS -m 10 "$ES_URL/v1/session" -H "Cookie: $ES_COOKIE" | grep -q "$PEERS_EMAIL"; then
      if peers_measure express-session "express-session" "$ES_PID" "$ES_URL/v1/session" "$ES_COOKIE"; then
        ES_RPS=$P_RPS; ES_P50=$P_P50; ES_P99=$P_P99; ES_CPU=$P_CPU; ES_BAD=$P_BAD; ES_REDIS=$P_REDIS; ES_RUNS=$P_RUNS
        row "express-session + connect-redis" "$ES_RPS" "$ES_P50" "$ES_P99" "$ES_CPU" "$ES_BAD" "$F_RPS" "$F_P99" "" ""
      fi
    else
      echo "- **WARNING: express-session: no working session cookie from /login; not measured.** Its output: $(peers_log express-session)" >> "$NOTES"
    fi
    peers_stop "$ES_PID"
  else
    echo "- **WARNING: express-session did not start; not measured.** Its output: $(peers_log express-session)" >> "$NOTES"
  fi
fi

# tessera's whoami on Redis (measured by bench/run) against each peer.
if [ -n "$BA_RPS" ]; then
  row "tessera whoami (Redis) vs Better Auth" "$R_RPS" "$R_P50" "$R_P99" "$R_CPU" "$R_BAD" "$BA_RPS" "$BA_P99" "≥ 40× Better Auth" "$R_RPS/$BA_RPS >= 40"
else
  echo "- **Target \"tessera ≥ 40× Better Auth\": not measured** (Better Auth gave no figures, see above)." >> "$NOTES"
fi
if [ -n "$ES_RPS" ]; then
  row "tessera whoami (Redis) vs express-session" "$R_RPS" "$R_P50" "$R_P99" "$R_CPU" "$R_BAD" "$ES_RPS" "$ES_P99" "(no target)" ""
fi

peers_version() { node -p "require('$PEERS_DIR/node_modules/$1/package.json').version" 2>/dev/null || echo '?'; }
{
  echo
  echo "**Peers.** Each peer is one Node $(node --version) process (NODE_ENV=production) pinned to CPU 0, as tessera is, wrk on CPU 1, with a ${SECONDS_PER_RUN} s warm-up (V8's JIT, the heap's growth) before $ROUNDS measured runs, whose medians the rows show (measured after tessera's rows, not alternating with them). Node runs JavaScript on one thread, so one core is what one Node process uses (a multi-core deployment runs a process per core, as tessera would use its cores): per core is the fair comparison. CPU µs/req counts the whole process (GC and libuv threads too). The peers' rows have the floor as baseline, the \"tessera whoami vs\" rows the peer. Non-2xx for a peer counts every answer that is not a 200 carrying the user (bench/peers/check-body.lua)."
  if [ -n "$BA_RPS" ]; then
    echo "- Better Auth $(peers_version better-auth) getSession (GET /api/auth/get-session, @better-auth/redis-storage $(peers_version @better-auth/redis-storage) on ioredis $(peers_version ioredis), pg Pool on PostgreSQL): cookie signature check, then per request Redis $BA_REDIS; PostgreSQL pool checkouts during the runs: $BA_PG (sessions live in Redis only: \`session.storeSessionInDatabase\` is off, its default with secondary storage). Cookie cache off (its default; the recommended Redis set-up leaves it off). Its rate limiter (on by default in production: a Redis EVAL INCR per request, 100 per 10 s per address) is exempted for /get-session, as tessera does not limit whoami: this favours Better Auth. Its req/s run by run: $BA_RUNS. tessera whoami: $(ratio "$R_RPS" "$BA_RPS")× its throughput, $(ratio "$BA_CPU" "$R_CPU")× less CPU per request."
  fi
  if [ -n "$ES_RPS" ]; then
    echo "- express-session $(peers_version express-session) + connect-redis $(peers_version connect-redis) (express $(peers_version express), node-redis $(peers_version redis)): cookie signature check, then per request Redis $ES_REDIS (the EXPIRE is express-session's touch of an unmodified session, connect-redis's default). Its req/s run by run: $ES_RUNS. tessera whoami: $(ratio "$R_RPS" "$ES_RPS")× its throughput, $(ratio "$ES_CPU" "$R_CPU")× less CPU per request."
  fi
  if [ -n "$BA_RPS$ES_RPS" ]; then
    echo "- Redis commands per request are counted on the whole Redis server (INFO commandstats), so anything else using it during the run adds to them."
  fi
} >> "$NOTES"
