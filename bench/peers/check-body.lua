-- wrk script for bench/scenarios/20-peers.sh: counts answers that are not
-- 200 with a body containing $WRK_EXPECT (the signed-in user's email), and
-- writes "requests bad" to $WRK_CHECK_OUT when done. Needed because Better
-- Auth's getSession answers 200 with the body `null` for a missing, expired
-- or unknown session, which wrk's non-2xx count would not see.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  expect = os.getenv("WRK_EXPECT") or ""
  bad = 0
  seen = 0
end

function response(status, headers, body)
  seen = seen + 1
  if status ~= 200 or not string.find(body or "", expect, 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total_bad, total_seen = 0, 0
  for _, thread in ipairs(threads) do
    total_bad = total_bad + thread:get("bad")
    total_seen = total_seen + thread:get("seen")
  end
  local out = os.getenv("WRK_CHECK_OUT")
  if out then
    local f = assert(io.open(out, "w"))
    f:write(string.format("%d %d\n", total_seen, total_bad))
    f:close()
  end
end
