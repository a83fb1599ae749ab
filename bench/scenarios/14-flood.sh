# Rate-limit key flood (issue 18 item 1): failed logins with 200 000
# unique emails from one client address, while whoami runs at a fixed rate.
# Before the fix every attempt added an account counter, even once the
# address was refused; the in-process table then swept itself on every hit
# under a mutex (whoami median about 9x), and on Redis each made a key.
# Now an address over its limit creates no account counter. Reported: the
# whoami p99 before and during the flood, tessera's RSS before and after,
# and (Redis) the rate-limit keys left, and the CPU other processes took
# during the flood. BENCH_TRACE_DIR=DIR keeps each request's latency there
# (<name>-whoami.trace, <name>-flood.trace; 11-storm.sh).
FLOOD_N=${BENCH_FLOOD_N:-200000}
FLOOD_RATE=${BENCH_FLOOD_RATE:-5000}
FLOOD_SECONDS=$(python3 -c "print($FLOOD_N / $FLOOD_RATE)")
WHOAMI_RATE=${BENCH_FLOOD_WHOAMI_RATE:-2000}
# flood_run NAME LABEL [env...]
flood_run() {
  local name=$1 label=$2; shift 2
  start_tessera "$name" "$@"
  local rss_before before during keys=""
  rss_before=$(awk '/^VmRSS/ {print $2}' "/proc/$LAST_PID/status")
  LOAD_COOKIE="__Host-tessera_session=$LAST_TOKEN" taskset -c 1 "$TOOLS" load "$LAST_URL/v1/session" "$WHOAMI_RATE" "$SECONDS_PER_RUN" > "$WORK/$name-before.out"
  foreign_snapshot "$WORK/$name.foreign"
  LOAD_TRACE=${BENCH_TRACE_DIR:+$BENCH_TRACE_DIR/$name-flood.trace} LOAD_CONTENT_TYPE=application/json LOAD_HEADER="tessera-client-ip: 198.51.100.23" taskset -c 1 "$TOOLS" load "$LAST_URL/v1/login" "$FLOOD_RATE" "$FLOOD_SECONDS" POST \
    '{"email":"flood-{n}@example.com","password":"not the password"}' > "$WORK/$name-flood.out" &
  local flood=$!
  LOAD_TRACE=${BENCH_TRACE_DIR:+$BENCH_TRACE_DIR/$name-whoami.trace} LOAD_COOKIE="__Host-tessera_session=$LAST_TOKEN" taskset -c 1 "$TOOLS" load "$LAST_URL/v1/session" "$WHOAMI_RATE" "$FLOOD_SECONDS" > "$WORK/$name-during.out"
  wait "$flood"
  local foreign
  foreign=$(foreign_ms "$WORK/$name.foreign")
  local rss_after
  rss_after=$(awk '/^VmRSS/ {print $2}' "/proc/$LAST_PID/status")
  if [ "$name" = flood-redis ]; then
    keys=$(redis-cli -u "$REDIS_URL" --scan --pattern 'tessera:rl:*' | wc -l)
  fi
  read -r _ B_SENT _ B_OK _ B_NON2XX _ B_ERR _ B_P50 _ B_P99 _ B_MAX < "$WORK/$name-before.out"
  read -r _ D_SENT _ D_OK _ D_NON2XX _ D_ERR _ D_P50 _ D_P99 _ D_MAX < "$WORK/$name-during.out"
  # FL_, not F_: bench/run's F_ variables are the floor's, which later scenarios (20-peers.sh) use as their baseline.
  read -r _ FL_SENT _ FL_OK _ FL_NON2XX _ FL_ERR _ FL_P50 _ FL_P99 _ FL_MAX < "$WORK/$name-flood.out"
  local ratio verdict
  ratio=$(python3 -c "print(f'{$D_P99 / $B_P99:.2f}')")
  verdict=$(python3 -c "print('pass' if $D_P99 <= 1.5 * $B_P99 and $D_NON2XX + $D_ERR == 0 and $rss_after - $rss_before < 64 * 1024 else 'miss')")
  echo "| key flood ($label): whoami at $WHOAMI_RATE/s during $FL_SENT failed logins with unique emails from one address | $D_OK ok of $D_SENT | $D_P50 | $D_P99 (before: $B_P99) | | $((D_NON2XX + D_ERR)) | | $ratio | whoami p99 ≤ 1.5× without the flood, no errors, RSS grows < 64 MiB | $verdict |" >> "$ROWS"
  cat >> "$NOTES" <<MD
- **key flood ($label)**: $FL_SENT login attempts at ${FLOOD_RATE}/s, each with a new email, all from 198.51.100.23 ($(sed -n 's/^statuses //p' "$WORK/$name-flood.out"); flood p99 $FL_P99 ms). Whoami at $WHOAMI_RATE/s before: p50 $B_P50 ms, p99 $B_P99 ms; during: p50 $D_P50 ms, p99 $D_P99 ms, max $D_MAX ms. tessera RSS $((rss_before / 1024)) MiB before, $((rss_after / 1024)) MiB after. Other processes took $foreign ms of CPU during the flood.${keys:+ Rate-limit keys in Redis afterwards: $keys.}
MD
  kill "$LAST_PID" 2>/dev/null || true
}
flood_run flood-sqlite "in-process counters"
redis-cli -u "$REDIS_URL" --scan --pattern 'tessera:rl:*' | xargs -r redis-cli -u "$REDIS_URL" del > /dev/null
flood_run flood-redis "Redis counters" TESSERA_SESSION_STORE="$REDIS_URL"
