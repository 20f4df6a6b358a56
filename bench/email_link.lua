-- POST /v1/auth/email/link (JSON), each request consuming a fresh token.
-- Tokens come from the file named by the first script argument; wrk thread
-- k of n (n = second argument) takes every n-th line starting at k, so no
-- token is used twice.
--
-- A thread stops once all its tokens were answered. wrk still waits out
-- its -d, so active_duration_us() tells the harness how long the threads
-- really ran (first request to last answer, monotonic clock via LuaJIT's
-- FFI); requests sent after a thread's last token carry "exhausted" and
-- count as non-2xx (at most one per connection).
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

function init(args)
  tokens = {}
  local n = 0
  for line in io.lines(args[1]) do
    if line ~= "" then
      n = n + 1
      if (n - index) % tonumber(args[2]) == 0 then
        table.insert(tokens, line)
      end
    end
  end
  next_token = 1
  answered = 0
end

function request()
  if not first_us then
    first_us = now_us()
  end
  local t = tokens[next_token] or "exhausted"
  next_token = next_token + 1
  return wrk.format("POST", "/v1/auth/email/link",
    { ["Content-Type"] = "application/json" }, '{"token":"' .. t .. '"}')
end

function response(status, headers, body)
  answered = answered + 1
  last_us = now_us()
  if answered >= #tokens then
    wrk.thread:stop()
  end
end
