-- POST /v1/auth/email/link (JSON), each request consuming a fresh token.
-- Tokens come from the file named by the first script argument; wrk thread
-- k of n takes every n-th line starting at k, so no token is used twice.
local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("index", counter)
  table.insert(threads, thread)
end

function init(args)
  tokens = {}
  local n = 0
  for line in io.lines(args[1]) do
    n = n + 1
    if (n - index) % tonumber(args[2]) == 0 then
      table.insert(tokens, line)
    end
  end
  next_token = 1
end

function request()
  local t = tokens[next_token] or "exhausted"
  next_token = next_token + 1
  return wrk.format("POST", "/v1/auth/email/link",
    { ["Content-Type"] = "application/json" }, '{"token":"' .. t .. '"}')
end
