-- wrk: keep-alive PUT of 1 KiB account records with a new record id per request, spread
-- over VAULT_BENCH_SUBJECTS pre-seeded subjects (bench-1 .. bench-N, default 64) so each put
-- is an ordinary record write, not a subject creation. Token: VAULT_BENCH_TOKEN.
package.path = (os.getenv("VAULT_BENCH_LUA_DIR") or "bench") .. "/?.lua;" .. package.path
local report = require("report")
local requests = require("requests")

setup = requests.setup

local counter = 0
function request()
  counter = counter + 1
  return requests.put_record(tid, counter)
end

done = report.done
