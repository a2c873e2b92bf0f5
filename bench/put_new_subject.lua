-- wrk: keep-alive PUT of a 1 KiB account record for a NEW subject per request (each put
-- creates a subject: two fresh DEKs, wrapped into key slots). Token: VAULT_BENCH_TOKEN.
package.path = (os.getenv("VAULT_BENCH_LUA_DIR") or "bench") .. "/?.lua;" .. package.path
local report = require("report")
local requests = require("requests")

setup = requests.setup

local counter = 0
function request()
  counter = counter + 1
  return requests.put_subject("n", tid, counter)
end

done = report.done
