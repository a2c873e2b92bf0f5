-- wrk: keep-alive PUT of a 1 KiB account record for a NEW subject per request (each put
-- creates a subject: two fresh DEKs, wrapped into key slots). Token: VAULT_BENCH_TOKEN.
package.path = (os.getenv("VAULT_BENCH_LUA_DIR") or "bench") .. "/?.lua;" .. package.path
local report = require("report")

local token = os.getenv("VAULT_BENCH_TOKEN") or ""
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
  local path = string.format("/v1/subjects/n%s-%d-%d/records/account/r1", run, tid, counter)
  return wrk.format("PUT", path, headers, body)
end

done = report.done
