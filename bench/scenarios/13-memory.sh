# Memory: resident memory of one tessera instance idle and serving with a
# million live sessions in Redis, and Redis memory per session. A private
# redis-server on a free port holds them, so the shared Redis is untouched.
MPORT=$(free_port)
taskset -c 1 redis-server --port "$MPORT" --bind 127.0.0.1 --save '' --appendonly no > "$WORK/redis-mem.out" 2>&1 &
PIDS+=("$!")
for _ in $(seq 1 50); do redis-cli -p "$MPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
start_tessera memory TESSERA_SESSION_STORE="redis://127.0.0.1:$MPORT"
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
IDLE_RSS=$LAST_START_RSS_KIB
AFTER_HASH_RSS=$(rss_kib "$LAST_PID")
REDIS_BEFORE=$(redis-cli -p "$MPORT" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')
SESSIONS=${BENCH_SESSIONS:-1000000}
# The session tessera itself wrote, copied with new ids and token hashes:
# the same fields and sizes as real ones.
python3 - "$MPORT" "$SESSIONS" <<'PY' | redis-cli -p "$MPORT" --pipe > "$WORK/pipe.out" 2>&1 || true
import hashlib, json, os, subprocess, sys, uuid
port, n = sys.argv[1], int(sys.argv[2])
keys = subprocess.run(["redis-cli", "-p", port, "--scan", "--pattern", "tessera:s:*"], capture_output=True, text=True).stdout.split()
value = subprocess.run(["redis-cli", "-p", port, "--raw", "get", keys[0]], capture_output=True).stdout.removesuffix(b"\n")
head, facts, user = value.split(b"\n")
facts, user = json.loads(facts), json.loads(user)
expire = subprocess.run(["redis-cli", "-p", port, "pexpiretime", keys[0]], capture_output=True, text=True).stdout.strip()
compact = lambda d: json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode()
out = sys.stdout.buffer
def cmd(*args):
    parts = [f"*{len(args)}\r\n".encode()]
    for b in args:
        parts.append(f"${len(b)}\r\n".encode() + b + b"\r\n")
    return b"".join(parts)
for i in range(n):
    key = "tessera:s:" + hashlib.sha256(os.urandom(32)).hexdigest()
    # [id, user id, created, absolute expiry, user agent, ip] and
    # [email, name, verified, roles, user created] (crates/tessera-store-redis/src/record.rs)
    f = [str(uuid.uuid4()), str(uuid.uuid4())] + facts[2:]
    u = [f"user{i}@example.com"] + user[1:]
    out.write(cmd(b"SET", key.encode(), b"\n".join([head, compact(f), compact(u)]), b"PXAT", expire.encode()))
PY
VALUE_BYTES=$(redis-cli -p "$MPORT" strlen "$(redis-cli -p "$MPORT" --scan --pattern 'tessera:s:*' | head -1)" | tr -d '\r')
LOADED=$(redis-cli -p "$MPORT" dbsize | tr -d '\r')
REDIS_AFTER=$(redis-cli -p "$MPORT" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')
read -r M_RPS M_P50 M_P99 M_CPU M_BAD < <(measure "$LAST_PID" "$LAST_URL/v1/session" "__Host-tessera_session=$LAST_TOKEN")
LOADED_RSS=$(rss_kib "$LAST_PID")
PER_SESSION=$(python3 -c "print(f'{($REDIS_AFTER - $REDIS_BEFORE) / max($LOADED - 2, 1):.0f}')")
cat >> "$NOTES" <<MD
- **memory**: tessera resident memory idle (just started, nothing hashed yet): $((IDLE_RSS / 1024)) MiB; after one registration (an Argon2id hash needs 19 MiB while it runs): $((AFTER_HASH_RSS / 1024)) MiB; after $SECONDS_PER_RUN s of whoami with $LOADED keys in Redis ($SESSIONS copies of a real session plus tessera's own): $((LOADED_RSS / 1024)) MiB (whoami there: $M_RPS req/s, p99 $M_P99 ms, $M_BAD non-2xx or socket errors). Sessions live in Redis, not in tessera, so its memory does not grow with them. Redis \`used_memory\` grew by $(( (REDIS_AFTER - REDIS_BEFORE) / 1048576 )) MiB: about $PER_SESSION bytes per session (one string value of about $VALUE_BYTES bytes and its expiry).
MD
