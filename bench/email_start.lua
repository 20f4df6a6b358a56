-- wrk script: POST /v1/auth/email/start over rotating addresses
-- bench-1@example.com .. bench-N@example.com (N = 10000 unless given after
-- "--" on the wrk command line). Each wrk thread starts at a different
-- offset so threads do not send the same address at the same moment.
--
-- The service must run with PA_AUTH_EMAIL_MIN_INTERVAL=0,
-- PA_AUTH_EMAIL_HOURLY_CAP=1000000 and PA_RATE_LIMIT_ENABLED=false, or most
-- answers are 429 (bench/run.sh starts it that way).
--
--   wrk -t2 -c64 -d10s -s bench/email_start.lua \
--     http://127.0.0.1:PORT/v1/auth/email/start -- 10000

local threads = 0

-- Runs in the main Lua state once per thread, before it starts.
function setup(thread)
  thread:set("thread_index", threads)
  threads = threads + 1
end

local count = 10000
local next_n = 0

function init(args)
  if args[1] then
    count = tonumber(args[1]) or count
  end
  -- thread_index is set by setup(); 0 when the script runs without it.
  next_n = ((thread_index or 0) * 2503) % count
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  next_n = next_n % count + 1
  local body = string.format('{"email":"bench-%d@example.com"}', next_n)
  return wrk.format(nil, nil, nil, body)
end
