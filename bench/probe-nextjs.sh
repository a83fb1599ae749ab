#!/usr/bin/env bash
# Where the Next.js getSession() row's cost goes: a probe, not a benchmark
# (bench/run's scenario 30-nextjs.sh makes the row; this prints what it
# does not). Same set-up as that scenario: tessera (release, a BFF key) and
# `next start` of examples/next-demo (TESSERA_DEMO_BENCH=1) both on CPU 0,
# wrk with 32 connections on CPU 1; /bench/static and /bench/session in
# turn, ROUNDS times. Per route and round it prints req/s and, per request:
# the CPU time of next and of tessera (every thread's run time from
# /proc/PID/task/*/schedstat, in ns, not clock ticks), next's main thread
# and its other threads (V8's helpers) apart, and the context switches of
# each process (voluntary: it slept; involuntary: it was preempted).
#
#   bash bench/probe-nextjs.sh [sqlite|redis] [ROUNDS] [SECONDS]
#
# Needs what bench/run's Next.js scenario built (node_modules, the kit's
# dist, examples/next-demo/.next) and release binaries in
# BENCH_PREBUILT or ${CARGO_TARGET_DIR:-target}/release.
# PROBE_TESSERA_PREFIX runs tessera under a command, e.g. `chrt -b 0`
# (SCHED_BATCH: docs/performance.md, "A fifth host"); PROBE_TESSERA_CPU
# pins it elsewhere (default 0, beside next).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
STORE=${1:-sqlite}
case $STORE in sqlite | redis) ;; *) echo "usage: bash bench/probe-nextjs.sh [sqlite|redis] [ROUNDS] [SECONDS]" >&2; exit 2 ;; esac
ROUNDS=${2:-3}
SECS=${3:-8}
BIN_DIR=${BENCH_PREBUILT:-${CARGO_TARGET_DIR:-target}/release}
TESSERA="$BIN_DIR/tessera"
REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379}
# As bench/run: wrk from Debian when this machine lacks it.
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
source bench/lib.sh
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

NPORT=$(free_port)
STORE_ENV=()
[ "$STORE" = redis ] && STORE_ENV=(TESSERA_SESSION_STORE="$REDIS_URL")
PAIR_TESSERA_PREFIX=${PROBE_TESSERA_PREFIX:-} PAIR_TESSERA_CPU=${PROBE_TESSERA_CPU:-0} start_next_pair probe "$NPORT" "${STORE_ENV[@]}"
TPID=$PAIR_TESSERA_PID NPID=$PAIR_NEXT_PID COOKIE=$PAIR_COOKIE
answer=$(curl -sS -w ' %{http_code}' -H "Cookie: $COOKIE" "http://127.0.0.1:$NPORT/bench/session" || true)
case $answer in *'"id"'*' 200') ;; *)
  echo "getSession() answered: $answer" >&2
  cat "$WORK/probe-next-start.out" "$WORK/probe-tessera/out" >&2
  exit 1
  ;;
esac

# threads PID: "tid ns voluntary involuntary" per thread
threads() {
  local t
  for t in /proc/"$1"/task/*; do
    printf '%s %s %s %s\n' "${t##*/}" "$(cut -d' ' -f1 "$t/schedstat" 2>/dev/null)" \
      "$(awk '/^voluntary_ctxt/{print $2}' "$t/status" 2>/dev/null)" "$(awk '/^nonvoluntary_ctxt/{print $2}' "$t/status" 2>/dev/null)"
  done
}

for path in /bench/static /bench/session; do
  taskset -c 1 wrk -t1 -c32 -d3s -H "Cookie: $COOKIE" "http://127.0.0.1:$NPORT$path" > /dev/null
done
echo "store $STORE, $ROUNDS rounds of ${SECS}s; per request: CPU µs (next main thread + next's other threads), context switches (voluntary/involuntary)"
for round in $(seq 1 "$ROUNDS"); do
  for path in /bench/static /bench/session; do
    threads "$NPID" > "$WORK/next.before"; threads "$TPID" > "$WORK/tessera.before"
    taskset -c 1 wrk -t1 -c32 -d"${SECS}s" -H "Cookie: $COOKIE" "http://127.0.0.1:$NPORT$path" > "$WORK/wrk.out"
    threads "$NPID" > "$WORK/next.after"; threads "$TPID" > "$WORK/tessera.after"
    python3 - "$WORK" "$round" "$path" "$SECS" "$NPID" <<'PY'
import re, sys
work, rnd, path, secs, npid = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
out = open(f"{work}/wrk.out").read()
n = int(re.search(r"(\d+) requests in", out).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
errors = re.search(r"Socket errors: .*", out)
if n == 0 or bad or errors:
    sys.exit(f"round {rnd} {path}: figures void: {n} requests, {bad.group(0) if bad else 'no non-2xx'}, {errors.group(0) if errors else 'no socket errors'}")
def read(name):
    # a thread that ended between listing and reading leaves a short line: skipped
    rows = (l.split() for l in open(f"{work}/{name}"))
    return {int(r[0]): list(map(int, r[1:])) for r in rows if len(r) == 4 and all(x.isdigit() for x in r)}
def delta(proc, pid):
    # by thread id: a thread that started during the run counts from zero, one that ended is not counted
    b, a = read(f"{proc}.before"), read(f"{proc}.after")
    main = ns = vol = inv = 0
    for tid, now in a.items():
        d = [x - y for x, y in zip(now, b.get(tid, [0, 0, 0]))]
        ns += d[0]; vol += d[1]; inv += d[2]
        if tid == pid: main = d[0]
    return ns, main, vol, inv
ns, main, vol, inv = delta("next", int(npid))
tns, _, tvol, tinv = delta("tessera", 0)
print(f"round {rnd} {path:15} {rps:6.0f} req/s  next {ns/n/1000:5.0f} ({main/n/1000:.0f} + {(ns-main)/n/1000:.0f})  "
      f"tessera {tns/n/1000:4.0f}  switches next {vol/n:.2f}/{inv/n:.2f} tessera {tvol/n:.2f}/{tinv/n:.2f}")
PY
  done
done
