# Refresh: grant_type=refresh_token throughput against the floor, with the
# refresh families in SQLite (the embedded default) and in PostgreSQL (the
# production set-up). Every request rotates a live token (no replays): wrk
# keeps a pool of one live refresh token per family and puts each successor
# back as its answer arrives.
#
# PostgreSQL: BENCH_REFRESH_DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/bench_tessera_refresh), dropped and
# created afresh for each run.
REFRESH_DB_URL=${BENCH_REFRESH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bench_tessera_refresh}
FAMILIES=$((CONNS * 2))

# refresh_start NAME [env...]: one tessera for the refresh grant.
refresh_start() {
  local name=$1; shift
  start_tessera "$name" TESSERA_SESSION_STORE="$REDIS_URL" TESSERA_LOGIN_MAX_FAILURES_PER_IP=100000000 "$@"
}

# refresh_measure NAME: FAMILIES fresh password grants on the last tessera,
# then wrk rotating their tokens; prints measure's figures.
refresh_measure() {
  local name=$1
  : > "$WORK/$name.tokens"
  for _ in $(seq 1 "$FAMILIES"); do
    curl -fsS "$LAST_URL/v1/token" -d grant_type=password -d "username=bench-$name@example.com" \
      -d 'password=benchmark password' | python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])' >> "$WORK/$name.tokens"
  done
  cat > "$WORK/$name.lua" <<LUA
local pool = {}
for line in io.lines("$WORK/$name.tokens") do pool[#pool + 1] = line end
request = function()
  local token = table.remove(pool)
  if token == nil then
    -- Every family is in flight: wait for one (never reuse a token).
    return wrk.format("GET", "/healthz")
  end
  return wrk.format("POST", "/v1/token",
    {["Content-Type"] = "application/x-www-form-urlencoded"},
    "grant_type=refresh_token&refresh_token=" .. token)
end
response = function(status, headers, body)
  local next = body:match('"refresh_token":"([^"]+)"')
  if next then pool[#pool + 1] = next end
end
LUA
  measure "$LAST_PID" "$LAST_URL/v1/token" "x=y" -s "$WORK/$name.lua"
}

refresh_start refresh
read -r T_RPS T_P50 T_P99 T_CPU T_BAD < <(refresh_measure refresh)
row "refresh (rotation), SQLite families" "$T_RPS" "$T_P50" "$T_P99" "$T_CPU" "$T_BAD" "$F_RPS" "$F_P99" "(no target against a read: a rotation is a durable write)" ""
kill "$LAST_PID" 2>/dev/null || true

# PostgreSQL: the rotation and its write floor measured in turn,
# BENCH_ROUNDS times (fresh families each round), medians per column, as
# the headline rows are: a durable write's throughput follows the disk's
# flush time, which drifts on a shared machine.
REFRESH_PG=""
if psql "${REFRESH_DB_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS \"${REFRESH_DB_URL##*/}\" WITH (FORCE)" \
  -c "CREATE DATABASE \"${REFRESH_DB_URL##*/}\"" >/dev/null 2>&1; then
  REFRESH_PG=1
  refresh_start refresh-pg TESSERA_DATABASE_URL="$REFRESH_DB_URL"
  # A second floor for the same rows: one durable write per request (an
  # UPDATE of one of 64 rows in turn, autocommit, on the same database),
  # which a rotation cannot skip either.
  WPORT=$(free_port)
  taskset -c 0 "$FLOOR" "127.0.0.1:$WPORT" "$REDIS_URL" "$REFRESH_DB_URL" > "$WORK/write-floor.out" 2>&1 &
  PIDS+=("$!"); WFLOOR_PID=$!
  wait_line "$WORK/write-floor.out" listening
  printf 'wrk.method = "POST"\n' > "$WORK/post.lua"
  : > "$WORK/refresh-pg.runs"; : > "$WORK/write-floor.runs"
  for _ in $(seq 1 "$ROUNDS"); do
    refresh_measure refresh-pg >> "$WORK/refresh-pg.runs"
    measure "$WFLOOR_PID" "http://127.0.0.1:$WPORT/write" "x=y" -s "$WORK/post.lua" >> "$WORK/write-floor.runs"
  done
  kill "$WFLOOR_PID" "$LAST_PID" 2>/dev/null || true
  read -r PG_RPS PG_P50 PG_P99 PG_CPU PG_BAD < <(medians "$WORK/refresh-pg.runs")
  read -r W_RPS W_P50 W_P99 W_CPU W_BAD < <(medians "$WORK/write-floor.runs")
  PG_RUNS=$(listed "$WORK/refresh-pg.runs")
  W_RUNS=$(listed "$WORK/write-floor.runs")
  row "write floor (1 PostgreSQL UPDATE)" "$W_RPS" "$W_P50" "$W_P99" "$W_CPU" "$W_BAD" "$W_RPS" "$W_P99" "" ""
  row "refresh (rotation), PostgreSQL families vs the write floor" "$PG_RPS" "$PG_P50" "$PG_P99" "$PG_CPU" "$PG_BAD" "$W_RPS" "$W_P99" "≥ 0.60 of the write floor" "$PG_RPS/$W_RPS >= 0.60"
fi
cat >> "$NOTES" <<MD
- **refresh**: $FAMILIES refresh families (password grants), each request rotates the live token of one of them: one write of one row, the family's (its tokens name family and generation, migration 0011), one conditional UPDATE (live hash and generation as presented, unexpired, family live) that only the first of racing rotations matches, no indexed column changed; on PostgreSQL its RETURNING joined with the user in the same statement, on SQLite a read of the family and user after it in the same query; then an EdDSA-signed access token. wrk puts the successor back into its pool. Refresh families live in the SQL database (sessions in Redis do not matter for this grant). The PostgreSQL rows' CPU µs/req is the server's alone: PostgreSQL (unpinned, so it shares CPU 1 with wrk) does the rest of the work. The write floor (bench/floor with a PostgreSQL URL) does one UPDATE per request on the same database, in autocommit: the least a durable rotation costs; tessera's rotation also checks the token's MAC, derives the successor, reads the family's user and signs an access token. The PostgreSQL rotation and the write floor are medians of $ROUNDS alternating runs, fresh families each round (req/s run by run: rotation ${PG_RUNS:-–}; write floor ${W_RUNS:-–}): both wait on the same WAL flush, so their throughput drifts with the disk. The write floor keeps sqlx's default check (a ping) of every connection it takes from its pool; tessera checks only connections idle for 1 s: against a floor that checks as tessera does, the rotation measured 0.65–0.68 (0.50–0.55 before migration 0011; docs/performance.md).$([ -n "$REFRESH_PG" ] || echo " **PostgreSQL not measured: could not create $REFRESH_DB_URL.**")
MD
