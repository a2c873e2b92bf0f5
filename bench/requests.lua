-- Shared by the wrk scripts: the requests they send (a 1 KiB account record put for a new
-- subject or under a seeded subject, a get of a seeded record) and the per-thread id wrk
-- gives each script thread. Environment: VAULT_BENCH_TOKEN, VAULT_BENCH_SUBJECTS (seeded
-- subjects bench-1 .. bench-N, default 64), VAULT_BENCH_RUN (makes ids unique across runs).
local M = {}

local token = os.getenv("VAULT_BENCH_TOKEN") or ""
local subjects = tonumber(os.getenv("VAULT_BENCH_SUBJECTS") or "64")
local run = os.getenv("VAULT_BENCH_RUN") or tostring(os.time())
local body = '{"data":{"blob":"' .. string.rep("x", 1000) .. '"}}'
local put_headers = {
  ["Authorization"] = "Bearer " .. token,
  ["Content-Type"] = "application/json",
}
local get_headers = { ["Authorization"] = "Bearer " .. token }

-- wrk calls the script's setup(thread) once per thread: give each one its id, `tid`.
local threads = {}
function M.setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

-- A PUT creating subject <prefix><run>-<tid>-<n> with its first record.
function M.put_subject(prefix, tid, n)
  local path = string.format("/v1/subjects/%s%s-%d-%d/records/account/r1", prefix, run, tid, n)
  return wrk.format("PUT", path, put_headers, body)
end

-- A PUT of a new record id under seeded subject bench-<n mod subjects + 1>.
function M.put_record(tid, n)
  local path = string.format("/v1/subjects/bench-%d/records/account/w%s-%d-%d",
                             (n % subjects) + 1, run, tid, n)
  return wrk.format("PUT", path, put_headers, body)
end

-- A GET of record r1 of seeded subject bench-<n mod subjects + 1>.
function M.get_record(n)
  local path = string.format("/v1/subjects/bench-%d/records/account/r1", (n % subjects) + 1)
  return wrk.format("GET", path, get_headers)
end

return M
