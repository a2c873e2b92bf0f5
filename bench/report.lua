-- Shared by the wrk scripts: one JSON line on stdout at the end of a run, for scripts/bench.sh.
-- Latencies in microseconds.
local M = {}

function M.done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"non2xx":%d,"err_connect":%d,"err_read":%d,' ..
    '"err_write":%d,"err_timeout":%d}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, e.status, e.connect, e.read, e.write, e.timeout))
end

return M
