-- wrk script for bench/http_ingest.sh: cycles through pre-built insert
-- bodies (upserts, so every request writes real rows).
local bodies = {}
local n = 0
local i = 0

function init(args)
  local dir = args[1]
  local count = tonumber(args[2])
  for k = 0, count - 1 do
    local f = assert(io.open(dir .. "/body-" .. k .. ".json", "rb"))
    bodies[k + 1] = f:read("*a")
    f:close()
  end
  n = count
  i = math.random(0, n - 1)
end

function request()
  i = i % n + 1
  return wrk.format("POST", "/api/bench/data/insert", {["Content-Type"] = "application/json"}, bodies[i])
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("insert failed: " .. status .. " " .. body .. "\n")
  end
end
