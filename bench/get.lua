-- wrk: keep-alive GET of one 1 KiB record. Path and token from the environment:
--   VAULT_BENCH_PATH (default /v1/subjects/bench-1/records/account/r1), VAULT_BENCH_TOKEN.
package.path = (os.getenv("VAULT_BENCH_LUA_DIR") or "bench") .. "/?.lua;" .. package.path
local report = require("report")

wrk.method = "GET"
wrk.path = os.getenv("VAULT_BENCH_PATH") or "/v1/subjects/bench-1/records/account/r1"
local token = os.getenv("VAULT_BENCH_TOKEN")
if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end

done = report.done
