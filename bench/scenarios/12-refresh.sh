# Refresh: grant_type=refresh_token throughput against the floor. Every
# request rotates a live token (no replays): wrk keeps a pool of one live
# refresh token per family and puts each successor back as its answer
# arrives.
start_tessera refresh TESSERA_SESSION_STORE="$REDIS_URL" TESSERA_LOGIN_MAX_FAILURES_PER_IP=100000000
FAMILIES=$((CONNS * 2))
: > "$WORK/refresh.tokens"
for _ in $(seq 1 "$FAMILIES"); do
  curl -fsS "$LAST_URL/v1/token" -d grant_type=password -d username=bench-refresh@example.com \
    -d 'password=benchmark password' | python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])' >> "$WORK/refresh.tokens"
done
cat > "$WORK/refresh.lua" <<LUA
local pool = {}
for line in io.lines("$WORK/refresh.tokens") do pool[#pool + 1] = line end
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
read -r T_RPS T_P50 T_P99 T_CPU T_BAD < <(measure "$LAST_PID" "$LAST_URL/v1/token" "x=y" -s "$WORK/refresh.lua")
row "refresh (rotation), SQLite families" "$T_RPS" "$T_P50" "$T_P99" "$T_CPU" "$T_BAD" "$F_RPS" "$F_P99" "≥ 0.35 of the floor" "$T_RPS/$F_RPS >= 0.35"
cat >> "$NOTES" <<MD
- **refresh**: $FAMILIES refresh families (password grants), each request rotates the live token of one of them (a spend in one SQLite transaction, a new successor, an EdDSA-signed access token); wrk puts the successor back into its pool. Refresh families live in the SQL database (SQLite here; sessions in Redis do not matter for this grant).
MD
