-- POSTs pre-generated single-use JSON bodies (one a line), each once:
-- magic-link tokens, code flows, refresh tokens, passkey assertions.
--
--   wrk ... -s one_shot.lua URL -- BODIES_FILE THREADS PATH EXPECT
--
-- wrk thread k of n (n = THREADS) takes every n-th line starting at k, so
-- no body is sent twice. An answer counts as wrong when its status is not
-- 2xx (wrk counts that) or its body lacks the substring EXPECT (counted
-- here, reported through bad_responses(); the harness fails the run).
--
-- A thread stops once all its bodies were answered. wrk still waits out
-- its -d, so active_duration_us() tells the harness how long the threads
-- really ran (first request to last answer, monotonic clock via LuaJIT's
-- FFI). Requests a connection sends after its thread's last body go to
-- GET /liveness, so they are 2xx and consume nothing; answered_total()
-- counts only the real answers, which the harness reports as requests.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } pa_timespec;
  int clock_gettime(int clk, pa_timespec* ts);
]]
local ts = ffi.new("pa_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("index", counter)
  table.insert(threads, thread)
end

function active_duration_us()
  local first, last
  for _, t in ipairs(threads) do
    local a, b = t:get("first_us"), t:get("last_us")
    if a and b then
      first = first and math.min(first, a) or a
      last = last and math.max(last, b) or b
    end
  end
  return first and last and (last - first) or nil
end

-- Real answers (not fillers): the request count the harness reports.
function answered_total()
  local n = 0
  for _, t in ipairs(threads) do
    n = n + (t:get("answered") or 0)
  end
  return n
end

function bad_responses()
  local n = 0
  for _, t in ipairs(threads) do
    n = n + (t:get("bad") or 0)
  end
  return n
end

function init(args)
  bodies = {}
  local n = 0
  for line in io.lines(args[1]) do
    if line ~= "" then
      n = n + 1
      if (n - index) % tonumber(args[2]) == 0 then
        table.insert(bodies, line)
      end
    end
  end
  path = args[3]
  expect = args[4]
  next_body = 1
  answered = 0
  bad = 0
end

function request()
  if not first_us then
    first_us = now_us()
  end
  local b = bodies[next_body]
  next_body = next_body + 1
  if not b then
    return wrk.format("GET", "/liveness")
  end
  return wrk.format("POST", path,
    { ["Content-Type"] = "application/json" }, b)
end

-- The /liveness fillers are told apart by their body, since answers of
-- different connections arrive in any order.
local filler = '{"status":"alive"}'

-- wrk drops one generated request now and then (its body then never
-- reaches the service), so a thread cannot wait for exactly #bodies
-- answers: it stops once it answered them all, or once its bodies are
-- used up and no real answer came for 300 ms.
function response(status, headers, body)
  if body == filler then
    if next_body > #bodies and last_us and now_us() - last_us > 300000 then
      wrk.thread:stop()
    end
    return
  end
  answered = answered + 1
  if status < 200 or status > 299
      or not string.find(body or "", expect, 1, true) then
    bad = bad + 1
  end
  last_us = now_us()
  if answered >= #bodies then
    wrk.thread:stop()
  end
end
