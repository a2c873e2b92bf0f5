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

local requests = require("requests")

local workload = os.getenv("VAULT_SCALE_WORKLOAD") or "get"
setup = requests.setup

local counter = 0
function request()
  counter = counter + 1
  if workload == "put-subject" then return requests.put_subject("s", tid, counter) end
  if workload == "put-record" then return requests.put_record(tid, counter) end
  if workload == "mixed" and counter % 10 == 0 then return requests.put_record(tid, counter) end
  return requests.get_record(counter)
end

done = report.done
