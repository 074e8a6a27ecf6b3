-- wrk script for tests/e2e/test_sustained_load.py: a mix of filtered vector
-- queries (7 in 10) and upserts of a fixed key set (3 in 10), bodies read
-- from files written by the test; non-2xx answers are counted and reported.
local queries, upserts = {}, {}
local i = 0
local failures = 0

local function load(dir, prefix, count, into)
  for k = 0, count - 1 do
    local f = assert(io.open(dir .. "/" .. prefix .. "-" .. k .. ".json", "rb"))
    into[k + 1] = f:read("*a")
    f:close()
  end
end

function init(args)
  load(args[1], "query", tonumber(args[2]), queries)
  load(args[1], "upsert", tonumber(args[3]), upserts)
  i = math.random(0, 1000)
end

function request()
  i = i + 1
  local headers = {["Content-Type"] = "application/json"}
  if i % 10 < 3 then
    return wrk.format("POST", "/api/load/data/insert", headers, upserts[i % #upserts + 1])
  end
  return wrk.format("POST", "/api/load/data/query", headers, queries[i % #queries + 1])
end

function response(status, headers, body)
  if status ~= 200 then
    failures = failures + 1
    if failures <= 5 then io.stderr:write("request failed: " .. status .. " " .. body .. "\n") end
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("requests %d non2xx %d connect %d read %d write %d timeout %d\n",
    summary.requests, errors.status, errors.connect, errors.read, errors.write, errors.timeout))
end
