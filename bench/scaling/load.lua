-- wrk script of scripts/bench-scaling.sh: one workload against one server of the fleet, chosen
-- by VAULT_SCALE_WORKLOAD:
--   put-subject  PUT a 1 KiB account record of a NEW subject per request (durable)
--   put-record   PUT a 1 KiB account record with a new record id under one of the seeded
--                subjects bench-1 .. bench-VAULT_BENCH_SUBJECTS (durable)
--   get          GET bench-i/records/account/r1, i going round the seeded subjects
--   mixed        9 GETs as above, then 1 put-record, repeated
-- VAULT_BENCH_RUN makes ids unique across runs and load generators; VAULT_BENCH_TOKEN.
package.path = (os.getenv("VAULT_BENCH_LUA_DIR") or "bench") .. "/?.lua;" .. package.path
local report = require("report")

local workload = os.getenv("VAULT_SCALE_WORKLOAD") or "get"
local token = os.getenv("VAULT_BENCH_TOKEN") or ""
local subjects = tonumber(os.getenv("VAULT_BENCH_SUBJECTS") or "64")
local run = os.getenv("VAULT_BENCH_RUN") or tostring(os.time())
local body = '{"data":{"blob":"' .. string.rep("x", 1000) .. '"}}'
local put_headers = {
  ["Authorization"] = "Bearer " .. token,
  ["Content-Type"] = "application/json",
}
local get_headers = { ["Authorization"] = "Bearer " .. token }

local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local counter = 0
local function put_subject()
  local path = string.format("/v1/subjects/s%s-%d-%d/records/account/r1", run, tid, counter)
  return wrk.format("PUT", path, put_headers, body)
end
local function put_record()
  local path = string.format("/v1/subjects/bench-%d/records/account/w%s-%d-%d",
                             (counter % subjects) + 1, run, tid, counter)
  return wrk.format("PUT", path, put_headers, body)
end
local function get()
  local path = string.format("/v1/subjects/bench-%d/records/account/r1", (counter % subjects) + 1)
  return wrk.format("GET", path, get_headers)
end

function request()
  counter = counter + 1
  if workload == "put-subject" then return put_subject() end
  if workload == "put-record" then return put_record() end
  if workload == "mixed" and counter % 10 == 0 then return put_record() end
  return get()
end

done = report.done
