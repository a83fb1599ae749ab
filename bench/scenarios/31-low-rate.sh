# Low rate: whoami at a fixed few hundred requests per second (the rate the
# Next.js rows run at), tessera against the floor, open loop
# (tessera-bench-tools load). No target: it tells how much of tessera's CPU
# per request in the Next.js rows is tessera's own and how much any server
# pays at that rate (each request wakes it up, and each Redis reply again,
# instead of many requests sharing one wakeup as under saturation).
# BENCH_LOW_RATE (default 500) requests per second.
LOW_RATE=${BENCH_LOW_RATE:-500}
start_tessera low-rate TESSERA_SESSION_STORE="$REDIS_URL"

# low_rate_run PID URL COOKIE: "req/s p50 p99 cpu_us ok"
low_rate_run() {
  local before after out="$WORK/low-rate.$RANDOM"
  before=$(cpu_ticks "$1")
  LOAD_COOKIE="$3" taskset -c 1 "$TOOLS" load "$2" "$LOW_RATE" "$SECONDS_PER_RUN" > "$out"
  after=$(cpu_ticks "$1")
  python3 - "$out" "$before" "$after" "$SECONDS_PER_RUN" <<'PY'
import os, re, sys
text = open(sys.argv[1]).read()
before, after, secs = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
m = re.search(r"sent (\d+) ok (\d+) non2xx (\d+) errors (\d+) p50_ms ([\d.]+) p99_ms ([\d.]+)", text)
sent, ok, non2xx, errors = (int(m.group(i)) for i in range(1, 5))
cpu_us = (after - before) / os.sysconf("SC_CLK_TCK") * 1e6 / max(sent, 1)
print(f"{sent / secs:.0f} {m.group(5)} {m.group(6)} {cpu_us:.1f} {non2xx + errors}")
PY
}
read -r LF_RPS LF_P50 LF_P99 LF_CPU LF_BAD < <(low_rate_run "$FLOOR_PID" "http://127.0.0.1:$FPORT/v1/session" "s=benchtoken")
read -r LT_RPS LT_P50 LT_P99 LT_CPU LT_BAD < <(low_rate_run "$LAST_PID" "$LAST_URL/v1/session" "__Host-tessera_session=$LAST_TOKEN")
row "floor at $LOW_RATE req/s (open loop)" "$LF_RPS" "$LF_P50" "$LF_P99" "$LF_CPU" "$LF_BAD" "$LF_RPS" "$LF_P99" "" ""
row "whoami, Redis, at $LOW_RATE req/s (open loop)" "$LT_RPS" "$LT_P50" "$LT_P99" "$LT_CPU" "$LT_BAD" "$LF_RPS" "$LF_P99" "(no target)" ""
cat >> "$NOTES" <<MD
- **low rate**: whoami and the floor at a fixed $LOW_RATE requests/s, open loop (tessera-bench-tools load, one keep-alive client). CPU per request: floor $LF_CPU µs, tessera $LT_CPU µs (saturated: floor $F_CPU µs, tessera $R_CPU µs). At this rate each request costs any server its own wakeups (the request, then the Redis reply) and runs with cold caches: the floor's figure is what any server pays here, the difference is tessera's own work. The Next.js rows run tessera at this kind of rate.
MD
kill "$LAST_PID" 2>/dev/null || true
