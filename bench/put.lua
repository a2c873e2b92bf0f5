-- wrk: keep-alive PUT of 1 KiB account records with a new record id per request, spread
-- over VAULT_BENCH_SUBJECTS pre-seeded subjects (bench-1 .. bench-N, default 64) so each put
-- is an ordinary record write, not a subject creation. Token: VAULT_BENCH_TOKEN.
package.path = (os.getenv("VAULT_BENCH_LUA_DIR") or "bench") .. "/?.lua;" .. package.path
local report = require("report")

local token = os.getenv("VAULT_BENCH_TOKEN") or ""
local subjects = tonumber(os.getenv("VAULT_BENCH_SUBJECTS") or "64")
local run = os.getenv("VAULT_BENCH_RUN") or tostring(os.time())
local body = '{"data":{"blob":"' .. string.rep("x", 1000) .. '"}}'
local headers = {
  ["Authorization"] = "Bearer " .. token,
  ["Content-Type"] = "application/json",
}

local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local counter = 0
function request()
  counter = counter + 1
  local subject = (counter % subjects) + 1
  local path = string.format("/v1/subjects/bench-%d/records/account/w%s-%d-%d",
                             subject, run, tid, counter)
  return wrk.format("PUT", path, headers, body)
end

done = report.done
