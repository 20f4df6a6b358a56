-- The done() of every wrk run in bench/ (run.sh, scale_out_run.py): wrk's
-- numbers as one JSON object in the file `report_path`, which the script
-- that includes this one sets first.
-- A script whose threads stop early (wrk still waits out -d) reports the
-- time it really ran through active_duration_us(); bad_responses() and
-- answered_total() (one_shot.lua) give the answers without the expected
-- body and the real answers.
function done(summary, latency, requests)
  local duration = summary.duration
  if active_duration_us then
    duration = active_duration_us() or duration
  end
  local bad = 0
  if bad_responses then
    bad = bad_responses()
  end
  local requests = summary.requests
  if answered_total then
    requests = answered_total()
  end
  local f = assert(io.open(report_path, "w"))
  local e = summary.errors
  f:write(string.format(
    '{"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,"bad_responses":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%.0f,"p50":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f}}\n',
    requests, duration, summary.bytes, bad,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
  f:close()
end
