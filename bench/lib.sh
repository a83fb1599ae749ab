# Shared by bench/run and bench/scenarios/*.sh (sourced, not run).
# Expects WORK (a scratch dir), PIDS (an array of processes to kill at the
# end), SECONDS_PER_RUN and CONNS to be set by bench/run; TESSERA (the
# binary) for start_tessera and start_next_pair, which also expects the
# repository root as the working directory.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { # pid[,pid...]: user+system ticks, summed
  local total=0 p
  for p in ${1//,/ }; do total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$total"
}
# What other processes took of the CPU during a run: `foreign_snapshot
# FILE` before, `foreign_ms FILE` after prints the milliseconds of CPU
# (user+system) taken in between by every process outside this benchmark:
# not bench/run or a descendant of it (its servers, wrk and tools are) and
# not Redis or PostgreSQL (which some rows measure). Kernel threads count,
# including the work they do for the benchmark (loopback softirqs in
# ksoftirqd, disk flushes); processes started in between count; a process
# that ended in between is missed. In clock ticks (10 ms here), not per CPU.
BENCH_ROOT_PID=$$
foreign_read() {
  python3 - "$BENCH_ROOT_PID" "$@" <<'PY'
import json, os, sys
root, mode, path = sys.argv[1], sys.argv[2], sys.argv[3]
procs = {}
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        continue
    name = stat[stat.index("(") + 1:stat.rindex(")")]
    # Fields after the name: state is field 3 (f[0]), ppid 4, utime 14,
    # stime 15, starttime 22 (proc(5)).
    f = stat[stat.rindex(")") + 2:].split()
    procs[pid] = (name, f[1], int(f[11]) + int(f[12]), f[19])
def ours(pid):
    seen = set()
    while pid in procs and pid not in seen:
        if pid == root:
            return True
        seen.add(pid)
        pid = procs[pid][1]
    return False
now = {}
for pid, (name, _, ticks, start) in procs.items():
    if name in ("redis-server", "postgres") or ours(pid):
        continue
    # pid and start time name a process (pids are reused).
    now[f"{pid}:{start}"] = ticks
if mode == "snapshot":
    json.dump(now, open(path, "w"))
else:
    before = json.load(open(path))
    ticks = sum(t - before.get(k, 0) for k, t in now.items())
    print(round(ticks * 1000 / os.sysconf("SC_CLK_TCK")))
PY
}
foreign_snapshot() { foreign_read snapshot "$1"; }
foreign_ms() { foreign_read delta "$1"; }
wait_line() { for _ in $(seq 1 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "no '$2' in $1" >&2; cat "$1" >&2; exit 1; }

# Runs wrk against URL with COOKIE while PID serves (PID may be a
# comma-separated list: their CPU time adds up); prints
# "req/s p50_ms p99_ms cpu_us_per_req non2xx", and writes the CPU other
# processes took meanwhile (ms, foreign_ms) to $WORK/last_foreign.
measure() {
  local pid=$1 url=$2 cookie=$3 out="$WORK/wrk.$RANDOM"
  local before after
  foreign_snapshot "$out.foreign"
  before=$(cpu_ticks "$pid")
  taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECONDS_PER_RUN}s" --latency -H "Cookie: $cookie" "${@:4}" "$url" > "$out"
  after=$(cpu_ticks "$pid")
  foreign_ms "$out.foreign" > "$WORK/last_foreign"
  WORK="$WORK" python3 - "$out" "$before" "$after" <<'PY'
import re, sys, os
text = open(sys.argv[1]).read()
before, after = int(sys.argv[2]), int(sys.argv[3])
tick = os.sysconf("SC_CLK_TCK")
def ms(v):
    if not re.match(r"([\d.]+)(us|ms|s)", v): sys.exit(f"unparsed latency {v!r} in:\n{text}")
    n, unit = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
total = int(re.search(r"(\d+) requests in", text).group(1))
# The distribution lines, not "95.50%" in the stdev column.
p50 = ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
errors = sum(int(x) for x in sock.groups()) if sock else 0
cpu_us = (after - before) / tick * 1e6 / max(total, 1)
failed = (int(bad.group(1)) if bad else 0) + errors
span = re.search(r"requests in ([\d.]+)(us|ms|s|m)", text)
secs = float(span.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[span.group(2)]
# Successful answers per second, for scenarios where refusals are expected.
open(os.environ["WORK"] + "/last_ok_rps", "w").write(f"{max(total - failed, 0) / secs:.1f}\n")
# What the failures were, for the scenarios' notes: answers or transport.
socks = "/".join(sock.groups()) if sock else "0/0/0/0"
open(os.environ["WORK"] + "/last_failed", "w").write(f"{int(bad.group(1)) if bad else 0} non-2xx, socket errors (connect/read/write/timeout) {socks}\n")
print(f"{rps:.0f} {p50:.3f} {p99:.3f} {cpu_us:.1f} {failed}")
PY
}

start_tessera() { # name, extra env...
  local name=$1; shift
  local port dir
  port=$(free_port); dir="$WORK/$name"; mkdir -p "$dir"
  # Every scenario registers from 127.0.0.1; the per-IP limit would stop a
  # second bench run within the window (the limits live in Redis).
  env TESSERA_LOG=warn TESSERA_REGISTER_MAX_PER_IP=1000000 TESSERA_DATA_DIR="$dir" "$@" taskset -c 0 "$TESSERA" serve --listen "127.0.0.1:$port" > "$dir/out" 2>&1 &
  PIDS+=("$!"); LAST_PID=$!
  wait_line "$dir/out" listening
  # Before the registration below hashes a password (19 MiB of Argon2 memory).
  LAST_START_RSS_KIB=$(awk '/^VmRSS/ {print $2}' "/proc/$LAST_PID/status")
  LAST_URL="http://127.0.0.1:$port"
  LAST_TOKEN=$(curl -fsS -D - -o /dev/null "$LAST_URL/v1/register" -H 'content-type: application/json' \
    -d "{\"email\":\"bench-$name@example.com\",\"password\":\"benchmark password\"}" |
    sed -n 's/^set-cookie: __Host-tessera_session=\([^;]*\).*/\1/ip' | tr -d '\r')
}

# start_next_pair NAME PORT [env...]: what the Next.js rows (scenario
# 30-nextjs.sh) and bench/probe-nextjs.sh measure, started the same way for
# both. tessera ($TESSERA with a fresh BFF key, data in $WORK/NAME-tessera,
# the env given; on CPU ${PAIR_TESSERA_CPU:-0}, under the command in
# PAIR_TESSERA_PREFIX when set, e.g. `chrt -b 0`), one user registered there
# with the key, and `next start` of examples/next-demo (TESSERA_DEMO_BENCH=1)
# on CPU 0 at 127.0.0.1:PORT (its APP_ORIGIN); returns once /bench/static
# answers. Sets PAIR_TESSERA_PID, PAIR_NEXT_PID, PAIR_COOKIE and
# PAIR_USER_ID; both pids go to PIDS; the servers write to
# $WORK/NAME-tessera/out and $WORK/NAME-next-start.out.
start_next_pair() {
  local name=$1 port=$2; shift 2
  local key tport reg origin="http://127.0.0.1:$port" next_bin="$PWD/node_modules/next/dist/bin/next"
  key=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
  tport=$(free_port)
  mkdir -p "$WORK/$name-tessera"
  # shellcheck disable=SC2086 # the prefix is a command line
  env TESSERA_LOG=warn TESSERA_REGISTER_MAX_PER_IP=1000000 TESSERA_DATA_DIR="$WORK/$name-tessera" \
    TESSERA_BFF_KEY="$key" TESSERA_PUBLIC_ORIGIN="$origin" "$@" \
    ${PAIR_TESSERA_PREFIX:-} taskset -c "${PAIR_TESSERA_CPU:-0}" "$TESSERA" serve --listen "127.0.0.1:$tport" > "$WORK/$name-tessera/out" 2>&1 &
  PIDS+=("$!"); PAIR_TESSERA_PID=$!
  wait_line "$WORK/$name-tessera/out" listening

  # Sign up directly at tessera, as start_tessera does, but with the BFF key
  # (with a key, every /v1 request needs it). The session cookie is all the
  # demo needs for a GET: getSession() forwards it (plus the BFF key and the
  # X-Forwarded-For that `next start` fills in); the CSRF cookie is only for
  # unsafe methods, and proxy.ts does not protect /bench.
  reg=$(curl -fsS -D "$WORK/$name-register.headers" "http://127.0.0.1:$tport/v1/register" \
    -H "Tessera-Bff-Key: $key" -H 'content-type: application/json' \
    -d "{\"email\":\"bench-$name@example.com\",\"password\":\"benchmark password\"}")
  PAIR_COOKIE=$(sed -n 's/^set-cookie: __Host-tessera_session=\([^;]*\).*/\1/ip' "$WORK/$name-register.headers" | tr -d '\r')
  [ -n "$PAIR_COOKIE" ] || { echo "no session cookie from tessera's register" >&2; exit 1; }
  PAIR_COOKIE="__Host-tessera_session=$PAIR_COOKIE"
  PAIR_USER_ID=$(printf '%s' "$reg" | python3 -c 'import json, sys; print(json.load(sys.stdin)["user"]["id"])')

  (cd examples/next-demo && exec env NEXT_TELEMETRY_DISABLED=1 TESSERA_DEMO_BENCH=1 TESSERA_URL="http://127.0.0.1:$tport" \
    TESSERA_BFF_KEY="$key" APP_ORIGIN="$origin" NODE_ENV=production \
    taskset -c 0 node "$next_bin" start --port "$port" --hostname 127.0.0.1) > "$WORK/$name-next-start.out" 2>&1 &
  PIDS+=("$!"); PAIR_NEXT_PID=$!
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "$origin/bench/static" 2>/dev/null && return 0
    kill -0 "$PAIR_NEXT_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "next start did not answer $origin/bench/static (built? bench/run's Next.js scenario builds it):" >&2
  cat "$WORK/$name-next-start.out" >&2
  exit 1
}

# "a, b, c": the first field of a file's lines, as a list.
listed() { awk '{printf "%s%s", sep, $1; sep=", "}' "$1"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
verdict() { python3 -c "print('pass' if $1 else 'miss')"; }

# Appends a result row to $ROWS: name rps p50 p99 cpu bad base_rps base_p99 target pass_expr
# (base_p99 "-": no latency baseline; pass_expr empty: no verdict).
row() {
  local name=$1 rps=$2 p50=$3 p99=$4 cpu=$5 bad=$6 brps=$7 bp99=$8 target=$9 expr=${10}
  local v=""
  [ -n "$expr" ] && v=$(verdict "$expr")
  local rp99="–"
  [ "$bp99" != "-" ] && rp99=$(ratio "$p99" "$bp99")
  echo "| $name | $rps | $p50 | $p99 | $cpu | $bad | $(ratio "$rps" "$brps") | $rp99 | $target | $v |" >> "$ROWS"
}
