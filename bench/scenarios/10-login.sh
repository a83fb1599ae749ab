# Login: POST /v1/login throughput against the Argon2id limit of this
# machine, measured in the same run (hashes/s of tessera's parameters on the
# one core the server is pinned to). Logins beyond what the hasher can do
# must be refused quickly (503 hasher_busy, Retry-After), not queued: the
# p99 shows it.
LIMIT=$(taskset -c 0 "$TOOLS" argon2 "$SECONDS_PER_RUN" | awk '{print $2}')
echo "    Argon2id limit on one core: $LIMIT hashes/s"
start_tessera login TESSERA_SESSION_STORE="$REDIS_URL" \
  TESSERA_LOGIN_MAX_FAILURES_PER_IP=100000000 TESSERA_LOGIN_MAX_FAILURES_PER_ACCOUNT=100000000
cat > "$WORK/login.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"email":"bench-login@example.com","password":"benchmark password"}'
wrk.headers["Content-Type"] = "application/json"
LUA
read -r L_RPS L_P50 L_P99 L_CPU L_BAD < <(measure "$LAST_PID" "$LAST_URL/v1/login" "x=y" -s "$WORK/login.lua")
L_OK=$(cat "$WORK/last_ok_rps")
row "login: successful logins/s (Redis)" "$L_OK" "$L_P50" "$L_P99" "$L_CPU" "$L_BAD" "$LIMIT" "-" "≥ 0.90 of the Argon2id limit" "$L_OK/$LIMIT >= 0.90"
cat >> "$NOTES" <<MD
- **login**: $CONNS connections posting the same credentials; the Argon2id limit measured just before was $LIMIT hashes/s (m=19456, t=2, p=1, one core). $L_BAD of the answers were not 2xx (503 \`hasher_busy\` for the excess; the hasher queues 8 per worker and refuses the rest at once), and the req/s column for this row is successful logins only; p50/p99 cover every answer. CPU µs/req is per answer, refused ones included.
MD
